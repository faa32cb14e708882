#!/usr/bin/env python3
"""Reference solutions of SciPy's trust-ncg, for tapegrad's TrustRegion tests (tests/optim/test_trust_region.cpp).

Run with Debian's python3-scipy (1.10.x) and python3-numpy:
    /usr/bin/python3 make_trust_region_reference.py [OUT.json]
        (default: trust_region_reference.json next to this script)

Problems (float64):
  logistic  L2-regularised logistic regression,
                f(w) = mean(softplus(X w) - y * (X w)) + lam/2 * |w|^2,
            X (200x10: a column of ones, then 9 columns of standard normals) and y (200, in {0, 1}) from
            numpy.random.RandomState(0):  Z = randn(200, 9); w_true = randn(10);
            X = [ones | Z]; y = (rand(200) < sigmoid(X @ w_true)) as float;  lam = 1e-2; w0 = 0.
            This is tapegrad's binary_cross_entropy_with_logits(X w, y) + lam/2 * sum(w^2).
  rosenbrock  scipy.optimize.rosen in 100 dimensions, sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, from the
            standard start x0 = (-1.2, 1, -1.2, 1, ...); its minimum is x = 1.

SciPy's trust-ncg with its defaults (initial radius 1, max radius 1000, eta 0.15) and gtol = 1e-10, exact
gradients and Hessian-vector products. Recorded per problem: the data, x0, SciPy's x, fun, |jac|, nit (outer
iterations), nfev, njev, nhev (as SciPy reports it), hessp_calls (the Hessian-vector products SciPy
made: one per CG iteration, plus one per outer iteration for the predicted value m(p) and two more per exit on
negative curvature for the models at the two boundary crossings) and its status. The tests read only the JSON; they do not need Python.
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess_prod

LAM = 1e-2


def logistic_data():
    rs = np.random.RandomState(0)
    Z = rs.randn(200, 9)
    w_true = rs.randn(10)
    X = np.hstack([np.ones((200, 1)), Z])
    y = (rs.rand(200) < 1.0 / (1.0 + np.exp(-X @ w_true))).astype(float)
    return X, y


def logistic(X, y, lam=LAM):
    n = X.shape[0]

    def f(w):
        z = X @ w
        return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * w @ w

    def g(w):
        s = 1.0 / (1.0 + np.exp(-(X @ w)))
        return X.T @ (s - y) / n + lam * w

    def hp(w, v):
        s = 1.0 / (1.0 + np.exp(-(X @ w)))
        return X.T @ (s * (1 - s) * (X @ v)) / n + lam * v

    return f, g, hp


def run(f, g, hp, x0):
    calls = [0]

    def counted(x, v):
        calls[0] += 1
        return hp(x, v)

    r = minimize(f, x0, method="trust-ncg", jac=g, hessp=counted, options={"gtol": 1e-10, "maxiter": 10000})
    return {
        "x": r.x.tolist(),
        "fun": float(r.fun),
        "jac_norm": float(np.linalg.norm(r.jac)),
        "nit": int(r.nit),
        "nfev": int(r.nfev),
        "njev": int(r.njev),
        "nhev": int(r.nhev),
        "hessp_calls": calls[0],
        "status": int(r.status),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "trust_region_reference.json")
    X, y = logistic_data()
    f, g, hp = logistic(X, y)
    w0 = np.zeros(10)
    x0 = np.array([-1.2, 1.0] * 50)
    doc = {
        "generator": "tests/data/optim/make_trust_region_reference.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "logistic": {"X": X.tolist(), "y": y.tolist(), "lam": LAM, "x0": w0.tolist(), **run(f, g, hp, w0)},
        "rosenbrock": {"x0": x0.tolist(), **run(rosen, rosen_der, rosen_hess_prod, x0)},
    }
    for k in ("logistic", "rosenbrock"):
        d = doc[k]
        print(f"{k}: status {d['status']} nit {d['nit']} nfev {d['nfev']} nhev {d['nhev']} fun {d['fun']:.17g} "
              f"hessp_calls {d['hessp_calls']} |g| {d['jac_norm']:.3e}")
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
