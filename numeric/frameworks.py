"""The generated module as a PyTorch or JAX operation (`gradproof export --target`).

The module keeps everything the NumPy export has, its docstring with the
derivation's verdicts and its checked `forward` and `gradients`, and adds:

- torch: `Function`, a `torch.autograd.Function` whose forward saves the
  inputs and whose backward returns the verified gradients, and `apply`;
- jax: `apply`, a `jax.custom_vjp` function whose rules call `forward` and
  `gradients` through `jax.pure_callback` (so it works under `jit` too).

The framework code is fixed text: it names nothing of the derivation file
and reads the module's own constants (`INPUTS`, `SHAPES`, `OUTPUT_SHAPE`)
when it runs.  Its only imports are the framework and NumPy.  The arrays
cross to NumPy on the CPU and back: a tensor on another device comes back
to it, at the cost of the copies.
"""
from __future__ import annotations

import ast

TARGETS = ("numpy", "torch", "jax")

_USE = {
    "torch": """
PyTorch: `apply(*inputs)`, the inputs in the order of `INPUTS`, is the output
as a tensor that autograd differentiates with the gradients above; tensors
of float32 or float64, on any device, computed on the CPU through NumPy.""",
    "jax": """
JAX: `apply(*inputs)`, the inputs in the order of `INPUTS`, is the output as
a `jax.custom_vjp` function: reverse mode (`jax.grad`, `jax.vjp`) uses the
gradients above; it works under `jax.jit` (the NumPy code runs through
`jax.pure_callback`); forward mode (`jax.jvp`) is not defined.""",
}

_TORCH = '''

# ---- PyTorch

import torch


def _to_numpy(t):
    return t.detach().cpu().numpy()


class Function(torch.autograd.Function):
    """The output as an autograd operation; backward gives the verified gradients."""

    @staticmethod
    def forward(ctx, *inputs):
        ctx.save_for_backward(*inputs)  # what `gradients` needs besides the upstream gradient
        out = forward(*(_to_numpy(t) for t in inputs))
        return torch.from_numpy(out).to(inputs[0].device)

    @staticmethod
    def backward(ctx, upstream):
        inputs = ctx.saved_tensors
        arrays = [_to_numpy(t) for t in inputs]
        if UPSTREAM is not None:
            grads = gradients(*arrays, _to_numpy(upstream))
            scale = None
        else:  # J is the scalar output itself: the gradients scale by the upstream value
            grads = gradients(*arrays)
            scale = upstream
        out = []
        for name, t, needed in zip(INPUTS, inputs, ctx.needs_input_grad):
            g = torch.from_numpy(grads[name]).to(t.device) if needed else None
            out.append(g * scale if g is not None and scale is not None else g)
        return tuple(out)


def apply(*inputs):
    """The output, differentiable by autograd with the verified gradients."""
    return Function.apply(*inputs)
'''

_JAX = '''

# ---- JAX

import jax


def _dims(inputs):
    """Each dim's size, read off the inputs' shapes."""
    dims = {}
    for spec, a in zip((SHAPES[n] for n in INPUTS), inputs):
        if len(a.shape) != 2:
            raise ValueError(f"expected 2-D arrays; got one of shape {a.shape}")
        for d, size in zip(spec, a.shape):
            if isinstance(d, str):
                dims.setdefault(d, size)
    return dims


def _output_struct(inputs):
    dims = _dims(inputs)
    if all(not isinstance(d, str) or d in dims for d in OUTPUT_SHAPE):
        shape = tuple(dims[d] if isinstance(d, str) else d for d in OUTPUT_SHAPE)
    else:  # a length such as "-k + n + 1" (a convolution's): the output's own, at zeros
        shape = np.shape(forward(*(np.zeros(np.shape(a)) for a in inputs)))
    return jax.ShapeDtypeStruct(shape, inputs[0].dtype)


def _forward_numpy(*inputs):
    return forward(*(np.asarray(a) for a in inputs))


def _gradients_numpy(*arrays):
    grads = gradients(*(np.asarray(a) for a in arrays))
    return tuple(grads[n] for n in INPUTS)


@jax.custom_vjp
def apply(*inputs):
    """The output; `jax.grad` and `jax.vjp` use the verified gradients."""
    return jax.pure_callback(_forward_numpy, _output_struct(inputs), *inputs)


def _apply_forward(*inputs):
    return apply(*inputs), inputs  # what `gradients` needs besides the upstream gradient


def _apply_backward(inputs, upstream):
    structs = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in inputs)
    if UPSTREAM is not None:
        return jax.pure_callback(_gradients_numpy, structs, *inputs, upstream)
    grads = jax.pure_callback(_gradients_numpy, structs, *inputs)
    return tuple(g * upstream for g in grads)  # J is the scalar output itself


apply.defvjp(_apply_forward, _apply_backward)
'''

_TAIL = {"torch": _TORCH, "jax": _JAX}


def framework_source(numpy_source: str, target: str) -> str:
    """The module text for `target`: the NumPy module (already checked by
    `numeric.confirm`) with a paragraph on use added to its docstring and
    the framework's fixed code after it."""
    if target == "numpy":
        return numpy_source
    if target not in _TAIL:
        raise ValueError(f"`target` {target!r} is not one of {', '.join(TARGETS)}")
    doc = ast.parse(numpy_source).body[0]
    lines = numpy_source.splitlines(True)
    # the docstring ends with its closing quotes on a line of their own
    assert lines[doc.end_lineno - 1] == '"""\n', "the module docstring ends on a line of its own"
    head = "".join(lines[:doc.end_lineno - 1])
    rest = "".join(lines[doc.end_lineno - 1:])
    return head + _USE[target].lstrip("\n") + "\n" + rest.rstrip("\n") + "\n" + _TAIL[target]
