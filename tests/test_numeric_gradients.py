"""Generated NumPy gradients over the catalogue, for every activation:
against central finite differences of the generated forward pass, and
against NumPy backward passes written by hand for each layer structure."""
from __future__ import annotations

import ast
import inspect
import math
import tomllib
import zlib

import numpy as np
import pytest

from numeric import gradients
from symbolic import catalogue_files, load
from symbolic.functions import CALLABLE


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))


def _cases():
    for f in catalogue_files():
        d = load(f)
        for act in (CALLABLE if d.generic else [None]):
            yield pytest.param(f, act, id=f"{f.stem}-{act or 'as-written'}")


CASES = list(_cases())


def point(grads, activation, dtype=np.float64, seed=None):
    """Arrays for every argument at sizes 2 or 3; positive where `log` needs it."""
    rng = np.random.default_rng(zlib.crc32(f"{grads.name} {activation} {seed}".encode()))
    sizes = {}
    out = {}
    for name in grads.arguments:
        shape = tuple(d if isinstance(d, int) else _length(d, sizes) if not d.isidentifier()
                      else sizes.setdefault(d, int(rng.integers(2, 4))) for d in grads.shapes[name])
        if activation in ("log", "sqrt"):
            out[name] = rng.uniform(0.5, 1.5, shape)
        else:
            out[name] = rng.standard_normal(shape)
    return {n: a.astype(dtype) for n, a in out.items()}


def _length(text, sizes):
    """A convolution's length, "-k + n + 1", at `sizes` (its dims bound by the inputs before it)."""
    total = 0
    for term in text.replace(" ", "").replace("-", "+-").split("+"):
        if term:
            sign, name = (-1, term[1:]) if term.startswith("-") else (1, term)
            total += sign * (int(name) if name.isdigit() else sizes[name])
    assert total >= 1, (text, sizes)
    return total


def objective(grads, arrays):
    """J as the generated code defines it: <dY, output>, or the scalar output."""
    def J(values):
        y = grads.forward(**{n: values[n] for n in grads.inputs})
        return float(np.sum(arrays[grads.upstream] * y)) if grads.upstream else float(y.sum())
    return J


def central_differences(J, arrays, name, h=1e-4):
    """dJ/d`name` by the five-point central stencil, entry by entry."""
    out = np.zeros_like(arrays[name])
    for idx in np.ndindex(out.shape):
        values = []
        for step in (2, 1, -1, -2):
            shifted = {n: a.copy() for n, a in arrays.items()}
            shifted[name][idx] += step * h
            values.append(J(shifted))
        out[idx] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return out


@pytest.mark.parametrize("path, activation", CASES)
def test_gradients_agree_with_central_differences(path, activation):
    grads = gradients(path, activation=activation)
    arrays = point(grads, activation)
    before = {n: a.copy() for n, a in arrays.items()}
    got = grads(**arrays)
    assert list(got) == list(grads.inputs)
    for n, a in arrays.items():
        assert np.array_equal(a, before[n]), f"the call wrote into its argument `{n}`"
    J = objective(grads, arrays)
    for name in grads.inputs:
        fd = central_differences(J, arrays, name)
        assert got[name].shape == arrays[name].shape and got[name].dtype == np.float64
        scale = max(np.abs(fd).max(), 1e-6 * max(1.0, abs(J(arrays))))  # a zero gradient: rounding
        assert np.abs(got[name] - fd).max() / scale < 1e-6, f"dJ/d{name}"


@pytest.mark.parametrize("path, activation", CASES)
def test_float32_in_float32_out(path, activation):
    grads = gradients(path, activation=activation)
    arrays = point(grads, activation)
    exact = grads(**arrays)
    single = grads(**{n: a.astype(np.float32) for n, a in arrays.items()})
    for name in grads.inputs:
        assert single[name].dtype == np.float32
        np.testing.assert_allclose(single[name], exact[name], rtol=2e-4, atol=2e-5)
    assert grads.forward(**{n: arrays[n].astype(np.float32) for n in grads.inputs}).dtype == np.float32


# ---------------------------------------------------------------- hand-written references
# Activations spelled independently of numeric.stable and of the rule table.

def _normcdf(z):
    return np.array([0.5 * (1 + math.erf(t / math.sqrt(2))) for t in z.ravel()]).reshape(z.shape)


def _normpdf(z):
    return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


