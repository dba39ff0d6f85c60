r"""Verification reports people can read: Markdown, or a complete LaTeX document.

    >>> from symbolic.report import report
    >>> text = report(["derivations/layer.toml"], format="md")

One section per derivation: its inputs and forward formulas, the objective,
the derived backward pass, then each claim beside the derived form, the
verdict and its evidence, the likely mistake and the counterexample of a
claim that is wrong; for a file with `[[steps]]` (the notes), every step as
written, placed by section and equation, with the verdict of each link and
label (see `symbolic.steps`).  The content is built once as a list of blocks
(`Heading`, `Para`, `Display`, `Verbatim`, `Table`, see `symbolic.blocks`)
of inline parts (text, math, code); `markdown` and `document` only write
those blocks out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import batch
from . import expr as E
from . import tex as T
from . import texparse as TP
from .blocks import (MARKS, PREAMBLE, Display, Heading, Para, Table, Verbatim, code, markdown_blocks,  # noqa: F401
                     mark, math, rich, tex_blocks, text)
from .catalogue import CATALOGUE, expand
from .derivation import Derivation
from .derive import Gradients
from .functions import ACTIVATIONS
from .status import STATUSES, Status
from .stepprint import Latex
from .verdicts import Verdict
from .verify import DEFAULT_BUDGET, derive_within

PROVED, UP_TO, REFUTED, SHAPE, UNKNOWN = Status

# ---------------------------------------------------------------- content

@dataclass
class Entry:
    """One derivation with its derived gradients and its verdicts."""
    derivation: Derivation
    gradients: Gradients
    verdicts: list = field(default_factory=list)
    steps: list = field(default_factory=list)  # (steps.Step, [Verdict]) in the file's order
    replaced: dict = field(default_factory=dict)  # generic function -> the `activation` that replaced it

    @property
    def step_verdicts(self) -> list:
        return [v for _, vs in self.steps for v in vs]


def collect(sources, **options) -> list:
    """Load every source (files, folders, catalogue names, `Derivation`s;
    none: the catalogue), then verify each, as `entries` does."""
    return list(entries(sources, **options))


def entries(sources, *, activation: str | None = None, max_size: int | None = None,
            budget: float = DEFAULT_BUDGET, jobs: int = 1, cache: batch.Cache | None = None,
            progress=None, loaded=None):
    """An iterator over the report's entries, one a source.

    Every file is read first (so bad input stops the report before any
    work), then the files are checked as `gradproof verify` checks them
    (`batch.run`: `jobs` worker processes, started before this returns,
    and the verdict `cache`, None: none); a `Derivation` given as it is is
    checked in this process.  `loaded(derivation, replaced)` is called as
    each file is read, `progress(i, n, derivation)` before each is verified."""
    options = batch.Options(max_size, budget, activation)
    given = [s for s in sources if isinstance(s, Derivation)]
    paths = [s for s in sources if not isinstance(s, Derivation)]
    files = expand(paths) if paths or not given else []
    derivations, replaced = list(given), [{} for _ in given]
    for f in files:  # all bad input first
        d, r = batch.load_for(f, budget, activation)
        if loaded is not None:
            loaded(d, r)
        derivations.append(d)
        replaced.append(r)
    records = batch.run(files, options, jobs, cache)

    def each():
        for k, d in enumerate(derivations):
            if progress is not None:
                progress(k, len(derivations), d)
            record = next(records) if k >= len(given) else None
            if record is None or record.get("error") is not None:
                record = batch.check(d, options)
            yield entry(d, record, budget, replaced[k])
    return each()


def entry(d: Derivation, record: dict, budget: float, replaced: dict | None = None) -> Entry:
    """The report's entry of `d` from its record (`batch.check`): the
    verdicts with the claimed and derived forms to typeset."""
    g = derive_within(d, budget)
    verdicts = [Verdict.from_dict(r) for r in record["claims"]]
    for v in verdicts:
        v.claim_expr = d.claims[v.name or v.wrt].expr if (v.name or v.wrt) in d.claims else None
        v.derived_expr = g.closed.get(v.wrt) if g is not None and v.derived else None
    e = Entry(d, g or Gradients(d, [], {}), verdicts, replaced=replaced or {})
    if d.steps:
        e.steps = group_steps(d.steps, [Verdict.from_dict(r) for r in record["steps"]])
    return e


def blocks(entries: list, notation: T.Notation | None = None) -> list:
    """The whole report as blocks: a summary, then a section per derivation."""
    verdicts = [v for e in entries for v in e.verdicts]
    out = [Heading(1, [text("gradproof report")]), Para([text(summary(verdicts, len(entries)))])]
    parts = [v for e in entries for v in e.step_verdicts]
    if parts:
        out.append(Para([text(steps_summary(parts, sum(1 for e in entries if e.steps)))]))
    if verdicts:
        rows = [[[text(e.derivation.name)], [math(rf"\partial J / \partial {T.name_tex(v.wrt)}")],
                 [mark(v.status), text(" " + v.headline())]] for e in entries for v in e.verdicts]
        out.append(Table([[text("derivation")], [text("claim")], [text("verdict")]], rows))
    if parts:
        out.append(steps_table(entries))
    for e in entries:
        out += section(e, notation)
    return out


def summary(verdicts: list, files: int) -> str:
    return f"{len(verdicts)} claims in {files} derivation{'s' if files != 1 else ''}: {tally(verdicts)}."


def tally(verdicts: list) -> str:
    """`76 proved for every size, 5 refuted` (the statuses that occur), or `none`."""
    counts = [(sum(v.status == s for v in verdicts), s) for s in STATUSES]
    return ", ".join(f"{n} {LABELS[s][n != 1]}" for n, s in counts if n) or "none"


LABELS = {PROVED: ("proved for every size",) * 2, UP_TO: ("proved up to a size",) * 2,
          REFUTED: ("refuted",) * 2, SHAPE: ("shape error", "shape errors"), UNKNOWN: ("unknown",) * 2}


def section(e: Entry, notation: T.Notation | None = None) -> list:
    d, g = e.derivation, e.gradients
    p = T.printer_for(d, notation)
    out = [Heading(2, [text(f"{d.name}: {d.title}")])]
    out += describe(d, p)
    steps = [T.backward_equation(p, d, n, x) for n, x in g.steps]
    if not steps:
        out.append(Para([text("The backward pass did not finish within the budget.")]))
        return out + [b for v in e.verdicts for b in claim_blocks(v, d, p)]
    out += [Para([text("The backward pass, derived by the rule table:")]), Display(T.aligned(steps))]
    if not e.verdicts:
        closed = [T.gradient_equation(p, d.inputs[n], x) for n, x in g.closed.items()]
        out += [Para([text("No claims. The closed forms:")]), Display(T.aligned(closed))]
    for v in e.verdicts:
        out += claim_blocks(v, d, p)
    if e.steps:
        out += steps_blocks(e)
    return out


def describe(d: Derivation, p: T.Printer) -> list:
    """Where the derivation comes from, its inputs, forward formulas, functions
    and objective."""
    where = [code(display_path(d.path))] + ([text(f" ({d.source})")] if d.source else [])
    out = [Para([text("File ")] + where + [text(".")])]
    out.append(Para([text("Inputs "), math(T.inputs_tex(d)), text("; the forward pass:")]))
    out.append(Display(T.aligned(T.forward_lines(d, p))))
    parts = []
    for name, impl in d.functions.items():
        f = math(T.name_tex(name))
        if impl is None:
            parts += [f, text(" is any differentiable function, applied elementwise; ")]
        else:
            parts += [f, text(f" is {impl}, "), code(ACTIVATIONS[impl].formula), text(", elementwise; ")]
    objective = "the output is the loss" if d.upstream is None else "the upstream gradient comes from above"
    out.append(Para(parts + [math(T.objective_tex(d, p)), text(f" ({objective}).")]))
    return out


def display_path(path) -> str:
    """`path` relative to the working folder, or to the catalogue's parent
    for a bundled file, so a report does not depend on where it was made."""
    path = Path(path).resolve()
    root = next((r for r in (Path.cwd(), CATALOGUE.parent) if path.is_relative_to(r)), None)
    return (path if root is None else path.relative_to(root)).as_posix()


def claim_blocks(v: Verdict, d: Derivation | None = None, p: T.Printer | None = None) -> list:
    """A claim beside the derived form, its verdict, evidence, likely
    mistake and counterexample."""
    p = p or T.Printer()
    out = [Heading(3, [mark(v.status), text(" "), math(rf"\partial J / \partial {T.name_tex(v.wrt)}"),
                       text(f": {v.headline()}")])]
    claimed = T.claim_equation(p, v.wrt, v.claim_expr, v.text)
    if v.claim_expr is not None:
        claimed += rf" \in {T.shape_tex(v.claim_expr.shape)}"
    rows = [[[text("claimed")], [math(claimed)]], [[text("written")], [code(v.text)]]]
    if v.derived_expr is not None:
        derived = T.claim_equation(p, v.wrt, v.derived_expr) + rf" \in {T.shape_tex(v.derived_expr.shape)}"
        rows.append([[text("derived")], [math(derived)]])
    out.append(Table([[text("")], [text("")]], rows, wide=1))
    out.append(Para([text("Evidence: ")] + rich(v.detail or v.headline()) + [text(".")]))
    if v.repair is not None:
        out.append(Para(repair_parts(v, d, p)))
    if v.counterexample is not None:
        out += counterexample_blocks(v)
    return out


def repair_parts(v: Verdict, d: Derivation | None, p: T.Printer) -> list:
    parts = [text("Likely mistake: ")] + rich(v.repair.describe()) + [text("; then the claim reads ")]
    fixed = None
    if d is not None:
        try:
            fixed = d.parser().parse(v.repair.text)
        except (ValueError, E.ShapeError):
            fixed = None
    parts.append(math(T.claim_equation(p, v.wrt, fixed)) if fixed is not None else code(v.repair.text))
    return parts + [text(f", {v.repair.proof_text()}.")]


def counterexample_at(where: list, functions: list, exact: bool) -> Para:
    """`Counterexample at n = 2, k = 1, with g(t) = ... (exact rational arithmetic):`."""
    parts = [text("Counterexample at "), math(r",\ ".join(where)) if where else text("every dim 1")]
    for fn in functions:
        parts += [text(", with "), math(fn)]
    how = "exact rational arithmetic" if exact else "50-digit arithmetic, shown to 20 digits"
    return Para(parts + [text(f" ({how}):")])


def counterexample_blocks(v: Verdict) -> list:
    c = v.counterexample
    roles = {x.name: x.role for e in (v.claim_expr, v.derived_expr) if e is not None
             for x in E.walk(e) if isinstance(x, E.Var)}
    point = r",\quad ".join(f"{T.name_tex(n, roles.get(n, 'input'))} = {T.matrix_tex(m)}"
                            for n, m in c.point.items())
    values = (rf"\underbrace{{{T.matrix_tex(c.claim_value)}}}_{{\text{{claimed}}}} \neq "
              rf"\underbrace{{{T.matrix_tex(c.true_value)}}}_{{\text{{true gradient}}}}")
    sizes = [f"{T.name_tex(k)} = {n}" for k, n in c.sizes.items()]
    lhs = T.partial(T.name_tex(v.wrt))
    return [counterexample_at(sizes, function_tex(c), c.exact), Display(point), Display(f"{lhs} : \\quad {values}")]


def function_tex(c) -> list:
    """`g(t) = 1 + 3t - 2t^{2} + t^{3}` for each generic function of a
    counterexample, from its stand-in's coefficients."""
    return [f"{T.name_tex(g)}(t) = {polynomial_tex(cs)}" for g, cs in c.functions.items()]


