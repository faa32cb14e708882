#!/usr/bin/env python3
"""The hard-matrix set (tests/svd/test_hard.cpp): small matrices whose singular values are known.

Each case is NAME.npy (float64) and NAME.s.csv (its singular values, descending, one row, 17 digits), listed in
cases.txt. Most are built as M = Q1 diag(s) Q2^T with random orthonormal Q1, Q2 and a chosen s, so s is exact
up to the rounding of the product (~1e-16 sigma_max); the Hilbert-like ones take LAPACK's values (numpy.linalg.svd).
Kinds: Hilbert-like, spectra graded down to 1e-9, one singular value 1e-6..1e-8 of the largest, clusters within
1e-7, and scales from 1e-250 to 1e220. Run from anywhere: python3 generate.py (numpy only; output is committed).
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(16)
cases = []


def orthonormal(n, k):
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def designed(name, m, n, s, scale=1.0):
    s = np.asarray(s, dtype=float) * scale
    k = len(s)
    mat = orthonormal(m, k) @ np.diag(s) @ orthonormal(n, k).T
    full = np.zeros(min(m, n))
    full[:k] = s
    save(name, mat, np.sort(full)[::-1])


def lapack(name, mat):
    save(name, mat, np.linalg.svd(mat, compute_uv=False))


def save(name, mat, s):
    np.save(os.path.join(HERE, name + ".npy"), np.ascontiguousarray(mat))
    with open(os.path.join(HERE, name + ".s.csv"), "w") as f:
        f.write(",".join("%.17g" % x for x in s) + "\n")
    cases.append(name)


def hilbert(m, n):
    i, j = np.arange(m)[:, None], np.arange(n)[None, :]
    return 1.0 / (i + j + 1)


for n in (6, 8, 10, 12):
    lapack("hilbert%d" % n, hilbert(n, n))
lapack("hilbert12x8", hilbert(12, 8))
lapack("hilbert6x11", hilbert(6, 11))
for (m, n) in ((5, 5), (8, 8), (10, 10), (11, 8), (6, 10)):
    designed("graded%dx%d" % (m, n), m, n, np.logspace(0, -9, min(m, n)))
for e in (6, 7, 8):
    designed("small1e-%d" % e, 6, 5, [3, 2, 1.5, 1, 3 * 10.0**-e])
designed("small_tall_1e-7", 12, 6, [1, 0.8, 0.5, 0.3, 0.2, 1e-7])
designed("cluster3", 7, 6, [1, 1 - 1e-7, 1 - 2e-7, 0.5, 0.2, 0.1])
designed("cluster_pairs", 8, 8, [2, 2 - 1e-7, 1, 1 - 5e-8, 0.3, 0.3 - 1e-7, 0.05, 0.01])
designed("cluster_low", 9, 6, [1, 0.3, 1e-3, 1e-3 * (1 - 1e-7), 1e-5, 1e-6])
for scale, tag in ((1e-250, "1e-250"), (1e-100, "1e-100"), (1e100, "1e100"), (1e220, "1e220")):
    designed("scaled%s_graded" % tag, 8, 6, np.logspace(0, -9, 6), scale)
    designed("scaled%s_small" % tag, 6, 5, [3, 2, 1.5, 1, 3e-7], scale)
    designed("scaled%s_cluster" % tag, 7, 5, [1, 1 - 1e-7, 0.4, 0.1, 0.01], scale)
# Moderate ones (spectra to 1e-3, gaps of 1e-2 and more) at every scale: these should converge, so that the
# "converged means correct" check has cases at the extremes.
for scale, tag in ((1e-250, "1e-250"), (1.0, "1"), (1e154, "1e154"), (1e220, "1e220")):
    designed("moderate%s_5x4" % tag, 5, 4, [2, 1, 0.1, 0.01], scale)
    designed("moderate%s_9x6" % tag, 9, 6, [1, 0.5, 0.2, 0.05, 0.01, 0.001], scale)
lapack("hilbert8_1e-250", hilbert(8, 8) * 1e-250)
lapack("hilbert8_1e220", hilbert(8, 8) * 1e220)

with open(os.path.join(HERE, "cases.txt"), "w") as f:
    f.write("\n".join(cases) + "\n")
print(len(cases), "cases")
