#!/usr/bin/python3
"""Small models, tapegrad vs PyTorch side by side: per-step time of a training step, one thread.

The workloads (bench/bench_models.cpp for tapegrad; the same shapes, formulas and optimizers here):

  mlp         batch 256, 32 -> 64 -> 1: pred = tanh(X @ W1 + b1) @ W2 + b2, mse_loss(pred, Y), SGD(0.01, 0.9)
  mlp_meansq  the same with the loss written ((pred - Y)**2).mean()
  logreg      batch 256, 32 features, labels s in {-1, 1}: z = X @ w + b, log(1 + exp(-s * z)).mean(), Adam(0.01)
  lstsq       A 200x6, x 6x1 from zero: 0.5 * ((A @ x - b)**2).sum(), Adam(0.05)

A PyTorch step is opt.zero_grad(); loss = model(); loss.backward(); opt.step() (tapegrad's: tape.clear(),
record, opt.zero_grad(), tape.backward(loss), opt.step()). For each model and dtype this runs bench_models
(--benchmark_format=json, one OpenBLAS thread), then PyTorch in a fresh process limited to one thread, then
bench_models again, so that both see the same machine load; tapegrad's figure is the mean of the two
medians. PyTorch's worker gets OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1 before it imports torch and calls
torch.set_num_threads(1): set_num_threads alone leaves Debian's OpenBLAS on two threads (pytorch_bench.py).

  /usr/bin/python3 bench/pytorch_models.py --build build/perf [--reps 5] [--min-time 0.2] [--models mlp,lstsq]
"""
import argparse
import json
import os
import subprocess
import sys
import time

from side_by_side import main_or_worker, seconds, timed_repetitions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["mlp", "mlp_meansq", "logreg", "lstsq"]
TARGET = {"mlp": 2.5}  # the target: PyTorch / tapegrad at least this


# ---------------------------------------------------------------------------------------------- PyTorch
def time_loop(fn, min_time, reps):
    """Medians over `reps` repetitions of the mean (wall, CPU) seconds per call, each >= min_time, after
    warm-up. CPU is the process's (all threads; one thread here)."""
    t_end = time.perf_counter() + min(0.2, min_time)
    n = 0
    while n < 10 or time.perf_counter() < t_end:  # warm-up, and a first estimate of a call's time
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        n += 1
    iters = max(1, int(min_time / one))
    return (*timed_repetitions(fn, iters, reps), iters)


def torch_step(model, dtype):
    """The model's training step as a closure, and a function returning the current loss."""
    import torch
    F = torch.nn.functional
    g = torch.Generator().manual_seed(1)
    randn = lambda *s: torch.randn(*s, generator=g, dtype=dtype)

    def linear_init(r, c, fan_in):
        k = 1.0 / fan_in ** 0.5
        return ((torch.rand(r, c, generator=g, dtype=dtype) * 2 - 1) * k).requires_grad_()

    if model in ("mlp", "mlp_meansq"):
        X = randn(256, 32)
        Y = torch.sin(X @ randn(32, 1) / 32 ** 0.5)
        W1, b1, W2, b2 = linear_init(32, 64, 32), linear_init(1, 64, 32), linear_init(64, 1, 64), linear_init(1, 1, 64)
        params = [W1, b1, W2, b2]
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)

        def loss_fn():
            pred = torch.tanh(X @ W1 + b1) @ W2 + b2
            return F.mse_loss(pred, Y) if model == "mlp" else ((pred - Y) ** 2).mean()
    elif model == "logreg":
        X = randn(256, 32)
        s = torch.where(X @ randn(32, 1) >= 0, 1.0, -1.0).to(dtype)
        flip = torch.rand(256, 1, generator=g) < 0.1  # 10% of the labels flipped, as bench_models.cpp
        S = torch.where(flip, -s, s)
        w = torch.zeros(32, 1, dtype=dtype, requires_grad=True)
        b = torch.zeros(1, 1, dtype=dtype, requires_grad=True)
        opt = torch.optim.Adam([w, b], lr=0.01)

        def loss_fn():
            z = X @ w + b
            return torch.log(1 + torch.exp(-S * z)).mean()
    elif model == "lstsq":
        A = torch.cat([torch.ones(200, 1, dtype=dtype), randn(200, 5)], dim=1)
        x_true = torch.tensor([[0.5], [-1.0], [2.0], [0.0], [3.5], [-0.25]], dtype=dtype)
        bvec = A @ x_true + 0.1 * randn(200, 1)
        x = torch.zeros(6, 1, dtype=dtype, requires_grad=True)
        opt = torch.optim.Adam([x], lr=0.05)

        def loss_fn():
            return 0.5 * ((A @ x - bvec) ** 2).sum()
    else:
        raise ValueError(model)

    last = [None]

    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        last[0] = loss

    return step, lambda: float(last[0])


