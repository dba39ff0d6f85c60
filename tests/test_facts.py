"""Data inputs with declared facts (`Y = { shape = "c x m", data = "one-hot
columns" }`): the proofs use them (a one-hot column sums to 1, a 0/1 entry
is its own square), the counterexamples respect them, and the independent
NumPy reference, drawing data that meets them, confirms both."""
from pathlib import Path

import numpy as np
import pytest

import reference
from symbolic import derive, load
from symbolic.load import Claim, DerivationError
from symbolic.verify import verify_claim

CATALOGUE = Path(__file__).parent.parent / "derivations"
SOFTMAX = CATALOGUE / "softmax_ce.toml"


def _verdict(path, wrt, text):
    d = load(path)
    return verify_claim(d, Claim(wrt, text, d.parser().parse(text)), derive(d), max_size=3, seconds=20)


def _without_facts(tmp_path, path):
    f = tmp_path / path.name
    f.write_text(path.read_text().replace('Y = { shape = "c x m", data = "one-hot columns" }', 'Y = "c x m"'))
    return f


def test_the_one_hot_form_is_proved_only_for_one_hot_labels(tmp_path):
    assert _verdict(SOFTMAX, "Z", "(P - Y) / m").status == "proved"
    v = _verdict(_without_facts(tmp_path, SOFTMAX), "Z", "(P - Y) / m")
    assert v.status == "refuted"  # labels that do not sum to 1 show the difference


@pytest.mark.parametrize("text,repaired", [("P - Y", "(P - Y) / m"), ("(Y - P) / m", "(P - Y) / m"),
                                           ("(P - Y) / c", "(P - Y) / m")])
def test_slips_are_refuted_at_one_hot_labels_and_repaired(text, repaired):
    v = _verdict(SOFTMAX, "Z", text)
    assert v.status == "refuted" and v.repair is not None and v.repair.text == repaired
    c = v.counterexample.to_dict()
    labels = reference.matrix(c["point"]["Y"])
    assert set(np.unique(labels)) <= {0.0, 1.0} and np.all(labels.sum(axis=0) == 1)
    reference.check_counterexample(SOFTMAX, text, "Z", c)


def test_the_reference_draws_data_that_meets_its_facts():
    values = reference.random_values(SOFTMAX, {"c": 4, "m": 5}, np.random.default_rng(0))
    assert np.all(values["Y"].sum(axis=0) == 1) and set(np.unique(values["Y"])) <= {0.0, 1.0}
    ref = reference.File(SOFTMAX)
    env = {**ref.forward(values), **values}
    np.testing.assert_allclose(ref.eval("(P - Y) / m", env), ref.fd_gradient(values, "Z"), rtol=1e-5, atol=1e-7)


BINARY = '''output = "J"
[dims]
n = "entries"
[inputs]
z = "n x 1"
y = { shape = "n x 1", data = "binary" }
[forward]
J = "sum(y * y * z)"
'''

ROWS = '''output = "J"
[dims]
m = "examples"
c = "classes"
[inputs]
z = "m x 1"
Y = { shape = "m x c", data = "one-hot rows" }
[forward]
J = "sum(sum(Y, axis=1) * z)"
'''


@pytest.mark.parametrize("text,wrt,claim", [(BINARY, "z", "y"), (ROWS, "z", "z * 0 + 1")])
def test_binary_and_one_hot_rows(tmp_path, text, wrt, claim):
    f = tmp_path / "facts.toml"
    f.write_text(text)
    assert _verdict(f, wrt, claim).status == "proved"
    plain = tmp_path / "plain.toml"
    plain.write_text(text.replace('{ shape = "n x 1", data = "binary" }', '"n x 1"')
                     .replace('{ shape = "m x c", data = "one-hot rows" }', '"m x c"'))
    assert _verdict(plain, wrt, claim).status == "refuted"


@pytest.mark.parametrize("inputs,key,message", [
    ('Y = { shape = "c x m", data = "one-hot" }', "inputs.Y.data", "expected one of one-hot columns"),
    ('Y = { shape = "c x m" }', "inputs.Y", "a data input takes `shape` and `data`"),
    ('Y = { shape = "c x m", data = "binary", scale = 2 }', "inputs.Y.scale", "unknown key"),
])
def test_a_bad_declaration_is_refused_by_key(tmp_path, inputs, key, message):
    f = tmp_path / "bad.toml"
    f.write_text(SOFTMAX.read_text().replace('Y = { shape = "c x m", data = "one-hot columns" }', inputs))
    with pytest.raises(DerivationError) as err:
        load(f)
    assert f"`{key}`" in str(err.value) and message in str(err.value)


def test_data_has_no_claim(tmp_path):
    f = tmp_path / "claim_on_data.toml"
    f.write_text(SOFTMAX.read_text() + '\n[[claims]]\nwrt = "Y"\nexpr = "-log(P) / m"\n')
    with pytest.raises(DerivationError, match="`Y` is data \\(one-hot columns\\): it is not differentiated"):
        load(f)


def test_a_one_hot_column_sums_to_1_down_its_column_only(tmp_path):
    """Summed along its rows (axis=1), a one-hot-columns `Y` is a count, not 1."""
    f = tmp_path / "rows.toml"
    f.write_text('output = "J"\n[dims]\nc = "c"\nm = "m"\n[inputs]\nz = "c x 1"\n'
                 'Y = { shape = "c x m", data = "one-hot columns" }\n[forward]\nJ = "sum(sum(Y, axis=1) * z)"\n')
    assert _verdict(f, "z", "z * 0 + 1").status == "refuted"
    assert _verdict(f, "z", "sum(Y, axis=1)").status == "proved"
