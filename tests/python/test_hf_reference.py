"""zerotune's GPT-2 against Hugging Face transformers: loss, logits, every gradient, AdamW
steps and the exported model.

Builds a random GPT2LMHeadModel on the CPU (no downloads: eager attention, no dropout,
float32), writes its weights, a batch with ignored labels and AdamW settings, and runs
test_model's hf_reference case, which loads them with zerotune's readers, runs
Gpt2<float> forward/backward and AdamW steps, and writes its results. Compared here:
  - loss (Hugging Face's mean over non-ignored, shifted labels), logits, every gradient, in
    float32 (Gpt2<float>) and in float64 (Gpt2<double> against the model in double);
  - the losses and parameters of 3 AdamW steps against torch.optim.AdamW with the two
    param groups Hugging Face Trainer builds (weight decay off for biases and LayerNorm);
  - the exported directory, loaded by GPT2LMHeadModel.from_pretrained().
"""

import copy
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_util as ru  # noqa: E402

RTOL = 1e-5       # norm-based relative error per tensor
ATOL = 1e-7       # elementwise, on top of RTOL * max|reference|, for (near) zero tensors
RTOL64 = 1e-11    # the same comparison of Gpt2<double> with Hugging Face in float64
ILL_CONDITIONED = 1e-4  # |g| / max|g| below which Adam's step is set by rounding noise
# eps 1e-6 rather than 1e-8: with 1e-8, an element whose true gradient happens to be ~1e-8
# gets float32 gradients of either sign on the two sides and an arbitrary step of up to lr,
# which changes every later gradient (seen on some seeds). With 1e-6 such steps stay ~1e-2 lr.
ADAMW = dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.1, steps=3)

# Two shapes: a small one with T < n_positions (the last wpe rows get no
# gradient), and a deeper one with more heads and T = n_positions.
CONFIGS = [
    dict(tag="L2H2", n_layer=2, n_head=2, n_embd=32, n_positions=16, vocab_size=53, B=3, T=13,
         seed=0),
    dict(tag="L3H4", n_layer=3, n_head=4, n_embd=48, n_positions=16, vocab_size=61, B=2, T=16,
         seed=1),
]


def make_model(cfg) -> GPT2LMHeadModel:
    config = GPT2Config(n_layer=cfg["n_layer"], n_head=cfg["n_head"], n_embd=cfg["n_embd"],
                        n_positions=cfg["n_positions"], vocab_size=cfg["vocab_size"],
                        attn_pdrop=0.0, resid_pdrop=0.0, embd_pdrop=0.0,
                        bos_token_id=cfg["vocab_size"] - 1, eos_token_id=cfg["vocab_size"] - 1)
    config._attn_implementation = "eager"
    torch.manual_seed(cfg["seed"])
    model = GPT2LMHeadModel(config).float()
    # GPT-2's init leaves biases at 0 and LayerNorm at (1, 0), which would hide a swapped or
    # ignored bias; give every tensor random values of a trained model's scale.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            else:
                p.copy_(0.08 * torch.randn_like(p))
    assert model.lm_head.weight is model.transformer.wte.weight, "head must stay tied"
    model.train()  # dropout is 0 anyway
    return model


def make_batch(cfg):
    B, T = cfg["B"], cfg["T"]
    g = torch.Generator().manual_seed(cfg["seed"] + 100)
    ids = torch.randint(0, cfg["vocab_size"], (B, T), generator=g)
    labels = ids.clone()
    labels[torch.rand(B, T, generator=g) < 0.25] = -100   # scattered ignored labels
    labels[B - 1, T - 5:] = -100                          # a padded tail
    labels[0, 1] = -100
    return ids, labels


def decay_groups(model, weight_decay):
    """The two param groups of Hugging Face Trainer.create_optimizer."""
    decay_names = set(Trainer.get_decay_parameter_names(None, model))
    named = list(model.named_parameters())
    decay = [p for n, p in named if n in decay_names]
    rest = [p for n, p in named if n not in decay_names]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}], decay_names


