"""Wall time of `gradproof verify` on the bundled catalogue, imports
included, beside a baseline measured in the same run: a Python process
that only imports SymPy and NumPy.

    python -m symbolic.bench [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def wall(cmd: list, runs: int) -> list:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m symbolic.bench")
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args(argv).runs
    base = wall([sys.executable, "-c", "import sympy, numpy"], runs)
    verify = wall([sys.executable, "-m", "symbolic.cli", "verify"], runs)
    b, v = statistics.median(base), statistics.median(verify)
    print(f"runs: {runs} each (median; min..max)")
    print(f"import sympy, numpy only : {b:6.2f} s  ({min(base):.2f}..{max(base):.2f})")
    print(f"gradproof verify         : {v:6.2f} s  ({min(verify):.2f}..{max(verify):.2f})")
    print(f"ratio verify / imports   : {v / b:6.2f}")


if __name__ == "__main__":
    main()
