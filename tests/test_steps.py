"""Steps: each link and label of a chain gets the verdict of what it says."""
from fractions import Fraction

import pytest

from symbolic import load
from symbolic.cli import main
from symbolic.load import DerivationError
from symbolic.steps import check_steps

from fixtures import LAYER



def layer(tmp_path, *latex, extra="", expected=None):
    body = LAYER + extra
    for n, t in enumerate(latex):
        body += f"\n[[steps]]\nsection = \"T\"\neq = {n + 1}\nlatex = '''{t}'''\n"
        if expected and n in expected:
            body += f"expected = {expected[n]}\n"
    path = tmp_path / "steps.toml"
    path.write_text(body)
    return load(path)


def verdicts(tmp_path, *latex, **kw):
    d = layer(tmp_path, *latex, **kw)
    return {f"{v.place.eq}.{v.place.part}": v for v in check_steps(d, max_size=2)}


def status(tmp_path, latex):
    return {k.split(".")[1]: v.status for k, v in verdicts(tmp_path, latex).items()}


# ---------------------------------------------------------------- slices and sums

def test_a_row_slice_is_a_row_of_w(tmp_path):
    assert status(tmp_path, r"\nabla_J(W_{i,:}) = dY_i \cdot g'(z_i) \cdot x^T") == {"link1": "proved"}


def test_a_column_slice_is_a_column_of_w(tmp_path):
    assert status(tmp_path, r"\frac{\partial J}{\partial x_i} = \langle dY \odot g'(z), W_{:,i} \rangle") \
        == {"link1": "proved"}
    assert status(tmp_path, r"\frac{\partial J}{\partial x_i} = W_{:,i}^T \cdot dY \odot g'(z)") \
        == {"link1": "proved"}


def test_a_row_where_a_column_belongs_is_a_shape_error_with_its_repair(tmp_path):
    v = verdicts(tmp_path, r"\frac{\partial J}{\partial x_i} = W_{i,:}^T \cdot dY \odot g'(z)")["1.link1"]
    assert v.status == "shape-error"
    assert "index `i` runs over 1..n but indexes the k rows of `W`" in v.detail
    assert v.repair.describe_step() == "`W_{i,:}` should be `W_{:,i}`"
    assert (v.repair.kind, v.repair.proof) == ("indices", "proved")
    assert v.repair.text == r"\frac{\partial J}{\partial x_i} = W_{:,i}^T \cdot dY \odot g'(z)"
    assert v.repair.marked() == r"\frac{\partial J}{\partial x_i} = [W_{i,:} -> W_{:,i}]^T \cdot dY \odot g'(z)"
    assert v.right[-1].endswith(r"\sum_{j=1}^{k} W_{j,i} \, dY_{j} \, g'(z_{j})")
    # the repaired step holds
    assert status(tmp_path, v.repair.text) == {"link1": "proved"}


