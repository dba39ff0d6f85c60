"""Reports: a refuted claim's section, the summary, escaping, the LaTeX
document compiled by pdflatex, and the `gradproof report` command."""
import re
from pathlib import Path

import numpy as np

from fixtures import number_from_tex
import pytest

from render_check import pdflatex
from symbolic import tex as T
from symbolic.cli import main
from symbolic.explicit import POLY
from symbolic.blocks import tex_text
from symbolic.report import collect, document, markdown, polynomial_tex, report

WRONG = Path(__file__).parent / "data" / "wrong_claims.toml"


@pytest.fixture(scope="module")
def entries():
    return collect([WRONG, "layer"])


def claim_section(md: str, wrt: str) -> str:
    start = md.index(rf"$\partial J / \partial {wrt}$:")
    end = md.find("\n### ", start)
    return md[start:end if end > 0 else None]


def verdict(entries, wrt):
    return next(v for v in entries[0].verdicts if v.wrt == wrt)


def test_summary_counts_every_verdict(entries):
    md = markdown(entries)
    assert "5 claims in 2 derivations: 2 proved for every size, 2 refuted, 1 shape error." in md
    assert md.count("| wrong\\_claims |") == 3 and md.count("| layer |") == 2


def test_a_refuted_claim_stands_beside_the_derived_form(entries):
    s = claim_section(markdown(entries), "W")
    assert s.startswith(r"$\partial J / \partial W$: refuted")
    assert (r"| claimed | $\frac{\partial J}{\partial W} = \left(dY \odot g(z)\right) x^{T} "
            r"\in \mathbb{R}^{k \times n}$ |") in s
    assert "| written | `(dY * g(z)) @ x.T` |" in s
    assert (r"| derived | $\frac{\partial J}{\partial W} = \left(dY \odot g'(z)\right) x^{T} "
            r"\in \mathbb{R}^{k \times n}$ |") in s
    assert "Evidence: the claim and the true gradient differ at the point shown." in s
    assert "Likely mistake: a function and its derivative confused: `g(z)` should be `g'(z)`" in s
    assert r"then the claim reads $\frac{\partial J}{\partial W} = \left(dY \odot g'(z)\right) x^{T}$" in s


def test_the_counterexample_is_typeset_from_the_verdict(entries):
    v = verdict(entries, "W")
    c = v.counterexample
    s = claim_section(markdown(entries), "W")
    sizes = r",\ ".join(f"{name} = {size}" for name, size in c.sizes.items())
    assert f"Counterexample at ${sizes}$, with $g(t) = t^{{2}}$ (exact rational arithmetic):" in s  # the simplest g first
    for name, value in c.point.items():
        assert f"{T.name_tex(name, 'upstream' if name == 'dY' else 'input')} = {T.matrix_tex(value)}" in s
    assert rf"\underbrace{{{T.matrix_tex(c.claim_value)}}}_{{\text{{claimed}}}} \neq" in s
    assert rf"\underbrace{{{T.matrix_tex(c.true_value)}}}_{{\text{{true gradient}}}}" in s


def test_the_typeset_counterexample_holds_when_recomputed(entries):
    """Read the point and both values back from the report's LaTeX and
    recompute both sides with exact fractions: the claim (dY * g(z)) @ x.T
    and the true gradient (dY * g'(z)) @ x.T, g the stand-in polynomial."""
    s = claim_section(markdown(entries), "W")
    point = dict(re.findall(r"(\w+) = ((?:-?\\frac\{\d+\}\{\d+\}|-?\d+)|\\begin\{pmatrix\}.*?\\end\{pmatrix\})", s))
    m = {name: _matrix(point[name]) for name in ("W", "x", "b", "dY")}
    claimed, true = [_matrix(x) for x in re.findall(r"\\underbrace\{(.*?)\}_\{\\text", s)]
    cs = verdict(entries, "W").counterexample.coefficients
    g = np.vectorize(lambda t: sum(c * t ** k for k, c in enumerate(cs)))
    g1 = np.vectorize(lambda t: sum(k * c * t ** (k - 1) for k, c in enumerate(cs) if k))
    z = m["W"] @ m["x"] + m["b"]
    assert (((m["dY"] * g(z)) @ m["x"].T) == claimed).all()
    assert (((m["dY"] * g1(z)) @ m["x"].T) == true).all()
    assert (claimed != true).any()


def _matrix(tex: str):
    body = tex.removeprefix(r"\begin{pmatrix}").removesuffix(r"\end{pmatrix}")
    rows = [[number_from_tex(x) for x in row.split("&")] for row in body.split(r"\\")]
    return np.array(rows, dtype=object)




def test_the_stand_in_polynomial_is_typeset_from_its_coefficients():
    assert polynomial_tex([1, 3, -2, 1]) == "1 + 3t - 2t^{2} + t^{3}"
    assert polynomial_tex([0, -1, 0, 5]) == "-t + 5t^{3}"
    assert polynomial_tex([0]) == "0"
    assert polynomial_tex(POLY) == "1 + 3t - 2t^{2} + t^{3}"  # the verifier's stand-in