def polynomial_tex(coeffs) -> str:
    out = ""  # each term with its sign: ` + 3t - 2t^{2}`
    for k, c in enumerate(coeffs):
        if c != 0:
            power = "" if k == 0 else "t" if k == 1 else f"t^{{{k}}}"
            out += (" - " if c < 0 else " + ") + (f"{abs(c)}" if k == 0 or abs(c) != 1 else "") + power
    if not out:
        return "0"
    return ("-" if out.startswith(" - ") else "") + out[3:]


# ---------------------------------------------------------------- steps

def group_steps(steps: list, results: list) -> list:
    """Each step with its verdicts: `check_steps` gives them in the file's
    order, one run of parts per step."""
    out, k = [], 0
    for step in steps:
        mine = []
        while (k < len(results) and str(results[k].place) == step.place and results[k].place.part in step.parts
               and all(v.place.part != results[k].place.part for v in mine)):
            mine.append(results[k])
            k += 1
        out.append((step, mine))
    if k != len(results):
        raise ValueError(f"{len(results) - k} step verdicts match no step, from {results[k]!r}")
    return out


def steps_summary(results: list, files: int | None = None) -> str:
    """`86 step parts in 5 derivations: 76 proved for every size, 5 refuted,
    5 shape errors; 10 wrong as the files expect.`"""
    where = "" if files is None else f" in {files} derivation{'s' if files != 1 else ''}"
    out = f"{len(results)} step parts{where}: {tally(results)}"
    expected = sum(1 for v in results if v.place.expected is not None and v.ok)
    off = sum(1 for v in results if not v.ok)
    if expected:
        out += f"; {expected} wrong as the {'file expects' if files in (None, 1) else 'files expect'}"
    if off:
        out += f"; {off} neither proved nor as expected"
    return out + "."


