"""The derived forms as `gradproof derive` prints them, against reviewed
texts; and the simplification pass that makes them readable changes no
value: every simplified form is still proved for every size."""
from pathlib import Path

import pytest

from symbolic import derive, load
from symbolic.expr import text
from symbolic.verify import proves_every_size

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    ('derivations/attention.toml', 'Q'): '(((dO @ V.T) / sum(exp(S), axis=1) * exp(S) - sum((dO @ V.T) * exp(S), axis=1) * (1 / sum(exp(S), axis=1))**2 * exp(S)) / sqrt(d)) @ K',
    ('derivations/attention.toml', 'K'): '(((dO @ V.T) / sum(exp(S), axis=1) * exp(S) - sum((dO @ V.T) * exp(S), axis=1) * (1 / sum(exp(S), axis=1))**2 * exp(S)) / sqrt(d)).T @ Q',
    ('derivations/attention.toml', 'V'): 'P.T @ dO',
    ('derivations/rnn_step.toml', 'Wh'): "(dH * tanh'(A)) @ H0.T",
    ('derivations/rnn_step.toml', 'Wx'): "(dH * tanh'(A)) @ X.T",
    ('derivations/rnn_step.toml', 'H0'): "Wh.T @ (dH * tanh'(A))",
    ('derivations/rnn_step.toml', 'X'): "Wx.T @ (dH * tanh'(A))",
    ('derivations/rnn_step.toml', 'b'): "sum(dH * tanh'(A), axis=1)",
    ('derivations/lstm.toml', 'Wi'): "((dC + dH * O * tanh'(C)) * U * sigmoid'(Wi @ X)) @ X.T",
    ('derivations/lstm.toml', 'Wf'): "((dC + dH * O * tanh'(C)) * C0 * sigmoid'(Wf @ X)) @ X.T",
    ('derivations/lstm.toml', 'Wo'): "(dH * Tc * sigmoid'(Wo @ X)) @ X.T",
    ('derivations/lstm.toml', 'Wu'): "((dC + dH * O * tanh'(C)) * I * tanh'(Wu @ X)) @ X.T",
    ('derivations/lstm.toml', 'X'): "Wu.T @ ((dC + dH * O * tanh'(C)) * I * tanh'(Wu @ X)) + Wo.T @ (dH * Tc * sigmoid'(Wo @ X)) + Wf.T @ ((dC + dH * O * tanh'(C)) * C0 * sigmoid'(Wf @ X)) + Wi.T @ ((dC + dH * O * tanh'(C)) * U * sigmoid'(Wi @ X))",
    ('derivations/lstm.toml', 'C0'): "(dC + dH * O * tanh'(C)) * F",
    ('derivations/lstm.toml', 'dH'): 'H',
    ('derivations/lstm.toml', 'dC'): 'C',
    ('derivations/two_layer_softmax.toml', 'W1'): '((W2.T @ (sum(1 / m * Y / P * exp(Z2), axis=0) * (1 / sum(exp(Z2), axis=0))**2 * exp(Z2) - 1 / m * Y / P / sum(exp(Z2), axis=0) * exp(Z2))) * step(Z1)) @ X.T',
    ('derivations/two_layer_softmax.toml', 'b1'): 'sum((W2.T @ (sum(1 / m * Y / P * exp(Z2), axis=0) * (1 / sum(exp(Z2), axis=0))**2 * exp(Z2) - 1 / m * Y / P / sum(exp(Z2), axis=0) * exp(Z2))) * step(Z1), axis=1)',
    ('derivations/two_layer_softmax.toml', 'W2'): '(sum(1 / m * Y / P * exp(Z2), axis=0) * (1 / sum(exp(Z2), axis=0))**2 * exp(Z2) - 1 / m * Y / P / sum(exp(Z2), axis=0) * exp(Z2)) @ A1.T',
    ('derivations/two_layer_softmax.toml', 'b2'): 'sum(sum(1 / m * Y / P * exp(Z2), axis=0) * (1 / sum(exp(Z2), axis=0))**2 * exp(Z2) - 1 / m * Y / P / sum(exp(Z2), axis=0) * exp(Z2), axis=1)',
    ('derivations/two_layer_softmax.toml', 'X'): 'W1.T @ ((W2.T @ (sum(1 / m * Y / P * exp(Z2), axis=0) * (1 / sum(exp(Z2), axis=0))**2 * exp(Z2) - 1 / m * Y / P / sum(exp(Z2), axis=0) * exp(Z2))) * step(Z1))',
    ('derivations/two_layer_softmax.toml', 'Y'): '-(1 / m * log(P))',
    ('derivations/layer_norm.toml', 'X'): 'dY * gamma / s - sum(dY * gamma * Xc, axis=0) * (1 / s)**2 / s / n * Xc - sum(dY * gamma / s - sum(dY * gamma * Xc, axis=0) * (1 / s)**2 / s / n * Xc, axis=0) / n',
    ('derivations/layer_norm.toml', 'gamma'): 'sum(dY * Xh, axis=1)',
    ('derivations/layer_norm.toml', 'beta'): 'sum(dY, axis=1)',
    ('derivations/batch_norm.toml', 'X'): 'dY * gamma / s - sum(dY * gamma * Xc, axis=1) * (1 / s)**2 / s / m * Xc - sum(dY * gamma / s - sum(dY * gamma * Xc, axis=1) * (1 / s)**2 / s / m * Xc, axis=1) / m',
    ('derivations/batch_norm.toml', 'gamma'): 'sum(dY * Xh, axis=1)',
    ('derivations/batch_norm.toml', 'beta'): 'sum(dY, axis=1)',
    ('derivations/rmsnorm.toml', 'X'): 'dY * gamma / r - sum(dY * gamma * X, axis=0) * (1 / r)**2 / r / n * X',
    ('derivations/rmsnorm.toml', 'gamma'): 'sum(dY * Xh, axis=1)',
    ('derivations/bce_logits.toml', 'z'): '1 / m * sigmoid(z) - 1 / m * y',
    ('derivations/bce_logits.toml', 'y'): '-(1 / m * z)',
    ('derivations/logistic_regression.toml', 'w'): "X @ ((1 / m * (1 - y) / (1 - p) - 1 / m * y / p) * sigmoid'(z)).T",
    ('derivations/logistic_regression.toml', 'b'): "sum((1 / m * (1 - y) / (1 - p) - 1 / m * y / p) * sigmoid'(z))",
    ('derivations/logistic_regression.toml', 'X'): "w @ ((1 / m * (1 - y) / (1 - p) - 1 / m * y / p) * sigmoid'(z))",
    ('derivations/logistic_regression.toml', 'y'): '1 / m * log(1 - p) - 1 / m * log(p)',
    ('derivations/mse.toml', 'Yhat'): '2 * (1 / m * (1 / k) * (Yhat - Y))',
    ('derivations/mse.toml', 'Y'): '-2 * (1 / m * (1 / k) * (Yhat - Y))',
    ('derivations/softmax_ce.toml', 'Z'): 'sum(1 / m * Y / P * exp(Z), axis=0) * (1 / sum(exp(Z), axis=0))**2 * exp(Z) - 1 / m * Y / P / sum(exp(Z), axis=0) * exp(Z)',
    ('derivations/softmax_ce.toml', 'Y'): '-(1 / m * log(P))',
    ('derivations/backprop.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/backprop.toml', 'x'): "W.T @ (dY * g'(z))",
    ('derivations/backprop.toml', 'b'): "dY * g'(z)",
    ('derivations/backprop_sigmoid.toml', 'W'): "(dY * sigmoid'(z)) @ x.T",
    ('derivations/backprop_sigmoid.toml', 'x'): "W.T @ (dY * sigmoid'(z))",
    ('derivations/backprop_sigmoid.toml', 'b'): "dY * sigmoid'(z)",
    ('derivations/layer.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/layer.toml', 'x'): "W.T @ (dY * g'(z))",
    ('derivations/layer.toml', 'b'): "dY * g'(z)",
    ('derivations/layer_batch.toml', 'W'): "(dY * g'(Z)) @ X.T",
    ('derivations/layer_batch.toml', 'X'): "W.T @ (dY * g'(Z))",
    ('derivations/layer_batch.toml', 'b'): "sum(dY * g'(Z), axis=1)",
    ('derivations/layer_batch_sigmoid.toml', 'W'): "(dY * sigmoid'(Z)) @ X.T",
    ('derivations/layer_batch_sigmoid.toml', 'X'): "W.T @ (dY * sigmoid'(Z))",
    ('derivations/layer_batch_sigmoid.toml', 'b'): "sum(dY * sigmoid'(Z), axis=1)",
    ('derivations/layer_mse.toml', 'W'): "((yhat - y) * g'(z)) @ x.T",
    ('derivations/layer_mse.toml', 'x'): "W.T @ ((yhat - y) * g'(z))",
    ('derivations/layer_mse.toml', 'b'): "(yhat - y) * g'(z)",
    ('derivations/layer_mse.toml', 'y'): 'y - yhat',
    ('derivations/conv1d.toml', 'x'): 'convolve(dy, w)',
    ('derivations/conv1d.toml', 'w'): 'conv1d(x, dy)',
    ('derivations/max_pool.toml', 'Z'): 'dY * max_mask(Z, axis=0)',
    ('derivations/layer_relu.toml', 'W'): '(dY * step(Z)) @ X.T',
    ('derivations/layer_relu.toml', 'X'): 'W.T @ (dY * step(Z))',
    ('derivations/layer_relu.toml', 'b'): 'sum(dY * step(Z), axis=1)',
    ('derivations/layer_sigmoid.toml', 'W'): "(dY * sigmoid'(z)) @ x.T",
    ('derivations/layer_sigmoid.toml', 'x'): "W.T @ (dY * sigmoid'(z))",
    ('derivations/layer_sigmoid.toml', 'b'): "dY * sigmoid'(z)",
    ('derivations/layer_tanh.toml', 'W'): "(dY * tanh'(z)) @ x.T",
    ('derivations/layer_tanh.toml', 'x'): "W.T @ (dY * tanh'(z))",
    ('derivations/layer_tanh.toml', 'b'): "dY * tanh'(z)",
    ('derivations/neuron.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/neuron.toml', 'x'): "W.T @ (dY * g'(z))",
    ('derivations/neuron.toml', 'b'): "dY * g'(z)",
    ('derivations/neuron_sigmoid.toml', 'W'): "(dY * sigmoid'(z)) @ x.T",
    ('derivations/neuron_sigmoid.toml', 'x'): "W.T @ (dY * sigmoid'(z))",
    ('derivations/neuron_sigmoid.toml', 'b'): "dY * sigmoid'(z)",
    ('derivations/notes/section_1.toml', 'w'): "dY * g'(z) * x",
    ('derivations/notes/section_1.toml', 'x'): "dY * g'(z) * w",
    ('derivations/notes/section_1.toml', 'b'): "dY * g'(z)",
    ('derivations/notes/section_2.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/notes/section_2.toml', 'x'): "W.T @ (dY * g'(z))",
    ('derivations/notes/section_2.toml', 'b'): "dY * g'(z)",
    ('derivations/notes/section_3.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/notes/section_3.toml', 'x'): "W.T @ (dY * g'(z))",
    ('derivations/notes/section_3.toml', 'b'): "dY * g'(z)",
    ('derivations/notes/section_4.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/notes/section_4.toml', 'x'): "W.T @ (dY * g'(z))",
    ('derivations/notes/section_4.toml', 'b'): "dY * g'(z)",
    ('derivations/notes/section_5.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/notes/section_5.toml', 'x'): "W.T @ (dY * g'(z))",
    ('derivations/notes/section_5.toml', 'b'): "dY * g'(z)",
    ('derivations/perceptron.toml', 'w'): "dY * g'(z) * x",
    ('derivations/perceptron.toml', 'x'): "dY * g'(z) * w",
    ('derivations/perceptron.toml', 'b'): "dY * g'(z)",
    ('derivations/perceptron_sigmoid.toml', 'w'): "dY * sigmoid'(z) * x",
    ('derivations/perceptron_sigmoid.toml', 'x'): "dY * sigmoid'(z) * w",
    ('derivations/perceptron_sigmoid.toml', 'b'): "dY * sigmoid'(z)",
    ('derivations/residual.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('derivations/residual.toml', 'x'): "dY + W.T @ (dY * g'(z))",
    ('derivations/residual.toml', 'b'): "dY * g'(z)",
    ('derivations/two_layers.toml', 'W1'): "((W2.T @ (dY * g'(z2))) * g'(z1)) @ x.T",
    ('derivations/two_layers.toml', 'b1'): "(W2.T @ (dY * g'(z2))) * g'(z1)",
    ('derivations/two_layers.toml', 'W2'): "(dY * g'(z2)) @ a1.T",
    ('derivations/two_layers.toml', 'b2'): "dY * g'(z2)",
    ('derivations/two_layers.toml', 'x'): "W1.T @ ((W2.T @ (dY * g'(z2))) * g'(z1))",
    ('derivations/two_layers_sigmoid.toml', 'W1'): "((W2.T @ (dY * sigmoid'(z2))) * sigmoid'(z1)) @ x.T",
    ('derivations/two_layers_sigmoid.toml', 'b1'): "(W2.T @ (dY * sigmoid'(z2))) * sigmoid'(z1)",
    ('derivations/two_layers_sigmoid.toml', 'W2'): "(dY * sigmoid'(z2)) @ a1.T",
    ('derivations/two_layers_sigmoid.toml', 'b2'): "dY * sigmoid'(z2)",
    ('derivations/two_layers_sigmoid.toml', 'x'): "W1.T @ ((W2.T @ (dY * sigmoid'(z2))) * sigmoid'(z1))",
    ('tests/data/mistakes/batch_relu.toml', 'X'): '(dA * step(Z)) @ W.T',
    ('tests/data/mistakes/batch_relu.toml', 'W'): 'X.T @ (dA * step(Z))',
    ('tests/data/mistakes/batch_relu.toml', 'b'): 'sum(dA * step(Z), axis=0)',
    ('tests/data/mistakes/batch_tanh.toml', 'W'): "(dA * tanh'(Z)) @ X.T",
    ('tests/data/mistakes/batch_tanh.toml', 'X'): "W.T @ (dA * tanh'(Z))",
    ('tests/data/mistakes/batch_tanh.toml', 'b'): "sum(dA * tanh'(Z), axis=1)",
    ('tests/data/mistakes/bce.toml', 'w'): "(((1 - y) / (1 - p) - y / p) * sigmoid'(z)) @ v.T",
    ('tests/data/mistakes/bce.toml', 'v'): "w.T @ (((1 - y) / (1 - p) - y / p) * sigmoid'(z))",
    ('tests/data/mistakes/bce.toml', 'b'): "((1 - y) / (1 - p) - y / p) * sigmoid'(z)",
    ('tests/data/mistakes/bce.toml', 'y'): 'log(1 - p) - log(p)',
    ('tests/data/mistakes/deep.toml', 'W1'): "((W2.T @ ((W3.T @ (dY * g'(z3))) * g'(z2))) * g'(z1)) @ v.T",
    ('tests/data/mistakes/deep.toml', 'W2'): "((W3.T @ (dY * g'(z3))) * g'(z2)) @ a1.T",
    ('tests/data/mistakes/deep.toml', 'W3'): "(dY * g'(z3)) @ a2.T",
    ('tests/data/mistakes/deep.toml', 'v'): "W1.T @ ((W2.T @ ((W3.T @ (dY * g'(z3))) * g'(z2))) * g'(z1))",
    ('tests/data/mistakes/dense.toml', 'W'): "(dY * g'(z)) @ x.T",
    ('tests/data/mistakes/dense.toml', 'x'): "W.T @ (dY * g'(z))",
    ('tests/data/mistakes/dense.toml', 'b'): "dY * g'(z)",
    ('tests/data/mistakes/dense_inline.toml', 'W'): "(dA * sigmoid'(W @ x + b)) @ x.T",
    ('tests/data/mistakes/dense_inline.toml', 'x'): "W.T @ (dA * sigmoid'(W @ x + b))",
    ('tests/data/mistakes/dense_inline.toml', 'b'): "dA * sigmoid'(W @ x + b)",
    ('tests/data/mistakes/mse.toml', 'W'): '2 * ((yhat - y) @ v.T)',
    ('tests/data/mistakes/mse.toml', 'v'): '2 * (W.T @ (yhat - y))',
    ('tests/data/mistakes/mse.toml', 'b'): '2 * (yhat - y)',
    ('tests/data/mistakes/mse.toml', 'y'): '2 * (y - yhat)',
    ('tests/data/mistakes/mse_batch.toml', 'W'): "((Yhat - Y) * g'(Z)) @ X.T / 4",
    ('tests/data/mistakes/mse_batch.toml', 'X'): "W.T @ ((Yhat - Y) * g'(Z)) / 4",
    ('tests/data/mistakes/mse_batch.toml', 'b'): "sum((Yhat - Y) * g'(Z), axis=1) / 4",
    ('tests/data/mistakes/mse_batch.toml', 'Y'): '(Y - Yhat) / 4',
    ('tests/data/mistakes/products.toml', 'A'): 'B @ C @ dY.T',
    ('tests/data/mistakes/products.toml', 'B'): 'A @ dY @ C.T',
    ('tests/data/mistakes/products.toml', 'C'): 'B.T @ A @ dY',
    ('tests/data/mistakes/residual.toml', 'W'): "(dY * g'(z)) @ v.T",
    ('tests/data/mistakes/residual.toml', 'v'): "dY + W.T @ (dY * g'(z))",
    ('tests/data/mistakes/residual.toml', 'b'): "dY * g'(z)",
    ('tests/data/mistakes/rnn.toml', 'U'): "(dH * tanh'(a)) @ hprev.T",
    ('tests/data/mistakes/rnn.toml', 'V'): "(dH * tanh'(a)) @ u.T",
    ('tests/data/mistakes/rnn.toml', 'hprev'): "U.T @ (dH * tanh'(a))",
    ('derivations/hinge.toml', 'w'): '-(X @ (1 / m * step(1 - t * z) * t).T)',
    ('derivations/hinge.toml', 'b'): '-sum(1 / m * step(1 - t * z) * t)',
    ('derivations/hinge.toml', 'X'): '-(w @ (1 / m * step(1 - t * z) * t))',
    ('derivations/hinge.toml', 'y'): '-2 * (1 / m * step(1 - t * z) * z)',
    ('derivations/log_softmax_ce.toml', 'Z'): 'sum(1 / m * Y, axis=0) / sum(exp(Z), axis=0) * exp(Z) - 1 / m * Y',
    ('derivations/log_softmax_ce.toml', 'Y'): '-(1 / m * L)',
    ('derivations/mae.toml', 'Yhat'): '1 / m * (1 / k) * step(Yhat - Y) - 1 / m * (1 / k) * step(-(Yhat - Y))',
    ('derivations/mae.toml', 'Y'): '1 / m * (1 / k) * step(-(Yhat - Y)) - 1 / m * (1 / k) * step(Yhat - Y)',
    ('tests/data/mistakes/rnn.toml', 'u'): "V.T @ (dH * tanh'(a))",
    ('tests/data/mistakes/rnn.toml', 'c'): "dH * tanh'(a)",
    ('tests/data/mistakes/scaled.toml', 'v'): 'dY / s - 2 * (sum(dY * v) * (1 / s)**2 * v)',
    ('tests/data/mistakes/two_sigmoid.toml', 'W1'): "((W2.T @ (dY * sigmoid'(z2))) * sigmoid'(z1)) @ v.T",
    ('tests/data/mistakes/two_sigmoid.toml', 'W2'): "(dY * sigmoid'(z2)) @ a1.T",
    ('tests/data/mistakes/two_sigmoid.toml', 'v'): "W1.T @ ((W2.T @ (dY * sigmoid'(z2))) * sigmoid'(z1))",
    ('derivations/gaussian_nll.toml', 'X'): 'inv(S) @ R / 2 + inv(S).T @ R / 2',
    ('derivations/gaussian_nll.toml', 'mu'): '-sum(inv(S) @ R / 2 + inv(S).T @ R / 2, axis=1)',
    ('derivations/gaussian_nll.toml', 'S'): 'm * inv(S).T / 2 - inv(S).T @ R @ R.T @ inv(S).T / 2',
    ('derivations/ridge.toml', 'X'): 'dY @ w.T - X @ inv(X.T @ X + lam * eye(d)) @ X.T @ y @ dY.T @ X @ inv(X.T @ X + lam * eye(d)) - X @ inv(X.T @ X + lam * eye(d)).T @ X.T @ dY @ y.T @ X @ inv(X.T @ X + lam * eye(d)).T + y @ dY.T @ X @ inv(X.T @ X + lam * eye(d))',
    ('derivations/ridge.toml', 'y'): 'X @ inv(X.T @ X + lam * eye(d)).T @ X.T @ dY',
    ('derivations/ridge.toml', 'lam'): '-sum((inv(X.T @ X + lam * eye(d)).T @ X.T @ dY @ y.T @ X @ inv(X.T @ X + lam * eye(d)).T) * eye(d))',
}


