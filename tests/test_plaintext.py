"""Steps in plain text: the same trees, and the same verdicts, as the same steps in LaTeX."""
from fractions import Fraction
from pathlib import Path

import pytest

from symbolic import load
from symbolic.cli import main
from symbolic.plaintext import PlainError, parse_expression, parse_statement
from symbolic.load import DerivationError
from symbolic.steps import check_steps

from fixtures import LAYER
from symbolic.steptree import Ix, Pattern, Scope, substitute_index
from symbolic.texparse import parse_expression as tex_expression
from symbolic.texparse import parse_statement as tex_statement

DATA = Path(__file__).parent / "data"
NOTES = Path(__file__).parent.parent / "derivations" / "notes"

SCOPE = Scope(frozenset({"g"}), frozenset({"n", "k"}),
              frozenset({"W", "x", "b", "z", "yhat", "dY", "J", "w"}))



def layer(tmp_path, *steps):
    """A layer file with the steps (key, source): key `latex` or `text`."""
    body = LAYER
    for n, (key, source) in enumerate(steps):
        body += f"\n[[steps]]\nsection = \"T\"\neq = {n + 1}\n{key} = '''{source}'''\n"
    path = tmp_path / "steps.toml"
    path.write_text(body)
    return load(path)


def both(tmp_path, latex, text):
    """The verdicts of one step written both ways: ({part: verdict} in LaTeX, in text)."""
    d = layer(tmp_path, ("latex", latex), ("text", text))
    out = ({}, {})
    for v in check_steps(d, max_size=2):
        out[int(v.place.eq) - 1][v.place.part] = v
    return out


def statuses(parts: dict) -> dict:
    return {k: v.status for k, v in parts.items()}


# ---------------------------------------------------------------- the trees of the LaTeX grammar

@pytest.mark.parametrize("text, latex", [
    ("W[j, i]", "W_{j,i}"),
    ("W[:, i]", "W_{:,i}"),  # a column
    ("W[i, :]", "W_{i,:}"),  # a row
    ("W[i]", "W_i"),  # one index on a matrix: its row
    ("x[1]", "x_1"),
    ("W[1, :].T", "W_{1,:}^T"),
    ("W.T @ (dY * g'(z))", r"W^T \cdot dY \odot g'(z)"),
    ("(dY * g'(z)) @ x.T", r"dY \odot g'(z) \cdot x^T"),
    ("sum(g'(z[j]) * W[j, i], j=1..k)", r"\sum_{j=1}^{k} g'(z_j) \odot W_{j,i}"),
    ("sum(W[i, j] @ x[j], j=1..n) + b[i]", r"\sum_{j=1}^{n} W_{i,j} x_j + b_i"),
    ("<dY * g'(z), W[:, i]>", r"\langle dY \odot g'(z), W_{:,i} \rangle"),
    ("d(yhat)/d(z)", r"\frac{\partial \hat{y}}{\partial z}"),
    ("d(z[i])/d(W[i, j])", r"\frac{\partial z_i}{\partial W_{i,j}}"),
    ("d(J)/d(x[i])", r"\frac{\partial J}{\partial x_i}"),
    ("d(J)/d(W[1, :])", r"\nabla_J(W_{1,:})"),
    ('label(dY, "k x 1")', r"\underbrace{dY}_{k \times 1}"),
    ('label(g\'(z), "scalar")', r"\underbrace{g'(z)}_{1}"),
    ("label(W @ x + b, z)", r"\underbrace{W \cdot x + b}_z"),
    ("sigmoid(z) ** 2 - g''(z)", r"\sigma(z)^{2} - g''(z)"),
    ("-(x[1] / 2)", r"-\frac{x_1}{2}"),
    ("col(x[1], x[2])", r"\begin{pmatrix} x_1 \\ x_2 \end{pmatrix}"),
])
def test_plain_text_reads_into_the_tree_of_the_same_latex(text, latex):
    assert parse_expression(text, SCOPE) == tex_expression(latex, SCOPE)


