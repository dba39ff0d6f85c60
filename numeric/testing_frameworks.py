"""PyTorch and JAX backward code, called as `check_backward` calls NumPy code.

`adapt(fn, framework, grads)` returns a function of NumPy arrays, named as
the derivation's arguments (`W, X, b, dY`), that returns the gradients
the framework computes as a dict of NumPy arrays, and the words that name
`fn` in messages:

- torch: `fn` is a `torch.autograd.Function` subclass.  `fn.apply(*inputs)`
  runs on tensors of the arrays' dtype with `requires_grad`, in the order
  of the inputs; `backward(dY)` (ones for a file whose output is the loss)
  and each input's `.grad`.
- jax: `fn` is a function of the inputs, usually a `jax.custom_vjp`
  function; `jax.vjp(fn, *inputs)` and its pullback at `dY`.  float64
  runs inside `jax.enable_x64(True)`, float32 inside `jax.enable_x64(False)`:
  scoped to the call, so the process's own setting is never changed.

Both frameworks check the shapes of what a backward rule returns and refuse
a wrong one before anyone sees it.  Then the rule itself is called
(`Fn.backward(grad_fn, dY)`; `fn.bwd(residuals, dY)`) and its raw result is
compared, so that a gradient of the wrong shape is diagnosed as any other
(a sum over the wrong axis, a transpose).  Neither framework is imported
unless `fn` belongs to it.
"""
from __future__ import annotations

import importlib

import numpy as np

FRAMEWORKS = ("numpy", "torch", "jax")
_INSTALL = {"torch": ("PyTorch", "pip install torch"), "jax": ("JAX", "pip install jax")}


def adapt(fn, framework, grads):
    """`(call, name)`: `call(**arrays) -> dict of arrays` and the words that name `fn`."""
    if framework is None:
        framework = detect(fn)
    if framework not in FRAMEWORKS:
        raise ValueError(f"`framework` must be one of {', '.join(map(repr, FRAMEWORKS))} or None, "
                         f"got {framework!r}")
    if framework == "numpy":
        if not callable(fn):
            raise TypeError(f"`fn` must be a function of NumPy arrays, got {type(fn).__name__}")
        return fn, "the function"
    module = require(framework)
    if framework == "torch":
        cls = _torch_function(fn, module)
        if cls is None:
            raise TypeError(f"`fn` must be a torch.autograd.Function subclass (its `apply` is called), "
                            f"got {fn!r}")
        return _TorchCall(module, cls, grads), f"{cls.__name__}.apply and its backward"
    if not callable(fn):
        raise TypeError(f"`fn` must be a JAX function (a jax.custom_vjp one), got {type(fn).__name__}")
    return _JaxCall(module, fn, grads), f"jax.vjp of {getattr(fn, '__name__', 'the function')}"


def detect(fn) -> str:
    """"torch" for a `torch.autograd.Function` subclass (or its `apply`),
    "jax" for a `jax.custom_vjp` function, else "numpy"."""
    owner = getattr(fn, "__self__", fn)  # Fn.apply is bound to Fn
    if isinstance(owner, type) and any(c.__name__ == "Function" and c.__module__.startswith("torch.autograd")
                                       for c in owner.__mro__):
        return "torch"
    kind = type(fn)
    if kind.__name__ in ("custom_vjp", "custom_jvp") and kind.__module__.startswith("jax"):
        return "jax"
    return "numpy"


def require(framework):
    """The framework's module, or an ImportError that says how to get it."""
    name, install = _INSTALL[framework]
    try:
        module = importlib.import_module(framework)
    except ImportError as err:
        raise ImportError(f"check_backward(framework={framework!r}) needs {name}, which is not installed "
                          f"here ({err}); `{install}`") from err
    if framework == "jax":
        importlib.import_module("jax.numpy")
    return module


def _torch_function(fn, torch):
    owner = getattr(fn, "__self__", fn)
    return owner if isinstance(owner, type) and issubclass(owner, torch.autograd.Function) else None


class _TorchCall:
    def __init__(self, torch, cls, grads):
        self.torch, self.cls, self.inputs, self.upstream = torch, cls, grads.inputs, grads.upstream

    def __call__(self, **arrays):
        torch = self.torch
        xs = [torch.from_numpy(arrays[n]).requires_grad_(True) for n in self.inputs]
        out = self.cls.apply(*xs)
        if not isinstance(out, torch.Tensor):
            raise AssertionError(f"check_backward: {self.cls.__name__}.apply returned {type(out).__name__}; "
                                 f"expected one tensor, the output")
        seed = torch.from_numpy(arrays[self.upstream]) if self.upstream else torch.ones_like(out)
        if out.shape != seed.shape:
            raise AssertionError(f"check_backward: {self.cls.__name__}.apply returned an output of shape "
                                 f"{tuple(out.shape)}; expected {tuple(seed.shape)}")
        try:
            out.backward(seed, retain_graph=True)
        except RuntimeError as err:
            if "invalid gradient" not in str(err):
                raise
            with torch.no_grad():  # autograd refused a shape: the rule's own result, to diagnose
                raw = self.cls.backward(out.grad_fn, seed)
            raw = raw if isinstance(raw, tuple) else (raw,)
            return {n: _numpy(g) for n, g in zip(self.inputs, raw) if g is not None}
        return {n: _numpy(x.grad) for n, x in zip(self.inputs, xs) if x.grad is not None}


class _JaxCall:
    def __init__(self, jax, fn, grads):
        self.jax, self.fn, self.inputs, self.upstream = jax, fn, grads.inputs, grads.upstream

    def __call__(self, **arrays):
        jax, jnp = self.jax, self.jax.numpy
        wide = next(iter(arrays.values())).dtype == np.float64
        with jax.enable_x64(wide):
            xs = [jnp.asarray(arrays[n]) for n in self.inputs]
            out, pullback = jax.vjp(self.fn, *xs)
            seed = jnp.asarray(arrays[self.upstream]) if self.upstream else jnp.ones_like(out)
            if getattr(out, "shape", None) != seed.shape:
                raise AssertionError(f"check_backward: {getattr(self.fn, '__name__', 'the function')} returned "
                                     f"an output of shape {getattr(out, 'shape', type(out).__name__)}; "
                                     f"expected {tuple(seed.shape)}")
            try:
                got = pullback(seed)
            except (ValueError, TypeError) as err:
                rules = getattr(self.fn, "fwd", None), getattr(self.fn, "bwd", None)
                if "bwd rule" not in str(err) or None in rules:
                    raise
                got = rules[1](rules[0](*xs)[1], seed)  # JAX refused a shape: the rule's own result
            return {n: np.asarray(g) for n, g in zip(self.inputs, got) if g is not None}


def _numpy(t):
    return t.detach().cpu().numpy()
