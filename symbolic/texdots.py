"""The parts of the notes' LaTeX written with dots, for `texparse`.

Entries between dots are generalised from the first and the last (and
the second, where it is written): `dY_1, \\dots, dY_k` is `dY_i` for
i = 1..k.  Vectors and matrices (`pmatrix`, `bmatrix`, `&`, `\\vdots`,
`\\ddots`), sums written out (`a_1 + a_2 + \\dots + a_n`) and `cases`
with `\\vdots` are read here, as methods of the LaTeX parser.
"""
from __future__ import annotations

from .steptree import Chain, Dots, Grid, Node, Pattern, SumOver, TexError, generalise, merge, substitute_index

DOTS = {"dots", "cdots", "ldots", "vdots", "ddots"}


class DotsParser:
    """Mixin of `texparse.Parser`: everything written with dots."""

    def cases(self) -> Node:
        start = self.peek().pos
        self.env_name()
        rows = []
        while not self.at("cmd", "end"):
            if self.at("cmd") and self.peek().value in DOTS:
                t = self.next()
                rows.append(Dots(t.value, pos=t.pos))
            else:
                s = self.peek().pos
                lhs = self.expr()
                self.expect("sym", "=")
                rhs = self.expr()
                rows.append(self.node(Chain, s, (lhs, rhs)))
            if self.at("sym", "\\\\"):
                self.next()
            elif not self.at("cmd", "end"):
                self.fail(f"expected `\\\\` or `\\end{{cases}}`, got {_describe(self.peek())}")
        self.next()
        self.expect("sym", "{")
        self.expect("id", "cases")
        self.expect("sym", "}")
        eqs = [r for r in rows if not isinstance(r, Dots)]
        if len(eqs) == len(rows):
            if len(eqs) != 1:
                self.fail("`cases` with several equations and no `\\vdots`: write one step per equation")
            return eqs[0]
        template, (var, lo, hi) = self.generalise(eqs[0], eqs[-1], eqs[1] if len(eqs) == 3 else None, start)
        return self.node(Chain, start, template.members, None, (var, lo, hi), cases=True)

    def sum_patterns(self, terms, start):
        """`a_1 + a_2 + \\dots + a_n` -> a sum over an index."""
        while any(isinstance(t, Dots) for _, t in terms):
            d = next(k for k, (_, t) in enumerate(terms) if isinstance(t, Dots))
            if d == 0 or d == len(terms) - 1 or terms[d + 1][0] != "+" or terms[d][0] != "+":
                raise TexError("`\\dots` in a sum must stand between `+` signs", terms[d][1].pos, self.text)
            last = terms[d + 1][1]
            if d >= 2 and terms[d - 1][0] == "+" and self._fits(terms[d - 2][1], last):
                first, second, k0 = terms[d - 2][1], terms[d - 1][1], d - 2
            else:
                first, second, k0 = terms[d - 1][1], None, d - 1
            template, (var, lo, hi) = self.generalise(first, last, second, first.pos)
            if hi is None:
                raise TexError("the terms around `\\dots` do not differ by an index", first.pos, self.text)
            s = SumOver(var, lo, hi, template, pos=first.pos, end=last.end)
            terms = terms[:k0] + [(terms[k0][0], s)] + terms[d + 2:]
        return terms

    def _fits(self, first, last) -> bool:
        try:
            self.generalise(first, last, None, first.pos)
            return True
        except TexError:
            return False

    def matrix(self) -> Node:
        start = self.peek().pos
        env = self.env_name()
        if env not in ("pmatrix", "bmatrix"):
            self.fail_at(f"unsupported environment `{env}` (supported: pmatrix, bmatrix, and cases for a step)", start)
        rows, row = [], [self.item()]
        while True:
            if self.at("sym", "&"):
                self.next()
                row.append(self.item())
            elif self.at("sym", "\\\\"):
                self.next()
                rows.append(row)
                row = [self.item()]
            elif self.at("cmd", "end"):
                rows.append(row)
                break
            else:
                self.fail(f"expected `&`, `\\\\` or `\\end{{{env}}}`, got {_describe(self.peek())}")
        self.next()
        self.expect("sym", "{")
        self.expect("id", env)
        self.expect("sym", "}")
        return self.vector(rows, start)

    # -- vectors and patterns
    def vector(self, rows, start) -> Node:
        """Rows of items (nodes and Dots) -> Grid or Pattern."""
        end = self.toks[self.i - 1].pos + 1
        vdots = [k for k, r in enumerate(rows) if all(isinstance(x, Dots) for x in r)]
        hdots = any(isinstance(x, Dots) for r in rows if not all(isinstance(y, Dots) for y in r) for x in r)
        if not vdots and not hdots:
            return Grid(tuple(tuple(r) for r in rows), pos=start, end=end)
        if len(vdots) > 1 or (vdots and (vdots[0] == 0 or vdots[0] != len(rows) - 2)):
            self.fail_at("a `\\vdots` row must stand once, between the first rows and the last", start)
        if not vdots:
            if len(rows) != 1:
                self.fail_at("dots within rows need a `\\vdots` row too", start)
            first, second, last = self.ends(rows[0], start)
            t, cv = self.generalise(first, last, second, start)
            return Pattern(t, None, cv, pos=start, end=end)
        lines = [r for r in rows if not all(isinstance(x, Dots) for x in r)]
        if not hdots:
            if any(len(r) != 1 for r in lines):
                self.fail_at("a column written with `\\vdots` takes one entry a row", start)
            second = lines[1][0] if len(lines) == 3 else None
            t, rv = self.generalise(lines[0][0], lines[-1][0], second, start)
            return Pattern(t, rv, None, pos=start, end=end)
        top = self.ends(lines[0], start)
        bottom = self.ends(lines[-1], start)
        tc, cv = self.generalise(top[0], top[2], top[1], start)
        tr, rv = self.generalise(top[0], bottom[0], lines[1][0] if len(lines) == 3 else None, start)
        template = merge(top[0], tc, tr)
        corner = substitute_index(substitute_index(template, rv[0], rv[2]), cv[0], cv[2])
        if corner != bottom[2]:
            self.fail_at("the last entry does not follow the pattern of the first row and column", bottom[2].pos)
        return Pattern(template, rv, cv, pos=start, end=end)

    def ends(self, row, start):
        k = [n for n, x in enumerate(row) if isinstance(x, Dots)]
        if len(k) != 1 or k[0] == 0 or k[0] != len(row) - 2 or k[0] > 2:
            self.fail_at("a row with dots reads `a_1, \\dots, a_n` or `a_1, a_2, \\dots, a_n`", start)
        return row[0], (row[1] if k[0] == 2 else None), row[-1]

    def fail_at(self, message, pos):
        raise TexError(message, pos, self.text)

    def generalise(self, first, last, second, pos):
        """The template of which `first` and `last` are instances, a fresh
        index where they differ: (template, (var, lo, hi))."""
        return generalise(first, last, second, self.fresh(), pos, self.text)


def _describe(t) -> str:
    if t.kind == "end":
        return "the end of the text"
    if t.kind == "cmd":
        return f"`\\{t.value}`"
    return f"`{t.value}`"
