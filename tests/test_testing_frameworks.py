"""`check_backward` on PyTorch and JAX code: a `torch.autograd.Function`
and a `jax.custom_vjp` function that are right pass in float64 and float32
at every size; wrong ones fail with the likely mistake named; each
framework's tests skip, saying so, where it is not installed."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numeric.testing import check_backward
from numeric.testing_frameworks import detect, require

ROOT = Path(__file__).parent.parent


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: its check_backward tests skip")


def _jax():
    return pytest.importorskip("jax", reason="JAX is not installed: its check_backward tests skip")


def _kernel(sigmoid, sum_, W_=None, X_=None, b_=None, D=None):
    """A sigmoid layer over a batch, forward and backward, in any array
    library; one piece of the backward replaced."""
    def forward(W, X, b):
        return sigmoid(W @ X + b)

    def backward(W, X, Y, dY):
        Dv = D(dY, Y) if D else dY * Y * (1 - Y)
        out = [Dv @ X.T, W.T @ Dv, sum_(Dv, 1)]
        for i, f in enumerate((W_, X_, b_)):
            if f is not None:
                out[i] = f(W, X, Dv, sum_)
        return tuple(out)
    return forward, backward


def torch_function(**wrong):
    torch = _torch()
    forward, backward = _kernel(torch.sigmoid, lambda a, axis: a.sum(dim=axis, keepdim=True), **wrong)

    class Layer(torch.autograd.Function):
        @staticmethod
        def forward(ctx, W, X, b):
            Y = forward(W, X, b)
            ctx.save_for_backward(W, X, Y)
            return Y

        @staticmethod
        def backward(ctx, dY):
            return backward(*ctx.saved_tensors, dY)
    return Layer


def jax_function(**wrong):
    jax = _jax()
    forward, backward = _kernel(jax.nn.sigmoid, lambda a, axis: a.sum(axis=axis, keepdims=True), **wrong)
    layer = jax.custom_vjp(forward)

    def fwd(W, X, b):
        Y = forward(W, X, b)
        return Y, (W, X, Y)
    layer.defvjp(fwd, lambda res, dY: backward(*res, dY))
    return layer


MAKE = {"torch": torch_function, "jax": jax_function}

WRONG = {  # name: (pieces replaced, words the message must hold)
    "transpose": (dict(W_=lambda W, X, D, s: D @ X), "a transpose missing or extra: `X` where `X.T` belongs"),
    "missing derivative": (dict(D=lambda dY, Y: dY), "derivative factor missing or extra"),
    "g for g'": (dict(D=lambda dY, Y: dY * Y), "a function and its derivative confused"),
    "sign": (dict(X_=lambda W, X, D, s: -(W.T @ D)), "the sign flipped"),
    "sum axis": (dict(b_=lambda W, X, D, s: s(D, 0)), "the sum over the wrong axis: `0` where `1` belongs"),
    "missing 1/m": (dict(W_=lambda W, X, D, s: D @ X.T / X.shape[1]), "a factor such as 1/m missing or extra"),
}


@pytest.mark.parametrize("framework", list(MAKE))
@pytest.mark.parametrize("dtypes", [(np.float64,), (np.float32,)], ids=["float64", "float32"])
def test_the_right_backward_passes_in_both_dtypes_at_every_size(framework, dtypes):
    check_backward(MAKE[framework](), "layer_batch", activation="sigmoid", dtypes=dtypes)


@pytest.mark.parametrize("framework", list(MAKE))
@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_backward_fails_with_its_mistake_named(framework, name):
    pieces, words = WRONG[name]
    with pytest.raises(AssertionError) as err:
        check_backward(MAKE[framework](**pieces), "layer_batch", activation="sigmoid")
    message = str(err.value)
    assert message.startswith("check_backward: d") and " is wrong (layer_batch (sigmoid), float64, sizes " in message
    assert words in message, message
    assert "gradproof's dJ/d" in message and "[proved for every size]" in message


def test_a_wrong_shape_refused_by_the_framework_is_still_diagnosed():
    """Both frameworks refuse a gradient of the wrong shape; the rule's own result is diagnosed."""
    for framework in MAKE:
        with pytest.raises(AssertionError, match=r"db is wrong .*: its shape is \(1, 3\), the shape of b is \(3, 1\)"):
            check_backward(MAKE[framework](b_=lambda W, X, D, s: s(D, 0)), "layer_batch", activation="sigmoid")


def test_an_output_of_the_wrong_shape_is_named():
    """Right gradients but the output transposed: it shows once the dims differ."""
    torch, jax = _torch(), _jax()
    right = torch_function()

    class Flipped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, W, X, b):
            return right.forward(ctx, W, X, b).T

        backward = right.backward
    with pytest.raises(AssertionError, match=r"Flipped.apply returned an output of shape \(3, 2\); expected \(2, 3\)"):
        check_backward(Flipped, "layer_batch", activation="sigmoid")
    layer = jax_function()
    flipped = jax.custom_vjp(lambda W, X, b: layer(W, X, b).T)
    flipped.defvjp(lambda W, X, b: (layer(W, X, b).T, (W, X, b)),
                   lambda res, dY: jax.vjp(layer, *res)[1](dY))
    with pytest.raises(AssertionError, match=r"returned an output of shape \(3, 2\); expected \(2, 3\)"):
        check_backward(flipped, "layer_batch", activation="sigmoid")


