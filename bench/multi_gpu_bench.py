"""zerotune's ZeRO stages on two GPUs against the same step without communication and against
PyTorch FSDP2, in one call.

Main mode: GPT-2 XL (48 layers, 25 heads, n_embd 1600, vocabulary 50257) B8xT1024 per GPU,
bf16, zerotune stages 1, 2 and 3 (and 0 with --with-stage0). Each stage runs twice:
  - `mpiexec -n 2 zerotune train` (world 2, global batch 16);
  - `zerotune train` alone (world 1, global batch 8: the same per-GPU step with no
    communication), so "exposed communication = t(2 GPUs) - t(1 GPU)" is a number.
Printed per row: tokens/s per GPU, ms/step, MFU, the pool's peak allocated/reserved GiB
(train_summary), and the model-state MiB per GPU from the start-of-run memory table against
DESIGN.md's bytes per parameter (stage 0: 16, 1: 4 + 12/N, 2: 2 + 14/N, 3: 16/N).
The peer, same tokens and shapes: FSDP2 full shard (reshard_after_forward=True) and FSDP2
without resharding after forward (bench/fsdp2_peer.py under torchrun), with zerotune's
ratio to each; and the issue's DeepSpeed and FSDP2 figures as fixed references.

Weak scaling (--weak-scaling): GPT-2 355M B8xT1024 bf16, stages 0, 1, 2 on 1 then 2 GPUs;
efficiency = tokens/s per GPU on 2 / tokens/s on 1.

Each run takes a minute or so for GPT-2 XL (start-up, then warm-up and measured steps). Where
one call is limited to 10 minutes, split it: `--only zero1`, `--only zero2`, `--only zero3`,
`--only fsdp2` in turn, then `--reuse` prints the whole comparison from the runs kept in
--cache-dir (the prepped data is kept there too).

Smoke mode (--device cpu): a tiny fp32 model on CPU ranks (T=64, B=2), FSDP2 over gloo, so
that the commands, the parsing and the table run anywhere with MPI.

  python3 bench/multi_gpu_bench.py --zerotune build/zerotune --data ../shared/data
      [--only zero3] [--steps 10] [--warmup 5] [--with-stage0] [--skip-peer] [--json r.json]
      [--weak-scaling] [--dry-run] [--device cpu] [--reuse]
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from bench_common import (GPT2, flops_per_token, last_lines, params_of, prep, read_run,
                          theory_bytes_per_param, train_command)

BENCH = Path(__file__).resolve().parent

# Same machine kind (2 x H200), same shapes, GPT-2 XL B8xT1024 bf16: tokens/s per GPU and
# peak allocated GiB, as quoted in the issue; not measured by this script.
QUOTED = [
    ("PyTorch FSDP2 full shard", 27034, 54.0),
    ("PyTorch FSDP2 no reshard after forward", 26389, 54.4),
    ("DeepSpeed 0.19.8 ZeRO-1", 22560, 53.0),
    ("DeepSpeed 0.19.8 ZeRO-2", 23276, 53.0),
    ("DeepSpeed 0.19.8 ZeRO-3", 9960, 55.9),
]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def mpiexec_prefix(mpiexec, ranks):
    """`mpiexec -n N`; Open MPI binds each rank to one core by default, which starves the
    host threads (data reader, memory monitor, NCCL watchdog): --bind-to none there."""
    prefix = [mpiexec, "-n", str(ranks)]
    try:
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    except OSError:
        version = ""
    if "Open MPI" in version or "OpenRTE" in version:
        prefix += ["--bind-to", "none"]
    return prefix


def run_bounded(cmd, timeout_s, env=None):
    """subprocess.run capturing output; past timeout_s the run counts as failed (exit 124)."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return subprocess.CompletedProcess(cmd, 124, out, f"timed out after {timeout_s} s")


