"""Losses written with exp, log, sums and division: softmax cross-entropy."""
from fractions import Fraction

from symbolic import catalogue_files, derive, load, text, verify
from symbolic.load import Claim
from symbolic.verify import proves_every_size, verify_claim

SOFTMAX = '''
title = "softmax cross-entropy"
output = "J"
[dims]
k = "classes"
[inputs]
z = "k x 1"
y = "k x 1"
[forward]
p = "exp(z) / sum(exp(z))"
J = "-sum(y * log(p))"
[claims]
z = "{claim}"
'''


def _verdict(tmp_path, claim):
    path = tmp_path / "softmax.toml"
    path.write_text(SOFTMAX.format(claim=claim))
    (v,) = verify(load(path))
    return v


def test_the_general_softmax_gradient_is_proved(tmp_path):
    v = _verdict(tmp_path, "p * sum(y) - y")
    assert v.status in ("proved", "proved-up-to"), v.detail


def test_the_one_hot_shortcut_is_refuted_where_the_labels_do_not_sum_to_one(tmp_path):
    v = _verdict(tmp_path, "p - y")
    assert v.status == "refuted"
    labels = [Fraction(row[0]) for row in v.counterexample.point["y"]]
    assert sum(labels) != 1


def test_derived_forms_print_as_file_syntax_that_proves_again(tmp_path):
    paths = list(catalogue_files())
    path = tmp_path / "softmax.toml"
    path.write_text(SOFTMAX.format(claim="p * sum(y) - y"))
    paths.append(path)
    for p in paths:
        d = load(p)
        parser = d.parser()
        for name, form in derive(d).closed.items():
            again = parser.parse(text(form))
            assert proves_every_size(d, again, name), (p.name, name, text(form))


def test_a_claim_written_as_the_derived_text_is_proved(tmp_path):
    path = tmp_path / "softmax.toml"
    path.write_text(SOFTMAX.format(claim="p * sum(y) - y"))
    d = load(path)
    derived = text(derive(d).closed["z"])
    assert "recip" not in derived and "'" not in derived
    v = verify_claim(d, Claim("z", derived, d.parser().parse(derived)), derive(d), 3, 20)
    assert v.status == "proved"
