"""`zerotune export` and `checkpoint.export_hf` against transformers, safetensors and h5py.

Trains a tiny GPT-2 for a few steps on 2 ranks at ZeRO stage 3 with checkpoint.export_hf,
then exports the checkpoint again as bf16 in shards (with the GPT-2 tokenizer) and as fp16.
References, none of them zerotune's code:
  - h5py reads the checkpoint's global arrays (state.h5, or the per-rank files and the shard
    rule of shard_layout.hpp) and the layout order of gpt2_layout.hpp; every exported
    tensor must equal them exactly (fp32) or their torch rounding (bf16, fp16);
  - transformers loads each export with AutoModelForCausalLM.from_pretrained; its logits on
    random ids are compared with Gpt2<float> on the checkpoint (test_train's
    checkpoint_export/export_logits case);
  - AutoTokenizer loads the tokenizer files and gives GPT-2's published ids;
  - a foreign --out directory and a bad --dtype are refused with exit 2, files untouched.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_util as ru  # noqa: E402

ZT = os.environ.get("ZEROTUNE_BINARY") or str(ru.build_dir() / "zerotune")
SHARED = Path(os.environ.get("ZEROTUNE_SHARED_DATA") or
              Path(__file__).resolve().parents[3] / "shared" / "data")
SHAPE = dict(n_layer=2, n_head=2, n_embd=32, seq_len=16, vocab_size=257)
WORLD = 2


run = ru.run_expecting


def layout_names():
    """gpt2_layout.hpp's units and their tensors in flat-buffer order."""
    units = [("embeddings", ["wte.weight", "wpe.weight"])]
    for i in range(SHAPE["n_layer"]):
        p = f"h.{i}."
        units.append((f"h.{i}", [p + n for n in [
            "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
            "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
            "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]]))
    units.append(("ln_f", ["ln_f.weight", "ln_f.bias"]))
    return units


def checkpoint_arrays(ckpt: Path):
    """unit -> global flat params, read with h5py as checkpoint.hpp documents the files."""
    meta = json.loads((ckpt / "meta.json").read_text())
    out = {}
    for unit, _ in layout_names():
        name = f"/units/{unit}/params"
        if meta["layout"] == "shared":
            with h5py.File(ckpt / "state.h5", "r") as f:
                out[unit] = f[name][...]
            continue
        world = meta["world_size"]
        with h5py.File(ckpt / "state-rank-00000.h5", "r") as f:
            numel = f[name].shape[0]
        shard = -(-(-(-numel // world)) // 128) * 128  # round_up(ceil(numel / world), 128)
        values = np.zeros(numel, np.float32)
        for r in range(world):
            lo, hi = min(numel, r * shard), min(numel, (r + 1) * shard)
            with h5py.File(ckpt / f"state-rank-{r:05d}.h5", "r") as f:
                values[lo:hi] = f[name][lo:hi]
        out[unit] = values
    return out


def check_tensors(tag, export, arrays, dtype):
    import safetensors.torch as st
    failures = []
    if (export / "model.safetensors.index.json").exists():
        got = {}
        for file in sorted(set(json.loads(
                (export / "model.safetensors.index.json").read_text())["weight_map"].values())):
            got.update(st.load_file(str(export / file)))
    else:
        got = st.load_file(str(export / "model.safetensors"))
    expected_names = set()
    for unit, names in layout_names():
        flat = torch.from_numpy(arrays[unit])
        offset = 0
        for n in names:
            t = got.get("transformer." + n)
            expected_names.add("transformer." + n)
            if t is None:
                failures.append(f"{tag}: transformer.{n} missing")
                continue
            want = flat[offset:offset + t.numel()].reshape(t.shape).to(dtype)
            offset += t.numel()
            if t.dtype != dtype or not torch.equal(t, want):
                failures.append(f"{tag}: transformer.{n} differs from the checkpoint "
                                f"({t.dtype}, max diff {(t.float() - want.float()).abs().max()})")
        if offset != flat.numel():
            failures.append(f"{tag}: unit {unit} holds {flat.numel()} values, tensors {offset}")
    if set(got) != expected_names:
        failures.append(f"{tag}: unexpected tensors {sorted(set(got) - expected_names)}")
    print(f"  {'FAIL' if failures else 'ok  '} {tag}: {len(got)} tensors equal the checkpoint")
    return failures


def per_rank_copy(ckpt: Path, out: Path, world: int):
    """The checkpoint as a run of `world` ranks without parallel HDF5 writes it: each
    state-rank-NNNNN.h5 holds only its rank's shard of each dataset (the rest left unwritten),
    meta.json says layout per_rank. Made with h5py from the arrays, so the export's per-rank
    reader is checked whichever way this machine's HDF5 was built."""
    out.mkdir()
    meta = json.loads((ckpt / "meta.json").read_text())
    arrays = checkpoint_arrays(ckpt)
    source = ckpt / ("state.h5" if meta["layout"] == "shared" else "state-rank-00000.h5")
    with h5py.File(source, "r") as src:
        attrs = dict(src.attrs)
    for r in range(world):
        with h5py.File(out / f"state-rank-{r:05d}.h5", "w") as f:
            for k, v in attrs.items():
                f.attrs[k] = v
            for unit, values in arrays.items():
                numel = values.size
                shard = -(-(-(-numel // world)) // 128) * 128
                lo, hi = min(numel, r * shard), min(numel, (r + 1) * shard)
                d = f.create_dataset(f"/units/{unit}/params", (numel,), np.float32,
                                     chunks=(min(numel, 1 << 20),))
                d[lo:hi] = values[lo:hi]
    meta.update(layout="per_rank", world_size=world)
    (out / "meta.json").write_text(json.dumps(meta))
    return arrays


def main():
    ru.self_check(1e-5, 1e-6)
    with tempfile.TemporaryDirectory(prefix="zt-hf-export-") as tmp:
        tmp = Path(tmp)
        sets = [f"model.{k}={v}" for k, v in SHAPE.items()] + [
            "train.micro_batch_size=2", "train.global_batch_size=4", "train.max_steps=3",
            "train.warmup_steps=0", "zero.stage=3", "checkpoint.export_hf=true",
            "data.eval_max_samples=4", f"run.root={tmp}"]
        args = [os.environ.get("MPIEXEC", "mpiexec"), "-n", str(WORLD), ZT, "train",
                "--run-dir", str(tmp / "run")]
        for s in sets:
            args += ["--set", s]
        run(args)
        ckpt = tmp / "run" / "checkpoints" / (tmp / "run" / "checkpoints" / "latest").read_text().strip()
        arrays = checkpoint_arrays(ckpt)
        print(f"checkpoint {ckpt.name}: layout {json.loads((ckpt / 'meta.json').read_text())['layout']}")

        run([ZT, "export", "--checkpoint", str(tmp / "run"), "--out", str(tmp / "bf16"),
             "--dtype", "bf16", "--max-shard-size", "20KB", "--tokenizer",
             str(SHARED / "gpt2-tokenizer")])
        run([ZT, "export", "--checkpoint", str(ckpt), "--out", str(tmp / "fp16"),
             "--dtype", "fp16"])
        # A per-rank checkpoint of 3 ranks (uneven shards) exports the same values.
        per_rank = tmp / "per-rank" / "step-000003"
        per_rank.parent.mkdir()
        per_rank_copy(ckpt, per_rank, 3)
        run([ZT, "export", "--checkpoint", str(per_rank), "--out", str(tmp / "from-ranks")])
        exports = {"export_hf fp32": (tmp / "run" / "export", torch.float32),
                   "per-rank fp32": (tmp / "from-ranks", torch.float32),
                   "bf16 sharded": (tmp / "bf16", torch.bfloat16),
                   "fp16": (tmp / "fp16", torch.float16)}
        failures = []
        index = json.loads((tmp / "bf16" / "model.safetensors.index.json").read_text())
        shards = sorted(set(index["weight_map"].values()))
        if len(shards) < 2 or shards[0] != f"model-00001-of-{len(shards):05d}.safetensors":
            failures.append(f"bf16 export: expected several shards, got {shards}")
        for tag, (path, dtype) in exports.items():
            failures += check_tensors(tag, path, arrays, dtype)
            config = json.loads((path / "config.json").read_text())
            if config["torch_dtype"] != str(dtype).removeprefix("torch."):
                failures.append(f"{tag}: torch_dtype {config['torch_dtype']}")

        # Our logits from the checkpoint, transformers' from each export.
        g = torch.Generator().manual_seed(3)
        ids = torch.randint(0, SHAPE["vocab_size"], (3, SHAPE["seq_len"]), generator=g)
        save_file({"input_ids": ids.to(torch.int32).contiguous()}, str(tmp / "inputs.safetensors"))
        (tmp / "checkpoint.txt").write_text(str(ckpt) + "\n")
        ru.run_cpp_case("test_train", "checkpoint_export/export_logits", tmp)
        ours = load_file(str(tmp / "ours.safetensors"))["logits"]
        cmp = ru.Comparison(rtol=1e-5, atol=1e-6)
        # Rounding the weights to 8 (bf16) or 11 (fp16) significant bits moves the logits by
        # about that much relative to their scale.
        tolerance = {torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 1e-3}
        for tag, (path, dtype) in exports.items():
            model, info = AutoModelForCausalLM.from_pretrained(
                path, attn_implementation="eager", dtype=torch.float32,
                output_loading_info=True)
            problems = {k: v for k, v in info.items() if v and k != "missing_keys"}
            missing = [k for k in info.get("missing_keys", []) if k != "lm_head.weight"]
            if problems or missing:
                failures.append(f"{tag}: loading reported {problems} missing={missing}")
            with torch.no_grad():
                theirs = model(input_ids=ids).logits.numpy()
            cmp.check(f"{tag} logits", ours, theirs, rtol=tolerance[dtype],
                      elem_rtol=4 * tolerance[dtype])

        tok = AutoTokenizer.from_pretrained(tmp / "bf16")
        if tok("Hello world")["input_ids"] != [15496, 995] or tok.eos_token_id != 50256:
            failures.append(f"tokenizer: {tok('Hello world')['input_ids']} eos {tok.eos_token_id}")

        # Refusals: the user's directory stays as it was.
        mine = tmp / "mine"
        mine.mkdir()
        (mine / "notes.txt").write_text("keep")
        err = run([ZT, "export", "--checkpoint", str(ckpt), "--out", str(mine)], expect=2).stderr
        if (mine / "notes.txt").read_text() != "keep" or len(err.strip().splitlines()) != 1:
            failures.append(f"foreign --out: {err!r}")
        err = run([ZT, "export", "--checkpoint", str(ckpt), "--out", str(tmp / "x"),
                   "--dtype", "int8"], expect=2).stderr
        if "--dtype" not in err or (tmp / "x").exists():
            failures.append(f"bad --dtype: {err!r}")

        code = cmp.summary()
        for f in failures:
            print("FAIL " + f)
        ru.exit_with(1 if failures or code else 0)


if __name__ == "__main__":
    main()