def test_a_loss_output_is_seeded_with_ones_and_the_torch_dtype_follows_the_arrays():
    torch = _torch()
    seen = set()

    class Loss(torch.autograd.Function):  # J = |tanh(W x + b) - y|^2 / 2
        @staticmethod
        def forward(ctx, W, x, b, y):
            seen.add(W.dtype)
            yhat = torch.tanh(W @ x + b)
            ctx.save_for_backward(W, x, yhat, y)
            return ((yhat - y) ** 2).sum().reshape(1, 1) / 2

        @staticmethod
        def backward(ctx, dJ):
            W, x, yhat, y = ctx.saved_tensors
            D = dJ * (yhat - y) * (1 - yhat ** 2)
            return D @ x.T, W.T @ D, D, dJ * (y - yhat)
    check_backward(Loss, "layer_mse", activation="tanh")
    assert seen == {torch.float64, torch.float32}


def test_jax_float64_is_scoped_and_leaves_the_process_setting_alone():
    jax = _jax()
    dtypes = set()
    right = jax_function()

    def spy(W, X, b):
        dtypes.add(str(W.dtype))
        return right(W, X, b)
    for setting in (False, True):
        with jax.enable_x64(setting):
            check_backward(spy, "layer_batch", activation="sigmoid", framework="jax")
            assert jax.config.jax_enable_x64 is setting
    assert dtypes == {"float64", "float32"}
    assert jax.config.jax_enable_x64 is False


def test_the_framework_is_detected_or_named():
    torch, jax = _torch(), _jax()
    assert detect(torch_function()) == "torch" and detect(torch_function().apply) == "torch"
    assert detect(jax_function()) == "jax" and detect(lambda W, X, b, dY: None) == "numpy"
    check_backward(torch_function().apply, "layer_batch", activation="sigmoid", dtypes=(np.float32,))
    check_backward(jax.jit(jax_function()), "layer_batch", activation="sigmoid", framework="jax")
    with pytest.raises(TypeError, match=r"`fn` must be a torch.autograd.Function subclass"):
        check_backward(lambda W, X, b: W, "layer_batch", activation="sigmoid", framework="torch")
    with pytest.raises(ValueError, match=r"`framework` must be one of 'numpy', 'torch', 'jax' or None, got 'tf'"):
        check_backward(torch.sigmoid, "layer_batch", activation="sigmoid", framework="tf")


@pytest.mark.parametrize("framework, name", [("torch", "PyTorch"), ("jax", "JAX")])
def test_a_missing_framework_is_a_clear_import_error(framework, name, monkeypatch):
    monkeypatch.setitem(sys.modules, framework, None)  # what `import` finds where it is not installed
    with pytest.raises(ImportError, match=rf"check_backward\(framework='{framework}'\) needs {name}, which is not "
                                          rf"installed here .*`pip install {framework}`"):
        require(framework)
    with pytest.raises(ImportError, match=f"needs {name}"):
        check_backward(lambda **a: {}, "layer_batch", activation="sigmoid", framework=framework)


def _readme_examples() -> str:
    """The NumPy, PyTorch and JAX examples of README's "Use it in your own tests"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Use it in your own tests"):text.index("## How the proofs work")]
    examples = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(examples) == 3 and "torch.autograd.Function" in examples[1] and "jax.custom_vjp" in examples[2]
    return "\n".join(examples)


def test_the_readme_examples_pass_and_the_pytest_fixture_checks_torch_and_jax_code(tmp_path):
    """In one pytest run (PyTorch and JAX imported once): the README's
    examples as they stand (the PyTorch and JAX ones call `check_backward`
    on import, the NumPy one is a test), and the fixture on a right
    `torch.autograd.Function` and a wrong `jax.custom_vjp` function."""
    _torch(), _jax()
    test = tmp_path / "test_frameworks_mine.py"
    test.write_text(
        _readme_examples() + "\n"
        "class MyLayer(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, W, x, b):\n"
        "        ctx.save_for_backward(W, x, b)\n"
        "        return torch.tanh(W @ x + b)\n"
        "    @staticmethod\n"
        "    def backward(ctx, dY):\n"
        "        W, x, b = ctx.saved_tensors\n"
        "        D = dY * (1 - torch.tanh(W @ x + b) ** 2)\n"
        "        return D @ x.T, W.T @ D, D\n"
        "@jax.custom_vjp\n"
        "def my_layer(W, x, b):\n"
        "    return jax.numpy.tanh(W @ x + b)\n"
        "def fwd(W, x, b):\n"
        "    return my_layer(W, x, b), (W, x, b)\n"
        "def bwd(res, dY):\n"
        "    W, x, b = res\n"
        "    D = dY * jax.numpy.tanh(W @ x + b)\n"
        "    return D @ x.T, W.T @ D, D\n"
        "my_layer.defvjp(fwd, bwd)\n"
        "def test_torch(gradproof_check):\n"
        "    gradproof_check(MyLayer, 'layer', activation='tanh')\n"
        "def test_jax(gradproof_check):\n"
        "    gradproof_check(my_layer, 'layer', activation='tanh')\n", encoding="utf-8")
    from importlib.metadata import entry_points
    installed = any(e.value == "numeric.testing" for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "numeric.testing"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", *plugin, "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "1 failed, 2 passed" in run.stdout, run.stdout + run.stderr
    assert "FAILED" in run.stdout and "::test_jax" in run.stdout
    assert "a function and its derivative confused" in run.stdout
