"""The figures a training run reports, checked against counts made here with h5py and against
an uninterrupted run (docs/metrics.md defines them):
  - train_tokens counts real tokens (attention_mask ones), not rows x model.seq_len;
  - the activations follow the rows (data_seq_len) of a file shorter than model.seq_len;
  - a run stopped by SIGUSR1 and resumed reports time/epoch and samples/s within 20% of the
    uninterrupted run's, from its run directory and from its .out alike;
  - the step line carries elapsed= and eta=;
  - train.eval_strategy: steps and checkpoint.save_strategy: epoch evaluate and save when asked;
  - a training file or an eval file with no label is an error naming the file (exit 2)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_util as ru  # noqa: E402

SOURCE_DIR = Path(os.environ.get("ZEROTUNE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
CONFIG = SOURCE_DIR / "tests" / "data" / "configs" / "tiny.yaml"
ROWS, ROW_LEN, VOCAB = 4096, 24, 257
MICRO, GLOBAL = 8, 32  # 128 steps an epoch


def fail(message):
    print("FAIL:", message, flush=True)
    sys.exit(1)


def binary():
    b = os.environ.get("ZEROTUNE_BINARY")
    if not b or not Path(b).exists():
        fail("ZEROTUNE_BINARY does not name the zerotune executable")
    return b


def write_token_file(path, rng, no_labels=False):
    """Rows of random length 6..ROW_LEN, padded with 0 (mask 0, label -100)."""
    lengths = rng.integers(6, ROW_LEN + 1, size=ROWS)
    ids = rng.integers(1, VOCAB, size=(ROWS, ROW_LEN)).astype(np.int32)
    mask = (np.arange(ROW_LEN)[None, :] < lengths[:, None]).astype(np.uint8)
    ids[mask == 0] = 0
    labels = np.where(mask == 1, ids, -100).astype(np.int32)
    if no_labels:
        labels[:] = -100
    ru.write_token_file(path, ids, labels, mask, VOCAB, eos_token_id=256, split="train")
    return int(mask.sum())


def train_args(data, run_dir, epochs, extra=()):
    return [binary(), "train", "--config", str(CONFIG), "--run-dir", str(run_dir),
            "--set", "model.seq_len=64", "--set", f"data.train_file={data}",
            "--set", "data.eval_file=", "--set", f"train.micro_batch_size={MICRO}",
            "--set", f"train.global_batch_size={GLOBAL}", "--set", "train.max_steps=0",
            "--set", f"train.epochs={epochs}", "--set", "data.drop_last=false",
            "--set", "checkpoint.every_n_steps=0", "--set", "log.every_n_steps=8", *extra]


def records(run_dir, kind):
    out = []
    for line in open(run_dir / "metrics.jsonl"):
        if line.strip():
            r = json.loads(line)
            if r.get("type") == kind:
                out.append(r)
    return out


def report(*paths):
    result = subprocess.run([binary(), "report", "--format", "json", *map(str, paths)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"report exited {result.returncode}: {result.stderr}")
    return json.loads(result.stdout)


def within(name, got, want, tolerance):
    """"" when got is within tolerance of want, else what is wrong."""
    if want is not None and got is not None and want > 0 and abs(got - want) <= tolerance * want:
        return ""
    return f"{name}: {got} is not within {tolerance:.0%} of {want}"


def main():
    with tempfile.TemporaryDirectory(prefix="zt-figures.") as scratch:
        check(Path(scratch))
    print("PASS: tokens, resume figures, elapsed/eta, no-label errors")


def check(work):
    rng = np.random.default_rng(7)
    data = work / "train.h5"
    real_tokens = write_token_file(data, rng)
    epochs = 3

    # Wall-time figures of two runs on a shared machine differ by its load as well: a wrong
    # figure (a 0 s epoch, a speed-up in the millions) fails every attempt, load rarely thrice.
    problems = []
    for attempt in range(3):
        problems = compare_with_resumed(work / f"try{attempt}", data, real_tokens, epochs)
        if not problems:
            break
        print(f"attempt {attempt + 1}: " + "; ".join(problems), flush=True)
    if problems:
        fail("; ".join(problems))
    check_strategies_and_errors(work, data, rng)


def compare_with_resumed(work, data, real_tokens, epochs):
    """Exact checks fail at once; returns the timing comparisons that are off."""
    work.mkdir()
    # The uninterrupted run and the stopped-and-resumed one run side by side, so that both
    # see the same load.
    whole, split = work / "whole", work / "split"
    out_file = work / "split.out"
    with open(work / "whole.out", "w") as whole_out, open(out_file, "w") as out:
        whole_proc = subprocess.Popen(train_args(data, whole, epochs), stdout=whole_out,
                                      stderr=subprocess.STDOUT)
        proc = subprocess.Popen(train_args(data, split, epochs), stdout=out,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            try:
                done = [r for r in records(split, "step") if r["epoch"] == 2]
            except (FileNotFoundError, json.JSONDecodeError):
                done = []
            if len(done) >= 16:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGUSR1)
        if proc.wait() != 85:
            fail(f"the stopped run exited {proc.returncode}, expected 85")
        time.sleep(0.5)  # time between the starts must not count
        if subprocess.run(train_args(data, split, epochs, ["--resume", "auto"]), stdout=out,
                          stderr=subprocess.STDOUT).returncode != 0:
            fail("resumed run failed: " + out_file.read_text()[-2000:])
        if whole_proc.wait() != 0:
            fail("uninterrupted run failed: " + (work / "whole.out").read_text()[-2000:])
    summary = records(whole, "summary")[-1]
    if summary["train_tokens"] != epochs * real_tokens:
        fail(f"train_tokens {summary['train_tokens']}, h5py counts {epochs} x {real_tokens}")
    if summary["train_samples"] != epochs * ROWS:
        fail(f"train_samples {summary['train_samples']}, expected {epochs * ROWS}")
    run_line = next(l for l in (work / "whole.out").read_text().splitlines()
                    if l.startswith("run "))
    if f" data_seq_len={ROW_LEN} " not in run_line or " seq_len=64 " not in run_line:
        fail("the run line does not give seq_len=64 and data_seq_len=24: " + run_line)
    steps = [l for l in (work / "whole.out").read_text().splitlines() if l.startswith("step=")]
    if not steps or not all(" elapsed=" in l and " eta=" in l for l in steps):
        fail("step lines without elapsed= and eta=")
    if " eta=0:00:00 " not in steps[-1]:
        fail("the last step's eta is not 0:00:00: " + steps[-1])
    if len(records(whole, "epoch")) != epochs:
        fail(f"expected {epochs} epoch records")
    split_summary = records(split, "summary")[-1]
    if split_summary["train_samples"] != epochs * ROWS:
        fail(f"split run train_samples {split_summary['train_samples']}, expected "
             f"{epochs * ROWS}")
    if split_summary["train_tokens"] != epochs * real_tokens:
        fail(f"split run train_tokens {split_summary['train_tokens']}")
    if len(split_summary["epoch_time_s"]) != epochs:
        fail(f"split run epoch_time_s {split_summary['epoch_time_s']}")

    tables = report(whole, split, out_file)
    segments = tables["strategy"][1]["strategy"]
    if segments != "DP":
        fail(f"strategy of the split run: {segments!r}")
    # The run directory and the .out give the same figures (the .out rounds to 0.01 s).
    problems = [within("split .out vs dir", tables["strategy"][2]["time_per_epoch_s"],
                       tables["strategy"][1]["time_per_epoch_s"], 0.05)]
    ref = tables["strategy"][0]
    for name, row in (("split dir", tables["strategy"][1]), ("split .out", tables["strategy"][2])):
        problems.append(within(f"{name} time/epoch", row["time_per_epoch_s"],
                               ref["time_per_epoch_s"], 0.20))
        problems.append(within(f"{name} samples/s", row["train_samples_per_second"],
                               ref["train_samples_per_second"], 0.20))
        problems.append(within(f"{name} tokens/s", row["train_tokens_per_second"],
                               ref["train_tokens_per_second"], 0.20))
        # time/epoch within 20% either way: speed vs DP in [1/1.2, 1/0.8]
        problems.append(within(f"{name} speed vs DP", row["speed_vs_dp"], 1.0, 0.25))
    return [p for p in problems if p]


def check_strategies_and_errors(work, data, rng):

    # eval_strategy steps and save_strategy epoch (Hugging Face's names): evals every 20
    # steps and where the run ends, not at the epoch end; a checkpoint at the epoch end.
    strat = work / "strategy"
    result = subprocess.run(train_args(data, strat, 2, [
        "--set", f"data.eval_file={data}", "--set", "data.eval_max_samples=64",
        "--set", "train.eval_strategy=steps", "--set", "train.eval_steps=20",
        "--set", "checkpoint.save_strategy=epoch"]), capture_output=True, text=True)
    if result.returncode != 0:
        fail("eval/save strategy run failed: " + result.stderr[-2000:])
    eval_steps = [r["step"] for r in records(strat, "eval")]
    if eval_steps != list(range(20, 256, 20)) + [256]:
        fail(f"eval_strategy steps evaluated at {eval_steps}")
    saves = [(r["step"], r["reason"]) for r in records(strat, "checkpoint")]
    if saves != [(128, "epoch"), (256, "end")]:
        fail(f"save_strategy epoch saved {saves}")

    # No label anywhere: an error naming the file, for training and for evaluation.
    empty = work / "empty.h5"
    write_token_file(empty, rng, no_labels=True)
    for args in (train_args(empty, work / "e1", 1),
                 train_args(data, work / "e2", 1, ["--set", f"data.eval_file={empty}",
                                                  "--set", "train.max_steps=2"])):
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 2 or str(empty) not in result.stderr or \
                "carries a label" not in result.stderr:
            fail(f"no-label file: exit {result.returncode}, stderr {result.stderr!r}")


if __name__ == "__main__":
    main()
