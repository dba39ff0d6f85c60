"""The `gradproof` command: verdict lines, JSON, exit codes, list, derive,
help, bad files among good ones, `--activation` in every command."""
import argparse
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures import LAYER
from symbolic import catalogue_files, load
from symbolic.cli import main

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Every test verifies afresh, with a verdict cache of its own."""
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path / "cache"))

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
    assert main(["verify", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert _verdict_line(out, "proved for every size", "dJ/dW = (dY * g'(z)) @ x.T")
    claims, parts = out.strip().splitlines()[-2:]
    n = len(list(catalogue_files()))
    assert re.fullmatch(rf"\d+ claims in {n} files: \d+ proved", claims), claims
    assert re.fullmatch(r"86 step parts: 76 proved, 5 refuted, 5 shape-error; 10 wrong as the files expect",
                        parts), parts


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
    assert doc["version"] == 4
    assert doc["summary"]["claims"] == {"proved": 1, "proved-up-to": 0, "refuted": 1, "shape-error": 1,
                                        "unknown": 0}
    assert doc["summary"]["files"] == 1 and doc["summary"]["errors"] == 0 and doc["errors"] == []
    by = {c["claim"]: c for c in doc["claims"]}
    keys = {"file", "derivation", "claim", "expr", "verdict", "detail", "derived", "name", "sizes", "except_where",
            "seconds", "stopped", "counterexample", "repair"}
    assert all(set(c) == keys for c in doc["claims"])
    assert by["W"]["verdict"] == "shape-error" and by["W"]["repair"]["text"] == "(dY * g'(z)) @ x.T"
    ce = by["b"]["counterexample"]
    assert by["b"]["verdict"] == "refuted"
    assert set(ce) == {"sizes", "point", "function", "coefficients", "functions", "claim_value", "true_value",
                       "exact", "first_difference"}
    assert ce["functions"] == {"g": ce["coefficients"]} and ce["function"].startswith("g(t) = ")
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


# ---------------------------------------------------------------- help, version

def test_version_and_a_bare_command_print_and_exit_0(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"gradproof \d+\.\d+\.\d+\n", capsys.readouterr().out)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: gradproof") and all(c in out for c in ["verify", "list", "export", "report"])


def _subparsers():
    from symbolic.cli import _parser
    ap = _parser()
    (sub,) = [a for a in ap._actions if isinstance(a, argparse._SubParsersAction)]
    return ap, sub.choices


def test_every_argument_and_option_has_help_text():
    ap, commands = _subparsers()
    for name, parser in [("gradproof", ap), *commands.items()]:
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_verify_help_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = capsys.readouterr().out
    for code, words in [("0", "every claim proved"), ("1", "refuted"), ("2", "bad input"), ("3", "internal error")]:
        assert re.search(rf"^  {code}  .*{words}", out, re.M), (code, out)


def test_the_readme_commands_table_has_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Commands"):readme.index("## LaTeX, reports")]
    _, commands = _subparsers()
    for name in commands:
        assert f"| `gradproof {name}" in table, name


def test_the_activations_written_out_for_a_quick_start_match_the_table():
    from symbolic import cli
    from symbolic.functions import CALLABLE
    assert list(cli.ACTIVATIONS) == CALLABLE


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["list"], ["verify", "--help"]])
def test_help_version_and_list_do_not_import_sympy(args):
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "symbolic.cli", *args], capture_output=True,
                         text=True, cwd=ROOT)
    assert run.returncode == 0 and run.stdout
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time")}
    assert "symbolic" in imported and not any(m.split(".")[0] == "sympy" for m in imported)


def test_list_without_sympy_says_what_loading_says(capsys):
    from symbolic import load
    from symbolic.catalogue import catalogue_files, summary
    for f in catalogue_files():
        d = load(f)
        assert summary(f) == (d.title, len(d.claims))


# ---------------------------------------------------------------- bad files among good ones

def test_a_folder_with_a_bad_file_verifies_the_rest_and_exits_2(tmp_path, capsys):
    (tmp_path / "a_good.toml").write_text(LAYER + '[claims]\nW = "(dY * g\'(z)) @ x.T"\n')
    (tmp_path / "b_bad.toml").write_text(LAYER + '[claims]\nW = "(dY * g\'(z) @ x.T"\n')
    (tmp_path / "c_wrong.toml").write_text(WRONG)
    assert main(["verify", "--jobs", "1", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert _verdict_line(out, "proved for every size", "dJ/dW = (dY * g'(z)) @ x.T")
    assert _verdict_line(out, "refuted", "dJ/db = g'(z)")
    assert err.count("\n") == 1 and err.startswith(f"gradproof: error: {tmp_path / 'b_bad.toml'}: `claims.W`")
    assert "4 claims in 2 files" in out and "1 file not verified: bad input" in out
    assert main(["verify", "--jobs", "1", "--format", "json", str(tmp_path)]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["files"] == 2 and doc["summary"]["errors"] == 1
    assert [e["file"] for e in doc["errors"]] == [str(tmp_path / "b_bad.toml")]


def test_report_exits_as_verify_does(tmp_path, capsys):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(WRONG)
    assert main(["report", str(wrong), "-o", str(tmp_path / "r.md")]) == 1
    assert main(["report", "layer", "-o", str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "r.md").read_text().startswith("# gradproof report")


# ---------------------------------------------------------------- --activation, alike in every command

@pytest.mark.parametrize("command", ["verify", "derive", "latex", "report", "export"])
def test_an_activation_for_a_file_with_nothing_generic_is_bad_input(command, tmp_path, capsys):
    out = ["-o", str(tmp_path / "out")] if command in ("report", "export") else []
    assert main([command, "layer_sigmoid", "--activation", "tanh", *out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradproof: error: ") and err.count("\n") == 1, err
    assert "layer_sigmoid.toml" in err and "`--activation tanh` replaces a generic function" in err
    assert "declares none" in err


def test_the_output_names_the_function_that_replaced_g(tmp_path, capsys):
    assert main(["verify", "--jobs", "1", "layer", "--activation", "tanh"]) == 0
    assert "derivations/layer.toml: Layer: R^n -> R^k (g is tanh, from --activation)" in capsys.readouterr().out
    assert main(["derive", "layer", "--activation", "tanh"]) == 0
    assert "(g is tanh, from --activation)" in capsys.readouterr().out.splitlines()[0]
    for command in (["latex", "layer"], ["report", "layer"], ["export", "layer", "-o", str(tmp_path / "g.py")]):
        assert main([*command, "--activation", "tanh"]) == 0
        assert "derivations/layer.toml: g is tanh (--activation)" in capsys.readouterr().err
    assert main(["verify", "--jobs", "1", "--format", "json", "layer", "--activation", "tanh"]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["replaced"] == {"g": "tanh"}


# ---------------------------------------------------------------- short output

def test_default_output_is_short_and_the_notes_expected_slips_are_not_crosses(capsys):
    assert main(["verify", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    claims = sum(len(load(f).claims) for f in catalogue_files())
    # one line a claim, a title a file, one line a notes file, the expected slips, the summary
    assert len(lines) <= claims + len(catalogue_files()) + 5 + 10 + 6
    assert "✗" not in out and "\\frac" not in out and "\\begin" not in out
    notes = [ln for ln in lines if "step parts proved for every size" in ln]
    assert len(notes) == 5  # one line a file for the parts that hold
    expected = [ln for ln in lines if "(expected)" in ln]
    assert len(expected) == 10 and all(ln.startswith("  ○ V.") for ln in expected)
    assert any("likely mistake: `W_{i,:}` should be `W_{:,i}`" in ln for ln in lines)


@pytest.mark.parametrize("flag", ["--steps", "-v"])
def test_steps_or_verbose_show_every_part_with_its_latex(flag, capsys):
    assert main(["verify", "--jobs", "1", flag, "notes/section_5"]) == 0
    out = capsys.readouterr().out
    assert "steps, by section and equation:" in out
    assert "  ✓ V.1  link1   proved for every size   dY = \\frac{dJ}{d\\hat{y}}" in out
    assert "right form:" in out and "\\langle" in out


def test_a_part_not_as_expected_is_a_cross_with_its_counterexample(tmp_path, capsys):
    text = (ROOT / "derivations/notes/section_5.toml").read_text()
    f = tmp_path / "s5.toml"
    f.write_text(text.replace('link2 = "refuted"', 'link2 = "shape-error"', 1))
    assert main(["verify", "--jobs", "1", str(f)]) == 1
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if "link2" in ln]
    assert line.startswith("  ✗ V.2  link2") and "refuted (NOT expected)" in line
    assert "counterexample: at n=1, k=1, i=1" in out and "NOT as expected" in out.splitlines()[-1]


def test_verdicts_come_back_from_their_dicts():
    from symbolic import load, verify
    from symbolic.steps import StepVerdict, check_steps
    from symbolic.verify import Verdict
    for v in verify(load(ROOT / "tests/data/wrong_claims.toml"), default_budget=10):
        assert Verdict.from_dict(v.to_dict()).to_dict() == v.to_dict()
    for v in check_steps(load(ROOT / "derivations/notes/section_5.toml")):
        back = StepVerdict.from_dict({**v.to_dict(), "note": v.note})
        assert back.to_dict() == v.to_dict() and back.note == v.note and back.ok == v.ok
