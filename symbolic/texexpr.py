r"""Matrix expressions as LaTeX, in the notes' notation: names, numbers,
shapes, and the printer of an expression in matrix or entry (index) form.
`symbolic.tex` writes whole equations of derivations with it.

Two tables decide the spelling: `FUNCTIONS`, one line per scalar function,
and `RULES`, one line per expression node with its matrix form and its
entry (index) form.  `Notation` holds the options; its defaults follow
the notes: `\odot`, `^{T}`, `dY`, a product of scalars as `\cdot`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain, count
from typing import Callable

import sympy

from . import expr as E
from .derive import adjoint_names
from .functions import ACTIVATIONS, prime
from . import windows as W

# ---------------------------------------------------------------- spellings

# name: its head, written before `(argument)`; or a template, where `#` stands for
# the argument (the head of its derivatives is then upright): the table's own column
FUNCTIONS = {a.name: a.latex for a in ACTIVATIONS.values()}

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
         "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
         "Omega"}
ACCENTS = ("hat", "bar", "tilde")

OPTIONS = {
    "hadamard": {"odot": r"\odot", "circ": r"\circ"},
    "transpose": {"T": "T", "top": r"\top"},
    "upstream": {"dY": None, "frac": None},
}


@dataclass(frozen=True)
class Notation:
    r"""How to write a gradient.

    `hadamard`: "odot" (`\odot`) or "circ" (`\circ`); `transpose`: "T"
    (`x^{T}`) or "top" (`x^{\top}`); `upstream`: "dY" (the upstream and the
    adjoints by their names, `dY`, `dz`) or "frac" (`\frac{\partial J}{\partial
    \hat{y}}`); `index`: entry (p, q) instead of the matrix form; `expand`:
    a table function's derivative written out by its rule (`\sigma(z)
    \odot (1 - \sigma(z))` for sigmoid') instead of `\sigma'(z)`.
    """
    hadamard: str = "odot"
    transpose: str = "T"
    upstream: str = "dY"
    index: bool = False
    expand: bool = True

    def __post_init__(self):
        for key, allowed in OPTIONS.items():
            value = getattr(self, key)
            if value not in allowed:
                raise ValueError(f"`{key}` must be one of {', '.join(map(repr, allowed))}, got {value!r}")

    @property
    def odot(self) -> str:
        return OPTIONS["hadamard"][self.hadamard]

    @property
    def T(self) -> str:
        return OPTIONS["transpose"][self.transpose]


# ---------------------------------------------------------------- names

def name_tex(name: str, role: str = "input") -> str:
    r"""A file name in the notes' style: `yhat` -> `\hat{y}`, `W1` ->
    `W_{1}`, `alpha` -> `\alpha`, `dz1` (an adjoint) -> `dz_{1}`, a longer
    word upright: `loss` -> `\mathrm{loss}`."""
    base, subs = _name_parts(name, role)
    return base + ("_{" + ",".join(subs) + "}" if subs else "")


def _name_parts(name: str, role: str):
    if role in ("upstream", "adjoint") and len(name) > 1 and name[0] == "d" and name not in GREEK:
        base, subs = _name_parts(name[1:], "input")
        return "d" + base, subs
    head, *rest = name.split("_")
    subs = [s if s.isdigit() or len(s) == 1 else _word(s) for s in rest if s]
    m = re.fullmatch(r"(.*?)(\d+)", head)
    if m and m.group(1):
        head, subs = m.group(1), [m.group(2)] + subs
    for accent in ACCENTS:
        if head.endswith(accent) and len(head) > len(accent):
            base, inner = _name_parts(head[:-len(accent)], "input")
            return f"\\{accent}{{{base}}}", inner + subs
    return _word(head), subs


def _word(w: str) -> str:
    if w in GREEK:
        return "\\" + w
    return w if len(w) == 1 else r"\mathrm{" + w + "}"


def dim_tex(size) -> str:
    return str(size) if not isinstance(size, sympy.Symbol) else name_tex(size.name)


def shape_tex(shape) -> str:
    r"""`\mathbb{R}` for 1 x 1, `\mathbb{R}^{k}` for k x 1, else `\mathbb{R}^{k \times n}`."""
    r, c = shape
    if r == 1 and c == 1:
        return r"\mathbb{R}"
    if c == 1:
        return rf"\mathbb{{R}}^{{{dim_tex(r)}}}"
    return rf"\mathbb{{R}}^{{{dim_tex(r)} \times {dim_tex(c)}}}"


def number_tex(c) -> str:
    c = sympy.Rational(c)
    sign = "-" if c < 0 else ""
    c = abs(c)
    return sign + (str(c.p) if c.q == 1 else rf"\frac{{{c.p}}}{{{c.q}}}")


def value_tex(text: str) -> str:
    r"""A value as the verifier prints it (`-3/4`, `0.125`, `1.5e-7`) in LaTeX."""
    m = re.fullmatch(r"(-?)(\d+)/(\d+)", text)
    if m:
        return rf"{m.group(1)}\frac{{{m.group(2)}}}{{{m.group(3)}}}"
    m = re.fullmatch(r"(-?[\d.]+)[eE]([+-]?\d+)", text)
    if m:
        return rf"{m.group(1)} \times 10^{{{int(m.group(2))}}}"
    if re.fullmatch(r"-?[\d.]+", text):
        return text
    return text_tex(text)


def matrix_tex(rows) -> str:
    """A matrix of value strings as `pmatrix` (a 1 x 1 one as its value)."""
    if len(rows) == 1 and len(rows[0]) == 1:
        return value_tex(rows[0][0])
    body = r" \\ ".join(" & ".join(value_tex(x) for x in row) for row in rows)
    return r"\begin{pmatrix} " + body + r" \end{pmatrix}"


TEXT_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\textasciicircum{}",
                "~": r"\textasciitilde{}", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&"}


def text_tex(s: str) -> str:
    r"""Verbatim text (a claim that cannot be formed) as `\texttt{...}`."""
    return r"\texttt{" + "".join(TEXT_ESCAPES.get(ch, ch) for ch in s) + "}"


# ---------------------------------------------------------------- the printer

ADD, NEG, PROD, POW, ATOM = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Tex:
    """Printed text with its binding strength and, for products, the kind."""
    s: str
    prec: int
    kind: str = ""  # "mat", "had", "scalar" for products


def group(s: str) -> str:
    return r"\left(" + s + r"\right)"


class Printer:
    """Matrix or entry form of expressions under one `Notation`.

    `output` is the name of the forward value the upstream gradient is the
    gradient of; it spells the upstream as `\\frac{\\partial J}{\\partial
    \\hat{y}}` when the notation asks for it.
    """

    def __init__(self, notation: Notation | None = None, output: str | None = None, reserved=(),
                 adjoint_of: dict | None = None):
        self.n = notation or Notation()
        self.output = output
        self.reserved = set(reserved)  # letters a bound index must not take
        self.adjoint_of = adjoint_of  # adjoint name -> the value it is dJ/d of (None: `d` + the value)
        self.used: list = []  # the bound indices' letters in use

    def of(self, adjoint: str) -> str:
        """The value an adjoint (`dz`, or `dz_1` where the file has a `dz`) is dJ/d of."""
        return (self.adjoint_of or {}).get(adjoint, adjoint[1:])

    # ---- public
    def expr(self, e: E.Expr) -> str:
        """`e` in matrix form."""
        self._start(e)
        return self.m(e).s

    def entry(self, e: E.Expr, i="p", j="q") -> str:
        """Entry (i, j) of `e` (indices over axes of size 1 dropped)."""
        self._start(e)
        return self.x(e, i, j).s

    def _start(self, e: E.Expr):
        # a bound index never takes the name of a one-letter variable
        self.reserved |= {n.name for n in E.walk(e) if isinstance(n, E.Var) and len(n.name) == 1}
        self.used = []

    def var(self, v: E.Var) -> str:
        if self.n.upstream == "frac":
            if v.role == "upstream" and self.output is not None:
                return partial(name_tex(self.output, "intermediate"))
            if v.role == "adjoint":
                return partial(name_tex(self.of(v.name), "intermediate"))
        if v.role == "eye":
            return f"I_{{{dim_tex(v.shape[0])}}}"
        return name_tex(v.name, v.role)

    # ---- dispatch through the table
    def m(self, e: E.Expr) -> Tex:
        return _rule(e).matrix(self, e)

    def x(self, e: E.Expr, i, j) -> Tex:
        i = i if e.shape[0] != 1 else None
        j = j if e.shape[1] != 1 else None
        return _rule(e).entry(self, e, i, j)

    # ---- helpers for the rules
    def fresh(self) -> str:
        """A summation index not yet used: a letter, then, past the sixteen
        letters, k_{1}, k_{2}, ..."""
        names = chain("jilrstuvabcdefgh", (f"k_{{{n}}}" for n in count(1)))
        self.used.append(next(k for k in names if k not in self.reserved and k not in self.used))
        return self.used[-1]

    def derivative(self, e: E.Apply) -> E.Expr | None:
        """The table's rule for fn'(a), when the notation writes it out."""
        return prime(e.fn, e.a) if self.n.expand and e.order == 1 else None


def partial(of: str) -> str:
    """`\\frac{\\partial J}{\\partial of}`."""
    return rf"\frac{{\partial J}}{{\partial {of}}}"


def wrap(t: Tex, prec: int) -> str:
    return group(t.s) if t.prec < prec else t.s


def indexed(base: str, i, j) -> str:
    idx = "".join(x for x in (i, j) if x is not None)
    if not idx:
        return base
    if "_" in base or "^" in base or base.startswith(r"\frac"):
        base = group(base) if base.startswith(r"\frac") else "(" + base + ")"
    return f"{base}_{{{idx}}}"


def _rule(e: E.Expr):
    rule = RULES.get(type(e))
    if rule is None:
        raise NotImplementedError(f"no LaTeX rule for `{type(e).__name__}`")
    return rule


# ---- matrix form, a function per node (`_add`, `_scale`, `_apply`: both forms, by `Rule.entrywise`;
# the shortest rules are written in `RULES` itself)

def _is_scalar(e: E.Expr) -> bool:
    a = e.a if isinstance(e, E.Broadcast) else e
    return a.shape == (E.ONE, E.ONE)


def _product(p: Printer, a: E.Expr, b: E.Expr, kind: str, op: str, ta: Tex, tb: Tex) -> Tex:
    """`a op b`.  A product with a scalar is written `\\cdot` and commutes with
    everything; a matrix product inside a Hadamard product (or the reverse)
    is grouped, since juxtaposition and `\\odot` have no agreed precedence."""
    if _is_scalar(a) or _is_scalar(b):
        op = r" \cdot "
        inner = [t.kind for t, x in ((ta, a), (tb, b)) if t.prec == PROD and not _is_scalar(x)]
        kind = inner[0] if inner and inner[0] in ("mat", "had") else "scalar"
    return Tex(_operand(ta, kind) + op + _operand(tb, kind), PROD, kind)


def _operand(t: Tex, kind: str) -> str:
    if t.prec < PROD or t.prec == PROD and {t.kind, kind} == {"mat", "had"}:
        return group(t.s)
    return t.s


def _m_const(p, e):
    return Tex(number_tex(e.value), NEG if e.value < 0 else ATOM)


def _m_matmul(p, e):
    ta, tb = p.m(e.a), p.m(e.b)
    op = r" \, " if _wide(ta) or _wide(tb) else " "  # `dz \, x^{T}`, not `dz x^{T}`
    return _product(p, e.a, e.b, "mat", op, ta, tb)


def _wide(t: Tex) -> bool:
    """An atom of more than one letter: `dz`, `\\mathrm{out}`, a fraction."""
    return t.prec >= POW and bool(re.match(r"d[A-Za-z\\]|\\mathrm|\\frac", t.s))


def _constant_factor(e: E.Mul) -> E.Expr | None:
    """`c * A` for a Hadamard product with a (broadcast) constant, so
    `1/2 * (2 * A)` prints as `A`."""
    for x, y in ((e.a, e.b), (e.b, e.a)):
        x = x.a if isinstance(x, E.Broadcast) else x
        if isinstance(x, E.Const):
            return E.scale(x.value, y)
    return None


def _m_mul(p, e):
    c = _constant_factor(e)
    if c is not None:
        return p.m(c)
    return _product(p, e.a, e.b, "had", f" {p.n.odot} ", p.m(e.a), p.m(e.b))


def _add(p, e, sub):
    left = sub(e.a)
    if left.kind == "sum":  # `\left(\sum_{j} x_{j}\right) + b`: a sum's reach stays plain
        left = Tex(group(left.s), ATOM)
    b = e.b.a if isinstance(e.b, E.Broadcast) else e.b
    if isinstance(b, E.Scale) and b.c < 0:
        right = sub(E.scale(-b.c, b.a))
        return Tex(f"{left.s} - {wrap(right, PROD)}", ADD)
    if isinstance(b, E.Const) and b.value < 0:
        return Tex(f"{left.s} - {number_tex(-b.value)}", ADD)
    right = sub(e.b)
    return Tex(f"{left.s} + {wrap(right, NEG)}", ADD)


def _scale(p, e, sub):
    t = sub(e.a)
    c = e.c
    big = t.s.startswith(r"\sum")  # `\frac{1}{2} \sum_{j} ...`, grouped as a whole in a product
    body = t.s if big else wrap(t, PROD)
    kind = t.kind if t.prec == PROD else "scalar"
    if big:
        return Tex(("-" if c == -1 else number_tex(c) + " ") + body, ADD, "sum")
    if c == -1:
        return Tex("-" + body, NEG, kind)
    return Tex(f"{number_tex(c)} {body}", NEG if c < 0 else PROD, kind)


def _function(p, fn, order, arg: Tex) -> Tex:
    head = FUNCTIONS.get(fn) or name_tex(fn)
    if "#" in head:
        if order == 0:
            return Tex(head.replace("#", arg.s), PROD)  # grouped under a power or transpose
        head = rf"\operatorname{{{fn}}}"
    head += "'" * order if order <= 3 else f"^{{({order})}}"
    inner = arg.s
    tall = r"\frac" in inner or r"\sum" in inner or r"\left(" in inner
    return Tex(head + (group(inner) if tall else f"({inner})"), ATOM)


def _apply(p, e, sub):
    d = p.derivative(e)
    if d is not None:
        return sub(d)
    return _function(p, e.fn, e.order, sub(e.a))


def _m_pow(p, e):
    power = e.p if e.shape == (E.ONE, E.ONE) else f"{p.n.odot} {e.p}"
    return Tex(f"{wrap(p.m(e.a), ATOM)}^{{{power}}}", POW)


def _m_sum(p, e):
    if e.axis is None:  # a number: sum the entries, `\sum_{j} (\hat{y}_{j} - y_{j})^{2}`
        return _x_sum(p, e, None, None)
    a = p.m(e.a)
    body = a.s if a.prec == ATOM and not ("_" in a.s or "^" in a.s) else group(a.s)
    idx = [":", ":"]
    out = _sums(p, e, idx)
    return Tex(f"{out}{body}_{{{','.join(idx)}}}", ADD, "sum")  # `\sum_{j=1}^{n} W_{:,j}`


def _sums(p, e: E.Sum, idx: list) -> str:
    """`\\sum_{j=1}^{n} ` for each axis `e` sums (of a size other than 1), its fresh index put in `idx`."""
    out = ""
    for axis, size in enumerate(e.a.shape):
        if e.axis in (axis, None) and size != 1:
            idx[axis] = p.fresh()
            out += rf"\sum_{{{idx[axis]}=1}}^{{{dim_tex(size)}}} "
    return out


# ---- entry form: entry (i, j), None for an axis of size one

def _x_var(p, e, i, j):
    if p.n.upstream == "frac" and (e.role == "upstream" and p.output or e.role == "adjoint"):
        of = name_tex(p.output if e.role == "upstream" else p.of(e.name), "intermediate")
        return Tex(partial(indexed(of, i, j)), ATOM)
    return Tex(indexed(name_tex(e.name, e.role), i, j), ATOM)


def _x_product(p, ta: Tex, tb: Tex) -> Tex:
    return Tex(f"{wrap(ta, PROD)} \\, {wrap(tb, PROD)}", PROD, "scalar")


def _x_matmul(p, e, i, j):
    inner = e.a.shape[1]
    if inner == 1:
        return _x_product(p, p.x(e.a, i, None), p.x(e.b, None, j))
    k = p.fresh()
    body = _x_product(p, p.x(e.a, i, k), p.x(e.b, k, j))
    return Tex(rf"\sum_{{{k}=1}}^{{{dim_tex(inner)}}} {body.s}", ADD, "sum")


def _x_mul(p, e, i, j):
    c = _constant_factor(e)
    if c is not None:
        return p.x(c, i, j)
    return _x_product(p, p.x(e.a, i, j), p.x(e.b, i, j))


def _x_sum(p, e, i, j):
    idx = [i, j]
    out = _sums(p, e, idx)
    body = p.x(e.a, *idx)
    return Tex(out + wrap(body, PROD), ADD, "sum") if out else body


def _m_matfn(p, e):
    r"""inv(A) as `A^{-1}` (entry (i, j): `(A^{-1})_{ij}`), det(A) as `\det(A)`, logdet(A) as
    `\log\det(A)` (numbers)."""
    a = p.m(e.a)
    if e.fn == "inv":
        return Tex(f"{wrap(a, ATOM)}^{{-1}}", POW)
    head = r"\det" if e.fn == "det" else r"\log\det"
    return Tex(head + (group(a.s) if a.prec < ATOM else f"({a.s})"), ATOM)


@dataclass(frozen=True)
class Rule:
    matrix: Callable  # (printer, node) -> Tex
    entry: Callable   # (printer, node, i, j) -> Tex

    @classmethod
    def entrywise(cls, rule):
        """A node whose entry form is its matrix form over its operands' entries:
        `rule(printer, node, sub)` writes it with `sub(operand)` for each operand."""
        return cls(lambda p, e: rule(p, e, p.m), lambda p, e, i, j: rule(p, e, lambda a: p.x(a, i, j)))


RULES = {  # node: its matrix form and its entry form (`x^{T}`'s entry (i, j) is x's (j, i))
    E.Var:       Rule(lambda p, e: Tex(p.var(e), ATOM), _x_var),
    E.Const:     Rule(_m_const, lambda p, e, i, j: _m_const(p, e)),
    E.MatMul:    Rule(_m_matmul, _x_matmul),
    E.Mul:       Rule(_m_mul, _x_mul),
    E.Add:       Rule.entrywise(_add),
    E.Scale:     Rule.entrywise(_scale),
    E.Transpose: Rule(lambda p, e: Tex(f"{wrap(p.m(e.a), ATOM)}^{{{p.n.T}}}", POW),
                      lambda p, e, i, j: p.x(e.a, j, i)),
    E.Apply:     Rule.entrywise(_apply),
    E.Pow:       Rule(_m_pow, lambda p, e, i, j: Tex(f"{wrap(p.x(e.a, i, j), ATOM)}^{{{e.p}}}", POW)),
    E.Broadcast: Rule.entrywise(lambda p, e, sub: sub(e.a)),
    E.Sum:       Rule(_m_sum, _x_sum),
    E.MatFn:     Rule(_m_matfn, lambda p, e, i, j: Tex(indexed(_m_matfn(p, e).s, i, j), ATOM)),
}


def _m_window(p, e):
    """A window of `windows` as the call it is written as: `\\operatorname{conv1d}\\left(x, w\\right)`."""
    head = e.written().split("(", 1)[0]
    args = [p.m(c).s for c in e.children()]
    if isinstance(e, (W.Max, W.MaxMask)) and e.axis is not None:
        args.append(rf"\text{{axis}}={e.axis}")
    return Tex(rf"\operatorname{{{head.replace('_', chr(92) + '_')}}}\left({', '.join(args)}\right)", ATOM)


def _x_window(p, e, i, j):
    idx = "".join(x for x in (i, j) if x is not None)
    m = _m_window(p, e)
    return Tex(f"{group(m.s)}_{{{idx}}}" if idx else m.s, ATOM)


RULES.update({node: Rule(_m_window, _x_window) for node in W.NODES})


def printer_for(d, notation: Notation | None = None) -> Printer:
    """A printer for the expressions of derivation `d`."""
    reserved = {s.name for s in d.dims.values()} | {n for n in d.inputs if len(n) == 1}
    adjoint_of = {a: v for v, a in adjoint_names(d).items()}
    return Printer(notation, d.output.name if d.upstream is not None else None, reserved, adjoint_of)
