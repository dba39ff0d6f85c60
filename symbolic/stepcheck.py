"""Checking one step of the notes, part by part, as claims are checked.

Each part is decided by the claims' procedure (`decide`): shapes first
(`shape-error`), then the index form of both sides for every size
(`proved`, confirmed by the spot check), then explicit sizes 1..N with
SymPy's own `diff` (`refuted` with a `verdicts.Counterexample`, or
`proved-up-to`), else `unknown`; all within the step's budget.  A wrong
label is `refuted` with the sizes at which the shapes differ.  The result
of a part is a `verdicts.Verdict` with its `verdicts.Place`; where a part fails,
it carries the right forms (what the chain computes, in the step's own
syntax: `stepprint`) and a one-edit `verdicts.Repair` found by
`mutate.tree_mutants`.
"""
from __future__ import annotations

import itertools
import random
import time
from dataclasses import replace

import sympy

from . import domains
from . import index as I
from . import steptree as T
from .decide import Trial, explicit_check, first_difference, sizes_text, spot_check, within
from .derive import derive
from .errors import DerivationError
from .explicit import POLY, POLYS, evaluate, is_zero, random_point, size_combinations
from .mutate import apply_edits, tree_mutants
from .semantics import LOSS, Meaning, StepShapeError, same_size
from .stepindex import fold_fixed
from .stepprint import syntax_of
from .steptree import index_name, labels, shape_text
from .stepvalues import Sizes, match_scalar
from .verdicts import PROVED, REFUTED, SHAPE, UNKNOWN, UP_TO, Counterexample, Place, Repair, Verdict
from .verify import counterexample