class Runner:
    def __init__(self, args):
        self.args = args
        self.cpu = args.device == "cpu"
        self.cache = Path(args.cache_dir)
        self.mpi = None if args.dry_run else mpiexec_prefix(args.mpiexec, args.gpus)

    def zerotune(self, name, model, B, T, precision, stage, world, token_file):
        """One zerotune run of world ranks; returns read_run's figures or {"error": ...}."""
        a = self.args
        name += a.tag
        run_dir = self.cache / "runs" / name
        # --zt-set comes after the defaults: --set takes the last value given
        cmd = train_command(a.zerotune, model, B, T, precision, stage, a.warmup + a.steps,
                            token_file, run_dir, world=world, device=a.device, extra=a.zt_set)
        if world > 1:
            cmd = (self.mpi or [a.mpiexec, "-n", str(world)]) + cmd
        if a.dry_run:
            print(shlex.join(cmd))
            return {"error": ["dry run"]}
        if self.reused(name):
            return self.reused(name)
        subprocess.run(["rm", "-rf", str(run_dir)], check=True)
        log(f"{name}: zerotune stage {stage} on {world} {'rank' if self.cpu else 'GPU'}(s)")
        t0 = time.time()
        proc = run_bounded(cmd, a.run_timeout_s)
        (self.cache / "runs" / f"{name}.out").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            log(f"{name}: exit {proc.returncode}")
            return {"error": last_lines(proc)}
        r = read_run(run_dir, proc.stdout, B, T, a.warmup)
        log(f"{name}: {r['ms']:.1f} ms/step, {r['tokens_per_s_per_gpu']:.0f} tokens/s/GPU "
            f"({time.time() - t0:.0f} s)")
        return self.keep(name, r)

    def reused(self, name):
        """With --reuse, the figures an earlier call measured for run `name` (None if none)."""
        path = self.cache / "runs" / f"{name}.result.json"
        if self.args.reuse and path.exists():
            return json.loads(path.read_text())
        return None

    def keep(self, name, result):
        (self.cache / "runs" / f"{name}.result.json").write_text(json.dumps(result))
        return result

    def fsdp2(self, name, model, B, T, reshard, token_file):
        a = self.args
        L, H, C = GPT2[model]
        out = self.cache / "runs" / f"{name}.json"
        cmd = [a.python, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", str(a.gpus), str(BENCH / "fsdp2_peer.py"),
               "--layers", str(L), "--heads", str(H), "--embd", str(C), "--batch", str(B),
               "--seq", str(T), "--tokens", str(token_file), "--reshard-after-forward",
               str(int(reshard)), "--warmup", str(a.warmup), "--steps", str(a.steps),
               "--device", a.device, "--out", str(out)]
        if a.dry_run:
            print(shlex.join(cmd))
            return {"error": ["dry run"]}
        if self.reused(name):
            return self.reused(name)
        out.unlink(missing_ok=True)
        log(f"{name}: FSDP2 reshard_after_forward={reshard} on {a.gpus} ranks")
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        proc = run_bounded(cmd, a.run_timeout_s, env)
        (self.cache / "runs" / f"{name}.out").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or not out.exists():
            log(f"{name}: exit {proc.returncode}")
            return {"error": last_lines(proc)}
        r = json.loads(out.read_text())
        log(f"{name}: {r['ms']:.1f} ms/step, {r['tokens_per_s_per_gpu']:.0f} tokens/s/GPU")
        return self.keep(name, r)


def mfu(r, model, T, peak_tflops):
    return r["tokens_per_s_per_gpu"] * flops_per_token(model, T) / (peak_tflops * 1e12)


def model_states(r, model, T, stage, world, precision):
    """(measured, theory) model-state MiB per GPU: the largest rank's sum of every buffer of the
    memory table, and DESIGN.md's bytes per parameter times the run's parameter count."""
    params = int(r.get("table_theory", {}).get("params", 0)) or params_of(model, T)
    measured = max(r["model_state_mib"].values())
    return measured, theory_bytes_per_param(stage, world, precision) * params / 2**20, params


def state_text(r, model, T, stage, world, precision):
    if not r.get("model_state_mib"):
        return "no memory table"
    measured, theory, params = model_states(r, model, T, stage, world, precision)
    return (f"{measured:9.0f} / {theory:9.0f} MiB ({measured / theory - 1:+.1%}; "
            f"{measured * 2**20 / params:5.2f} / {theory * 2**20 / params:5.2f} B/param)")


def print_rows(title, rows, model, T, args):
    print(f"\n## {title}")
    print(f"{'system':34s} {'GPUs':>4s} {'tokens/s/GPU':>12s} {'ms/step':>8s} {'MFU':>6s} "
          f"{'alloc GiB':>9s} {'resv GiB':>8s}  model states measured / theory per GPU")
    for system, world, r, extra in rows:
        if "error" in r:
            print(f"{system:34s} {world:4d} error: {' | '.join(r['error'])}")
            continue
        states = state_text(r, model, T, extra["stage"], world, extra["precision"]) \
            if "stage" in extra else ""
        print(f"{system:34s} {world:4d} {r['tokens_per_s_per_gpu']:12.0f} {r['ms']:8.1f} "
              f"{mfu(r, model, T, args.peak_tflops):6.1%} {r['alloc_gib']:9.2f} "
              f"{r['reserved_gib']:8.2f}  {states}")


