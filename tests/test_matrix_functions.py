"""inv, det and logdet, and the matrix facts of data inputs (symmetric,
positive definite, orthogonal) and constants with a sign: gradients through
them proved for every size and rechecked by finite differences, the slips
people make refuted with counterexamples the NumPy reference recomputes,
misuse refused by name, and the generated code right."""
from pathlib import Path

import numpy as np
import pytest

import reference
from numeric import gradients
from symbolic import ShapeError, derive, load
from symbolic.load import Claim, DerivationError
from symbolic.verify import verify, verify_claim

ROOT = Path(__file__).parent.parent
FILE = Path(__file__).parent / "data" / "matrix_functions.toml"
GAUSSIAN = ROOT / "derivations" / "gaussian_nll.toml"
RIDGE = ROOT / "derivations" / "ridge.toml"


def _values(path, sizes, rng):
    """Random inputs at which J is defined (logdet(C) of a parameter C needs det(C) > 0)."""
    for _ in range(100):
        values = reference.random_values(path, sizes, rng)
        with np.errstate(all="ignore"):
            if np.isfinite(reference.File(path).objective(values)):
                return values
    raise AssertionError("no point where J is defined")


def _claim(d, wrt, text):
    try:
        return Claim(wrt, text, d.parser().parse(text))
    except ShapeError as err:
        return Claim(wrt, text, None, str(err))


@pytest.mark.parametrize("path", [FILE, GAUSSIAN, RIDGE], ids=lambda p: p.name)
def test_every_claim_is_proved_for_every_size_and_finite_differences_agree(path):
    d = load(path)
    assert [v.status for v in verify(d)] == ["proved"] * len(d.claims)
    rng = np.random.default_rng(5)
    ref = reference.File(path)
    for n in (1, 2, 3):
        values = _values(path, {name: n + k for k, name in enumerate(d.dims)}, rng)
        env = {**ref.forward(values), **values}
        for wrt, claim in d.claims.items():
            np.testing.assert_allclose(np.broadcast_to(ref.eval(claim.text, env), values[wrt].shape),
                                       ref.fd_gradient(values, wrt), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path,wrt,text", [
    (FILE, "A", "det(A) * inv(A) - inv(A).T @ G @ inv(A).T"),        # det's transpose left out
    (FILE, "A", "det(A) * inv(A).T - inv(A) @ G @ inv(A)"),          # inv(A) where inv(A).T
    (FILE, "A", "det(A) * inv(A).T + inv(A).T @ G @ inv(A).T"),      # the sign of d inv
    (FILE, "B", "inv(B @ B.T + eye(n)) @ B"),                        # logdet(B B.T)' has a 2
    (FILE, "C", "inv(C)"),                                           # logdet's transpose left out
    (GAUSSIAN, "mu", "inv(S) @ sum(X - mu, axis=1)"),                # the sign of r = x - mu
    (GAUSSIAN, "mu", "-S @ sum(X - mu, axis=1)"),                    # S where inv(S)
    (GAUSSIAN, "X", "inv(S) @ (X - mu) / 2"),                        # the quadratic form's 2 lost
    (RIDGE, "y", "X @ inv(X.T @ X) @ X.T @ dY"),                     # the ridge term dropped
    (RIDGE, "y", "inv(X.T @ X + lam * eye(d)) @ X.T @ dY"),          # X @ left out: a shape error
    (RIDGE, "y", "-X @ inv(X.T @ X + lam * eye(d)) @ X.T @ dY"),     # sign
])
def test_slips_are_refuted_with_counterexamples_numpy_confirms(path, wrt, text):
    d = load(path)
    v = verify_claim(d, _claim(d, wrt, text), derive(d), max_size=3, seconds=60)
    assert v.status in ("refuted", "shape-error"), (v.status, v.detail)
    if v.status == "refuted":
        reference.check_counterexample(path, text, wrt, v.counterexample.to_dict())


def test_a_symmetric_form_needs_the_fact():
    """inv(S) @ r is the gradient only for a symmetric S: without the fact
    it is refuted, by a point where S is not symmetric."""
    text = GAUSSIAN.read_text().replace('{ shape = "n x n", data = "positive definite" }', '"n x n"')
    path = GAUSSIAN.parent.parent / "tests" / "data" / "_gaussian_any_s.toml"
    try:
        path.write_text(text)
        d = load(path)
        assert d.inputs["S"].role == "input"
        for v in verify(d):
            assert v.status == "refuted", v
            reference.check_counterexample(path, v.text, v.wrt, v.counterexample.to_dict())
        right = "(m * inv(S).T - inv(S).T @ (X - mu) @ (X - mu).T @ inv(S).T) / 2"
        v = verify_claim(d, _claim(d, "S", right), derive(d), max_size=3, seconds=60)
        assert v.status == "proved", v.detail
    finally:
        path.unlink()


def _file(tmp_path, inputs, forward, claims="", head='output = "J"\n'):
    f = tmp_path / "f.toml"
    f.write_text(head + '[dims]\nn = "size"\nm = "count"\n[inputs]\n' + inputs + "[forward]\n" + forward
                 + ("[claims]\n" + claims if claims else ""))
    return f


