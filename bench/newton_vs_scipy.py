#!/usr/bin/env python3
"""SciPy's trust-ncg on bench/newton_vs_lbfgs.cpp's problems, printing the same columns (a measurement).

    build/release/bin/newton_vs_lbfgs /tmp/seed64x32.json      (writes the seed problem's data)
    /usr/bin/python3 bench/newton_vs_scipy.py /tmp/seed64x32.json

Debian's python3-scipy (1.10) and python3-numpy; python3-torch (1.13, float64, one thread) for the seed loss's
gradient and Hessian-vector products (double backward). Without the seed data file the seed row is skipped.

Problems (the same data and starts as the C++ program):
  rosenbrock-100  scipy.optimize.rosen / rosen_der / rosen_hess_prod in 100 dimensions from (-1.2, 1, ...);
  logistic        tests/data/optim/trust_region_reference.json's data, f = mean(softplus(Xw) - y Xw) + lam/2 |w|^2;
  seed-64x32      mse(U diag(d^2) V^T, M) + mse(U^T U, I)/100 + mse(V V^T, I)/100 (svd::seed_loss).
trust-ncg with gtol = 1e-10 (SciPy stops at |g| < gtol), its default radii and eta. "HVPs" counts every
hessp call SciPy makes (one per CG iteration, one per outer iteration for the model value, two per
negative-curvature exit); "evaluations" is SciPy's nfev (its njev is the same). Seconds: best of a few runs.
"""
import json
import os
import sys
import time

import numpy as np
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess_prod

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "tests", "data", "optim", "trust_region_reference.json")
sys.path.insert(0, os.path.join(HERE, "..", "tests", "data", "optim"))
from make_trust_region_reference import logistic  # noqa: E402
GTOL = 1e-10
STATUS = {0: "converged", 1: "max_iterations", 2: "model failed to predict", 3: "linalg error"}


def logistic_problem():
    with open(REFERENCE) as fh:
        ref = json.load(fh)["logistic"]
    X, y, lam = np.array(ref["X"]), np.array(ref["y"]), ref["lam"]
    f, g, hp = logistic(X, y, lam)  # the reference script's definition
    return f, g, hp, np.array(ref["x0"]), 20


def seed_problem(path):
    import torch

    torch.set_num_threads(1)
    with open(path) as fh:
        d = json.load(fh)
    M = torch.tensor(d["M"], dtype=torch.float64)
    U0, d0, V0 = (np.array(d[k]) for k in ("U0", "d0", "V0"))
    shapes = [U0.shape, d0.shape, V0.shape]
    sizes = [int(np.prod(s)) for s in shapes]
    m, n = U0.shape

    def unpack(x):
        parts, k = [], 0
        for s, z in zip(shapes, sizes):
            parts.append(x[k:k + z].reshape(s))
            k += z
        return parts

    def loss_t(U, dd, V):
        S = torch.diag((dd ** 2).reshape(-1))
        eye = torch.eye(n, dtype=torch.float64)
        return (torch.mean((U @ S @ V.T - M) ** 2) + torch.mean((U.T @ U - eye) ** 2) / 100 +
                torch.mean((V @ V.T - eye) ** 2) / 100)

    def tensors(x):
        return [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in unpack(x)]

    def f(x):
        with torch.no_grad():
            return float(loss_t(*[torch.tensor(p) for p in unpack(x)]))

    def g(x):
        ps = tensors(x)
        gs = torch.autograd.grad(loss_t(*ps), ps)
        return np.concatenate([t.numpy().ravel() for t in gs])

    def hp(x, v):
        ps = tensors(x)
        gs = torch.autograd.grad(loss_t(*ps), ps, create_graph=True)
        vs = [torch.tensor(p) for p in unpack(v)]
        hv = torch.autograd.grad(gs, ps, grad_outputs=vs)
        return np.concatenate([t.numpy().ravel() for t in hv])

    return f, g, hp, np.concatenate([U0.ravel(), d0.ravel(), V0.ravel()]), 1


def run(name, f, g, hp, x0, reps):
    best = None
    for _ in range(reps):
        calls = [0]

        def counted(x, v):
            calls[0] += 1
            return hp(x, v)

        t0 = time.perf_counter()
        r = minimize(f, x0, method="trust-ncg", jac=g, hessp=counted, options={"gtol": GTOL, "maxiter": 20000})
        sec = time.perf_counter() - t0
        if best is None or sec < best[1]:
            best = (r, sec, calls[0])
    r, sec, hv = best
    print(f"| {name} | SciPy trust-ncg | {STATUS.get(r.status, r.status)} | {r.nit} | {r.nfev} | {hv} | "
          f"{np.linalg.norm(r.jac):.2e} | {r.fun:.10g} | {sec:.4g} |", flush=True)


def main():
    print("| problem | method | status | outer iterations | evaluations | HVPs | final |g| | final loss | seconds |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    x0 = np.array([-1.2, 1.0] * 50)
    run("rosenbrock-100", rosen, rosen_der, rosen_hess_prod, x0, 5)
    run("logistic", *logistic_problem())
    if len(sys.argv) > 1:
        run("seed-64x32", *seed_problem(sys.argv[1]))


if __name__ == "__main__":
    main()
