"""Shapes of size one: 1 x n weights, a 1 x 1 bias, n = k = m = 1."""

from symbolic import catalogue_files, derive, load, verify
from symbolic.explicit import Explicit, is_zero

LAYER_ONES = '''
title = "layer over a batch, every size one"
output = "Yhat"
upstream = "dY"
[inputs]
W = "1 x 1"
X = "1 x 1"
b = "1 x 1"
[functions]
g = "elementwise"
[forward]
Z = "W @ X + b"
Yhat = "g(Z)"
[claims]
W = "(dY * g'(Z)) @ X.T"
b = "sum(dY * g'(Z), axis=1)"
X = "W.T @ (dY * g'(Z))"
'''


def test_neuron_with_row_weights_and_scalar_bias_is_proved():
    d = load(catalogue_files()[0].parent / "neuron.toml")
    assert d.inputs["W"].shape[0] == 1 and d.inputs["b"].shape == (1, 1)
    assert [v.status for v in verify(d)] == ["proved", "proved"]


def test_every_claim_holds_when_every_dim_is_one():
    for path in catalogue_files():
        d = load(path)
        ex = Explicit(d, {s: 1 for s in d.dims.values()})
        kinked = {v.name or v.wrt for v in verify(d) if v.kinks}  # proved only off a kink set
        for key, claim in d.claims.items():
            if key in kinked:
                continue
            diff = ex.given(ex.value(claim.expr) - ex.gradient(claim.wrt))  # with the data's facts
            assert all(is_zero(x) for x in diff), (path.name, key)  # rational functions (1/p) as well


def test_all_ones_layer_is_proved_and_transposes_do_not_matter(tmp_path):
    path = tmp_path / "ones.toml"
    path.write_text(LAYER_ONES)
    assert [v.status for v in verify(load(path))] == ["proved"] * 3
    path.write_text(LAYER_ONES.replace("@ X.T", "@ X").replace("W.T @", "W @"))
    assert [v.status for v in verify(load(path))] == ["proved"] * 3


def test_all_ones_layer_still_refutes_a_wrong_claim(tmp_path):
    path = tmp_path / "ones.toml"
    path.write_text(LAYER_ONES.replace("g'(Z)) @ X.T", "g(Z)) @ X.T"))
    v = verify(load(path))[0]
    assert v.status == "refuted" and v.counterexample.sizes == {}


def test_derived_forms_at_size_one_keep_their_shapes():
    d = load(catalogue_files()[0].parent / "neuron.toml")
    closed = derive(d).closed
    assert closed["W"].shape == d.inputs["W"].shape
    assert closed["b"].shape == (1, 1)
