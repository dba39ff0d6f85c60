"""Check your own backward code against gradproof's verified gradients.

    from numeric.testing import check_backward

    def my_backward(W, X, b, dY):                 # arrays in, named as in the file
        Yhat = 1 / (1 + np.exp(-(W @ X + b)))
        D = dY * Yhat * (1 - Yhat)
        return {"W": D @ X.T, "X": W.T @ D, "b": D.sum(axis=1, keepdims=True)}

    check_backward(my_backward, "layer_batch", activation="sigmoid")

**The convention.** `fn` is called with keyword arguments named as the
derivation's inputs and its upstream gradient (`numeric.gradients(name).arguments`:
`W, X, b, dY` for `layer_batch`), each a 2-D NumPy array of the file's
shape, all of one dtype.  It returns the gradients as a dict
(`{"W": dW, ...}`; some may be left out) or as a tuple in the order of
the inputs (`W, X, b`).  For a file whose output is the loss itself there
is no upstream argument.

**What is checked.** `fn` runs at several sizes for every dim (1, sizes
that differ so that a transpose shows, all equal, larger), in float64 and
in float32, with values of moderate and of large magnitude (so that an
`exp` that overflows in float32 shows), and every entry is compared with
`numeric.gradients` computed in float64 from the same inputs.  The
tolerance of an entry is `eps(dtype) * (8 + 4 * L) * (|reference| +
mean |reference|)`, `L` the largest dim (the length of the longest sum).
Inputs are drawn again until no argument of a function with a kink
(`relu`, `step`) lies within 1e-3 of it; then, with small whole numbers
as inputs, the kinks themselves are hit exactly and `fn` must follow
gradproof's convention (`relu'(0) = step(0) = 0`), unless `kinks="skip"`.

**On a mismatch** an `AssertionError` says which gradient, at which
sizes and dtype, which entries and by how much, and the likely mistake:
the one-edit variants of the verified closed form (`symbolic.mutate`) are
evaluated at the same point, and the one your output equals is named
(`your dW equals (dY * sigmoid(Z)) @ X.T: a function and its derivative
confused`), as are a result that is the transpose (numerator layout), a
multiple (a `1/m` or a sign), the wrong shape, or not finite.

**PyTorch and JAX.** `fn` may also be a `torch.autograd.Function`
subclass: `fn.apply(*inputs)` runs on tensors of the dtype with
`requires_grad`, then `backward(dY)`, and each input's `.grad` is compared;
or a JAX function of the inputs, usually a `jax.custom_vjp` one:
`jax.vjp(fn, *inputs)` and its pullback at `dY`, float64 inside a scoped
`jax.enable_x64(True)` (the process's setting is left alone).  Each is
detected (`framework="torch"` or `"jax"` names it, e.g. for a `jax.jit`-ed
function), and is checked and diagnosed as NumPy code is
(`numeric/testing_frameworks.py`).  Neither framework is needed otherwise.

A pytest fixture, `gradproof_check`, gives `check_backward` to tests once
gradproof is installed (the `pytest11` entry point names this module).
"""
from __future__ import annotations

import numpy as np

from . import gradients, stable
from .testing_frameworks import adapt

__all__ = ["check_backward"]

DTYPES = (np.float64, np.float32)
KINK_MARGIN = 1e-3
LARGE = 6.0  # inputs this many times larger: W @ X + b of a few hundred, past float32's `exp` (88)


def check_backward(fn, derivation, activation: str | None = None, *, seed: int = 0, kinks: str = "check",
                   dtypes=DTYPES, framework: str | None = None) -> None:
    """Call `fn` as the module docstring says and compare each gradient it
    returns with gradproof's, verified; an `AssertionError` naming the
    gradient, the entries and the likely mistake if one differs.

    Arguments:
        fn: the backward code under test: a function of NumPy arrays, a
            `torch.autograd.Function` subclass or a JAX (`custom_vjp`) function.
        derivation: a catalogue name (`"layer_batch"`) or a derivation file.
        activation: the function that replaces the file's generic `g`.
        seed: of the random inputs.
        kinks: "check" (default): at an exact kink `fn` must follow
            gradproof's convention, `relu'(0) = step(0) = 0`; "skip": kinks
            are only avoided.
        framework: "numpy", "torch" or "jax"; by default a
            `torch.autograd.Function` subclass is "torch", a `jax.custom_vjp`
            function "jax" and anything else "numpy".
    """
    if kinks not in ("check", "skip"):
        raise ValueError(f"`kinks` must be 'check' or 'skip', got {kinks!r}")
    checker = _Checker(fn, derivation, activation, framework)
    rng = np.random.default_rng(seed)
    for sizes in checker.size_sets():
        for scale in (1.0, LARGE):
            for dtype in dtypes:
                checker.compare(checker.point(rng, sizes, scale), sizes, dtype, f"values of scale {scale:g}")
    if kinks == "check" and checker.kinked:
        for sizes in checker.size_sets()[1:3]:
            for dtype in dtypes:
                checker.compare(checker.integer_point(rng, sizes), sizes, dtype, "inputs that hit the kinks exactly",
                                at_kinks=True)


