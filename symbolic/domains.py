"""What the index form knows beyond its algebra: where things are defined
(the conditions a `1/u` or `log(u)` puts on its argument, and whether a
claim's are ones J itself needs), the sign of a form, and the facts of data
inputs (a one-hot column sums to 1)."""
from __future__ import annotations

from . import expr as E
from .functions import domain, sign
from .forms import P, Q, Delta, Fn, Form, Mat, Term, form, indices, intern, pair
from .index import Context, canon, entry, objective
from .linalg import DOMAIN, det_of


def conditions(terms) -> set:
    """(kind, key) for every function in `terms` (Terms or canonical
    items, before any cancellation) that is defined only on part of the
    line: `("nonzero", key)` for 1/u, `("positive", key)` for log(u), with
    `key` the canonical form of u.  Nested arguments are searched too."""
    out, seen = set(), set()
    stack = [f for t in terms for f in (t.factors if isinstance(t, Term) else t[1])]
    while stack:
        f = stack.pop()
        if f.kind == "M":  # inv, det: det(A) != 0; logdet: det(A) > 0
            out.add((DOMAIN[f.fn], intern(canon([Term(1, {}, [Mat("det", f.key, f.n, 0, 0, False)])]))))
        elif f.kind != "F":
            continue
        elif domain(f.fn) is not None:
            out.add((domain(f.fn), f.key))
        if f.key not in seen:
            seen.add(f.key)
            stack.extend(g for _, factors, _ in form(f.key) for g in factors)
    return out


def implied(condition, known: set) -> bool:
    """Whether `condition` holds wherever every condition in `known` does:
    the same condition on the same canonical argument (u > 0 gives u != 0),
    or a constant argument that satisfies it."""
    kind, key = condition
    if condition in known or (kind == "nonzero" and ("positive", key) in known):
        return True
    if positive(key):
        return True
    f = form(key)
    if len(f) == 1 and not f[0][0] and not f[0][1] and f[0][2].is_number:
        c = f[0][2]
        return (c.is_zero is False) if kind == "nonzero" else (c.is_positive is True)
    return False


def expression_conditions(e: E.Expr, forward: dict) -> set:
    """The conditions (kind, key) of every 1/u and log(u) in `e` and in the
    forward definitions it uses, nested ones included, found on the
    expression itself: nothing is multiplied out, so the cost follows the
    expression's size, not its index form's."""
    out, seen, stack = set(), set(), [e]
    ctx = Context(forward)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, E.Var) and node.name in forward:
            stack.append(forward[node.name])
        if isinstance(node, E.Apply) and domain(node.fn) is not None:
            kind = domain(node.fn) if node.order == 0 else "nonzero"  # log' = 1/u
            out.add((kind, ctx.intern(canon(entry(node.a, P, Q, ctx)))))
        if isinstance(node, E.MatFn):  # on its determinant
            out.add((DOMAIN[node.fn], ctx.intern(canon(entry(det_of(node), P, Q, ctx)))))
        stack.extend(node.children())
    return out


def objective_conditions(forward: dict, output: E.Var, upstream) -> set:
    """Where J is defined: the conditions of every function J uses."""
    return expression_conditions(objective(output, upstream), forward)


def positive(key: Form) -> bool:
    """Whether the canonical form `key` is positive for every size and
    every value of the inputs (1 + exp(u), a sum of sigmoids, ...)."""
    return _form_sign(form(key)) == "+"


def _form_sign(items) -> str | None:
    """"+" (positive), "0+" (nonnegative) or None (unknown) of a canonical form."""
    if not items:
        return None
    signs = set()
    for _, factors, coeff in items:
        if not coeff.is_positive:
            return None
        unknown: dict = {}
        term = "+"
        for f in factors:
            s = _factor_sign(f)
            if s is None:
                unknown[f] = unknown.get(f, 0) + 1
            elif s == "0+":
                term = "0+"
        if any(n % 2 for n in unknown.values()):
            return None
        signs.add("0+" if unknown else term)
    return "+" if "+" in signs else "0+"


def _factor_sign(f) -> str | None:
    if f.kind == "D":
        return "0+"
    if f.kind == "F":
        s = sign(f.fn, f.order)
        if s is None and f.fn == "recip" and f.order == 0 and positive(f.key):
            s = "+"
        return s
    return None


