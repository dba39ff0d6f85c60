"""Bad derivation files: one clear message naming the file and the key,
exit code 2, and nothing the file says is ever run."""
import os
import subprocess
import sys

import pytest

from symbolic import DerivationError, load
from symbolic.cli import main

GOOD = {
    "head": 'title = "t"\noutput = "yhat"\nupstream = "dY"\n',
    "dims": '[dims]\nn = "inputs"\nk = "neurons"\n',
    "inputs": '[inputs]\nW = "k x n"\nx = "n x 1"\nb = "k x 1"\n',
    "functions": '[functions]\ng = "elementwise"\n',
    "forward": '[forward]\nz = "W @ x + b"\nyhat = "g(z)"\n',
    "claims": "[claims]\nW = \"(dY * g'(z)) @ x.T\"\n",
}


def make(**parts):
    return "".join(parts.get(k, v) for k, v in GOOD.items())


CASES = [
    # (id, file text, key named, words in the message)
    ("malformed TOML", make(head='title = "t\n'), None, ["malformed TOML"]),
    ("unknown name", make(forward='[forward]\nz = "W @ q + b"\nyhat = "g(z)"\n'), "forward.z",
     ["unknown name `q`"]),
    ("undeclared dim", make(inputs='[inputs]\nW = "k x p"\nx = "n x 1"\nb = "k x 1"\n'), "inputs.W",
     ["undeclared dim `p`"]),
    ("shape mismatch", make(forward='[forward]\nz = "x @ W + b"\nyhat = "g(z)"\n'), "forward.z",
     ["(n, 1) @ (k, n)"]),
    ("bad broadcast", make(forward='[forward]\nz = "W @ x + x"\nyhat = "g(z)"\n'), "forward.z",
     ["cannot broadcast", "(k, 1)", "(n, 1)"]),
    ("undefined forward name", make(forward='[forward]\nz = "W @ x + b"\nyhat = "g(u)"\n'),
     "forward.yhat", ["unknown name `u`"]),
    ("cyclic forward", make(forward='[forward]\nz = "W @ x + b + 0 * yhat"\nyhat = "g(z)"\n'),
     "forward.z", ["cyclic definition", "z -> yhat -> z"]),
    ("claim for a non-input", make(claims='[claims]\nz = "dY"\n'), "claims.z",
     ["must name an input", "`z`"]),
    ("unsupported function kind", make(functions='[functions]\ng = "swish"\n'), "functions.g",
     ["unsupported function 'swish'"]),
    ("unknown function call", make(forward='[forward]\nz = "W @ x + b"\nyhat = "swish(z)"\n'),
     "forward.yhat", ["unknown function `swish`"]),
    ("missing output", make(head='title = "t"\nupstream = "dY"\n'), "output", ["missing key `output`"]),
    ("output not defined", make(head='title = "t"\noutput = "y"\nupstream = "dY"\n'), "output",
     ["`y`"]),
    ("non-scalar output without upstream", make(head='title = "t"\noutput = "yhat"\n'), "upstream",
     ["(k, 1)"]),
    ("unknown top-level key", make(head=GOOD["head"] + 'colour = "red"\n'), "colour", ["unknown key"]),
    ("input shape not a string", make(inputs='[inputs]\nW = 3\nx = "n x 1"\nb = "k x 1"\n'), "inputs.W",
     ["expected a string", "int 3"]),
    ("malformed shape", make(inputs='[inputs]\nW = "k by n"\nx = "n x 1"\nb = "k x 1"\n'), "inputs.W",
     ["expected a shape"]),
    ("syntax error", make(claims='[claims]\nW = "(dY * "\n'), "claims.W", ["not a valid expression"]),
    ("bad budget", make(claims='[claims]\nW = { expr = "dY @ x.T", budget = -1 }\n'), "claims.W.budget",
     ["positive number of seconds"]),
    ("huge power", make(claims='[claims]\nW = "(dY @ x.T)**100000"\n'), "claims.W", ["too large"]),
    ("deep nesting", make(claims='[claims]\nW = "' + "(" * 400 + "dY @ x.T" + ")" * 400 + '"\n'), "claims.W",
     ["nested"]),
    ("deep unary chain", make(claims='[claims]\nW = "' + "-" * 5000 + '(dY @ x.T)"\n'), "claims.W", ["nested"]),
    ("name shadows a function", make(dims='[dims]\nn = "inputs"\nk = "neurons"\nsigmoid = "x"\n'),
     "dims.sigmoid", ["built-in function name"]),
    # ---- matrix functions and matrix facts
    ("inv of a non-square matrix", make(forward='[forward]\nz = "inv(W) @ x + b"\nyhat = "g(z)"\n'),
     "forward.z", ["`inv` needs a square matrix (n x n)", "got (k, n)"]),
    ("det of a vector", make(forward='[forward]\nz = "W @ x * det(b) + b"\nyhat = "g(z)"\n'),
     "forward.z", ["`det` needs a square matrix (n x n)", "got (k, 1)"]),
    ("symmetric on a non-square input",
     make(inputs='[inputs]\nW = { shape = "k x n", data = "symmetric" }\nx = "n x 1"\nb = "k x 1"\n',
          claims="[claims]\nx = \"W.T @ (dY * g'(z))\"\n"),
     "inputs.W.shape", ["`symmetric` is a fact of a square matrix (n x n)", "got 'k x n'"]),
    ("a fact misspelt",
     make(inputs='[inputs]\nW = { shape = "k x n", data = "ortogonal" }\nx = "n x 1"\nb = "k x 1"\n',
          claims="[claims]\nx = \"W.T @ (dY * g'(z))\"\n"),
     "inputs.W.data", ["expected one of", "orthogonal", "got 'ortogonal'"]),
]