ACT = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "softplus": (lambda z: np.log(1 + np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "exp": (np.exp, np.exp),
    "log": (np.log, lambda z: 1 / z),
    "step": (lambda z: np.where(z > 0, 1.0, 0.0), lambda z: np.zeros_like(z)),
    "sqrt": (np.sqrt, lambda z: 0.5 / np.sqrt(z)),
    "silu": (lambda z: z / (1 + np.exp(-z)), lambda z: (1 + np.exp(-z) + z * np.exp(-z)) / (1 + np.exp(-z)) ** 2),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda z: -np.sin(z)),
    "normcdf": (_normcdf, _normpdf),
    "normpdf": (_normpdf, lambda z: -z * _normpdf(z)),
    "gelu": (lambda z: z * _normcdf(z), lambda z: _normcdf(z) + z * _normpdf(z)),
}


def _perceptron(v, f, fp):
    z = v["w"] * v["x"] + v["b"]
    dz = v["dY"] * fp(z)
    return f(z), {"w": dz * v["x"], "x": dz * v["w"], "b": dz}


def _layer(x, z_name):
    def ref(v, f, fp):
        z = v["W"] @ v[x] + v["b"]
        dz = v["dY"] * fp(z)
        return f(z), {"W": dz @ v[x].T, x: v["W"].T @ dz, "b": dz.sum(axis=1, keepdims=True)}
    return ref


def _layer_mse(v, f, fp):
    z = v["W"] @ v["x"] + v["b"]
    yhat = f(z)
    J = 0.5 * np.sum((yhat - v["y"]) ** 2)
    dz = (yhat - v["y"]) * fp(z)
    return np.array([[J]]), {"W": dz @ v["x"].T, "x": v["W"].T @ dz, "b": dz, "y": v["y"] - yhat}


def _two_layers(v, f, fp):
    z1 = v["W1"] @ v["x"] + v["b1"]
    a1 = f(z1)
    z2 = v["W2"] @ a1 + v["b2"]
    dz2 = v["dY"] * fp(z2)
    dz1 = (v["W2"].T @ dz2) * fp(z1)
    return f(z2), {"W1": dz1 @ v["x"].T, "b1": dz1, "W2": dz2 @ a1.T, "b2": dz2, "x": v["W1"].T @ dz1}


def _residual(v, f, fp):
    z = v["W"] @ v["x"] + v["b"]
    dz = v["dY"] * fp(z)
    return v["x"] + f(z), {"W": dz @ v["x"].T, "x": v["dY"] + v["W"].T @ dz, "b": dz}


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _logistic(v, f, fp):  # the losses name their own functions: `f`, `fp` unused
    p = _sig(v["w"].T @ v["X"] + v["b"])
    m = v["X"].shape[1]
    J = -np.sum(v["y"] * np.log(p) + (1 - v["y"]) * np.log(1 - p)) / m
    r = (p - v["y"]) / m
    return np.array([[J]]), {"w": v["X"] @ r.T, "b": r.sum(keepdims=True), "X": v["w"] @ r,
                             "y": -(np.log(p) - np.log(1 - p)) / m}


def _bce_logits(v, f, fp):
    m = v["z"].shape[1]
    J = np.sum(np.log1p(np.exp(v["z"])) - v["y"] * v["z"]) / m
    return np.array([[J]]), {"z": (_sig(v["z"]) - v["y"]) / m, "y": -v["z"] / m}


def _mse(v, f, fp):
    e = v["Yhat"] - v["Y"]
    return np.array([[np.mean(e ** 2)]]), {"Yhat": 2 * e / e.size, "Y": -2 * e / e.size}


def _mae(v, f, fp):
    e = v["Yhat"] - v["Y"]
    return np.array([[np.mean(np.abs(e))]]), {"Yhat": np.sign(e) / e.size, "Y": -np.sign(e) / e.size}


def _hinge(v, f, fp):
    m = v["X"].shape[1]
    z = v["w"].T @ v["X"] + v["b"]
    t = 2 * v["y"] - 1
    active = (1 - t * z > 0).astype(float)  # step(0) = 0
    J = np.sum(np.maximum(1 - t * z, 0)) / m
    return np.array([[J]]), {"w": -v["X"] @ (t * active).T / m, "b": -np.sum(t * active, keepdims=True) / m,
                             "X": -v["w"] @ (t * active) / m, "y": -2 * z * active / m}


