r"""Derived gradients, derivations and verdicts as LaTeX equations, in the
notes' notation.

    >>> from symbolic import latex
    >>> print(latex("layer", wrt="W"))
    \frac{\partial J}{\partial W} = \left(dY \odot g'(z)\right) x^{T} \in \mathbb{R}^{k \times n}
    >>> print(latex("layer", wrt="W", index=True))
    \left(\frac{\partial J}{\partial W}\right)_{pq} = dY_{p} \, g'(z_{p}) \, x_{q} ...

Expressions are written by `symbolic.texexpr` (its tables `FUNCTIONS` and
`RULES`, and `Notation` for the options); this module puts them into
equations: a gradient, a step of the backward pass, a forward formula.
"""
from __future__ import annotations

from pathlib import Path

from . import expr as E
from .catalogue import resolve
from .derivation import Derivation
from .derive import Gradients, adjoint_names, derive
from .load import load
from .texexpr import (ACCENTS, FUNCTIONS, GREEK, OPTIONS, RULES, Notation, Printer, Rule, Tex, dim_tex,  # noqa: F401
                      group, matrix_tex, name_tex, number_tex, partial, printer_for, shape_tex, text_tex,
                      value_tex)

# ---------------------------------------------------------------- equations

def gradient_of(d, name: str) -> str | None:
    """The input whose gradient a step of the backward pass named `name` is, or None."""
    value = {a: v for v, a in adjoint_names(d).items()}.get(name)
    return value if value in d.inputs else None


def _indices(shape) -> tuple:
    """The indices (p, q) of an entry, None for an axis of size one."""
    return ("p" if shape[0] != 1 else None), ("q" if shape[1] != 1 else None)


def gradient_equation(p: Printer, wrt: E.Var, e: E.Expr) -> str:
    r"""`\frac{\partial J}{\partial W} = ... \in \mathbb{R}^{k \times n}`, or
    in index form `\left(\frac{\partial J}{\partial W}\right)_{pq} = ...`."""
    lhs = partial(name_tex(wrt.name, wrt.role))
    if not p.n.index:
        return f"{lhs} = {p.expr(e)} \\in {shape_tex(wrt.shape)}"
    i, j = _indices(wrt.shape)
    rhs = p.entry(e, "p", "q")
    ranges = [rf"1 \le {k} \le {dim_tex(s)}" for k, s in ((i, wrt.shape[0]), (j, wrt.shape[1])) if k]
    if ranges:
        lhs = group(lhs) + "_{" + "".join(k for k in (i, j) if k) + "}"
        rhs += r", \quad " + r",\ ".join(ranges)
    return f"{lhs} = {rhs}"


def step_equation(p: Printer, name: str, e: E.Expr) -> str:
    """One line of the backward pass: `dz = dY \\odot g'(z)`."""
    v = E.Var(name, e.shape, "adjoint")
    if p.n.index:
        return f"{p.x(v, *_indices(e.shape)).s} = {p.entry(e)}"
    return f"{p.var(v)} = {p.expr(e)}"


def backward_equation(p: Printer, d, name: str, e: E.Expr) -> str:
    """A step of the backward pass: an input's gradient by `gradient_equation`, any other by `step_equation`."""
    wrt = gradient_of(d, name)
    return gradient_equation(p, d.inputs[wrt], e) if wrt else step_equation(p, name, e)


def equations(source, wrt: str | None = None, *, activation: str | None = None,
              steps: bool = False, **options) -> list:
    """The LaTeX equations of `latex(...)`, one string each."""
    notation = options.pop("notation", None) or Notation(**options)
    grads = _gradients(source, activation)
    d = grads.derivation
    if wrt is not None and wrt not in d.inputs:
        raise ValueError(f"`wrt` must name an input of {d.path} ({', '.join(d.inputs)}), got {wrt!r}")
    p = printer_for(d, notation)
    names = [wrt] if wrt is not None else list(d.inputs)
    if not steps:
        return [gradient_equation(p, d.inputs[n], grads.closed[n]) for n in names]
    return [backward_equation(p, d, n, e) for n, e in backward_pass(grads, names)]


def backward_pass(grads, names) -> list:
    """The steps (name, expr) that the gradients of `names` need, in order."""
    steps = dict(grads.steps)
    need = {"d" + n for n in names}
    for n, e in reversed(grads.steps):
        if n in need:
            need |= E.variables(e) & set(steps)
    return [(n, e) for n, e in grads.steps if n in need]


