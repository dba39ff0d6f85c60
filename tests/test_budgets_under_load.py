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
# (file, budget per claim): the first two depend on the budget (every size
# up to 2 takes 0.4 s of CPU time, up to 3 takes 2.1 s); then the
# catalogue's layer with a wrong claim and its repair, and two entries of
# the catalogue as they are
CASES = [("written_out", 0.1), ("written_out", 0.9), ("wrong_layer", 0.5), ("logistic_regression", 0.5),
         ("softmax_ce", 0.5)]


@pytest.fixture
def files(tmp_path):
    written_out, wrong = tmp_path / "written_out.toml", tmp_path / "wrong_layer.toml"
    written_out.write_text(SIGMOID_WRITTEN_OUT.replace(", budget = BUDGET", ""))
    layer = (CATALOGUE / "layer.toml").read_text()
    wrong.write_text(layer.replace('W = "(dY * g\'(z)) @ x.T"', 'W = "dY @ x.T"'))
    return {"written_out": written_out, "wrong_layer": wrong,
            **{name: CATALOGUE / f"{name}.toml" for name, _ in CASES[3:]}}


def verdicts(files) -> list:
    """(file, budget, claim, verdict, sizes, repair) of every case, each from
    a cold start."""
    out = []
    for name, seconds in CASES:
        clear_cache()  # SymPy's: each run does the same work
        for v in verify(load(files[name]), max_size=3, default_budget=seconds):
            out.append((name, seconds, v.wrt, v.status, v.sizes, v.repair.text if v.repair else None))
    return out


def test_two_busy_processes_change_no_verdict(files):
    idle = verdicts(files)
    assert idle[:4] == [("written_out", 0.1, "x", "unknown", None, None),
                        ("written_out", 0.9, "x", "proved-up-to", 2, None),
                        ("wrong_layer", 0.5, "W", "refuted", None, "dY * g'(z) @ x.T"),
                        ("wrong_layer", 0.5, "b", "proved", None, None)], idle
    assert all(status == "proved" for _, _, _, status, _, _ in idle[4:]), idle
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
