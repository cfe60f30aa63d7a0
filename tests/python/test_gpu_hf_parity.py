"""`zerotune train` on the GPU against Hugging Face GPT2LMHeadModel + torch.optim.AdamW on the
same GPU, from the same weights (a transformers `save_pretrained` safetensors file) and the
same batches (real WikiText-2 through `zerotune prep`, unshuffled):

  fp32: the loss and the global gradient norm of steps 1-3 within 1e-4, every parameter after
        3 AdamW steps (weight decay on matrices and embeddings only) within 1e-4, and the
        3-step update within 1e-4 in norm;
  bf16: the step losses within 1e-2 of torch's bf16 autocast run.

Exit 77 (skipped) where torch sees no GPU.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_util as ru  # noqa: E402
from zerotune_data_support import SHARED, TOKENIZER_DIR  # noqa: E402

STEPS = 3
BATCH = 4
SEQ = 64
SHAPE = dict(n_layer=2, n_head=4, n_embd=128)
LR, WD = 1e-3, 0.1


def zerotune(binary, *args):
    return ru.run_expecting([binary, *map(str, args)]).stdout


def train(binary, tmp, init, data, precision):
    run_dir = tmp / f"run_{precision}"
    zerotune(binary, "train", "--run-dir", run_dir,
             "--set", "run.device=cuda", "--set", f"train.precision={precision}",
             "--set", f"model.n_layer={SHAPE['n_layer']}", "--set", f"model.n_head={SHAPE['n_head']}",
             "--set", f"model.n_embd={SHAPE['n_embd']}", "--set", f"model.seq_len={SEQ}",
             "--set", "model.vocab_size=50257", "--set", f"model.init={init}",
             "--set", f"data.train_file={data}", "--set", "data.eval_file=",
             "--set", "data.shuffle=false",
             "--set", f"train.micro_batch_size={BATCH}", "--set", f"train.global_batch_size={BATCH}",
             "--set", f"train.max_steps={STEPS}", "--set", f"train.lr={LR}",
             "--set", "train.schedule=constant", "--set", "train.warmup_steps=0",
             "--set", "train.grad_clip=0", "--set", f"train.weight_decay={WD}",
             "--set", "log.every_n_steps=1")
    steps = [r for r in map(json.loads, open(run_dir / "metrics.jsonl")) if r.get("type") == "step"]
    return run_dir, steps


def checkpoint_params(run_dir):
    """The flat per-unit parameter arrays of the run's last checkpoint."""
    ckpt = sorted((run_dir / "checkpoints").glob("step-*"))[-1]
    with h5py.File(ckpt / "state.h5", "r") as f:
        return {name: f[f"units/{name}/params"][()] for name in f["units"]}


def flat_units(model):
    """The same arrays from a GPT2LMHeadModel, in zerotune's documented layout order."""
    sd = {k.removeprefix("transformer."): v.detach().float().cpu().numpy()
          for k, v in model.state_dict().items()}
    units = {"embeddings": np.concatenate([sd["wte.weight"].ravel(), sd["wpe.weight"].ravel()])}
    for i in range(SHAPE["n_layer"]):
        names = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                 "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                 "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]
        units[f"h.{i}"] = np.concatenate([sd[f"h.{i}.{n}"].ravel() for n in names])
    units["ln_f"] = np.concatenate([sd["ln_f.weight"].ravel(), sd["ln_f.bias"].ravel()])
    return units


