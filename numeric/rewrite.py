"""Stage 1 of `numeric.codegen`'s pipeline: the derived expressions
rewritten into the forms that are printed.

`dY * fn'(u)` becomes one `Slope` node where the NumPy table has a helper
for it (`sigmoid_slope(Z, dY)`: fewer passes than the rule table's form);
every other derivative `fn'(u)` is replaced by the rule table's form
(`tanh'(Z)` -> `1 - tanh(Z) ** 2`), constants are folded, and a
subexpression equal to a named forward value or earlier step becomes that
name (`tanh(Z)` -> `Yhat`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from symbolic import expr as E
from symbolic.functions import prime

from . import stable

# ---------------------------------------------------------------- a node of numeric's own

@dataclass(frozen=True, eq=True, repr=False)
class Slope(E.Expr):
    """`dy * fn'(a)`, computed from `a` by the NumPy table's helper
    (`stable.Spelling.slope`) in fewer passes than the rule table's form."""
    fn: str
    a: E.Expr
    dy: E.Expr

    @cached_property
    def shape(self):
        return self.a.shape

    def children(self):
        return (self.a, self.dy)

    def __repr__(self):
        return f"<Slope {text(self)}>"


@dataclass(frozen=True, eq=True, repr=False)
class Solve(E.Expr):
    """`inv(a) @ b`, computed as `solve(a, b)` (an LU factorisation, no
    inverse formed): made by `codegen` where a product's left factor is an
    inverse that nothing else uses."""
    a: E.Expr
    b: E.Expr

    @cached_property
    def shape(self):
        return (self.a.shape[0], self.b.shape[1])

    def children(self):
        return (self.a, self.b)

    def __repr__(self):
        return f"<Solve {text(self)}>"


def text(e: E.Expr) -> str:
    """`E.text`, a `Slope` (a `Solve`) read as the product it stands for."""
    return E.text(_unslope(e))


def _unslope(e: E.Expr) -> E.Expr:
    if not e.children():
        return e
    kids = [_unslope(c) for c in e.children()]
    if type(e) is Slope:
        return E.Mul(kids[1], E.Apply(e.fn, 1, kids[0]))
    if type(e) is Solve:
        return E.MatMul(E.MatFn("inv", kids[0]), kids[1])
    return E.rebuild(e, kids)


def rebuild(e: E.Expr, kids: list) -> E.Expr:
    """`E.rebuild`, knowing `Slope` too."""
    if type(e) is Slope:
        return Slope(e.fn, *kids)
    if type(e) is Solve:
        return Solve(*kids)
    return E.rebuild(e, kids)


def slopes(e: E.Expr, skip=frozenset()) -> E.Expr:
    """`e` with each `dy * fn'(u)` whose fn has a slope helper as a `Slope`,
    but for the (fn, u) in `skip`."""
    if not e.children():
        return e
    kids = [slopes(c, skip) for c in e.children()]
    if type(e) is E.Mul:
        for d, dy in ((kids[1], kids[0]), (kids[0], kids[1])):
            inner = d.a if isinstance(d, E.Broadcast) else d
            if isinstance(inner, E.Apply) and inner.order == 1 and inner.shape == e.shape \
                    and getattr(stable.FUNCTIONS.get(inner.fn), "slope", None) is not None \
                    and (inner.fn, inner.a) not in skip:
                return Slope(inner.fn, inner.a, dy)
    return rebuild(e, kids)


# ---------------------------------------------------------------- prepare

def derivative(fn: str, order: int, u: E.Expr) -> E.Expr:
    """fn^(order)(u) from the rule table, as an expression in table functions."""
    spelling = stable.FUNCTIONS.get(fn)
    if spelling is not None and spelling.derivative is not stable.RULE:
        return E.Apply(fn, order, u)  # printed by its own helper
    t = E.Var("%u", u.shape, "intermediate")
    d = prime(fn, t)
    if d is None:
        raise NotImplementedError(f"the rule table has no derivative of `{fn}`, and "
                                  f"numeric.stable.FUNCTIONS gives none")
    for _ in range(order - 1):
        d = _d_du(d, t)
    return E.broadcast(E.substitute(d, {"%u": u}), u.shape)