def main_mode(runner, args, token_file, model, B, T, precision, results):
    stages = ([0] if args.with_stage0 else []) + [1, 2, 3]
    name = f"{model}-B{B}xT{T}-{precision}"
    rows, pairs, peers = [], [], {}
    for stage in stages:
        system = f"zerotune ZeRO-{stage}"
        if args.only and args.only not in f"zero{stage}" and args.only not in system:
            continue
        two = runner.zerotune(f"{name}-z{stage}-w{args.gpus}", model, B, T, precision, stage,
                              args.gpus, token_file)
        one = {"error": ["not run (--no-single)"]} if args.no_single else runner.zerotune(
            f"{name}-z{stage}-w1", model, B, T, precision, stage, 1, token_file)
        info = {"stage": stage, "precision": precision}
        rows += [(system, args.gpus, two, info), (f"{system} (no communication)", 1, one, info)]
        pairs.append((stage, two, one))
    if not args.skip_peer:
        for reshard, system in ((True, "FSDP2 full shard"), (False, "FSDP2 no reshard")):
            if args.only and args.only not in "fsdp2" and args.only not in system:
                continue
            tag = "reshard" if reshard else "noreshard"
            peers[system] = runner.fsdp2(f"{name}-fsdp2-{tag}", model, B, T, reshard, token_file)
            rows.append((system, args.gpus, peers[system], {}))
    if args.dry_run:
        return
    print_rows(f"{name} per GPU on {args.gpus} {'ranks' if runner.cpu else 'GPUs'}", rows,
               model, T, args)
    print("\nexposed communication = t(2) - t(1), same stage and per-GPU batch:")
    for stage, two, one in pairs:
        if "error" in two or "error" in one:
            continue
        exposed = two["ms"] - one["ms"]
        print(f"  ZeRO-{stage}: {two['ms']:.1f} - {one['ms']:.1f} = {exposed:.1f} ms "
              f"({exposed / two['ms']:.1%} of the step)")
    by_stage = {stage: two for stage, two, _ in pairs if "error" not in two}
    if 2 in by_stage and 3 in by_stage:
        print(f"ZeRO-3 / ZeRO-2 speed: {by_stage[3]['tokens_per_s_per_gpu'] / by_stage[2]['tokens_per_s_per_gpu']:.2f}x")
    live = {p: r for p, r in peers.items() if "error" not in r}
    if live:
        print("zerotune against the measured peer (speed, peak allocated):")
        for stage, two in by_stage.items():
            ratios = "  ".join(
                f"{p}: {two['tokens_per_s_per_gpu'] / r['tokens_per_s_per_gpu']:.2f}x, "
                f"{two['alloc_gib'] / r['alloc_gib']:.2f}x" if r["alloc_gib"] else
                f"{p}: {two['tokens_per_s_per_gpu'] / r['tokens_per_s_per_gpu']:.2f}x"
                for p, r in live.items())
            print(f"  ZeRO-{stage}: {ratios}")
    goals = []
    if 3 in by_stage and "FSDP2 full shard" in live:
        z3, fs = by_stage[3], live["FSDP2 full shard"]
        speed = z3["tokens_per_s_per_gpu"] / fs["tokens_per_s_per_gpu"]
        goals.append((f"ZeRO-3 at 1.3x FSDP2 full shard at no more memory: {speed:.2f}x, "
                      f"{z3['alloc_gib']:.1f} vs {fs['alloc_gib']:.1f} GiB",
                      speed >= 1.3 and z3["alloc_gib"] <= fs["alloc_gib"]))
    if 2 in by_stage and 3 in by_stage:
        ratio = by_stage[3]["tokens_per_s_per_gpu"] / by_stage[2]["tokens_per_s_per_gpu"]
        goals.append((f"ZeRO-3 at 0.9x ZeRO-2 or better: {ratio:.2f}x", ratio >= 0.9))
    for stage, two in by_stage.items():
        if two.get("model_state_mib"):
            measured, theory, _ = model_states(two, model, T, stage, args.gpus, precision)
            goals.append((f"ZeRO-{stage} model states within 5% of theory: "
                          f"{measured / theory - 1:+.1%}", abs(measured / theory - 1) <= 0.05))
    if goals:
        print("\ngoals (issue 9):")
        for text, met in goals:
            print(f"  [{'met' if met else 'MISSED'}] {text}")
    if model == "1558M" and T == 1024 and B == 8 and precision == "bf16":
        print("\nquoted from the issue, not measured here (2 x H200, same shapes):")
        for system, tps, alloc in QUOTED:
            ratios = "  ".join(f"ZeRO-{s}: {r['tokens_per_s_per_gpu'] / tps:.2f}x, "
                               f"{r['alloc_gib'] / alloc:.2f}x" for s, r in by_stage.items())
            print(f"  {system:40s} {tps:7d} tokens/s/GPU {alloc:5.1f} GiB   zerotune {ratios}")
    for system, world, r, extra in rows:
        results.append({"config": name, "system": system, "world": world, **extra, **r})


