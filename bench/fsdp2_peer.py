"""PyTorch FSDP2 on Hugging Face GPT2LMHeadModel: the peer multi_gpu_bench.py measures zerotune
against. One process per GPU, started by torchrun (or any launcher that sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR and MASTER_PORT).

`fully_shard` on each transformer block and on the root; MixedPrecisionPolicy with bf16
parameters and fp32 gradient reduction; fused AdamW; SDPA attention; dropout off. The rows come
from the token file zerotune trains on (input_ids, labels; -100 where no loss is taken), in
file order, B per rank per step: the same data and shapes, not zerotune's shuffle. Rank 0 writes the
median step time after the warm-up steps, per-GPU tokens/s and the peak allocated/reserved GiB
(torch.cuda.max_memory_allocated/reserved of rank 0) as JSON.

  torchrun --nproc-per-node 2 bench/fsdp2_peer.py --layers 48 --heads 25 --embd 1600 \
      --batch 8 --seq 1024 --tokens wikitext-1024.h5 --reshard-after-forward 1 --out r.json
"""

import argparse
import json
import os
import statistics
import time

import h5py
import torch
import torch.distributed as dist
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
from transformers import GPT2Config, GPT2LMHeadModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--embd", type=int, required=True)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--batch", type=int, required=True, help="micro batch per GPU")
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--tokens", required=True, help="zerotune prep output (input_ids, labels)")
    ap.add_argument("--reshard-after-forward", type=int, choices=[0, 1], default=1)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10, help="measured steps after the warm-up")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    cuda = args.device == "cuda"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")

    torch.manual_seed(0)  # the same initial weights on every rank before sharding
    cfg = GPT2Config(n_layer=args.layers, n_head=args.heads, n_embd=args.embd,
                     n_positions=max(1024, args.seq), vocab_size=args.vocab, resid_pdrop=0.0,
                     embd_pdrop=0.0, attn_pdrop=0.0, attn_implementation="sdpa")
    with device:
        net = GPT2LMHeadModel(cfg)
    assert net.config._attn_implementation == "sdpa", net.config._attn_implementation
    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16 if cuda else torch.float32,
                                  reduce_dtype=torch.float32)
    reshard = bool(args.reshard_after_forward)
    for block in net.transformer.h:
        fully_shard(block, mp_policy=policy, reshard_after_forward=reshard)
    fully_shard(net, mp_policy=policy, reshard_after_forward=reshard)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, fused=cuda)

    with h5py.File(args.tokens, "r") as f:
        rows = (args.warmup + args.steps) * args.batch * world
        ids = torch.from_numpy(f["input_ids"][:rows].astype("int64"))
        labels = torch.from_numpy(f["labels"][:rows].astype("int64"))
    if ids.shape[0] < rows:
        raise SystemExit(f"{args.tokens}: {ids.shape[0]} rows, the run needs {rows}")

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(args.warmup + args.steps):
        first = (step * world + rank) * args.batch
        x = ids[first:first + args.batch].to(device, non_blocking=True)
        y = labels[first:first + args.batch].to(device, non_blocking=True)
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = net(input_ids=x, labels=y).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
        if rank == 0:
            print(f"fsdp2 step {step + 1} loss={loss.item():.4f} ms={times[-1]:.1f}", flush=True)
    ms = statistics.median(times[args.warmup:])
    result = {"ms": ms, "tokens_per_s_per_gpu": args.batch * args.seq / (ms / 1e3),
              "steps_measured": len(times) - args.warmup, "world": world,
              "alloc_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0,
              "reserved_gib": torch.cuda.max_memory_reserved() / 2**30 if cuda else 0.0}
    if rank == 0:
        with open(args.out, "w") as f:
            json.dump(result, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