def _log_softmax_ce(v, f, fp):
    Z = v["Z"] - v["Z"].max(axis=0, keepdims=True)
    L = Z - np.log(np.exp(Z).sum(axis=0, keepdims=True))
    m = v["Z"].shape[1]
    return (np.array([[-np.sum(v["Y"] * L) / m]]),
            {"Z": (np.exp(L) * v["Y"].sum(axis=0, keepdims=True) - v["Y"]) / m, "Y": -L / m})


def _softmax_ce(v, f, fp):
    e = np.exp(v["Z"] - v["Z"].max(axis=0, keepdims=True))
    P = e / e.sum(axis=0, keepdims=True)
    m = v["Z"].shape[1]
    J = -np.sum(v["Y"] * np.log(P)) / m
    return np.array([[J]]), {"Z": (P * v["Y"].sum(axis=0, keepdims=True) - v["Y"]) / m, "Y": -np.log(P) / m}


def _rnn_step(v, f, fp):
    H = np.tanh(v["Wh"] @ v["H0"] + v["Wx"] @ v["X"] + v["b"])
    D = v["dH"] * (1 - H ** 2)
    return H, {"Wh": D @ v["H0"].T, "Wx": D @ v["X"].T, "b": D.sum(axis=1, keepdims=True),
               "H0": v["Wh"].T @ D, "X": v["Wx"].T @ D}


def _lstm(v, f, fp):
    X = v["X"]
    I, F, O = (_sig(v[w] @ X) for w in ("Wi", "Wf", "Wo"))
    U = np.tanh(v["Wu"] @ X)
    C = F * v["C0"] + I * U
    Tc = np.tanh(C)
    J = np.sum(v["dH"] * O * Tc) + np.sum(v["dC"] * C)
    dC = v["dC"] + v["dH"] * O * (1 - Tc ** 2)
    dI, dF = dC * U * I * (1 - I), dC * v["C0"] * F * (1 - F)
    dO, dU = v["dH"] * Tc * O * (1 - O), dC * I * (1 - U ** 2)
    return np.array([[J]]), {"Wi": dI @ X.T, "Wf": dF @ X.T, "Wo": dO @ X.T, "Wu": dU @ X.T,
                             "X": v["Wi"].T @ dI + v["Wf"].T @ dF + v["Wo"].T @ dO + v["Wu"].T @ dU,
                             "C0": dC * F, "dH": O * Tc, "dC": C}


