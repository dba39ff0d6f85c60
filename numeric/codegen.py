"""Python source from a derived backward pass: NumPy only, one step a line.

The pipeline, each stage a function:

1. `numeric.rewrite.prepare`: the derived expressions in the forms that
   are printed (`dY * sigmoid'(Z)` as one `Slope`, the helper's; other
   derivatives in the rule table's form, `tanh'(Z)` -> `1 - Yhat ** 2`;
   constants folded; a value computed before used by its name);
2. `Function`: the statements one generated function needs (dead ones
   dropped), with repeated subexpressions named once and matrix products
   or sums nested inside other work given their own line;
3. `Function.emit`: each statement as NumPy, the elementwise work in place
   (`dZ = _np.square(Yhat, out=Yhat); _np.subtract(1.0, dZ, out=dZ); dZ *= dY`),
   writing into the buffer of a value no longer needed where one of the
   same shape is free, and taking the buffers that no result keeps from a
   store the module reuses across calls (`_SCRATCH`), so that a call at a
   size it has seen before allocates nothing but its results;
4. `numeric.module.module_source`: the module: docstring with the
   formulas and their verdicts, the stable helpers it uses, the argument
   checks, `forward` and `gradients`.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy

from symbolic import expr as E
from symbolic import windows as W

from . import stable
from .quote import generated, identifier
from .rewrite import Slope, Solve, _constant, _leaf, _replace, rebuild, text

# ---------------------------------------------------------------- the printer table
# One entry per IR node: how it reads as a NumPy expression (`p(child, prec)`
# prints a child, in parentheses if its precedence is lower than `prec`).

_PREC = {E.Add: 1, E.Scale: 2, E.Mul: 2, E.MatMul: 2, E.Pow: 4, E.Transpose: 5, E.Sum: 5}

PRINT = {
    # a dim used as a value (`/ m`): a 1 x 1 array of the arguments' dtype
    E.Var:       lambda e, p: (f"_np.full((1, 1), {name(e)}, _dt)" if e.role == "dim" else
                               f"_np.eye({e.shape[0]}, dtype=_dt)" if e.role == "eye" else name(e)),
    E.Const:     lambda e, p: number(e.value),
    E.MatMul:    lambda e, p: f"{p(e.a, 2)} @ {p(e.b, 3)}",
    E.Add:       lambda e, p: (f"{p(e.a, 1)} - {p(_negand(e.b), 2)}" if _negated(e.b) else f"{p(e.a, 1)} + {p(e.b, 2)}"),
    E.Mul:       lambda e, p: f"{p(e.a, 2)} * {p(e.b, 3)}",
    E.Scale:     lambda e, p: f"-{p(e.a, 3)}" if e.c == -1 else f"{number(e.c)} * {p(e.a, 3)}",
    E.Transpose: lambda e, p: f"{p(e.a, 6)}.T",
    E.Apply:     lambda e, p: f"{helper(e.fn, e.order)}({p(e.a, 0)})",
    E.Pow:       lambda e, p: f"{p(e.a, 5)} ** {int(e.p)}",
    E.Broadcast: lambda e, p: p(e.a, 0),  # NumPy broadcasts by itself
    E.Sum:       lambda e, p: f"{p(e.a, 6)}.sum({_axis(e.axis)}keepdims=True)",
    Slope:       lambda e, p: f"{slope_helper(e.fn)}({p(e.a, 0)}, {p(e.dy, 0)})",
    E.MatFn:     lambda e, p: f"_{stable.MATRIX[e.fn].__name__}({p(e.a, 0)})",  # inv, det, logdet
    Solve:       lambda e, p: f"_np.linalg.solve({p(e.a, 0)}, {p(e.b, 0)})",
    W.Conv:      lambda e, p: f"{'_conv_valid' if e.mode == 'valid' else '_convolve'}({p(e.a, 0)}, {p(e.b, 0)})",
    W.Flip:      lambda e, p: f"_flip({p(e.a, 0)})",
    W.Max:       lambda e, p: f"_max_along({p(e.a, 0)}, axis={e.axis!r})",
    W.MaxMask:   lambda e, p: f"_max_mask({p(e.a, 0)}, axis={e.axis!r})",
}

# The same work as steps into one buffer (see `chain`): each op kind as it
# reads when it creates the buffer, when it writes into a free one (`out=`),
# and when it updates the buffer `t` in place.  `a`, `b`: operands as text;
# `p`: the op's parameter (a constant, an axis, a helper's name).

OPS = {
    #  kind        new array                   into `out`                                in place on `t`
    "add":      ("{a} + {b}",                "_np.add({a}, {b}, out={out})",           "{t} += {other}"),
    "subtract": ("{a} - {b}",                "_np.subtract({a}, {b}, out={out})",      "{t} -= {b}"),
    "multiply": ("{a} * {b}",                "_np.multiply({a}, {b}, out={out})",      "{t} *= {other}"),
    "matmul":   ("{a} @ {b}",                "_np.matmul({a}, {b}, out={out})",        None),
    "sum":      ("_sum_along({a}, axis={p})", None,                                   None),
    "matrix":   ("{p}({a})",                 None,                                     None),
    "solve":    ("_np.linalg.solve({a}, {b})", None,                                   None),
    "negative": ("-{a}",                     "_np.negative({a}, out={out})",           "_np.negative({t}, out={t})"),
    "scale":    ("{p} * {a}",                "_np.multiply({a}, {p}, out={out})",      "{t} *= {p}"),
    "square":   ("_np.square({a})",          "_np.square({a}, out={out})",             "_np.square({t}, out={t})"),
    "power":    ("{a} ** {p}",               "_np.power({a}, {p}, out={out})",         "_np.power({t}, {p}, out={t})"),
    "helper":   ("{p}({a})",                 "{p}({a}, out={out})",                    "{p}({t}, out={t})"),
    # (`{s}`: `, sums=True` where the helper also returns the result's sums along its rows, `db`)
    "slope":    ("{p}({a}, {b}{s})",         "{p}({a}, {b}, out={out}{s})",            "{p}({t}, {b}, out={t}{s})"),
    # dy * fn'(a + c) for a column c (`slope` after `add_column`): one helper call, one pass for a compiled twin
    "slope_column": ("{p}({a}, {b}, column={c}{s})", "{p}({a}, {b}, out={out}, column={c}{s})",
                     "{p}({t}, {b}, out={t}, column={c}{s})"),
    # `{t} += b` for a column b (k x 1) against t (k x m): NumPy would copy b, broadcast, first
    "add_column":      ("{a} + {b}", "_np.add({a}, {b}, out={out})",      "_with_column(_np.add, {t}, {other})"),
    "subtract_column": ("{a} - {b}", "_np.subtract({a}, {b}, out={out})", "_with_column(_np.subtract, {t}, {b})"),
    "multiply_column": ("{a} * {b}", "_np.multiply({a}, {b}, out={out})", "_with_column(_np.multiply, {t}, {other})"),
}
# windows (`symbolic.windows`): each a helper of `numeric.stable` that makes a new array
WINDOW_OPS = {"conv1d": "_conv_valid", "convolve": "_convolve", "flip": "_flip", "max": "_max_along",
              "max_mask": "_max_mask"}
OPS.update({"conv1d": ("_conv_valid({a}, {b})", None, None), "convolve": ("_convolve({a}, {b})", None, None),
            "flip": ("_flip({a})", None, None), "max": ("_max_along({a}, axis={p})", None, None),
            "max_mask": ("_max_mask({a}, axis={p})", None, None)})
HELPERS = {**WINDOW_OPS, "sum": "_sum_along", "add_column": "_with_column", "subtract_column": "_with_column",
           "multiply_column": "_with_column"}  # op kind -> the helper of `numeric.stable` its text calls


def name(v: E.Var) -> str:
    """A value's name in generated code, checked: a name of the file or an
    adjoint named after one (`quote.identifier`), or a temporary (`_t`)."""
    return generated(v.name) if v.name.startswith("_") else identifier(v.name)


def number(c) -> str:
    c = Fraction(int(c.p), int(c.q)) if isinstance(c, sympy.Rational) else Fraction(c)
    if c.denominator & (c.denominator - 1) == 0:  # a power of two: exact as a float
        return repr(float(c))
    return f"({c.numerator} / {c.denominator})"


def _axis(axis) -> str:
    return "" if axis is None else f"axis={axis}, "


def _negated(e) -> bool:
    """`-x`, or `-x` broadcast."""
    inner = e.a if isinstance(e, E.Broadcast) else e
    return isinstance(inner, E.Scale) and inner.c == -1


def _negand(e):
    """x of `-x` (broadcast as `e` is); else `e`."""
    if not _negated(e):
        return e
    return E.Broadcast(e.a.a, e.shape) if isinstance(e, E.Broadcast) else e.a


def expression(e: E.Expr) -> str:
    """`e` as one NumPy expression (allocating)."""
    def p(child, prec):
        inner = child.a if isinstance(child, E.Broadcast) else child
        s = PRINT[type(inner)](inner, p)
        low = _PREC.get(type(inner), 9) < prec or (isinstance(inner, E.Scale) and prec > 2)
        if isinstance(inner, E.Const) and inner.value < 0:
            low = prec > 1
        return f"({s})" if low else s
    return p(e, 0)


def helper(fn: str, order: int) -> str:
    """The name of the module-level helper computing fn^(order)."""
    spelling = stable.FUNCTIONS.get(fn)
    if spelling is None:
        raise NotImplementedError(f"no NumPy spelling for the function `{fn}`; "
                                  f"add it to numeric.stable.FUNCTIONS")
    if order == 0:
        return "_" + spelling.numpy.__name__
    if order == 1 and spelling.derivative is not stable.RULE:
        return "_" + spelling.derivative.__name__
    raise NotImplementedError(f"no NumPy spelling for the derivative of order {order} of `{fn}`")


def slope_helper(fn: str) -> str:
    """The name of the module-level helper computing dy * fn'(z)."""
    return "_" + stable.FUNCTIONS[fn].slope.__name__


