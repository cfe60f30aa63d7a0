"""zerotune's AdamW, SGD, gradient clipping and LR schedules against PyTorch and transformers.

Writes parameters and a sequence of gradients, runs test_train's torch_optimizer_reference
case, and compares every step's parameters with torch.optim.AdamW / torch.optim.SGD (two
param groups: weight decay on the first part only), torch.nn.utils.clip_grad_norm_ and the
LambdaLR schedules of transformers.optimization. The same case reads back F16, BF16, F64,
I32 and I64 tensors written by the safetensors library.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file as save_torch_file
from transformers import optimization as hf_optim

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_util as ru  # noqa: E402

STEPS = 6
N = 257          # odd, so no vector width divides it
DECAY_NUMEL = 150

OPTIMIZER_RUNS = [
    dict(name="adamw_cosine_warmup_clip", optimizer="adamw", lr=1e-2, beta1=0.9, beta2=0.95,
         eps=1e-8, weight_decay=0.1, momentum=0.0, schedule="cosine", warmup_steps=2,
         total_steps=8, min_lr_ratio=0.0, max_norm=None),  # max_norm filled in below
    dict(name="adamw_constant_noclip", optimizer="adamw", lr=1e-3, beta1=0.9, beta2=0.999,
         eps=1e-6, weight_decay=0.01, momentum=0.0, schedule="constant", warmup_steps=0,
         total_steps=STEPS, min_lr_ratio=0.0, max_norm=0.0),
    dict(name="adamw_cosine_min_lr", optimizer="adamw", lr=3e-3, beta1=0.8, beta2=0.99,
         eps=1e-8, weight_decay=0.05, momentum=0.0, schedule="cosine", warmup_steps=1,
         total_steps=5, min_lr_ratio=0.1, max_norm=0.0),
    dict(name="sgd_momentum_linear_clip", optimizer="sgd", lr=0.05, beta1=0.0, beta2=0.0,
         eps=0.0, weight_decay=0.01, momentum=0.9, schedule="linear", warmup_steps=1,
         total_steps=STEPS, min_lr_ratio=0.0, max_norm=None),
    dict(name="sgd_plain_constant", optimizer="sgd", lr=0.1, beta1=0.0, beta2=0.0, eps=0.0,
         weight_decay=0.0, momentum=0.0, schedule="constant", warmup_steps=0,
         total_steps=STEPS, min_lr_ratio=0.0, max_norm=0.0),
]

SCHEDULES = [
    dict(schedule="cosine", lr=1e-3, warmup_steps=3, total_steps=17, min_lr_ratio=0.0),
    dict(schedule="cosine", lr=5e-4, warmup_steps=0, total_steps=10, min_lr_ratio=0.0),
    dict(schedule="cosine", lr=2e-4, warmup_steps=2, total_steps=11, min_lr_ratio=0.1),
    dict(schedule="linear", lr=1e-3, warmup_steps=0, total_steps=9, min_lr_ratio=0.0),
    dict(schedule="linear", lr=6e-4, warmup_steps=5, total_steps=12, min_lr_ratio=0.0),
    dict(schedule="constant", lr=1e-4, warmup_steps=4, total_steps=8, min_lr_ratio=0.0),
    dict(schedule="constant", lr=1e-4, warmup_steps=0, total_steps=3, min_lr_ratio=0.0),
]


def hf_scheduler(opt, c):
    if c["schedule"] == "cosine" and c["min_lr_ratio"] > 0:
        return hf_optim.get_cosine_with_min_lr_schedule_with_warmup(
            opt, c["warmup_steps"], c["total_steps"], min_lr_rate=c["min_lr_ratio"])
    if c["schedule"] == "cosine":
        return hf_optim.get_cosine_schedule_with_warmup(opt, c["warmup_steps"], c["total_steps"])
    if c["schedule"] == "linear":
        assert c["min_lr_ratio"] == 0
        return hf_optim.get_linear_schedule_with_warmup(opt, c["warmup_steps"], c["total_steps"])
    return hf_optim.get_constant_schedule_with_warmup(opt, c["warmup_steps"])


def torch_trajectory(c, param0, grads):
    """Parameters after each step, as torch and transformers compute them."""
    decay = torch.nn.Parameter(torch.from_numpy(param0[:DECAY_NUMEL].copy()))
    rest = torch.nn.Parameter(torch.from_numpy(param0[DECAY_NUMEL:].copy()))
    groups = [{"params": [decay], "weight_decay": c["weight_decay"]},
              {"params": [rest], "weight_decay": 0.0}]
    if c["optimizer"] == "adamw":
        opt = torch.optim.AdamW(groups, lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"])
    else:
        opt = torch.optim.SGD(groups, lr=c["lr"], momentum=c["momentum"], dampening=0,
                              nesterov=False)
    sched = hf_scheduler(opt, c)
    out = []
    for s in range(STEPS):
        g = torch.from_numpy(grads[s].copy())
        decay.grad = g[:DECAY_NUMEL].clone()
        rest.grad = g[DECAY_NUMEL:].clone()
        if c["max_norm"] > 0:
            torch.nn.utils.clip_grad_norm_([decay, rest], c["max_norm"])
        opt.step()
        sched.step()
        out.append(torch.cat([decay.detach(), rest.detach()]).numpy().copy())
    return np.stack(out)


def hf_lrs(c):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=c["lr"])
    sched = hf_scheduler(opt, c)
    lrs = []
    for _ in range(c["total_steps"] + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


def main() -> int:
    ru.self_check(rtol=1e-5, atol=1e-7)
    rng = np.random.default_rng(1234)
    param0 = rng.standard_normal(N).astype(np.float32)
    # Gradients of mixed scales, so that some steps clip and Adam's eps matters for a few.
    scales = np.exp(rng.uniform(-6, 1, size=(STEPS, N))).astype(np.float32)
    grads = (rng.standard_normal((STEPS, N)).astype(np.float32) * scales).astype(np.float32)
    norms = np.linalg.norm(grads.astype(np.float64), axis=1)
    for c in OPTIMIZER_RUNS:
        c["decay_numel"] = DECAY_NUMEL
        if c["max_norm"] is None:
            c["max_norm"] = float(np.median(norms))  # about half the steps clip
    print(f"gradient norms per step: {np.array2string(norms, precision=3)}; "
          f"max_norm {float(np.median(norms)):.3f}")

    with tempfile.TemporaryDirectory(prefix="zt-optim-") as tmp:
        exchange = Path(tmp)
        (exchange / "cases.json").write_text(
            json.dumps({"optimizer_runs": OPTIMIZER_RUNS, "schedules": SCHEDULES}))
        probe_values = np.array([1.0, -2.5, 65504.0, 2.0 ** -24, 0.1, -3.140625], np.float32)
        probes = {
            "probe.f16": torch.from_numpy(probe_values).to(torch.float16),
            "probe.bf16": torch.from_numpy(probe_values).to(torch.bfloat16),
            "probe.f64": torch.from_numpy(probe_values).to(torch.float64).reshape(2, 3),
            "probe.i32": torch.tensor([[-7, 0, 123456]], dtype=torch.int32),
            "probe.i64": torch.tensor([5, -2**31, 2**31 - 1], dtype=torch.int64),
        }
        tensors = {"param": torch.from_numpy(param0),
                   "grads": torch.from_numpy(grads).to(torch.float64)}  # F64 on purpose
        save_torch_file({**tensors, **probes}, str(exchange / "inputs.safetensors"))
        ru.run_cpp_case("test_train", "torch_optimizer_reference", exchange)
        got = load_file(str(exchange / "outputs.safetensors"))
        schedules_got = json.loads((exchange / "schedules_out.json").read_text())

    cmp = ru.Comparison(rtol=1e-5, atol=1e-7)
    print("optimizer trajectories (every step's parameters):")
    for c in OPTIMIZER_RUNS:
        want = torch_trajectory(c, param0, grads)
        ours = got["run." + c["name"]]
        for s in range(STEPS):
            cmp.check(f"{c['name']} step {s + 1}", ours[s], want[s], group=c["name"])
        # The total update, so that an error small next to |p| but not next to the update
        # (a bias correction, eps placement) shows; float rounding of p bounds it at ~1e-5.
        cmp.check(f"{c['name']} update p{STEPS}-p0", ours[-1] - param0, want[-1] - param0,
                  group=c["name"] + " update", rtol=1e-4, atol=1e-6)
    print("learning-rate schedules (every step 0..total):")
    for c, lrs in zip(SCHEDULES, schedules_got):
        name = (f"{c['schedule']} w={c['warmup_steps']} N={c['total_steps']}"
                f" min={c['min_lr_ratio']}")
        cmp.check(name, lrs, hf_lrs(c), group="schedules", rtol=1e-12, atol=1e-15)
    print("safetensors dtype probes written by the safetensors library:")
    for name, t in probes.items():
        want = t.to(torch.float32).numpy()  # what a float read of each value must give
        cmp.check(name, got[name], want, group="probes", rtol=0, atol=0)
    return cmp.summary()


if __name__ == "__main__":
    ru.exit_with(main())
