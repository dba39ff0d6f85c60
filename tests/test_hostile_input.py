"""Hostile and odd input, one case a failure once seen: each is refused
with exit 2 and one line naming the file and the key (and the column where
there is one), or read as what it says; never a traceback."""
import re

import pytest

from symbolic import load
from symbolic.cli import main
from symbolic.load import DerivationError
from symbolic.steps import check_steps

from fixtures import LAYER

CLAIM = "[claims]\nW = \"(dY * g'(z)) @ x.T\"\n"


def step(text, syntax="text"):
    return f'[[steps]]\nsection = "T"\neq = 1\n{syntax} = \'\'\'{text}\'\'\'\n'


CASES = [
    # (id, file text, key named, words in the message)
    ("a number beyond a float", LAYER + "[claims]\nW = \"1e999 * (dY * g'(z)) @ x.T\"\n", "claims.W",
     ["a number of 1000 digits", "at most 60", "column 1"]),
    ("a number of many digits", LAYER + "[claims]\nW = \"" + "7" * 100 + " * dY @ x.T\"\n", "claims.W",
     ["100 digits", "at most 60"]),
    ("a tiny number", LAYER + "[claims]\nW = \"1e-300 * dY @ x.T\"\n", "claims.W", ["digits", "at most 60"]),
    ("constants folding to a huge one", LAYER + "[claims]\nW = \"" + "1e20 * " * 5 + "dY @ x.T\"\n",
     "claims.W", ["constants multiply", "at most 60"]),
    ("budget inf", LAYER + "[claims]\nW = { expr = \"dY @ x.T\", budget = inf }\n", "claims.W.budget",
     ["up to 86400"]),
    ("budget nan", LAYER + "[claims]\nW = { expr = \"dY @ x.T\", budget = nan }\n", "claims.W.budget",
     ["positive number of seconds", "nan"]),
    ("budget of a LaTeX claim", LAYER + "[claims]\nW = { latex = 'dY x^T', budget = inf }\n",
     "claims.W.budget", ["up to 86400"]),
    ("a prime followed by letters", LAYER + "[claims]\nW = \"(dY * g'b(z)) @ x.T\"\n", "claims.W",
     ["`'` may only follow a function name", "column 8"]),
    ("too many primes", LAYER + "[claims]\nW = \"(dY * g'''''(z)) @ x.T\"\n", "claims.W", ["at most 4 primes"]),
    ("a superscript digit as a size", LAYER.replace('W = "k x n"', 'W = "k x ²"'), "inputs.W",
     ["a size is a dim or a whole number"]),
    ("a size of 5,000 digits", LAYER.replace('W = "k x n"', 'W = "k x ' + "9" * 5000 + '"'), "inputs.W",
     ["a size is a dim or a whole number from 1 to 100000", "..."]),
    ("a chain of 300 products", LAYER + "[claims]\nb = \"" + " @ ".join(["dY"] + ["dY.T @ dY"] * 150) + "\"\n",
     "claims.b", ["nested too deeply", "at most 100"]),
    ("definitions nested through each other",
     LAYER.replace('yhat = "g(z)"', "".join(f'z{i} = "{"g(" * 90}z{i - 1 if i else ""}{")" * 90}"\n'
                                            for i in range(10)) + 'yhat = "g(z9)"'),
     "forward.z8", ["nested too deeply with the definitions it uses", "at most 800"]),
    ("700 \\left( in a step", LAYER + step("\\left(" * 700 + "z" + "\\right)" * 700 + " = z", "latex"),
     "steps[0].latex", ["nested too deeply", "column"]),
    ("3,000 minus signs in a LaTeX step", LAYER + step("-" * 3000 + "z = z", "latex"), "steps[0].latex",
     ["nested too deeply", "column 101"]),
    ("3,000 minus signs in a plain step", LAYER + step("-" * 3000 + "z = z"), "steps[0].text",
     ["nested too deeply", "column 100"]),
    ("a sum of 2,000 terms in a step", LAYER + step(" + ".join(["z"] * 2000) + " = z"), "steps[0].text",
     ["nested too deeply"]),
    ("a sum of 2,000 terms in LaTeX", LAYER + step(" + ".join(["z"] * 2000) + " = z", "latex"), "steps[0].latex",
     ["nested too deeply"]),
    ("a huge power in LaTeX", LAYER + step("z^{99999} = z", "latex"), "steps[0].latex", ["at most 64"]),
    ("a number of 5,000 digits in LaTeX", LAYER + step("z = " + "9" * 5000 + " z", "latex"), "steps[0].latex",
     ["5000 digits", "column 5"]),
    ("a number of 5,000 digits in plain text", LAYER + step("z = " + "9" * 5000 + " * z"), "steps[0].text",
     ["5000 digits", "column 5"]),
    ("a letter outside ASCII in LaTeX", LAYER + step("é = z", "latex"), "steps[0].latex",
     ["unsupported character", "column 1"]),
    ("a digit outside ASCII in LaTeX", LAYER + step("z^² = z", "latex"), "steps[0].latex",
     ["unsupported character"]),
    ("division by zero in a LaTeX claim", LAYER + "[claims]\nW = { latex = '\\frac{dY x^T}{0}' }\n",
     "claims.W.latex", ["division by zero"]),
    ("a notation cycle", LAYER + '[notation]\nq = "r"\nr = "q"\n' + step("q = z", "latex"), "notation.q",
     ["cannot stand for itself", "q -> r -> q"]),
    ("a longer notation cycle", LAYER + '[notation]\np = "q"\nq = "r"\nr = "p + z"\n' + step("p = z", "latex"),
     "notation.p", ["p -> q -> r -> p"]),
    ("a name with a trailing newline", LAYER.replace('upstream = "dY"', 'upstream = "dY\\n"'), "upstream",
     ["expected a name", "'dY\\n'"]),
    ("a dim with a trailing newline", LAYER.replace('n = "inputs"', '"n\\n" = "inputs"'), "dims.n\\n",
     ["expected a name"]),
    ("a notation name that is no name", LAYER + '[notation]\n"a b" = "W"\n' + step("z = z", "latex"),
     "notation.a b", ["expected a name"]),
    ("a claim for a name with a newline", LAYER + '[claims]\n"W\\n" = "dY @ x.T"\n', "claims.W\\n",
     ["got `W\\n`"]),
    ("an unknown key in [check]", LAYER + "[check]\nfoo = 1\n", "check.foo", ["unknown key", "max_size"]),
    ("an unknown top-level key", "colour = 1\n" + LAYER, "colour", ["unknown key", "upstream"]),
    ("an unknown key in a claim's table", LAYER + "[claims.W]\nexpr = \"dY @ x.T\"\nbudgte = 5\n",
     "claims.W.budgte", ["unknown key", "budget, expr, latex"]),
    ("a table for an input's shape", LAYER.replace('W = "k x n"', 'W = { shape = "k x n" }'), "inputs.W",
     ["a data input takes `shape` and `data`", "got keys ['shape']"]),
    ("a table for a function", LAYER.replace('g = "elementwise"', 'g = { kind = "elementwise" }'),
     "functions.g", ["got a table (keys: kind)"]),
    ("deeply nested TOML", LAYER + "a = " + "[" * 30000 + "]" * 30000 + "\n", None, ["nested too deeply"]),
    ("a NUL in a claim", LAYER + "[claims]\nW = \"dY @ x.T\\u0000\"\n", "claims.W", ["NUL", "column 9"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_one_line_naming_file_and_key_exit_2(case, tmp_path, capsys):
    _, text, key, words = case
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gradproof: error: {path}") and err.count("\n") == 1, err
    if key:
        assert f"`{key}`" in err, err
    for w in words:
        assert w in err, err


def test_a_dim_named_with_an_x_splits_only_at_the_spaced_x(tmp_path):
    text = LAYER.replace('n = "inputs"', 'n_x = "inputs"').replace('"k x n"', '"k x n_x"') \
        .replace('"n x 1"', '"n_x x 1"') + step('d(J)/d(b) = dY * g\'(z) in "k x 1"') + CLAIM
    path = tmp_path / "f.toml"
    path.write_text(text)
    d = load(path)
    assert [str(s) for s in d.inputs["W"].shape] == ["k", "n_x"]
    assert [str(s) for s in d.inputs["x"].shape] == ["n_x", "1"]
    assert [v.status for v in check_steps(d)] == ["proved", "proved"]
    assert main(["verify", str(path)]) == 0


def test_a_shape_written_without_spaces_is_refused(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text(LAYER.replace('"k x n"', '"kxn"'))
    with pytest.raises(DerivationError, match="an `x` between spaces"):
        load(path)
    path.write_text(LAYER.replace('"k x n"', '"k×n"'))
    assert [str(s) for s in load(path).inputs["W"].shape] == ["k", "n"]


def test_zero_over_zero_in_a_step_is_refuted_not_a_crash(tmp_path):
    """`(x - x)/(x - x)` has no value anywhere, and 0 has one everywhere:
    the two sides differ (it once compared NaN and crashed)."""
    scalar = LAYER.replace('n = "inputs"\n', "").replace('"k x n"', '"k x 1"').replace('"n x 1"', '"scalar"')
    path = tmp_path / "f.toml"
    path.write_text(scalar + step("(x - x)/(x - x) = 0") + step("\\frac{x - x}{x - x} = 0", "latex")
                    .replace("eq = 1", "eq = 2"))
    parts = check_steps(load(path), max_size=2, seconds=5)
    assert len(parts) == 2 and all(v.status == "refuted" for v in parts), [(v.status, v.detail) for v in parts]
    assert parts[0].counterexample.claim_value == [["undefined"]]


@pytest.mark.parametrize("argv, words", [
    (["--budget", "inf"], "up to 86400"),
    (["--budget", "nan"], "positive number of seconds"),
    (["--budget", "-1"], "positive number of seconds"),
    (["--budget", "soon"], "expected a number of seconds, got 'soon'"),
    (["--max-size", "9" * 5000], "expected an integer from 1 to 6"),
    (["--max-size", "two"], "expected an integer from 1 to 6, got 'two'"),
])
def test_bad_options_exit_2_with_the_option_named(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", *argv, "derivations/layer.toml"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --" in err and words in err, err


def test_a_counterexample_with_huge_numbers_prints_them_cut(tmp_path, capsys):
    path = tmp_path / "f.toml"
    path.write_text('output = "yhat"\nupstream = "dY"\n[dims]\nk = "k"\n[inputs]\nb = "k x 1"\n'
                    '[forward]\nyhat = "b"\n[claims]\nb = "(((dY / 3)**64)**64)**4"\n')
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "refuted" in out and re.search(r"claim gives \[\d\.\d{19}e-\d{4}[;\]]", out)  # 20 digits, not 7,818
    assert max(len(line) for line in out.splitlines()) < 300  # two entries of 20 digits a side, at k = 2


def test_an_internal_error_is_one_line_and_exit_3(monkeypatch, capsys):
    import symbolic.cli as cli

    def broken(args):
        raise KeyError("a bug")
    monkeypatch.setattr(cli, "cmd_list", broken)
    assert main(["list"]) == 3
    err = capsys.readouterr().err
    assert err == "gradproof: internal error: KeyError: 'a bug'\n"


@pytest.mark.parametrize("name", ["x" * 5000, "a\0b.toml", "no/such/dir/f.toml", ".", "x" * 300 + ".toml"])
@pytest.mark.parametrize("command", ["verify", "derive", "latex", "export"])
def test_impossible_file_names_are_bad_input(name, command, capsys):
    code = main([command, name])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("gradproof: error: ") and err.count("\n") == 1, err
