"""The mutation suite: one-edit variants of every catalogue claim are
refuted or shape errors, never proved -- unless they are in fact equal
to the gradient, which an independent NumPy check then confirms.  Every
refutation's counterexample is re-checked with NumPy at the reported
point."""
import numpy as np
import pytest

import reference
from symbolic import ShapeError, catalogue_files, derive, load
from symbolic.load import Claim
from symbolic.mutate import mutants
from symbolic.verify import scope, verify_claim

CLAIMS = [(f, wrt) for f in catalogue_files() for wrt in load(f).claims]


def _verdicts(path, wrt):
    d = load(path)
    grads = derive(d)
    parser = d.parser()
    for m in mutants(d.claims[wrt].text, *scope(d)):
        try:
            claim = Claim(wrt, m.text, parser.parse(m.text))
        except ShapeError as err:
            claim = Claim(wrt, m.text, None, str(err))
        yield m, verify_claim(d, claim, grads, max_size=3, seconds=20, repair=False)


def _really_equal(path, text, wrt) -> bool:
    """NumPy: does `text` match the finite-difference gradient at random
    points of several sizes?"""
    ref = reference.File(path, [1, 3, -2, 1])
    rng = np.random.default_rng(3)
    dims = load(path).dims
    for size in (1, 2, 3):
        values = reference.random_values(path, {n: size for n in dims}, rng)
        env = {**ref.forward(values), **values}
        got = ref.eval(text, env)
        want = ref.fd_gradient(values, wrt)
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-6, atol=1e-7):
            return False
    return True


@pytest.mark.parametrize("path,wrt", CLAIMS, ids=[f"{p.stem}:{w}" for p, w in CLAIMS])
def test_wrong_variants_are_refuted_and_never_falsely_proved(path, wrt):
    caught = 0
    for m, v in _verdicts(path, wrt):
        if v.status in ("refuted", "shape-error"):
            caught += 1
            if v.counterexample:
                reference.check_counterexample(path, m.text, wrt, v.counterexample.to_dict())
        elif v.status in ("proved", "proved-up-to"):
            assert _really_equal(path, m.text, wrt), f"{m} was proved but is wrong"
        else:  # undecided is allowed only of a variant that is in fact right (step**2 = step)
            assert _really_equal(path, m.text, wrt), f"{m}: {v.status} ({v.detail})"
    assert caught >= 5, f"only {caught} variants of dJ/d{wrt} caught"


def test_mutants_cover_the_plausible_mistakes():
    d = load(catalogue_files()[0].parent / "layer.toml")
    kinds = {m.kind for m in mutants(d.claims["W"].text, *scope(d))}
    assert {"transpose", "swap", "product", "factor", "derivative", "variable"} <= kinds
    d = load(catalogue_files()[0].parent / "layer_batch.toml")
    kinds = {m.kind for m in mutants(d.claims["b"].text, *scope(d))}
    assert {"sum", "sum axis"} <= kinds