def test_orthogonal_data_is_used_by_the_proofs_and_met_by_counterexamples(tmp_path):
    f = _file(tmp_path, 'Q = { shape = "n x n", data = "orthogonal" }\nx = "n x m"\n',
              'y = "Q.T @ (Q @ x)"\n', 'x = "dY"\n', head='output = "y"\nupstream = "dY"\n')
    assert [v.status for v in verify(load(f))] == ["proved"]
    d = load(f)
    for wrong in ("2 * dY", "Q @ dY"):
        v = verify_claim(d, _claim(d, "x", wrong), derive(d), max_size=3, seconds=60)
        assert v.status == "refuted", v.detail
        q = reference.matrix(v.counterexample.point["Q"])
        np.testing.assert_allclose(q.T @ q, np.eye(len(q)), atol=1e-12)
        reference.check_counterexample(f, wrong, "x", v.counterexample.to_dict())
    rng = np.random.default_rng(2)
    for n in (1, 2, 3):  # the proof, by finite differences at orthogonal points
        values = reference.random_values(f, {"n": n, "m": 2}, rng)
        np.testing.assert_allclose(values["dY"], reference.File(f).fd_gradient(values, "x"), rtol=1e-6, atol=1e-7)
    plain = _file(tmp_path, 'Q = "n x n"\nx = "n x m"\n', 'y = "Q.T @ (Q @ x)"\n', 'x = "dY"\n',
                  head='output = "y"\nupstream = "dY"\n')
    assert [v.status for v in verify(load(plain))] == ["refuted"]


def test_a_positive_constant_is_positive_at_every_point_and_has_no_claim(tmp_path):
    f = _file(tmp_path, 'eps = { shape = "scalar", constant = "positive" }\nx = "n x 1"\n',
              'J = "sum(log(x * x + eps))"\n', 'x = "2 * x / (x * x + eps)"\n')
    d = load(f)
    assert d.constants == {"eps"} and d.facts == {"eps": "positive"}
    assert [v.status for v in verify(d)] == ["proved"]
    v = verify_claim(d, _claim(d, "x", "2 * x / (x * x)"), derive(d), max_size=3, seconds=60)
    assert v.status == "refuted"
    assert float(reference.matrix(v.counterexample.point["eps"])[0, 0]) > 0
    reference.check_counterexample(f, "2 * x / (x * x)", "x", v.counterexample.to_dict())
    neg = _file(tmp_path, 'c = { shape = "scalar", constant = "negative" }\nx = "n x 1"\n',
                'J = "sum(log(x * x - c))"\n', 'x = "2 * x / (x * x - c)"\n')
    d = load(neg)
    assert [v.status for v in verify(d)] == ["proved"]
    v = verify_claim(d, _claim(d, "x", "2 * x / (x * x + c)"), derive(d), max_size=3, seconds=60)
    assert v.status == "refuted" and float(reference.matrix(v.counterexample.point["c"])[0, 0]) < 0
    reference.check_counterexample(neg, "2 * x / (x * x + c)", "x", v.counterexample.to_dict())
    with pytest.raises(DerivationError) as err:
        load(_file(tmp_path, 'eps = { shape = "scalar", constant = "positive" }\nx = "n x 1"\n',
                   'J = "sum(log(x * x + eps))"\n', 'eps = "0 * eps"\n'))
    assert "`claims.eps`" in str(err.value) and "a constant (positive)" in str(err.value)


def test_the_generated_code_matches_the_reference():
    for path in (FILE, GAUSSIAN, RIDGE):
        g = gradients(path)
        d = load(path)
        rng = np.random.default_rng(3)
        for n in (1, 3):
            values = _values(path, {name: n + k for k, name in enumerate(d.dims)}, rng)
            got = g(**values)
            for wrt in d.claims:
                np.testing.assert_allclose(got[wrt], reference.File(path).fd_gradient(values, wrt),
                                           rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("inputs,formula,key,words", [
    ('A = "n x m"\n', "logdet(A @ A.T) + sum(inv(A))", "forward.J",
     ["`inv` needs a square matrix (n x n)", "got (n, m)"]),
    ('v = "n x 1"\n', "det(v)", "forward.J", ["`det` needs a square matrix (n x n)", "got (n, 1)"]),
    ('A = "n x n"\n', "logdet(A, A)", "forward.J", ["`logdet` takes 1 positional argument", "logdet(A)"]),
    ('S = { shape = "n x m", data = "symmetric" }\n', "sum(S)", "inputs.S.shape",
     ["`symmetric` is a fact of a square matrix (n x n)", "got 'n x m'"]),
    ('Q = { shape = "n x 1", data = "orthogonal" }\n', "sum(Q)", "inputs.Q.shape",
     ["`orthogonal` is a fact of a square matrix", "got 'n x 1'"]),
    ('S = { shape = "n x n", data = "positive-definite" }\n', "sum(S)", "inputs.S.data",
     ["expected one of", "positive definite", "got 'positive-definite'"]),
    ('e = { shape = "scalar", constant = "postive" }\n', "e", "inputs.e.constant",
     ["expected one of positive, negative", "got 'postive'"]),
    ('e = { shape = "scalar", constant = "positive", data = "binary" }\n', "e", "inputs.e.data",
     ["unknown key"]),
])
def test_misuse_is_refused_by_name(tmp_path, inputs, formula, key, words):
    f = _file(tmp_path, inputs, f'J = "{formula}"\n')
    with pytest.raises(DerivationError) as err:
        load(f)
    message = str(err.value)
    assert "f.toml" in message and f"`{key}`" in message, message
    for w in words:
        assert w in message, message


def test_the_catalogue_has_the_linear_algebra_files():
    from symbolic import catalogue_files
    names = {p.stem for p in catalogue_files()}
    assert {"gaussian_nll", "ridge"} <= names
    assert load(GAUSSIAN).facts == {"S": "positive definite"} and load(RIDGE).constants == {"lam"}
