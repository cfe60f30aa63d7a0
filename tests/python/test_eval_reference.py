"""`zerotune eval --init` against Hugging Face transformers: a small random GPT2LMHeadModel
saved with save_pretrained, a token file written with h5py (padding and prompt labels -100),
and the mean next-token loss that GPT2LMHeadModel(input_ids, labels=labels) computes over the
same rows. Also at 2 ranks with ZeRO stage 3, and --max-samples."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_util as ru  # noqa: E402

ROWS, ROW_LEN, VOCAB = 24, 16, 101


def fail(message):
    print("FAIL:", message, flush=True)
    sys.exit(1)


def write_token_file(path, ids, labels, mask):
    ru.write_token_file(path, ids, labels, mask, VOCAB, eos_token_id=100, split="validation")


def eval_loss(args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
    m = re.search(r"^eval eval_loss=([0-9.]+) .*eval_samples=(\d+) ", result.stdout, re.M)
    if not m:
        fail(f"no eval line in {result.stdout!r}")
    return float(m.group(1)), int(m.group(2))


def main():
    binary = os.environ.get("ZEROTUNE_BINARY")
    if not binary:
        fail("ZEROTUNE_BINARY is not set")
    torch.manual_seed(3)
    rng = np.random.default_rng(3)
    config = GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                        bos_token_id=100, eos_token_id=100)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # far from the small init, so every weight matters
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    lengths = rng.integers(4, ROW_LEN + 1, size=ROWS)
    ids = rng.integers(1, VOCAB, size=(ROWS, ROW_LEN)).astype(np.int32)
    mask = (np.arange(ROW_LEN)[None, :] < lengths[:, None]).astype(np.uint8)
    ids[mask == 0] = 0
    labels = np.where(mask == 1, ids, -100).astype(np.int32)
    labels[:, :2] = -100  # a "prompt" without loss

    def reference(rows):
        with torch.no_grad():
            out = model(torch.tensor(ids[:rows], dtype=torch.long),
                        labels=torch.tensor(labels[:rows], dtype=torch.long))
        return out.loss.item()

    with tempfile.TemporaryDirectory(prefix="zt-eval.") as scratch:
        work = Path(scratch)
        model.save_pretrained(work / "hf", safe_serialization=True)
        data = work / "eval.h5"
        write_token_file(data, ids, labels, mask)
        init = str(work / "hf" / "model.safetensors")
        want = reference(ROWS)
        got, samples = eval_loss([binary, "eval", "--init", init, "--data", str(data)])
        if samples != ROWS or abs(got - want) > 2e-4:
            fail(f"eval_loss {got} over {samples} rows, transformers gives {want:.6f}")
        mpiexec = shutil.which("mpiexec")
        if mpiexec:
            got2, _ = eval_loss([mpiexec, "-n", "2", binary, "eval", "--init", init, "--data",
                                 str(data), "--set", "zero.stage=3", "--micro-batch-size", "3"])
            if abs(got2 - want) > 2e-4:
                fail(f"2 ranks, stage 3: eval_loss {got2}, transformers gives {want:.6f}")
        # The first 8 examples (a whole number of eval batches of 4).
        got8, samples8 = eval_loss([binary, "eval", "--init", init, "--data", str(data),
                                    "--max-samples", "8", "--micro-batch-size", "4"])
        if samples8 != 8 or abs(got8 - reference(8)) > 2e-4:
            fail(f"--max-samples 8: {got8} over {samples8}, transformers {reference(8):.6f}")
    print(f"PASS: zerotune eval matches transformers ({want:.4f})")


if __name__ == "__main__":
    main()
