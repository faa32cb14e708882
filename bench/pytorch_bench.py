#!/usr/bin/python3
"""tapegrad vs PyTorch, side by side in one run: the SVD seed workload's step and backward pass.

Runs with Debian's /usr/bin/python3 (python3-torch 1.13, numpy). For each size it times, one right after
the other so that both see the same machine load:

  * tapegrad: bench_svd (Google Benchmark, --benchmark_format=json), seed_step/<dtype>/<size> and
    svd_backward/<dtype>/<size>, with --threads 1 (and 2);
  * PyTorch: the notebook's loss
        mse(U @ diag(d*d) @ V.T, M) + mse(U.T @ U, I)/100 + mse(V @ V.T, I)/100
    with zero_grad / backward / SGD(lr, momentum=0.9).step() per step, and backward alone
    (retain_graph=True), with torch.set_num_threads(1) and (2);

then prints a table of per-step medians and the ratios PyTorch / tapegrad, and, if the CLI is built,
seconds / iterations of `tapegrad-svd --recipe seed --json` on the seed matrix M1 (20,000 steps).

  /usr/bin/python3 bench/pytorch_bench.py --build build/perf [--dtypes f32,f64] [--sizes 5x4,64x32]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from side_by_side import main_or_worker, seconds, timed_repetitions

SIZES = [(5, 4), (64, 32), (256, 128), (1024, 512)]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lr_for(m):
    # As bench_svd.cpp: the notebook's lr at 5x4; a small one keeps large problems finite (same work).
    return 0.9 if m <= 5 else 1e-6


def torch_problem(m, n, dtype):
    rng = np.random.default_rng(m * 1000 + n)
    t = lambda r, c: torch.tensor(rng.random((r, c)), dtype=dtype)
    M = t(m, n)
    U = t(m, n).requires_grad_()
    d = t(1, n).reshape(n).requires_grad_()
    V = t(n, n).requires_grad_()
    return M, U, d, V, torch.eye(n, dtype=dtype)


def seed_loss(M, U, d, V, I):
    mse = torch.nn.functional.mse_loss
    return mse(U @ torch.diag(d * d) @ V.T, M) + mse(U.T @ U, I) / 100 + mse(V @ V.T, I) / 100


def time_loop(fn, min_time, reps):
    """Medians over `reps` repetitions of the mean (wall, CPU) seconds per call, each repetition >= min_time.

    CPU is the process's CPU time (all threads): with one thread it matches Google Benchmark's cpu_time and
    is the steadier figure on a shared machine (it excludes time spent waiting for a core); with 2 threads
    compare wall times."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return timed_repetitions(fn, max(1, int(min_time / one)), reps)


def torch_seed_step(m, n, dtype, min_time, reps):
    M, U, d, V, I = torch_problem(m, n, dtype)
    opt = torch.optim.SGD([U, d, V], lr=lr_for(m), momentum=0.9)

    def step():
        opt.zero_grad()
        loss = seed_loss(M, U, d, V, I)
        loss.backward()
        opt.step()

    return time_loop(step, min_time, reps)


def torch_backward(m, n, dtype, min_time, reps):
    M, U, d, V, I = torch_problem(m, n, dtype)
    loss = seed_loss(M, U, d, V, I)

    def back():
        loss.backward(retain_graph=True)

    return time_loop(back, min_time, reps)


