r"""LaTeX of derived gradients: the notes' notation, every option, names, grouping."""
import pytest
import sympy

from symbolic import ACTIVATIONS, derive, latex, load
from symbolic import expr as E
from symbolic import windows as W
from symbolic.cli import main
from symbolic.tex import FUNCTIONS, RULES, Notation, name_tex, shape_tex, value_tex

LAYER_W = r"\frac{\partial J}{\partial W} = \left(dY \odot g'(z)\right) x^{T} \in \mathbb{R}^{k \times n}"

k, n = sympy.symbols("k n", integer=True, positive=True)
A = E.Var("A", (k, n))
B = E.Var("B", (n, k))
C = E.Var("C", (k, k))
x = E.Var("x", (n, E.ONE))


def test_layer_gradient_reads_as_in_the_notes():
    assert latex("layer", wrt="W") == LAYER_W
    assert latex("layer", wrt="b") == r"\frac{\partial J}{\partial b} = dY \odot g'(z) \in \mathbb{R}^{k}"
    assert latex("backprop", wrt="x") == (r"\frac{\partial J}{\partial x} = W^{T} \left(dY \odot g'(z)\right)"
                                          r" \in \mathbb{R}^{n}")


def test_without_wrt_one_equation_per_input_in_file_order():
    lines = latex("two_layers").splitlines()
    d = load("derivations/two_layers.toml")
    assert len(lines) == len(d.inputs)
    for line, name in zip(lines, d.inputs):
        assert line.startswith(rf"\frac{{\partial J}}{{\partial {name_tex(name)}}} = ")


def test_a_product_with_a_scalar_is_a_cdot_as_in_section_two():
    assert latex("neuron", wrt="W") == (r"\frac{\partial J}{\partial W} = dY \cdot g'(z) \cdot x^{T}"
                                        r" \in \mathbb{R}^{1 \times n}")
    assert latex("perceptron", wrt="b") == r"\frac{\partial J}{\partial b} = dY \cdot g'(z) \in \mathbb{R}"


@pytest.mark.parametrize("option, value, present, absent", [
    ("hadamard", "circ", r"\circ", r"\odot"),
    ("hadamard", "odot", r"\odot", r"\circ"),
    ("transpose", "top", r"x^{\top}", "^{T}"),
    ("transpose", "T", "x^{T}", r"\top"),
    ("upstream", "frac", r"\frac{\partial J}{\partial \hat{y}} \odot g'(z)", "dY"),
    ("upstream", "dY", r"dY \odot g'(z)", r"\partial \hat{y}"),
])
def test_notation_options(option, value, present, absent):
    out = latex("layer", wrt="W", **{option: value})
    assert present in out and absent not in out


def test_index_form_of_the_layer_weight():
    assert latex("layer", wrt="W", index=True) == (
        r"\left(\frac{\partial J}{\partial W}\right)_{pq} = dY_{p} \, g'(z_{p}) \, x_{q}, "
        r"\quad 1 \le p \le k,\ 1 \le q \le n")


def test_index_form_sums_over_a_bound_index_that_is_not_a_dim():
    out = latex("backprop", wrt="x", index=True)
    assert out.startswith(r"\left(\frac{\partial J}{\partial x}\right)_{p} = "
                          r"\sum_{j=1}^{k} W_{jp} \, dY_{j} \, g'(z_{j})")
    # two layers: nested sums take distinct letters, none of them a dim (n, h, k)
    out = latex("two_layers", wrt="x", index=True)
    assert r"\sum_{j=1}^{h}" in out and r"\sum_{i=1}^{k}" in out


def test_index_form_of_the_batch_bias_sums_over_the_examples():
    assert latex("layer_batch", wrt="b", index=True).startswith(
        r"\left(\frac{\partial J}{\partial b}\right)_{p} = \sum_{j=1}^{m} dY_{pj} \, g'(Z_{pj})")
    assert latex("layer_batch", wrt="b") == (
        r"\frac{\partial J}{\partial b} = \sum_{j=1}^{m} \left(dY \odot g'(Z)\right)_{:,j} \in \mathbb{R}^{k}")


def test_upstream_as_a_fraction_in_index_form():
    out = latex("layer", wrt="b", index=True, upstream="frac")
    assert out.startswith(r"\left(\frac{\partial J}{\partial b}\right)_{p} = "
                          r"\frac{\partial J}{\partial \hat{y}_{p}} \, g'(z_{p})")


