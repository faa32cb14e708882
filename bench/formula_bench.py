#!/usr/bin/python3
"""The seed loss's training step: literal formula and hand-fused graph against the hand-written floor.

Runs bench_formula (Google Benchmark, --benchmark_format=json) once over every variant, dtype and size, and
prints one markdown table per dtype and size: the median wall and CPU time per step of each variant, its
allocations per step and FLOP/s (the floor's FLOPs), and its ratio to formula/handwritten (by CPU time, the
steadier figure on a shared machine; wall in parentheses). The issue's floor: the literal formula within
1.10x of the hand-written gradient from 64x32 on, 1.3x at 5x4.

  bench/formula_bench.py --build build/perf [--reps 5] [--min-time 0.1] [--filter f32/64x32] [--json out.json]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ["handwritten", "literal_replay", "literal_rerecord", "unoptimized_replay", "unoptimized_rerecord",
            "fused_replay", "fused_rerecord"]
SIZES = ["5x4", "64x32", "256x128", "1024x512"]


def target(size):
    """The issue's bound on literal / handwritten at this size."""
    return 1.3 if size == "5x4" else 1.10


def fmt(us):
    return f"{us / 1e3:.2f} ms" if us >= 1e3 else f"{us:.2f} µs"


def run(binary, reps, min_time, filt):
    cmd = [binary, "--benchmark_format=json", f"--benchmark_repetitions={reps}",
           f"--benchmark_min_time={min_time}", "--benchmark_report_aggregates_only=true",
           # Repetitions of every variant interleaved at random: each sees the same spread of machine load.
           "--benchmark_enable_random_interleaving=true",
           f"--benchmark_filter=^formula/.*{filt}"]
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    res = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        _, variant, dtype, size = b["run_name"].split("/")
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
        res[(dtype, size, variant)] = {"wall_us": b["real_time"] * scale, "cpu_us": b["cpu_time"] * scale,
                                       "flops": b.get("FLOP/s"), "allocs": b.get("allocs/iter")}
    return data.get("context", {}), res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build/perf"), help="tapegrad build directory")
    ap.add_argument("--binary", help="bench_formula to run (default: BUILD/bin/bench_formula)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (the median is reported)")
    ap.add_argument("--min-time", type=float, default=0.1, help="seconds per repetition (Google Benchmark's)")
    ap.add_argument("--filter", default="", help="a regex appended to ^formula/.* (e.g. f32/64x32)")
    ap.add_argument("--json", help="also write the medians to this file")
    a = ap.parse_args()

    binary = a.binary or os.path.join(a.build, "bin", "bench_formula")
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: build it first (cmake --build {a.build} -j2 --target bench_formula)")
    load0 = os.getloadavg()
    ctx, res = run(binary, a.reps, a.min_time, a.filter)
    load1 = os.getloadavg()

    print(f"bench_formula: {a.reps} repetitions of >= {a.min_time} s, medians; "
          f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
          f"OpenBLAS threads {ctx.get('openblas_threads', '?')}; "
          f"load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    print("Ratios are variant / handwritten by CPU time (wall in parentheses); < 1 is faster than the floor.\n")
    summary = []
    for dtype in ["f32", "f64"]:
        for size in SIZES:
            floor = res.get((dtype, size, "handwritten"))
            if floor is None:
                continue
            print(f"### {dtype} {size}\n")
            print("| variant | wall / step | CPU / step | / handwritten | GFLOP/s | allocs/step |")
            print("|---|---|---|---|---|---|")
            for v in VARIANTS:
                r = res.get((dtype, size, v))
                if r is None:
                    continue
                ratio = r["cpu_us"] / floor["cpu_us"]
                ratio_wall = r["wall_us"] / floor["wall_us"]
                allocs = "-" if r["allocs"] is None else f"{r['allocs']:.2f}".rstrip("0").rstrip(".")
                print(f"| {v} | {fmt(r['wall_us'])} | {fmt(r['cpu_us'])} | {ratio:.2f}x ({ratio_wall:.2f}x) "
                      f"| {(r['flops'] or 0) / 1e9:.1f} | {allocs} |")
            print()
            row = {"dtype": dtype, "size": size}
            for v in VARIANTS[1:]:
                if (dtype, size, v) in res:
                    row[v] = res[(dtype, size, v)]["cpu_us"] / floor["cpu_us"]
            summary.append(row)

    print("### Summary: CPU time / handwritten (the issue's bound: literal <= 1.10x from 64x32 on, 1.3x at 5x4)\n")
    print("| dtype | size | bound | " + " | ".join(VARIANTS[1:]) + " | literal within bound |")
    print("|---|---|---|" + "---|" * len(VARIANTS[1:]) + "---|")
    for row in summary:
        cells = " | ".join(f"{row[v]:.2f}x" if v in row else "-" for v in VARIANTS[1:])
        lit = [row[v] for v in ("literal_replay", "literal_rerecord") if v in row]
        ok = "yes" if lit and max(lit) <= target(row["size"]) else "no"
        print(f"| {row['dtype']} | {row['size']} | {target(row['size']):.2f}x | {cells} | {ok} |")

    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"dtype": k[0], "size": k[1], "variant": k[2], **v} for k, v in res.items()], f, indent=1)


if __name__ == "__main__":
    main()
