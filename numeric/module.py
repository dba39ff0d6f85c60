"""The generated module's text: docstring, helpers, checks, `forward` and
`gradients` (the last stage of `numeric.codegen`'s pipeline)."""
from __future__ import annotations

import inspect
import keyword
import textwrap
from dataclasses import dataclass

from symbolic import expr as E

from . import checks, stable
from .codegen import Function, _leaf, _shape_text, chain, expand, prepare


# Names the generated module uses itself: a value of the file may not take one.
TAKEN = frozenset(keyword.kwlist) | {"np", "type", "dtype", "SHAPES", "DERIVATION", "ACTIVATION", "INPUTS",
                                     "UPSTREAM", "OUTPUT", "VERDICTS", "forward", "gradients"}


def clashes(d, grads) -> list:
    """(key in the file, name) for every name the generated code cannot use."""
    keys = [(f"dims.{n}", n) for n in map(str, d.dims.values())]
    keys += [(f"inputs.{n}", n) for n in d.inputs] + [(f"forward.{n}", n) for n in d.forward]
    if d.upstream is not None:
        keys.append(("upstream", d.upstream.name))
    keys += [(f"inputs.{n[1:]}" if n[1:] in d.inputs else f"forward.{n[1:]}", n) for n, _ in grads.steps]
    return [(k, n) for k, n in keys if n in TAKEN]


@dataclass
class Source:
    """What the module's docstring and constants say, besides the code."""
    name: str  # the derivation's catalogue name or file stem
    path: str  # as shown
    title: str
    origin: str  # the file's `source`
    activation: str | None
    generic: list  # generic function names replaced by `activation`
    closed: dict  # input -> (closed form text, verdict headline)
    claims: list  # [(input, text, headline)], verified as written in the file
    claims_generic: bool  # claims verified with a generic function


def module_source(d, grads, info: Source) -> str:
    """The text of a standalone module computing `d`'s forward pass and the
    derived gradients `grads`; it imports nothing but NumPy."""
    params_f = list(d.inputs)
    params_g = params_f + ([d.upstream.name] if d.upstream is not None else [])
    shapes = {n: v.shape for n, v in d.inputs.items()}
    if d.upstream is not None:
        shapes[d.upstream.name] = d.upstream.shape
    forward = prepare(list(d.forward.items()))
    both = prepare(list(d.forward.items()) + list(grads.steps))
    taken = {str(s) for s in d.dims.values()} | set(d.forward) | {n for n, _ in grads.steps}
    taken |= {"np", "dtype"} | set(_HELPER_NAMES)
    f_fn = Function(params_f, shapes, forward, [d.output.name], taken)
    results = [f"d{n}" for n in d.inputs]
    g_fn = Function(params_g, shapes, both, results, taken)
    used = sorted({op[-1] for f in (f_fn, g_fn) for s in f.body if not _leaf(s.expr)
                   for op in chain(s.expr) if op[0] == "helper"})

    out = ['"""' + _docstring(d, grads, info, params_f, params_g, shapes) + '"""',
           "import numpy as np", "", "_ndarray = np.ndarray",
           "_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))",
           "", "", "# ---- stable elementwise functions", ""]
    for name in used:
        out += [_helper_source(name), ""]
    out += ["# ---- argument checks", ""]
    for fn in (checks._as_float_arrays, checks._shape_error):
        out += [inspect.getsource(fn).rstrip(), "", ""]
    out += [f"DERIVATION = {info.name!r}", f"ACTIVATION = {info.activation!r}",
            f"INPUTS = {tuple(params_f)!r}",
            f"UPSTREAM = {d.upstream.name if d.upstream is not None else None!r}",
            f"OUTPUT = {d.output.name!r}",
            f"SHAPES = {{{', '.join(f'{n!r}: {_spec(shapes[n])!r}' for n in params_g)}}}",
            f"VERDICTS = {{{', '.join(f'{n!r}: {v[1]!r}' for n, v in info.closed.items())}}}",
            "", ""]
    out += _function("forward", f_fn, f"{d.output.name}, the output of `{info.name}`, at one point.",
                     lambda r: f"return {r[0]}")
    out += ["", ""]
    what = ", ".join(f"dJ/d{n}" for n in d.inputs)
    J = f"for J = <{d.upstream.name}, {d.output.name}>" if d.upstream is not None else f"of the scalar {d.output.name}"
    out += _function("gradients", g_fn, f"{what} {J}, as a dict keyed by input name.",
                     lambda r: "return {" + ", ".join(f"{n!r}: {x}" for n, x in zip(d.inputs, r)) + "}")
    return "\n".join(out) + "\n"


_HELPER_NAMES = ["_" + s.numpy.__name__ for s in stable.FUNCTIONS.values()] + \
    ["_" + s.derivative.__name__ for s in stable.FUNCTIONS.values() if s.derivative is not stable.RULE]


def _helper_source(name: str) -> str:
    fn = getattr(stable, name[1:])
    return inspect.getsource(fn).replace(f"def {fn.__name__}(", f"def {name}(", 1).rstrip() + "\n"


