#!/usr/bin/env python3
"""PyTorch reference Hessian-vector products for tests/autodiff/test_hvp_reference.cpp.

Run with Debian's python3-torch (1.13.x):
    /usr/bin/python3 generate.py [OUT.json]      (default: reference.json next to this script)

float64, one thread, seeded: the output is the same on every run. Each case is a random graph over the ops that
have second-order rules in tapegrad, written as a list of nodes in recording order:
    {"op": "param", "i": k}                 parameter k (its value in "params")
    {"op": "const", "i": k}                 constant k (its value in "consts")
    {"op": NAME, "in": [ids], "s": x}      an op of earlier nodes ("s": the op's scalar, when it has one)
The last node is the scalar loss. A case stores the parameters, a direction v (one matrix per parameter), and
PyTorch's loss, gradient and double-backward HVP:
    g = autograd.grad(loss, params, create_graph=True);  Hv = autograd.grad(Σ_k <g_k, v_k>, params)
(what torch.autograd.functional.hvp computes). Leaves are used several times and subexpressions shared (inputs
are drawn from every node made so far); the literal forms of the graph optimizer's patterns (matmul with
transposes and diag, AᵀA, A Aᵀ, mean(square(a - b)), act(a + bias), ...) and the named fused ops both occur;
half of the cases have dimensions above the BLAS threshold of tapegrad's products (m n k >= 16³).
Matrices are row-major nested lists. tapegrad's shapes: reductions keep two dimensions (sum is 1x1,
rowwise_sum Rx1, colwise_sum 1xC); diag of a vector is a square matrix, diag of a square matrix its diagonal
as a column.
"""
import json
import os
import random
import sys

import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)


def mat(t):
    return [[float(v) for v in row] for row in t.detach().reshape(t.shape[0], -1).tolist()]


def diag(x):
    if x.shape[0] == 1 or x.shape[1] == 1:
        return torch.diag(x.reshape(-1))
    return torch.diagonal(x).reshape(-1, 1)


