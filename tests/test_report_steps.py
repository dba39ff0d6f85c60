"""Reports of the notes: every step as written, placed by section and
equation, a verdict per link and label with its evidence, expectation,
right form, likely mistake and typeset counterexample; KaTeX and pdflatex
accept what is emitted."""
import re

import numpy as np

from fixtures import number_from_tex
import pytest

from render_check import katex_errors, math_chunks, pdflatex
from symbolic.catalogue import CATALOGUE
from symbolic.cli import main
from symbolic.explicit import POLY
from symbolic.blocks import MARKS
from symbolic.report import collect, markdown, step_display, steps_summary

NOTES = CATALOGUE / "notes"


@pytest.fixture(scope="module")
def entries():
    return collect([NOTES])


@pytest.fixture(scope="module")
def md(entries):
    return markdown(entries)


def step_block(md: str, section: str, eq) -> str:
    head = re.search(rf"^#### . Section {section}, equation {eq}$", md, re.M)
    assert head, f"no heading for step {section}.{eq}"
    end = re.compile(r"^#{2,4} ", re.M).search(md, head.end())
    return md[head.start():end.start() if end else None]


def verdicts(entries, section, eq) -> dict:
    return {v.place.part: v for e in entries for step, vs in e.steps if step.place == f"{section}.{eq}" for v in vs}


def part_row(block: str, part: str) -> str:
    row = re.search(rf"^\| . \| `{part}` \|.*$", block, re.M)
    assert row, f"no row for {part}"
    return row.group(0)


def test_every_step_of_sections_i_to_v_is_placed_with_its_parts(entries, md):
    sections = {step.section for e in entries for step, _ in e.steps}
    assert sections == {"I", "II", "III", "IV", "V"}
    for e in entries:
        for step, vs in e.steps:
            assert [v.place.part for v in vs] == [p for p in step.parts if p != "ends" or p in {v.place.part for v in vs}]
            block = step_block(md, step.section, step.eq)
            for v in vs:
                row = part_row(block, v.place.part)
                assert row.startswith(f"| {MARKS[v.status][0]} |") and v.headline() in row


def test_section_v_wrong_sum_row_and_labels(entries, md):
    eq2 = step_block(md, "V", 2)
    assert eq2.startswith("#### ✗ Section V, equation 2")
    assert "| refuted, as the file expects | the two sides differ at the point shown |" in part_row(eq2, "link2")
    row = part_row(eq2, "link4")
    assert "| shape error, as the file expects |" in row and r"(in $W_{i,:}$)" in row
    assert r"Likely mistake: $W_{i,:}$ should be $W_{:,i}$." in eq2
    assert r"\frac{\partial J}{\partial x_{i}} = \sum_{j=1}^{k} W_{j,i} \, dY_{j} \, g'(z_{j})" in eq2  # the right form
    eq3 = step_block(md, "V", 3)
    vs = verdicts(entries, "V", 3)
    wrong = [p for p, v in vs.items() if p.startswith("label") and v.status == "refuted"]
    assert wrong == ["label1", "label2", "label4", "label5"]
    for part in wrong:
        assert "| refuted, as the file expects |" in part_row(eq3, part)
        assert f"✗ `{part}` ${vs[part].text}$: refuted, as the file expects." in eq3
    assert r"| $W_{1,:}^T$ is $n \times 1$, not $1 \times n$ |" in part_row(eq3, "label1")
    assert r"Right form: $W_{1,:}^T \in \mathbb{R}^{n}$." in eq3
    for part in ("label3", "ends"):
        assert "| proved for every size |" in part_row(eq3, part)


def test_a_refuted_label_shows_the_sizes_where_the_shapes_differ(entries, md):
    """`\\overbrace{W_{1,:}^T}^{1 \\times n}`: the expression is n x 1; at the
    sizes shown the two shapes differ, as typeset."""
    v = verdicts(entries, "V", 3)["label1"]
    c = v.counterexample
    n = c.sizes["n"]
    at = r",\ ".join(f"{k} = {s}" for k, s in c.sizes.items())
    line = f"Counterexample at ${at}$: the expression is ${n} \\times 1$, the label says $1 \\times {n}$."
    assert line in step_block(md, "V", 3)
    assert n != 1


