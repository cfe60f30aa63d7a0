"""`zerotune prep --offset N --max-samples M` gives exactly rows [N, N + M) of the whole
file's rows (read with h5py from a prep without them), for WikiText blocks and SQuAD
questions, so a train/eval pair comes from one raw file."""
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np

from zerotune_data_support import SHARED, TOKENIZER_DIR, fail, zerotune_binary


def prep(binary, kind, source, out, seq_len, *extra):
    r = subprocess.run([binary, "prep", kind, "--input", str(source), "--tokenizer",
                        str(TOKENIZER_DIR), "--seq-len", str(seq_len), "--out", str(out), *extra],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"prep {kind} {' '.join(extra)} exited {r.returncode}: {r.stderr}")


def rows(path):
    with h5py.File(path, "r") as f:
        return {k: np.asarray(f[k]) for k in ("input_ids", "labels", "attention_mask")}


def main():
    binary = zerotune_binary()
    cases = [("wikitext", SHARED / "wikitext-2-raw" / "wiki.valid.raw", 128, 1500, 100),
             ("squad", SHARED / "squad-v1.1" / "dev-v1.1.json", 256, 10500, 200)]
    with tempfile.TemporaryDirectory(prefix="zt-prep.") as scratch:
        for kind, source, seq_len, offset, count in cases:
            whole, part = Path(scratch) / f"{kind}.h5", Path(scratch) / f"{kind}-part.h5"
            prep(binary, kind, source, whole, seq_len)
            prep(binary, kind, source, part, seq_len, "--offset", str(offset), "--max-samples",
                 str(count))
            w, p = rows(whole), rows(part)
            want = min(count, len(w["input_ids"]) - offset)  # squad dev: 10570 questions
            for k in w:
                if not np.array_equal(p[k], w[k][offset:offset + want]):
                    fail(f"{kind}: {k} of --offset {offset} --max-samples {count} is not rows "
                         f"[{offset}, {offset + want}) of the whole file ({len(p[k])} rows)")
        r = subprocess.run([binary, "prep", "squad", "--input", str(cases[1][1]), "--tokenizer",
                            str(TOKENIZER_DIR), "--offset", "99999", "--out",
                            str(Path(scratch) / "none.h5")], capture_output=True, text=True)
        if r.returncode != 2 or "--offset 99999" not in r.stderr:
            fail(f"an offset past the end: exit {r.returncode}, {r.stderr!r}")
    print("PASS: prep --offset/--max-samples cut exact row ranges")


if __name__ == "__main__":
    main()