def steps_table(entries: list) -> Table:
    """Per derivation with steps: how many parts hold, how many are wrong
    as its file expects, how many neither."""
    rows = []
    for e in entries:
        if e.steps:
            vs = e.step_verdicts
            held = sum(1 for v in vs if v.proved and v.ok)
            expected = sum(1 for v in vs if v.place.expected is not None and v.ok)
            cells = [e.derivation.name, len(e.steps), len(vs), held, expected, len(vs) - held - expected]
            rows.append([[text(str(x))] for x in cells])
    header = ["derivation", "steps", "parts", "proved", "wrong, as expected", "unexpected"]
    return Table([[text(h)] for h in header], rows)


def steps_blocks(e: Entry) -> list:
    """The steps of one file, each as written with a verdict per part."""
    d = e.derivation
    parts = (rich(steps_summary(e.step_verdicts)[:-1] + ". Parts: `link1`, `link2`, ... are the equalities from left "
                  "to right, `label1`, ... the dimension labels and ") + [math(r"\in")]
             + rich(" claims in reading order, `ends` the first member against the last (checked when a link fails)."))
    out = [Heading(3, [text("Steps, by section and equation")]), Para(parts)]
    for step, vs in e.steps:
        out += step_blocks(step, vs, d)
    return out


def step_blocks(step, vs: list, d: Derivation) -> list:
    """A step as written, a table of its parts (mark, verdict, evidence),
    then for each part that fails: the right form, the likely mistake and
    the counterexample."""
    typeset = getattr(step, "syntax", "latex") == "latex"  # else plain text, shown as written
    out = [Heading(4, [mark(worst(vs)), text(f" Section {step.section}, equation {step.eq}")])]
    if step.note:
        out.append(Para([text("Reading: ")] + rich(step.note.rstrip(".")) + [text(".")]))
    if step.written:
        out += [Para([text("The notes write:")]), Verbatim(step.written, "tex")]
    out.append(step_display(step) if typeset else Verbatim(step.latex))
    rows = [[[mark(v.status)], [code(v.place.part)], verdict_parts(v), prose(v.detail, d, typeset)] for v in vs]
    out.append(Table([[text("")], [text("part")], [text("verdict")], [text("evidence")]], rows,
                     widths={2: 0.32, 3: 0.44}))
    shown = set()  # right forms already given in this step
    for v in vs:
        if not (v.proved and v.ok):
            out += part_blocks(v, d, typeset, shown)
    return out