def worker(argv):
    model, dtype_name, min_time, reps = argv[0], argv[1], float(argv[2]), int(argv[3])
    os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported (the parent sets them too)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import torch
    torch.set_num_threads(1)
    dtype = {"f32": torch.float32, "f64": torch.float64}[dtype_name]
    step, loss = torch_step(model, dtype)
    wall, cpu, iters = time_loop(step, min_time, reps)
    print(json.dumps({"wall": wall, "cpu": cpu, "iters": iters, "loss": loss(), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


def torch_in_subprocess(model, dtype, min_time, reps):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", model, dtype, str(min_time), str(reps)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)


# --------------------------------------------------------------------------------------------- tapegrad
def tapegrad_bench(binary, model, dtype, min_time, reps):
    cmd = [binary, f"--benchmark_filter=^models/{model}/{dtype}$", "--benchmark_format=json",
           f"--benchmark_min_time={min_time}", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true", "--threads=1"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
    for b in out["benchmarks"]:
        if b.get("aggregate_name") == "median":
            return {"wall": seconds(b, "real_time"), "cpu": seconds(b, "cpu_time"), "allocs": b.get("allocs/iter"),
                    "loss": b.get("loss")}
    raise RuntimeError(f"no median for models/{model}/{dtype} in bench_models' output")


def us(s):
    return f"{s * 1e6:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/perf"), help="tapegrad build directory")
    ap.add_argument("--binary", help="bench_models to run (default: BUILD/bin/bench_models)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--dtypes", default="f32,f64")
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (the median is reported)")
    ap.add_argument("--json", help="also write the raw results to this file")
    a = ap.parse_args()

    binary = a.binary or os.path.join(a.build, "bin", "bench_models")
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: build it first (cmake --build {a.build} -j2 --target bench_models)")
    rows = []
    load0 = os.getloadavg()
    for dtype in a.dtypes.split(","):
        for model in a.models.split(","):
            before = tapegrad_bench(binary, model, dtype, a.min_time, a.reps)
            pt = torch_in_subprocess(model, dtype, a.min_time, a.reps)
            after = tapegrad_bench(binary, model, dtype, a.min_time, a.reps)
            tg = {k: (before[k] + after[k]) / 2 for k in ("wall", "cpu")}
            rows.append({"model": model, "dtype": dtype, "tg_before": before, "tg_after": after, "tg": tg, "pt": pt})
            print(f"  measured {model} {dtype}", file=sys.stderr, flush=True)
    load1 = os.getloadavg()

    torch_version = rows[0]["pt"]["torch"] if rows else "?"
    print(f"tapegrad bench_models vs PyTorch {torch_version}, one thread each; medians of {a.reps} repetitions of "
          f">= {a.min_time} s; load average before {load0[0]:.2f}, after {load1[0]:.2f}.")
    print("tapegrad's time is the mean of the runs right before and after PyTorch's (both shown). "
          "Ratio = PyTorch / tapegrad (> 1: tapegrad faster), by CPU time (wall in parentheses).\n")
    print("| model | dtype | tapegrad µs/step CPU (before / after) | PyTorch µs/step CPU | ratio PyTorch/tapegrad "
          "| tapegrad wall | PyTorch wall | allocs/step | final loss tapegrad / PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tg, pt, b, f = r["tg"], r["pt"], r["tg_before"], r["tg_after"]
        allocs = b["allocs"] if b["allocs"] is not None else "-"
        target = TARGET.get(r["model"].split("_")[0])
        mark = "" if target is None else (f" (target >= {target}x: {'met' if pt['cpu'] / tg['cpu'] >= target else 'not met'})")
        print(f"| {r['model']} | {r['dtype']} | {us(tg['cpu'])} ({us(b['cpu'])} / {us(f['cpu'])}) | {us(pt['cpu'])} "
              f"| {pt['cpu'] / tg['cpu']:.2f}x ({pt['wall'] / tg['wall']:.2f}x){mark} | {us(tg['wall'])} "
              f"| {us(pt['wall'])} | {allocs:g} | {b['loss']:.4g} / {pt['loss']:.4g} |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main_or_worker(main, worker)