class StepChecker:
    """The checks of one step: its `Meaning` (and the shapes it remembers)
    lives as long as the checker."""

    def __init__(self, d, step, max_size: int, seconds: float):
        self.d, self.step, self.max_size, self.seconds = d, step, max_size, seconds
        self.m = Meaning(d, d.notation, step.latex)
        self.syntax = syntax_of(step, d)  # right forms and repairs in the step's own syntax
        tree = step.tree
        if isinstance(tree, T.Chain) and tree.forall is not None:
            var, lo, hi = tree.forall
            if lo != T.Ix("num", 1) or hi.kind == "var":
                what = "`\\forall`" if step.syntax == "latex" else "`for`"
                raise DerivationError(d.path, f"{step.key}.{step.syntax}", f"{what} runs from 1 to a number or a dim")
            self.m.free[var] = self.m.size(hi)
        self.stage = ["proving for every size"]

    def meaning(self) -> Meaning:
        """A fresh `Meaning` of the step, with the free indices it has found."""
        m = Meaning(self.d, self.d.notation, self.step.latex)
        m.free = dict(self.m.free)
        return m

    def verdict(self, part, kind, text, status, detail, **kw) -> Verdict:
        place = Place(self.step.section, self.step.eq, part, kind, self.step.expected.get(part), self.step.note)
        return Verdict(str(self.d.path), self.d.name, part, text, status, detail, "", place=place, **kw)

    def run(self) -> list:
        tree = self.step.tree
        membership = isinstance(tree, T.Membership)
        members = tree.subjects if membership else tree.members
        out = [] if membership else [self.timed(self.link, f"link{k + 1}", a, b)
                                     for k, (a, b) in enumerate(zip(members, members[1:]))]
        # the labels in reading order, then what each closing `\in` claims
        claims = [(node.a, node.label, env, self.src(node)) for m in members for node, env in labels(m, {})]
        closing = [(m, tree.shape) for m in members] if membership else \
            [(members[-1], tree.within)] if tree.within is not None else []
        claims += [(m, shape, {}, f"{self.src(m)}{self.syntax.in_sign}{self.src(shape)}") for m, shape in closing]
        out += [self.timed(self.label, f"label{n + 1}", *claim) for n, claim in enumerate(claims)]
        if not membership and len(members) > 2 and not all(v.proved for v in out if v.place.part.startswith("link")):
            out.append(self.timed(self.link, "ends", members[0], members[-1]))
        return out

    def timed(self, fn, part, *args) -> Verdict:
        start = time.perf_counter()
        self.stage[0] = "proving for every size"
        v, undecided = within(self.seconds, lambda: fn(part, *args), self.stage)
        if undecided:
            v = self.verdict(part, "equality", "", UNKNOWN, undecided)
        v.seconds = time.perf_counter() - start
        return v

    def src(self, node) -> str:
        return self.m.src(node)

    # ---- labels
    def label(self, part, node, label, env, text) -> Verdict:
        """A dimension label: the shape of `node` against the one claimed.
        Index variables around it are taken at any value in range (the
        label speaks of the shape only)."""
        if isinstance(label, T.Name):
            v = self.link(part, node, label)
            v.place, v.text = replace(v.place, kind="name"), text
            return v
        claimed = T.shape_of(label, self.d.dims)
        try:
            info = self.meaning().sh(node, {k: None for k in env})
        except StepShapeError as err:
            return self.verdict(part, "label", text, SHAPE, f"the labelled expression cannot be formed: {err}")
        actual = info.shape
        if None in actual:
            return self.verdict(part, "label", text, UNKNOWN, "the length of the labelled vector is not determined")
        if all(same_size(x, y) for x, y in zip(actual, claimed)):
            return self.verdict(part, "label", text, PROVED, f"`{self.src(node)}` is {shape_text(actual)} for every size")
        sizes = self.shape_counterexample(actual, claimed)
        cx = Counterexample(sizes, {}, None, None, [[str(x) for x in self.concrete(actual, sizes)]],
                            [[str(x) for x in self.concrete(claimed, sizes)]], True)
        return self.verdict(part, "label", text, REFUTED,
                            f"`{self.src(node)}` is {shape_text(actual)}, not {shape_text(claimed)}",
                            right=(self.syntax.membership(self.src(node), actual),), counterexample=cx)

    def concrete(self, shape, sizes) -> tuple:
        subs = {self.d.dims[k]: v for k, v in sizes.items()}
        return tuple(int(sympy.sympify(x).subs(subs)) for x in shape)

    def shape_counterexample(self, a, b) -> dict:
        for sizes in size_combinations(self.d.dims, max(self.max_size, 2)):
            named = {str(k): v for k, v in sizes.items()}
            if self.concrete(a, named) != self.concrete(b, named):
                return named
        return {}

    # ---- equalities
    def link(self, part, left, right) -> Verdict:
        text = f"{self.src(left)} = {self.src(right)}"
        tree = self.step.tree
        if isinstance(tree, T.Chain) and tree.cases and part == "link1":
            text = self.src(tree)
        shapes = []
        for side, node in (("left", left), ("right", right)):
            try:
                shapes.append(self.m.sh(node, {}).shape)
            except StepShapeError as err:
                return self.explain(self.verdict(part, "equality", text, SHAPE,
                                                 f"the {side} side cannot be formed: {err}"), left, right)
        sa, sb = shapes
        if not self.m.same(sa, sb):
            return self.explain(self.verdict(part, "equality", text, SHAPE,
                                             f"the left side is {shape_text(sa)}, the right side {shape_text(sb)}"),
                                left, right)
        shape = tuple(x if x is not None else y for x, y in zip(sa, sb))
        if self.same_for_every_size(left, right, shape, self.m):
            self.stage[0] = "checking the proof at size 2"
            if spot_check(self.d.dims, self.trials(left, right, lambda: random.Random(0), zero_first=True)):
                return self.verdict(part, "equality", text, PROVED,
                                    "index form: entry (p, q) of both sides agrees symbolically for all dims")
        v = self.explicit(part, text, left, right)
        return v if v.proved else self.explain(v, left, right)

    def index_form(self, node, shape, m) -> tuple:
        p, q = I.free_indices(shape)
        return fold_fixed(I.canon(m.terms(node, p, q, {}, I.Context(dict(self.d.forward)))))

    def same_for_every_size(self, left, right, shape, m) -> bool:
        """Both sides equal in index form, each defined wherever the other
        side and J are (no 1/u or log(u) on one side only)."""
        p, q = I.free_indices(shape)
        try:
            ta, tb = (m.terms(side, p, q, {}, I.Context(dict(self.d.forward))) for side in (left, right))
        except (StepShapeError, TypeError):
            return False
        if "domain" not in self.d.cache:
            self.d.cache["domain"] = domains.objective_conditions(self.d.forward, self.d.output, self.d.upstream)
        known = self.d.cache["domain"]
        ca, cb = domains.conditions(ta), domains.conditions(tb)
        if not all(domains.implied(c, known | cb) for c in ca) or not all(domains.implied(c, known | ca) for c in cb):
            return False
        return I.difference(fold_fixed(I.canon(ta)), fold_fixed(I.canon(tb))) == ()

    def free_values(self, X):
        names = sorted(self.m.free)
        ranges = [range(X.size(self.m.free[v])) for v in names]
        for combo in itertools.product(*ranges):
            yield dict(zip(names, combo))

    def trials(self, left, right, rng, zero_first: bool = False):
        """`decide`'s comparisons of the two sides at some sizes: one per
        value of the free indices; `rng()` gives the random source of each.
        `zero_first`: no point is tried where the difference is exactly zero
        (the spot check's shortcut: exact zeros of a step's sides are cheap,
        values at points of nested functions are not)."""
        def at(sizes):
            X = Sizes(self.d, sizes)
            for env in self.free_values(X):
                a, b = self.m.value(left, env, X), self.m.value(right, env, X)
                a, b = match_scalar(a, b), match_scalar(b, a)
                zero = a.shape == b.shape and zero_first and all(is_zero(x) for x in a - b)
                found = self.find_point(X, a, b, rng()) if a.shape == b.shape and not zero else None
                if found is not None:
                    found.indices = {index_name(k): v + 1 for k, v in env.items()}
                yield Trial(found, lambda a=a, b=b: a.shape == b.shape and all(is_zero(x) for x in a - b))
        return at

    def find_point(self, X, a, b, rng, tries=2):
        """A point where the two sides differ, or where one is undefined and
        the other is not.  A generic function is tried as each stand-in
        polynomial in turn."""
        points = (random_point(X.ex, rng) for _ in range(tries))
        return first_difference(points, POLYS if self.d.generic else (POLY,),
                                lambda point, coeffs: (a.applyfunc(lambda x: evaluate(x, point, coeffs)),
                                                       b.applyfunc(lambda x: evaluate(x, point, coeffs))))

    def explicit(self, part, text, left, right) -> Verdict:
        rng = random.Random(1)
        try:
            out = explicit_check(((None, s) for s in size_combinations(self.d.dims, self.max_size)),
                                 self.trials(left, right, lambda: rng), self.stage)
        except StepShapeError as err:
            return self.verdict(part, "equality", text, SHAPE, str(err))
        if out.refuted:
            return self.verdict(part, "equality", text, REFUTED, "the two sides differ at the point shown",
                                counterexample=counterexample(self.d, out.difference))
        if not out.proved:
            return self.verdict(part, "equality", text, UNKNOWN,
                                "no proof for every size, no counterexample, and no exact proof at sizes "
                                + sizes_text(out.undecided))
        if not self.d.dims and not self.m.free:
            return self.verdict(part, "equality", text, PROVED,
                                "every value is a scalar: exact at the only size there is")
        return self.verdict(part, "equality", text, UP_TO,
                            f"explicit matrices of symbols, every dim from 1 to {self.max_size}; "
                            "the index form did not reach a proof for every size", sizes=self.max_size)

    # ---- the right form
    def explain(self, v: Verdict, left, right) -> Verdict:
        """Give the true value of what the chain computes, and a one-edit fix if there is one."""
        ref = self.step.tree.members[0] if isinstance(self.step.tree, T.Chain) else left
        if not isinstance(self.unalias(ref), T.Deriv) and isinstance(self.unalias(left), T.Deriv):
            ref = left
        forms = []
        try:
            shape = self.m.sh(ref, {}).shape
            if None not in shape:
                forms.append(f"{self.src(ref)} = {self.show(self.unalias(ref), shape, self.m)}")
            deriv = self.unalias(ref)
            if isinstance(deriv, T.Deriv) and not (isinstance(deriv.num, T.Name) and deriv.num.name == LOSS):
                # what the chain would be with the loss above the bar
                loss = replace(deriv, num=T.Name(LOSS))
                m = self.meaning()
                forms.append(f"{self.syntax.node(loss)} = {self.show(loss, m.sh(loss, {}).shape, m)}")
        except (StepShapeError, TypeError, KeyError):
            pass
        v.right = tuple(forms)
        v.repair = self.find_repair(left, right)
        return v

    def unalias(self, node):
        while isinstance(node, T.Name) and node.name in self.d.notation:
            node = self.d.notation[node.name]
        return node

    def show(self, node, shape, m) -> str:
        closed = self.closed_form(node, m)
        if closed is not None:
            return self.syntax.closed(closed)
        return self.syntax.index_form(self.index_form(node, shape, m), m.vars, shape)

    def closed_form(self, node, m):
        """dJ/d(input) by the core's rule table, when that is what `node` is."""
        if not isinstance(node, T.Deriv) or not (isinstance(node.num, T.Name) and node.num.name == LOSS):
            return None
        var = m.resolve(node.den)
        if var is None or var.name not in self.d.inputs:
            return None
        return derive(self.d).closed[var.name]

    def find_repair(self, left, right) -> Repair | None:
        """The first edit (`mutate.tree_mutants`) of one side that makes the
        part hold for every size."""
        tried = 0
        for node, other in ((right, left), (left, right)):
            for mut in tree_mutants(node, LOSS):
                tried += 1
                try:
                    m = self.meaning()
                    sa, sb = m.sh(mut.whole, {}).shape, m.sh(other, {}).shape
                    if None in sa or None in sb or not m.same(sa, sb):
                        continue
                    if self.same_for_every_size(mut.whole, other, sa, m):
                        return self.repair(mut, tried)
                except (StepShapeError, TypeError, KeyError):
                    continue
        return None

    def repair(self, mut, tried: int) -> Repair:
        before, after = self.syntax.node(mut.target), self.syntax.node(mut.new)
        text = self.step.latex
        # an entry generalised from dots has no span of its own to edit
        made_up = any(isinstance(x, T.Ix) and x.kind == "var" and str(x.value).startswith("%")
                      for n in T.walk(mut.target) if isinstance(n, T.Index) for x in n.items)
        edit = None if made_up else mut.edit(text, after)
        edits = (edit,) if edit is not None else ()
        return Repair(mut.kind, before, after, apply_edits(text, edits) if edits else "", edits, text if edits else "",
                      proof=PROVED, tried=tried, survived=1)