def worst(vs: list) -> str:
    return next((s for s in (SHAPE, REFUTED, UNKNOWN, UP_TO) if any(v.status == s for v in vs)), PROVED)


def verdict_parts(v) -> list:
    if v.place.expected is None:
        return [text(v.headline())]
    if v.ok:
        return [text(v.headline() + ", as the file expects")]
    return [text(f"{v.headline()}, NOT as the file expects ({LABELS[v.place.expected][0]})")]


def step_display(step) -> Display:
    r"""The step's LaTeX as written; a chain of more than one link `A = B = C`
    one member a line, each line tagged with the link that ends on it."""
    src, members = step.latex, getattr(step.tree, "members", ())
    if (len(members) < 3 or getattr(step.tree, "cases", False)
            or any(src[a.end:b.pos].strip() != "=" for a, b in zip(members, members[1:]))):
        return Display(src)
    pieces = [src[:members[0].end]] + [src[m.pos:m.end] for m in members[1:-1]] + [src[members[-1].pos:]]
    lines = [f"{pieces[0]} &= {pieces[1]}"] + [f"&= {x}" for x in pieces[2:]]
    lines = [f"{line} && \\text{{link{k + 1}}}" for k, line in enumerate(lines)]
    return Display(r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}")


def part_blocks(v, d: Derivation, typeset: bool, shown: set) -> list:
    """Under a part that fails: what it says, the right form (or that it is
    above: in `shown`, the step's right forms so far), the likely mistake,
    the counterexample."""
    what = [math(v.text) if typeset else code(v.text)] if v.place.kind != "equality" else []
    head = [mark(v.status), text(" "), code(v.place.part)] + ([text(" ")] + what if what else []) + [text(": ")]
    out = [Para(head + verdict_parts(v) + [text(".")])]
    if v.right in shown:
        out.append(Para([text("Right form: as above.")]))
    elif v.right:
        shown.add(v.right)
        forms = list(v.right)
        if typeset and v.place.kind == "label" and len(forms) == 1:
            out.append(Para([text("Right form: "), math(forms[0]), text(".")]))
        elif typeset:
            out += [Para([text("Right form:")]), Display(T.gathered(forms))]
        else:
            out += [Para([text("Right form:")]), Verbatim("\n".join(forms))]
    if v.repair:
        out.append(Para([text("Likely mistake: ")] + prose(v.repair.describe_step(), d, typeset) + [text(".")]))
    if v.counterexample is not None:
        out += step_counterexample_blocks(v, d)
    return out