def torch_in_subprocess(dtype, m, n, threads, min_time, reps):
    """PyTorch's step and backward in a fresh process limited to `threads` threads.

    torch.set_num_threads alone does not reach Debian's OpenBLAS (a 1024x512x512 product runs on two
    threads after set_num_threads(1)), so the worker also gets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", dtype, str(m), str(n), str(threads),
           str(min_time), str(reps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    j = json.loads(out)
    return tuple(j["step"]), tuple(j["backward"])


def worker(argv):
    dtype, m, n, threads, min_time, reps = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4]), int(
        argv[5])
    torch.set_num_threads(threads)
    tdt = {"f32": torch.float32, "f64": torch.float64}[dtype]
    print(json.dumps({"step": torch_seed_step(m, n, tdt, min_time, reps),
                      "backward": torch_backward(m, n, tdt, min_time, reps)}))


def tapegrad_bench(binary, dtype, size, threads, min_time, reps, threads_flag=True):
    """seed_step and svd_backward medians (seconds) from one bench_svd run.

    Threads go through bench_svd's --threads (openblas_set_num_threads) and OPENBLAS_NUM_THREADS (for
    binaries from before --threads existed: --env-threads)."""
    name = {"f32": "f32", "f64": "f64"}[dtype]
    filt = f"^(seed_step|svd_backward)/{name}/{size}$"
    cmd = [binary, f"--benchmark_filter={filt}", "--benchmark_format=json",
           f"--benchmark_min_time={min_time}", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true"] + ([f"--threads={threads}"] if threads_flag else [])
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        kind = b["run_name"].split("/")[0]
        res[kind] = {"real": seconds(b, "real_time"), "cpu": seconds(b, "cpu_time"),
                     "flops": b.get("FLOP/s"), "allocs": b.get("allocs/iter")}
    return res


def cli_seconds_per_iteration(cli, threads, runs=3):
    data = os.path.join(ROOT, "tests/data/seed/svd/M1")
    cmd = [cli, "--recipe", "seed", "--json", "--init-dir", data, os.path.join(data, "M.csv")]
    if threads:
        cmd += ["--threads", str(threads)]
    per = []
    for _ in range(runs):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        j = json.loads(out.strip().splitlines()[-1])
        per.append(j["seconds"] / j["iterations"])
    return statistics.median(per)


def fmt(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/perf"), help="tapegrad build directory")
    ap.add_argument("--dtypes", default="f32", help="comma list of f32,f64")
    ap.add_argument("--sizes", default=",".join(f"{m}x{n}" for m, n in SIZES))
    ap.add_argument("--threads", default="1,2", help="comma list of thread counts")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per repetition")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (the median is reported)")
    ap.add_argument("--no-cli", action="store_true", help="skip the tapegrad-svd measurement")
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--bench-binary", help="bench_svd to run (default: BUILD/bin/bench_svd)")
    ap.add_argument("--env-threads", action="store_true",
                    help="set tapegrad's threads by OPENBLAS_NUM_THREADS only (a bench_svd without --threads)")
    a = ap.parse_args()

    binary = a.bench_binary or os.path.join(a.build, "bin", "bench_svd")
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: build it first (cmake --build {a.build} -j2 --target bench_svd)")
    threads = [int(t) for t in a.threads.split(",")]
    rows = []
    load0 = os.getloadavg()
    for dtype in a.dtypes.split(","):
        for size in a.sizes.split(","):
            m, n = (int(x) for x in size.split("x"))
            for th in threads:
                # Side by side: tapegrad, then PyTorch, at the same size and thread count.
                tg = tapegrad_bench(binary, dtype, size, th, a.min_time, a.reps, not a.env_threads)
                pt_step, pt_back = torch_in_subprocess(dtype, m, n, th, a.min_time, a.reps)
                rows.append({"dtype": dtype, "size": size, "threads": th,
                             "tg_step": tg["seed_step"]["real"], "tg_step_cpu": tg["seed_step"]["cpu"],
                             "tg_back": tg["svd_backward"]["real"], "tg_back_cpu": tg["svd_backward"]["cpu"],
                             "tg_flops": tg["seed_step"]["flops"], "tg_allocs": tg["seed_step"]["allocs"],
                             "pt_step": pt_step[0], "pt_step_cpu": pt_step[1],
                             "pt_back": pt_back[0], "pt_back_cpu": pt_back[1]})
                print(f"  measured {dtype} {size} threads={th}", file=sys.stderr, flush=True)

    print(f"load average before/after: {load0} / {os.getloadavg()}")
    print("Per step (wall / CPU), medians; ratio = PyTorch / tapegrad "
          "(> 1: tapegrad faster). On a shared machine trust CPU at 1 thread and wall at 2 threads.")
    print("| dtype | size | thr | tapegrad step | PyTorch step | step ratio wall / CPU "
          "| tapegrad backward | PyTorch backward | backward ratio wall / CPU | tapegrad GFLOP/s | allocs/step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dtype']} | {r['size']} | {r['threads']} "
              f"| {fmt(r['tg_step'])} / {fmt(r['tg_step_cpu'])} | {fmt(r['pt_step'])} / {fmt(r['pt_step_cpu'])} "
              f"| {r['pt_step'] / r['tg_step']:.1f}x / {r['pt_step_cpu'] / r['tg_step_cpu']:.1f}x "
              f"| {fmt(r['tg_back'])} / {fmt(r['tg_back_cpu'])} | {fmt(r['pt_back'])} / {fmt(r['pt_back_cpu'])} "
              f"| {r['pt_back'] / r['tg_back']:.1f}x / {r['pt_back_cpu'] / r['tg_back_cpu']:.1f}x "
              f"| {(r['tg_flops'] or 0) / 1e9:.1f} | {r['tg_allocs'] if r['tg_allocs'] is not None else '-'} |")

    # 2 threads vs 1 at each size (wall), when both were measured.
    by = {(r["dtype"], r["size"], r["threads"]): r for r in rows}
    for (dt, size, th), r in by.items():
        one = by.get((dt, size, 1))
        if th == 2 and one:
            print(f"2 vs 1 thread (wall), {dt} {size}: tapegrad {one['tg_step'] / r['tg_step']:.2f}x, "
                  f"PyTorch {one['pt_step'] / r['pt_step']:.2f}x")

    if not a.no_cli:
        cli = os.path.join(a.build, "bin", "tapegrad-svd")
        if os.path.exists(cli):
            per = cli_seconds_per_iteration(cli, 1)
            print(f"tapegrad-svd --recipe seed --json --threads 1 (M1 5x4, 20000 SGD steps): "
                  f"{fmt(per)} per iteration (seconds / iterations, median of 3 runs)")
            rows.append({"cli_seconds_per_iteration": per})
        else:
            print(f"{cli} not built: CLI line skipped")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main_or_worker(main, worker)
