#!/usr/bin/env python3
"""Single-thread GPT-2 tokenizer throughput: zerotune against Hugging Face's fast tokenizer.

  bench/tokenizer_bench.py [--binary build/zerotune] [--repeat 5] [FILE ...]

Default files: WikiText-2 valid and test (ZEROTUNE_SHARED_DATA or ../shared/data). Two modes:
  lines  every line encoded as its own text (zerotune tokenize; HF encode_batch)
  whole  the file as one text (zerotune tokenize --whole; HF encode)
zerotune's time is what `tokenize --stats` reports: the encode calls only, one thread, in a
fresh process each repeat (cold piece cache), without loading the vocabulary or printing ids.
HF's time is the encode call, the tokenizer built from the same vocab.json / merges.txt
(tokenizers.models.BPE + ByteLevel), with RAYON_NUM_THREADS=1. Best of --repeat runs each.
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers starts its thread pool
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ZEROTUNE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def zerotune_rate(binary, tokenizer_dir, path, whole, repeat):
    best = None
    for _ in range(repeat):
        args = [binary, "tokenize", "--tokenizer", tokenizer_dir, "--input", path, "--stats"]
        if whole:
            args.append("--whole")
        result = subprocess.run(args, capture_output=True, text=True, check=True)
        match = re.search(r"tokens=(\d+) encode_s=([0-9.]+)", result.stderr)
        tokens, seconds = int(match.group(1)), float(match.group(2))
        best = seconds if best is None else min(best, seconds)
    return tokens, tokens / best


def hf_rate(tok, text, whole, repeat):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        if whole:
            tokens = len(tok.encode(text).ids)
        else:
            tokens = sum(len(e.ids) for e in tok.encode_batch(lines))
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return tokens, tokens / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.environ.get("ZEROTUNE_BINARY",
                                                           str(ROOT / "build" / "zerotune")))
    parser.add_argument("--tokenizer", default=str(SHARED / "gpt2-tokenizer"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("files", nargs="*", default=[
        str(SHARED / "wikitext-2-raw" / "wiki.valid.raw"),
        str(SHARED / "wikitext-2-raw" / "wiki.test.raw")])
    args = parser.parse_args()
    tok = Tokenizer(models.BPE.from_file(f"{args.tokenizer}/vocab.json",
                                         f"{args.tokenizer}/merges.txt"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    if tok.encode("Hello world").ids != [15496, 995]:
        sys.exit("Hugging Face tokenizer misbuilt: 'Hello world' is not [15496, 995]")
    import tokenizers
    print(f"tokenizers {tokenizers.__version__}, single thread, best of {args.repeat}")
    print(f"{'file':<16} {'mode':<6} {'tokens':>8} {'zerotune tok/s':>15} {'HF tok/s':>12} "
          f"{'ratio':>6}")
    for path in args.files:
        text = Path(path).read_text(encoding="utf-8")
        for whole in (False, True):
            ours_tokens, ours = zerotune_rate(args.binary, args.tokenizer, path, whole,
                                              args.repeat)
            hf_tokens, hf = hf_rate(tok, text, whole, args.repeat)
            if ours_tokens != hf_tokens:
                sys.exit(f"{path}: zerotune {ours_tokens} tokens, HF {hf_tokens}")
            print(f"{Path(path).name:<16} {'whole' if whole else 'lines':<6} {ours_tokens:>8} "
                  f"{ours:>15,.0f} {hf:>12,.0f} {ours / hf:>5.1f}x", flush=True)


if __name__ == "__main__":
    main()
