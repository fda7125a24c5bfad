#!/usr/bin/env python3
"""Projects the scaling efficiency of one training round (README "Scaling out: a cost model").

A round = H optimizer steps on every worker, then the exchange. Efficiency = compute / (compute + exchange):

  compute   H * t_step                                 (the workers step in parallel)
  down      pipelined tree broadcast of the round's input (Spark's TorrentBroadcast, 4 MB blocks):
            bytes_down / B + log2(W) * block / B
  up        Spark treeReduce, depth 2: about sqrt(W) results (bytes_up each) reach each of the sqrt(W)
            first-level reducers, whose float32 partial sums (4 n bytes) then reach the driver:
            sqrt(W) * (bytes_up + 4 n) / B
  fixed     Spark's per-round cost (job + two stages scheduled, results deserialized), measured here

Strategies (n parameters, m = 2 n AdamW moments):
  parameter_averaging with moments: down 4(n + m), up 4(n + m) per worker
  diloco, bfloat16 deltas:          down 4 n,      up 2 n per worker

Usage: round-cost-model.py [--fixed-s 0.19] [--small-step-s S] [--large-step-s S]
Plain Python 3, no packages. Every input is printed with the table.
"""
import argparse
import math

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--small-params", type=float, default=14.2e6)
p.add_argument("--large-params", type=float, default=113e6)
# GFLOP per optimizer step of a batch of 8 x 10 s (forward + backward + AdamW), counted for Small in
# issue 11's measurement (111 GFLOP); Large scales with the parameter count of the encoder layers.
p.add_argument("--small-gflop", type=float, default=111.0)
p.add_argument("--large-gflop", type=float, default=111.0 * 113 / 14.2)
# achieved FP32 throughput of one GPU executor (ND4J's CUDA 11.6 backend, no tensor cores):
# an assumption, about a third of an H100's 67 TFLOP/s FP32 peak
p.add_argument("--gpu-tflops", type=float, default=20.0)
p.add_argument("--fixed-s", type=float, default=0.19, help="Spark's fixed cost per round (measured: bench pretrain, tiny, local[2])")
p.add_argument("--block-mb", type=float, default=4.0)
a = p.parse_args()

models = {"Small": (a.small_params, a.small_gflop), "Large": (a.large_params, a.large_gflop)}
print(f"inputs: GPU {a.gpu_tflops} TFLOP/s FP32 achieved; fixed {a.fixed_s} s/round; broadcast blocks {a.block_mb} MB")
for name, (n, gflop) in models.items():
    print(f"  {name}: {n / 1e6:.1f} M parameters ({4 * n / 1e6:.0f} MB float32), {gflop:.0f} GFLOP/step -> t_step "
          f"{1e3 * gflop / (a.gpu_tflops * 1e3):.1f} ms")
print()
print("| model | link | strategy | H | MB down + up per worker | W=8 | W=64 | W=256 |")
print("|---|---|---|---|---|---|---|---|")
for name, (n, gflop) in models.items():
    t_step = gflop / (a.gpu_tflops * 1e3)
    for gbps in (10, 100):
        B = gbps * 1e9 / 8
        rows = [("parameter_averaging", 1), ("parameter_averaging", 4)] + [("diloco bf16", h) for h in (1, 4, 50, 500)]
        for strategy, h in rows:
            if strategy.startswith("parameter"):
                down = up = 4 * 3 * n
            else:
                down, up = 4 * n, 2 * n
            cells = []
            for w in (8, 64, 256):
                t_down = down / B + math.log2(w) * a.block_mb * 1e6 / B
                t_up = math.sqrt(w) * (up + 4 * n) / B
                compute = h * t_step
                cells.append(f"{100 * compute / (compute + t_down + t_up + a.fixed_s):.0f} %")
            print(f"| {name} | {gbps} Gb/s | {strategy} | {h} | {(down + up) / 1e6:.0f} | " + " | ".join(cells) + " |")