@pytest.mark.parametrize("text, latex", [
    ("d(z[i])/d(b[i]) = 1 for i=1..k", r"\frac{\partial z_i}{\partial b_i} = 1 \rightarrow \forall i=1, \dots, k"),
    ('x, w, b in "scalar"', r"x, w, b \in \mathbb{R}"),
    ('d(J)/d(b) = dY * g\'(z) in "k x 1"', r"\frac{\partial J}{\partial b} = dY \odot g'(z) \in \mathbb{R}^k"),
    ('W in "k x n"', r"W \in \mathbb{R}^{k \times n}"),
])
def test_statements_read_into_the_tree_of_the_same_latex(text, latex):
    assert parse_statement(text, SCOPE) == tex_statement(latex, SCOPE)


@pytest.mark.parametrize("text, latex", [
    ("col(dY[i] * g'(z[i]), i=1..k)", r"\begin{pmatrix} dY_1 \odot g'(z_1) \\ \vdots \\ dY_k \odot g'(z_k) \end{pmatrix}"),
    ("row(w[j], j=1..n)", r"(w_1, \dots, w_n)"),
    ("matrix(W[i, j], i=1..k, j=1..n)",
     r"\begin{pmatrix} W_{1,1} & \dots & W_{1,n} \\ \vdots & \ddots & \vdots \\ W_{k,1} & \dots & W_{k,n} \end{pmatrix}"),
])
def test_vectors_by_their_general_entry_are_the_patterns_the_latex_dots_give(text, latex):
    plain, tex = parse_expression(text, SCOPE), tex_expression(latex, SCOPE)
    assert isinstance(plain, Pattern) and isinstance(tex, Pattern)
    template = tex.template
    for mine, theirs in ((plain.rows, tex.rows), (plain.cols, tex.cols)):
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine[1:] == theirs[1:]  # the same bounds
            template = substitute_index(template, theirs[0], Ix("var", mine[0]))
    assert plain.template == template


def test_star_and_at_bind_alike_left_to_right_as_in_numpy(tmp_path):
    # `\odot` binds tighter than `\cdot` in the notes; in the plain text, as in NumPy, `W.T @ dY * g'(z)`
    # is `(W.T @ dY) * g'(z)`: the parentheses are needed, and without them the shapes do not meet
    assert parse_expression("W.T @ dY * g'(z)", SCOPE) == tex_expression(r"\left(W^T \cdot dY\right) \odot g'(z)",
                                                                          SCOPE)
    lat, txt = both(tmp_path, r"\frac{\partial J}{\partial x} = W^T \cdot dY \odot g'(z)",
                    "d(J)/d(x) = W.T @ dY * g'(z)")
    assert statuses(lat) == {"link1": "proved"} and statuses(txt) == {"link1": "shape-error"}
    assert "n x 1 and k x 1" in txt["link1"].detail


# ---------------------------------------------------------------- the same verdicts as in LaTeX