def _length(text: str, sizes: dict) -> int:
    """A length such as "-k + n + 1" (a convolution's) at `sizes`."""
    total = 0
    for term in text.replace(" ", "").replace("-", "+-").split("+"):
        if term:
            sign, term = (-1, term[1:]) if term.startswith("-") else (1, term)
            factor, _, name = term.rpartition("*")
            total += sign * int(factor or 1) * (int(name) if name.isdigit() else sizes[name])
    return total


class _Checker:
    def __init__(self, fn, derivation, activation, framework=None):
        from symbolic import derive, load
        from symbolic.catalogue import resolve
        from symbolic.functions import ACTIVATIONS
        self.grads = gradients(derivation, activation=activation)
        self.fn, self.caller = adapt(fn, framework, self.grads)
        self.d = load(resolve(str(self.grads.path)), activation=activation)
        self.closed = derive(self.d).closed
        self.label = self.grads.name + (f" ({activation})" if activation else "")
        self.kinked = {e.fn for e in self._applies() if ACTIVATIONS[e.fn].kink is not None}
        self.dims = sorted({s for shape in self.grads.shapes.values() for s in shape
                            if isinstance(s, str) and s.isidentifier()})  # not a length like "-k + n + 1"

    def _applies(self):
        from symbolic import expr as E
        for e in self.d.forward.values():
            for node in E.walk(e):
                if isinstance(node, E.Apply):
                    yield node

    # -------------------------------------------------------- inputs

    def size_sets(self) -> list:
        """Every dim 1; all equal (a transpose keeps the shape, its values
        show); distinct (a transpose changes the shape); distinct and larger."""
        distinct = dict(zip(self.dims, (2, 3, 5, 4, 6, 7, 8, 9)))
        larger = dict(zip(self.dims, (7, 5, 9, 6, 8, 10, 11, 12)))
        out = []
        for sizes in [{d: 1 for d in self.dims}, {d: 3 for d in self.dims}, distinct, larger]:
            for tried in (sizes, dict(zip(self.dims, reversed(list(sizes.values()))))):
                if all(_length(s, tried) >= 1 for shape in self.grads.shapes.values() for s in shape
                       if isinstance(s, str) and not s.isidentifier()):  # a convolution's length, positive
                    out.append(tried)
                    break
        return out

    def shape(self, name, sizes) -> tuple:
        return tuple(s if isinstance(s, int) else sizes[s] if s.isidentifier() else _length(s, sizes)
                     for s in self.grads.shapes[name])

    def point(self, rng, sizes, scale) -> dict:
        for _ in range(200):
            p = {n: rng.standard_normal(self.shape(n, sizes)) * (scale if n in self.grads.inputs else 1.0)
                 for n in self.grads.arguments}
            if not self.kinked or self.kink_distance(p, sizes) > KINK_MARGIN * scale:
                return p
        raise AssertionError(f"check_backward: no inputs for {self.label} at {_sizes(sizes)} keep every "
                             f"argument of {', '.join(sorted(self.kinked))} away from its kink")

    def integer_point(self, rng, sizes) -> dict:
        """Small whole numbers, half of them 0, drawn until a kink is hit exactly."""
        for _ in range(100):
            p = {n: (rng.integers(-2, 3, self.shape(n, sizes)) * (rng.random(self.shape(n, sizes)) < 0.5))
                 .astype(np.float64) for n in self.grads.arguments}
            if self.kink_distance(p, sizes) == 0:
                break
        return p

    def kink_distance(self, p, sizes) -> float:
        from symbolic.functions import ACTIVATIONS
        values = self.forward_values(p, sizes)
        env = Evaluator(self.d, sizes, values)
        return min((np.min(np.abs(env(node.a) - ACTIVATIONS[node.fn].kink)) for node in self._applies()
                    if node.fn in self.kinked), default=np.inf)

    def forward_values(self, p, sizes, noise=None) -> dict:
        env = Evaluator(self.d, sizes, dict(p), noise)
        for name, e in self.d.forward.items():
            env.values[name] = env(e)
        return env.values

    # -------------------------------------------------------- comparing

    def compare(self, p, sizes, dtype, how, at_kinks=False):
        given = {n: v.astype(dtype) for n, v in p.items()}
        exact = {n: v.astype(np.float64) for n, v in given.items()}  # the same values, in float64
        with np.errstate(all="ignore"):
            reference = self.grads(**exact)
            where = f"{self.label}, {np.dtype(dtype).name}, {_sizes(sizes)}, {how}"
            try:
                got = self.call(given)
            except AssertionError:
                raise
            except Exception as err:
                raise AssertionError(f"check_backward: {self.caller} raised {type(err).__name__}: {err} "
                                     f"({where})") from err
        for name, ref in reference.items():
            if name not in got:
                continue
            self.compare_one(name, np.asarray(got[name]), ref, exact, sizes, dtype, where, at_kinks)

    def call(self, given) -> dict:
        out = self.fn(**{n: v.copy() for n, v in given.items()})
        if isinstance(out, dict):
            unknown = sorted(set(out) - set(self.grads.inputs))
            if unknown:
                raise AssertionError(f"check_backward: {self.caller} returned gradients for {', '.join(unknown)}, "
                                     f"which are not inputs of {self.label} ({', '.join(self.grads.inputs)})")
            return out
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(out) != len(self.grads.inputs):
            raise AssertionError(f"check_backward: {self.caller} returned {len(out)} arrays; expected a dict or "
                                 f"one gradient per input, in order: {', '.join(self.grads.inputs)}")
        return dict(zip(self.grads.inputs, out))

    def tolerance(self, name, ref, p, sizes, dtype):
        """Per entry: 8 times the largest of three runs of the verified form
        with a rounding error of `eps(dtype)` at every node, plus `eps * (8 +
        4 L)` times the entry's magnitude, `L` the largest dim."""
        eps = np.finfo(dtype).eps
        rng = np.random.default_rng(1)
        spread = np.zeros(ref.shape)
        for _ in range(3):
            noisy = Evaluator(self.d, sizes, self.forward_values(p, sizes, (rng, eps)), (rng, eps))
            with np.errstate(all="ignore"):
                spread = np.fmax(spread, np.abs(np.broadcast_to(noisy(self.closed[name]), ref.shape) - ref))
        return 8 * spread + eps * (8 + 4 * max(sizes.values(), default=1)) * (np.abs(ref) + np.mean(np.abs(ref)))

    def compare_one(self, name, got, ref, p, sizes, dtype, where, at_kinks):
        tol = self.tolerance(name, ref, p, sizes, dtype)
        head = f"check_backward: d{name} is wrong ({where})"
        if got.shape != ref.shape:
            diagnosis = self.diagnose(got, ref, name, p, sizes, tol)
            raise AssertionError(f"{head}: its shape is {got.shape}, the shape of {name} is {ref.shape}"
                                 + (f"\n  {diagnosis}" if diagnosis else "") + self.verified(name))
        bad = ~(np.abs(got.astype(np.float64) - ref) <= tol)
        if not bad.any():
            return
        if not np.isfinite(got).all() and np.isfinite(ref).all():
            k = int(np.sum(~np.isfinite(got)))
            raise AssertionError(f"{head}: {k} of {got.size} entries are {_nonfinite(got)} where gradproof's are "
                                 f"finite: an overflow in {np.dtype(dtype).name} (an `exp` of a large argument?); "
                                 f"compute it in a form that cannot overflow" + self.verified(name))
        diff = np.abs(got.astype(np.float64) - ref)
        worst = np.unravel_index(np.argmax(np.where(bad, diff, -1)), diff.shape)
        entries = [tuple(int(i) for i in ix) for ix in zip(*np.nonzero(bad))]
        shown = ", ".join(map(str, entries[:4])) + (f" and {len(entries) - 4} more" if len(entries) > 4 else "")
        lines = [f"{head}: {len(entries)} of {got.size} entries differ: {shown}",
                 f"  largest difference {diff[worst]:.3g} at {tuple(int(i) for i in worst)}: yours "
                 f"{got[worst]:.6g}, gradproof's {ref[worst]:.6g} (tolerance {tol[worst]:.2g})"]
        if not at_kinks:
            diagnosis = self.diagnose(got, ref, name, p, sizes, tol)
        else:  # right away from the kinks (checked first): whole numbers may match a variant by chance
            diagnosis = (f"the inputs hit the kink of {', '.join(sorted(self.kinked))} exactly, and away from it "
                         f"your d{name} is right: a kink convention; gradproof takes relu'(0) = step(0) = 0 (pass "
                         f"kinks=\"skip\" to accept another)")
        lines.append(f"  {diagnosis}" if diagnosis else "  no one-edit variant of the verified form matches it")
        raise AssertionError("\n".join(lines) + self.verified(name))

    def verified(self, name) -> str:
        from symbolic import expr as E
        return f"\n  gradproof's dJ/d{name} = {E.text(self.closed[name])}   [{self.grads.verdicts[name]}]"

    # -------------------------------------------------------- the likely mistake

    def diagnose(self, got, ref, name, p, sizes, tol) -> str | None:
        """The mistake `got` shows: a variant of the verified form it equals."""
        got = got.astype(np.float64)
        scale = np.max(np.abs(ref)) if ref.size else 0.0
        tolerance = np.max(tol) + 1e-12 * scale

        def same(a, b):
            return a.shape == b.shape and np.all(np.abs(a - b) <= tolerance + 1e-9 * np.abs(b))

        if got.shape == ref.T.shape and got.shape != ref.shape or (got.shape == ref.shape and same(got, ref.T)
                                                                   and not same(ref, ref.T)):
            if same(got, ref.T):
                return (f"your d{name} is the transpose of dJ/d{name}: the Jacobian's numerator layout; "
                        f"gradproof's has the shape of {name} (denominator layout)")
        env = Evaluator(self.d, sizes, self.forward_values(p, sizes))
        for m in self.variants(name, sizes):
            try:
                value = env(m.expr)
            except (ValueError, KeyError, ZeroDivisionError):
                continue
            if same(got, np.broadcast_to(value, value.shape)):
                return (f"your d{name} equals `{m.text}`: {m.describe}")
        if got.shape == ref.shape and scale > 0:
            k = np.argmax(np.abs(ref))
            c = got.flat[k] / ref.flat[k]
            if np.isfinite(c) and abs(c - 1) > 1e-3 and same(got, c * ref):
                what = "the sign flipped" if abs(c + 1) < 1e-6 else "a factor such as 1/m missing or extra"
                return f"your d{name} is {c:.6g} times dJ/d{name}: {what}"
        return None

    def variants(self, name, sizes) -> list:
        """The one-edit variants of the verified form that can be formed at
        `sizes` (at equal sizes, `A @ X` for `A @ X.T` too)."""
        import sympy
        from symbolic import expr as E
        from symbolic.mutate import KIND_NAMES, mutants
        from symbolic.parse import ExprError, Parser
        from symbolic.verify import scope
        out = []
        general = self.d.parser()
        concrete = {n: E.Var(v.name, tuple(sympy.Integer(k) for k in Evaluator(self.d, sizes, {}).shape(v.shape)),
                             v.role) for n, v in general.names.items()}
        parser = Parser(concrete, general.functions)
        for m in mutants(E.text(self.closed[name]), *scope(self.d)):
            try:
                e = parser.parse(m.text)
            except (ExprError, E.ShapeError):
                continue
            out.append(_Variant(m.text, e, f"{KIND_NAMES[m.kind]}: `{m.after}` where `{m.before}` belongs"))
        return out


