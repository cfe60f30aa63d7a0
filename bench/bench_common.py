"""What the GPU benchmarks share: GPT-2 shapes, parameter and FLOP counts, data prep, and one
`zerotune train` run read back from its run directory.

MFU: model FLOPs per token 6 N + 12 L C T (PaLM's appendix B: the matmuls of forward and
backward plus attention's), over the dense bf16/fp16 peak (989 TFLOP/s for H100/H200 SXM).
"""

import json
import statistics
import subprocess
from pathlib import Path

GPT2 = {  # name: (n_layer, n_head, n_embd)
    "tiny": (2, 2, 64),  # CPU smoke runs only
    "124M": (12, 12, 768),
    "355M": (24, 16, 1024),
    "774M": (36, 20, 1280),
    "1558M": (48, 25, 1600),  # GPT-2 XL
}
VOCAB = 50257
N_POSITIONS = 1024


def params_of(model, positions=N_POSITIONS):
    """Parameters of GPT-2 `model` with tied embeddings: wte, wpe, per block 12 C^2 + 13 C, ln_f."""
    L, _, C = GPT2[model]
    return VOCAB * C + positions * C + L * (12 * C * C + 13 * C) + 2 * C


def flops_per_token(model, T):
    L, _, C = GPT2[model]
    return 6 * params_of(model) + 12 * L * C * T


def prep(zerotune, data, T, out_dir, dry_run=False):
    """WikiText-2 test rows of T tokens, prepped once into out_dir and reused."""
    out = Path(out_dir) / f"wikitext-{T}.h5"
    if not out.exists() and not dry_run:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        subprocess.run([zerotune, "prep", "wikitext", "--input",
                        str(Path(data) / "wikitext-2-raw" / "wiki.test.raw"), "--tokenizer",
                        str(Path(data) / "gpt2-tokenizer"), "--seq-len", str(T), "--out", str(out)],
                       check=True, capture_output=True)
    return out


def train_command(zerotune, model, B, T, precision, stage, steps, token_file, run_dir,
                  world=1, device="cuda", extra=(), seq_len=None):
    """`zerotune train` for `world` ranks of micro batch B (one micro batch per rank per step),
    rows of T tokens; the model's position table is seq_len long (default T: GPT-2's real 1024
    with shorter rows tests the data-length path)."""
    L, H, C = GPT2[model]
    cmd = [zerotune, "train", "--run-dir", str(run_dir), "--set", f"run.device={device}",
           "--set", f"model.n_layer={L}", "--set", f"model.n_head={H}", "--set", f"model.n_embd={C}",
           "--set", f"model.seq_len={seq_len or T}", "--set", f"model.vocab_size={VOCAB}",
           "--set", f"data.train_file={token_file}", "--set", "data.eval_file=",
           "--set", f"train.micro_batch_size={B}", "--set", f"train.global_batch_size={B * world}",
           "--set", f"train.max_steps={steps}", "--set", f"train.precision={precision}",
           "--set", f"zero.stage={stage}", "--set", "log.every_n_steps=1",
           "--set", "checkpoint.save_strategy=no", "--set", "monitor.interval_ms=100"]
    for setting in extra:
        cmd += ["--set", setting]
    return cmd


def key_values(line):
    """`a=1 b=x` -> {"a": "1", "b": "x"} (words without '=' are skipped)."""
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def model_state_table(out_text):
    """The start-of-run memory table of a .out: per rank, the MiB of each model-state buffer
    (every `*_mib` field of a `memory rank=R ...` line), their sum (or the line's own
    total_mib / model_state_mib), and bytes_per_param; plus
    the table's own theory line (`memory stage=...`) as written."""
    ranks, theory = {}, {}
    for line in out_text.splitlines():
        if not line.startswith("memory "):
            continue
        fields = key_values(line)
        if "rank" in fields:
            mib = {k: float(v) for k, v in fields.items() if k.endswith("_mib")}
            # A line that states its own total is taken at its word (no double count).
            total = mib.pop("total_mib", None)
            total = mib.pop("model_state_mib", total)
            ranks[int(fields["rank"])] = {"mib": mib, "total_mib": total or sum(mib.values()),
                                          "bytes_per_param": float(fields.get("bytes_per_param", 0))}
        elif "stage" in fields:
            theory = fields
    return ranks, theory


def read_run(run_dir, out_text, B, T, warmup):
    """Median step time after `warmup` steps, per-GPU tokens/s (B*T per rank per step), the
    pool's peak allocated/reserved GiB (train_summary), and the memory table."""
    records = [json.loads(line) for line in open(Path(run_dir) / "metrics.jsonl")]
    step_ms = [r["step_ms"] for r in records if r.get("type") == "step"][warmup:]
    summary = next(r for r in records if r.get("type") == "summary")
    ms = statistics.median(step_ms)
    ranks, theory = model_state_table(out_text)
    return {"ms": ms, "tokens_per_s_per_gpu": B * T / (ms / 1e3), "steps_measured": len(step_ms),
            "alloc_gib": summary.get("peak_alloc_gib") or summary.get("peak_mem_gib", 0.0),
            "reserved_gib": summary.get("peak_reserved_gib", 0.0),
            "model_state_mib": {r: v["total_mib"] for r, v in ranks.items()},
            "bytes_per_param": {r: v["bytes_per_param"] for r, v in ranks.items()},
            "table_theory": theory}


def theory_bytes_per_param(stage, world, precision):
    """DESIGN.md's model-state bytes per parameter (Psi parameters, N ranks): mixed precision
    stage 0: 2 + 2 + 12, stage 1: 2 + 2 + 12/N, stage 2: 2 + (2 + 12)/N, stage 3: 16/N.
    fp32 (no compute copy; master = parameters): 4 + 4 + 8 with the same sharding."""
    p, g, o = (2, 2, 12) if precision in ("bf16", "fp16") else (4, 4, 8)
    N = world
    return {0: p + g + o, 1: p + g + o / N, 2: p + (g + o) / N, 3: (p + g + o) / N}[stage]


def last_lines(proc, n=3):
    return (proc.stderr or "").strip().splitlines()[-n:] + (proc.stdout or "").strip().splitlines()[-n:]