def _two_layer_softmax(v, f, fp):
    Z1 = v["W1"] @ v["X"] + v["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = v["W2"] @ A1 + v["b2"]
    e = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
    P = e / e.sum(axis=0, keepdims=True)
    m = v["X"].shape[1]
    J = -np.sum(v["Y"] * np.log(P)) / m
    dZ2 = (P * v["Y"].sum(axis=0, keepdims=True) - v["Y"]) / m
    dZ1 = (v["W2"].T @ dZ2) * (Z1 > 0)
    return np.array([[J]]), {"W2": dZ2 @ A1.T, "b2": dZ2.sum(axis=1, keepdims=True), "W1": dZ1 @ v["X"].T,
                             "b1": dZ1.sum(axis=1, keepdims=True), "X": v["W1"].T @ dZ1, "Y": -np.log(P) / m}


def _attention(v, f, fp):
    Q, K, V, dO = v["Q"], v["K"], v["V"], v["dO"]
    s = np.sqrt(Q.shape[1])
    S = Q @ K.T / s
    e = np.exp(S - S.max(axis=1, keepdims=True))
    P = e / e.sum(axis=1, keepdims=True)
    dP = dO @ V.T
    dS = P * (dP - (P * dP).sum(axis=1, keepdims=True))
    return P @ V, {"V": P.T @ dO, "Q": dS @ K / s, "K": dS.T @ Q / s}


def _normalised(v, axis):
    X, gamma = v["X"], v["gamma"]
    Xc = X - X.mean(axis=axis, keepdims=True)
    s = np.sqrt((Xc ** 2).mean(axis=axis, keepdims=True) + 1e-5)
    return Xc / s, s, gamma * v["dY"]


def _norm(axis):
    def ref(v, f, fp):
        Xh, s, dXh = _normalised(v, axis)
        dX = (dXh - dXh.mean(axis=axis, keepdims=True) - Xh * (dXh * Xh).mean(axis=axis, keepdims=True)) / s
        return v["gamma"] * Xh + v["beta"], {"X": dX, "gamma": (v["dY"] * Xh).sum(axis=1, keepdims=True),
                                             "beta": v["dY"].sum(axis=1, keepdims=True)}
    return ref


def _rmsnorm(v, f, fp):
    X, gamma, dY = v["X"], v["gamma"], v["dY"]
    r = np.sqrt((X ** 2).mean(axis=0, keepdims=True) + 1e-5)
    Xh = X / r
    dXh = gamma * dY
    return gamma * Xh, {"X": (dXh - Xh * (dXh * Xh).mean(axis=0, keepdims=True)) / r,
                        "gamma": (dY * Xh).sum(axis=1, keepdims=True)}


def _gaussian_nll(v, f, fp):
    X, mu, S = v["X"], v["mu"], v["S"]
    R, m = X - mu, X.shape[1]
    Si = np.linalg.inv(S)
    with np.errstate(invalid="ignore"):
        J = (m * np.log(np.linalg.det(S)) + np.sum(R * (Si @ R))) / 2
    dX = (Si + Si.T) @ R / 2
    return np.array([[J]]), {"X": dX, "mu": -dX.sum(axis=1, keepdims=True),
                             "S": (m * Si.T - Si.T @ R @ R.T @ Si.T) / 2}


def _ridge(v, f, fp):
    X, y, lam = v["X"], v["y"], v["lam"]
    M = X.T @ X + lam * np.eye(X.shape[1])
    return X @ np.linalg.solve(M, X.T @ y), {"y": X @ np.linalg.inv(M).T @ X.T @ v["dY"]}


def _conv1d(v, f, fp):
    x, w, dy = v["x"][:, 0], v["w"][:, 0], v["dy"][:, 0]
    k = len(w)
    y = np.array([x[i:i + k] @ w for i in range(len(x) - k + 1)])
    dx = np.zeros_like(x)
    for i in range(len(dy)):  # y[i] reads x[i:i + k]
        dx[i:i + k] += dy[i] * w
    dw = np.array([x[j:j + len(dy)] @ dy for j in range(k)])
    return y[:, None], {"x": dx[:, None], "w": dw[:, None]}


def _max_pool(v, f, fp):
    Z, dY = v["Z"], v["dY"]
    top = Z.argmax(axis=0)
    dZ = np.zeros_like(Z)
    dZ[top, np.arange(Z.shape[1])] = dY[0]
    return Z.max(axis=0, keepdims=True), {"Z": dZ}


# forward definitions as written (a named activation read as `g`) -> reference
REFERENCES = {
    (("y", "conv1d(x, w)"),): _conv1d,
    (("Y", "max(Z, axis=0)"),): _max_pool,
    (("z", "w.T @ X + b"), ("p", "g(z)"), ("J", "-sum(y * g(p) + (1 - y) * g(1 - p)) / m")): _logistic,
    (("J", "sum(g(z) - y * z) / m"),): _bce_logits,
    (("J", "mean((Yhat - Y) ** 2)"),): _mse,
    (("J", "mean(abs(Yhat - Y))"),): _mae,
    (("z", "w.T @ X + b"), ("t", "2 * y - 1"), ("J", "sum(maximum(1 - t * z, 0)) / m")): _hinge,
    (("L", "log_softmax(Z, axis=0)"), ("J", "-sum(Y * L) / m")): _log_softmax_ce,
    (("P", "softmax(Z, axis=0)"), ("J", "-sum(Y * g(P)) / m")): _softmax_ce,
    (("z", "w * x + b"), ("yhat", "g(z)")): _perceptron,
    (("z", "W @ x + b"), ("yhat", "g(z)")): _layer("x", "z"),
    (("Z", "W @ X + b"), ("Yhat", "g(Z)")): _layer("X", "Z"),
    (("z", "W @ x + b"), ("yhat", "g(z)"), ("J", "sum((yhat - y)**2) / 2")): _layer_mse,
    (("z1", "W1 @ x + b1"), ("a1", "g(z1)"), ("z2", "W2 @ a1 + b2"), ("yhat", "g(z2)")): _two_layers,
    (("z", "W @ x + b"), ("yhat", "x + g(z)")): _residual,
    (("A", "Wh @ H0 + Wx @ X + b"), ("H", "g(A)")): _rnn_step,
    (("I", "g(Wi @ X)"), ("F", "g(Wf @ X)"), ("O", "g(Wo @ X)"), ("U", "g(Wu @ X)"), ("C", "F * C0 + I * U"),
     ("Tc", "g(C)"), ("H", "O * Tc"), ("J", "sum(dH * H) + sum(dC * C)")): _lstm,
    (("Z1", "W1 @ X + b1"), ("A1", "g(Z1)"), ("Z2", "W2 @ A1 + b2"), ("P", "softmax(Z2, axis=0)"),
     ("J", "-sum(Y * g(P)) / m")): _two_layer_softmax,
    (("S", "Q @ K.T / g(d)"), ("P", "softmax(S, axis=1)"), ("O", "P @ V")): _attention,
    (("mu", "mean(X, axis=0)"), ("Xc", "X - mu"), ("v", "mean(Xc ** 2, axis=0)"), ("s", "(v + 0.00001) ** 0.5"),
     ("Xh", "Xc / s"), ("Y", "gamma * Xh + beta")): _norm(0),
    (("mu", "mean(X, axis=1)"), ("Xc", "X - mu"), ("v", "mean(Xc ** 2, axis=1)"), ("s", "(v + 0.00001) ** 0.5"),
     ("Xh", "Xc / s"), ("Y", "gamma * Xh + beta")): _norm(1),
    (("r", "(mean(X ** 2, axis=0) + 0.00001) ** 0.5"), ("Xh", "X / r"), ("Y", "gamma * Xh")): _rmsnorm,
    (("R", "X - mu"), ("J", "(m * logdet(S) + sum(R * (inv(S) @ R))) / 2")): _gaussian_nll,
    (("w", "inv(X.T @ X + lam * eye(d)) @ X.T @ y"), ("yhat", "X @ w")): _ridge,
}


def structure(path):
    """The file's forward definitions read with tomllib, and its one activation."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    named = {f for f in CALLABLE if any(f"{f}(" in t for t in data["forward"].values())}
    key = []
    for name, text in data["forward"].items():
        for f in named:
            text = text.replace(f"{f}(", "g(")
        key.append((name, " ".join(text.split())))
    return tuple(key), (named.pop() if named else None)


@pytest.mark.parametrize("path, activation", CASES)
def test_gradients_match_a_hand_written_reference(path, activation):
    key, written = structure(path)
    assert key in REFERENCES, f"no hand-written NumPy reference for the forward pass of {path.name}: add one"
    f, fp = ACT.get(activation or written, (None, None))  # a loss may name no activation
    grads = gradients(path, activation=activation)
    arrays = point(grads, activation or written, seed=1)
    output, expected = REFERENCES[key](arrays, f, fp)
    np.testing.assert_allclose(grads.forward(**{n: arrays[n] for n in grads.inputs}), output,
                               rtol=1e-12, atol=1e-12)
    got = grads(**arrays)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-10, atol=1e-12, err_msg=f"dJ/d{name}")


# ---------------------------------------------------------------- the generated code

def _computations(fn) -> list:
    """Every matrix product and helper call in a function, as text."""
    tree = ast.parse(inspect.getsource(fn))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(ast.unparse(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("_") \
                and node.func.id not in ("_as_float_arrays", "_shape_error", "_type", "_forget_oldest", "_len"):
            found.append(f"{node.func.id}({', '.join(ast.unparse(a) for a in node.args)})")
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "_np.matmul":
            found.append(" @ ".join(ast.unparse(a) for a in node.args[:2]))
    return found


@pytest.mark.parametrize("path, activation", CASES)
def test_nothing_is_computed_twice(path, activation):
    module = gradients(path, activation=activation).module
    for fn in (module.forward, module.gradients):
        done = _computations(fn)
        assert len(done) == len(set(done)), f"repeated in {fn.__name__}: {sorted(done)}"


def test_layer_over_a_batch_is_three_products_and_one_sigmoid():
    grads = gradients("layer_batch", activation="sigmoid")
    done = _computations(grads.module.gradients)
    assert sorted(done) == sorted(["W @ X", "_sigmoid_slope(dZ, dY)", "dZ @ X.T", "W.T @ dZ"])
    body = inspect.getsource(grads.module.gradients)
    # dY * sigmoid'(W @ X + b) in the product's buffer, which comes from the scratch store; the
    # bias and the row sum (db) by the slope's helper, in its pass over the buffer
    assert "    # dZ = dY * sigmoid'(W @ X + b)\n" \
           "    dZ = _np.matmul(W, X, out=_SCRATCH.pop((0, (k, m), W.dtype), None))\n" \
           "    dZ, db = _sigmoid_slope(dZ, dY, out=dZ, column=b, sums=True)\n" \
           "    dW = dZ @ X.T\n" in body
    assert "    _SCRATCH[0, (k, m), W.dtype] = dZ\n" in body and "_sum_along(" not in body


def test_repr_and_attributes():
    grads = gradients("layer_batch", activation="sigmoid", numba=False)  # numba's twins: tests/test_numba.py
    assert repr(grads) == ("<GradientFunction layer_batch, sigmoid (W: k x n, X: n x m, b: k x 1, dY: k x m) "
                           "-> dW, dX, db: proved for every size>")
    assert grads.inputs == ("W", "X", "b") and grads.upstream == "dY" and grads.output == "Yhat"
    assert grads.source.startswith('"""Gradients of `layer_batch` with g = sigmoid.')
    assert inspect.getsource(grads.module.gradients) in grads.source


def test_results_never_share_memory_with_the_arguments():
    grads = gradients("layer", activation="identity")  # dJ/db = dY itself
    arrays = point(grads, "identity")
    got = grads(**arrays)
    for g in got.values():
        for a in arrays.values():
            assert not np.shares_memory(g, a)
    got["b"] += 1.0
    assert not np.array_equal(got["b"], arrays["dY"])


def test_a_second_derivative_comes_from_the_rule_table(tmp_path):
    f = tmp_path / "slope.toml"
    f.write_text('title = "the slope of g"\noutput = "y"\nupstream = "dY"\n[dims]\nk = "k"\n'
                 '[inputs]\nz = "k x 1"\n[functions]\ng = "elementwise"\n[forward]\ny = "g\'(z)"\n')
    for act in ("tanh", "sigmoid", "softplus", "log"):
        grads = gradients(f, activation=act)
        arrays = point(grads, act)
        fd = central_differences(objective(grads, arrays), arrays, "z")
        np.testing.assert_allclose(grads(**arrays)["z"], fd, rtol=1e-7, atol=1e-9, err_msg=act)


def test_a_gradient_function_pickles_as_the_call_that_made_it(tmp_path):
    import pickle
    f = tmp_path / "mine.toml"
    f.write_text((catalogue_files()[0].parent / "layer_batch.toml").read_text())
    for grads in (gradients("layer_batch", activation="tanh"), gradients(f, activation="relu")):
        again = pickle.loads(pickle.dumps(grads))
        assert again.source == grads.source and again.path == grads.path


def test_scratch_arrays_never_reach_the_caller():
    """A buffer reused across calls holds only values no result keeps: the
    results of one call are untouched by the next, at one size or another,
    and calls from many threads at once agree with calls one at a time."""
    import threading
    for activation in ("sigmoid", "tanh", "relu"):
        grads = gradients("layer_batch", activation=activation)
        a = point(grads, activation, seed=1)
        b = point(grads, activation, seed=2)
        first = grads(**a)
        kept = {n: g.copy() for n, g in first.items()}
        again = grads(**b)
        for n in first:
            np.testing.assert_array_equal(first[n], kept[n])
            assert not np.shares_memory(first[n], again[n])
        np.testing.assert_array_equal(grads(**a)["W"], kept["W"])
    grads = gradients("layer_batch", activation="sigmoid")
    rng = np.random.default_rng(3)
    cases = [{"W": rng.standard_normal((40, 30)), "X": rng.standard_normal((30, 50)),
              "b": rng.standard_normal((40, 1)), "dY": rng.standard_normal((40, 50))} for _ in range(4)]
    alone = [grads(**c) for c in cases]
    failures = []

    def work(i):
        for _ in range(200):
            got = grads(**cases[i])
            if not all(np.array_equal(got[n], alone[i][n]) for n in got):
                failures.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_the_scratch_store_keeps_the_last_few_arrays():
    grads = gradients("layer_batch", activation="sigmoid")
    store, keep = grads.module._SCRATCH, grads.module._KEEP
    store.clear()
    for m in range(1, keep + 5):
        a = {"W": np.ones((3, 2)), "X": np.ones((2, m)), "b": np.ones((3, 1)), "dY": np.ones((3, m))}
        grads(**a)
        assert len(store) <= keep
    assert (0, (3, keep + 4), np.dtype(np.float64)) in store
