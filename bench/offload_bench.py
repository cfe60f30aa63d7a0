"""ZeRO-Offload and ZeRO-Infinity on one GPU: the optimizer state on the device, in host
memory (offload_optimizer: cpu) and on NVMe (nvme), same model, data and stage, one run.

For each config and tier it runs `zerotune train` on WikiText-2 (prepped here at the config's
row length) and prints the steady-state step time (median after warmup) and tokens/s, the
pool's peak allocated GPU memory (metrics.jsonl), the process's peak host RSS (VmHWM), the
NVMe bytes read and written per second of training (/proc/PID/io over train_runtime), the
step time over the no-offload run's (the goals: cpu <= 1.5x, nvme <= 2x), and where an
offloaded step's time goes: the host update's ms and how many of them the forward waited.

  python bench/offload_bench.py --zerotune build/zerotune --data ../shared/data \
      --nvme /local/nvme [--only NAME] [--stage 2]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import prep, train_command

# name, model (bench_common.GPT2), micro batch, row length, precision
CONFIGS = [
    ("774M-B2xT512-fp16", "774M", 2, 512, "fp16"),
    ("1558M-B8xT1024-bf16", "1558M", 8, 1024, "bf16"),
]
TIERS = ["none", "cpu", "nvme"]
# Tier -> the zero settings it runs with; param and infinity are stage 3 whatever --stage says.
TIER_SETTINGS = {
    "none": ["zero.offload_optimizer=none"],
    "cpu": ["zero.offload_optimizer=cpu"],
    "nvme": ["zero.offload_optimizer=nvme"],
    "param": ["zero.stage=3", "zero.offload_optimizer=cpu", "zero.offload_param=cpu"],
    "infinity": ["zero.stage=3", "zero.offload_optimizer=nvme", "zero.offload_param=nvme"],
}


def tier_settings(tier):
    """The --set list of a tier: a name of TIER_SETTINGS, or `cpu:R` / `nvme:R` for a partial
    offload of ratio R (zero.offload_optimizer_ratio)."""
    name, _, ratio = tier.partition(":")
    settings = list(TIER_SETTINGS[name])
    if ratio:
        settings.append(f"zero.offload_optimizer_ratio={ratio}")
    return settings


def proc_field(pid, name, key):
    try:
        for line in open(f"/proc/{pid}/{name}"):
            if line.startswith(key):
                return int(line.split()[1]) * (1024 if name == "status" else 1)
    except OSError:
        pass
    return None


def run_zerotune(zerotune, model, B, T, precision, stage, tier, nvme, steps, warmup, token_file,
                 run_dir):
    extra = tier_settings(tier) + ["train.eval_strategy=no"]
    if "nvme" in " ".join(tier_settings(tier)):
        extra.append(f"zero.nvme_path={nvme}")
    cmd = train_command(zerotune, model, B, T, precision, stage, steps, token_file, run_dir,
                        extra=extra, seq_len=1024)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_rss, io = 0, {}
    while proc.poll() is None:  # /proc/PID goes with the process: sample while it runs
        peak_rss = max(peak_rss, proc_field(proc.pid, "status", "VmHWM:") or 0)
        for key in ("read_bytes:", "write_bytes:"):
            value = proc_field(proc.pid, "io", key)
            if value is not None:
                io[key] = value
        time.sleep(0.2)
    output = proc.stdout.read()
    if proc.returncode != 0:
        return {"error": output.strip().splitlines()[-1:]}
    records = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    steps_after_warmup = [r for r in records if r.get("type") == "step"][warmup:]
    summary = next(r for r in records if r.get("type") == "summary")
    ms = statistics.median(r["step_ms"] for r in steps_after_warmup)
    # Where an offloaded step's time goes: the host update, and the part the forward waited.
    update_ms = statistics.median(r.get("offload_update_ms", 0.0) for r in steps_after_warmup)
    wait_ms = statistics.median(r.get("offload_wait_ms", 0.0) for r in steps_after_warmup)
    seconds = max(summary.get("train_runtime", 0.0), 1e-9)
    on_disk = tier in ("nvme", "infinity")
    nvme_bytes = io.get("read_bytes:", 0) + io.get("write_bytes:", 0) if on_disk else 0
    return {"ms": ms, "tokens_per_s": B * T / (ms / 1e3),
            "alloc_gib": summary.get("peak_alloc_gib", summary.get("peak_mem_gib", 0.0)),
            "host_rss_gib": peak_rss / 2**30, "nvme_gb_per_s": nvme_bytes / seconds / 1e9,
            "update_ms": update_ms, "wait_ms": wait_ms}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zerotune", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--nvme", required=True, help="a folder on a local NVMe (zero.nvme_path)")
    ap.add_argument("--stage", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5, help="steps left out of the median")
    ap.add_argument("--only", default="")
    ap.add_argument("--tiers", default=",".join(TIERS),
                    help="comma-separated: none,cpu,nvme,param (stage 3, offload_param cpu),"
                         "infinity (stage 3, optimizer and parameters on nvme), cpu:R or nvme:R "
                         "(a partial offload of ratio R)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zt-offload-bench-") as tmp:
        tmp = Path(tmp)
        for name, model, B, T, precision in CONFIGS:
            if args.only and args.only not in name:
                continue
            token_file = prep(args.zerotune, args.data, T, tmp)
            for tier in args.tiers.split(","):
                r = run_zerotune(args.zerotune, model, B, T, precision, args.stage, tier, args.nvme,
                                 args.steps, args.warmup, token_file, tmp / f"{name}-{tier}")
                rows.append((name, tier, r))
                print(f"done {name} {tier}", file=sys.stderr, flush=True)
    print(f"{'config':22s} {'offload':8s} {'tokens/s':>9s} {'ms/step':>8s} {'vs none':>8s} "
          f"{'GPU GiB':>8s} {'host GiB':>9s} {'NVMe GB/s':>9s} {'update ms':>9s} {'wait ms':>8s}")
    base = {}
    for name, tier, r in rows:
        if "error" in r:
            print(f"{name:22s} {tier:8s} error: {r['error']}")
            continue
        if tier == "none":
            base[name] = r["ms"]
        ratio = f"{r['ms'] / base[name]:.2f}x" if name in base else "-"
        print(f"{name:22s} {tier:8s} {r['tokens_per_s']:9.0f} {r['ms']:8.1f} {ratio:>8s} "
              f"{r['alloc_gib']:8.2f} {r['host_rss_gib']:9.2f} {r['nvme_gb_per_s']:9.2f} "
              f"{r['update_ms']:9.1f} {r['wait_ms']:8.1f}")
    if args.json:
        args.json.write_text(json.dumps([{"config": n, "offload": t, **r} for n, t, r in rows],
                                        indent=1))


if __name__ == "__main__":
    main()