def torch_run(model_dir, ids, labels, precision):
    from transformers import GPT2LMHeadModel
    model = GPT2LMHeadModel.from_pretrained(model_dir, torch_dtype=torch.float32,
                                            attn_implementation="eager").cuda()
    model.train()  # dropout is 0 in the config
    decay = [p for n, p in model.named_parameters() if not (n.endswith(".bias") or ".ln_" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith(".bias") or ".ln_" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, eps=1e-8,
                            foreach=False)
    losses, norms = [], []
    for s in range(STEPS):
        x = torch.from_numpy(ids[s * BATCH:(s + 1) * BATCH]).long().cuda()
        y = torch.from_numpy(labels[s * BATCH:(s + 1) * BATCH]).long().cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model(input_ids=x, labels=y).loss
        loss.backward()
        norms.append(float(torch.sqrt(sum((p.grad.double() ** 2).sum()
                                          for p in model.parameters() if p.grad is not None))))
        losses.append(float(loss.detach()))
        opt.step()
        opt.zero_grad(set_to_none=True)
    return model, np.array(losses), np.array(norms)


def main() -> int:
    if not torch.cuda.is_available():
        print("skipped: no GPU")
        return 77
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ru.self_check(rtol=1e-4, atol=1e-6)
    binary = os.environ.get("ZEROTUNE_BINARY")
    from transformers import GPT2Config, GPT2LMHeadModel
    with tempfile.TemporaryDirectory(prefix="zt-gpu-hf-") as tmp:
        tmp = Path(tmp)
        data = tmp / "train.h5"
        zerotune(binary, "prep", "wikitext", "--input", SHARED / "wikitext-2-raw" / "wiki.valid.raw",
                 "--tokenizer", TOKENIZER_DIR, "--seq-len", SEQ, "--out", data)
        with h5py.File(data, "r") as f:
            ids = f["input_ids"][: STEPS * BATCH]
            labels = f["labels"][: STEPS * BATCH]
        torch.manual_seed(0)
        config = GPT2Config(n_layer=SHAPE["n_layer"], n_head=SHAPE["n_head"], n_embd=SHAPE["n_embd"],
                            n_positions=SEQ, vocab_size=50257, resid_pdrop=0.0, embd_pdrop=0.0,
                            attn_pdrop=0.0, activation_function="gelu_new")
        model_dir = tmp / "hf"
        GPT2LMHeadModel(config).save_pretrained(model_dir, safe_serialization=True)
        init = model_dir / "model.safetensors"

        cmp = ru.Comparison(rtol=1e-4, atol=1e-6)
        run_dir, steps = train(binary, tmp, init, data, "fp32")
        ref_model, ref_losses, ref_norms = torch_run(model_dir, ids, labels, "fp32")
        cmp.check("fp32 step losses", [r["loss"] for r in steps], ref_losses, group="fp32 loss")
        cmp.check("fp32 gradient norms", [r["grad_norm"] for r in steps], ref_norms,
                  group="fp32 grad norm")
        ours = checkpoint_params(run_dir)
        want = flat_units(ref_model)
        start = flat_units(GPT2LMHeadModel.from_pretrained(model_dir))
        for name in want:
            # Elementwise within 1% of the largest possible 3-step change (3 lr): Adam's
            # m / sqrt(v) turns float rounding of a near-zero gradient into a fraction of lr.
            cmp.check(f"fp32 {name} after {STEPS} AdamW steps", ours[name], want[name],
                      group="fp32 params", atol=0.01 * STEPS * LR)
            # The update itself (about 3 lr), so that an error small next to |p| shows too: in
            # norm within 1e-4; elementwise within 2% of the largest update, as Adam's
            # m / sqrt(v) magnifies float rounding where a gradient is near zero.
            cmp.check(f"fp32 {name} update", ours[name] - start[name], want[name] - start[name],
                      group="fp32 updates", rtol=1e-4, atol=1e-7, elem_rtol=2e-2)

        _, steps = train(binary, tmp, init, data, "bf16")
        _, bf16_losses, _ = torch_run(model_dir, ids, labels, "bf16")
        cmp.check("bf16 step losses vs torch autocast", [r["loss"] for r in steps], bf16_losses,
                  group="bf16 loss", rtol=1e-2, atol=0, elem_rtol=1e-2)
        return cmp.summary()


if __name__ == "__main__":
    ru.exit_with(main())
