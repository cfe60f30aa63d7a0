"""Token files that HDF5 cannot read back (a corrupt compressed chunk, a compression filter the
library lacks) end a training run with exit 2 and one line naming the file and HDF5's reason,
never exit 3 or a crash. The files are written with h5py in the documented layout, so every
attribute and shape is right and only the data is unreadable."""
import os
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np

from zerotune_data_support import fail

ROWS, SEQ_LEN, VOCAB = 64, 32, 257


def write_token_file(path, **compression):
    rng = np.random.default_rng(7)
    ids = rng.integers(0, VOCAB, size=(ROWS, SEQ_LEN), dtype=np.int32)
    with h5py.File(path, "w") as f:
        f.create_dataset("input_ids", data=ids, chunks=(8, SEQ_LEN), **compression)
        f.create_dataset("labels", data=ids, chunks=(8, SEQ_LEN), **compression)
        f.create_dataset("attention_mask", data=np.ones((ROWS, SEQ_LEN), np.uint8),
                         chunks=(8, SEQ_LEN), **compression)
        attrs = {"format": "zerotune-tokens", "format_version": 1, "tokenizer": "bytes",
                 "vocab_size": VOCAB, "eos_token_id": 256, "pad_token_id": 256,
                 "seq_len": SEQ_LEN, "source": "random", "source_sha256": "0" * 64,
                 "split": "train"}
        for key, value in attrs.items():
            f.attrs[key] = value


def corrupt_chunks(path):
    """Overwrites the middle of every stored chunk of /input_ids with garbage."""
    with h5py.File(path, "r") as f:
        d = f["input_ids"]
        spans = [(info.byte_offset, info.size)
                 for info in (d.id.get_chunk_info(i) for i in range(d.id.get_num_chunks()))]
    with open(path, "r+b") as raw:
        for offset, size in spans:
            raw.seek(offset + size // 4)
            raw.write(b"\xff" * max(1, size // 2))


def expect_input_error(name, path, run_root):
    binary = os.environ["ZEROTUNE_BINARY"]
    cmd = [binary, "train", "--set", f"data.train_file={path}", "--set", "data.eval_file=",
           "--set", "model.n_layer=1", "--set", "model.n_embd=16", "--set", "model.n_head=1",
           "--set", f"model.seq_len={SEQ_LEN}", "--set", f"model.vocab_size={VOCAB}",
           "--set", "train.micro_batch_size=8", "--set", "train.global_batch_size=8",
           "--set", "train.max_steps=8", "--set", "train.seed=3", "--set", "data.shuffle=false",
           "--set", f"run.root={run_root}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lines = done.stderr.splitlines()
    if done.returncode != 2 or len(lines) != 1:
        fail(f"{name}: exit {done.returncode}, stderr {done.stderr[-600:]!r}; expected exit 2 "
             "and one line")
    if f"{path}: " not in lines[0] or "HDF5" not in lines[0]:
        fail(f"{name}: the line does not name {path} and HDF5's reason: {lines[0]!r}")
    print(f"{name}: {lines[0][:200]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        good = tmp / "good.h5"
        write_token_file(good, compression="gzip")
        corrupt = tmp / "corrupt.h5"
        corrupt.write_bytes(good.read_bytes())
        corrupt_chunks(corrupt)
        expect_input_error("corrupt gzip chunk", corrupt, tmp / "runs")
        # LZF ships with h5py, not with the HDF5 library zerotune links.
        lzf = tmp / "lzf.h5"
        write_token_file(lzf, compression="lzf")
        expect_input_error("filter not available", lzf, tmp / "runs")
    print("hostile token files: ok")


if __name__ == "__main__":
    main()
