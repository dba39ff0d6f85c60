"""Index-form terms and their factors: the pieces `index` builds with.

An entry of a matrix expression is a sum of terms, each a coefficient (a
polynomial in the dims) times a sum over bound indices of a product of
factors:

    ('E', name, i, j)                 entry (i, j) of an input or upstream
    ('F', fn, order, key, args)       fn^(order) applied to an entry of a
                                      matrix whose own index form is `key`
                                      (placeholders %P, %Q), taken at `args`
    ('D', i, j)                       Kronecker delta

A function factor refers to its argument's canonical form through a `Form`,
which holds that form.  Here: terms, forms, their products, and renaming
indices; `index` writes entries and puts them in canonical form.
"""
from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

import sympy

from .errors import FormTooLarge

P, Q = "%P", "%Q"


@dataclass
class Term:
    coeff: sympy.Expr
    bound: dict = field(default_factory=dict)  # index name -> dim
    factors: list = field(default_factory=list)


class Form(int):
    """A canonical form (see `canon`) as a function factor refers to it: a
    number made from its terms (the same in every process, so that sorting
    by the printed factors is too), hashed and printed as that number, and
    equal to a `Form` of the same terms only (two forms whose numbers
    collide compare their terms)."""

    def __new__(cls, items: tuple):
        number = int.from_bytes(hashlib.blake2b(repr(items).encode(), digest_size=8).digest(), "big")
        self = super().__new__(cls, number)
        self.items = items
        return self

    __hash__ = int.__hash__

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, Form) or not int.__eq__(self, other):
            return False
        if self.items is other.items or self.items == other.items:
            other.items = self.items  # one tuple for both: comparing them again is one identity test
            return True
        return False

    def __ne__(self, other):
        return not self.__eq__(other)



MAX_TERMS = 50_000
MAX_FACTORS = 5_000


def product(xs: list, ys: list) -> list:
    if len(xs) * len(ys) > MAX_TERMS:
        raise FormTooLarge(f"an index form of more than {MAX_TERMS:,} terms")
    out = [Term(a.coeff * b.coeff, {**a.bound, **b.bound}, a.factors + b.factors) for a in xs for b in ys]
    if out and len(out[0].factors) > MAX_FACTORS:
        raise FormTooLarge(f"an index-form term of more than {MAX_FACTORS:,} factors")
    return out


def bind(terms: list, index, size) -> list:
    if index == 0:
        return terms
    for t in terms:
        t.bound[index] = size
    return terms



def intern(form: tuple) -> Form:
    """`form` as a function factor refers to it (equal for equal forms);
    `Context.intern` gives one object per form within a context."""
    return Form(form)


def form(key: Form) -> tuple:
    return key.items


def uses(key: Form, placeholder) -> bool:
    return any(placeholder in indices(f) for _, factors, _ in form(key) for f in factors)


def args_of(key, i, j):
    return (i if uses(key, P) else None, j if uses(key, Q) else None)



# ---------------------------------------------------------------- renaming

def rename_factor(f, m):
    kind = f[0]
    if kind == "E" and len(f) > 4:  # a symmetric input's entry
        return ("E", f[1], *sorted((m.get(f[2], f[2]), m.get(f[3], f[3])), key=repr), "sym")
    if kind == "E":
        return ("E", f[1], m.get(f[2], f[2]), m.get(f[3], f[3]))
    if kind == "M":
        a, b = m.get(f[4], f[4]), m.get(f[5], f[5])
        if f[6]:
            a, b = sorted((a, b), key=repr)
        return f[:4] + (a, b, f[6])
    if kind == "F":
        return ("F", f[1], f[2], f[3], tuple(m.get(a, a) if a is not None else None for a in f[4]))
    if kind == "T":  # a window's bracket (`index`, the windows)
        return ("T", m.get(f[1], f[1])) + pair(m.get(f[2], f[2]), m.get(f[3], f[3]))
    if kind == "R":
        return ("R", f[1]) + pair(m.get(f[2], f[2]), m.get(f[3], f[3]))
    a, b = m.get(f[1], f[1]), m.get(f[2], f[2])
    return ("D",) + tuple(sorted((a, b), key=repr))


def instantiate(key, args, ctx) -> list:
    """The terms of a canonical `key` with %P, %Q set to `args`, its bound
    indices renamed fresh."""
    out = []
    for bound, factors, coeff in form(key):
        m = {P: args[0], Q: args[1]}
        m.update({b: ctx.fresh() for b, _ in bound})
        out.append(Term(coeff, {m[b]: size for b, size in bound},
                        [rename_factor(f, m) for f in factors]))
    return out


def indices(f):
    if f[0] == "E":
        return (f[2], f[3])
    if f[0] == "M":
        return (f[4], f[5])
    if f[0] == "T":
        return (f[1], f[2], f[3])
    if f[0] == "R":
        return (f[2], f[3])
    if f[0] == "F":
        return tuple(a for a in f[4] if a is not None)
    return (f[1], f[2])


def pair(a, b) -> tuple:
    """Two indices in their canonical order."""
    return tuple(sorted((a, b), key=repr))


class Counter:
    """Fresh names for the bound indices of a form written out (`instantiate`)."""

    def __init__(self):
        self.counter = itertools.count()

    def fresh(self) -> str:
        return f"~d{next(self.counter)}"
