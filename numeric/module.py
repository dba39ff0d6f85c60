"""The generated module's text: docstring, helpers, checks, `forward` and
`gradients` (the last stage of `numeric.codegen`'s pipeline)."""
from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass

from symbolic import expr as E

from . import checks, scratch, stable
from .codegen import HELPERS, Function, _shape_text, chain
from .codegen import name as var_name
from .quote import GenerationError, docstring, identifier, literal
from .rewrite import _leaf, expand, prepare

# What the generated functions use besides their arguments and the values they
# compute: each under a name of its own that starts with `_`, which no name in
# a derivation file can, so that an argument called `np`, `type` or
# `ValueError` shadows nothing.
PRELUDE = [
    "import numpy as np", "",
    "_np = np",
    "_ndarray = np.ndarray",
    "_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))",
    "_type, _ValueError, _IndexError = type, ValueError, IndexError",
]


def bad_names(d, grads) -> list:
    """(key in the file, message) for every name of `d` (or adjoint named
    after one) that generated code cannot write as it is."""
    keys = [(f"dims.{n}", n) for n in map(str, d.dims)]
    keys += [(f"inputs.{n}", n) for n in d.inputs] + [(f"forward.{n}", n) for n in d.forward]
    if d.upstream is not None:
        keys.append(("upstream", d.upstream.name))
    of = grads.adjoint_of
    keys += [(f"inputs.{of[n]}" if of[n] in d.inputs else f"forward.{of[n]}", n) for n, _ in grads.steps]
    out = []
    for key, name in keys:
        try:
            identifier(name)
        except GenerationError as err:
            out.append((key, str(err)))
    return out


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
    taken |= set(_HELPER_NAMES) | {"_forget_oldest", "_SCRATCH", "_KEEP", "_QUIET_ABOVE", "_SMALL", "_len"}
    f_fn = Function(params_f, shapes, forward, [d.output.name], taken)
    adjoint = {v: n for n, v in grads.adjoint_of.items()}
    results = [adjoint[n] for n in d.inputs]
    g_fn = Function(params_g, shapes, both, results, taken)
    computed = g_fn.values_also_needed()
    if computed:
        both = prepare(list(d.forward.items()) + list(grads.steps), skip=computed)
        g_fn = Function(params_g, shapes, both, results, taken)
    ops = [op for f in (f_fn, g_fn) for s in f.body if not _leaf(s.expr) for op in chain(s.expr)]
    used = sorted({op[-1] for op in ops if op[0] in ("helper", "slope", "slope_column", "matrix")}
                  | {HELPERS[op[0]] for op in ops if op[0] in HELPERS})

    for v in set(params_g) | {str(s) for s in d.dims.values()} | {s.name for f in (f_fn, g_fn) for s in f.body}:
        var_name(E.Var(v, (E.ONE, E.ONE)))  # every name the bodies print, checked once more
    out = [docstring(_docstring(d, grads, info, params_f, params_g, shapes))] + PRELUDE
    out += ["", "", "# ---- stable elementwise functions, passes over a batch", "",
            f"_QUIET_ABOVE = {stable._QUIET_ABOVE}",
            "_SMALL = {np.dtype(np.float64): tuple(np.array(c, np.float64) for c in (710.0, 1.0, 0.5)),",
            "          np.dtype(np.float32): tuple(np.array(c, np.float32) for c in (89.0, 1.0, 0.5))}", "", ""]
    for name in _with_helpers_they_call(used):
        out += [_helper_source(name), ""]
    for f in (f_fn, g_fn):
        f.emit()  # learns `f.scratch`
    if any(f.scratch for f in (f_fn, g_fn)):
        out += ["# ---- scratch arrays, reused across calls", "", "_SCRATCH = {}", "_len = len",
                f"_KEEP = {scratch._KEEP}", "", ""]
        for fn in (scratch._forget_oldest,):
            out += [inspect.getsource(fn).rstrip(), "", ""]
    out += ["# ---- argument checks", ""]
    for fn in (checks._as_float_arrays, checks._shape_error):
        out += [inspect.getsource(fn).rstrip(), "", ""]
    out += [f"DERIVATION = {literal(info.name)}", f"ACTIVATION = {literal(info.activation)}",
            f"INPUTS = {literal(tuple(params_f))}",
            f"UPSTREAM = {literal(d.upstream.name if d.upstream is not None else None)}",
            f"OUTPUT = {literal(d.output.name)}",
            f"OUTPUT_SHAPE = {literal(_spec(d.output.shape))}",
            f"SHAPES = _SHAPES = {literal({n: _spec(shapes[n]) for n in params_g})}",
            f"VERDICTS = {literal({n: v[1] for n, v in info.closed.items()})}",
            "", ""]
    out += _function("forward", f_fn, f"{d.output.name}, the output of `{info.name}`, at one point.",
                     lambda r: f"return {r[0]}")
    out += ["", ""]
    what = ", ".join(f"dJ/d{n}" for n in d.inputs)
    J = f"for J = <{d.upstream.name}, {d.output.name}>" if d.upstream is not None else f"of the scalar {d.output.name}"
    out += _function("gradients", g_fn, f"{what} {J}, as a dict keyed by input name.",
                     lambda r: "return {" + ", ".join(f"{literal(n)}: {x}" for n, x in zip(d.inputs, r)) + "}")
    return "\n".join(out) + "\n"


