"""The same verdicts on a busy machine: budgets count the CPU time of the
checking thread, so two processes spinning beside the check change how
long it takes, not what it decides."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sympy.core.cache import clear_cache

from symbolic import load, verify
from symbolic.budget import cpu_time
from symbolic.catalogue import CATALOGUE
from test_budgets import SIGMOID_WRITTEN_OUT

BUSY = 2  # processes spinning beside the check
# (file, budget per claim, the verdict it reaches within it): the first two
# depend on the budget (every size up to 2 takes 0.4 s of CPU time, up to 3
# takes 2.1 s), the catalogue's within a budget of 0.5 s
CASES = [("written_out", 0.1, ("unknown", None)), ("written_out", 0.9, ("proved-up-to", 2)),
         ("logistic_regression", 0.5, ("proved", None)), ("softmax_ce", 0.5, ("proved", None))]


@pytest.fixture
def files(tmp_path):
    path = tmp_path / "written_out.toml"
    path.write_text(SIGMOID_WRITTEN_OUT.replace(", budget = BUDGET", ""))
    return {"written_out": path, **{name: CATALOGUE / f"{name}.toml" for name, _, _ in CASES[2:]}}


def verdicts(files) -> list:
    """(file, claim, verdict, sizes) of every case, each from a cold start."""
    out = []
    for name, seconds, _ in CASES:
        clear_cache()  # SymPy's: each run does the same work
        for v in verify(load(files[name]), max_size=3, default_budget=seconds):
            out.append((name, seconds, v.wrt, v.status, v.sizes))
    return out


def test_two_busy_processes_change_no_verdict(files):
    idle = verdicts(files)
    assert [(name, seconds, status, sizes) for name, seconds, _, status, sizes in idle
            if name == "written_out"] == [(n, s, *want) for n, s, want in CASES[:2]]
    assert all(status == "proved" for name, _, _, status, _ in idle if name != "written_out"), idle
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BUSY)]
    try:
        time.sleep(0.2)  # both spinning
        wall, cpu = time.monotonic(), cpu_time()
        busy = verdicts(files)
        wall, cpu = time.monotonic() - wall, cpu_time() - cpu
        assert all(p.poll() is None for p in spinners)  # the load lasted the whole run
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    print(f"under load: {wall:.2f} s of wall-clock time, {cpu:.2f} s of CPU time")
    assert busy == idle
