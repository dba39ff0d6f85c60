"""Printing what a step's check finds, in the step's own syntax.

A step written in LaTeX gets its right forms and repairs in LaTeX, one
written in plain text gets them in plain text; both come from the same
walks, which ask a `Syntax` how to spell each piece:

* `node`: a small step tree (a name, an entry, a transpose, a derivative):
  `W_{i,:}` / `W[i, :]`;
* `index_form`: a canonical index form (`symbolic.index`), entry (p, q)
  written out over its free indices, function arguments folded back into
  the intermediates they are:
  `\\left( \\sum_{j=1}^{k} W_{j,p} \\, dY_{j} \\, g'(z_{j}) \\right)_{p}` /
  `col(sum(W[j, p] * dY[j] * g'(z[j]), j=1..k), p=1..n)`;
* `closed`: a core expression (`symbolic.expr`), through `tex.Printer` or
  `expr.text`;
* `membership`: `x \\in \\mathbb{R}^{k}` / `x in "k x 1"`.

Names are written as `tex.name_tex` writes them.
"""
from __future__ import annotations

import sympy

from . import expr as E
from . import index as I
from . import steptree as T
from .steptree import index_name, shape_text
from .texexpr import Notation, name_tex, printer_for, shape_tex

LETTERS = "jlmrstuvabcefgh"  # bound indices of a printed index form, in order
INNER = "lmrstuv"  # bound indices inside a function's argument


def _index(x, names) -> str:
    """An index of an index form: a number (from 0), a bound or a free one."""
    if isinstance(x, int):
        return str(x + 1)
    if x in names:
        return names[x]
    if x.startswith("@"):
        return index_name(x[1:])
    return x


class Syntax:
    """How one syntax spells each piece (its forms, one a line, in `Latex`
    and `Text`); `d` gives names their roles."""

    def __init__(self, d):
        self.d = d

    # ---- the walks, shared by both syntaxes
    def node(self, n) -> str:
        """A small tree (names, indices, transposes, derivatives)."""
        if isinstance(n, T.Name):
            return self.name(n.name)
        if isinstance(n, T.Index):
            items = [":" if x.kind == "colon" else index_name(x.value) if x.kind == "var" else str(x.value)
                     for x in n.items]
            return self.entry(self.node(n.base), items)
        if isinstance(n, T.Transpose):
            return self.transpose(self.node(n.a))
        if isinstance(n, T.Deriv):
            return self.derivative(self.node(n.num), self.node(n.den))
        if isinstance(n, T.Num):
            return str(n.value)
        return self.ellipsis

    def index_form(self, terms: tuple, vars: dict, shape) -> str:
        """A canonical index form, entry (p, q) written out over its free indices."""
        keys = {}
        ctx = I.Context(dict(self.d.forward))
        for name in self.d.forward:
            keys[I.intern(I.canon(I.entry(vars[name], I.P, I.Q, ctx)))] = name
        return self.over_free(self._sum(terms, {}, iter(LETTERS), keys, vars), shape)

    def _sum(self, terms, names, letters, keys, vars) -> str:
        out = []
        for bound, factors, coeff in terms:
            local = dict(names)
            for b, _ in bound:
                local[b] = next(letters, b)
            body = self.product([self._factor(f, local, keys, vars) for f in factors], coeff)
            out.append(self.sums(body, [(local[b], size) for b, size in bound]))
        return " + ".join(out).replace("+ -", "- ") if out else "0"

    def _factor(self, f, names, keys, vars) -> str:
        if f.kind == "D":
            return self.delta(_index(f.i, names), _index(f.j, names))
        if f.kind == "E":
            return self._entry(f.name, f.i, f.j, names, vars)
        fn, order, key, args = f.fn, f.order, f.key, f.args
        if key in keys:
            arg = self._entry(keys[key], args[0] if args[0] is not None else 0,
                              args[1] if args[1] is not None else 0, names, vars)
        else:
            inner = I.rename(I.form(key), {I.P: args[0], I.Q: args[1]})
            arg = self._sum(inner, names, iter(x for x in INNER if x not in names.values()), {}, vars)
        return f"{self.function(fn, order)}({arg})"

    def _entry(self, name, i, j, names, vars) -> str:
        var = vars.get(name)
        r, c = var.shape if var is not None else (2, 2)
        return self.entry(self.name(name), [_index(x, names) for x, s in ((i, r), (j, c)) if s != 1])

    def entry(self, base, items) -> str:
        return self.entry_form.format(base=base, items=self.item_sep.join(items)) if items else base

    def transpose(self, a) -> str:
        return self.transpose_form.format(a=a)

    def derivative(self, num, den) -> str:
        return self.derivative_form.format(num=num, den=den)

    def delta(self, i, j) -> str:
        return self.delta_form.format(i=i, j=j)

    def product(self, factors, coeff) -> str:
        body = self.times.join(factors)
        c = sympy.sympify(coeff)
        if not body:
            return str(c)
        if c == -1:
            return "-" + body
        return body if c == 1 else f"{self.number(c)}{self.times}{body}"

    def role(self, name: str) -> str:
        d = self.d
        if d.upstream is not None and name == d.upstream.name:
            return "upstream"
        if name in getattr(d, "notation", {}) and len(name) > 1 and name[0] == "d":
            return "adjoint"
        return "intermediate" if name in d.forward else "input"