def test_a_concrete_activation_is_written_out_by_its_rule():
    assert r"\sigma(z) \odot \left(1 - \sigma(z)\right)" in latex("layer", wrt="b", activation="sigmoid")
    assert r"\sigma'(z)" in latex("layer", wrt="b", activation="sigmoid", expand=False)
    assert r"1 - \tanh(z)^{\odot 2}" in latex("layer", wrt="b", activation="tanh")
    assert r"\operatorname{step}(z)" in latex("layer", wrt="b", activation="relu")
    assert r"\sigma(z_{p}) \, \left(1 - \sigma(z_{p})\right)" in latex(
        "layer", wrt="b", activation="sigmoid", index=True)
    # a generic function has no rule: its derivative stays g'
    assert "g'(z)" in latex("layer", wrt="b")


def test_steps_print_the_backward_pass_that_the_gradient_needs():
    lines = latex("two_layers", wrt="W2", steps=True).splitlines()
    assert lines == [r"dz_{2} = dY \odot g'(z_{2})",
                     r"\frac{\partial J}{\partial W_{2}} = dz_{2} \, a_{1}^{T} \in \mathbb{R}^{k \times h}"]
    frac = latex("layer", wrt="W", steps=True, upstream="frac").splitlines()
    assert frac[0] == r"\frac{\partial J}{\partial z} = \frac{\partial J}{\partial \hat{y}} \odot g'(z)"


@pytest.mark.parametrize("name, role, tex", [
    ("yhat", "intermediate", r"\hat{y}"),
    ("Yhat", "intermediate", r"\hat{Y}"),
    ("W1", "input", "W_{1}"),
    ("W_out", "input", r"W_{\mathrm{out}}"),
    ("x_1", "input", "x_{1}"),
    ("alpha", "input", r"\alpha"),
    ("loss", "intermediate", r"\mathrm{loss}"),
    ("dY", "upstream", "dY"),
    ("dz1", "adjoint", "dz_{1}"),
    ("dyhat", "adjoint", r"d\hat{y}"),
    ("delta", "input", r"\delta"),
    ("data", "input", r"\mathrm{data}"),
])
def test_names_in_the_notes_style(name, role, tex):
    assert name_tex(name, role) == tex


def test_shapes_as_real_spaces_as_in_the_notes():
    assert shape_tex((E.ONE, E.ONE)) == r"\mathbb{R}"
    assert shape_tex((k, E.ONE)) == r"\mathbb{R}^{k}"
    assert shape_tex((E.ONE, n)) == r"\mathbb{R}^{1 \times n}"
    assert shape_tex((k, n)) == r"\mathbb{R}^{k \times n}"


def test_values_of_a_counterexample():
    assert value_tex("-3/4") == r"-\frac{3}{4}"
    assert value_tex("7") == "7"
    assert value_tex("1.5e-7") == r"1.5 \times 10^{-7}"


@pytest.mark.parametrize("e, tex", [
    (E.mul(E.matmul(A, B), C), r"\left(A B\right) \odot C"),
    (E.matmul(A, E.mul(B, B)), r"A \left(B \odot B\right)"),
    (E.matmul(E.matmul(A, B), C), "A B C"),
    (E.mul(E.mul(A, A), A), r"A \odot A \odot A"),
    (E.sub(A, E.add(A, A)), r"A - \left(A + A\right)"),
    (E.add(A, E.scale(-2, A)), "A - 2 A"),
    (E.scale(-1, E.add(A, A)), r"-\left(A + A\right)"),
    (E.transpose(E.matmul(A, B)), r"\left(A B\right)^{T}"),
    (E.power(E.transpose(A), 2), r"\left(A^{T}\right)^{\odot 2}"),
    (E.matmul(E.transpose(x), x), "x^{T} x"),
    (E.scale(sympy.Rational(1, 2), A), r"\frac{1}{2} A"),
    (E.mul(E.broadcast(E.const(sympy.Rational(1, 2)), A.shape), E.scale(2, A)), "A"),
    (E.apply("g", A, 4), "g^{(4)}(A)"),
    (E.power(E.apply("recip", A), 2), r"\left(\frac{1}{A}\right)^{\odot 2}"),
    (E.sum_axis(A, 0), r"\sum_{j=1}^{k} A_{j,:}"),
    (E.sum_axis(A, None), r"\sum_{j=1}^{k} \sum_{i=1}^{n} A_{ji}"),
    (E.scale(sympy.Rational(1, 2), E.sum_axis(E.power(x, 2), None)), r"\frac{1}{2} \sum_{j=1}^{n} x_{j}^{2}"),
    (E.add(E.sum_axis(x, None), E.sum_axis(x, None)),
     r"\left(\sum_{j=1}^{n} x_{j}\right) + \left(\sum_{i=1}^{n} x_{i}\right)"),
    (E.mul(E.sum_axis(x, None), E.sum_axis(x, None)),
     r"\left(\sum_{j=1}^{n} x_{j}\right) \cdot \left(\sum_{i=1}^{n} x_{i}\right)"),
])
def test_grouping_leaves_no_ambiguity(e, tex):
    assert latex(e) == tex


