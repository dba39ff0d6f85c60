"""Every LaTeX string the tool emits is accepted by KaTeX (throwOnError, strict).

The strings are generated from the catalogue and the tables, for every
notation option, so a new derivation, function or option is covered
without new code.  They are rendered in one Node process.
"""
import itertools
from pathlib import Path

import pytest

from render_check import katex_errors, math_chunks
from symbolic import catalogue_files, derive, load
from symbolic.functions import CALLABLE
from symbolic.report import collect, markdown
from symbolic.tex import OPTIONS, Notation, equations

WRONG = Path(__file__).parent / "data" / "wrong_claims.toml"


def notations():
    keys = ["hadamard", "transpose", "upstream"]
    for values in itertools.product(*(OPTIONS[k] for k in keys)):
        for index, expand in itertools.product([False, True], [True, False]):
            yield Notation(**dict(zip(keys, values)), index=index, expand=expand)


def emitted() -> list:
    """(tex, display, where) for everything `latex`, the reprs and the
    Markdown report produce."""
    out = []
    files = catalogue_files() + [WRONG]
    for f in files:
        d = load(f)
        g = derive(d)
        for notation in notations():
            for steps in (False, True):
                out += [(t, True, f"{f.name} {notation} steps={steps}")
                        for t in equations(g, steps=steps, notation=notation)]
        if d.generic:
            for act in CALLABLE:
                ga = derive(load(f, activation=act))
                for index in (False, True):
                    out += [(t, True, f"{f.name} activation={act}")
                            for t in equations(ga, steps=True, notation=Notation(index=index))]
        out += [(t, dm, f"{f.name} Derivation._repr_markdown_") for t, dm in math_chunks(d._repr_markdown_())]
        out += [(t, dm, f"{f.name} Derivation._repr_latex_") for t, dm in math_chunks(d._repr_latex_())]
        out += [(t, dm, f"{f.name} Gradients._repr_latex_") for t, dm in math_chunks(g._repr_latex_())]
    entries = collect(files, budget=10)
    for e in entries:
        for v in e.verdicts:
            out += [(t, dm, f"{v.path} {v.wrt} Verdict._repr_latex_") for t, dm in math_chunks(v._repr_latex_())]
            out += [(t, dm, f"{v.path} {v.wrt} Verdict._repr_markdown_")
                    for t, dm in math_chunks(v._repr_markdown_())]
    for notation in [Notation(), Notation("circ", "top", "frac")]:
        out += [(t, dm, f"report {notation}") for t, dm in math_chunks(markdown(entries, notation))]
    return out


def test_katex_accepts_every_string_the_tool_emits():
    items = emitted()
    unique = {}
    for tex, display, where in items:
        unique.setdefault((tex, display), where)
    assert len(unique) > 500  # the catalogue under every option, the reprs, the reports
    errors = katex_errors(list(unique))
    where = {tex: w for (tex, _), w in unique.items()}
    assert not errors, "\n".join(f"{where[t]}: {t}\n  {msg}" for t, msg in errors)


def test_the_renderer_refuses_what_it_should():
    # the check is real: KaTeX in strict mode refuses broken or non-standard input
    bad = [(r"\frac{a}", True), (r"\notacommand x", False), (r"x^{T}^{2}", True), ("é", False)]
    errors = katex_errors(bad + [(r"\left(dY \odot g'(z)\right) x^{T}", True)])
    assert [t for t, _ in errors] == [t for t, _ in bad]


@pytest.mark.parametrize("tex", [r"\mathbb{R}^{k \times n}", r"\operatorname{ReLU}(z)", r"\sigma'(z)"])
def test_the_spellings_render_inline(tex):
    assert not katex_errors([(tex, False)])


def test_a_missing_renderer_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    import render_check
    monkeypatch.setattr(render_check.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="node is not installed"):
        katex_errors([("x", False)])
    with pytest.raises(pytest.fail.Exception, match="pdflatex"):
        render_check.pdflatex(tmp_path / "r.tex")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        katex_errors([("x", False)])
