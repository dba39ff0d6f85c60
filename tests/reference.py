"""An independent NumPy reference: reads derivation files with `tomllib`
and evaluates their expressions with NumPy, sharing no code with
`symbolic`.  Gradients come from central finite differences."""
from __future__ import annotations

import ast
import math
import re
import tomllib
from fractions import Fraction

import numpy as np


def _sigmoid(t):
    return np.where(t >= 0, 1 / (1 + np.exp(-np.abs(t))), np.exp(-np.abs(t)) / (1 + np.exp(-np.abs(t))))


def _normcdf(t):
    return 0.5 * (1 + np.vectorize(math.erf)(np.asarray(t, dtype=float) / math.sqrt(2)))


def _normpdf(t):
    return np.exp(-np.square(t) / 2) / math.sqrt(2 * math.pi)


FUNCTIONS = {  # name -> list of derivatives, order 0 first
    "sigmoid": [_sigmoid, lambda t: _sigmoid(t) * (1 - _sigmoid(t))],
    "tanh": [np.tanh, lambda t: 1 - np.tanh(t) ** 2],
    "relu": [lambda t: np.maximum(t, 0), lambda t: (t > 0).astype(float), np.zeros_like],
    "step": [lambda t: (t > 0).astype(float), np.zeros_like],
    "softplus": [lambda t: np.logaddexp(0, t), _sigmoid],
    "exp": [np.exp, np.exp],
    "log": [np.log, lambda t: 1 / t],
    "sqrt": [np.sqrt, lambda t: 0.5 / np.sqrt(t)],
    "silu": [lambda t: t * _sigmoid(t), lambda t: _sigmoid(t) * (1 + t * (1 - _sigmoid(t)))],
    "leaky_relu": [lambda t: np.where(t > 0, t, t / 100), lambda t: np.where(t > 0, 1.0, 0.01)],
    "identity": [lambda t: t, np.ones_like, np.zeros_like],
    "recip": [lambda t: 1 / t, lambda t: -1 / t ** 2, lambda t: 2 / t ** 3],
    "sin": [np.sin, np.cos, lambda t: -np.sin(t)],
    "cos": [np.cos, lambda t: -np.sin(t), lambda t: -np.cos(t)],
    "normcdf": [_normcdf, _normpdf, lambda t: -t * _normpdf(t)],
    "normpdf": [_normpdf, lambda t: -t * _normpdf(t), lambda t: (t * t - 1) * _normpdf(t)],
    "gelu": [lambda t: t * _normcdf(t), lambda t: _normcdf(t) + t * _normpdf(t),
             lambda t: (2 - t * t) * _normpdf(t)],
}


def _gelu(a, approximate=None):
    if approximate == "tanh":
        return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))
    return a * _normcdf(a)


ELEMENTWISE = {  # NumPy's own functions of several arguments
    "abs": np.abs, "sign": np.sign, "maximum": np.maximum, "minimum": np.minimum, "clip": np.clip, "gelu": _gelu,
    # linear algebra (a size or a power arrives as a 1 x 1 array)
    "eye": lambda n: np.eye(int(np.asarray(n).reshape(-1)[0])),
    "trace": lambda a: np.trace(a).reshape(1, 1),
    "diag": np.diagflat,
    "outer": lambda a, b: a @ b.T,
    "matrix_power": lambda a, p: np.linalg.matrix_power(a, int(np.asarray(p).reshape(-1)[0])),
    "inv": np.linalg.inv,
    "det": lambda a: np.array([[np.linalg.det(a)]]),
    "logdet": lambda a: np.array([[np.log(np.linalg.det(a)) if np.linalg.det(a) > 0 else np.nan]]),
}


def _keep(f):
    """A NumPy reduction over `axis` (None: every entry), keeping two dimensions."""
    return lambda a, axis: f(a, axis=axis, keepdims=True) if axis is not None else f(a).reshape(1, 1)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(a, axis):
    top = a.max(axis=axis, keepdims=True)
    return top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))


def _conv1d(x, w):
    """Valid cross-correlation of two columns, by its definition: y[i] = sum_j x[i + j] w[j]."""
    x, w = np.asarray(x).reshape(-1), np.asarray(w).reshape(-1)
    return np.array([[sum(x[i + j] * w[j] for j in range(len(w)))] for i in range(len(x) - len(w) + 1)])


