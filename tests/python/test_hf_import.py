"""`model.init: DIR` with a directory written by transformers' save_pretrained (sharded, bf16).

transformers builds a random GPT2LMHeadModel, casts it to bfloat16 and saves it with a small
max_shard_size, so the directory holds several model-0000K-of-0000N.safetensors files and
model.safetensors.index.json. Checked:
  - test_model's hf_directory/import_logits case loads it with zerotune's loader and runs
    Gpt2<float>; its logits must match transformers' on the same bf16 weights in float32;
  - `zerotune config` takes the shape from config.json; a disagreeing --set is exit 2 naming
    both values; another model_type is exit 2 listing the supported ones;
  - `zerotune train` starts from the directory and takes a step.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_util as ru  # noqa: E402

ZT = os.environ.get("ZEROTUNE_BINARY") or str(ru.build_dir() / "zerotune")
# vocab_size 257: the built-in synthetic corpus's byte tokens, so `zerotune train` can run.
SHAPE = dict(n_layer=2, n_head=2, n_embd=32, n_positions=16, vocab_size=257)


run = ru.run_expecting


def make_model():
    config = GPT2Config(**SHAPE, attn_pdrop=0.0, resid_pdrop=0.0, embd_pdrop=0.0,
                        bos_token_id=256, eos_token_id=256)
    torch.manual_seed(7)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # non-trivial biases and LayerNorm weights, as a trained model's
        for name, p in model.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            else:
                p.copy_(0.08 * torch.randn_like(p))
    return model.to(torch.bfloat16)


def main():
    ru.self_check(1e-5, 1e-6)
    failures = []
    with tempfile.TemporaryDirectory(prefix="zt-hf-import-") as tmp:
        tmp = Path(tmp)
        model = make_model()
        model.save_pretrained(tmp / "model", max_shard_size="40KB", safe_serialization=True)
        index = json.loads((tmp / "model" / "model.safetensors.index.json").read_text())
        shards = sorted(set(index["weight_map"].values()))
        print(f"save_pretrained wrote {len(shards)} bf16 shards")
        if len(shards) < 2:
            failures.append(f"expected a sharded directory, got {shards}")

        g = torch.Generator().manual_seed(5)
        ids = torch.randint(0, SHAPE["vocab_size"], (2, SHAPE["n_positions"]), generator=g)
        save_file({"input_ids": ids.to(torch.int32).contiguous()}, str(tmp / "inputs.safetensors"))
        ru.run_cpp_case("test_model", "hf_directory/import_logits", tmp)
        ours = load_file(str(tmp / "ours.safetensors"))["logits"]
        reference = model.float()
        reference.config._attn_implementation = "eager"
        with torch.no_grad():
            theirs = reference(input_ids=ids).logits.numpy()
        cmp = ru.Comparison(rtol=1e-5, atol=1e-6)
        cmp.check("bf16 sharded directory logits", ours, theirs)

        # The shape comes from config.json; the config names no shape key.
        cfg = tmp / "init.yaml"
        cfg.write_text(f"model:\n  init: {tmp / 'model'}\ntrain:\n  micro_batch_size: 2\n"
                       f"  global_batch_size: 2\n  max_steps: 1\ndata:\n  train_file: synthetic\n"
                       f"log:\n  every_n_steps: 1\nrun:\n  root: {tmp / 'runs'}\n")
        resolved = run([ZT, "config", "--config", str(cfg)]).stdout
        for key, value in [("n_layer", 2), ("n_head", 2), ("n_embd", 32), ("seq_len", 16),
                           ("vocab_size", 257)]:
            if f"  {key}: {value}\n" not in resolved:
                failures.append(f"resolved config lacks {key}: {value}")
        err = run([ZT, "config", "--config", str(cfg), "--set", "model.n_embd=64"], expect=2).stderr
        if "64" not in err or "n_embd 32" not in err or len(err.strip().splitlines()) != 1:
            failures.append(f"disagreeing n_embd: {err!r}")
        other = tmp / "llama"
        other.mkdir()
        (other / "config.json").write_text(json.dumps({"model_type": "llama", **SHAPE}))
        err = run([ZT, "config", "--config", str(cfg), "--set", f"model.init={other}"],
                  expect=2).stderr
        if "llama" not in err or "supported: gpt2" not in err:
            failures.append(f"other model_type: {err!r}")
        out = run([ZT, "train", "--config", str(cfg), "--run-dir", str(tmp / "run")]).stdout
        if "step=1/1" not in out:
            print(out)
            failures.append("train from the directory did not take its step")

        code = cmp.summary()
        for f in failures:
            print("FAIL " + f)
        ru.exit_with(1 if failures or code else 0)


if __name__ == "__main__":
    main()