class _Variant:
    def __init__(self, text, expr, describe):
        self.text, self.expr, self.describe = text, expr, describe


def _sizes(sizes) -> str:
    return "sizes " + ", ".join(f"{d}={n}" for d, n in sizes.items()) if sizes else "no dims"


def _nonfinite(a) -> str:
    kinds = [w for w, f in (("nan", np.isnan), ("inf", np.isinf)) if f(a).any()]
    return " or ".join(kinds)


# ---------------------------------------------------------------- a small evaluator of the claim IR

def _function(fn: str):
    """Table function `fn` in NumPy, as the generated code computes it (float64 here)."""
    return stable.FUNCTIONS[fn].numpy


class Evaluator:
    """Values of `symbolic.expr` trees in float64, the names bound in `values`.

    With `noise = (rng, eps)`, every node's value is moved by up to `eps`
    times its magnitude (the entry's, plus the mean of its entries), at
    random: the rounding a computation in a precision of `eps` may make
    at each step, so that repeated runs show how far it can stray."""

    def __init__(self, d, sizes: dict, values: dict, noise=None):
        self.d, self.sizes, self.values, self.noise = d, sizes, values, noise

    def __call__(self, e):
        v = self.value(e)
        if self.noise is None:
            return v
        rng, eps = self.noise
        v = np.asarray(v, dtype=np.float64)
        return v + eps * (np.abs(v) + np.mean(np.abs(v))) * rng.uniform(-1, 1, v.shape)

    def value(self, e):
        from symbolic import expr as E
        from symbolic import windows as W
        from symbolic.functions import ACTIVATIONS
        t = type(e)
        if t is E.Var and e.role == "eye":
            return np.eye(self.shape(e.shape)[0])
        if t is E.Var:
            return np.asarray(self.values[e.name], dtype=np.float64)
        if t is E.Const:
            return np.float64(float(e.value))
        if t is E.Apply:
            if e.order == 0:
                return _function(e.fn)(self(e.a))
            if e.order == 1 and ACTIVATIONS[e.fn].prime is not None:
                return self(ACTIVATIONS[e.fn].prime(e.a))
            raise ValueError(f"no derivative of order {e.order} for {e.fn}")
        if t is E.Scale:
            return float(e.c) * self(e.a)
        if t is E.Transpose:
            return np.swapaxes(np.atleast_2d(self(e.a)), 0, 1)
        if t is E.Pow:
            return self(e.a) ** e.p
        if t is E.Broadcast:
            return np.broadcast_to(self(e.a), self.shape(e.shape))
        if t is E.Sum:
            return np.sum(self(e.a), axis=e.axis, keepdims=e.axis is not None).reshape(self.shape(e.shape))
        if t is E.MatFn:
            a = np.atleast_2d(self(e.a))
            if e.fn == "inv":
                return np.linalg.inv(a)
            sign, log = np.linalg.slogdet(a)
            return np.array([[sign * np.exp(log) if e.fn == "det" else log if sign > 0 else np.nan]])
        if t in W.NODES:
            return _window(e, [np.asarray(self(c), dtype=np.float64) for c in e.children()])
        a, b = self(e.a), self(e.b)
        if t is E.MatMul:
            return a * b if a.ndim == 0 or b.ndim == 0 else a @ b
        if t is E.Add:
            return a + b
        if t is E.Mul:
            return a * b
        raise ValueError(f"no NumPy value for a {t.__name__} node")

    def shape(self, shape) -> tuple:
        return tuple(int(s) if s.is_Integer else self.sizes[str(s)] if s.is_Symbol
                     else int(s.subs({x: self.sizes[str(x)] for x in s.free_symbols})) for s in shape)


