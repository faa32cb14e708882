#!/usr/bin/env python3
"""PyTorch reference values and gradients for the ops PyTorch users reach for first (cat, softmax, ...),
for tests/autodiff/test_ops_reference.cpp.

Run with Debian's python3-torch (1.13.x):
    /usr/bin/python3 make_reference.py [OUT.json]      (default: reference.json next to this script)

float64 throughout, one thread. For each case: its inputs (torch.manual_seed(0), then randn per input in order,
then the adjustments written below: positive bases for pow, ties for max/min, entries on clamp's bounds), the
op's output C, and the gradients of sum(C * W) with respect to every input, W = randn of C's shape (drawn after
the inputs). Matrices are row-major nested lists. The C++ test records the same op by the case's name (the
integer parameters, indices and labels are fixed here and there) and compares within 1e-12.

tapegrad's reshape is column-major: reshape(a, r, c) is a.T.reshape(c, r).T here.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)


def mat(t):
    return [[float(v) for v in row] for row in t.detach().reshape(t.shape[0], -1).tolist()]


CASES = []


def case(name, shapes, fn, adjust=None):
    CASES.append((name, shapes, fn, adjust))


def tie_max(xs):
    a = xs[0]
    a[1, 2] = a.max()  # two equal maxima
    a[3, 0] = a.min()  # two equal minima


def ties_elementwise(xs):
    xs[1][0, 0] = xs[0][0, 0]
    xs[1][2, 1] = xs[0][2, 1]


def row_ties(xs):
    a = xs[0]
    a[0, 2] = a[0].max()  # row 0: the max twice (the first is the one)
    a[1, 0] = a[1].min()
    a[2, 1] = a[:, 1].max()  # column 1: the max twice
    a[0, 2] = a[0].max()


def clamp_bounds(xs):
    xs[0][0, 0] = -0.5
    xs[0][1, 1] = 0.5


def positive_base(xs):
    xs[0].abs_().add_(0.2)


def log1p_domain(xs):
    xs[0].clamp_(-0.9, 3)


def probabilities(xs):
    xs[1].copy_(torch.softmax(xs[1], 1))


def unit_interval(xs):
    xs[1].copy_(torch.sigmoid(xs[1]))


case("cat dim 0", [(2, 3), (3, 3)], lambda a, b: torch.cat([a, b], 0))
case("cat dim 1", [(3, 2), (3, 4)], lambda a, b: torch.cat([a, b], 1))
case("narrow dim 0", [(4, 3)], lambda a: a.narrow(0, 1, 2))
case("narrow dim 1", [(4, 3)], lambda a: a.narrow(1, 1, 2))
case("index_select dim 0", [(4, 3)], lambda a: a.index_select(0, torch.tensor([3, 0, 3, 1])))
case("index_select dim 1", [(4, 3)], lambda a: a.index_select(1, torch.tensor([2, 2, 0])))
case("reshape", [(4, 3)], lambda a: a.T.reshape(6, 2).T)
case("maximum", [(4, 3), (4, 3)], torch.maximum, ties_elementwise)
case("minimum", [(4, 3), (4, 3)], torch.minimum, ties_elementwise)
case("max", [(4, 3)], lambda a: torch.max(a).reshape(1, 1), tie_max)
case("min", [(4, 3)], lambda a: torch.min(a).reshape(1, 1), tie_max)
case("rowwise_max", [(4, 3)], lambda a: torch.max(a, 1, keepdim=True).values, row_ties)
case("colwise_max", [(4, 3)], lambda a: torch.max(a, 0, keepdim=True).values, row_ties)
case("rowwise_min", [(4, 3)], lambda a: torch.min(a, 1, keepdim=True).values, row_ties)
case("colwise_min", [(4, 3)], lambda a: torch.min(a, 0, keepdim=True).values, row_ties)
case("clamp", [(4, 3)], lambda a: torch.clamp(a, -0.5, 0.5), clamp_bounds)
case("rowwise_softmax", [(4, 3)], lambda a: F.softmax(a, 1))
case("colwise_softmax", [(4, 3)], lambda a: F.softmax(a, 0))
case("rowwise_log_softmax", [(4, 3)], lambda a: F.log_softmax(a, 1))
case("colwise_log_softmax", [(4, 3)], lambda a: F.log_softmax(a, 0))
case("colwise_logsumexp", [(4, 3)], lambda a: torch.logsumexp(a, 0, keepdim=True))
case("logsumexp", [(4, 3)], lambda a: torch.logsumexp(a.reshape(-1), 0).reshape(1, 1))
case("cross_entropy labels", [(5, 4)], lambda a: F.cross_entropy(a, torch.tensor([3, 0, 1, 1, 2])).reshape(1, 1))
case("cross_entropy probabilities", [(5, 4), (5, 4)], lambda a, p: F.cross_entropy(a, p).reshape(1, 1),
     probabilities)
case("binary_cross_entropy_with_logits", [(4, 3), (4, 3)],
     lambda a, y: F.binary_cross_entropy_with_logits(a, y).reshape(1, 1), unit_interval)
case("sin", [(4, 3)], lambda a: torch.sin(3 * a) / 3)
case("cos", [(4, 3)], lambda a: torch.cos(3 * a) / 3)
case("log1p", [(4, 3)], torch.log1p, log1p_domain)
case("expm1", [(4, 3)], torch.expm1)
case("softplus", [(4, 3)], lambda a: F.softplus(4 * a) / 4)
case("pow", [(4, 3), (4, 3)], torch.pow, positive_base)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "reference.json")
    torch.manual_seed(0)
    cases = []
    for name, shapes, fn, adjust in CASES:
        xs = [torch.randn(*s) for s in shapes]
        if adjust:
            with torch.no_grad():
                adjust(xs)
        leaves = [x.clone().requires_grad_(True) for x in xs]
        c = fn(*leaves)
        w = torch.randn(*c.shape)
        (c * w).sum().backward()
        cases.append({"name": name, "inputs": [mat(x) for x in xs], "weight": mat(w), "value": mat(c),
                      "grads": [mat(x.grad) for x in leaves]})
    with open(out_path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases -> {out_path}")


if __name__ == "__main__":
    main()
