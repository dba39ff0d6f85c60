"""The `gradproof` command: verdict lines, JSON, exit codes, list, derive."""
import json
import re
import os
import subprocess
import sys

from fixtures import LAYER
from symbolic.cli import main

WRONG = LAYER.replace("a layer", "wrong claims") + '''
[claims]
W = "(dY * g'(z)) @ x"
b = "g'(z)"
x = "W.T @ (dY * g'(z))"
'''

SLOW = '''
title = "a claim only explicit sizes can settle"
output = "Yhat"
upstream = "dY"
[dims]
n = "inputs"
k = "neurons"
m = "batch"
[inputs]
W = "k x n"
X = "n x m"
b = "k x 1"
[forward]
Z = "W @ X + b"
Yhat = "sigmoid(Z)"
[claims]
X = { expr = "W.T @ (dY * exp(-Z) / (1 + exp(-Z))**2)", budget = 0.5 }
'''


def test_verify_catalogue_exits_0_with_a_summary(capsys):
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert _verdict_line(out, "proved for every size", "dJ/dW = (dY * g'(z)) @ x.T")
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ claims in \d+ files: \d+ proved", last), last


def test_verify_reports_refutation_shape_error_repair_and_exits_1(tmp_path, capsys):
    path = tmp_path / "wrong.toml"
    path.write_text(WRONG)
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert _verdict_line(out, "shape error", "dJ/dW = (dY * g'(z)) @ x")
    assert "`x` should be `x.T`" in out
    assert _verdict_line(out, "refuted", "dJ/db = g'(z)")
    assert "derived: dJ/db = dY * g'(z)" in out
    assert "counterexample at" in out and "g(t) = t**2" in out  # the simplest polynomial that shows it
    assert _verdict_line(out, "proved for every size", "dJ/dx = W.T @ (dY * g'(z))")


def _verdict_line(out, headline, claim):
    """The table row of a claim: mark, verdict, claim, in aligned columns."""
    return re.search(rf"^  \S+ +{re.escape(headline)} +{re.escape(claim)}$", out, re.M)


def test_json_output_follows_the_documented_schema(tmp_path, capsys):
    path = tmp_path / "wrong.toml"
    path.write_text(WRONG)
    assert main(["verify", "--format", "json", str(path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 1
    assert doc["summary"] == {"proved": 1, "proved-up-to": 0, "refuted": 1, "shape-error": 1, "unknown": 0}
    by = {c["claim"]: c for c in doc["claims"]}
    keys = {"file", "derivation", "claim", "expr", "verdict", "detail", "derived", "sizes", "seconds",
            "counterexample", "repair"}
    assert all(set(c) == keys for c in doc["claims"])
    assert by["W"]["verdict"] == "shape-error" and by["W"]["repair"]["text"] == "(dY * g'(z)) @ x.T"
    ce = by["b"]["counterexample"]
    assert by["b"]["verdict"] == "refuted"
    assert set(ce) == {"sizes", "point", "function", "coefficients", "claim_value", "true_value", "exact",
                       "first_difference"}
    assert ce["exact"] is True and ce["claim_value"] != ce["true_value"]
    assert by["b"]["repair"]["text"] == "dY * g'(z)"


def test_budget_turns_an_undecided_claim_into_unknown(tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text(SLOW)
    run = subprocess.run([sys.executable, "-m", "symbolic.cli", "verify", "--format", "json", str(path)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert run.returncode == 1, run.stderr
    (claim,) = json.loads(run.stdout)["claims"]
    assert claim["verdict"] == "unknown" and "budget of 0.5 s" in claim["detail"]


def test_without_budget_pressure_the_slow_claim_is_proved_up_to_2(tmp_path, capsys):
    path = tmp_path / "slow.toml"
    path.write_text(SLOW.replace("budget = 0.5", "budget = 60"))
    assert main(["verify", "--max-size", "2", str(path)]) == 0
    assert _verdict_line(capsys.readouterr().out, "proved for sizes up to 2",
                         "dJ/dX = W.T @ (dY * exp(-Z) / (1 + exp(-Z))**2)")


def test_list_names_every_catalogue_entry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ["perceptron ", "layer_batch_sigmoid", "two_layers "]:
        assert name in out


def test_derive_prints_steps_and_checked_closed_forms(tmp_path, capsys):
    path = tmp_path / "noclaims.toml"
    path.write_text(WRONG.split("[claims]")[0])
    assert main(["derive", str(path)]) == 0
    out = capsys.readouterr().out
    assert "dz = dY * g'(z)" in out and "dW = dz @ x.T" in out
    assert "dJ/dx = W.T @ (dY * g'(z))   [proved for every size]" in out


def test_derive_accepts_a_catalogue_name_and_an_activation(capsys):
    assert main(["derive", "layer_batch", "--activation", "tanh"]) == 0
    assert "tanh'(Z)" in capsys.readouterr().out


def test_the_catalogue_is_found_in_a_checkout_or_under_the_install_prefix(tmp_path):
    from symbolic.catalogue import CATALOGUE, find_catalogue
    assert (CATALOGUE / "layer.toml").is_file()
    package = tmp_path / "site-packages" / "symbolic"
    package.mkdir(parents=True)
    shared = tmp_path / "prefix" / "share" / "gradproof" / "derivations"
    shared.mkdir(parents=True)
    assert find_catalogue(package, tmp_path / "prefix") == shared
    (package.parent / "derivations").mkdir()
    assert find_catalogue(package, tmp_path / "prefix") == package.parent / "derivations"
