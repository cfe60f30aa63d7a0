"""zerotune against PyTorch on one GPU, same shapes, same data, one run.

Builds nothing: give it a built `zerotune` and the shared data directory. For each config it
  - runs `zerotune train` on WikiText-2 (prepped here at the config's row length) and reads
    the steady-state step time (median after warmup) and the pool's peak allocated/reserved
    memory from the run's metrics.jsonl;
  - runs Hugging Face GPT2LMHeadModel (random init, SDPA attention, fused AdamW) under bf16 or
    fp16 autocast (fp16 with GradScaler), eager and, where asked, torch.compile, and reads
    torch.cuda.max_memory_allocated/reserved;
and prints tokens/s, ms/step, MFU and peak GiB side by side with zerotune's ratios.

MFU: model FLOPs per token 6 N + 12 L C T (PaLM's appendix B: the matmuls of forward and
backward plus attention's), over the dense bf16/fp16 peak (--peak-tflops, 989 for H100/H200 SXM).

  python bench/gpu_train_bench.py --zerotune build/zerotune --data ../shared/data [--only NAME]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import GPT2, VOCAB, flops_per_token, prep, train_command

# name, model, micro batch, row length, precision, ZeRO stages, torch.compile too
CONFIGS = [
    ("124M-B16xT1024-bf16", "124M", 16, 1024, "bf16", [2], True),
    ("355M-B8xT1024-bf16", "355M", 8, 1024, "bf16", [2], False),
    ("774M-B4xT1024-bf16", "774M", 4, 1024, "bf16", [2], False),
    ("355M-B4xT512-fp16", "355M", 4, 512, "fp16", [0, 1, 2], False),
    ("774M-B2xT512-fp16", "774M", 2, 512, "fp16", [3], False),
]


def run_zerotune(zerotune, model, B, T, precision, stage, steps, token_file, run_dir):
    cmd = train_command(zerotune, model, B, T, precision, stage, steps, token_file, run_dir,
                        seq_len=1024)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    records = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    step_ms = [r["step_ms"] for r in records if r.get("type") == "step"][5:]
    summary = next(r for r in records if r.get("type") == "summary")
    ms = statistics.median(step_ms)
    return {"ms": ms, "tokens_per_s": B * T / (ms / 1e3),
            "alloc_gib": summary.get("peak_alloc_gib", summary.get("peak_mem_gib", 0.0)),
            "reserved_gib": summary.get("peak_reserved_gib", 0.0)}


def run_torch(model, B, T, precision, steps, compiled):
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config
    L, H, C = GPT2[model]
    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=L, n_head=H, n_embd=C, n_positions=1024, vocab_size=VOCAB,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    net = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa").cuda()
    assert net.config._attn_implementation == "sdpa", net.config._attn_implementation
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, fused=True)
    scaler = torch.amp.GradScaler(enabled=precision == "fp16")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    step_fn = torch.compile(net) if compiled else net
    x = torch.randint(0, VOCAB, (B, T), device="cuda")
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        with torch.autocast("cuda", dtype=dtype):
            loss = step_fn(input_ids=x, labels=x).loss
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    ms = statistics.median(times[5:])
    result = {"ms": ms, "tokens_per_s": B * T / (ms / 1e3),
              "alloc_gib": torch.cuda.max_memory_allocated() / 2**30,
              "reserved_gib": torch.cuda.max_memory_reserved() / 2**30}
    del net, opt, step_fn
    torch.cuda.empty_cache()
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zerotune", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zt-bench-") as tmp:
        tmp = Path(tmp)
        for name, model, B, T, precision, stages, compile_too in CONFIGS:
            if args.only and args.only not in name:
                continue
            token_file = prep(args.zerotune, args.data, T, tmp)
            peers = {"torch eager": run_torch(model, B, T, precision, args.steps, False)}
            if compile_too and not args.no_compile:
                t0 = time.time()
                peers["torch compile"] = run_torch(model, B, T, precision, args.steps, True)
                peers["torch compile"]["compile_s"] = time.time() - t0
            for stage in stages:
                zt = run_zerotune(args.zerotune, model, B, T, precision, stage, args.steps,
                                  token_file, tmp / f"{name}-z{stage}")
                rows.append((name, model, T, f"zerotune zero{stage}", zt, peers))
            for peer, r in peers.items():
                rows.append((name, model, T, peer, r, {}))
            print(f"done {name}", file=sys.stderr, flush=True)
    print(f"{'config':22s} {'system':16s} {'tokens/s':>10s} {'ms/step':>8s} {'MFU':>6s} "
          f"{'alloc GiB':>9s} {'resv GiB':>8s}  ratios vs torch (speed, alloc)")
    for name, model, T, system, r, peers in rows:
        if "error" in r:
            print(f"{name:22s} {system:16s} error: {r['error']}")
            continue
        mfu = r["tokens_per_s"] * flops_per_token(model, T) / (args.peak_tflops * 1e12)
        ratios = "  ".join(f"{p}: {r['tokens_per_s'] / q['tokens_per_s']:.2f}x, "
                           f"{r['alloc_gib'] / max(q['alloc_gib'], 1e-9):.2f}x"
                           for p, q in peers.items() if "error" not in q)
        print(f"{name:22s} {system:16s} {r['tokens_per_s']:10.0f} {r['ms']:8.1f} {mfu:6.1%} "
              f"{r['alloc_gib']:9.2f} {r['reserved_gib']:8.2f}  {ratios}")
    if args.json:
        args.json.write_text(json.dumps([{"config": n, "system": s, **r} for n, _, _, s, r, _ in rows],
                                        indent=1))


if __name__ == "__main__":
    main()