def step_counterexample_blocks(v, d: Derivation) -> list:
    """A label's: the sizes and both shapes; an equality's: sizes, index
    values, the point and both sides' values."""
    c = v.counterexample
    where = [f"{T.name_tex(k)} = {n}" for k, n in c.sizes.items()]
    if v.place.kind == "label":
        at = [math(r",\ ".join(where))] if where else [text("every size")]
        return [Para([text("Counterexample at ")] + at + [
            text(": the expression is "), math(r" \times ".join(c.claim_value[0])),
            text(", the label says "), math(r" \times ".join(c.true_value[0])), text(".")])]
    where += [f"{k} = {n}" for k, n in c.indices.items()]
    out = [counterexample_at(where, function_tex(c), c.exact)]
    upstream = d.upstream.name if d.upstream is not None else None
    point = [f"{T.name_tex(n, 'upstream' if n == upstream else 'input')} = {T.matrix_tex(m)}"
             for n, m in c.point.items()]
    if point:
        out.append(Display(T.gathered([r",\quad ".join(point[k:k + 4]) for k in range(0, len(point), 4)])))
    out.append(Display(rf"\underbrace{{{T.matrix_tex(c.claim_value)}}}_{{\text{{left side}}}} \neq "
                       rf"\underbrace{{{T.matrix_tex(c.true_value)}}}_{{\text{{right side}}}}"))
    return out