# ---------------------------------------------------------------- 2. one function

@dataclass
class Statement:
    name: str
    expr: E.Expr
    original: E.Expr | None = None  # as derived, for a comment


def _nodes(e: E.Expr, top: bool = True):
    """The non-leaf subexpressions of `e`, not counting `e` itself if `top`."""
    if not top and not _leaf(e):
        yield e
    for c in e.children():
        yield from _nodes(c, False)


class Function:
    """The statements one generated function runs, ready to print.

    `params`: argument names, each with its shape in `shapes`; `statements`:
    [(name, expr, original)] from `prepare`; `results`: the names returned.
    """

    def __init__(self, params: list, shapes: dict, statements: list, results: list, taken: set):
        self.params, self.results = list(params), list(results)
        self.shapes = dict(shapes)
        self.taken = set(taken) | set(params) | {s[0] for s in statements}
        needed = set(results)
        for name, e, _ in reversed(statements):
            if name in needed:
                needed |= E.variables(e)
        body = _bias_into_slope([Statement(n, e, o) for n, e, o in statements if n in needed], self.results)
        self.body = []
        for s in self._share(body):
            self.body.extend(self._flatten(s))
        for s in self.body:
            self.shapes[s.name] = s.expr.shape
        self.sums = _sums_into_slopes(self.body)  # {slope's value: its sum along rows}
        self.body = [s for s in self.body if s.name not in self.sums.values()]

    def values_also_needed(self) -> set:
        """(fn, u) of each `Slope` whose fn(u) the function computes anyway:
        there, the rule table's form from that value takes fewer passes."""
        applied = {(n.fn, n.a) for s in self.body for n in E.walk(s.expr)
                   if isinstance(n, E.Apply) and n.order == 0}
        return {(n.fn, n.a) for s in self.body for n in E.walk(s.expr) if isinstance(n, Slope)} & applied

    def fresh(self, e: E.Expr) -> str:
        inner = e.a if isinstance(e, E.Broadcast) else e
        base = "_t"  # a temporary's name starts with `_`: no name of the file does
        if isinstance(inner, E.Apply) and inner.order == 0 and isinstance(inner.a, E.Var):
            base = f"_{inner.fn}_{inner.a.name}"
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}{i}"
        self.taken.add(name)
        return name

    def _share(self, body: list) -> list:
        """Name each non-leaf subexpression that occurs more than once, so
        it is computed once."""
        counts: dict = {}
        for s in body:
            for node in _nodes(s.expr):
                counts[node] = counts.get(node, 0) + 1
        shared = sorted((n for n, c in counts.items() if c > 1), key=lambda n: len(list(E.walk(n))))
        names, out = {}, []
        for s in body:
            present = set(_nodes(s.expr))
            for node in shared:
                if node not in names and node in present:
                    out.append(Statement(self.fresh(node), _replace_below(node, names)))
                    names[node] = E.Var(out[-1].name, node.shape, "intermediate")
            out.append(Statement(s.name, _replace_below(s.expr, names), s.original))
        return out

    def _flatten(self, s: Statement) -> list:
        """`s`, preceded by the temporaries it needs so that matrix products
        and sums have plain operands and each elementwise node has at most
        one operand that is itself computed (which becomes the buffer the
        node updates in place)."""
        pre = []

        def hoist(e):
            if _leaf(e):
                return e
            e = visit(e)
            if _leaf(e):
                return e
            pre.append(Statement(self.fresh(e), e))
            return E.Var(pre[-1].name, e.shape, "intermediate")

        def visit(e):
            k = type(e)
            if k is E.Broadcast:
                return E.Broadcast(hoist(e.a), e.shape)
            if k is E.Transpose:
                return E.Transpose(hoist(e.a))
            if k is E.MatMul and isinstance(e.a, E.MatFn) and e.a.fn == "inv":
                return Solve(hoist(e.a.a), hoist(e.b))  # inv(A) @ B: solve, no inverse formed
            if k is E.MatMul:
                return E.MatMul(hoist(e.a), hoist(e.b))
            if k is E.Sum:
                return E.Sum(hoist(e.a), e.axis)
            if k is E.MatFn:
                return E.MatFn(e.fn, hoist(e.a))
            if k in (E.Add, E.Mul):
                # a - b keeps its minus outside, so that it prints as a subtraction
                signs = [k is E.Add and _negated(x) for x in (e.a, e.b)]
                a, b = (_negand(x) if neg else x for x, neg in zip((e.a, e.b), signs))
                if _leaf(a) or _leaf(b):
                    a, b = visit(a), visit(b)
                else:
                    a, b = visit(a), hoist(b)
                return k(*(_negative(x) if neg else x for x, neg in zip((a, b), signs)))
            if k in (E.Scale, E.Pow, E.Apply):
                return _with_child(e, visit(e.a))
            if k is Slope:  # computed in `a`'s buffer: `dy` must be a value of its own
                return Slope(e.fn, visit(e.a), hoist(e.dy))
            if isinstance(e, W.NODES):  # a window's helper takes plain operands
                return E.rebuild(e, [hoist(c) for c in e.children()])
            return e

        top = visit(s.expr)
        return pre + [Statement(s.name, top, s.original)]

    # ------------------------------------------------------------ 3. emit

    def emit(self) -> list:
        """The body as lines of Python.  A value whose buffer nothing reads
        any more lends it to the next value of its shape (`out=`); the
        arguments' buffers are never written; a matrix product's buffer that
        no result keeps is taken from the module's scratch store and given
        back at the end (`self.scratch`, in order)."""
        self.scratch = []
        self._emit()  # to learn which buffers the results keep
        kept = {self.buffer.get(r) for r in self.results}
        self.scratch = [owner for owner in self.allocated if owner not in kept]
        return self._emit()

    def _emit(self) -> list:
        lines = []
        self.allocated = []
        last = {}
        for i, s in enumerate(self.body):
            for v in E.variables(s.expr):
                last[v] = i
        for r in self.results:
            last[r] = len(self.body)
        buffer = {p: None for p in self.params}  # name -> the name that allocated its memory
        holders: dict = {}
        self.views = set()
        for i, s in enumerate(self.body):
            e = s.expr
            if _leaf(e) and _constant(e) is None:
                source = _var_of(e)
                buffer[s.name] = buffer[source]
                if buffer[s.name] is not None:
                    holders[buffer[s.name]].append(s.name)
                if isinstance(e, E.Broadcast) and e.a.shape != e.shape:
                    lines.append(f"{s.name} = _np.broadcast_to({expression(e.a)}, {_shape_text(e.shape)})")
                    self.views.add(s.name)
                else:
                    lines.append(f"{s.name} = {expression(e)}")
                    if isinstance(e, E.Transpose):
                        self.views.add(s.name)
                continue
            if _constant(e) is not None:
                lines.append(f"{s.name} = _np.full({_shape_text(e.shape)}, {number(_constant(e))}, "
                             f"dtype={self.params[0]}.dtype)")
                buffer[s.name], holders[s.name] = s.name, [s.name]
                continue
            ops = chain(e)
            donor = self._donor(i, e, ops, holders, last)
            sums = self.sums.get(s.name)
            if sums is not None:  # returned by the slope's helper, from its pass
                buffer[sums], holders[sums] = sums, [sums]
            if len(ops) > 1 or (s.original is not None and E.text(s.original) != text(e)):
                lines.append(f"# {s.name} = {text(s.original if s.original is not None else e)}")
            # `out=` names the buffer by the value it holds now
            fresh = None
            if donor is None and ops[0][0] == "matmul":  # elementwise values reuse each other's buffers
                self.allocated.append(s.name)
                if s.name in self.scratch:
                    slot = self.scratch.index(s.name)
                    # None on a first call: then `out=None` allocates
                    fresh = f"_SCRATCH.pop(({slot}, {_shape_text(e.shape)}, {self.params[0]}.dtype), None)"
            # the donor's memory by a name that holds it whole: not a broadcast or transposed view of it
            by = [n for n in holders[donor] if n not in self.views][-1] if donor else None
            lines.extend(render(ops, s.name, by, fresh, sums))
            owner = donor or s.name
            buffer[s.name] = owner
            holders.setdefault(owner, []).append(s.name)
        self.buffer = buffer
        return lines

    def _donor(self, i, e, ops, holders, last):
        """A buffer `e` may be written into: one of `e`'s shape, allocated
        here, that no later statement and no later op of this one reads."""
        if ops[0][0] in ("sum", "matrix", "solve", *WINDOW_OPS):
            return None
        later = set()
        for op in ops[1:]:
            later |= _reads(op)
        first = _reads(ops[0])
        for owner, names in holders.items():
            if self.shapes[owner] != e.shape or set(names) & set(self.results):
                continue
            if any(last.get(n, -1) > i or n in later for n in names):
                continue
            if ops[0][0] == "matmul" and set(names) & first:
                continue  # NumPy would copy an operand that overlaps `out`
            if any(op[0].startswith("slope") and set(names) & E.variables(op[2]) for op in ops):
                continue  # a slope helper may write into its `z`, not its `dy`
            return owner
        return None

    def returns(self) -> list:
        """The results as printed, copied where one would share memory with
        an argument, a read-only view or an earlier result."""
        seen, out = set(), []
        for r in self.results:
            owner = self.buffer.get(r)
            if owner is None or owner in seen or r in self.views:
                out.append(f"{r}.copy()")
            else:
                out.append(r)
            seen.add(owner)
        return out