def test_a_shape_error_shows_the_claim_as_written_and_the_right_form(entries):
    s = claim_section(markdown(entries), "x")
    assert s.startswith(r"$\partial J / \partial x$: shape error")
    assert r"| claimed | $\frac{\partial J}{\partial x} = \texttt{W @ (dY * g'(z))}$ |" in s
    assert r"\frac{\partial J}{\partial x} = W^{T} \left(dY \odot g'(z)\right) \in \mathbb{R}^{n}" in s
    assert "Evidence: `@` needs the inner sizes to agree, got (k, n) @ (k, 1)." in s
    assert "Counterexample" not in s


def test_a_section_has_the_forward_formulas_and_the_backward_pass(entries):
    md = markdown(entries)
    section = md[md.index("## wrong\\_claims"):md.index("## layer")]
    assert "File `tests/data/wrong_claims.toml` (deliberately wrong forms" in section
    assert r"$W \in \mathbb{R}^{k \times n},\ x \in \mathbb{R}^{n},\ b \in \mathbb{R}^{k}$" in section
    assert "$$\n" + r"\begin{aligned} z &= W x + b \\ \hat{y} &= g(z) \end{aligned}" + "\n$$" in section
    assert r"$g$ is any differentiable function, applied elementwise" in section
    assert r"J = \langle dY, \hat{y} \rangle" in section
    assert r"dz &= dY \odot g'(z)" in section


def test_a_scalar_loss_is_the_objective_itself():
    md = report(["layer_mse"])
    assert r"$J \in \mathbb{R}$ (the output is the loss)" in md
    assert r"J &= \frac{1}{2} \sum_{j=1}^{k} \left(\hat{y}_{j} - y_{j}\right)^{2}" in md


def test_notation_options_reach_the_report(entries):
    md = markdown(entries, T.Notation("circ", "top", "frac"))
    assert r"\circ" in md and r"^{\top}" in md and r"\frac{\partial J}{\partial \hat{y}} \circ g'(z)" in md
    assert r"\odot" not in md and "^{T}" not in md


def test_markdown_escapes_text():
    from symbolic.blocks import Para, markdown_blocks, text
    out = markdown_blocks([Para([text("a *b* _c_ [d] <e> | $5 #")])])
    assert out == "a \\*b\\* \\_c\\_ \\[d\\] \\<e\\> \\| \\$5 \\#\n"


def test_tex_text_escapes_specials_and_reduces_unicode():
    assert tex_text("50% & $5 #2 {x} a_b ~ ^ \\") == (
        r"50\% \& \$5 \#2 \{x\} a\_b \textasciitilde{} \textasciicircum{} \textbackslash{}")
    assert tex_text("R^n → R^k × ŷ, α, é, ǅ, 中") == (
        r"R\textsuperscript{n} $\to$ R\textsuperscript{k} $\times$ $\hat{y}$, $\alpha$, é, Dz, ?")
    assert tex_text("X in R^(n x m), |e|^2 ^ 2") == (
        r"X in R\textsuperscript{(n x m)}, \textbar{}e\textbar{}\textsuperscript{2} \textasciicircum{} 2")


def test_the_latex_document_compiles(tmp_path, entries):
    catalogue = collect([])
    path = tmp_path / "report.tex"
    path.write_text(document(entries + catalogue), encoding="utf-8")
    pdf = pdflatex(path)
    assert pdf.stat().st_size > 10_000
    log = path.with_suffix(".log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)
    tex = path.read_text()
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert r"\section*{wrong\_claims: A layer with three wrong claims: R\textsuperscript{n} $\to$" in tex


def test_a_title_full_of_specials_still_compiles(tmp_path):
    src = WRONG.read_text().replace(
        'title = "A layer with three wrong claims: R^n -> R^k"',
        'title = "50% of $cost & #2 {x} ~y^2 \\\\ <a> _b_ → ŷ × é α 中"')
    f = tmp_path / "odd_title.toml"
    f.write_text(src, encoding="utf-8")
    path = tmp_path / "odd.tex"
    path.write_text(report([f], "tex", budget=10), encoding="utf-8")
    assert pdflatex(path).exists()


def test_report_command_writes_markdown_and_tex(tmp_path, capsys):
    md, tex = tmp_path / "r.md", tmp_path / "r.tex"
    assert main(["report", str(WRONG), "--format", "md", "-o", str(md)]) == 1  # written; claims refuted
    assert main(["report", str(WRONG), "--format", "tex", "-o", str(tex), "--hadamard", "circ"]) == 1
    err = capsys.readouterr().err
    assert f"wrote {md}" in err and f"wrote {tex}" in err
    assert md.read_text().startswith("# gradproof report\n")
    assert r"\circ" in tex.read_text() and r"\odot" not in tex.read_text()


def test_report_command_to_stdout_and_its_errors(tmp_path, capsys):
    assert main(["report", str(WRONG)]) == 1
    assert "### ✗ $\\partial J / \\partial b$: refuted" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err
    assert main(["report", str(WRONG), "-o", str(tmp_path / "no" / "such" / "dir.md")]) == 2
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(ValueError, match="`format` must be one of 'md', 'tex', got 'pdf'"):
        report([WRONG], "pdf")