def write_inputs(exchange: Path, model, ids, labels):
    model.config.save_pretrained(exchange)
    # The tied head is written too (as Hugging Face's own files may hold it): the loader must
    # ignore it. The safetensors library refuses shared storage, hence the clones.
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    assert "lm_head.weight" in state
    save_file(state, str(exchange / "model.safetensors"), metadata={"format": "pt"})
    save_file({"input_ids": ids.contiguous(), "labels": labels.contiguous()},  # int64
              str(exchange / "batch.safetensors"))
    (exchange / "adamw.json").write_text(json.dumps(ADAMW))


def check_float64(cmp, tag, model, ids, labels, ours):
    """Gpt2<double> against Hugging Face in float64 on the same (float32) weights. Hugging
    Face's loss function casts logits to float32 (ForCausalLMLoss), so the same loss, the
    mean over labels shifted by one, is taken here in float64."""
    model64 = copy.deepcopy(model).double()
    logits = model64(input_ids=ids).logits
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, model.config.vocab_size), labels[:, 1:].reshape(-1),
        ignore_index=-100, reduction="mean")
    loss.backward()
    print(f"[{tag}] forward and backward in float64:")
    group = "float64 loss, logits, gradients"
    cmp.check(f"{tag} f64 loss", ours["loss"], loss.detach().numpy(), group, RTOL64, 0)
    cmp.check(f"{tag} f64 logits", ours["logits"], logits.detach().numpy(), group, RTOL64, 0)
    for n, p in model64.named_parameters():
        cmp.check(f"{tag} f64 grad {n}", ours["grad." + n], p.grad.numpy(), group, RTOL64, 1e-15)


def check_float32(cmp, tag, model, ids, labels, ours):
    """Gpt2<float> against Hugging Face's own loss (its mean over shifted labels)."""
    out = model(input_ids=ids, labels=labels)
    out.loss.backward()
    print(f"[{tag}] forward and backward in float32:")
    cmp.check(f"{tag} loss", ours["loss"], out.loss.detach().numpy(), group="float32 loss")
    cmp.check(f"{tag} logits", ours["logits"], out.logits.detach().numpy(),
              group="float32 logits")
    names = sorted(n for n, _ in model.named_parameters())
    grad_names = sorted(k[len("grad."):] for k in ours if k.startswith("grad."))
    if grad_names != names:
        cmp._fail(f"{tag} gradient names", f"{grad_names} != {names}")
    for n, p in model.named_parameters():
        cmp.check(f"{tag} grad {n}", ours["grad." + n], p.grad.numpy(), group="float32 gradients")


def check_adamw(cmp, tag, model, ids, labels, initial, ours):
    """STEPS of torch.optim.AdamW with Trainer's groups, gradients recomputed each step.

    Adam divides each gradient by its own running magnitude, so an element whose gradient is
    at float32's noise floor at some step (relative to the tensor's largest, or near eps)
    takes a step set by rounding noise, up to lr, on either side. Such elements: the key
    bias, whose gradient is 0 in exact arithmetic (q.b_k shifts a whole softmax row), and any
    element with |g| < ILL_CONDITIONED * max|g| at some step. They are held to the bound
    every Adam step obeys (|update| <= lr per step); the gradient checks above already
    compared their gradients. All other elements are compared tightly."""
    groups, decay_names = decay_groups(model, ADAMW["weight_decay"])
    print(f"[{tag}] weight decay on: {sorted(decay_names)}")
    opt = torch.optim.AdamW(groups, lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
                            eps=ADAMW["eps"])
    params = dict(model.named_parameters())
    well_conditioned = {n: np.ones(p.shape, bool) for n, p in params.items()}
    C = model.config.n_embd
    for n in params:
        if n.endswith("attn.c_attn.bias"):
            well_conditioned[n][C:2 * C] = False
    losses = []
    for _ in range(ADAMW["steps"]):
        opt.zero_grad()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        losses.append(loss.item())
        for n, p in params.items():
            g = np.abs(p.grad.numpy())
            # An exact 0 (wpe rows past T) is no noise: both sides must leave it at 0.
            well_conditioned[n] &= (g >= ILL_CONDITIONED * g.max()) | (g == 0)
        opt.step()
    print(f"[{tag}] AdamW, {ADAMW['steps']} steps:")
    cmp.check(f"{tag} losses", ours["losses"], np.array(losses), group="adamw losses")
    bound = ADAMW["steps"] * ADAMW["lr"]
    excluded = 0
    for n, p in params.items():
        got, want, p0 = ours["param." + n], p.detach().numpy(), initial[n].numpy()
        keep = well_conditioned[n]
        if not keep.all():
            excluded += int((~keep).sum())
            cmp.check(f"{tag} noise-driven {n}", got[~keep] - p0[~keep], want[~keep] - p0[~keep],
                      group="adamw noise-driven elements", rtol=np.inf, atol=2 * bound, quiet=True)
        cmp.check(f"{tag} param {n}", got[keep], want[keep], group="adamw params")
        # The update alone, where an optimizer error is not hidden under |p|. An element's
        # step error scales as (gradient rounding) / |g|, hence the looser elementwise bound.
        cmp.check(f"{tag} update {n}", got[keep] - p0[keep], want[keep] - p0[keep],
                  group="adamw updates", rtol=1e-4, elem_rtol=1e-3, atol=1e-7)
    total = sum(p.numel() for p in params.values())
    print(f"[{tag}] {excluded} of {total} elements noise-driven (held to |update| <= 2*lr*steps)")


