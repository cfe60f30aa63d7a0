"""`zerotune generate` against Hugging Face transformers: greedy decoding (temperature 0) of a
small random GPT-2 with the real GPT-2 vocabulary gives the ids GPT2LMHeadModel.generate
(do_sample=False) gives, and the text the Hugging Face tokenizer decodes; sampling gives the
same text for the same seed, and stays inside top-k."""
import os
import re
import subprocess
import tempfile
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from zerotune_data_support import EOS, TOKENIZER_DIR, fail, hf_tokenizer

PROMPT = "The history of the city"
NEW = 12


def generate(binary, init, *extra):
    result = subprocess.run([binary, "generate", "--init", init, "--tokenizer",
                             str(TOKENIZER_DIR), "--prompt", PROMPT, *extra],
                            capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"generate {' '.join(extra)} exited {result.returncode}: {result.stderr}")
    m = re.search(r"^generate .*new_ids=(\S+)", result.stderr, re.M)
    if not m:
        fail(f"no generate line in {result.stderr!r}")
    ids = [] if m.group(1) == "-" else [int(x) for x in m.group(1).split(",")]
    return result.stdout, ids


def main():
    binary = os.environ.get("ZEROTUNE_BINARY")
    if not binary:
        fail("ZEROTUNE_BINARY is not set")
    tok = hf_tokenizer()
    torch.manual_seed(11)
    config = GPT2Config(vocab_size=50257, n_positions=64, n_embd=32, n_layer=2, n_head=4)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # larger weights: sharper logits, no near-ties for argmax
        for p in model.parameters():
            p.mul_(8.0)
    prompt_ids = tok.encode(PROMPT).ids
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=NEW, do_sample=False,
                             eos_token_id=EOS, pad_token_id=EOS)
    want = out[0, len(prompt_ids):].tolist()
    if EOS in want:
        want = want[:want.index(EOS)]

    with tempfile.TemporaryDirectory(prefix="zt-generate.") as scratch:
        model.save_pretrained(Path(scratch) / "hf", safe_serialization=True)
        init = str(Path(scratch) / "hf" / "model.safetensors")
        text, ids = generate(binary, init, "--max-new-tokens", str(NEW))
        if ids != want:
            fail(f"greedy ids {ids}, transformers generate gives {want}")
        if text.rstrip("\n") != tok.decode(prompt_ids + want):
            fail(f"text {text!r} is not the tokenizer's decoding of the prompt and new ids")
        sampled = [generate(binary, init, "--max-new-tokens", str(NEW), "--temperature", "1.0",
                            "--top-k", "5", "--seed", str(s))[1] for s in (1, 1, 2)]
        if sampled[0] != sampled[1]:
            fail(f"seed 1 gave {sampled[0]} then {sampled[1]}")
        if sampled[0] == sampled[2]:
            fail("seeds 1 and 2 gave the same sample")
        # Each sampled id is among the 5 most likely after its context (transformers' logits).
        context = list(prompt_ids)
        for i in sampled[0]:
            with torch.no_grad():
                logits = model(torch.tensor([context])).logits[0, -1]
            if i not in torch.topk(logits, 5).indices.tolist():
                fail(f"sampled id {i} is outside the top 5")
            context.append(i)
    print(f"PASS: greedy ids {want} match transformers; sampling reproducible and inside top-k")


if __name__ == "__main__":
    main()
