"""`numeric.testing.check_backward`: a right backward function passes in
float32 and float64 at every size; ten wrong ones fail, each with its
likely mistake named."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numeric.testing import check_backward

ROOT = Path(__file__).parent.parent


def _sigmoid(Z):
    return 0.5 + 0.5 * np.tanh(Z / 2)


def backward(W=None, X=None, b=None, D=None, naive=False):
    """A sigmoid layer's backward pass over a batch, one piece replaced."""
    def fn(W_, X_, b_, dY):
        Z = W_ @ X_ + b_
        S = _sigmoid(Z)
        if naive:  # exp(-Z) overflows in float32 for Z below -88
            Dv = dY * np.exp(-Z) / (1 + np.exp(-Z)) ** 2
        else:
            Dv = D(dY, S, Z) if D else dY * S * (1 - S)
        out = {"W": Dv @ X_.T, "X": W_.T @ Dv, "b": Dv.sum(axis=1, keepdims=True)}
        for name, f in (("W", W), ("X", X), ("b", b)):
            if f is not None:
                out[name] = f(W_, X_, Dv)
        return out
    return lambda W, X, b, dY: fn(W, X, b, dY)


WRONG = {  # name: (function, words the message must hold)
    "transpose": (backward(W=lambda W, X, D: D @ X), "a transpose missing or extra: `X` where `X.T` belongs"),
    "operand order": (backward(W=lambda W, X, D: X.T @ D), "operands swapped"),
    "missing derivative": (backward(D=lambda dY, S, Z: dY), "derivative factor missing or extra"),
    "g for g'": (backward(D=lambda dY, S, Z: dY * S),
                 "a function and its derivative confused: `sigmoid` where `sigmoid'` belongs"),
    "missing 1/m": (backward(W=lambda W, X, D: D @ X.T / X.shape[1]), "a factor such as 1/m missing or extra"),
    "sign": (backward(X=lambda W, X, D: -(W.T @ D)), "the sign flipped"),
    "sum axis": (backward(b=lambda W, X, D: D.sum(axis=0, keepdims=True)), "the sum over the wrong axis"),
    "float32 overflow": (backward(naive=True), "an overflow in float32"),
    "numerator layout": (backward(W=lambda W, X, D: (D @ X.T).T), "numerator layout"),
}


@pytest.mark.parametrize("dtypes", [(np.float64,), (np.float32,), (np.float64, np.float32)])
def test_the_right_backward_passes_in_both_dtypes_at_every_size(dtypes):
    check_backward(backward(), "layer_batch", activation="sigmoid", dtypes=dtypes)
    check_backward(backward(), "layer_batch_sigmoid", dtypes=dtypes)


def test_a_tuple_in_the_order_of_the_inputs_is_accepted():
    right = backward()
    check_backward(lambda **a: tuple(right(**a)[k] for k in ("W", "X", "b")), "layer_batch", activation="sigmoid")


@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_backward_fails_with_its_mistake_named(name):
    fn, words = WRONG[name]
    with pytest.raises(AssertionError) as err:
        check_backward(fn, "layer_batch", activation="sigmoid")
    message = str(err.value)
    assert message.startswith("check_backward: d") and " is wrong (layer_batch (sigmoid), " in message
    assert words in message, message
    assert "gradproof's dJ/d" in message and "[proved for every size]" in message


def relu_backward(convention):
    def fn(W, X, b, dY):
        Z = W @ X + b
        D = dY * convention(Z)
        return {"W": D @ X.T, "X": W.T @ D, "b": D.sum(axis=1, keepdims=True)}
    return fn


def test_a_kink_convention_is_checked_at_the_kinks_and_skipped_on_request():
    check_backward(relu_backward(lambda Z: (Z > 0).astype(Z.dtype)), "layer_relu")
    other = relu_backward(lambda Z: (Z >= 0).astype(Z.dtype))
    with pytest.raises(AssertionError, match="a kink convention; gradproof takes relu'\\(0\\) = step\\(0\\) = 0"):
        check_backward(other, "layer_relu")
    check_backward(other, "layer_relu", kinks="skip")  # right away from the kinks


def test_an_exception_in_the_function_is_reported_with_the_sizes():
    def broken(W, X, b, dY):
        raise ValueError("matmul: mismatch")
    with pytest.raises(AssertionError, match=r"raised ValueError: matmul: mismatch \(layer_batch \(sigmoid\), "
                                             r"float64, sizes k=1, m=1, n=1"):
        check_backward(broken, "layer_batch", activation="sigmoid")


def test_the_pytest_fixture_gives_check_backward(tmp_path):
    test = tmp_path / "test_mine.py"
    test.write_text("import numpy as np\n"
                    "def test_mine(gradproof_check):\n"
                    "    def bw(W, x, b, dY):\n"
                    "        D = dY * (1 - np.tanh(W @ x + b) ** 2)\n"
                    "        return {'W': D @ x.T, 'x': W.T @ D, 'b': D}\n"
                    "    gradproof_check(bw, 'layer', activation='tanh')\n"
                    "def test_wrong(gradproof_check):\n"
                    "    def bw(W, x, b, dY):\n"
                    "        return {'b': dY * np.tanh(W @ x + b)}\n"
                    "    gradproof_check(bw, 'layer', activation='tanh')\n")
    from importlib.metadata import entry_points
    installed = any(e.value == "numeric.testing" for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "numeric.testing"]  # installed: the entry point loads it
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", *plugin, "-p", "no:cacheprovider",
                          str(test)], capture_output=True, text=True, cwd=ROOT)
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "a function and its derivative confused" in run.stdout
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\ngradproof = "numeric.testing"' in pyproject
