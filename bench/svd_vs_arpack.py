#!/usr/bin/python3
"""tapegrad-svd's auto recipe against ARPACK (SciPy's svds) and LAPACK (NumPy's SVD), side by side, one thread.

Writes the matrices of the issue on SVD at real sizes (uniform [-1, 1) and a low-rank matrix with a spectrum
decaying over three decades plus noise; fixed NumPy seeds) as .npy files into a temporary directory, runs
`tapegrad-svd --json --quiet --threads 1 [--rank k]` on each (float64, default options), `svds(M, k)` (ARPACK,
its default tolerance) and `numpy.linalg.svd` on the same arrays, and prints one markdown table: wall seconds,
iterations, converged, the largest relative error of the k singular values against LAPACK's, tapegrad's peak
resident memory against the matrix's size, and the time ratio to svds.

  bench/svd_vs_arpack.py --tool build/ci/bin/tapegrad-svd [--only NAME] [--dtype float32] [--reps 3]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import json

# One thread for NumPy's BLAS and LAPACK, set before NumPy loads OpenBLAS.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
from scipy.sparse.linalg import svds  # noqa: E402


def uniform(m, n, seed):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(m, n))


def low_rank_plus_noise(m, n, rank, noise, seed):
    """U diag(σ) Vᵀ with σ decaying geometrically from 1 to 1e-3 over `rank` values, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, rank)))
    v, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    sigma = np.logspace(0, -3, rank)
    return (u * sigma) @ v.T + noise * rng.standard_normal((m, n)) / np.sqrt(max(m, n))


# name, matrix, k (None: the full SVD)
CASES = [
    ("uniform 60x40, full", lambda: uniform(60, 40, 1), None),
    ("uniform 200x100, k=10", lambda: uniform(200, 100, 2), 10),
    ("uniform 200x100, full", lambda: uniform(200, 100, 2), None),
    ("uniform 1000x500, k=10", lambda: uniform(1000, 500, 3), 10),
    ("rank-50 + 1e-4 noise 4000x1000, k=10", lambda: low_rank_plus_noise(4000, 1000, 50, 1e-4, 4), 10),
]


def best_of(reps, fn):
    best, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_tool(tool, path, k, dtype, timeout):
    cmd = [tool, "--json", "--quiet", "--threads", "1", "--dtype", dtype]
    if k is not None:
        cmd += ["--rank", str(k)]
    cmd.append(path)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"timeout": True, "wall": time.perf_counter() - t0, "maxrss": 0}
    wall = time.perf_counter() - t0
    # The child's own peak memory (ru_maxrss of the children reaped so far is the largest of them all).
    maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.strip()}")
    res = json.loads(out)
    res["wall"] = wall
    res["maxrss"] = maxrss_kb * 1024
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", default="build/ci/bin/tapegrad-svd")
    ap.add_argument("--only", default="", help="run only the cases whose name contains this")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--reps", type=int, default=3, help="best of this many runs of svds and LAPACK")
    ap.add_argument("--timeout", type=float, default=600, help="seconds before a tapegrad-svd run is stopped")
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, k in CASES:
            if args.only not in name:
                continue
            a = make()
            path = os.path.join(tmp, name.split(",")[0].replace(" ", "_") + ".npy")
            np.save(path, a)
            kk = k if k is not None else min(a.shape)
            t_lapack, s_ref = best_of(args.reps, lambda: np.linalg.svd(a, compute_uv=True, full_matrices=False)[1])
            s_ref = s_ref[:kk]
            if k is not None:
                t_svds, s_arp = best_of(args.reps, lambda: svds(a, k=k, random_state=0)[1])
                s_arp = np.sort(s_arp)[::-1]
                err_svds = np.max(np.abs(s_arp - s_ref) / s_ref)
            else:
                t_svds, err_svds = None, None
            print(f"running tapegrad-svd on {name} ...", file=sys.stderr, flush=True)
            res = run_tool(args.tool, path, k, args.dtype, args.timeout)
            if res.get("timeout"):
                rows.append((name, f"> {args.timeout:.0f} s (stopped)", "–", "no", "–", "–", t_svds, err_svds,
                             t_lapack, None))
                continue
            s_tg = np.array([np.nan if x is None else x for x in res["singular_values"]])
            err_tg = np.max(np.abs(s_tg - s_ref) / s_ref)
            mem = f"{res['maxrss'] / 2**20:.0f} MB = {res['maxrss'] / a.nbytes:.2f}x M"
            ratio = res["wall"] / t_svds if t_svds else None
            rows.append((name, f"{res['wall']:.3f} s", str(res["iterations"]), "yes" if res["converged"] else "no",
                         f"{err_tg:.1e}", mem, t_svds, err_svds, t_lapack, ratio))

    print(f"tapegrad-svd --dtype {args.dtype} --threads 1; svds and LAPACK best of {args.reps}, one thread\n")
    print("| matrix | tapegrad-svd | iterations | converged | max rel. error of σ | peak memory "
          "| svds (ARPACK) | svds error | LAPACK SVD | tapegrad / svds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, t, it, conv, err, mem, ts, es, tl, ratio in rows:
        ts_s = f"{ts:.3f} s" if ts is not None else "–"
        es_s = f"{es:.1e}" if es is not None else "–"
        r_s = f"{ratio:.1f}x" if ratio is not None else "–"
        print(f"| {name} | {t} | {it} | {conv} | {err} | {mem} | {ts_s} | {es_s} | {tl:.3f} s | {r_s} |")


if __name__ == "__main__":
    main()