_HELPER_NAMES = ["_" + s.numpy.__name__ for s in stable.FUNCTIONS.values()] + \
    ["_" + s.derivative.__name__ for s in stable.FUNCTIONS.values() if s.derivative is not stable.RULE] + \
    ["_" + s.slope.__name__ for s in stable.FUNCTIONS.values() if s.slope is not None] + list(HELPERS.values()) + \
    ["_" + f.__name__ for f in stable.MATRIX.values()]


def _helper_source(name: str) -> str:
    """A helper's source under its module name; the helpers it calls
    (`gelu` calls `normcdf`) by theirs."""
    fn = getattr(stable, name[1:])
    text = inspect.getsource(fn).replace(f"def {fn.__name__}(", f"def {name}(", 1).rstrip() + "\n"
    return re.sub(r"(?<![\w.])(" + "|".join(n[1:] for n in _HELPER_NAMES) + r")\(", r"_\1(", text)


def _with_helpers_they_call(names) -> list:
    """`names` and, transitively, the helpers their sources call."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += re.findall(r"(?<![\w.])(_[a-z_]+)\(", _helper_source(name).split("\n", 1)[1])
    return sorted(n for n in found if n in _HELPER_NAMES)


def _spec(shape) -> tuple:
    return tuple(int(s) if s.is_Integer else str(s) for s in shape)


def _function(name, fn: Function, doc, tail) -> list:
    lines = fn.emit()
    for slot, owner in enumerate(fn.scratch):
        lines.append(f"_SCRATCH[{slot}, {_shape_text(fn.shapes[owner])}, {fn.params[0]}.dtype] = {owner}")
    if fn.scratch:
        lines += ["if _len(_SCRATCH) > _KEEP:", "    _forget_oldest()"]
    out = [f"def {name}({', '.join(fn.params)}):", "    " + docstring(doc)]
    # a dim used as a value (`/ m`) is a scalar of the arguments' own dtype
    dtype = [f"_dt = {fn.params[0]}.dtype"] if any("_dt)" in line for line in lines) else []
    out += ["    " + line for line in _checks(fn.params, fn.shapes) + dtype + lines + [tail(fn.returns())]]
    return out


def _checks(params, shapes) -> list:
    """Inline argument checks: one test of types and dtypes; then each dim
    bound by name from the first argument that has it (unpacking a shape
    checks its length too) and every other shape compared whole."""
    first = params[0]
    types = " is ".join(f"_type({p})" for p in params) + " is _ndarray"
    dtypes = " and ".join([f"{first}.dtype in _FLOATS"] + [f"{p}.dtype is {first}.dtype" for p in params[1:]])
    names = ", ".join(params) + ("," if len(params) == 1 else "")
    error = f"    _shape_error(_SHAPES, {literal(tuple(params))}, ({names}))"
    lines = [f"if not ({types}", f"        and {dtypes}):",
             f"    {names} = _as_float_arrays({literal(tuple(params))}, ({names}))"]
    bound, binds, tests = set(), [], []
    for p in params:
        new, want = [], [str(d) for d in shapes[p]]
        for i, dim in enumerate(shapes[p]):
            if not dim.is_Integer and not dim.is_Symbol:
                continue  # a length such as n - k + 1: compared whole, once its dims are bound
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
        lines += ["try:"] + ["    " + b for b in binds] + ["except (_ValueError, _IndexError):", error]
    if tests:
        lines += ["if " + " or ".join(tests) + ":", error]
    return lines


def _docstring(d, grads, info: Source, params_f, params_g, shapes) -> str:
    act = f" with {', '.join(info.generic)} = {info.activation}" if info.generic else ""
    lines = [f"Gradients of `{info.name}`{act}.", "", f"Generated by gradproof from {info.path}."]
    lines += [""] + _wrap(info.title + (f" ({info.origin})" if info.origin else "")) + [""]
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
    return "\n".join(lines) + "\n"


def _wrap(text: str) -> list:
    """Lines of at most 79 characters, broken at spaces; text with other
    whitespace or unprintable characters is kept as it is (`docstring`
    escapes what it must)."""
    if text.isprintable() and "  " not in text:
        return textwrap.wrap(text, 79)
    return text.split("\n")
