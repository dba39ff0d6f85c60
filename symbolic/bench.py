"""Wall time of `gradproof verify`, imports included, beside a baseline
measured in the same run: a Python process that only imports SymPy and
NumPy.

- the bundled catalogue;
- start-up (`gradproof --help`), a second `verify` answered from the
  verdict cache, and a cold `verify --no-cache` with `--jobs 1` and
  `--jobs 2`;
- a chain of L dense layers (`z_i = W_i @ a_{i-1} + b_i`, `a_i = g(z_i)`),
  with a claim for every weight, bias and the input, as `gradproof derive`
  writes them, for L = 1, 2, 4, 8, 16, 32, with a generic `g` and with
  sigmoid: the time should grow about linearly in L.

    python -m symbolic.bench [--runs N] [--depths 1,2,4,8,16,32]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import expr as E
from .derive import derive
from .load import load


def chain(layers: int, activation: str = "elementwise") -> str:
    """A derivation file: `layers` dense layers, each `g(W_i @ a_{i-1} + b_i)`,
    with the derived gradient of every input as its claim."""
    lines = [f'title = "a chain of {layers} dense layers"', f'output = "a{layers}"', 'upstream = "dY"', "[dims]"]
    lines += [f'n{i} = "width {i}"' for i in range(layers + 1)]
    lines += ["[inputs]", 'x = "n0 x 1"']
    for i in range(1, layers + 1):
        lines += [f'W{i} = "n{i} x n{i - 1}"', f'b{i} = "n{i} x 1"']
    lines += ["[functions]", f'g = "{activation}"', "[forward]", 'a0 = "x"']
    for i in range(1, layers + 1):
        lines += [f'z{i} = "W{i} @ a{i - 1} + b{i}"', f'a{i} = "g(z{i})"']
    text = "\n".join(lines) + "\n"
    return text + "[claims]\n" + "".join(f'{name} = "{form}"\n' for name, form in _derived(text))


def _derived(text: str) -> list:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chain.toml"
        path.write_text(text)
        d = load(path)
        return [(name, E.text(e)) for name, e in derive(d).closed.items()]


def wall(cmd: list, runs: int, env=None) -> tuple:
    times, out = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env).stdout
        times.append(time.perf_counter() - start)
    return times, out


def _line(label: str, times: list) -> str:
    return f"{label:<25}: {statistics.median(times):6.2f} s  ({min(times):.2f}..{max(times):.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m symbolic.bench")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--depths", default="1,2,4,8,16,32", help="numbers of layers of the chains")
    args = ap.parse_args(argv)
    runs = args.runs
    cli = [sys.executable, "-m", "symbolic.cli"]
    base, _ = wall([sys.executable, "-c", "import sympy, numpy"], runs)
    verify, _ = wall(cli + ["verify", "--no-cache"], runs)
    b, v = statistics.median(base), statistics.median(verify)
    print(f"runs: {runs} each (median; min..max); {os.cpu_count()} cores")
    print(_line("import sympy, numpy only", base))
    print(_line("gradproof verify", verify))
    print(f"ratio verify / imports   : {v / b:6.2f}")
    print(_line("gradproof --help", wall(cli + ["--help"], runs)[0]))
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "GRADPROOF_CACHE": folder}
        wall(cli + ["verify"], 1, env)  # fills the cache
        print(_line("verify, from the cache", wall(cli + ["verify"], runs, env)[0]))
    print(_line("verify --jobs 1, cold", wall(cli + ["verify", "--no-cache", "--jobs", "1"], runs)[0]))
    print(_line("verify --jobs 2, cold", wall(cli + ["verify", "--no-cache", "--jobs", "2"], runs)[0]))
    depths = [int(x) for x in args.depths.split(",") if x]
    if not depths:
        return
    print("\nchains of L dense layers, `gradproof verify` of every claim (median; min..max):")
    print(f"{'L':>3}  {'claims':>6}  {'generic g':<34}  {'sigmoid':<34}")
    with tempfile.TemporaryDirectory() as folder:
        for layers in depths:
            cells = []
            for activation in ("elementwise", "sigmoid"):
                path = Path(folder) / f"chain{layers}_{activation}.toml"
                path.write_text(chain(layers, activation))
                times, out = wall(cli + ["verify", "--no-cache", "--format", "json", str(path)], max(1, runs // 2))
                summary = json.loads(out)["summary"]["claims"] if out.strip() else {}
                proved = summary.get("proved", 0)
                cells.append(f"{statistics.median(times):6.2f} s ({min(times):.2f}..{max(times):.2f}), "
                             f"{proved} proved")
            print(f"{layers:>3}  {2 * layers + 1:>6}  {cells[0]:<34}  {cells[1]:<34}")


if __name__ == "__main__":
    main()