HOSTILE = [
    "__import__('os').system('touch pwned')",
    "W.__class__",
    "(lambda: 0)()",
    "W.shape",
    "open('pwned', 'w')",
    "exec('open(1)')",
    "eval('1')",
    "getattr(W, 'T')",
    "[W for W in x]",
    "W[0]",
    "'text'",
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_names_file_and_key_and_exits_2(case, tmp_path, capsys):
    _, text, key, words = case
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    if key:
        assert f"`{key}`" in err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("code", HOSTILE)
def test_code_in_a_claim_is_refused_and_never_run(code, tmp_path):
    path = tmp_path / "evil.toml"
    path.write_text(make(claims=f'[claims]\nW = "{code}"\n'))
    with pytest.raises(DerivationError) as err:
        load(path)
    assert "claims.W" in str(err.value) and str(path) in str(err.value)


def test_code_running_string_leaves_no_trace(tmp_path):
    path = tmp_path / "evil.toml"
    for key in ["forward", "claims"]:
        evil = "__import__('os').system('touch pwned')"
        text = make(forward=f'[forward]\nz = "{evil}"\nyhat = "g(z)"\n') if key == "forward" \
            else make(claims=f'[claims]\nW = "{evil}"\n')
        path.write_text(text)
        run = subprocess.run([sys.executable, "-m", "symbolic.cli", "verify", str(path)], cwd=tmp_path,
                             capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert run.returncode == 2, run.stderr
        assert "dunders" in run.stderr and f"{key}." in run.stderr
        assert not (tmp_path / "pwned").exists()
        assert not os.path.exists("pwned")


def test_missing_file_and_empty_folder_are_bad_input(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 2
    assert "no *.toml" in capsys.readouterr().err


def test_unknown_activation_option_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", "--activation", "swish"])
    assert exit_.value.code == 2
    assert "swish" in capsys.readouterr().err


def test_wrong_claim_shape_is_a_verdict_not_bad_input(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text(make(claims='[claims]\nW = "x @ dY.T"\nb = "W @ x"\n'))
    d = load(path)
    assert d.claims["W"].expr is not None and d.claims["b"].expr is not None