SAME = [
    # slices
    ("row slice", r"\nabla_J(W_{i,:}) = dY_i \cdot g'(z_i) \cdot x^T",
     "d(J)/d(W[i, :]) = dY[i] * g'(z[i]) * x.T", {"link1": "proved"}),
    ("column slice", r"\frac{\partial J}{\partial x_i} = W_{:,i}^T \cdot dY \odot g'(z)",
     "d(J)/d(x[i]) = W[:, i].T @ (dY * g'(z))", {"link1": "proved"}),
    ("a row for a column", r"\frac{\partial J}{\partial x_i} = W_{i,:}^T \cdot dY \odot g'(z)",
     "d(J)/d(x[i]) = W[i, :].T @ (dY * g'(z))", {"link1": "shape-error"}),
    # sums with their bounds
    ("sum", r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{k} dY_j \cdot g'(z_j) \cdot W_{j,i}",
     "d(J)/d(x[i]) = sum(dY[j] * g'(z[j]) * W[j, i], j=1..k)", {"link1": "proved"}),
    ("sum of a forward step", r"z_i = \sum_{j=1}^{n} W_{i,j} x_j + b_i",
     "z[i] = sum(W[i, j] * x[j], j=1..n) + b[i]", {"link1": "proved"}),
    ("sum over the wrong range", r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{n} dY_j \cdot g'(z_j) \cdot W_{j,i}",
     "d(J)/d(x[i]) = sum(dY[j] * g'(z[j]) * W[j, i], j=1..n)", {"link1": "shape-error"}),
    ("sum missing a factor", r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{k} g'(z_j) \cdot W_{j,i}",
     "d(J)/d(x[i]) = sum(g'(z[j]) * W[j, i], j=1..k)", {"link1": "refuted"}),
    # inner products
    ("inner product", r"\frac{\partial J}{\partial x_i} = \langle dY \odot g'(z), W_{:,i} \rangle",
     "d(J)/d(x[i]) = <dY * g'(z), W[:, i]>", {"link1": "proved"}),
    ("inner product missing a factor", r"\frac{\partial J}{\partial x_i} = \langle dY, W_{:,i} \rangle",
     "d(J)/d(x[i]) = <dY, W[:, i]>", {"link1": "refuted"}),
    ("inner product of unequal shapes", r"\langle x, b \rangle = 1", "<x, b> = 1", {"link1": "shape-error"}),
    # partials of intermediates and of entries
    ("by an intermediate", r"\frac{\partial J}{\partial z} = dY \odot g'(z)", "d(J)/d(z) = dY * g'(z)",
     {"link1": "proved"}),
    ("by the output", r"\frac{\partial J}{\partial \hat{y}} = dY", "d(J)/d(yhat) = dY", {"link1": "proved"}),
    ("a full Jacobian", r"\frac{\partial z}{\partial x} = W", "d(z)/d(x) = W", {"link1": "proved"}),
    ("an entry by an entry", r"\frac{\partial z_i}{\partial W_{i,j}} = x_j", "d(z[i])/d(W[i, j]) = x[j]",
     {"link1": "proved"}),
    ("an entry by another entry", r"\frac{\partial z_i}{\partial b_j} = 1", "d(z[i])/d(b[j]) = 1",
     {"link1": "refuted"}),
    ("for every i", r"\frac{\partial z_i}{\partial b_i} = 1 \rightarrow \forall i=1, \dots, k",
     "d(z[i])/d(b[i]) = 1 for i=1..k", {"link1": "proved"}),
    # the Jacobian of an elementwise map is the vector of its diagonal
    ("diagonal", r"\overbrace{\frac{\partial \hat{y}}{\partial z}}^{k \times 1} = g'(z)",
     'label(d(yhat)/d(z), "k x 1") = g\'(z)', {"link1": "proved", "label1": "proved"}),
    ("diagonal labelled square", r"\overbrace{\frac{\partial z}{\partial b}}^{k \times k} \odot dY = dY",
     'label(d(z)/d(b), "k x k") * dY = dY', {"link1": "proved", "label1": "refuted"}),
    ("diagonal times a vector", r"\frac{\partial J}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z} "
                                r"\frac{\partial z}{\partial b} = dY \odot g'(z)",
     "d(J)/d(yhat) @ d(yhat)/d(z) @ d(z)/d(b) = dY * g'(z)", {"link1": "proved"}),
    ("a full Jacobian times a vector", r"\frac{\partial z}{\partial x} dY = dY", "d(z)/d(x) @ dY = dY",
     {"link1": "shape-error"}),
    # dimension labels
    ("labels", r"\underbrace{W^T}_{n \times k} \cdot \underbrace{dY}_{k \times n} \odot "
               r"\underbrace{g'(z)}_{k \times 1} \in \mathbb{R}^n",
     'label(W.T, "n x k") @ (label(dY, "k x n") * label(g\'(z), "k x 1")) in "n x 1"',
     {"label1": "proved", "label2": "refuted", "label3": "proved", "label4": "proved"}),
    ("a shape claim", r"x, b \in \mathbb{R}^{n}", 'x, b in "n x 1"', {"label1": "proved", "label2": "refuted"}),
    ("a label that cannot be formed", r"\overbrace{W \cdot dY}^{k \times 1} \in \mathbb{R}^k",
     'label(W @ dY, "k x 1") in "k x 1"', {"label1": "shape-error", "label2": "shape-error"}),
    ("a label that names a value", r"\hat{y} = g(\underbrace{W \cdot x}_z)", "yhat = g(label(W @ x, z))",
     {"link1": "refuted", "label1": "refuted"}),
    # a chain with a wrong link
    ("chain", r"\frac{\partial J}{\partial b} = dY \odot \hat{y} = dY \odot g'(z)",
     "d(J)/d(b) = dY * yhat = dY * g'(z)", {"link1": "refuted", "link2": "refuted", "ends": "proved"}),
    # vectors by their general entry
    ("a column by its entries", r"\frac{\partial J}{\partial b} = \begin{pmatrix} dY_1 \cdot g'(z_1) \\ \vdots \\ "
                                r"dY_k \cdot g'(z_k) \end{pmatrix}",
     "d(J)/d(b) = col(dY[i] * g'(z[i]), i=1..k)", {"link1": "proved"}),
]


