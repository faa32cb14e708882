"""What bench/pytorch_bench.py and bench/pytorch_models.py share: timing a call in repetitions, Google Benchmark's
JSON times in seconds, and the scripts' entry point (the parent, or with --worker the PyTorch side in a fresh
process). It imports neither torch nor numpy: a worker sets its thread variables before importing torch."""
import statistics
import sys
import time


def timed_repetitions(fn, iters, reps):
    """Medians over `reps` repetitions of `iters` calls of the mean (wall, CPU) seconds per call; CPU is the
    process's CPU time (all threads)."""
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            fn()
        wall.append((time.perf_counter() - t0) / iters)
        cpu.append((time.process_time() - c0) / iters)
    return statistics.median(wall), statistics.median(cpu)


def seconds(benchmark, key):
    """A time of one benchmark of Google Benchmark's JSON output ("real_time", "cpu_time") in seconds."""
    return benchmark[key] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[benchmark["time_unit"]]


def main_or_worker(main, worker):
    """worker(arguments after --worker) when the script is run with --worker first, else main()."""
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
    else:
        main()
