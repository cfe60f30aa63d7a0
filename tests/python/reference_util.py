"""Shared pieces of the reference checks against PyTorch / Hugging Face.

The pattern: a test_*.py script builds the inputs and the expected values with torch or
transformers, writes the inputs into an exchange directory, runs one C++ Boost test case
that reads them and writes what zerotune computes, then compares here. The C++ cases skip
themselves when ZEROTUNE_REFERENCE_DIR is not set, so a plain ctest run of the C++
executables does not need Python.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REFERENCE_DIR_ENV = "ZEROTUNE_REFERENCE_DIR"


def build_dir() -> Path:
    env = os.environ.get("ZEROTUNE_BUILD_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "build"


def run_cpp_case(executable: str, test_filter: str, exchange_dir: Path) -> str:
    """Runs build/tests/<executable> --run_test=<test_filter> with the exchange directory set.

    Fails loudly when the executable fails or when the case did not run (a skip would
    otherwise look like success)."""
    exe = build_dir() / "tests" / executable
    if not exe.exists():
        raise SystemExit(f"FAIL: {exe} not built")
    env = dict(os.environ)
    env[REFERENCE_DIR_ENV] = str(exchange_dir)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    proc = subprocess.run(
        [str(exe), f"--run_test={test_filter}", "--log_level=test_suite", "--color_output=no"],
        env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        print(output)
        raise SystemExit(f"FAIL: {exe.name} --run_test={test_filter} exited {proc.returncode}")
    if "precondition" in output or "Leaving test case" not in output:
        print(output)
        raise SystemExit(f"FAIL: {exe.name} --run_test={test_filter} did not run its case")
    return output


class Comparison:
    """Collects tensor comparisons and reports them as one table.

    A tensor passes when
      rel  = ||got - want||_2 / ||want||_2   <= rtol            (norm-based relative error)
      max  = max_i |got_i - want_i|          <= atol + elem_rtol * max_i |want_i|  (elementwise)
    and both are finite and of the same shape (elem_rtol defaults to rtol). The elementwise
    bound is scaled by the tensor's largest entry so that it means the same for logits and for
    tiny gradients; atol covers tensors that are (near) zero in the reference."""

    def __init__(self, rtol: float, atol: float, quiet: bool = False):
        self.rtol = rtol
        self.atol = atol
        self.quiet = quiet
        self.failures = []
        self.worst = {}  # group -> (rel, name)

    def check(self, name, got, want, group="", rtol=None, atol=None, elem_rtol=None,
              quiet=False) -> bool:
        """elem_rtol (default rtol) scales the elementwise bound separately from the norm one."""
        rtol = self.rtol if rtol is None else rtol
        atol = self.atol if atol is None else atol
        elem_rtol = rtol if elem_rtol is None else elem_rtol
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return self._fail(name, f"shape {got.shape} != expected {want.shape}")
        if not np.all(np.isfinite(got)):
            return self._fail(name, "non-finite values")
        diff = got - want
        scale = float(np.linalg.norm(want))
        rel = float(np.linalg.norm(diff)) / scale if scale > 0 else float(np.linalg.norm(diff))
        max_abs = float(np.max(np.abs(diff))) if diff.size else 0.0
        bound = atol + elem_rtol * (float(np.max(np.abs(want))) if want.size else 0.0)
        ok = rel <= rtol and max_abs <= bound
        key = group or name
        if key not in self.worst or rel > self.worst[key][0]:
            self.worst[key] = (rel, name)
        if not (self.quiet or (quiet and ok)):
            print(f"  {'ok  ' if ok else 'FAIL'} {name:48s} rel={rel:.3e} max_abs={max_abs:.3e}"
                  f" (bound {bound:.1e})")
        if not ok:
            self.failures.append(f"{name}: rel={rel:.3e} max_abs={max_abs:.3e}")
        return ok

    def _fail(self, name, why):
        if not self.quiet:
            print(f"  FAIL {name}: {why}")
        self.failures.append(f"{name}: {why}")
        return False

    def summary(self) -> int:
        for key, (rel, name) in sorted(self.worst.items()):
            print(f"max relative error [{key}]: {rel:.3e} ({name})")
        if self.failures:
            print(f"FAILED {len(self.failures)} comparison(s):")
            for f in self.failures:
                print("  " + f)
            return 1
        print("all comparisons passed")
        return 0


def self_check(rtol: float, atol: float) -> None:
    """Shows that the comparison can fail: it must pass an equal tensor and flag a perturbed
    element, a uniformly scaled tensor, a NaN and a wrong shape."""
    rng = np.random.default_rng(0)
    want = rng.standard_normal((7, 5)).astype(np.float32)
    c = Comparison(rtol, atol, quiet=True)
    assert c.check("same", want.copy(), want), "comparison rejects identical tensors"
    assert c.check("rounding", want * (1 + rtol / 10), want), "comparison rejects rounding"
    one_off = want.copy()
    one_off[3, 2] += 50 * rtol * np.abs(want).max()
    assert not c.check("one element", one_off, want), "comparison misses a perturbed element"
    assert not c.check("scaled", want * (1 + 10 * rtol), want), "comparison misses a 10*rtol scale"
    nan = want.copy()
    nan[0, 0] = np.nan
    assert not c.check("nan", nan, want), "comparison misses a NaN"
    assert not c.check("shape", want.T, want), "comparison misses a transposed shape"
    print("self-check: the comparison flags perturbed, scaled, NaN and misshapen tensors")


def run_expecting(args, expect=0):
    """Runs a command (zerotune, usually) and fails the test unless it exits `expect`."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if proc.returncode != expect:
        print(proc.stdout + proc.stderr)
        raise SystemExit(f"FAIL: {' '.join(map(str, args))} exited {proc.returncode}, "
                         f"expected {expect}")
    return proc


def write_token_file(path, ids, labels, mask, vocab_size, eos_token_id, split):
    """A token file as DESIGN.md's "Data" defines it, written with h5py (not zerotune's writer):
    input_ids and labels int32 [N, T], attention_mask uint8 [N, T], and the attributes."""
    import h5py
    with h5py.File(path, "w") as f:
        f.create_dataset("input_ids", data=ids)
        f.create_dataset("labels", data=labels)
        f.create_dataset("attention_mask", data=mask)
        for key, value in (("format", "zerotune-tokens"), ("tokenizer", "bytes"),
                           ("source", "random"), ("source_sha256", "0" * 64), ("split", split)):
            f.attrs[key] = value
        for key, value in (("format_version", 1), ("vocab_size", vocab_size),
                           ("eos_token_id", eos_token_id), ("pad_token_id", 0),
                           ("seq_len", ids.shape[1])):
            f.attrs[key] = np.int64(value)


def exit_with(code: int) -> None:
    sys.stdout.flush()
    sys.exit(code)