def check_export(cmp, tag, export_dir, model, ids, ours):
    """The exported directory loads in transformers and computes what the stepped model does."""
    print(f"[{tag}] export loaded by GPT2LMHeadModel.from_pretrained():")
    exported, info = GPT2LMHeadModel.from_pretrained(
        export_dir, attn_implementation="eager", output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k != "missing_keys"}
    missing = [k for k in info.get("missing_keys", []) if k != "lm_head.weight"]
    if problems or missing:
        cmp._fail(f"{tag} export loading", f"{problems} missing={missing}")
    if exported.lm_head.weight.data_ptr() != exported.transformer.wte.weight.data_ptr():
        cmp._fail(f"{tag} export", "lm_head is not tied to wte after loading")
    exported.eval()
    model.eval()
    with torch.no_grad():
        for n, p in exported.named_parameters():  # the file round trip is exact
            cmp.check(f"{tag} export {n}", p.numpy(), ours["param." + n], group="export",
                      rtol=0, atol=0)
        # Logits of the export against those of torch's stepped model: what the trajectories'
        # rounding differences (params above, ~1e-6) do to the function.
        cmp.check(f"{tag} export logits", exported(input_ids=ids).logits.numpy(),
                  model(input_ids=ids).logits.numpy(), group="export logits", rtol=1e-4)


def run_config(cmp, cfg):
    tag = cfg["tag"]
    model = make_model(cfg)
    ids, labels = make_batch(cfg)
    counted = int((labels[:, 1:] != -100).sum())
    print(f"[{tag}] {sum(p.numel() for p in model.parameters())} parameters, batch "
          f"{cfg['B']}x{cfg['T']}, {counted} counted labels")
    with tempfile.TemporaryDirectory(prefix="zt-hf-") as tmp:
        exchange = Path(tmp)
        write_inputs(exchange, model, ids, labels)
        initial = {n: p.detach().clone() for n, p in model.named_parameters()}
        ru.run_cpp_case("test_model", "hf_reference", exchange)
        forward64 = load_file(str(exchange / "forward_f64.safetensors"))
        forward32 = load_file(str(exchange / "forward_f32.safetensors"))
        stepped = load_file(str(exchange / "adamw.safetensors"))
        check_float64(cmp, tag, model, ids, labels, forward64)
        check_float32(cmp, tag, model, ids, labels, forward32)
        check_adamw(cmp, tag, model, ids, labels, initial, stepped)
        check_export(cmp, tag, exchange / "export", model, ids, stepped)


def main() -> int:
    ru.self_check(RTOL, ATOL)
    cmp = ru.Comparison(RTOL, ATOL)
    for cfg in CONFIGS:
        run_config(cmp, cfg)
    return cmp.summary()


if __name__ == "__main__":
    ru.exit_with(main())
