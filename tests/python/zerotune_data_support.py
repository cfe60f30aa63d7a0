"""Shared helpers of the data reference tests: the Hugging Face tokenizer built from the GPT-2
files, the zerotune binary, and the shared data directory."""
import os
import subprocess
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

SOURCE_DIR = Path(os.environ.get("ZEROTUNE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SHARED = Path(os.environ.get("ZEROTUNE_SHARED_DATA", SOURCE_DIR.parent / "shared" / "data"))
TOKENIZER_DIR = SHARED / "gpt2-tokenizer"
EOS = 50256


def fail(message):
    print("FAIL:", message, flush=True)
    sys.exit(1)


def hf_tokenizer():
    """GPT-2 as the `tokenizers` library builds it from vocab.json + merges.txt."""
    tok = Tokenizer(models.BPE.from_file(str(TOKENIZER_DIR / "vocab.json"),
                                         str(TOKENIZER_DIR / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # A misbuilt tokenizer silently returns no ids: check the known answer first.
    ids = tok.encode("Hello world").ids
    if ids != [15496, 995]:
        fail(f"Hugging Face tokenizer gives {ids} for 'Hello world', expected [15496, 995]")
    return tok


def zerotune_binary():
    binary = os.environ.get("ZEROTUNE_BINARY")
    if not binary or not Path(binary).exists():
        fail("ZEROTUNE_BINARY does not name the zerotune executable")
    for command in ("tokenize", "prep"):
        probe = subprocess.run([binary, command, "--help"], capture_output=True, text=True)
        if probe.returncode != 0:
            fail(f"`{binary} {command} --help` exits {probe.returncode}: src/main.cpp must "
                 f"dispatch `{command}` to zerotune::cli::run_{command}_command")
    return binary


def run(binary, *args, input_text=None):
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                            input=input_text)
    if result.returncode != 0:
        fail(f"zerotune {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}")
    return result


# Unicode White_Space (PropList.txt): what prep squad strips from question, context and answer.
WHITE_SPACE = set(chr(c) for c in [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680,
                                   *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000])


def strip_white_space(text):
    return text.strip("".join(WHITE_SPACE))
