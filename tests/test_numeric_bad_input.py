"""Bad arguments to generated gradients: a clear `TypeError` or `ValueError`
naming the argument, what came and what was expected, before any work."""
from __future__ import annotations

import numpy as np
import pytest

from numeric import gradients
from symbolic import DerivationError


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))


@pytest.fixture
def layer():
    return gradients("layer_batch", activation="sigmoid")


def arrays(k=4, n=6, m=5, dtype=np.float64):
    rng = np.random.default_rng(0)
    return {"W": rng.standard_normal((k, n)).astype(dtype), "X": rng.standard_normal((n, m)).astype(dtype),
            "b": rng.standard_normal((k, 1)).astype(dtype), "dY": rng.standard_normal((k, m)).astype(dtype)}


def test_missing_argument(layer):
    a = arrays()
    del a["dY"]
    with pytest.raises(TypeError, match=r"^layer_batch.gradients\(\) missing 1 required positional argument: 'dY'$"):
        layer(**a)
    with pytest.raises(TypeError, match=r"layer_batch.forward\(\) missing 1 required positional argument: 'b'"):
        layer.forward(W=a["W"], X=a["X"])


def test_extra_argument(layer):
    with pytest.raises(TypeError, match=r"layer_batch.gradients\(\) got an unexpected keyword argument 'c'"):
        layer(**arrays(), c=np.ones((4, 1)))
    with pytest.raises(TypeError, match=r"layer_batch.forward\(\) got an unexpected keyword argument 'dY'"):
        layer.forward(**arrays())


def test_arguments_in_order(layer):
    a = arrays()
    assert layer.arguments == ("W", "X", "b", "dY")
    by_name, in_order = layer(**a), layer(*a.values())
    assert all(np.array_equal(by_name[n], in_order[n]) for n in layer.inputs)


def test_wrong_shape_names_the_dims(layer):
    a = arrays(k=4, n=6)
    a["X"] = np.ones((3, 5))
    with pytest.raises(ValueError) as err:
        layer(**a)
    assert str(err.value) == "X has shape (3, 5), but W is (4, 6): expected X of shape (6, m)"


@pytest.mark.parametrize("name, shape, message", [
    ("b", (4, 2), "b has shape (4, 2): expected b of shape (4, 1)"),
    ("b", (3, 1), "b has shape (3, 1), but W is (4, 6): expected b of shape (4, 1)"),
    ("dY", (4, 7), "dY has shape (4, 7), but X is (6, 5): expected dY of shape (4, 5)"),
    ("W", (4,), "W has shape (4,): expected W of shape (k, n), a 2-D array; for a column write W.reshape(-1, 1)"),
    ("X", (6, 5, 1), "X has shape (6, 5, 1): expected X of shape (6, m), a 2-D array"),
])
def test_each_shape_mismatch(layer, name, shape, message):
    a = arrays()
    a[name] = np.ones(shape)
    with pytest.raises(ValueError) as err:
        layer(**a)
    assert str(err.value) == message


def test_a_column_given_as_a_vector():
    grads = gradients("layer", activation="tanh")
    with pytest.raises(ValueError, match=r"^x has shape \(6,\): expected x of shape \(6, 1\), a 2-D array; "
                                         r"for a column write x.reshape\(-1, 1\)$"):
        grads(W=np.ones((4, 6)), x=np.ones(6), b=np.ones((4, 1)), dY=np.ones((4, 1)))


@pytest.mark.parametrize("value, message", [
    (np.array([["a", "b"]] * 6), "X holds strings"),
    (np.empty((6, 5), dtype=object), "X holds Python objects"),
    (np.ones((6, 5), dtype=bool), "X holds booleans"),
    (np.ones((6, 5), dtype=complex), "X holds complex numbers"),
    (np.ones((6, 5), dtype=np.float16), "X has dtype float16; expected float32 or float64"),
    ("not an array", "X holds strings"),
    (None, "X holds Python objects"),
])
def test_non_numeric_arrays_are_refused(layer, value, message):
    a = arrays()
    a["X"] = value
    with pytest.raises(TypeError, match=message):
        layer(**a)


def test_mixed_float_dtypes_are_refused_not_upcast(layer):
    a = arrays()
    a["X"] = a["X"].astype(np.float32)
    with pytest.raises(TypeError, match="W is float64 but X is float32; pass every array as float32 or every "
                                        "array as float64"):
        layer(**a)


def test_integers_convert_exactly_to_the_arrays_dtype(layer):
    a = arrays(dtype=np.float32)
    a["X"] = np.arange(30).reshape(6, 5)
    got = layer(**a)
    assert all(g.dtype == np.float32 for g in got.values())
    expected = layer(**{**a, "X": a["X"].astype(np.float32)})
    for name in got:
        np.testing.assert_array_equal(got[name], expected[name])
    ints = {n: np.round(v * 10).astype(np.int64) for n, v in arrays().items()}
    assert all(g.dtype == np.float64 for g in layer(**ints).values())


def test_integers_a_float_cannot_hold_are_refused(layer):
    a = arrays(dtype=np.float32)
    a["X"] = np.full((6, 5), 2 ** 24 + 1, dtype=np.int64)
    with pytest.raises(ValueError, match="X holds integers up to 16777217, which float32 cannot represent exactly"):
        layer(**a)


def test_lists_are_accepted(layer):
    a = arrays()
    got = layer(**{**a, "b": a["b"].tolist()})
    np.testing.assert_array_equal(got["b"], layer(**a)["b"])


def test_errors_come_before_any_computation(layer, monkeypatch):
    calls = []
    monkeypatch.setattr(layer.module, "_sigmoid", lambda *args, **kw: calls.append(args))
    a = arrays()
    a["dY"] = np.ones((4, 7))  # only the last argument is wrong
    with pytest.raises(ValueError, match="dY has shape"):
        layer(**a)
    assert calls == []


def test_a_generic_function_needs_an_activation():
    with pytest.raises(DerivationError, match=r"layer_batch.toml: `functions.g`: `g` is generic: name the "
                                              r"function that replaces it \(`activation`: one of cos, exp, "):
        gradients("layer_batch")


def test_an_activation_for_a_file_without_a_generic_function():
    with pytest.raises(DerivationError, match="declares no generic function for `activation` 'tanh'"):
        gradients("layer_batch_sigmoid", activation="tanh")


def test_an_unknown_activation_or_file():
    with pytest.raises(DerivationError, match="unknown activation 'swish'"):
        gradients("layer_batch", activation="swish")
    with pytest.raises(DerivationError, match="no such file or catalogue entry"):
        gradients("no_such_layer")
    with pytest.raises(DerivationError, match="no such file"):
        gradients("missing/file.toml")


@pytest.mark.parametrize("key, toml", [
    ("dims.class", '[dims]\nclass = "k"\n[inputs]\nx = "class x 1"\n'),
    ("inputs.lambda", '[dims]\nk = "k"\n[inputs]\nx = "k x 1"\nlambda = "k x 1"\n'),
])
def test_a_python_keyword_as_a_name_is_refused(tmp_path, key, toml):
    f = tmp_path / "clash.toml"
    f.write_text(f'title = "clash"\noutput = "y"\nupstream = "dY"\n{toml}[forward]\ny = "tanh(x)"\n')
    word = key.split(".")[1]
    with pytest.raises(DerivationError, match=f"clash.toml: `{key}`: a name `{word}` is a Python keyword"):
        gradients(f)