def test_a_sum_with_its_bounds(tmp_path):
    assert status(tmp_path, r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{k} dY_j \cdot g'(z_j) \cdot W_{j,i}") \
        == {"link1": "proved"}
    assert status(tmp_path, r"z_i = \sum_{j=1}^{n} W_{i,j} x_j + b_i") == {"link1": "proved"}


def test_a_sum_over_the_wrong_range_is_a_shape_error(tmp_path):
    v = verdicts(tmp_path, r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{n} dY_j \cdot g'(z_j) \cdot W_{j,i}")
    assert v["1.link1"].status == "shape-error"
    assert "runs over 1..n but indexes the k rows of `dY`" in v["1.link1"].detail


def _g_prime(t):  # the counterexample's stand-in g(t) = 1 + 3t - 2t^2 + t^3, differentiated by hand
    return 3 - 4 * t + 3 * t * t


def test_a_sum_missing_a_factor_is_refuted_by_a_counterexample_that_holds(tmp_path):
    v = verdicts(tmp_path, r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{k} g'(z_j) \cdot W_{j,i}")["1.link1"]
    assert v.status == "refuted"
    c = v.counterexample
    assert c.function.startswith("g(t) = 1 + 3*t - 2*t**2 + t**3") and c.functions == {"g": [1, 3, -2, 1]}
    val = {name: [[Fraction(x) for x in row] for row in m] for name, m in c.point.items()}
    k, n, i = c.sizes["k"], c.sizes["n"], c.indices["i"] - 1
    z = [sum(val["W"][r][s] * val["x"][s][0] for s in range(n)) + val["b"][r][0] for r in range(k)]
    true = sum(val["dY"][r][0] * _g_prime(z[r]) * val["W"][r][i] for r in range(k))
    claimed = sum(_g_prime(z[r]) * val["W"][r][i] for r in range(k))
    assert Fraction(c.claim_value[0][0]) == true and Fraction(c.true_value[0][0]) == claimed and true != claimed


# ---------------------------------------------------------------- partials and the conventions

def test_partials_of_intermediates(tmp_path):
    assert status(tmp_path, r"\frac{\partial J}{\partial z} = dY \odot g'(z)") == {"link1": "proved"}
    assert status(tmp_path, r"\frac{\partial J}{\partial \hat{y}} = dY") == {"link1": "proved"}
    assert status(tmp_path, r"\frac{\partial z}{\partial x} = W") == {"link1": "proved"}  # a full Jacobian
    assert status(tmp_path, r"\frac{\partial z_i}{\partial b_i} = 1") == {"link1": "proved"}
    assert status(tmp_path, r"\frac{\partial z_i}{\partial W_{i,j}} = x_j") == {"link1": "proved"}


def test_a_partial_by_another_entry_is_refuted(tmp_path):
    v = verdicts(tmp_path, r"\frac{\partial z_i}{\partial b_j} = 1")["1.link1"]
    assert v.status == "refuted"
    assert v.counterexample.indices["i"] != v.counterexample.indices["j"]
    assert (v.counterexample.claim_value, v.counterexample.true_value) == ([["0"]], [["1"]])


def test_the_jacobian_of_an_elementwise_map_is_the_vector_of_its_diagonal(tmp_path):
    v = verdicts(tmp_path, r"\overbrace{\frac{\partial \hat{y}}{\partial z}}^{k \times 1} = g'(z)",
                 r"\overbrace{\frac{\partial z}{\partial b}}^{k \times k} \odot dY = dY",
                 r"\frac{\partial J}{\partial \hat{y}} \frac{\partial \hat{y}}{\partial z} "
                 r"\frac{\partial z}{\partial b} = dY \odot g'(z)")
    assert v["1.link1"].status == v["1.label1"].status == "proved"
    assert v["2.label1"].status == "refuted"
    assert v["2.label1"].detail == r"`\frac{\partial z}{\partial b}` is k x 1, not k x k"
    assert v["3.link1"].status == "proved"  # diag(u) v = u ⊙ v


def test_a_full_jacobian_does_not_multiply_elementwise(tmp_path):
    v = verdicts(tmp_path, r"\frac{\partial z}{\partial x} dY = dY")["1.link1"]
    assert v.status == "shape-error" and "inner sizes" in v.detail


# ---------------------------------------------------------------- labels

def test_dimension_labels_are_shape_claims(tmp_path):
    v = verdicts(tmp_path, r"\underbrace{W^T}_{n \times k} \cdot \underbrace{dY}_{k \times n} \odot "
                           r"\underbrace{g'(z)}_{k \times 1} \in \mathbb{R}^n")
    assert {k: x.status for k, x in v.items()} == {
        "1.label1": "proved", "1.label2": "refuted", "1.label3": "proved", "1.label4": "proved"}
    bad = v["1.label2"]
    assert bad.right == (r"dY \in \mathbb{R}^{k}",)
    sizes = bad.counterexample.sizes
    assert bad.counterexample.claim_value == [["{k}".format(**sizes), "1"]]
    assert bad.counterexample.true_value == [["{k}".format(**sizes), "{n}".format(**sizes)]]


def test_a_label_on_an_expression_that_cannot_be_formed_is_a_shape_error(tmp_path):
    v = verdicts(tmp_path, r"\overbrace{W \cdot dY}^{k \times 1} \in \mathbb{R}^k")
    assert v["1.label1"].status == "shape-error"


def test_a_label_that_is_a_name_says_the_expression_is_that_value(tmp_path):
    v = verdicts(tmp_path, r"\hat{y} = g(\underbrace{W \cdot x + b}_z)",
                 r"\hat{y} = g(\underbrace{W \cdot x}_z)")
    assert v["1.label1"].status == "proved" and v["1.label1"].place.kind == "name"
    assert v["2.label1"].status == "refuted" and v["2.link1"].status == "refuted"


def test_a_wrong_link_in_a_chain_is_checked_end_to_end_too(tmp_path):
    v = verdicts(tmp_path, r"\frac{\partial J}{\partial b} = dY \odot \hat{y} = dY \odot g'(z)")
    assert v["1.link1"].status == "refuted" and v["1.link2"].status == "refuted"
    assert v["1.ends"].status == "proved"
    assert v["1.link1"].right == (r"\frac{\partial J}{\partial b} = dY \odot g'(z)",)
    assert v["1.link1"].repair is None  # no one edit makes dY ⊙ yhat the gradient


# ---------------------------------------------------------------- expectations and the command line

def test_an_expected_outcome_counts_only_while_it_is_the_verdict(tmp_path):
    v = verdicts(tmp_path, r"\frac{\partial J}{\partial b} = dY", r"\frac{\partial J}{\partial b} = dY \odot g'(z)",
                 expected={0: '{ link1 = "refuted" }', 1: '{ link1 = "refuted" }'})
    assert v["1.link1"].status == "refuted" and v["1.link1"].ok
    assert v["2.link1"].status == "proved" and not v["2.link1"].ok


def test_verify_exits_0_when_wrong_steps_are_expected_and_1_otherwise(tmp_path, capsys):
    d = layer(tmp_path, r"\frac{\partial J}{\partial b} = dY", expected={0: '{ link1 = "refuted" }'})
    assert main(["verify", "--steps", str(d.path)]) == 0
    out = capsys.readouterr().out
    assert "T.1  link1  refuted (expected)" in out and "counterexample:" in out
    d = layer(tmp_path, r"\frac{\partial J}{\partial b} = dY")
    assert main(["verify", str(d.path)]) == 1


def test_json_has_one_record_per_step_part(tmp_path, capsys):
    import json
    d = layer(tmp_path, r"\frac{\partial J}{\partial b} = dY \odot g'(z) \in \mathbb{R}^k")
    assert main(["verify", "--format", "json", str(d.path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(s["section"], s["eq"], s["part"], s["verdict"]) for s in doc["steps"]] == [
        ("T", "1", "link1", "proved"), ("T", "1", "label1", "proved")]


def test_latex_claims_are_verified_like_text_claims(tmp_path):
    extra = "[claims.W]\nlatex = '''\\left(dY \\odot g'(z)\\right) x^T'''\n[claims.x]\nlatex = '''W^T dY'''\n"
    d = layer(tmp_path, extra=extra)
    from symbolic import verify
    got = {v.wrt: v.status for v in verify(d)}
    assert got == {"W": "proved", "x": "refuted"}
    assert d.claims["W"].latex.startswith(r"\left(dY")


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("latex, key, message", [
    (r"\frac{\partial J}{\partial q} = 1", "steps[0].latex", "unknown name `q`"),
    (r"x = \operatorname{diag}(b)", "steps[0].latex", r"unsupported command `\operatorname` at column 5"),
])
def test_bad_latex_names_the_step_and_the_column(tmp_path, latex, key, message):
    with pytest.raises(DerivationError) as err:
        layer(tmp_path, latex)
    assert err.value.key == key and message in str(err.value)


def test_bad_step_tables_name_their_key(tmp_path):
    with pytest.raises(DerivationError, match=r"steps\[0\].expected.link2.*has link1"):
        layer(tmp_path, "z = W x + b", expected={0: '{ link2 = "refuted" }'})
    with pytest.raises(DerivationError, match="expected one of refuted, shape-error, unknown"):
        layer(tmp_path, "z = W x + b", expected={0: '{ link1 = "wrong" }'})
    path = tmp_path / "bad.toml"
    path.write_text(LAYER + "[[steps]]\nsection = \"T\"\neq = 1\nlatex = 'z = W x + b'\nwhen = 3\n")
    with pytest.raises(DerivationError, match=r"steps\[0\].when.*unknown key"):
        load(path)


# ---------------------------------------------------------------- the notes

NOTES = sorted(__import__("symbolic").catalogue_files())
NOTES = [p for p in NOTES if p.parent.name == "notes"]


def test_the_notes_hold_sections_one_to_five():
    assert [load(p).steps[0].section for p in NOTES] == ["I", "II", "III", "IV", "V"]


@pytest.mark.parametrize("path", NOTES, ids=lambda p: p.stem)
def test_every_step_of_the_notes_gets_its_verdict(path):
    results = check_steps(load(path))
    assert results
    for v in results:
        assert v.status != "unknown", v
        assert v.ok, (v, v.detail)
        if not v.proved:
            assert v.right, v  # a wrong step always comes with the right form
            assert v.counterexample or v.status == "shape-error", v


def test_the_wrong_steps_of_section_five_are_the_ones_the_notes_get_wrong():
    d = load([p for p in NOTES if p.stem == "section_5"][0])
    wrong = {(v.place.eq, v.place.part): v for v in check_steps(d) if not v.proved}
    assert set(wrong) == {("2", "link1"), ("2", "link2"), ("2", "link4"), ("2", "ends"), ("3", "link3"),
                          ("3", "link4"), ("3", "label1"), ("3", "label2"), ("3", "label4"), ("3", "label5")}
    assert wrong[("2", "link4")].repair.describe_step() == "`W_{i,:}` should be `W_{:,i}`"
    assert wrong[("3", "link3")].right == (r"dX = W^{T} \left(dY \odot g'(z)\right)",)


def test_the_right_forms_of_section_five_are_steps_that_hold(tmp_path):
    path = [p for p in NOTES if p.stem == "section_5"][0]
    wrong = [v for v in check_steps(load(path)) if not v.proved]
    # an entry form `\left( .. \right)_{p}` is for reading only: the notes write a vector by its entries
    forms = sorted({f for v in wrong for f in v.right if not f.endswith("_{p}")})
    assert len(forms) == 6
    body = path.read_text()
    for n, f in enumerate(forms):
        body += f"\n[[steps]]\nsection = \"R\"\neq = {n}\nlatex = '''{f}'''\n"
    (tmp_path / "s5.toml").write_text(body)
    again = [v for v in check_steps(load(tmp_path / "s5.toml")) if v.place.section == "R"]
    assert len(again) == len(forms) and all(v.status == "proved" for v in again), again