def _sums_into_slopes(body: list) -> dict:
    """{name: name of its sum}: `db = sum(dZ, axis=1)` where `dZ`'s last op
    is a slope helper's, which then returns the sums along the rows beside
    `dZ` (a compiled twin takes them in its pass over `dZ`, while each row
    is in cache)."""
    slopes = {s.name for s in body if not _leaf(s.expr) and _constant(s.expr) is None
              and chain(s.expr)[-1][0].startswith("slope")}
    out = {}
    for s in body:
        e = s.expr
        if isinstance(e, E.Sum) and e.axis == 1 and isinstance(e.a, E.Var) and e.a.name in slopes \
                and e.a.name not in out:
            out[e.a.name] = s.name
    return out


def _bias_into_slope(body: list, results: list) -> list:
    """`Z = W @ X + b; dZ = dY * g'(Z)` as `dZ = dY * g'(W @ X + b)` where
    nothing else reads `Z`: the bias is then added by the slope's helper,
    in its pass (`slope_column`), not in a pass of its own."""
    reads: dict = {}
    for s in body:
        for n in E.walk(s.expr):
            if isinstance(n, E.Var):
                reads[n.name] = reads.get(n.name, 0) + 1
    defined = {s.name: s for s in body}
    out, gone = [], set()
    for s in body:
        e = s.expr
        if isinstance(e, Slope) and isinstance(e.a, E.Var) and e.a.name in defined \
                and reads.get(e.a.name) == 1 and e.a.name not in results:
            z = defined[e.a.name].expr
            if isinstance(z, E.Add) and not _leaf(z.a) and _column(z.b):
                gone.add(e.a.name)
                out.append(Statement(s.name, Slope(e.fn, z, e.dy)))
                continue
        out.append(s)
    return [s for s in out if s.name not in gone]