def _max_mask(a, axis):
    """1 at the first arg max along `axis` (None: of all entries), 0 elsewhere."""
    out = np.zeros_like(a, dtype=float)
    if axis is None:
        out[np.unravel_index(np.argmax(a), a.shape)] = 1
    elif axis == 0:
        out[np.argmax(a, axis=0), np.arange(a.shape[1])] = 1
    else:
        out[np.arange(a.shape[0]), np.argmax(a, axis=1)] = 1
    return out


ELEMENTWISE.update({  # windows over a column
    "conv1d": _conv1d,
    "convolve": lambda a, b: np.convolve(a.reshape(-1), b.reshape(-1)).reshape(-1, 1),
    "conv1d_full": lambda a, v: np.correlate(a.reshape(-1), v.reshape(-1), mode="full").reshape(-1, 1),
    "flip": lambda a: a[::-1].copy(),
})


REDUCTIONS = {
    "max": _keep(np.max), "max_mask": _max_mask,
    "sum": _keep(np.sum), "mean": _keep(np.mean), "var": _keep(np.var),
    "softmax": _softmax, "logsumexp": _logsumexp,
    "log_softmax": lambda a, axis: a - _logsumexp(a, axis),
}


def polynomial(coefficients):
    """[f, f', f'', ...] of the polynomial with these coefficients."""
    c = np.polynomial.Polynomial(coefficients)
    return [(lambda p: (lambda t: p(t)))(c.deriv(k)) for k in range(8)]


class File:
    def __init__(self, path, coefficients=None):
        self.data = tomllib.loads(open(path, encoding="utf-8").read())
        self.functions = dict(FUNCTIONS)
        for name, kind in self.data.get("functions", {}).items():
            self.functions[name] = polynomial(coefficients) if kind == "elementwise" else FUNCTIONS[kind]

    def dims(self, values: dict) -> dict:
        """Each dim's size, read off the inputs' arrays, as a 1 x 1 value (`/ m`)."""
        out = {}
        for name, shape in self.data.get("inputs", {}).items():
            shape = shape["shape"] if isinstance(shape, dict) else shape  # data: { shape, data }
            if name in values and shape.strip() != "scalar":
                for part, size in zip(re.split(r"\s+x\s+", shape.strip()), values[name].shape):
                    if part in self.data.get("dims", {}):
                        out[part] = np.array([[float(size)]])
        return out

    def forward(self, values: dict) -> dict:
        env = {**self.dims(values), **values}
        pending = dict(self.data["forward"])
        while pending:  # definitions may come in any order
            progress = False
            for name, text in list(pending.items()):
                try:
                    env[name] = self.eval(text, env)
                except KeyError:
                    continue
                progress = True
                del pending[name]
            if not progress:
                raise ValueError(f"reference: cannot evaluate {sorted(pending)}")
        return env

    def objective(self, values: dict) -> float:
        env = self.forward(values)
        out = env[self.data["output"]]
        up = self.data.get("upstream")
        return float(np.sum(values[up] * out)) if up else float(out.reshape(-1)[0])

    def fd_gradient(self, values: dict, wrt: str, h=1e-6) -> np.ndarray:
        grad = np.zeros_like(values[wrt])
        for idx in np.ndindex(*values[wrt].shape):
            plus = {k: v.copy() for k, v in values.items()}
            minus = {k: v.copy() for k, v in values.items()}
            plus[wrt][idx] += h
            minus[wrt][idx] -= h
            grad[idx] = (self.objective(plus) - self.objective(minus)) / (2 * h)
        return grad

    def eval(self, text: str, env: dict):
        text = re.sub(r"([A-Za-z_]\w*)('+)\(", lambda m: f"{m.group(1)}_D{len(m.group(2))}(", text)
        return self._eval(ast.parse(text, mode="eval").body, env)

    def _eval(self, node, env):
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.Constant):
            return np.array([[float(node.value)]])
        if isinstance(node, ast.UnaryOp):
            return -self._eval(node.operand, env)
        if isinstance(node, ast.Attribute):
            assert node.attr == "T"
            return self._eval(node.value, env).T
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left, env), self._eval(node.right, env)
            if isinstance(node.op, ast.Pow):
                return a ** b
            op = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                  ast.MatMult: np.matmul}[type(node.op)]
            return op(a, b)
        if isinstance(node, ast.Call):
            name = node.func.id
            if name in REDUCTIONS:
                a = self._eval(node.args[0], env)
                axis = node.keywords[0].value.value if node.keywords else None
                return REDUCTIONS[name](a, axis)
            if name in ELEMENTWISE:
                args = [self._eval(a, env) for a in node.args]
                kw = {k.arg: k.value.value for k in node.keywords}
                return ELEMENTWISE[name](*args, **kw)
            base, _, order = name.partition("_D")
            if base == "identity":
                return [lambda t: t, np.ones_like][int(order or 0)](self._eval(node.args[0], env))
            return self.functions[base][int(order or 0)](self._eval(node.args[0], env))
        raise ValueError(f"reference: unsupported {ast.dump(node)}")