def test_every_table_function_has_a_spelling():
    assert set(ACTIVATIONS) <= set(FUNCTIONS)


def test_every_expression_node_has_a_rule():
    nodes = {c for c in vars(E).values() if isinstance(c, type) and issubclass(c, E.Expr) and c is not E.Expr
             and not c.__name__.startswith("_")}  # `_Unary`, `_Binary`: bases, not nodes
    assert nodes | set(W.NODES) == set(RULES)  # and the windows' (`symbolic.windows`)


def test_gradients_and_derivations_are_accepted_as_sources():
    d = load("derivations/layer.toml")
    assert latex(d, wrt="W") == latex(derive(d), wrt="W") == latex("derivations/layer.toml", wrt="W")


def test_bad_options_name_the_parameter():
    with pytest.raises(ValueError, match="`hadamard` must be one of 'odot', 'circ', got 'cdot'"):
        latex("layer", hadamard="cdot")
    with pytest.raises(ValueError, match=r"`wrt` must name an input of .*layer.toml \(W, x, b\), got 'Q'"):
        latex("layer", wrt="Q")
    with pytest.raises(TypeError, match="`source` must be"):
        latex(3)
    with pytest.raises(ValueError, match="`upstream`"):
        Notation(upstream="dJ")


def test_cli_latex_prints_the_equations(capsys):
    assert main(["latex", "layer", "--wrt", "W"]) == 0
    assert capsys.readouterr().out.strip() == LAYER_W
    assert main(["latex", "layer", "--wrt", "W", "--index", "--hadamard", "circ", "--transpose", "top",
                 "--upstream", "frac", "--activation", "sigmoid", "--steps"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == (r"\frac{\partial J}{\partial z_{p}} = \frac{\partial J}{\partial \hat{y}_{p}} \, "
                      r"\sigma(z_{p}) \, \left(1 - \sigma(z_{p})\right)")
    assert out[1].startswith(r"\left(\frac{\partial J}{\partial W}\right)_{pq} = ")


def test_cli_latex_refuses_an_unknown_input(capsys):
    assert main(["latex", "layer", "--wrt", "Q"]) == 2
    err = capsys.readouterr().err
    assert "`wrt` must name an input" in err and "got 'Q'" in err


def test_a_renamed_adjoint_is_printed_as_the_gradient_of_its_own_value(tmp_path):
    """An input named `dz` makes the adjoint of `z` `dz_1`: in the notes'
    notation it is still dJ/dz, and the input's own gradient is dJ/d(dz)."""
    path = tmp_path / "dz.toml"
    path.write_text('title = "t"\noutput = "yhat"\nupstream = "dY"\n[dims]\nn = "n"\nk = "k"\n'
                    '[inputs]\nW = "k x n"\nx = "n x 1"\ndz = "k x 1"\n[functions]\ng = "elementwise"\n'
                    '[forward]\nz = "W @ x + dz"\nyhat = "g(z)"\n')
    text = latex(str(path), steps=True, upstream="frac")
    assert r"\frac{\partial J}{\partial z} = " in text, text
    assert r"\frac{\partial J}{\partial \mathrm{dz}} = \frac{\partial J}{\partial z}" in text, text
    assert "z_{1}" not in text, text


def test_an_entry_form_with_more_sums_than_letters_names_its_indices_k_1_k_2():
    n = sympy.Symbol("n", integer=True, positive=True)
    A = E.Var("A", (n, n))
    e = A
    for _ in range(20):
        e = E.matmul(e, A)
    out = latex(e, index=True)
    assert r"k_{1}" in out and r"k_{4}" in out and out.count(r"\sum") == 20