def _spec(shape) -> tuple:
    return tuple(int(s) if s.is_Integer else str(s) for s in shape)


def _function(name, fn: Function, doc, tail) -> list:
    lines = fn.emit()
    out = [f"def {name}({', '.join(fn.params)}):", f'    """{doc}"""']
    out += ["    " + line for line in _checks(fn.params, fn.shapes) + lines + [tail(fn.returns())]]
    return out


def _checks(params, shapes) -> list:
    """Inline argument checks: one test of types and dtypes; then each dim
    bound by name from the first argument that has it (unpacking a shape
    checks its length too) and every other shape compared whole."""
    first = params[0]
    types = " is ".join(f"type({p})" for p in params) + " is _ndarray"
    dtypes = " and ".join([f"{first}.dtype in _FLOATS"] + [f"{p}.dtype is {first}.dtype" for p in params[1:]])
    names = ", ".join(params) + ("," if len(params) == 1 else "")
    error = f"    _shape_error(SHAPES, {tuple(params)!r}, ({names}))"
    lines = [f"if not ({types}", f"        and {dtypes}):",
             f"    {names} = _as_float_arrays({tuple(params)!r}, ({names}))"]
    bound, binds, tests = set(), [], []
    for p in params:
        new, want = [], [str(d) for d in shapes[p]]
        for i, dim in enumerate(shapes[p]):
            if not dim.is_Integer and want[i] not in bound:
                bound.add(want[i])
                new.append(i)
        if len(new) == 2:
            binds.append(f"{want[0]}, {want[1]} = {p}.shape")
            continue
        if new:
            binds.append(f"{want[new[0]]} = {p}.shape[{new[0]}]")
        tests.append(f"{p}.shape != ({want[0]}, {want[1]})")
    if binds:
        lines += ["try:"] + ["    " + b for b in binds] + ["except (ValueError, IndexError):", error]
    if tests:
        lines += ["if " + " or ".join(tests) + ":", error]
    return lines


def _docstring(d, grads, info: Source, params_f, params_g, shapes) -> str:
    act = f" with {', '.join(info.generic)} = {info.activation}" if info.generic else ""
    lines = [f"Gradients of `{info.name}`{act}.", "", f"Generated by gradproof from {info.path}."]
    lines += [""] + textwrap.wrap(info.title + (f" ({info.origin})" if info.origin else ""), 79) + [""]
    lines += [
             "Shapes: " + ", ".join(f"{n} {_shape_text(shapes[n])}" for n in params_g) + ".", "",
             "Forward:"]
    lines += [f"    {n} = {E.text(e)}" for n, e in d.forward.items()]
    J = f"J = <{d.upstream.name}, {d.output.name}>" if d.upstream is not None else f"the scalar J = {d.output.name}"
    lines += ["", f"Backward, for {J} (derived by gradproof's rule table):"]
    lines += [f"    {n} = {E.text(e)}" for n, e in grads.steps]
    fns = sorted({(n.fn, n.order) for _, e in grads.steps for n in E.walk(e)
                  if isinstance(n, E.Apply) and n.order >= 1})
    if fns:
        lines += ["", "with"]
        for fn, order in fns:
            own = stable.FUNCTIONS[fn].derivative if fn in stable.FUNCTIONS else stable.RULE
            if own is not stable.RULE:  # numeric's table gives it, not the rule table
                what = inspect.getdoc(own).splitlines()[0]
                lines.append(f"    {E.fn_text(fn, order)}(t) = {own.__name__}(t): {what}")
                continue
            rule = E.text(expand(E.Apply(fn, order, E.Var("t", (E.ONE, E.ONE)))))
            lines.append(f"    {E.fn_text(fn, order)}(t) = {rule}")
    lines += ["", "Closed forms, each checked against dJ/d(input) in index form:"]
    width = max(len(t) for t, _ in info.closed.values()) if info.closed else 0
    lines += [f"    dJ/d{n} = {t:<{width}}   [{v}]" for n, (t, v) in info.closed.items()]
    if info.claims:
        how = (f"verified with {', '.join(info.generic)} generic, so for every function"
               if info.claims_generic else "verified")
        lines += ["", f"Claims written in the file, {how}:"]
        width = max(len(t) for _, t, _ in info.claims)
        lines += [f"    dJ/d{n} = {t:<{width}}   [{v}]" for n, t, v in info.claims]
    args = ", ".join(params_g)
    lines += ["", "Use:", f"    forward({', '.join(params_f)}) -> {d.output.name}",
              f"    gradients({args}) -> {{{', '.join(f'{n!r}: dJ/d{n}' for n in params_f)}}}",
              "Arguments are 2-D float32 or float64 arrays, all of one dtype; the results",
              "have it too.  Nothing is written into the arguments."]
    text = "\n".join(lines) + "\n"
    return text.replace("\\", "\\\\").replace('"', '\\"')  # the file's own text stays text