@pytest.mark.parametrize("latex, text, expected", [s[1:] for s in SAME], ids=[s[0] for s in SAME])
def test_a_plain_step_gets_the_verdicts_of_the_same_latex_step(tmp_path, latex, text, expected):
    lat, txt = both(tmp_path, latex, text)
    assert statuses(txt) == statuses(lat) == expected
    for v in txt.values():
        assert v.detail  # every verdict says why
        if v.status == "refuted":
            assert v.counterexample is not None


def test_a_refuted_sum_has_a_counterexample_that_holds(tmp_path):
    lat, txt = both(tmp_path, r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{k} g'(z_j) \cdot W_{j,i}",
                    "d(J)/d(x[i]) = sum(g'(z[j]) * W[j, i], j=1..k)")
    c = txt["link1"].counterexample
    assert c.to_dict() == lat["link1"].counterexample.to_dict()

    def g_prime(t):  # the stand-in g(t) = 1 + 3t - 2t^2 + t^3, differentiated by hand
        return 3 - 4 * t + 3 * t * t

    assert c.function.startswith("g(t) = 1 + 3*t - 2*t**2 + t**3")
    val = {name: [[Fraction(x) for x in row] for row in m] for name, m in c.point.items()}
    k, n, i = c.sizes["k"], c.sizes["n"], c.indices["i"] - 1
    z = [sum(val["W"][r][s] * val["x"][s][0] for s in range(n)) + val["b"][r][0] for r in range(k)]
    true = sum(val["dY"][r][0] * g_prime(z[r]) * val["W"][r][i] for r in range(k))
    claimed = sum(g_prime(z[r]) * val["W"][r][i] for r in range(k))
    assert Fraction(c.claim_value[0][0]) == true and Fraction(c.true_value[0][0]) == claimed and true != claimed


