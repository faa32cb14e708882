#!/usr/bin/env python3
"""Reference trajectories of PyTorch's optimizers, for tapegrad's optimizer tests.

Run with Debian's python3-torch (1.13.x):
    /usr/bin/python3 make_optim_reference.py [OUT.json]      (default: reference.json next to this script)

The problem (every case uses it):
    parameters  A (3x2) and b (1x2, a "row bias" broadcast over the rows of X @ A)
    constants   X (4x3) and Y (4x2)
    loss(A, b) = mean((X @ A + b - Y)^2) + 0.1 * sum(tanh(A))
                 (mean over all 8 entries, sum over all 6 entries of A)
    Initial values: torch.manual_seed(0), then in this order
        X = randn(4,3), Y = randn(4,2), A = randn(3,2), b = randn(1,2)   (float64)
    All four are written to the JSON (top-level keys X, Y, A0, b0), row-major nested lists.

Each case runs N steps (N = case["steps"]) of
    opt.zero_grad(); loss = f(); loss.backward(); [clip_grad_norm_]; opt.step(); [scheduler.step()]
and records, for step = 0..N, the loss at the parameters before that step, group 0's lr used by that step
(for step N: the lr the next step would use), and A, b before that step (step N: after the last step).
Clip cases also record "grad_norm" per step (the total 2-norm returned by clip_grad_norm_, i.e. before clipping).

The "heavy_ball" case uses no torch optimizer: the seed notebooks' hand-written momentum,
    loss = f(); loss.backward()            (no zero_grad: gradients accumulate)
    with no_grad: P -= lr * P.grad; P.grad *= momentum      for P in (A, b)

float64 throughout (torch.set_default_dtype(torch.float64)), one thread, foreach=False (single-tensor code path).
Cases whose name ends in _f32 run the same problem in float32: X, Y, A0, b0 are the float64 values rounded to
float32; recorded values are float32 numbers written as doubles.
"""
import inspect
import json
import math
import os
import sys

import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

PROBLEM = ("loss(A, b) = mean((X @ A + b - Y)^2) + 0.1 * sum(tanh(A)); A 3x2 and b 1x2 are the parameters "
           "(b broadcast over the 4 rows), X 4x3 and Y 4x2 constants; mean over all 8 entries, sum over all 6 "
           "entries of A. Initial values: torch.manual_seed(0); X = randn(4,3); Y = randn(4,2); A = randn(3,2); "
           "b = randn(1,2) (float64). Step: opt.zero_grad(); loss = f(); loss.backward(); [clip_grad_norm_(params, "
           "max_norm, norm_type=2)]; opt.step(); [scheduler.step()]. trajectory[k] = state before step k "
           "(k = steps: after the last step); lr = group 0's lr used for step k.")

torch.manual_seed(0)
X64 = torch.randn(4, 3)
Y64 = torch.randn(4, 2)
A64 = torch.randn(3, 2)
B64 = torch.randn(1, 2)


def tolist(t):
    return [[float(v) for v in row] for row in t.detach().to(torch.float64).tolist()]


def loss_fn(A, b, X, Y):
    return ((X @ A + b - Y) ** 2).mean() + 0.1 * torch.tanh(A).sum()


def jsonable(v):
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    if isinstance(v, torch.Tensor):
        return v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def group_options(group):
    return {k: jsonable(v) for k, v in group.items() if k not in ("params", "initial_lr")}


OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def make_optimizer(kind, params_or_groups, kwargs):
    cls = OPTIMIZERS[kind]
    kwargs = dict(kwargs)
    if "foreach" in inspect.signature(cls).parameters:
        kwargs["foreach"] = False
    return cls(params_or_groups, **kwargs)


def make_scheduler(opt, spec):
    if spec is None:
        return None
    t = spec["type"]
    if t == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=spec["step_size"], gamma=spec["gamma"])
    if t == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=spec["gamma"])
    if t == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=spec["T_max"], eta_min=spec["eta_min"])
    raise ValueError(t)