class Latex(Syntax):
    ellipsis, in_sign, times = "\\ldots", " \\in ", r" \, "
    entry_form, item_sep, transpose_form = "{base}_{{{items}}}", ",", "{a}^T"
    derivative_form, delta_form = "\\frac{{\\partial {num}}}{{\\partial {den}}}", "\\delta_{{{i} {j}}}"
    number = staticmethod(sympy.latex)

    def name(self, name):
        return name_tex(name, self.role(name))

    def function(self, fn, order):
        if fn == "recip":
            return "\\frac{1}{\\cdot}" if order == 0 else f"(1/t)^{{({order})}}"
        return {"sigmoid": "\\sigma", "tanh": "\\tanh", "exp": "\\exp", "log": "\\log"}.get(fn, fn) + "'" * order

    def sums(self, body, bound):
        return "".join(f"\\sum_{{{b}=1}}^{{{size}}} " for b, size in bound) + body

    def over_free(self, body, shape):
        idx = ",".join(x for x, s in (("p", shape[0]), ("q", shape[1])) if s != 1)
        return f"\\left( {body} \\right)_{{{idx}}}" if idx else body

    def closed(self, e: E.Expr) -> str:
        return printer_for(self.d, Notation(expand=False)).expr(e)

    def membership(self, text, shape):
        return f"{text} \\in {shape_tex(shape)}"


class Text(Syntax):
    ellipsis, in_sign, times = "...", " in ", " * "
    entry_form, item_sep, transpose_form = "{base}[{items}]", ", ", "{a}.T"
    derivative_form, delta_form = "d({num})/d({den})", "delta({i}, {j})"
    number = staticmethod(str)

    def name(self, name):
        return name

    def function(self, fn, order):
        return fn + "'" * order

    def sums(self, body, bound):
        for b, size in reversed(bound):
            body = f"sum({body}, {b}=1..{size})"
        return body

    def over_free(self, body, shape):
        r, c = shape
        free = [f"{x}=1..{s}" for x, s in (("p", r), ("q", c)) if s != 1]
        return f"{('matrix', 'row', 'col')[(r == 1) + 2 * (c == 1)]}({body}, {', '.join(free)})" if free else body

    def closed(self, e: E.Expr) -> str:
        return E.text(e)

    def membership(self, text, shape):
        return f'{text} in "{shape_text(shape)}"'


def syntax_of(step, d) -> Syntax:
    """The syntax a step is written in (`latex` or `text`)."""
    return Latex(d) if step.syntax == "latex" else Text(d)
