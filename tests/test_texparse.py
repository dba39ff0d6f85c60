"""The restricted LaTeX grammar: what it reads, and how it refuses the rest."""
import pytest

from symbolic import expr as E
from symbolic.load import load
from symbolic.parse import Parser
from symbolic.steptree import (Bin, Call, Deriv, Grid, Index, Inner, Ix, Labelled, Membership, Name, Pattern,
                               Scope, SumOver, TexError, Transpose)
from symbolic.texparse import parse_expression, parse_statement, to_core

SCOPE = Scope(frozenset({"g"}), frozenset({"n", "k"}),
              frozenset({"W", "x", "b", "z", "yhat", "dY", "J", "w"}))


def ex(text):
    return parse_expression(text, SCOPE)


def test_subscripts_read_entries_rows_and_columns():
    assert ex("W_{j,i}") == Index(Name("W"), (Ix("var", "j"), Ix("var", "i")))
    assert ex("W_{:,i}") == Index(Name("W"), (Ix("colon"), Ix("var", "i")))
    assert ex("W_{i,:}") == Index(Name("W"), (Ix("var", "i"), Ix("colon")))
    assert ex("x_1") == Index(Name("x"), (Ix("num", 1),))
    assert ex("W_{ij}") == ex("W_{i,j}")
    assert ex("W_{1,:}^T") == Transpose(Index(Name("W"), (Ix("num", 1), Ix("colon"))))


def test_tex_takes_one_character_after_an_unbraced_subscript():
    # `x_12` is x_1 times 2 in TeX
    assert ex("x_12") == Bin("dot", Index(Name("x"), (Ix("num", 1),)), ex("2"))


def test_odot_binds_tighter_than_cdot_and_juxtaposition():
    assert ex(r"W^T \cdot dY \odot g'(z)") == Bin("dot", Transpose(Name("W")),
                                                 Bin("odot", Name("dY"), Call("g", 1, Name("z"))))
    assert ex(r"dY \odot g'(z) x^T") == ex(r"\left(dY \odot g'(z)\right) \cdot x^T")


def test_primes_and_prime_commands_give_derivative_orders():
    assert ex("g'(z)") == ex(r"g^{\prime}(z)") == Call("g", 1, Name("z"))
    assert ex("g''(z)") == Call("g", 2, Name("z"))
    assert ex(r"\sigma(z)") == Call("sigmoid", 0, Name("z"))


def test_a_sum_runs_over_the_product_after_it_with_its_bounds():
    e = ex(r"\sum_{j=1}^{k} g'(z_j) \cdot W_{j,i} + b_i")
    assert isinstance(e, Bin) and e.op == "+"
    s = e.a
    assert isinstance(s, SumOver) and (s.var, s.lo, s.hi) == ("j", Ix("num", 1), Ix("dim", "k"))
    assert s.body == ex(r"g'(z_j) \cdot W_{j,i}")


def test_a_sum_written_with_dots_becomes_a_sum_over_an_index():
    e = ex(r"w_1 \cdot x_1 + w_2 \cdot x_2 + \dots + w_n \cdot x_n + b")
    s = e.a
    assert isinstance(s, SumOver) and s.hi == Ix("dim", "n")
    v = Ix("var", s.var)
    assert s.body == Bin("dot", Index(Name("w"), (v,)), Index(Name("x"), (v,)))


def test_a_sum_with_dots_checks_its_second_term():
    with pytest.raises(TexError, match="second entry does not follow"):
        ex(r"x_1 + x_3 + \dots + x_n")


def test_a_column_with_vdots_is_a_pattern_from_its_first_and_last_entries():
    e = ex(r"\begin{pmatrix} dY_1 \cdot g'(z_1) \\ \vdots \\ dY_k \cdot g'(z_k) \end{pmatrix}")
    assert isinstance(e, Pattern) and e.cols is None
    var, lo, hi = e.rows
    assert (lo, hi) == (Ix("num", 1), Ix("dim", "k"))
    v = Ix("var", var)
    assert e.template == Bin("dot", Index(Name("dY"), (v,)), Call("g", 1, Index(Name("z"), (v,))))


def test_a_row_with_dots_and_a_matrix_with_ddots():
    row = ex(r"(w_1, \dots, w_n)")
    assert isinstance(row, Pattern) and row.rows is None and row.cols[2] == Ix("dim", "n")
    m = ex(r"\begin{pmatrix} W_{1,1} & \dots & W_{1,n} \\ \vdots & \ddots & \vdots \\ "
           r"W_{k,1} & \dots & W_{k,n} \end{pmatrix}")
    assert isinstance(m, Pattern) and m.rows[2] == Ix("dim", "k") and m.cols[2] == Ix("dim", "n")
    assert m.template == Index(Name("W"), (Ix("var", m.rows[0]), Ix("var", m.cols[0])))


