"""Names of the file against names the backward pass and the generated code
make: an adjoint never takes a name of the file, generated code never
refers to anything by a name an argument could have, and a module whose
numbers disagree with the proved closed forms is refused.  Gradients are
compared with `tests/reference.py`'s central differences."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import numeric.codegen
from numeric import gradients
from numeric.quote import GenerationError
from reference import File, random_values
from symbolic import derive, load, text
from symbolic.cli import main
from symbolic.expr import Transpose

HEAD = 'title = "names"\noutput = "yhat"\nupstream = "dY"\n'

FILES = {
    # an input called like the adjoint of `z`
    "input_dz": HEAD + '[dims]\nn = "n"\nk = "k"\n[inputs]\nW = "k x n"\nx = "n x 1"\ndz = "k x 1"\n'
                       '[functions]\ng = "sigmoid"\n[forward]\nz = "W @ x + dz"\nyhat = "g(z) * dz"\n',
    # the same, over a batch, with `dz` used twice and `ddz` taken as well
    "input_dz_batch": HEAD + '[dims]\nn = "n"\nk = "k"\nm = "m"\n[inputs]\nW = "k x n"\nX = "n x m"\n'
                             'dz = "k x 1"\nddz = "k x m"\n[functions]\ng = "tanh"\n'
                             '[forward]\nz = "W @ X + dz"\nyhat = "g(z) * ddz + z * dz"\n',
    # a forward value called like the adjoint of an input
    "forward_dW": HEAD + '[dims]\nn = "n"\nk = "k"\n[inputs]\nW = "k x n"\nx = "n x 1"\n'
                         '[functions]\ng = "sigmoid"\n[forward]\ndW = "W @ x"\nyhat = "g(dW)"\n',
    # a dim called like the adjoint of an input
    "dim_dW": HEAD + '[dims]\ndW = "n"\nk = "k"\n[inputs]\nW = "k x dW"\nx = "dW x 1"\nb = "k x 1"\n'
                     '[functions]\ng = "sigmoid"\n[forward]\nz = "W @ x + b"\nyhat = "g(z)"\n',
    # the upstream gradient called like the adjoint of `z`, and `z_1` beside `z`
    "upstream_dz": 'title = "names"\noutput = "yhat"\nupstream = "dz"\n[dims]\nn = "n"\nk = "k"\n'
                   '[inputs]\nW = "k x n"\nx = "n x 1"\nz_1 = "k x 1"\n[functions]\ng = "tanh"\n'
                   '[forward]\nz = "W @ x + z_1"\nyhat = "g(z)"\n',
    # a value whose adjoint would be a Python keyword (`def`)
    "keyword_adjoint": HEAD + '[dims]\nn = "n"\nk = "k"\n[inputs]\nW = "k x n"\nef = "n x 1"\n'
                              '[functions]\ng = "sigmoid"\n[forward]\nel = "W @ ef"\nyhat = "g(el)"\n',
}

# names the generated code used to refer to, and builtins it might
SHADOWS = ["ValueError", "IndexError", "np", "numpy", "type", "SHAPES", "dtype", "t", "sigmoid_z",
           "isinstance", "len", "forward", "gradients", "INPUTS", "out", "keepdims", "float"]


def _shadow_file(name: str) -> str:
    return (HEAD + f'[dims]\nn = "n"\nk = "k"\nm = "m"\n[inputs]\nW = "k x n"\n{name} = "n x m"\nb = "k x 1"\n'
            f'[functions]\ng = "sigmoid"\n[forward]\nz = "W @ {name} + b"\nyhat = "g(z) * g(z)"\n')


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path / "cache"))


def _write(tmp_path, name, toml):
    f = tmp_path / f"{name}.toml"
    f.write_text(toml)
    return f


def _against_reference(path):
    """The generated gradients against central differences of the reference
    evaluator, at a point with distinct sizes."""
    grads = gradients(path)
    rng = np.random.default_rng(zlib.crc32(str(path.name).encode()))
    values = random_values(path, {"n": 3, "k": 2, "m": 4, "dW": 3}, rng)
    got = grads(**values)
    reference = File(path)
    for name in grads.inputs:
        want = reference.fd_gradient(values, name)
        assert got[name].shape == want.shape, name
        assert np.allclose(got[name], want, rtol=1e-6, atol=1e-7), (name, got[name], want)
    return grads


@pytest.mark.parametrize("case", list(FILES))
def test_an_adjoint_never_takes_a_name_of_the_file(tmp_path, case):
    f = _write(tmp_path, case, FILES[case])
    d = load(f)
    g = derive(d)
    own = set(map(str, d.dims)) | set(d.inputs) | set(d.forward) | set(d.functions) | {d.upstream.name}
    steps = [n for n, _ in g.steps]
    assert not own & set(steps), own & set(steps)
    assert len(set(steps)) == len(steps)
    assert all(n.isidentifier() and n not in ("def", "del") for n in steps)
    for n in steps:
        assert g.adjoint_of[n] in own


@pytest.mark.parametrize("case", list(FILES))
def test_generated_gradients_agree_with_the_reference(tmp_path, case):
    _against_reference(_write(tmp_path, case, FILES[case]))


def test_derive_names_the_adjoint_of_z_apart_from_an_input_dz(tmp_path, capsys):
    f = _write(tmp_path, "input_dz", FILES["input_dz"])
    assert main(["derive", str(f)]) == 0
    out = capsys.readouterr().out
    assert "  dz_1 = dY * dz * sigmoid'(z)\n  dW = dz_1 @ x.T\n" in out
    assert "  ddz = dY * sigmoid(z) + dz_1\n" in out
    assert "dJ/dW = (dY * dz * sigmoid'(z)) @ x.T   [proved for every size]" in out
    assert "NOT confirmed" not in out
    assert text(derive(load(f)).closed["dz"]) == "dY * sigmoid(z) + dY * dz * sigmoid'(z)"


def test_a_dim_named_like_an_adjoint_keeps_its_size(tmp_path):
    grads = _against_reference(_write(tmp_path, "dim_dW", FILES["dim_dW"]))
    assert "dW_1 = " in grads.source and "k, dW = W.shape" in grads.source
    with pytest.raises(ValueError, match=r"x has shape \(4, 1\), but W is \(2, 3\): expected x of shape \(3, 1\)"):
        grads(W=np.ones((2, 3)), x=np.ones((4, 1)), b=np.ones((2, 1)), dY=np.ones((2, 1)))


@pytest.mark.parametrize("name", SHADOWS)
def test_an_argument_shadows_nothing_the_generated_code_uses(tmp_path, name):
    f = _write(tmp_path, "shadow", _shadow_file(name))
    grads = _against_reference_with(f, name)
    # the checks' error paths name things too, with the argument in scope
    good = {"W": np.ones((2, 3)), name: np.ones((3, 4)), "b": np.ones((2, 1)), "dY": np.ones((2, 4))}
    with pytest.raises(ValueError, match=rf"{name} has shape \(5, 4\), but W is \(2, 3\)"):
        grads(**{**good, name: np.ones((5, 4))})
    with pytest.raises(ValueError, match=rf"{name} has shape \(3,\): expected {name} of shape \(3, m\)"):
        grads(**{**good, name: np.ones(3)})
    with pytest.raises(TypeError, match=rf"{name} holds strings"):
        grads(**{**good, name: np.full((3, 4), "a")})
    assert set(grads(**good)) == {"W", name, "b"}


def _against_reference_with(f, name):
    grads = gradients(f)
    rng = np.random.default_rng(5)
    values = {"W": rng.uniform(-1, 1, (2, 3)), name: rng.uniform(-1, 1, (3, 4)), "b": rng.uniform(-1, 1, (2, 1)),
              "dY": rng.uniform(-1, 1, (2, 4))}
    got = grads(**values)
    for n in ("W", name, "b"):
        assert np.allclose(got[n], File(f).fd_gradient(values, n), rtol=1e-6, atol=1e-7), n
    return grads


# ---------------------------------------------------------------- refused when unchecked

def test_code_that_computes_something_else_is_refused(tmp_path, monkeypatch):
    f = _write(tmp_path, "input_dz", FILES["input_dz"])
    wrong = dict(numeric.codegen.OPS, multiply=("{a} + {b}",) + numeric.codegen.OPS["multiply"][1:])
    monkeypatch.setattr(numeric.codegen, "OPS", wrong)
    with pytest.raises(GenerationError, match=r"input_dz.toml: the generated NumPy code for (the output|dJ/d\w+) "
                                              r"disagrees with the proved closed form .* it is not handed out"):
        gradients(f)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_code_that_fails_is_refused(tmp_path, monkeypatch):
    f = _write(tmp_path, "dim_dW", FILES["dim_dW"])
    monkeypatch.setitem(numeric.codegen.PRINT, Transpose, lambda e, p: p(e.a, 6))  # `.T` left out
    with pytest.raises(GenerationError, match=r"the generated NumPy code fails at a random point \(ValueError"):
        gradients(f)


def test_export_refuses_code_that_was_not_checked(tmp_path, monkeypatch, capsys):
    f = _write(tmp_path, "input_dz", FILES["input_dz"])
    wrong = dict(numeric.codegen.OPS, subtract=("{b} - {a}",) + numeric.codegen.OPS["subtract"][1:])
    monkeypatch.setattr(numeric.codegen, "OPS", wrong)
    out = tmp_path / "grads.py"
    assert main(["export", str(f), "-o", str(out)]) == 2
    assert "disagrees with the proved closed form" in capsys.readouterr().err
    assert not out.exists()