# ---------------------------------------------------------------- data

def with_facts(form: tuple, facts: dict) -> tuple:
    """A canonical form with the data facts applied to its terms: a sum
    over the first index of one-hot columns `Y` (the second, of one-hot
    rows) that no other factor uses is 1; an entry of one-hot or binary
    data times itself is itself; for an orthogonal Q, a sum over the first
    (second) index of Q_ki Q_kj that no other factor uses is the delta of
    i and j (Q.T Q = Q Q.T = I)."""
    if not facts:
        return form
    out = []
    for bound, factors, coeff in form:
        bound, factors = dict(bound), list(factors)
        changed = True
        while changed:
            changed = False
            for n, f in enumerate(factors):
                if f.kind != "E" or f.name not in facts:
                    continue
                fact = facts[f.name]
                if fact in ("one-hot columns", "one-hot rows", "binary") and factors.count(f) > 1:
                    del factors[n]  # 0 and 1 are their own squares
                    changed = True
                    break
                if fact == "orthogonal" and _orthogonal(n, factors, bound):
                    changed = True
                    break
                k = f.i if fact == "one-hot columns" else f.j if fact == "one-hot rows" else None
                if k in bound and sum(k in indices(g) for g in factors) == 1:
                    del factors[n], bound[k]  # the sum of a one-hot column (row) is 1
                    changed = True
                    break
        out.append(Term(coeff, bound, factors))
    return canon(out)


def _orthogonal(mine: int, factors: list, bound: dict) -> bool:
    """Q_ki Q_kj (factors `mine` and another) summed over a bound k nothing
    else uses -> delta(i, j), in place; the same along the second index;
    False if there is none."""
    f = factors[mine]
    for first in (True, False):  # k the first index of both, then the second
        k, i = (f.i, f.j) if first else (f.j, f.i)
        if k not in bound or sum(k in indices(g) for g in factors) != 2:
            continue
        other = next((n for n, g in enumerate(factors) if n != mine and g.kind == "E" and g.name == f.name
                      and not g.sym and (g.i if first else g.j) == k), None)
        if other is None:
            continue
        j = factors[other].j if first else factors[other].i
        for n in sorted((mine, other), reverse=True):
            del factors[n]
        del bound[k]
        factors.append(Delta(*pair(i, j)))
        return True
    return False


# ---------------------------------------------------------------- kinks

def off_kinks(items: tuple) -> tuple:
    """(the canonical form `items` with each step(u) whose u leads with a
    minus sign written 1 - step(-u), the keys of those -u): equal to
    `items` except where one of them is 0, the kink of step and relu,
    where `step(0) = 0` makes step(u) + step(-u) 0 rather than 1."""
    kinks, terms, changed = set(), [Term(c, dict(b), list(fs)) for b, fs, c in items], True
    while changed:
        changed, out = False, []
        for t in terms:
            n = next((n for n, f in enumerate(t.factors) if f.kind == "F" and f.fn == "step" and f.order == 0
                      and form(f.key) and form(f.key)[0][2].could_extract_minus_sign()), None)
            if n is None:
                out.append(t)
                continue
            f, rest = t.factors[n], t.factors[:n] + t.factors[n + 1:]
            neg = intern(canon([Term(-c, dict(b), list(fs)) for b, fs, c in form(f.key)]))
            kinks.add(neg)
            out += [Term(t.coeff, dict(t.bound), rest),
                    Term(-t.coeff, dict(t.bound), rest + [Fn("step", 0, neg, f.args)])]
            changed = True
        terms = out
    return canon(terms), kinks


def kink_texts(kinks, exprs: list, forward: dict) -> tuple:
    """Each kink's u (a canonical form) as text, sorted: the argument of a
    step or relu of `exprs` with that form, as the forward pass writes it
    where it does (`Z`, `1 - t * z`), else its negative."""
    ctx = Context(forward)
    args = [n.a for e in exprs for n in E.walk(e) if isinstance(n, E.Apply) and n.fn in ("step", "relu")]
    names = {ctx.key(a): E.text(a) for a in reversed(args)}
    for a in args:
        names.setdefault(ctx.key(E.scale(-1, a)), E.text(E.scale(-1, a)))
    return tuple(sorted(names.get(k, "the argument of a step") for k in kinks))
