"""`python -m numeric.bench`: the generated gradients against the floor.

A sigmoid layer over a batch, forward and all three gradients, timed side
by side in one run (rounds interleaved, the best round of each kept):

- floor: the three matrix products alone (`W @ X`, `D @ X.T`, `W.T @ D`);
- plain: NumPy as written by hand, `S = 1/(1+exp(-Z)); D = dY*S*(1-S); ...`;
- generated: `numeric.gradients("layer_batch", activation="sigmoid")`;
- torch: PyTorch's CPU autograd, where PyTorch is installed.

Then the load time of the generated module in a new process, with an
empty cache (SymPy derives and verifies) and with a warm one.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import gradients

LARGE = (1024, 1024, 256)  # k, n, m
SMALL = (8, 8, 1)


def contenders(k, n, m, dtype, rng):
    W = (rng.standard_normal((k, n)) / np.sqrt(n)).astype(dtype)
    X = rng.standard_normal((n, m)).astype(dtype)
    b = rng.standard_normal((k, 1)).astype(dtype)
    dY = rng.standard_normal((k, m)).astype(dtype)
    D = dY.copy()
    grads = gradients("layer_batch", activation="sigmoid")

    def floor():
        return W @ X, D @ X.T, W.T @ D

    def plain():
        Z = W @ X + b
        S = 1 / (1 + np.exp(-Z))
        D = dY * S * (1 - S)
        return D @ X.T, W.T @ D, D.sum(axis=1, keepdims=True)

    def generated():
        return grads(W=W, X=X, b=b, dY=dY)

    out = {"floor": floor, "plain": plain, "generated": generated}
    torch = _torch()
    if torch is not None:
        tW, tX, tb, tdY = (torch.from_numpy(a) for a in (W, X, b, dY))

        def autograd():
            w, x, c = (t.detach().requires_grad_() for t in (tW, tX, tb))
            torch.sigmoid(w @ x + c).backward(tdY)
            return w.grad, x.grad, c.grad

        out["torch"] = autograd
    return out


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def measure(fns: dict, seconds: float, rounds: int) -> dict:
    """Best time per call of each function, rounds interleaved."""
    number = {}
    for name, fn in fns.items():  # calls per round: about seconds / rounds / len(fns)
        fn()
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < 0.05:
            fn()
            count += 1
        per = (time.perf_counter() - start) / count
        number[name] = max(1, int(seconds / rounds / len(fns) / per))
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(number[name]):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / number[name])
    return best


def check(fns: dict):
    """Every contender computes the same gradients."""
    ref = fns["plain"]()
    got = fns["generated"]()
    for r, g in zip(ref, (got["W"], got["X"], got["b"])):
        tol = 1e-3 if r.dtype == np.float32 else 1e-9
        assert np.allclose(r, g, rtol=tol, atol=tol), "generated gradients disagree with plain NumPy"
        assert g.dtype == r.dtype


def load_times() -> dict:
    """Seconds to `gradients(...)` in a new process: empty cache, then warm."""
    code = ("import time; t = time.perf_counter(); import numpy; u = time.perf_counter(); "
            "from numeric import gradients; gradients('layer_batch', activation='sigmoid'); "
            "import sys; print(time.perf_counter() - t, u - t, 'sympy' in sys.modules)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, GRADPROOF_CACHE=cache)
        for label in ("cold", "warm"):
            run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            total, numpy_import, sympy = run.stdout.split()
            out[label] = (float(total), float(numpy_import), sympy == "True")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m numeric.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="time per size and dtype (default 6)")
    ap.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"{os.cpu_count()} cores; torch {'installed' if _torch() else 'not installed (skipped)'}")
    print(f"{'k, n, m':<16}{'dtype':<9}" + "".join(f"{c:>20}" for c in ("floor", "plain", "generated", "torch")))
    for size in (LARGE, SMALL):
        for dtype in (np.float64, np.float32):
            fns = contenders(*size, dtype, rng)
            check(fns)
            best = measure(fns, args.seconds, args.rounds)
            cells = []
            for name in ("floor", "plain", "generated", "torch"):
                if name not in best:
                    cells.append(f"{'-':>20}")
                    continue
                t = best[name]
                unit = f"{t * 1e3:.3f} ms" if t > 1e-3 else f"{t * 1e6:.1f} us"
                ratio = t / best["floor"]
                cells.append(f"{unit} ({ratio:.2f}x)".rjust(20))
            line = f"{', '.join(map(str, size)):<16}{np.dtype(dtype).name:<9}" + "".join(cells)
            print(line + f"   generated/plain {best['generated'] / best['plain']:.2f}")
    print("ratios in parentheses are to the floor (the three matrix products alone)")
    times = load_times()
    for label, (total, numpy_import, sympy) in times.items():
        print(f"load, {label} cache: {total:.3f} s in a new process (of which import numpy {numpy_import:.3f} s); "
              f"SymPy imported: {'yes' if sympy else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
