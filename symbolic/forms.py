"""Index-form terms and their factors: the pieces `index` builds with.

An entry of a matrix expression is a sum of terms, each a coefficient (a
polynomial in the dims) times a sum over bound indices of a product of
factors.  Each kind of factor is a tuple type whose items are read by name:
its first item `kind` a letter, then its fields.

    Entry('E', name, i, j)           entry (i, j) of an input or upstream; a
                                     symmetric input's has a fifth item "sym"
                                     (`sym`), its indices sorted
    Fn('F', fn, order, key, args)    fn^(order) applied to an entry of a
                                     matrix whose own index form is `key`
                                     (placeholders %P, %Q), taken at `args`
    Delta('D', i, j)                 Kronecker delta
    Mat('M', fn, key, n, i, j, sym)  entry (i, j) of inv, or det or logdet
                                     (i = j = 0), of the n x n matrix whose
                                     index form is `key` (`symbolic.linalg`)
    Conv('T', t, i, j)               the bracket [t = i + j] (a convolution)
    Flip('R', size, i, j)            the bracket [i + j = size - 1] (a flip)

A factor is built from its fields (`Delta(i, j)`) and is equal to, hashes,
prints and sorts as the plain tuple of its items.  A function factor refers
to its argument's canonical form through a `Form`, which holds that form.
Here: terms, forms, their products, and renaming indices; `index` writes
entries and puts them in canonical form.
"""
from __future__ import annotations

import hashlib
import itertools
from collections import namedtuple
from dataclasses import dataclass, field

import sympy

from .errors import FormTooLarge

P, Q = "%P", "%Q"

def _factor_type(name: str, kind: str, fields: str) -> type:
    """The tuple type of a factor of kind `kind`: (kind, *fields), made from
    its fields, read by name as a named tuple is, printed as a plain tuple."""
    new = tuple.__new__
    return type(name, (namedtuple(name, "kind " + fields),), {
        "__slots__": (), "__repr__": tuple.__repr__, "__getnewargs__": lambda f: f[1:],
        "__new__": lambda cls, *items: new(cls, (kind, *items))})


Entry, Fn, Delta = _factor_type("Entry", "E", "name i j"), _factor_type("Fn", "F", "fn order key args"), \
    _factor_type("Delta", "D", "i j")
Mat, Conv, Flip = _factor_type("Mat", "M", "fn key n i j sym"), _factor_type("Conv", "T", "t i j"), \
    _factor_type("Flip", "R", "size i j")
Entry.sym = property(lambda f: len(f) > 4)


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

def rename_factor(f, m, new=tuple.__new__):
    """`f` with its indices renamed by `m` (whose keys are never None), made
    from its items through `tuple.__new__`: the canonical form's hot path."""
    kind = f.kind
    if kind == "F":
        return new(Fn, ("F", f.fn, f.order, f.key, tuple(map(m.get, f.args, f.args))))
    i, j = m.get(f.i, f.i), m.get(f.j, f.j)
    if kind == "E":
        return new(Entry, ("E", f.name, *pair(i, j), "sym") if f.sym else ("E", f.name, i, j))
    if kind == "M":
        return new(Mat, ("M", f.fn, f.key, f.n, *(pair(i, j) if f.sym else (i, j)), f.sym))
    if kind == "T":  # a window's bracket (`index`, the windows)
        return new(Conv, ("T", m.get(f.t, f.t), *pair(i, j)))
    if kind == "R":
        return new(Flip, ("R", f.size, *pair(i, j)))
    return new(Delta, ("D", *pair(i, j)))


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
    if f.kind == "F":
        return tuple(a for a in f.args if a is not None)
    return (f.t, f.i, f.j) if f.kind == "T" else (f.i, f.j)


def pair(a, b) -> tuple:
    """Two indices in their canonical order."""
    return (a, b) if repr(a) <= repr(b) else (b, a)


class Counter:
    """Fresh names for the bound indices of a form written out (`instantiate`)."""

    def __init__(self):
        self.counter = itertools.count()

    def fresh(self) -> str:
        return f"~d{next(self.counter)}"