def test_a_wrong_plain_step_is_explained_in_plain_text_that_holds(tmp_path):
    _, txt = both(tmp_path, "x = x", "d(J)/d(x[i]) = W[i, :].T @ (dY * g'(z))")
    v = txt["link1"]
    assert v.repair.describe_step() == "`W[i, :]` should be `W[:, i]`"
    assert v.repair.kind == "indices" and v.repair.text == "d(J)/d(x[i]) = W[:, i].T @ (dY * g'(z))"
    assert v.right == ("d(J)/d(x[i]) = sum(W[j, i] * dY[j] * g'(z[j]), j=1..k)",)
    _, txt = both(tmp_path, "x = x", 'label(dY, "k x n") = dY')
    assert txt["label1"].right == ('dY in "k x 1"',)
    _, txt = both(tmp_path, "x = x", "d(J)/d(x) = W.T @ dY")
    assert txt["link1"].right == ("d(J)/d(x) = W.T @ (dY * g'(z))",)
    # each right form is itself a plain step, and it holds
    d = layer(tmp_path, ("text", v.right[0]), ("text", txt["link1"].right[0]), ("text", 'dY in "k x 1"'),
              ("text", "d(yhat)/d(x[i]) = col(W[p, i] * g'(z[p]), p=1..k)"))
    assert [x.status for x in check_steps(d, max_size=2)] == ["proved"] * 4


def test_the_plain_example_gets_the_verdicts_of_the_notes_sections_four_and_five():
    plain = check_steps(load(DATA / "notes_plain.toml"))
    notes = check_steps(load(NOTES / "section_4.toml")) + check_steps(load(NOTES / "section_5.toml"))
    assert {(v.place.section, v.place.eq, v.place.part): v.status for v in plain} == \
        {(v.place.section, v.place.eq, v.place.part): v.status for v in notes}
    assert all(v.ok for v in plain)
    assert sum(not v.proved for v in plain) == 10  # the wrong steps of section V, kept wrong


def test_verify_prints_plain_steps_in_their_own_syntax(capsys):
    assert main(["verify", "--steps", str(DATA / "notes_plain.toml")]) == 0
    out = capsys.readouterr().out
    assert "V.2   link4   shape error (expected)  <dY * g'(z), W[:, i]> = W[i, :].T @ (dY * g'(z))" in out
    assert "likely mistake: `W[i, :]` should be `W[:, i]`" in out
    assert 'V.3   label6  proved for every size   label(W.T, "n x k") @ (label(dY, "k x n") * ' \
           'label(g\'(z), "k x n")) in "n x 1"' in out


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("text, message, column", [
    ("x = W[0, 1]", "indices count from 1", 7),
    ("x = W[1:2, 1]", "a slice is `:` alone", 8),
    ("x = W[i, j, l]", "at most two indices", 14),
    ("x = (W.T)[1]", "indices `[..]` follow a name", 10),
    ("x = x[b]", "`b` names a value or a function, not an index", 7),
    ("x = sum(b, k=1..n)", "`k` is a dim", 12),
    ("x = sum(x[j], j=1)", "expected `..` in bounds like `j=1..k`", 18),
    ("x = sum(x[j])", "`sum` takes matrices written without indices; a sum over an index takes its bounds", 5),
    ("x = softmax(W[:, i], axis=0)", "`softmax` takes matrices written without indices", 5),
    ("x = <b, z", "`>` closing `<a, b>`", 10),
    ("d(J) = x", "a derivative reads `d(A)/d(B)`", 6),
    ("x = W x", "unexpected `x` (products are written with `@` or `*`)", 7),
    ("x = b ** 0", "`**` needs an integer power from 1 to 64", 10),
    ("x = b; y", "unsupported character ';'", 6),
    ("x = x.shape", "a `.` stands only in `.T`", 6),
    ("x = q", "unknown name `q` (known names:", 5),
    ("x = g + b", "function `g` needs an argument", 7),
    ("x = b'", "a prime `'` may only follow a function name", 6),
    ("x = g(b, z)", "`g` takes one argument", 8),
    ('label(x, "k x q") = x', "undeclared dim `q` in shape", 15),
    ("label(x, 'k x 1') = x", "shapes take double quotes", 10),
    ('x = "k x 1"', "a shape in quotes stands only in", 5),
    ('x in "k by n"', 'expected a shape like "k x n"', 6),
    ('x in "0 x 1"', "a size is a dim or a whole number from 1 to 100000, got `0`", 7),
    ("x", "a step needs `=` or `in`", 2),
    ('x = b in "k x 1" = z', "unexpected `=`", 18),
])
def test_text_outside_the_grammar_is_an_error_naming_the_column(text, message, column):
    with pytest.raises(PlainError) as err:
        parse_statement(text, SCOPE)
    assert message in str(err.value)
    assert err.value.pos + 1 == column
    assert f"at column {column}: `" in str(err.value)