_SHAPE = re.compile(r"\b(\w+) x (\w+)\b")
_MATH_COMMANDS = set(TP.SUPPORTED) | TP.IGNORED


def prose(s: str, d: Derivation, typeset: bool = True) -> list:
    """A verdict's text as parts: `W_{i,:}` spans as math (code when the step
    is plain text or the span is not plain LaTeX), `k x 1` as `k \\times 1`."""
    out = []
    for k, x in enumerate(s.split("`")):
        if not x:
            continue
        if k % 2:
            out.append(math(span_tex(x, d)) if typeset and is_math(x) else code(x))
            continue
        last = 0
        for m in _SHAPE.finditer(x):
            if all(w in d.dims or w.isdigit() for w in m.groups()):
                out += [text(x[last:m.start()]), math(rf"{m.group(1)} \times {m.group(2)}")]
                last = m.end()
        out.append(text(x[last:]))
    return [p for p in out if p[1]]


def is_math(s: str) -> bool:
    """Whether a span quoted in a verdict is LaTeX of the notes' grammar."""
    try:
        toks = TP.tokenize(s)
    except TP.TexError:
        return False
    depth = 0
    for ch in s:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return (depth == 0 and not set(s) & set("&|")  # `|` would end a Markdown table's cell
            and all(t.value in _MATH_COMMANDS for t in toks if t.kind == "cmd"))


def span_tex(s: str, d: Derivation) -> str:
    """A bare name in the notes' style (`yhat` as `\\hat{y}`), else the span."""
    return Latex(d).name(s) if re.fullmatch(r"[A-Za-z]+", s) else s


# ---------------------------------------------------------------- notebook pieces

def derivation_markdown(d: Derivation) -> str:
    """A derivation for a notebook: title, inputs, forward formulas, claims."""
    p = T.printer_for(d)
    out = [Heading(3, [text(d.title)])] + describe(d, p)
    if d.claims:
        lines = [T.claim_equation(p, c.wrt, c.expr, c.text) for c in d.claims.values()]
        out += [Para([text("Claims:")]), Display(T.aligned(lines))]
    return markdown_blocks(out)


def verdict_markdown(v: Verdict) -> str:
    """A verdict for a notebook: the claim beside the derived form, evidence,
    likely mistake, counterexample."""
    return markdown_blocks(claim_blocks(v))


def markdown(entries: list, notation: T.Notation | None = None) -> str:
    """The report as Markdown with `$...$` and `$$...$$` math."""
    return markdown_blocks(blocks(entries, notation))


def document(entries: list, notation: T.Notation | None = None) -> str:
    """The report as a complete LaTeX document for pdflatex (packages from
    Debian's texlive-latex-base only)."""
    return PREAMBLE + tex_blocks(blocks(entries, notation)) + "\n\\end{document}\n"


# ---------------------------------------------------------------- entry point

FORMATS = {"md": markdown, "tex": document}


def report(sources=(), format: str = "md", *, activation: str | None = None, max_size: int | None = None,
           budget: float = DEFAULT_BUDGET, notation: T.Notation | None = None, progress=None) -> str:
    """Verify `sources` (files, folders, catalogue names or `Derivation`s;
    none: the catalogue), check the steps of those that have `[[steps]]`,
    and write the report.

    Arguments:
        format: "md" (Markdown with `$` math) or "tex" (a complete LaTeX
            document for pdflatex).
        activation, max_size, budget: as for `gradproof verify`.
        notation: a `tex.Notation` for the formulas.

    Returns: the report's text.
    """
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {', '.join(map(repr, FORMATS))}, got {format!r}")
    found = collect(list(sources), activation=activation, max_size=max_size, budget=budget, progress=progress)
    return FORMATS[format](found, notation)