@pytest.mark.parametrize("path,wrt", list(EXPECTED), ids=[f"{p}:{w}" for p, w in EXPECTED])
def test_derived_form_reads_as_reviewed_and_is_proved(path, wrt):
    d = load(ROOT / path)
    closed = derive(d).closed[wrt]
    assert text(closed) == EXPECTED[(path, wrt)]
    assert proves_every_size(d, closed, wrt)


def test_every_catalogue_and_table_form_is_reviewed():
    from symbolic import catalogue_files
    files = [str(f.resolve().relative_to(ROOT)) for f in catalogue_files()]
    files += [f"tests/data/mistakes/{f.name}" for f in (ROOT / "tests/data/mistakes").glob("*.toml")]
    for f in files:
        for wrt in load(ROOT / f).inputs:
            assert (f, wrt) in EXPECTED


@pytest.mark.parametrize("forward, derived", [
    ("log(exp(Z))", "dY"),                 # dY / exp(Z) * exp(Z)
    ("sqrt(Z) ** 2", "dY"),                # 2 * sqrt(Z) * (1 / sqrt(Z)) / 2
    ("Z * sigmoid(Z)", "dY * sigmoid(Z) + dY * Z * sigmoid'(Z)"),   # nothing to cancel: left as it is
])
def test_a_factor_and_its_reciprocal_cancel_in_a_derived_form(tmp_path, forward, derived):
    f = tmp_path / "cancel.toml"
    f.write_text('output = "Y"\nupstream = "dY"\n[dims]\nk = "k"\n[inputs]\nZ = "k x 1"\n'
                 f'[forward]\nY = "{forward}"\n', encoding="utf-8")
    d = load(f)
    form = derive(d).closed["Z"]
    assert text(form) == derived
    assert proves_every_size(d, form, "Z")