def _negative(e: E.Expr) -> E.Expr:
    if isinstance(e, E.Broadcast):
        return E.Broadcast(E.Scale(-1, e.a), e.shape)
    return E.Scale(-1, e)


def _with_child(e: E.Expr, child: E.Expr) -> E.Expr:
    if isinstance(e, E.Scale):
        return E.Scale(e.c, child)
    if isinstance(e, E.Pow):
        return E.Pow(child, e.p)
    return E.Apply(e.fn, e.order, child)


def _var_of(e: E.Expr) -> str:
    while not isinstance(e, E.Var):
        e = e.a
    return e.name


def _replace_below(e: E.Expr, names: dict) -> E.Expr:
    if not e.children():
        return e
    return rebuild(e, [_replace(c, names) for c in e.children()])


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


# ---------------------------------------------------------------- elementwise chains

T = "<target>"  # the buffer being computed, as an op's operand


def chain(e: E.Expr) -> list:
    """Ops computing `e` into one buffer: the first op creates it, each later
    op updates it in place.  An op is (kind, operand..., [parameter]); an
    operand is an `Expr` or `T`."""
    k = type(e)
    if k is E.MatMul:
        return [("matmul", e.a, e.b)]
    if k is E.Sum:
        return [("sum", e.a, repr(e.axis))]
    if k is E.MatFn:
        return [("matrix", e.a, f"_{stable.MATRIX[e.fn].__name__}")]
    if k is Solve:
        return [("solve", e.a, e.b)]
    if isinstance(e, W.NODES):
        return [_window_op(e)]
    if k is E.Scale:
        return _unary(e.a, "negative") if e.c == -1 else _unary(e.a, "scale", number(e.c))
    if k is E.Pow:
        return _unary(e.a, "square") if e.p == 2 else _unary(e.a, "power", str(int(e.p)))
    if k is E.Apply:
        return _unary(e.a, "helper", helper(e.fn, e.order))
    if k is Slope:
        if _leaf(e.a):
            return [("slope", e.a, e.dy, slope_helper(e.fn))]
        before = chain(e.a)
        if before[-1][0] == "add_column" and before[-1][1] is T:  # the bias goes into the slope's pass
            return before[:-1] + [("slope_column", T, e.dy, before[-1][2], slope_helper(e.fn))]
        return before + [("slope", T, e.dy, slope_helper(e.fn))]
    if k in (E.Add, E.Mul):
        op, a, b = ("multiply" if k is E.Mul else "add"), e.a, e.b
        if k is E.Add and _negated(b):
            op, b = "subtract", _negand(b)
        elif k is E.Add and _negated(a):
            op, a, b = "subtract", b, _negand(a)
        if _leaf(a) and _leaf(b):
            return [(op, a, b)]
        if not _leaf(a):
            return chain(a) + [(op + "_column" if _column(b) else op, T, b)]
        return chain(b) + [(op + "_column" if _column(a) and op != "subtract" else op, a, T)]
    raise NotImplementedError(f"cannot print `{k.__name__}` as NumPy")