def latex(source, wrt: str | None = None, *, activation: str | None = None, index: bool = False,
          hadamard: str = "odot", transpose: str = "T", upstream: str = "dY", expand: bool = True,
          steps: bool = False) -> str:
    r"""The derived gradients of a derivation as LaTeX, one equation a line.

    Arguments:
        source: a derivation file path, a catalogue name (`"layer"`), a
            `Derivation`, `Gradients`, or a bare `Expr` (then its matrix
            form, or entry (p, q) with `index=True`, is returned).
        wrt: one input's name; default all inputs.
        activation: replace the file's generic functions (`"sigmoid"`).
        index: entry form, `\left(\frac{\partial J}{\partial W}\right)_{pq}
            = dY_{p} \, g'(z_{p}) \, x_{q}`.
        hadamard, transpose, upstream, expand: see `Notation`.
        steps: the backward pass (`dz = dY \odot g'(z)`, ...) before the
            closed forms.

    Returns: `\frac{\partial J}{\partial W} = \left(dY \odot g'(z)\right)
    x^{T} \in \mathbb{R}^{k \times n}` and one such line per input.
    """
    notation = Notation(hadamard, transpose, upstream, index, expand)
    if isinstance(source, E.Expr):
        p = Printer(notation)
        return p.entry(source) if index else p.expr(source)
    return "\n".join(equations(source, wrt, activation=activation, steps=steps, notation=notation))


def _gradients(source, activation):
    if isinstance(source, Gradients):
        return source
    if isinstance(source, Derivation):
        return derive(source)
    if isinstance(source, (str, Path)):
        return derive(load(resolve(source), activation=activation))
    raise TypeError(f"`source` must be a derivation file, a catalogue name, a Derivation, "
                    f"Gradients or an Expr, got {type(source).__name__}")


# ---------------------------------------------------------------- blocks for documents

def aligned(lines: list) -> str:
    r"""Equations `a = b` as one `aligned` block, aligned at their first `=`."""
    rows = [ln.replace(" = ", " &= ", 1) for ln in lines]
    return r"\begin{aligned} " + r" \\ ".join(rows) + r" \end{aligned}"


def gathered(rows: list) -> str:
    """Rows one under another, centred, as one `gathered` block; a single row as it is."""
    return rows[0] if len(rows) == 1 else r"\begin{gathered} " + r" \\ ".join(rows) + r" \end{gathered}"


def forward_lines(d, p: Printer | None = None) -> list:
    p = p or printer_for(d)
    return [f"{name_tex(n, 'intermediate')} = {p.expr(e)}" for n, e in d.forward.items()]


def inputs_tex(d) -> str:
    return r",\ ".join(f"{name_tex(n)} \\in {shape_tex(v.shape)}" for n, v in d.inputs.items())


def objective_tex(d, p: Printer | None = None) -> str:
    r"""`J = \langle dY, \hat{y} \rangle` with `dY = \frac{\partial J}{\partial \hat{y}}`."""
    out = name_tex(d.output.name, "intermediate")
    if d.upstream is None:
        return f"J = {out} \\in \\mathbb{{R}}" if out != "J" else r"J \in \mathbb{R}"
    up = name_tex(d.upstream.name, "upstream")
    return (rf"J = \langle {up}, {out} \rangle, \quad {up} = {partial(out)} "
            rf"\in {shape_tex(d.upstream.shape)}")


def derivation_latex(d) -> str:
    """A derivation as display math (a notebook's `_repr_latex_`)."""
    p = printer_for(d)
    claims = [claim_equation(p, c.wrt, c.expr, c.text) + r" \quad \text{(claim)}" for c in d.claims.values()]
    return "$$" + aligned(forward_lines(d, p) + claims) + "$$"


def claim_equation(p: Printer, wrt: str, e: E.Expr | None, text: str = "") -> str:
    """`dJ/dW = e` (a claim, a derived or a repaired form) in matrix form, or `dJ/dW = text`
    verbatim where `e` is None (a claim that cannot be formed)."""
    return f"{partial(name_tex(wrt))} = {p.expr(e) if e is not None else text_tex(text)}"


def gradients_latex(g) -> str:
    """The backward pass, then the closed forms (a notebook's `_repr_latex_`)."""
    d = g.derivation
    p = printer_for(d)
    lines = [step_equation(p, n, e) for n, e in g.steps if not gradient_of(d, n)]
    lines += [gradient_equation(p, d.inputs[n], e) for n, e in g.closed.items()]
    return "$$" + aligned(lines) + "$$"


def verdict_latex(v) -> str:
    """A verdict as display math (a notebook's `_repr_latex_`): the claim,
    the verdict, and the derived form when they differ."""
    rows = [claim_equation(Printer(), v.wrt, getattr(v, "claim_expr", None), v.text)
            + rf" \quad \text{{{v.headline()}}}"]
    if v.derived_expr is not None and not v.proved:
        rows.append(claim_equation(Printer(), v.wrt, v.derived_expr) + r" \quad \text{derived}")
    return "$$" + gathered(rows) + "$$"
