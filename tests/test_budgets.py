"""Budgets bound the whole run: hostile files end within the budget plus a
small constant, under a memory cap, with `unknown` and the stage that
stopped, never a kill, a hang or a traceback; in the main thread, in
another thread and through the Python API alike."""
from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time

import pytest

from symbolic import load, verify
from symbolic.budget import OutOfTime, budget

BUDGET = 3.0
SLACK = 2.5  # start-up (imports, reading the file) and the last interruption
MEMORY_CAP = 2 * 1024 ** 3  # bytes of peak resident memory a run may use


def squares(levels: int) -> str:
    """z_i = z_{i-1} * z_{i-1}: every form doubles at each level."""
    lines = ['title = "repeated squaring"', 'output = "y"', 'upstream = "dY"', "[dims]", 'n = "n"',
             "[inputs]", 'x = "n x 1"', "[forward]", 'z0 = "x"']
    lines += [f'z{i} = "z{i - 1} * z{i - 1}"' for i in range(1, levels + 1)]
    lines += [f'y = "z{levels}"', "[claims]", 'x = "dY * x"']
    return "\n".join(lines) + "\n"


def product_chain(factors: int) -> str:
    """A chain of `factors` matrix products over as many + 1 dims, with a
    claim only explicit sizes could settle (sigmoid written out)."""
    dims = [f"d{i}" for i in range(factors + 1)]
    lines = ['title = "a long product"', 'output = "y"', 'upstream = "dY"', "[dims]"]
    lines += [f'{d} = "{d}"' for d in dims] + ["[inputs]"]
    lines += [f'A{i} = "{dims[i]} x {dims[i + 1]}"' for i in range(factors)]
    rest = " @ ".join(f"A{i}" for i in range(1, factors))
    lines += ["[forward]", 'y = "' + " @ ".join(f"A{i}" for i in range(factors)) + '"', "[claims]",
              f'A0 = "dY @ ({rest}).T + sigmoid(A0) - 1 / (1 + exp(-A0))"']
    return "\n".join(lines) + "\n"


def many_inputs(count: int) -> str:
    lines = ['title = "many inputs"', 'output = "y"', 'upstream = "dY"', "[inputs]"]
    lines += [f'x{i} = "1 x 1"' for i in range(count)]
    lines += ["[forward]", 'y = "' + " + ".join(f"x{i}" for i in range(50)) + '"', "[claims]", 'x0 = "dY"']
    return "\n".join(lines) + "\n"


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (2 * MEMORY_CAP, 2 * MEMORY_CAP))


def run_cli(args, timeout=60):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "symbolic.cli", *args], capture_output=True, text=True,
                         timeout=timeout, preexec_fn=_limit_memory)
    wall = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return run, wall, max(peak, before * 1024)


HOSTILE = {
    "squares_20": lambda: squares(20),
    "product_chain_12": lambda: product_chain(12),
    "inputs_20000": lambda: many_inputs(20000),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_ends_within_its_budget_and_memory(tmp_path, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(HOSTILE[name]())
    run, wall, peak = run_cli(["verify", "--budget", str(BUDGET), "--max-size", "6", str(path)])
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode in (0, 1), (run.returncode, run.stdout, run.stderr)
    assert "1 claim in 1 file" in run.stdout, run.stdout
    if "? unknown" in run.stdout:
        assert "budget" in run.stdout or "too large" in run.stdout, run.stdout  # says what stopped
    assert wall < BUDGET + SLACK, f"{name}: {wall:.1f} s for a budget of {BUDGET} s"
    assert peak < MEMORY_CAP, f"{name}: {peak / 2 ** 20:.0f} MiB"


def test_derive_command_is_bounded_too(tmp_path):
    path = tmp_path / "squares.toml"
    path.write_text(squares(20))
    run, wall, _ = run_cli(["derive", "--budget", str(BUDGET), str(path)])
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1
    # written out, the closed form has 1.5 million nodes; by the forward values' names it is short
    assert "dJ/dx = 1048576 * (dY * z19 * z18 * z17" in run.stdout
    assert "NOT confirmed" in run.stdout
    assert wall < 2 * BUDGET + SLACK  # deriving, then the check of the closed forms


def test_a_counterexample_with_huge_values_prints(tmp_path):
    path = tmp_path / "squares.toml"
    path.write_text(squares(16))
    (v,) = verify(load(path), default_budget=20)
    assert v.status == "refuted"
    true = v.counterexample.true_value[0][0]  # at n = 2: every dim at least 2 comes first
    assert "e+" in true and len(true) < 40, true  # 20 digits and an exponent, not 20,000 digits


def test_budget_holds_off_the_main_thread(tmp_path):
    path = tmp_path / "chain.toml"
    path.write_text(product_chain(8))
    d = load(path)
    out = {}

    def work():
        start = time.monotonic()
        out["verdicts"] = verify(d, max_size=6, default_budget=1.0)
        out["wall"] = time.monotonic() - start
    t = threading.Thread(target=work)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive()
    (v,) = out["verdicts"]
    assert v.status == "unknown" and "budget" in v.detail, v.detail
    assert out["wall"] < 1.0 + 1.0


def test_nested_budgets_keep_the_earlier_deadline_and_leave_nothing_behind():
    start = time.monotonic()
    with pytest.raises(OutOfTime):
        with budget(0.2):
            with budget(30):
                while True:
                    pass
    assert time.monotonic() - start < 1.0
    for _ in range(100):  # budgets that end in time send nothing later
        with budget(0.001):
            sum(range(10))
    time.sleep(0.1)


def test_code_that_swallows_exceptions_cannot_outlive_its_budget():
    start = time.monotonic()
    with pytest.raises(OutOfTime):
        with budget(0.2):
            while True:
                try:
                    sum(range(1000))
                except Exception:  # a library's broad handler
                    pass
    assert time.monotonic() - start < 1.0