def _window_op(e: E.Expr) -> tuple:
    """The op of a window node: its helper's kind, operands and axis."""
    if type(e) is W.Conv:
        return ("conv1d" if e.mode == "valid" else "convolve", e.a, e.b)
    if type(e) is W.Flip:
        return ("flip", e.a)
    return ("max" if type(e) is W.Max else "max_mask", e.a, repr(e.axis))


def _column(e: E.Expr) -> bool:
    """A column (k x 1) broadcast along the rows of a k x m batch."""
    return isinstance(e, E.Broadcast) and e.a.shape[1] == E.ONE and e.a.shape[0] == e.shape[0] != E.ONE \
        and e.shape[1] != E.ONE


def _unary(a: E.Expr, kind: str, *params) -> list:
    return [(kind, a, *params)] if _leaf(a) else chain(a) + [(kind, T, *params)]


def _reads(op) -> set:
    return set().union(*(E.variables(a) for a in op[1:] if isinstance(a, E.Expr)))


def render(ops: list, target: str, donor: str | None, scratch: str | None = None, sums: str | None = None) -> list:
    """Lines running `ops` into `target`: a new array, `donor`'s memory, or
    the array the expression `scratch` gives; `sums`, the name given the
    sums along rows of the result that the last op (a slope's helper)
    returns beside it."""
    lines = []
    for i, (kind, *args) in enumerate(ops):
        show = _full if kind in ("matmul", "sum", "matrix", "solve", *WINDOW_OPS) else _operand
        operands = [a for a in args if a is T or isinstance(a, E.Expr)]
        names = [target if a is T else show(a) for a in operands]
        text = dict(zip("abc", names), p=args[-1] if len(args) > len(operands) else None,
                    s=", sums=True" if sums and i == len(ops) - 1 else "")
        new, into, in_place = OPS[kind]
        if i == 0 and donor is None and scratch is not None:
            lines.append(f"{target} = {into.format(out=scratch, **text)}")
        elif i == 0 and donor is None:
            if kind.split("_")[0] in ("add", "subtract", "multiply") and names[1].startswith("-"):
                text["b"] = f"({names[1]})"
            lines.append(f"{target} = " + new.format(**text))
        elif i == 0:
            lines.append(f"{target} = {into.format(out=donor, **text)}  # {donor} is not needed after this")
        elif kind == "subtract" and operands[0] is not T:
            lines.append(f"_np.subtract({names[0]}, {target}, out={target})")  # a - t: not commutative
        else:
            other = names[-1] if operands[0] is T else names[0]  # the operand that is not `t`
            lines.append(in_place.format(t=target, other=other, **text))
            if text["s"]:
                lines[-1] = f"{target}, {sums} = {lines[-1]}"
                continue
        if text["s"]:
            lines[-1] = lines[-1].replace(f"{target} = ", f"{target}, {sums} = ", 1)
    return lines


def _operand(e: E.Expr) -> str:
    if isinstance(e, E.Broadcast) and not isinstance(e.a, E.Const):
        return expression(e.a)  # NumPy broadcasting
    return expression(e)


def _full(e: E.Expr) -> str:
    if isinstance(e, E.Broadcast) and e.a.shape != e.shape:
        return f"_np.broadcast_to({expression(e.a)}, {_shape_text(e.shape)})"
    return expression(e)
