"""Wrong gradients of the kinds found in course material (`mistake_table`):
each is caught, most get the right likely mistake, and every repair offered
is proved by gradproof and confirmed by the independent NumPy reference."""
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import reference
from mistake_table import MISTAKES
from symbolic import ShapeError, derive, load
from symbolic.load import Claim
from symbolic.mutate import apply_edits
from symbolic.verify import verify_claim

DATA = Path(__file__).parent / "data" / "mistakes"
CATALOGUE = Path(__file__).parent.parent / "derivations"
IDS = [f"{f}:{wrt}:{text}" for f, wrt, text, _ in MISTAKES]


def _path(name) -> Path:
    """A file of tests/data/mistakes, else of the catalogue."""
    path = DATA / f"{name}.toml"
    return path if path.exists() else CATALOGUE / f"{name}.toml"


@cache
def _derivation(name):
    d = load(_path(name))
    return d, derive(d)


@cache
def _verdict(name, wrt, text):
    d, grads = _derivation(name)
    try:
        claim = Claim(wrt, text, d.parser().parse(text))
    except ShapeError as err:
        claim = Claim(wrt, text, None, str(err))
    return verify_claim(d, claim, grads, max_size=3, seconds=30)


def _really_equal(path, text, wrt) -> bool:
    ref = reference.File(path, [1, 3, -2, 1])
    rng = np.random.default_rng(5)
    for size in (1, 2, 3):
        values = reference.random_values(path, {n: size + i for i, n in enumerate(load(path).dims)}, rng)
        env = {**ref.forward(values), **values}
        got, want = ref.eval(text, env), ref.fd_gradient(values, wrt)
        scale = max(1.0, float(np.abs(want).max()))
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-4, atol=1e-5 * scale):
            return False
    return True


def test_the_table_spans_the_kinds_and_derivations():
    assert len(MISTAKES) >= 60
    assert len({f for f, *_ in MISTAKES}) >= 10
    assert len({k for *_, k in MISTAKES}) >= 12


@pytest.mark.parametrize("name,wrt,text,kind", MISTAKES, ids=IDS)
def test_a_wrong_claim_is_caught_and_any_repair_is_proved(name, wrt, text, kind):
    v = _verdict(name, wrt, text)
    assert v.status in ("refuted", "shape-error"), (v.status, v.detail)
    if v.counterexample:
        reference.check_counterexample(_path(name), text, wrt, v.counterexample.to_dict())
    r = v.repair
    if r is None:
        return
    assert r.proof in ("proved", "proved-up-to")
    assert apply_edits(text, r.edits) == r.text  # an edit of the text as written
    span = r.span
    assert text[:span["start"]] + span["replacement"] + text[span["end"]:] == r.text
    d, grads = _derivation(name)
    again = verify_claim(d, Claim(wrt, r.text, d.parser().parse(r.text)), grads, max_size=3, seconds=30)
    assert again.status == r.proof, (r.text, again.status)
    assert _really_equal(_path(name), r.text, wrt), r.text


def test_most_wrong_claims_get_the_right_likely_mistake():
    misses = [(f, w, t, k, _verdict(f, w, t).repair and _verdict(f, w, t).repair.kind)
              for f, w, t, k in MISTAKES if not (_verdict(f, w, t).repair and _verdict(f, w, t).repair.kind == k)]
    assert len(misses) <= 0.2 * len(MISTAKES), misses


def test_a_repair_keeps_the_users_spacing_and_parentheses():
    r = _verdict("dense", "W", "x.T @ (dY * g'(z))").repair
    assert r.text == "(dY * g'(z)) @ x.T" and r.kind == "swap"
    r = _verdict("dense", "x", "W @ (dY * g'(z))").repair
    assert r.marked() == "[W -> W.T] @ (dY * g'(z))"
    assert r.to_dict()["span"] == {"start": 0, "end": 1, "replacement": "W.T"}
    r = _verdict("mse_batch", "W", "((Yhat - Y) * g'(Z)) @ X.T / 2").repair
    assert r.text == "((Yhat - Y) * g'(Z)) @ X.T / 4" and r.kind == "constant"


def test_a_repair_is_marked_with_its_proof():
    r = _verdict("bce", "b", "y - p").repair
    assert (r.kind, r.text, r.proof, r.sizes) == ("negated", "p - y", "proved", None)
    assert "proved for every size" in r.search_text()


def test_a_repair_proved_only_up_to_n_says_so(tmp_path):
    """sin(x)**2 + cos(x)**2 = 1 is beyond the index form: the repair is
    proved at explicit sizes only, and says so."""
    from symbolic import derive, load
    f = tmp_path / "pythagoras.toml"
    f.write_text('output = "J"\n[dims]\nn = "n"\n[inputs]\nx = "n x 1"\ny = "n x 1"\n'
                 '[forward]\nJ = "sum((sin(x) ** 2 + cos(x) ** 2) * y)"\n')
    d = load(f)
    text = "-(x * 0 + 1)"
    v = verify_claim(d, Claim("y", text, d.parser().parse(text)), derive(d), max_size=3, seconds=30)
    r = v.repair
    assert (v.status, r.kind, r.proof, r.sizes) == ("refuted", "negated", "proved-up-to", 3)
    assert "proved for sizes up to 3" in r.search_text()


def test_a_missing_term_is_named():
    r = _verdict("residual", "v", "W.T @ (dY * g'(z))").repair
    assert r.kind == "term" and "lacks the term `dY`" in r.describe()
    assert r.text == "W.T @ (dY * g'(z)) + dY"
