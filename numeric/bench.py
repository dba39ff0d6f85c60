"""`python -m numeric.bench`: the generated gradients against the floor.

A sigmoid layer over a batch, forward and all three gradients, timed side
by side in one run (calls interleaved, the fastest of each kept):

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


def _busy() -> float | None:
    """CPU seconds all processes have used since boot (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    user, nice, system = (int(x) for x in fields[:3])
    irq, softirq, steal = (int(x) for x in fields[5:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own() -> float:
    t = os.times()
    return t.user + t.system


def measure(fns: dict, seconds: float) -> tuple:
    """Best time per call of each function, and the share of rounds kept.

    Calls run in batches (about 2 ms each, one call at large sizes), all
    functions in turn, round after round until `seconds` have passed; the
    fastest batch of each is kept.  An untimed call precedes each batch:
    how much memory the allocator keeps depends on what ran last, and a
    function called in a loop meets the state its own last call left.  A round during which other processes
    used more than 5% of the machine is dropped (Linux), so the figures
    come from quiet moments even on a shared machine."""
    number = {}
    for name, fn in fns.items():
        fn()
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < 0.02:
            fn()
            count += 1
        number[name] = max(1, int(0.002 * count / (time.perf_counter() - start)))
    cores = os.cpu_count() or 1
    best = {name: float("inf") for name in fns}
    fallback = dict(best)
    kept = rounds = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or (kept == 0 and time.perf_counter() < end + 2 * seconds):
        busy, own, wall = _busy(), _own(), time.perf_counter()
        times = {}
        for _ in range(3):
            for name, fn in fns.items():
                fn()  # untimed: each is timed in the state its own calls leave the heap in
                start = time.perf_counter()
                for _ in range(number[name]):
                    fn()
                t = (time.perf_counter() - start) / number[name]
                times[name] = min(times.get(name, t), t)
        rounds += 1
        wall = time.perf_counter() - wall
        quiet = busy is None or (_busy() - busy) - (_own() - own) < 0.05 * cores * wall
        for name, t in times.items():
            fallback[name] = min(fallback[name], t)
            if quiet:
                best[name] = min(best[name], t)
        kept += quiet
    return (best if kept else fallback), kept / rounds


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
    ap.add_argument("--seconds", type=float, default=8.0, help="time per size and dtype (default 8)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"{os.cpu_count()} cores; torch {'installed' if _torch() else 'not installed (skipped)'}")
    print(f"{'k, n, m':<16}{'dtype':<9}" + "".join(f"{c:>20}" for c in ("floor", "plain", "generated", "torch")))
    for size in (LARGE, SMALL):
        for dtype in (np.float64, np.float32):
            fns = contenders(*size, dtype, rng)
            check(fns)
            best, kept = measure(fns, args.seconds)
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
            print(line + f"   generated/plain {best['generated'] / best['plain']:.2f}"
                         f"   ({kept:.0%} of rounds quiet)")
    print("ratios in parentheses are to the floor (the three matrix products alone)")
    times = load_times()
    for label, (total, numpy_import, sympy) in times.items():
        print(f"load, {label} cache: {total:.3f} s in a new process (of which import numpy {numpy_import:.3f} s); "
              f"SymPy imported: {'yes' if sympy else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