def test_the_typeset_counterexample_of_the_wrong_sum_holds_when_recomputed(md):
    """Read the sizes, index, point and both values of V.2 link2 back from
    the report and recompute both sides with exact fractions:
    sum_j g'(z_j) W_ji against <dY * g'(z), W_{:,i}>, g the stand-in polynomial."""
    eq2 = step_block(md, "V", 2)
    tail = eq2[eq2.index("✗ `link2`"):]
    where = dict(re.findall(r"(\w) = (\d+)", re.search(r"Counterexample at \$(.*?)\$", tail).group(1)))
    point_tex = re.search(r"\$\$\n(W = .*?)\n\$\$", tail, re.S).group(1)
    point = {name: _matrix(value) for name, value in
             re.findall(r"(\w+) = ((?:-?\\frac\{\d+\}\{\d+\}|-?\d+)|\\begin\{pmatrix\}.*?\\end\{pmatrix\})", point_tex)}
    left, right = [_matrix(x) for x in re.findall(r"\\underbrace\{(.*?)\}_\{\\text\{(?:left|right) side", tail)]
    W, x, b, dY = (point[k].reshape(-1, 1) if point[k].ndim < 2 else point[k] for k in ("W", "x", "b", "dY"))
    W = W.reshape(int(where["k"]), int(where["n"]))
    i = int(where["i"]) - 1
    g1 = np.vectorize(lambda t: sum(k * c * t ** (k - 1) for k, c in enumerate(POLY) if k))
    z = W @ x.reshape(-1, 1) + b.reshape(-1, 1)
    assert (sum(g1(z)[:, 0] * W[:, i]) == left).all()
    assert (sum(dY.reshape(-1) * g1(z)[:, 0] * W[:, i]) == right).all()
    assert (left != right).any()


def _matrix(tex: str):
    body = tex.strip().removeprefix(r"\begin{pmatrix}").removesuffix(r"\end{pmatrix}")
    return np.array([[number_from_tex(x) for x in row.split("&")] for row in body.split(r"\\")], dtype=object)




def test_a_step_is_displayed_as_written_one_member_a_line(entries):
    for e in entries:
        for step, _ in e.steps:
            tex = step_display(step).tex
            members = getattr(step.tree, "members", ())
            if len(members) < 3 or step.tree.cases:
                assert tex == step.latex
                continue
            assert tex.startswith(r"\begin{aligned} ") and tex.endswith(r" \end{aligned}")
            lines = tex.removeprefix(r"\begin{aligned} ").removesuffix(r" \end{aligned}").split(r" && ")
            tags = [re.match(r"\\text\{(link\d+)\}", x).group(1) for x in lines[1:]]
            assert tags == [f"link{k + 1}" for k in range(len(members) - 1)]
            written = re.sub(r" && \\text\{link\d+\}( \\\\ )?", " ", tex)
            written = written.removeprefix(r"\begin{aligned} ").removesuffix(r" \end{aligned}").replace("&=", "=")
            assert " ".join(written.split()) == step.latex


def test_the_summary_counts_step_parts(entries, md):
    parts = [v for e in entries for v in e.step_verdicts]
    assert steps_summary(parts, len(entries)) in md
    for status, label in (("refuted", "refuted"), ("shape-error", "shape error")):
        n = sum(v.status == status for v in parts)
        assert n and re.search(rf"\b{n} {label}", steps_summary(parts, len(entries)))
    table = {row.split(" | ")[0].strip("| "): row for row in md.splitlines() if re.match(r"\| section\\_\d \| \d", row)}
    for e in entries:
        held = sum(v.proved for v in e.step_verdicts)
        expected = sum(v.place.expected is not None for v in e.step_verdicts)
        name = e.derivation.name.replace("_", "\\_")
        assert table[name] == f"| {name} | {len(e.steps)} | {len(e.step_verdicts)} | {held} | {expected} | 0 |"
    assert "step parts" not in markdown(collect(["layer"]))


def test_a_verdict_that_is_not_the_expected_one_is_flagged(tmp_path):
    src = (NOTES / "section_5.toml").read_text()
    assert 'link2 = "refuted"' in src
    f = tmp_path / "section_5.toml"
    f.write_text(src.replace('link2 = "refuted"', 'link2 = "unknown"'))
    md = markdown(collect([f]))
    eq2 = step_block(md, "V", 2)
    assert "| refuted, NOT as the file expects (unknown) |" in part_row(eq2, "link2")
    assert "; 1 neither proved nor as expected." in md


def test_katex_accepts_every_step_string(md):
    steps = md[md.index("### Steps, by section and equation"):]
    items = list(dict.fromkeys(math_chunks(steps)))
    assert len(items) > 80 and any(r"\underbrace" in t for t, _ in items)
    errors = katex_errors(items)
    assert not errors, "\n".join(f"{t}\n  {msg}" for t, msg in errors)


def test_the_tex_report_of_the_notes_compiles(tmp_path, capsys):
    path = tmp_path / "notes.tex"
    assert main(["report", str(NOTES), "--format", "tex", "-o", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().err
    tex = path.read_text()
    assert r"\subsubsection*{\textcolor{wrong}{$\times$} Section V, equation 2}" in tex
    assert r"\underbrace{W^T}_{n \times k}" in tex and r"\begin{pmatrix}" in tex and r"\langle" in tex
    assert set(re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]*)\}", tex)) == {  # all in texlive-latex-base
        "inputenc", "amsmath,amssymb", "geometry", "longtable,array", "color,graphicx"}
    pdflatex(path)
    log = path.with_suffix(".log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)