def _window(e, kids):
    """The value of a node of `symbolic.windows` from its children's (NumPy's own spellings)."""
    kind = type(e).__name__
    if kind == "Conv":
        a, b = kids[0].reshape(-1), kids[1].reshape(-1)
        out = np.correlate(a, b, mode="valid") if e.mode == "valid" else np.convolve(a, b)
        return out.reshape(-1, 1)
    a = np.atleast_2d(kids[0])
    if kind == "Flip":
        return a[::-1]
    top = a.max(axis=e.axis, keepdims=True) if e.axis is not None else a.max().reshape(1, 1)
    if kind == "Max":
        return top
    mask = np.zeros_like(a)
    first = np.argmax(a, axis=e.axis) if e.axis is not None else np.argmax(a)
    if e.axis is None:
        mask.flat[first] = 1
    elif e.axis == 0:
        mask[first, np.arange(a.shape[1])] = 1
    else:
        mask[np.arange(a.shape[0]), first] = 1
    return mask


# ---------------------------------------------------------------- the pytest fixture

try:
    import pytest
except ImportError:  # check_backward needs no pytest
    pytest = None

if pytest is not None:
    @pytest.fixture
    def gradproof_check():
        """`check_backward`, for a test: `gradproof_check(my_backward, "layer_batch", activation="sigmoid")`."""
        return check_backward