def _d_du(e: E.Expr, t: E.Var) -> E.Expr:
    """d e / d t for an elementwise expression `e` in `t`."""
    k = type(e)
    if k is E.Var:
        return E.const(1 if e.name == t.name else 0)
    if k is E.Const:
        return E.const(0)
    if k is E.Broadcast:
        return _d_du(e.a, t)
    if k is E.Add:
        return E.add(_d_du(e.a, t), _d_du(e.b, t))
    if k is E.Mul:
        return E.add(E.mul(_d_du(e.a, t), e.b), E.mul(e.a, _d_du(e.b, t)))
    if k is E.Scale:
        return E.scale(e.c, _d_du(e.a, t))
    if k is E.Pow:
        return E.mul(E.scale(e.p, E.power(e.a, e.p - 1)), _d_du(e.a, t))
    if k is E.Apply:
        return E.mul(E.apply(e.fn, e.a, e.order + 1), _d_du(e.a, t))
    raise NotImplementedError(f"not elementwise: `{k.__name__}`")


def expand(e: E.Expr) -> E.Expr:
    """`e` with derivatives in rule-table form and constants folded."""
    if isinstance(e, E.Apply) and e.order >= 1:
        d = derivative(e.fn, e.order, expand(e.a))
        return d if isinstance(d, E.Apply) and d.order == e.order and d.fn == e.fn else expand(d)
    if not e.children():
        return e
    kids = [expand(c) for c in e.children()]
    value = _constant(rebuild(e, kids))
    if value is not None:
        return E.broadcast(E.Const(value), e.shape)
    if type(e) is E.Mul:
        for c, other in ((kids[0], kids[1]), (kids[1], kids[0])):
            value = _constant(c)
            if value is not None:
                return E.broadcast(E.scale(value, other), e.shape)
    if type(e) is E.Add:
        for c, other in ((kids[0], kids[1]), (kids[1], kids[0])):
            if _constant(c) == 0:
                return E.broadcast(other, e.shape)
    return rebuild(e, kids)


def _constant(e: E.Expr):
    """The value of `e` if it is a constant (every entry the same number)."""
    k = type(e)
    if k is E.Const:
        return e.value
    if k is E.Broadcast:
        return _constant(e.a)
    if k is E.Scale:
        v = _constant(e.a)
        return None if v is None else e.c * v
    if k in (E.Add, E.Mul):
        a, b = _constant(e.a), _constant(e.b)
        if a is None or b is None:
            return None
        return a + b if k is E.Add else a * b
    if k is E.Pow:
        v = _constant(e.a)
        return None if v is None else v ** e.p
    return None


def prepare(statements: list, skip=frozenset()) -> list:
    """[(name, expr)] in order -> [(name, expr, original)], derivatives
    expanded (`dy * fn'(u)` as a `Slope` where the table has a helper, but
    for the (fn, u) in `skip`) and every subexpression equal to an earlier
    statement's value replaced by its name."""
    known, out = {}, []
    for name, e in statements:
        original = e
        e = _replace(expand(slopes(e, skip)), known)
        if not _leaf(e):
            known.setdefault(e, E.Var(name, e.shape, "intermediate"))
        out.append((name, e, original))
    return out


def _replace(e: E.Expr, known: dict) -> E.Expr:
    if e in known:
        return known[e]
    if not e.children():
        return e
    return rebuild(e, [_replace(c, known) for c in e.children()])


def _leaf(e: E.Expr) -> bool:
    """An operand that costs nothing to use: a name, a constant, a view."""
    if isinstance(e, (E.Var, E.Const)):
        return True
    if isinstance(e, (E.Broadcast, E.Transpose)):
        return _leaf(e.a)
    return False


