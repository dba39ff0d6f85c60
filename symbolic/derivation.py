"""A derivation as data: `Derivation` and its `Claim`s.

`load` reads a file into these; `derive`, `verify` and `steps` work on
them.  Nothing here reads a file or prints: the notebook reprs of a
`Derivation` are attached by `symbolic.notebook`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import expr as E
from .parse import Parser

# What a data input may be declared to be, and what the proofs and the
# counterexamples then take as given (`[inputs] Y = { shape = "c x m",
# data = "one-hot columns" }`): each column (row) one 1 and zeros, so that
# it sums to 1; "binary": every entry 0 or 1; "positive": every entry > 0.
# A square data input may also be "symmetric" (S = S.T), "positive definite" (symmetric, every
# eigenvalue > 0, so det(S) > 0) or "orthogonal" (Q.T @ Q = Q @ Q.T = I); a "mask" is "binary".
FACTS = ("one-hot columns", "one-hot rows", "binary", "positive", "symmetric", "positive definite", "orthogonal",
         "mask")
# Another name for a fact, read as that fact: a mask (dropout's, a padding
# mask) is data of zeros and ones, "binary".
FACT_ALIASES = {"mask": "binary"}
# A constant (`eps = { shape = "scalar", constant = "positive" }`) is a value that is not
# differentiated either, of one sign: each entry > 0, or < 0.
SIGNS = ("positive", "negative")


def dim_values(dims: dict) -> dict:
    """Each dim as a value a formula may use (`/ m`): a 1 x 1 `Var` of role "dim"."""
    return {name: E.Var(name, (E.ONE, E.ONE), "dim") for name in dims}


@dataclass
class Claim:
    """A hand-derived closed form of dJ/d(`wrt`)."""
    wrt: str
    text: str
    expr: E.Expr | None  # None when its shapes do not meet
    shape_error: str | None = None
    budget: float | None = None
    latex: str | None = None  # the claim as written, when given as `latex = "..."`
    name: str | None = None  # of one of several candidate claims for one input (`[[claims]]`)

    def __repr__(self):
        return f"Claim(dJ/d{self.wrt}{f' [{self.name}]' if self.name else ''} = {self.text})"


@dataclass
class Derivation:
    """A forward computation, its output and upstream gradient, and claims."""
    path: Path
    title: str
    source: str
    dims: dict  # name -> sympy Symbol
    inputs: dict  # name -> Var
    functions: dict  # name -> table function name, or None for generic
    forward: dict  # name -> Expr, in dependency order
    forward_text: dict  # name -> text as written
    output: E.Var
    upstream: E.Var | None  # None: the output is the scalar loss J itself
    claims: dict = field(default_factory=dict)  # input name -> Claim
    facts: dict = field(default_factory=dict)  # data input name -> its fact (`FACTS`): "one-hot columns", ...
    max_size: int = 3
    constants: set = field(default_factory=set)  # inputs declared `constant = ...` (their sign in `facts`)
    notation: dict = field(default_factory=dict)  # name -> LaTeX tree it stands for (see `steps`)
    steps: list = field(default_factory=list)  # `steps.Step`, the notes' chain of equalities
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # results derived from it

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def generic(self) -> list:
        """Names of the generic (opaque) functions the file declares."""
        return [f for f, impl in self.functions.items() if impl is None]

    def parser(self) -> Parser:
        names = {**dim_values(self.dims), **self.inputs}
        names.update({n: E.Var(n, e.shape, "intermediate") for n, e in self.forward.items()})
        if self.upstream is not None:
            names[self.upstream.name] = self.upstream
        return Parser(names, self.functions)

    def __repr__(self):
        ins = ", ".join(f"{n}: {s.shape[0]}x{s.shape[1]}" for n, s in self.inputs.items())
        return f"Derivation({self.name!r}: {self.title!r}; inputs {ins}; {len(self.claims)} claims)"
