"""The algebra of step at its kink (`symbolic/kinks.py`) proves only what
holds everywhere with step(0) = 0: a positive scale, a repeated step and
step(relu(u)) are absorbed; a negative scale or a different argument is not."""
import pytest

from symbolic import derive, load
from symbolic.load import Claim
from symbolic.verify import verify_claim

RELU = 'output = "J"\n[dims]\nn = "n"\n[inputs]\nz = "n x 1"\ny = "n x 1"\n[forward]\nJ = "sum(relu(z) * y)"\n'


@pytest.mark.parametrize("claim,status", [
    ("y * step(2 * z)", "proved"),
    ("y * step(z) * step(z)", "proved"),
    ("y * step(relu(z))", "proved"),
    ("y * step(z * step(z))", "proved"),
    ("y * step(-2 * z)", "refuted"),
    ("y * step(z * step(-z))", "refuted"),
    ("y * step(z - relu(z))", "refuted"),
])
def test_only_identities_that_hold_at_the_kink_are_used(tmp_path, claim, status):
    f = tmp_path / "relu.toml"
    f.write_text(RELU)
    d = load(f)
    v = verify_claim(d, Claim("z", claim, d.parser().parse(claim)), derive(d), max_size=3, seconds=20)
    assert v.status == status, v.detail


@pytest.mark.parametrize("forward, claim, kinks", [
    ("sum(relu(z) * y)", "y * (1 - step(-z))", ("z",)),              # 1 at z = 0, where step(z) is 0
    ("sum(relu(z) * y)", "y - y * step(-z)", ("z",)),
    ("sum(z * y)", "y * (step(z) + step(-z))", ("z",)),              # 0 at z = 0, where the gradient is y
    ("sum(relu(2 * z - 1) * y)", "2 * y * (1 - step(1 - 2 * z))", ("2 * z - 1",)),
    ("sum(relu(z) * y)", "y * step(z)", ()),                          # equal everywhere: no kink stated
])
def test_a_claim_equal_but_on_a_kink_set_is_proved_except_there(tmp_path, forward, claim, kinks):
    import numpy as np

    import reference
    from symbolic.verify import Verdict
    f = tmp_path / "kink.toml"
    f.write_text(RELU.replace("sum(relu(z) * y)", forward) + f'[claims]\nz = "{claim}"\n')
    d = load(f)
    v = verify_claim(d, d.claims["z"], derive(d), max_size=3, seconds=20)
    assert v.status == "proved" and v.kinks == kinks, (v.status, v.kinks, v.detail)
    assert (v.to_dict()["except_where"] or ()) == list(kinks) or not kinks
    assert Verdict.from_dict(v.to_dict()).kinks == kinks
    if kinks:
        assert v.headline() == "proved for every size, except where " + " or ".join(f"{k} = 0" for k in kinks)
    ref = reference.File(f)
    values = {"z": np.array([[-1.3], [0.4], [2.2]]), "y": np.array([[0.5], [-1.5], [2.0]])}
    env = {**ref.forward(values), **values}
    np.testing.assert_allclose(ref.eval(claim, env), ref.fd_gradient(values, "z"), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("forward, claim", [
    ("sum(relu(z) * y)", "y * (1 + step(-z))"),
    ("sum(relu(z) * y)", "y * step(-z)"),
    ("sum(z * y)", "y * (step(z) - step(-z))"),
])
def test_a_claim_that_differs_off_the_kinks_is_refuted(tmp_path, forward, claim):
    import reference
    f = tmp_path / "kink.toml"
    f.write_text(RELU.replace("sum(relu(z) * y)", forward) + f'[claims]\nz = "{claim}"\n')
    d = load(f)
    v = verify_claim(d, d.claims["z"], derive(d), max_size=3, seconds=20)
    assert v.status == "refuted" and not v.kinks, (v.status, v.detail)
    reference.check_counterexample(f, claim, "z", v.counterexample.to_dict())
