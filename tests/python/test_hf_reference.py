"""zerotune's GPT-2 against Hugging Face transformers: loss, logits, every gradient, AdamW
steps and the exported model.

Builds a random GPT2LMHeadModel on the CPU (no downloads: eager attention, no dropout,
float32), writes its weights, a batch with ignored labels and AdamW settings, and runs
test_model's hf_reference case, which loads them with zerotune's readers, runs
Gpt2<float> forward/backward and AdamW steps, and writes its results. Compared here:
  - loss (Hugging Face's mean over non-ignored, shifted labels), logits, every gradient;
  - the losses and parameters of STEPS AdamW steps against torch.optim.AdamW with the two
    param groups Hugging Face Trainer builds (weight decay off for biases and LayerNorm);
  - the exported directory, loaded by GPT2LMHeadModel.from_pretrained().
"""

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
B, T = 3, 13      # T < n_positions: the last wpe rows get no gradient
ADAMW = dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, steps=3)


def make_model() -> GPT2LMHeadModel:
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=16, vocab_size=53,
                        attn_pdrop=0.0, resid_pdrop=0.0, embd_pdrop=0.0,
                        bos_token_id=52, eos_token_id=52)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).float()
    # GPT-2's init leaves biases at 0 and LayerNorm at (1, 0), which would hide a swapped or
    # ignored bias; give every tensor random values of a trained model's scale.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or "ln_f.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            else:
                p.copy_(0.08 * torch.randn_like(p))
    assert model.lm_head.weight is model.transformer.wte.weight, "head must stay tied"
    model.train()  # dropout is 0 anyway
    return model


def make_batch(vocab: int):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, vocab, (B, T), generator=g)
    labels = ids.clone()
    labels[torch.rand(B, T, generator=g) < 0.25] = -100   # scattered ignored labels
    labels[2, 8:] = -100                                  # a padded tail
    labels[1, 1] = -100
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


def main() -> int:
    ru.self_check(RTOL, ATOL)
    model = make_model()
    ids, labels = make_batch(model.config.vocab_size)
    counted = int((labels[:, 1:] != -100).sum())
    print(f"model: {sum(p.numel() for p in model.parameters())} parameters; batch {B}x{T}, "
          f"{counted} counted labels")

    with tempfile.TemporaryDirectory(prefix="zt-hf-") as tmp:
        exchange = Path(tmp)
        write_inputs(exchange, model, ids, labels)
        initial = {n: p.detach().clone() for n, p in model.named_parameters()}
        ru.run_cpp_case("test_model", "hf_reference", exchange)
        forward = load_file(str(exchange / "forward.safetensors"))
        stepped = load_file(str(exchange / "adamw.safetensors"))

        # Hugging Face forward/backward on the same weights and batch.
        out = model(input_ids=ids, labels=labels)
        out.loss.backward()
        cmp = ru.Comparison(RTOL, ATOL)
        print("forward and backward:")
        cmp.check("loss", forward["loss"], out.loss.detach().numpy(), group="loss")
        cmp.check("logits", forward["logits"], out.logits.detach().numpy(), group="logits")
        names = [n for n, _ in model.named_parameters()]
        grad_names = sorted(k[len("grad."):] for k in forward if k.startswith("grad."))
        if grad_names != sorted(names):
            cmp._fail("gradient names", f"{grad_names} != {sorted(names)}")
        for n, p in model.named_parameters():
            cmp.check("grad " + n, forward["grad." + n], p.grad.numpy(), group="gradients")

        # AdamW with Trainer's groups; gradients recomputed each step.
        groups, decay_names = decay_groups(model, ADAMW["weight_decay"])
        print(f"weight decay on: {sorted(decay_names)}")
        opt = torch.optim.AdamW(groups, lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
                                eps=ADAMW["eps"])
        losses = []
        for _ in range(ADAMW["steps"]):
            opt.zero_grad()
            loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            losses.append(loss.item())
            opt.step()
        print(f"AdamW: {ADAMW['steps']} steps:")
        cmp.check("losses", stepped["losses"], np.array(losses), group="adamw losses")
        bound = ADAMW["steps"] * ADAMW["lr"]  # Adam moves an element at most ~lr per step
        for n, p in model.named_parameters():
            got, want, p0 = stepped["param." + n], p.detach().numpy(), initial[n].numpy()
            keep = np.ones(want.shape, bool)
            if n.endswith("attn.c_attn.bias"):
                # The key bias adds q.b_k to every score of a row, which softmax ignores: its
                # gradient is 0 in exact arithmetic and rounding noise (~1e-9) in float32 on
                # both sides, which Adam scales up to steps of up to lr. Those elements are held
                # to the bound every Adam step obeys; the gradient check above covered them.
                C = model.config.n_embd
                keep[C:2 * C] = False
                cmp.check("key bias " + n, got[~keep] - p0[~keep], want[~keep] - p0[~keep],
                          group="adamw key bias", rtol=np.inf, atol=2 * bound)
            cmp.check("param " + n, got[keep], want[keep], group="adamw params")
            # The update alone, where an optimizer error is not hidden under |p|. Elements
            # whose gradient is near rounding noise make Adam's normalized step sensitive,
            # hence the looser elementwise bound.
            cmp.check("update " + n, got[keep] - p0[keep], want[keep] - p0[keep],
                      group="adamw updates", rtol=1e-4, elem_rtol=1e-3, atol=1e-7)

        # The export loads in transformers and computes what the stepped model computes.
        print("export loaded by GPT2LMHeadModel.from_pretrained():")
        exported, info = GPT2LMHeadModel.from_pretrained(
            exchange / "export", attn_implementation="eager", output_loading_info=True)
        problems = {k: v for k, v in info.items() if v and k != "missing_keys"}
        missing = [k for k in info.get("missing_keys", []) if k != "lm_head.weight"]
        if problems or missing:
            cmp._fail("export loading", f"{problems} missing={missing}")
        exported.eval()
        model.eval()
        with torch.no_grad():
            for n, p in exported.named_parameters():  # the file round trip is exact
                cmp.check("export " + n, p.numpy(), stepped["param." + n], group="export",
                          rtol=0, atol=0)
            cmp.check("export logits", exported(input_ids=ids).logits.numpy(),
                      model(input_ids=ids).logits.numpy(), group="export", rtol=1e-5)
        if exported.lm_head.weight.data_ptr() != exported.transformer.wte.weight.data_ptr():
            cmp._fail("export", "lm_head is not tied to wte after loading")
    return cmp.summary()


if __name__ == "__main__":
    ru.exit_with(main())