def run_case(name, optimizer, kwargs, steps=25, groups=None, scheduler=None, clip=None, dtype=torch.float64):
    X, Y = X64.to(dtype), Y64.to(dtype)
    A = A64.to(dtype).clone().requires_grad_(True)
    b = B64.to(dtype).clone().requires_grad_(True)
    named = {"A": A, "b": b}
    case = {"name": name, "optimizer": optimizer, "dtype": "float32" if dtype == torch.float32 else "float64",
            "steps": steps}

    if optimizer == "heavy_ball":
        case["options"] = dict(kwargs)
        lr, momentum = kwargs["lr"], kwargs["momentum"]
        traj = []
        for k in range(steps + 1):
            entry = {"step": k}
            with torch.no_grad():
                entry["loss"] = float(loss_fn(A, b, X, Y))
            entry["lr"] = lr
            entry["A"], entry["b"] = tolist(A), tolist(b)
            traj.append(entry)
            if k == steps:
                break
            loss = loss_fn(A, b, X, Y)
            loss.backward()
            with torch.no_grad():
                for P in (A, b):
                    P -= lr * P.grad
                    P.grad *= momentum
        case["trajectory"] = traj
        return case

    if groups is None:
        opt = make_optimizer(optimizer, [A, b], kwargs)
    else:
        opt = make_optimizer(optimizer,
                             [dict(g, params=[named[p] for p in g["params"]]) for g in groups], kwargs)
        case["param_groups"] = [dict(group_options(pg), params=list(g["params"]))
                                for g, pg in zip(groups, opt.param_groups)]
    case["options"] = {k: jsonable(v) for k, v in opt.defaults.items()}
    sched = make_scheduler(opt, scheduler)
    if scheduler is not None:
        case["scheduler"] = scheduler
    if clip is not None:
        case["clip_grad_norm"] = clip

    traj = []
    for k in range(steps + 1):
        entry = {"step": k}
        if k == steps:
            with torch.no_grad():
                entry["loss"] = float(loss_fn(A, b, X, Y))
            entry["lr"] = float(opt.param_groups[0]["lr"])
            entry["A"], entry["b"] = tolist(A), tolist(b)
            traj.append(entry)
            break
        entry["A"], entry["b"] = tolist(A), tolist(b)
        entry["lr"] = float(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = loss_fn(A, b, X, Y)
        entry["loss"] = float(loss)
        loss.backward()
        if clip is not None:
            gn = torch.nn.utils.clip_grad_norm_([A, b], max_norm=clip, norm_type=2.0)
            entry["grad_norm"] = float(gn)
        opt.step()
        if sched is not None:
            sched.step()
        traj.append({key: entry[key] for key in ("step", "loss", "lr", "A", "b", "grad_norm") if key in entry})
    case["trajectory"] = traj
    return case


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "reference.json")
    cases = [
        run_case("sgd_plain", "sgd", dict(lr=0.1)),
        run_case("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9)),
        run_case("sgd_dampening", "sgd", dict(lr=0.1, momentum=0.9, dampening=0.5)),
        run_case("sgd_nesterov", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True)),
        run_case("sgd_weight_decay", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
        run_case("sgd_maximize", "sgd", dict(lr=0.01, momentum=0.5, maximize=True), steps=10),
        run_case("sgd_all", "sgd", dict(lr=0.05, momentum=0.8, weight_decay=0.02, nesterov=True)),
        run_case("adam_default", "adam", dict(lr=0.01)),
        run_case("adam_weight_decay", "adam", dict(lr=0.01, weight_decay=0.1)),
        run_case("adam_amsgrad", "adam", dict(lr=0.05, amsgrad=True)),
        run_case("adam_betas", "adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
        run_case("adam_maximize", "adam", dict(lr=0.01, maximize=True), steps=10),
        run_case("adamw_default", "adamw", dict(lr=0.01)),
        run_case("adamw_amsgrad", "adamw", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
        run_case("groups_sgd", "sgd", dict(lr=0.1),
                 groups=[dict(params=["A"], lr=0.1, momentum=0.9), dict(params=["b"], lr=0.01, momentum=0.0)]),
        run_case("sched_step", "sgd", dict(lr=0.1, momentum=0.9),
                 scheduler=dict(type="step", step_size=5, gamma=0.5)),
        run_case("sched_exponential", "adam", dict(lr=0.05), scheduler=dict(type="exponential", gamma=0.9)),
        run_case("sched_cosine", "sgd", dict(lr=0.1), scheduler=dict(type="cosine", T_max=10, eta_min=0.001)),
        run_case("clip_sgd", "sgd", dict(lr=0.1, momentum=0.9), clip=0.05),
        run_case("clip_adam", "adam", dict(lr=0.01), clip=0.01),
        run_case("heavy_ball", "heavy_ball", dict(lr=0.1, momentum=0.9)),
        run_case("sgd_momentum_f32", "sgd", dict(lr=0.1, momentum=0.9), dtype=torch.float32),
        run_case("adam_default_f32", "adam", dict(lr=0.01), dtype=torch.float32),
    ]
    doc = {
        "generator": "tests/data/optim/make_optim_reference.py",
        "torch_version": torch.__version__,
        "problem": PROBLEM,
        "X": tolist(X64), "Y": tolist(Y64), "A0": tolist(A64), "b0": tolist(B64),
        "cases": cases,
    }
    # Compact but diff-friendly: one trajectory entry per line (json.dumps of Python floats is round-trip exact).
    def case_text(c):
        head = {k: v for k, v in c.items() if k != "trajectory"}
        body = ",\n".join("    " + json.dumps(e) for e in c["trajectory"])
        return json.dumps(head)[:-1] + ', "trajectory": [\n' + body + "\n  ]}"
    top = {k: v for k, v in doc.items() if k != "cases"}
    text = "{\n" + ",\n".join(" " + json.dumps(k) + ": " + json.dumps(v) for k, v in top.items())
    text += ',\n "cases": [\n' + ",\n".join("  " + case_text(c) for c in cases) + "\n ]\n}\n"
    assert json.loads(text) == json.loads(json.dumps(doc))
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