def test_a_bad_plain_step_names_the_file_the_step_and_the_column(tmp_path):
    with pytest.raises(DerivationError) as err:
        layer(tmp_path, ("text", "z = W[i, :] @ x + b"), ("text", "d(J)/d(q) = 1"))
    assert err.value.key == "steps[1].text"
    assert str(err.value).startswith(f"{tmp_path / 'steps.toml'}: `steps[1].text`: step T.2: unknown name `q`")
    assert "at column 8" in str(err.value)


def test_a_step_takes_latex_or_text_but_not_both(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(LAYER + "[[steps]]\nsection = 'T'\neq = 1\nlatex = 'z = W x + b'\ntext = 'z = W @ x + b'\n")
    with pytest.raises(DerivationError, match=r"steps\[0\].*`latex` or as `text`, not both"):
        load(path)
    path.write_text(LAYER + "[[steps]]\nsection = 'T'\neq = 1\n")
    with pytest.raises(DerivationError, match=r"steps\[0\].*missing `latex` .* or `text`"):
        load(path)
    path.write_text(LAYER + "[[steps]]\nsection = 'T'\neq = 1\ntext = 3\n")
    with pytest.raises(DerivationError, match=r"steps\[0\].text.*expected a text string, got 3"):
        load(path)


def test_deep_nesting_is_refused_clearly():
    with pytest.raises(PlainError, match="nested too deeply"):
        parse_statement("x = " + "(" * 500 + "b" + ")" * 500, SCOPE)


@pytest.mark.parametrize("payload", [
    "__import__('os').system('touch {m}') = x",
    "x = open('{m}', 'w')",
    "x = eval(\"open('{m}', 'w')\")",
    "exec(\"import os; os.system('touch {m}')\") = x",
    "x = sum(open('{m}', 'w'), j=1..k)",
])
def test_text_that_would_run_code_is_refused_and_runs_nothing(tmp_path, payload):
    marker = tmp_path / "ran"
    text = payload.format(m=marker)
    with pytest.raises(PlainError, match="column"):
        parse_statement(text, SCOPE)
    with pytest.raises(DerivationError, match=r"steps\[0\].text"):
        layer(tmp_path, ("text", text.replace("'''", "")))
    assert not marker.exists()


# ---- one reader for claims and steps

CLOSED = ["W.T @ (dY * g'(z))", "(dY * g'(z)) @ x.T", "-x + 2 * b / 3", "g''(W @ x + b) ** 2", "(z)", "- -z"]


@pytest.mark.parametrize("text", CLOSED)
def test_a_claim_is_read_into_the_tree_a_step_is(text):
    """A closed form reads into the same tree whether a claim (no scope) or a step writes it."""
    assert parse_expression(text) == parse_expression(text, SCOPE)


@pytest.mark.parametrize("text, tree", [
    ("sum(z, axis=0)", "Apply(fn='sum', order=0, args=(Name(name='z'),), "
                       "keywords=(('axis', Num(value=Fraction(0, 1))),))"),
    ("gelu(z, approximate='tanh')", "Apply(fn='gelu', order=0, args=(Name(name='z'),), "
                                    "keywords=(('approximate', Str(value='tanh')),))"),
    ('gelu(z, approximate="tanh")', "Apply(fn='gelu', order=0, args=(Name(name='z'),), "
                                    "keywords=(('approximate', Str(value='tanh')),))"),
    ("z ** -1.5", "Power(a=Name(name='z'), p=Fraction(-3, 2))"),
    ("1e-8 * z", "Bin(op='odot', a=Num(value=Fraction(1, 100000000)), b=Name(name='z'))"),
    ("0.1 + z", "Bin(op='+', a=Num(value=Fraction(1, 10)), b=Name(name='z'))"),
    ("+z", "Name(name='z')"),
])
def test_a_claim_may_call_with_keywords_and_take_real_powers(text, tree):
    assert repr(parse_expression(text)) == tree


@pytest.mark.parametrize("text, words, column", [
    ("sum(z, axis=0, axis=1)", "keyword `axis` given twice", 16),
    ("clip(z, lo=-1, 1)", "a positional argument after a keyword one", 16),
    ("W[1] @ x", "indexing `[...]` is not allowed", 2),
    ("g'b(z)", "`'` may only follow a function name", 2),
    ("z ** y", "`**` needs a constant power", 6),
    ("1e-61 * z", "a number of 62 digits, at most 60", 1),
    ("x\0", "a NUL character", 2),
])
def test_a_claim_outside_the_grammar_is_refused_at_its_column(text, words, column):
    with pytest.raises(PlainError) as err:
        parse_expression(text)
    assert words in str(err.value) and f"column {column}" in str(err.value), str(err.value)


BATCH = """title = "a batch layer's steps"
output = "Yhat"
upstream = "dY"
[dims]
n = "inputs"
k = "neurons"
m = "examples"
[inputs]
W = "k x n"
X = "n x m"
b = "k x 1"
[functions]
g = "elementwise"
[forward]
Z = "W @ X + b"
Yhat = "g(Z)"
"""


@pytest.mark.parametrize("text, expected", [
    ("d(J)/d(b) = sum(dY * g'(Z), axis=1)", ["proved"]),
    ("d(J)/d(b[i]) = sum(dY[i, j] * g'(Z[i, j]), j=1..m)", ["proved"]),
    ("d(J)/d(b) = sum(g'(Z) * dY, axis=1) = col(sum(dY[i, j] * g'(Z[i, j]), j=1..m), i=1..k)", ["proved", "proved"]),
    ("d(J)/d(b) = m * mean(dY * g'(Z), axis=1)", ["proved"]),
    ("d(J)/d(b) = sum(dY, axis=1)", ["refuted"]),
    ("d(J)/d(b) = sum(dY * g'(Z), axis=0).T", ["shape-error"]),
    ("d(J)/d(b) = sum(dY * g'(Z))", ["shape-error"]),
    # hostile: near misses refuted, equal rewrites proved
    ("d(J)/d(b) = mean(dY * g'(Z), axis=1)", ["refuted"]),
    ("d(J)/d(b) = max(dY * g'(Z), axis=1)", ["refuted"]),
    ("d(J)/d(b) = sum(abs(dY) * g'(Z), axis=1)", ["refuted"]),
    ("d(J)/d(b) = sum(dY * g'(Z), axis=1) / 1.0000000001", ["refuted"]),
    ("d(J)/d(b) = sum(dY * g'(Z) * 0.1 * 10, axis=1)", ["proved"]),
    ("d(J)/d(b) = sum(dY * g'(Z), axis=1) * m / m + sum(dY - dY, axis=1)", ["proved"]),
    ("d(J)/d(b) = softmax(dY * g'(Z), axis=0) * k", ["shape-error"]),
])
def test_a_step_may_say_what_a_claim_says(tmp_path, text, expected):
    """The claims' operations (axis sums, means, ...) in a step mean what they mean in a claim."""
    path = tmp_path / "batch.toml"
    path.write_text(BATCH + f'[[steps]]\nsection = "B"\neq = 1\ntext = "{text}"\n')
    verdicts = check_steps(load(path), max_size=2)
    assert [v.status for v in verdicts] == expected
    for v in verdicts:
        if v.status == "refuted":  # the counterexample's two sides, recomputed by the reference, differ
            assert v.counterexample is not None