def test_a_constant_column_has_no_length_of_its_own():
    ones = ex(r"\begin{pmatrix} 1 \\ \vdots \\ 1 \end{pmatrix}")
    assert isinstance(ones, Pattern) and ones.rows[2] is None


def test_entries_that_differ_by_more_than_an_index_are_refused():
    with pytest.raises(TexError, match="differ by more than an index"):
        ex(r"\begin{pmatrix} x_1 \\ \vdots \\ b_k \end{pmatrix}")


def test_explicit_vectors_and_inner_products():
    assert isinstance(ex(r"\begin{pmatrix} x_1 \\ x_2 \end{pmatrix}"), Grid)
    assert ex(r"\left\langle dY, W_{:,i} \right\rangle") == Inner(Name("dY"), ex("W_{:,i}"))


def test_derivatives_partial_total_and_nabla():
    assert ex(r"\frac{\partial J}{\partial W_{1,1}}") == Deriv(Name("J"), ex("W_{1,1}"))
    assert ex(r"\frac{dJ}{d\hat{y}}") == Deriv(Name("J"), Name("yhat"))
    assert ex(r"\nabla_J(W_{1,:})") == Deriv(Name("J"), ex("W_{1,:}"))


def test_labels_are_shapes_or_names():
    e = ex(r"\overbrace{dY}^{k \times 1}")
    assert isinstance(e, Labelled) and (e.label.r, e.label.c) == (Ix("dim", "k"), Ix("num", 1))
    assert ex(r"\underbrace{g'(z)}_1").label.r == Ix("num", 1)
    assert ex(r"\overbrace{x}^{\mathbb{R}}").label.r == Ix("num", 1)
    assert ex(r"\underbrace{W \cdot x + b}_z").label == Name("z")


def test_statements_chains_memberships_cases_and_forall():
    st = parse_statement(r"a = b".replace("a", "x").replace("b", "z"), SCOPE)
    assert len(st.members) == 2
    m = parse_statement(r"x, w, b \in \mathbb{R}^{k \times n}", SCOPE)
    assert isinstance(m, Membership) and len(m.subjects) == 3
    f = parse_statement(r"\frac{\partial z_i}{\partial b_i} = 1 \rightarrow \forall i=1, \dots, k", SCOPE)
    assert f.forall == ("i", Ix("num", 1), Ix("dim", "k"))
    c = parse_statement(r"\begin{cases} z_1 = W_1 \cdot x + b_1 \\ \vdots \\ z_k = W_k \cdot x + b_k \end{cases}",
                        SCOPE)
    assert c.cases and c.forall[2] == Ix("dim", "k")


@pytest.mark.parametrize("text, command, column", [
    (r"\mathcal{L} = J", r"\mathcal", 1),
    (r"x = \sqrt{b}", r"\sqrt", 5),
    (r"x = \begin{array}{c} b \end{array}", "array", 5),
    (r"x = b \times W", r"\times", 7),
])
def test_unsupported_commands_are_named_with_their_column(text, command, column):
    with pytest.raises(TexError) as err:
        parse_statement(text, SCOPE)
    assert command in str(err.value)
    assert err.value.pos + 1 == column


@pytest.mark.parametrize("text, message", [
    ("q = x", "unknown name `q`"),
    ("x = g + b", "function `g` needs an argument"),
    ("x' = b", "may only follow a function name"),
    (r"x = \dots", "`\\dots` in a sum must stand between"),
    ("x", "needs `=` or `\\in`"),
    ("x = (b", "expected `)`"),
    ("x = b #", "unsupported character"),
    ("__import__('os') = x", "expected an expression, got `_`"),
])
def test_text_outside_the_grammar_is_a_clear_error(text, message):
    with pytest.raises(TexError, match="column"):
        parse_statement(text, SCOPE)
    with pytest.raises(TexError) as err:
        parse_statement(text, SCOPE)
    assert message in str(err.value)


def test_closed_forms_in_latex_become_the_core_ir():
    d = load("derivations/layer.toml")
    names = d.parser().names
    parser = Parser(names, d.functions)
    assert to_core(r"\left(dY \odot g'(z)\right) x^T", names, d.functions) == parser.parse("(dY * g'(z)) @ x.T")
    assert to_core(r"W^T \cdot dY \odot g'(z)", names, d.functions) == parser.parse("W.T @ (dY * g'(z))")
    with pytest.raises(E.ShapeError):
        to_core(r"W \cdot dY", names, d.functions)
    with pytest.raises(TexError, match="indices have no place in a closed form"):
        to_core(r"x_1", names, d.functions)