def weak_scaling(runner, args, token_file, model, B, T, precision, results):
    name = f"{model}-B{B}xT{T}-{precision}"
    rows, effs = [], []
    for stage in (0, 1, 2):
        if args.only and args.only not in f"zero{stage}":
            continue
        one = runner.zerotune(f"{name}-z{stage}-w1", model, B, T, precision, stage, 1, token_file)
        two = runner.zerotune(f"{name}-z{stage}-w{args.gpus}", model, B, T, precision, stage,
                              args.gpus, token_file)
        info = {"stage": stage, "precision": precision}
        rows += [(f"zerotune ZeRO-{stage}", 1, one, info),
                 (f"zerotune ZeRO-{stage}", args.gpus, two, info)]
        effs.append((stage, one, two))
    if args.dry_run:
        return
    print_rows(f"weak scaling {name} per GPU", rows, model, T, args)
    print(f"\nweak-scaling efficiency = tokens/s/GPU({args.gpus}) / tokens/s(1):")
    for stage, one, two in effs:
        if "error" not in one and "error" not in two:
            eff = two["tokens_per_s_per_gpu"] / one["tokens_per_s_per_gpu"]
            print(f"  ZeRO-{stage}: {eff:.1%} [{'met' if eff >= 0.95 else 'MISSED'}: goal 95%]")
    for system, world, r, extra in rows:
        results.append({"config": f"weak-{name}", "system": system, "world": world, **extra, **r})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zerotune", required=True)
    ap.add_argument("--data", required=True, type=Path, help="holds wikitext-2-raw, gpt2-tokenizer")
    ap.add_argument("--steps", type=int, default=10, help="measured steps (after --warmup)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--only", default="", help="zero0..zero3 or fsdp2: run just that system")
    ap.add_argument("--with-stage0", action="store_true")
    ap.add_argument("--skip-peer", action="store_true", help="no FSDP2 runs")
    ap.add_argument("--weak-scaling", action="store_true",
                    help="GPT-2 355M B8xT1024 stages 0-2 on 1 then 2 GPUs instead")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--zt-set", action="append", default=[], metavar="KEY=VALUE",
                    help="an extra `--set` for every zerotune run (e.g. zero.reduce_dtype=bf16)")
    ap.add_argument("--no-single", action="store_true",
                    help="skip the 1-GPU runs (variants of runs measured before)")
    ap.add_argument("--tag", default="", help="appended to zerotune run names (with --zt-set)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                    help="cpu: a tiny fp32 model on CPU ranks, to check the script itself")
    ap.add_argument("--gpus", type=int, default=2)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--python", default=sys.executable, help="the Python with torch for FSDP2")
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--cache-dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                        "zt-multi-gpu-bench"),
                    help="prepped data (kept across calls) and run directories")
    ap.add_argument("--run-timeout-s", type=int, default=540)
    ap.add_argument("--reuse", action="store_true",
                    help="take runs an earlier call measured (same --cache-dir) instead of "
                         "running them again: split the work over calls with --only, then "
                         "print the whole table with --reuse")
    args = ap.parse_args()

    if args.device == "cpu":
        model, B, T, precision = "tiny", 2, 64, "fp32"
    elif args.weak_scaling:
        model, B, T, precision = "355M", 8, 1024, "bf16"
    else:
        model, B, T, precision = "1558M", 8, 1024, "bf16"
    args.zerotune = os.path.abspath(args.zerotune)
    runner = Runner(args)
    token_file = prep(args.zerotune, args.data, T, runner.cache, dry_run=args.dry_run)
    (runner.cache / "runs").mkdir(parents=True, exist_ok=True)
    results = []
    mode = weak_scaling if args.weak_scaling else main_mode
    mode(runner, args, token_file, model, B, T, precision, results)
    if args.json and not args.dry_run:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
