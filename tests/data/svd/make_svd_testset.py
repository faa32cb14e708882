#!/usr/bin/env python3
"""Test set for tapegrad's SVD-by-gradient-descent solver.

Run with Debian's python3-numpy:   /usr/bin/python3 make_svd_testset.py [OUT_DIR]   (default: this folder)

For each case writes OUT_DIR/<name>/M.csv (the matrix) and OUT_DIR/<name>/singular_values.csv
(one row, descending, np.linalg.svd(M, compute_uv=False), i.e. LAPACK's values, float64, all min(m,n) of them),
plus OUT_DIR/manifest.json describing every case.
CSV: comma-separated, no header, one matrix row per line, each number written with repr() (round-trip exact).
Every case draws from its own generator np.random.default_rng(k), k = the case's "seed" in the manifest.

Manifest facts (computed from LAPACK's singular values s, descending):
  numerical_rank   count of s_i > s_max * max(m,n) * eps(float64)
  min_rel_gap      min over consecutive pairs within the numerical rank of (s_i - s_{i+1}) / s_i (null if < 2 values)
  min_rel_gap_topk for top-k cases: the same over s_1..s_{k+1} (the gaps that matter for the top k)
  cond             s_max / s_min over the numerical rank (s_max / s_r)
  cond_full        s_max / s_min(m,n) including numerically-zero values (may be huge / inf)
  exact_singular_values  for constructed cases, the singular values put in by construction
"""
import json
import os
import sys

import numpy as np


def haar_orthonormal(rng, m, n):
    """m x n with orthonormal columns (m >= n), Haar-distributed (QR of a normal matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((m, n)))
    return q * np.sign(np.diag(r))


def constructed(rng, m, n, s):
    s = np.asarray(s, dtype=np.float64)
    k = len(s)
    q1 = haar_orthonormal(rng, m, k)
    q2 = haar_orthonormal(rng, n, k)
    return (q1 * s) @ q2.T


def write_csv(path, a):
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    with open(path, "w") as f:
        for row in a:
            f.write(",".join(repr(float(x)) for x in row) + "\n")


def facts(s, m, n, k=None):
    s = [float(x) for x in s]
    eps = float(np.finfo(np.float64).eps)
    tol = s[0] * max(m, n) * eps if s else 0.0
    r = sum(1 for x in s if x > tol)

    def min_gap(vals):
        if len(vals) < 2:
            return None
        return min((vals[i] - vals[i + 1]) / vals[i] for i in range(len(vals) - 1))

    out = {
        "numerical_rank": r,
        "min_rel_gap": min_gap(s[:r]),
        "cond": s[0] / s[r - 1] if r else None,
        "cond_full": (s[0] / s[-1]) if s[-1] > 0 else "inf",
    }
    if k is not None:
        out["min_rel_gap_topk"] = min_gap(s[:k + 1])
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    cases = []

    def add(name, seed, build, description, rank_requested=None, exact=None):
        rng = np.random.default_rng(seed)
        M, exact_s = build(rng)
        if exact is None:
            exact = exact_s
        M = np.ascontiguousarray(M, dtype=np.float64)
        m, n = M.shape
        s = np.linalg.svd(M, compute_uv=False)
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        write_csv(os.path.join(d, "M.csv"), M)
        write_csv(os.path.join(d, "singular_values.csv"), s.reshape(1, -1))
        entry = {"name": name, "shape": [m, n], "rank_requested": rank_requested, "seed": seed,
                 "description": description}
        entry.update(facts(s, m, n, rank_requested))
        if exact is not None:
            entry["exact_singular_values"] = [float(x) for x in exact]
        cases.append(entry)

    add("tall_8x5", 1, lambda r: (r.standard_normal((8, 5)), None), "8x5 standard normal entries")
    add("wide_4x9", 2, lambda r: (r.standard_normal((4, 9)), None), "4x9 standard normal entries (m < n)")
    add("square_6x6", 3, lambda r: (r.standard_normal((6, 6)), None), "6x6 standard normal entries")
    add("rank_deficient_7x5", 4,
        lambda r: (r.standard_normal((7, 3)) @ r.standard_normal((3, 5)), None),
        "rank 3: (7x3 normal) @ (3x5 normal); the two trailing singular values are LAPACK's ~1e-16, not exact zeros")
    add("scaled_up_6x4", 5, lambda r: (r.standard_normal((6, 4)) * 1e6, None),
        "6x4 standard normal times 1e6 (tests scale invariance)")
    add("scaled_down_6x4", 6, lambda r: (r.standard_normal((6, 4)) * 1e-6, None),
        "6x4 standard normal times 1e-6 (tests scale invariance)")
    add("row_1x7", 7, lambda r: (r.standard_normal((1, 7)), None), "single row 1x7: one singular value = its norm")
    add("col_9x1", 8, lambda r: (r.standard_normal((9, 1)), None), "single column 9x1: one singular value = its norm")
    s_close = [3.0, 2.0, 1.01, 1.0]
    add("close_sv_6x4", 9, lambda r: (constructed(r, 6, 4, s_close), s_close),
        "Q1 diag(3, 2, 1.01, 1) Q2^T, Q1 6x4 and Q2 4x4 random orthonormal (QR of normals): "
        "two singular values 1% apart")
    s_geo = list(np.geomspace(10.0, 0.1, 60))
    add("topk_120x60", 10, lambda r: (constructed(r, 120, 60, s_geo), s_geo),
        "Q1 diag(s) Q2^T, Q1 120x60 and Q2 60x60 random orthonormal, s geometric from 10 down to 0.1 over 60 values "
        "(ratio 100^(1/59) ~ 1.081, relative gaps ~7.5%); solve for the top 5 only",
        rank_requested=5)
    s_id = [5.0, 4.0, 3.0, 2.0, 1.0]
    add("square_identityish_5x5", 11, lambda r: (constructed(r, 5, 5, s_id), s_id),
        "diag(5,4,3,2,1) rotated: Q1 diag(5,4,3,2,1) Q2^T with random orthogonal Q1, Q2 (5x5)")

    manifest = {
        "generator": "tests/data/svd/make_svd_testset.py",
        "numpy_version": np.__version__,
        "files": "<name>/M.csv (matrix, one row per line), <name>/singular_values.csv (one row, descending, "
                 "np.linalg.svd(M, compute_uv=False) = LAPACK, min(m,n) values); CSV without header, repr() floats",
        "facts": "numerical_rank = #{s_i > s_max*max(m,n)*eps}; min_rel_gap = min (s_i - s_{i+1})/s_i over the "
                 "numerical rank (null if < 2 values); min_rel_gap_topk = same over s_1..s_{k+1}; cond = s_max/s_r; "
                 "cond_full = s_max/s_min(m,n) ('inf' if s_min = 0)",
        "cases": cases,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