# name: (arity, torch function of (inputs, s))
OPS = {
    "square": (1, lambda x, s: x[0] ** 2),
    "exp": (1, lambda x, s: torch.exp(x[0])),
    "log": (1, lambda x, s: torch.log(x[0])),
    "sqrt": (1, lambda x, s: torch.sqrt(x[0])),
    "abs": (1, lambda x, s: torch.abs(x[0])),
    "relu": (1, lambda x, s: torch.relu(x[0])),
    "tanh": (1, lambda x, s: torch.tanh(x[0])),
    "sigmoid": (1, lambda x, s: torch.sigmoid(x[0])),
    "sin": (1, lambda x, s: torch.sin(x[0])),
    "cos": (1, lambda x, s: torch.cos(x[0])),
    "log1p": (1, lambda x, s: torch.log1p(x[0])),
    "expm1": (1, lambda x, s: torch.expm1(x[0])),
    "softplus": (1, lambda x, s: torch.nn.functional.softplus(x[0])),
    "neg": (1, lambda x, s: -x[0]),
    "transpose": (1, lambda x, s: x[0].t()),
    "diag": (1, lambda x, s: diag(x[0])),
    "sum": (1, lambda x, s: x[0].sum().reshape(1, 1)),
    "mean": (1, lambda x, s: x[0].mean().reshape(1, 1)),
    "sum_squares": (1, lambda x, s: (x[0] ** 2).sum().reshape(1, 1)),
    "norm": (1, lambda x, s: torch.norm(x[0]).reshape(1, 1)),
    "rowwise_sum": (1, lambda x, s: x[0].sum(1, keepdim=True)),
    "colwise_sum": (1, lambda x, s: x[0].sum(0, keepdim=True)),
    "rowwise_mean": (1, lambda x, s: x[0].mean(1, keepdim=True)),
    "colwise_mean": (1, lambda x, s: x[0].mean(0, keepdim=True)),
    "crossprod": (1, lambda x, s: x[0].t() @ x[0]),
    "tcrossprod": (1, lambda x, s: x[0] @ x[0].t()),
    "add_scalar": (1, lambda x, s: x[0] + s),
    "mul_scalar": (1, lambda x, s: x[0] * s),
    "rsub_scalar": (1, lambda x, s: s - x[0]),
    "rdiv_scalar": (1, lambda x, s: s / x[0]),
    "pow": (1, lambda x, s: x[0] ** s),
    "rowwise_softmax": (1, lambda x, s: torch.softmax(x[0], 1)),
    "colwise_softmax": (1, lambda x, s: torch.softmax(x[0], 0)),
    "rowwise_log_softmax": (1, lambda x, s: torch.log_softmax(x[0], 1)),
    "colwise_log_softmax": (1, lambda x, s: torch.log_softmax(x[0], 0)),
    "logsumexp": (1, lambda x, s: torch.logsumexp(x[0].reshape(-1), 0).reshape(1, 1)),
    "rowwise_logsumexp": (1, lambda x, s: torch.logsumexp(x[0], 1, keepdim=True)),
    "colwise_logsumexp": (1, lambda x, s: torch.logsumexp(x[0], 0, keepdim=True)),
    "cross_entropy": (2, lambda x, s: -(x[1] * torch.log_softmax(x[0], 1)).sum().reshape(1, 1) / x[0].shape[0]),
    "binary_cross_entropy_with_logits": (
        2, lambda x, s: torch.nn.functional.binary_cross_entropy_with_logits(x[0], x[1]).reshape(1, 1)),
    # tapegrad's reshape is column-major: to the transposed shape, reshape(a, c, r) is a.T.reshape(r, c).T here
    "reshape": (1, lambda x, s: x[0].t().reshape(x[0].shape[0], x[0].shape[1]).t()),
    "narrow": (1, lambda x, s: x[0][: max(1, x[0].shape[0] // 2), :]),
    "index_select": (1, lambda x, s: x[0][:, list(range(x[0].shape[1] - 1, -1, -1)) + [0]]),
    "cat0": (2, lambda x, s: torch.cat([x[0], x[1]], 0)),
    "cat1": (2, lambda x, s: torch.cat([x[0], x[1]], 1)),
    "max": (1, lambda x, s: x[0].max().reshape(1, 1)),
    "min": (1, lambda x, s: x[0].min().reshape(1, 1)),
    "rowwise_max": (1, lambda x, s: x[0].max(1, keepdim=True)[0]),
    "colwise_min": (1, lambda x, s: x[0].min(0, keepdim=True)[0]),
    "clamp": (1, lambda x, s: torch.clamp(x[0], -0.5, 0.75)),
    "maximum": (2, lambda x, s: torch.maximum(x[0], x[1])),
    "minimum": (2, lambda x, s: torch.minimum(x[0], x[1])),
    "pow_matrix": (2, lambda x, s: x[0] ** x[1]),
    "add": (2, lambda x, s: x[0] + x[1]),
    "sub": (2, lambda x, s: x[0] - x[1]),
    "mul": (2, lambda x, s: x[0] * x[1]),
    "div": (2, lambda x, s: x[0] / x[1]),
    "matmul": (2, lambda x, s: x[0] @ x[1]),
    "matmul_nt": (2, lambda x, s: x[0] @ x[1].t()),
    "scale_columns": (2, lambda x, s: x[0] * x[1].reshape(1, -1)),
    "scale_rows": (2, lambda x, s: x[0].reshape(-1, 1) * x[1]),
    "mse": (2, lambda x, s: ((x[0] - x[1]) ** 2).mean().reshape(1, 1)),
}


class Graph:
    def __init__(self, rng):
        self.rng = rng
        self.nodes = []  # spec dicts
        self.shapes = []
        self.params = []
        self.consts = []
        self.uses = []

    def leaf(self, kind, value):
        store = self.params if kind == "param" else self.consts
        store.append(value)
        return self.add({"op": kind, "i": len(store) - 1}, tuple(value.shape))

    def add(self, spec, shape):
        for i in spec.get("in", []):
            self.uses[i] += 1
        self.nodes.append(spec)
        self.shapes.append(shape)
        self.uses.append(0)
        return len(self.nodes) - 1

    def op(self, name, ins, s=None):
        spec = {"op": name, "in": list(ins)}
        if s is not None:
            spec["s"] = s
        shapes = [self.shapes[i] for i in ins]
        shape = out_shape(name, shapes)
        return self.add(spec, shape)

    def pick(self, ok=lambda sh: True):
        # Any node so far (leaves and shared subexpressions), not the scalars only.
        cands = [i for i, sh in enumerate(self.shapes) if ok(sh)]
        return self.rng.choice(cands) if cands else None

    def positive(self, i):  # square(x) + 0.5 >= 0.5: the domain of log, sqrt, pow, division
        return self.op("add_scalar", [self.op("square", [i])], 0.5)

    def bounded(self, i):  # tanh(x) in (-1, 1): the argument of exp, expm1, softplus
        return self.op("tanh", [i])


def out_shape(name, shapes):
    a = shapes[0]
    if name in ("sum", "mean", "sum_squares", "norm", "mse", "logsumexp", "cross_entropy",
                "binary_cross_entropy_with_logits"):
        return (1, 1)
    if name in ("max", "min"):
        return (1, 1)
    if name == "rowwise_max":
        return (a[0], 1)
    if name == "colwise_min":
        return (1, a[1])
    if name in ("rowwise_sum", "rowwise_mean", "rowwise_logsumexp"):
        return (a[0], 1)
    if name in ("colwise_sum", "colwise_mean", "colwise_logsumexp"):
        return (1, a[1])
    if name in ("transpose", "reshape"):
        return (a[1], a[0])
    if name == "narrow":
        return (max(1, a[0] // 2), a[1])
    if name == "index_select":
        return (a[0], a[1] + 1)
    if name == "cat0":
        return (a[0] + shapes[1][0], a[1])
    if name == "cat1":
        return (a[0], a[1] + shapes[1][1])
    if name == "diag":
        return (a[0] * a[1], a[0] * a[1]) if (a[0] == 1 or a[1] == 1) else (a[0], 1)
    if name == "crossprod":
        return (a[1], a[1])
    if name == "tcrossprod":
        return (a[0], a[0])
    if name == "matmul":
        return (a[0], shapes[1][1])
    if name == "matmul_nt":
        return (a[0], shapes[1][0])
    if name == "scale_rows":
        return shapes[1]
    if len(shapes) == 2:
        return (max(a[0], shapes[1][0]), max(a[1], shapes[1][1]))
    return a


def bcast(a, b):
    return all(x == y or x == 1 or y == 1 for x, y in zip(a, b))


# One step of the generator: the op `name` on suitable inputs (with the domain guards), or None.
def step(g, name):
    rng = g.rng
    if name == "pow_matrix":  # a positive base
        a = g.pick(lambda sh: sh != (1, 1))
        b = g.pick(lambda sh: sh == g.shapes[a])
        return g.op(name, [g.positive(a), g.bounded(b)])
    if name in ("maximum", "minimum"):
        a = g.pick(lambda sh: sh != (1, 1))
        b = g.pick(lambda sh: sh == g.shapes[a])
        return g.op(name, [a, b])
    if name in ("cat0", "cat1"):
        a = g.pick(lambda sh: sh != (1, 1))
        sa = g.shapes[a]
        b = g.pick(lambda sh: sh[1] == sa[1] if name == "cat0" else sh[0] == sa[0])
        return g.op(name, [a, b])
    if name in ("cross_entropy", "binary_cross_entropy_with_logits", "ce_literal"):
        a = g.pick(lambda sh: sh != (1, 1))
        b = g.pick(lambda sh: sh == g.shapes[a])
        if name == "ce_literal":  # -mean(rowwise_sum(y * log(rowwise_softmax(x)))): fused
            l = g.op("log", [g.op("rowwise_softmax", [a])])
            return g.op("neg", [g.op("mean", [g.op("rowwise_sum", [g.op("mul", [b, l])])])])
        return g.op(name, [a, b])
    if name in ("log", "sqrt", "log1p", "rdiv_scalar"):
        i = g.pick()
        s = {"rdiv_scalar": rng.choice([1.5, -2.0])}.get(name)
        return g.op(name, [g.positive(i)], s)
    if name in ("exp", "expm1", "softplus"):
        return g.op(name, [g.bounded(g.pick())])
    if name == "pow":
        p = rng.choice([2.0, 3.0, 0.5, -1.5, 1.0, 0.0])
        i = g.pick()
        return g.op("pow", [g.positive(i) if p != int(p) or p < 0 else i], p)
    if name in ("add_scalar", "mul_scalar", "rsub_scalar"):
        return g.op(name, [g.pick()], rng.choice([0.5, -1.25, 2.0]))
    if name in ("transpose", "square", "abs", "relu", "tanh", "sigmoid", "sin", "cos", "neg", "sum", "mean",
                "sum_squares", "norm", "rowwise_sum", "colwise_sum", "rowwise_mean", "colwise_mean", "crossprod",
                "tcrossprod", "rowwise_softmax", "colwise_softmax", "rowwise_log_softmax", "colwise_log_softmax",
                "logsumexp", "rowwise_logsumexp", "colwise_logsumexp", "reshape", "narrow", "index_select", "max",
                "min", "rowwise_max", "colwise_min", "clamp"):
        i = g.pick(lambda sh: sh != (1, 1))
        if i is None:
            return None
        return g.op(name, [i])
    if name == "diag":
        i = g.pick(lambda sh: (sh[0] == 1 or sh[1] == 1 or sh[0] == sh[1]) and sh != (1, 1))
        return None if i is None else g.op("diag", [i])
    if name in ("add", "sub", "mul", "div"):
        a = g.pick(lambda sh: sh != (1, 1))
        if a is None:
            return None
        sa = g.shapes[a]
        b = g.pick(lambda sh: bcast(sa, sh) and (sh == sa or rng.random() < 0.7))
        if b is None:
            return None
        if rng.random() < 0.5:
            a, b = b, a
        if name == "div":
            b = g.positive(b)
        return g.op(name, [a, b])
    if name == "matmul_nt_named":
        name = "matmul_nt"
        a = g.pick(lambda sh: sh != (1, 1))
        b = g.pick(lambda sh: sh[1] == g.shapes[a][1])
        return g.op("matmul_nt", [a, b])
    if name in ("matmul", "matmul_nt", "matmul_tn"):
        a = g.pick(lambda sh: sh != (1, 1))
        if a is None:
            return None
        sa = g.shapes[a]
        if name == "matmul":
            b = g.pick(lambda sh: sh[0] == sa[1])
        elif name == "matmul_nt":
            b = g.pick(lambda sh: sh[1] == sa[1])
        else:
            b = g.pick(lambda sh: sh[0] == sa[0])
        if b is None:
            return None
        literal = rng.random() < 0.7  # the literal form, which the graph optimizer fuses
        if name == "matmul_nt_named":
            literal = False
        if name == "matmul":
            return g.op("matmul", [a, b])
        if name == "matmul_nt":
            return g.op("matmul", [a, g.op("transpose", [b])]) if literal else g.op("matmul_nt", [a, b])
        return g.op("matmul", [g.op("transpose", [a]), b])
    if name in ("crossprod_literal", "tcrossprod_literal"):
        a = g.pick(lambda sh: sh != (1, 1))
        t = g.op("transpose", [a])
        return g.op("matmul", [t, a] if name == "crossprod_literal" else [a, t])
    if name in ("scale_columns", "scale_rows", "scale_columns_named", "scale_rows_named"):
        named = name.endswith("_named")
        name = name.replace("_named", "")
        a = g.pick(lambda sh: sh != (1, 1))
        sa = g.shapes[a]
        n = sa[1] if name == "scale_columns" else sa[0]
        v = g.pick(lambda sh: (sh == (n, 1) or sh == (1, n)))
        if v is None:
            return None
        if not named and rng.random() < 0.8:  # literal: matmul with diag(v)
            d = g.op("diag", [v])
            return g.op("matmul", [a, d] if name == "scale_columns" else [d, a])
        return g.op(name, [a, v] if name == "scale_columns" else [v, a])
    if name in ("mse", "mse_literal"):
        a = g.pick(lambda sh: sh != (1, 1))
        b = g.pick(lambda sh: sh == g.shapes[a])
        if name == "mse":
            return g.op("mse", [a, b])
        return g.op("mean", [g.op("square", [g.op("sub", [a, b])])])
    if name == "act_bias":
        a = g.pick(lambda sh: sh != (1, 1))
        sa = g.shapes[a]
        b = g.pick(lambda sh: sh in ((1, sa[1]), (sa[0], 1), sa))
        act = rng.choice(["tanh", "sigmoid", "relu"])
        return g.op(act, [g.op("add", [a, b])])
    raise ValueError(name)


KINDS = sorted(set(OPS) - {"crossprod", "tcrossprod", "matmul_nt", "mse"}) + [
    "crossprod", "tcrossprod", "crossprod_literal", "tcrossprod_literal", "matmul_nt", "matmul_tn", "mse", "mse_literal",
    "act_bias", "ce_literal", "matmul_nt_named", "scale_columns_named", "scale_rows_named"]


def make_case(index, rng, forced):
    big = index % 2 == 1
    dims = [17, 20, 24] if big else [2, 3, 4]
    r, c, k = (rng.choice(dims) for _ in range(3))
    g = Graph(rng)
    g.leaf("param", torch.randn(r, c) * 0.5)
    g.leaf("param", torch.randn(c, k) * 0.5)
    g.leaf("param", torch.randn(1, c) * 0.5)
    g.leaf("param", torch.randn(c, 1) * 0.5)
    g.leaf("const", torch.randn(r, c))
    todo = list(forced) + [rng.choice(KINDS) for _ in range(4)]
    for name in todo:
        for _ in range(20):
            if step(g, name) is not None:
                break
    # The loss: every op node nothing uses, through mean(square(y)) / 2 + sum(tanh(y)) / 4 (a general G and
    # a G that depends on y).
    sinks = [i for i, sp in enumerate(g.nodes) if g.uses[i] == 0 and sp["op"] not in ("param", "const")]
    total = None
    for y in sinks:
        t = g.op("add", [g.op("mul_scalar", [g.op("mean", [g.op("square", [y])])], 0.5),
                         g.op("mul_scalar", [g.op("sum", [g.op("tanh", [y])])], 0.25)])
        total = t if total is None else g.op("add", [total, t])
    return g


def evaluate(g, params):
    vals = []
    for sp in g.nodes:
        if sp["op"] == "param":
            vals.append(params[sp["i"]])
        elif sp["op"] == "const":
            vals.append(g.consts[sp["i"]])
        else:
            vals.append(OPS[sp["op"]][1]([vals[i] for i in sp["in"]], sp.get("s")))
    return vals[-1]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "reference.json")
    torch.manual_seed(0)
    rng = random.Random(13)
    kinds = KINDS[:]
    rng.shuffle(kinds)
    n_cases = 24
    per = (len(kinds) + n_cases - 1) // n_cases + 2
    cases = []
    for index in range(n_cases):
        forced = [kinds[(index * per + j) % len(kinds)] for j in range(per)]
        g = make_case(index, rng, forced)
        params = [p.clone().requires_grad_(True) for p in g.params]
        loss = evaluate(g, params)
        grads = torch.autograd.grad(loss[0, 0], params, create_graph=True, allow_unused=True)
        grads = [gr if gr is not None else torch.zeros_like(p) for gr, p in zip(grads, params)]
        v = [torch.randn(p.shape) for p in params]
        gv = sum((gr * vk).sum() for gr, vk in zip(grads, v) if gr.requires_grad)
        hv = torch.autograd.grad(gv, params, allow_unused=True)
        hv = [h if h is not None else torch.zeros_like(p) for h, p in zip(hv, params)]
        cases.append({
            "name": "case %d (%s)" % (index, ", ".join(forced)),
            "nodes": g.nodes,
            "params": [mat(p) for p in g.params],
            "consts": [mat(c) for c in g.consts],
            "v": [mat(x) for x in v],
            "loss": float(loss[0, 0]),
            "grad": [mat(x) for x in grads],
            "hv": [mat(x) for x in hv],
        })
    used = sorted({sp["op"] for c in cases for sp in c["nodes"]})
    with open(out, "w") as f:
        json.dump({"generator": "tests/data/hvp/generate.py", "torch": torch.__version__, "ops": used,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("%d cases, ops: %s -> %s" % (len(cases), " ".join(used), out))


if __name__ == "__main__":
    main()
