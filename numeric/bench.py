"""`python -m numeric.bench`: the generated gradients against the floor.

A sigmoid layer over a batch, forward and all three gradients, timed side
by side in one run, for the shapes of `SHAPES`:

- floor: the three matrix products alone (`W @ X`, `D @ X.T`, `W.T @ D`);
- plain: NumPy as written by hand, `S = 1/(1+exp(-Z)); D = dY*S*(1-S); ...`;
- generated: `numeric.gradients("layer_batch", activation="sigmoid", numba=False)`, NumPy's helpers;
- export: the same NumPy module as `gradproof export` writes it, imported from the file;
- numba: `numeric.gradients(..., numba=True)`, the compiled twins (the default where numba is installed);
- torch, jax: PyTorch's CPU autograd and JAX's `jit`-ed `vjp`, where installed.

Each round times every contender once (an untimed call first, so each
meets the heap its own calls leave: warm buffers), and divides by the
floor of the same round.  Printed: the min and the median of those ratios
over the rounds; minor page faults a call (`resource.getrusage`, during the
timed calls); and the peak memory a call allocates beyond its arguments
(`tracemalloc`, which sees NumPy's arrays but not PyTorch's or JAX's).
Then, with `--passes`, the generated function's steps timed one by one
(the three products and each pass of the elementwise work: where the time
over the floor goes), and the load time of the generated module in a new
process, with an empty cache (SymPy derives and verifies) and with a warm
one.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

from . import export, fast, gradients

SHAPES = [((1024, 1024, 256), np.float64), ((1024, 1024, 256), np.float32), ((256, 256, 1024), np.float64),
          ((4096, 4096, 64), np.float32), ((8, 8, 1), np.float64)]
COLUMNS = ("floor", "plain", "generated", "export", "numba", "torch", "jax")


def _exported():
    """The NumPy-only module, written by `export` and imported from its file."""
    import importlib.util
    folder = tempfile.mkdtemp(prefix="gradproof-bench-")
    path = os.path.join(folder, "layer_batch_sigmoid.py")
    export("layer_batch", activation="sigmoid", out=path)
    spec = importlib.util.spec_from_file_location("layer_batch_sigmoid", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the text gradproof generated
    return module


def contenders(k, n, m, dtype, rng, frameworks):
    W = (rng.standard_normal((k, n)) / np.sqrt(n)).astype(dtype)
    X = rng.standard_normal((n, m)).astype(dtype)
    b = rng.standard_normal((k, 1)).astype(dtype)
    dY = rng.standard_normal((k, m)).astype(dtype)
    D = dY.copy()
    generated = gradients("layer_batch", activation="sigmoid", numba=False)
    exported = _exported()

    def floor():
        return W @ X, D @ X.T, W.T @ D

    def plain():
        Z = W @ X + b
        S = 1 / (1 + np.exp(-Z))
        D = dY * S * (1 - S)
        return D @ X.T, W.T @ D, D.sum(axis=1, keepdims=True)

    out = {"floor": floor, "plain": plain,
           "generated": lambda: generated(W, X, b, dY),
           "export": lambda: exported.gradients(W, X, b, dY)}
    if fast.available():
        compiled = gradients("layer_batch", activation="sigmoid", numba=True)
        out["numba"] = lambda: compiled(W, X, b, dY)
    torch = frameworks.get("torch")
    if torch is not None:
        tW, tX, tb, tdY = (torch.from_numpy(a) for a in (W, X, b, dY))

        def autograd():
            w, x, c = (t.detach().requires_grad_() for t in (tW, tX, tb))
            torch.sigmoid(w @ x + c).backward(tdY)
            return w.grad, x.grad, c.grad

        out["torch"] = autograd
    jax = frameworks.get("jax")
    if jax is not None:
        args = [jax.device_put(a) for a in (W, X, b, dY)]
        vjp = jax.jit(lambda W, X, b, dY: jax.vjp(lambda W, X, b: jax.nn.sigmoid(W @ X + b), W, X, b)[1](dY))
        out["jax"] = lambda: jax.block_until_ready(vjp(*args))
    return out


def _frameworks() -> dict:
    found = {}
    try:
        import torch
        found["torch"] = torch
    except ImportError:
        pass
    try:
        import jax
        jax.config.update("jax_enable_x64", True)  # float64 in, float64 out, as here
        found["jax"] = jax
    except ImportError:
        pass
    return found


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


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(fns: dict, seconds: float) -> dict:
    """{name: (ratios to the floor, one a round; page faults a call; quiet share)}.

    A round runs the functions in turn three times over, each time one
    untimed call, then a batch of calls (about 2 ms, at least one call)
    timed as one; a function's time in the round is its fastest batch, and
    its ratio in the round that time over the floor's.  Rounds go on until
    `seconds` have passed (at least 5).  `best`: the fastest batch of each
    over the whole run."""
    number = {}
    for name, fn in fns.items():
        fn()
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < 0.02:
            fn()
            count += 1
        number[name] = max(1, int(0.002 * count / (time.perf_counter() - start)))
    cores = os.cpu_count() or 1
    ratios = {name: [] for name in fns}
    faults = {name: [] for name in fns}
    floors, quiet, rounds = [], 0, 0
    best = {name: float("inf") for name in fns}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or rounds < 5:
        busy, own, wall = _busy(), _own(), time.perf_counter()
        times = {name: float("inf") for name in fns}
        for _ in range(3):  # interleaved, so that a burst of load meets the floor as often as the others
            for name, fn in fns.items():
                fn()  # untimed: each is timed in the state its own calls leave the heap in
                f0, start = _faults(), time.perf_counter()
                for _ in range(number[name]):
                    fn()
                times[name] = min(times[name], (time.perf_counter() - start) / number[name])
                faults[name].append((_faults() - f0) / number[name])
        wall = time.perf_counter() - wall
        quiet += busy is None or (_busy() - busy) - (_own() - own) < 0.05 * cores * wall
        rounds += 1
        floors.append(times["floor"])
        for name, t in times.items():
            ratios[name].append(t / times["floor"])
            best[name] = min(best[name], t)
    return {"floor": min(floors), "quiet": quiet / rounds, "rounds": rounds, "ratios": ratios, "best": best,
            "faults": {n: statistics.median(f) for n, f in faults.items()}}


def peak_memory(fns: dict) -> dict:
    """Bytes a call allocates at its peak, beyond what was allocated before it
    (NumPy's arrays; what PyTorch and JAX allocate is not seen)."""
    out = {}
    tracemalloc.start()
    try:
        for name, fn in fns.items():
            if name in ("torch", "jax"):
                continue
            fn()
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            result = fn()
            out[name] = tracemalloc.get_traced_memory()[1] - before
            del result
    finally:
        tracemalloc.stop()
    return out


def check(fns: dict):
    """Every contender computes the same gradients."""
    ref = fns["plain"]()
    for name in ("generated", "export", "numba"):
        if name not in fns:
            continue
        got = fns[name]()
        for r, g in zip(ref, (got["W"], got["X"], got["b"])):
            tol = 1e-3 if r.dtype == np.float32 else 1e-9
            assert np.allclose(r, g, rtol=tol, atol=tol), f"{name} gradients disagree with plain NumPy"
            assert g.dtype == r.dtype


def passes(k, n, m, dtype, rng, repeat: int = 30) -> dict:
    """{step: seconds}, the fastest of `repeat` runs of each step of the
    generated `gradients` alone, with the module's own helpers, on arrays
    that stay in place (as in a call: `Z` is the product's buffer).  The
    products (BLAS, on every core) in wall time; the elementwise passes,
    which run on the calling thread alone, in that thread's CPU time, which
    other processes on the machine change less than they change wall time.
    The NumPy helper's passes one by one (the bias, the slope, the row sum:
    the helper makes them in turn), then, where numba is installed, the
    compiled twin's one pass doing all three ("numba"), and the same loop
    over rows on every core ("numba, all cores", in wall time: not what
    `gradients` runs, see `numeric.fast`)."""
    module = gradients("layer_batch", activation="sigmoid", numba=False).module
    W = (rng.standard_normal((k, n)) / np.sqrt(n)).astype(dtype)
    X = rng.standard_normal((n, m)).astype(dtype)
    b = rng.standard_normal((k, 1)).astype(dtype)
    dY = rng.standard_normal((k, m)).astype(dtype)
    Z = W @ X
    Z0 = Z.copy()
    db = np.empty((k, 1), dtype)
    steps = {"W @ X": lambda: np.matmul(W, X, out=Z),
             "Z += b": lambda: module._with_column(np.add, Z, b),
             "sigmoid slope": lambda: module._sigmoid_slope(Z, dY, out=Z),
             "dZ @ X.T": lambda: Z @ X.T,
             "W.T @ dZ": lambda: W.T @ Z,
             "db = sum": lambda: module._sum_along(Z, 1)}
    if fast.available():
        parallel = fast.kernel(dtype, parallel=True)
        steps["numba"] = lambda: fast.sigmoid_slope(Z, dY, out=Z, column=b, sums=True)
        steps["numba, all cores"] = lambda: parallel(Z, b.reshape(-1), dY, db.reshape(-1), True)
    out = {}
    for name, step in steps.items():
        step()  # numba compiles at its first call
        best = float("inf")
        for _ in range(repeat):
            np.copyto(Z, Z0)  # the slope's input is Z + b, not what the last run left
            clock = time.perf_counter if "@" in name or "cores" in name else time.thread_time
            start = clock()
            step()
            best = min(best, clock() - start)
        out[name] = best
    return out


def load_times() -> dict:
    """Seconds to `gradients(...)` (the default: numba's twins where it is
    installed, imported at their first large call) in a new process: empty
    cache, then warm."""
    code = ("import time; t = time.perf_counter(); import numpy; u = time.perf_counter(); "
            "from numeric import gradients; gradients('layer_batch', activation='sigmoid'); "
            "import sys; print(time.perf_counter() - t, u - t, 'sympy' in sys.modules, 'numba' in sys.modules)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, GRADPROOF_CACHE=cache)
        for label in ("cold", "warm"):
            run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            total, numpy_import, sympy, numba = run.stdout.split()
            out[label] = (float(total), float(numpy_import), sympy == "True", numba == "True")
    return out


def _versions(frameworks) -> str:
    parts = [f"numpy {np.__version__}", f"{os.cpu_count()} cores",
             f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"]
    if fast.available():
        import numba
        parts.append(f"numba {numba.__version__}")
    else:
        parts.append("numba not installed (skipped)")
    for name in ("torch", "jax"):
        mod = frameworks.get(name)
        parts.append(f"{name} {mod.__version__}" if mod else f"{name} not installed (skipped)")
    return "; ".join(parts)


def _time(t: float) -> str:
    return f"{t * 1e3:.2f} ms" if t > 1e-3 else f"{t * 1e6:.1f} us"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m numeric.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="time per shape (default 6)")
    ap.add_argument("--no-load", action="store_true", help="skip the load times in new processes")
    ap.add_argument("--passes", action="store_true", help="time the generated function's steps one by one")
    ap.add_argument("--shape", action="append", metavar="K,N,M/DTYPE",
                    help="only this shape, e.g. 256,256,1024/float64 (may be repeated)")
    args = ap.parse_args(argv)
    shapes = SHAPES
    if args.shape:
        try:
            shapes = [(tuple(int(d) for d in size.split(",")), np.dtype(dtype).type)
                      for size, dtype in (s.split("/") for s in args.shape)]
        except (ValueError, TypeError):
            ap.error(f"--shape takes K,N,M/DTYPE, as 256,256,1024/float64; got {args.shape}")
    rng = np.random.default_rng(0)
    frameworks = _frameworks()
    print(_versions(frameworks))
    print("time of a call / time of the floor: fastest / fastest over the run, then the median over the rounds\n"
          "of the ratio within a round")
    head = f"{'k, n, m':<17}{'dtype':<8}{'floor':>10}" + "".join(f"{c:>14}" for c in COLUMNS[1:])
    print(head)
    details = []
    for size, dtype in shapes:
        fns = contenders(*size, dtype, rng, frameworks)
        check(fns)
        got = measure(fns, args.seconds)
        memory = peak_memory(fns)
        cells = []
        for name in COLUMNS[1:]:
            r = got["ratios"].get(name)
            fastest = got["best"].get(name, 0.0) / got["best"]["floor"]
            cells.append(f"{fastest:.2f} / {statistics.median(r):.2f}".rjust(14) if r else f"{'-':>14}")
        label = f"{', '.join(map(str, size)):<17}{np.dtype(dtype).name:<8}"
        print(label + f"{_time(got['floor']):>10}" + "".join(cells))
        vs_plain = ([got["best"]["generated"] / got["best"]["plain"]] +
                    [g / p for g, p in zip(got["ratios"]["generated"], got["ratios"]["plain"])])
        details.append((label, got, memory, vs_plain))
    print("\ngenerated / plain (fastest / median); minor page faults a call (median); "
          "peak memory a call allocates (MB):")
    for label, got, memory, vs_plain in details:
        faults = "  ".join(f"{n} {got['faults'][n]:.0f}" for n in COLUMNS if n in got["faults"])
        mem = "  ".join(f"{n} {memory[n] / 2**20:.2f}" for n in COLUMNS if n in memory)
        print(f"{label}generated/plain {vs_plain[0]:.2f} / {statistics.median(vs_plain[1:]):.2f}; "
              f"{got['rounds']} rounds, {got['quiet']:.0%} quiet")
        print(f"{'':25}faults: {faults}")
        print(f"{'':25}memory: {mem}")
    if args.passes:
        print("\nthe generated function's steps alone, fastest of 30 (products: wall time; the passes between\n"
              "them, the elementwise work: CPU time of the one thread that runs them):")
        for size, dtype in shapes:
            got = passes(*size, dtype, rng)
            products = sum(got[s] for s in ("W @ X", "dZ @ X.T", "W.T @ dZ"))
            rest = sum(got[s] for s in ("Z += b", "sigmoid slope", "db = sum"))
            label = f"{', '.join(map(str, size)):<17}{np.dtype(dtype).name:<8}"
            print(label + "  ".join(f"{s} {_time(t)}" for s, t in got.items() if "numba" not in s) +
                  f"; products {_time(products)}, elementwise {_time(rest)} ({rest / products:.1%})")
            if "numba" in got:
                print(f"{'':25}numba: bias, slope and row sum in one pass {_time(got['numba'])} "
                      f"({got['numba'] / products:.1%}); the same loop on all cores "
                      f"{_time(got['numba, all cores'])} ({got['numba, all cores'] / products:.1%})")
    if not args.no_load:
        for label, (total, numpy_import, sympy, numba) in load_times().items():
            print(f"load, {label} cache: {total:.3f} s in a new process (of which import numpy {numpy_import:.3f} s); "
                  f"SymPy imported: {'yes' if sympy else 'no'}; numba: {'yes' if numba else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
