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