def matrix(rows) -> np.ndarray:
    """Strings such as '-2/3' or '0.125' -> float64 array."""
    return np.array([[float(Fraction(x)) for x in row] for row in rows], dtype=float)


def random_values(path, sizes: dict, rng) -> dict:
    data = tomllib.loads(open(path, encoding="utf-8").read())
    shapes = dict(data["inputs"])
    out_shape = None
    values = {}
    for name, shape in shapes.items():
        if isinstance(shape, dict):  # data that meets its declared fact, a constant of its sign
            values[name] = _data(shape.get("data", shape.get("constant")), _shape(shape["shape"], sizes), rng)
        else:
            values[name] = rng.uniform(-1.5, 1.5, size=_shape(shape, sizes))
    if data.get("upstream"):
        env = File(path, [1, 3, -2, 1]).forward(values)
        out_shape = env[data["output"]].shape
        values[data["upstream"]] = rng.uniform(-1.5, 1.5, size=out_shape)
    return values


def _data(fact, shape, rng):
    if fact == "one-hot columns":
        return np.eye(shape[0])[:, rng.integers(0, shape[0], shape[1])]
    if fact == "one-hot rows":
        return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    if fact in ("binary", "mask"):  # a mask is binary data
        return rng.integers(0, 2, shape).astype(float)
    if fact == "symmetric":
        a = rng.uniform(-1.5, 1.5, size=shape)
        return a + a.T
    if fact == "positive definite":
        a = rng.uniform(-1.5, 1.5, size=shape)
        return a @ a.T + shape[0] * np.eye(shape[0])
    if fact == "orthogonal":
        return np.linalg.qr(rng.standard_normal(shape))[0]
    if fact == "negative":
        return -rng.uniform(0.2, 1.5, size=shape)
    assert fact == "positive", fact
    return rng.uniform(0.2, 1.5, size=shape)


def _shape(text, sizes):
    if text.strip() == "scalar":
        return (1, 1)
    return tuple(int(p) if p.strip().isdigit() else sizes[p.strip()] for p in re.split(r"x", text))


def check_counterexample(path, text, wrt, c):
    """The counterexample `c` (a verdict's dict) recomputed here: the claim
    and the gradient at its point are what it reports, and they differ."""
    ref = File(path, c["coefficients"])
    values = {name: matrix(rows) for name, rows in c["point"].items()}
    env = {**ref.forward(values), **values}
    claimed = ref.eval(text, env)
    true = ref.fd_gradient(values, wrt)
    undefined = np.array([[x == "undefined" for x in row] for row in c["claim_value"]])
    if undefined.any():  # the claim has no value there (1/0, log 0), and NumPy agrees
        with np.errstate(all="ignore"):
            assert not np.isfinite(np.asarray(claimed, dtype=float)[undefined]).any(), claimed
        return
    reported_claim = matrix(c["claim_value"])
    reported_true = matrix(c["true_value"])
    scale = max(1.0, np.abs(reported_true).max(), np.abs(reported_claim).max())
    assert np.allclose(claimed, reported_claim, rtol=1e-9, atol=1e-12 * scale), (claimed, reported_claim)
    assert np.allclose(true, reported_true, rtol=1e-5, atol=1e-6 * scale), (true, reported_true)
    assert np.abs(claimed - true).max() > 1e-4 * scale, "the point shows no difference"
