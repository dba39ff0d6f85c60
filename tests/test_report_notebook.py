"""Notebook reprs: what load, derive and verify return renders as math."""
from pathlib import Path

import pytest

from symbolic import derive, load, verify

WRONG = Path(__file__).parent / "data" / "wrong_claims.toml"


@pytest.fixture(scope="module")
def layer():
    d = load("derivations/layer.toml")
    return d, derive(d), verify(d)


@pytest.fixture(scope="module")
def wrong():
    d = load(WRONG)
    return {v.wrt: v for v in verify(d, default_budget=10)}


def test_derivation_latex_is_display_math_of_its_formulas_and_claims(layer):
    d, _, _ = layer
    out = d._repr_latex_()
    assert out.startswith("$$") and out.endswith("$$") and out.count("$$") == 2
    assert r"z &= W x + b \\ \hat{y} &= g(z)" in out
    assert r"\frac{\partial J}{\partial W} &= \left(dY \odot g'(z)\right) x^{T}" in out


def test_derivation_markdown_has_the_title_inputs_and_formulas(layer):
    d, _, _ = layer
    out = d._repr_markdown_()
    assert out.startswith("### Layer: R^n -\\> R^k\n")
    assert r"$W \in \mathbb{R}^{k \times n},\ x \in \mathbb{R}^{n},\ b \in \mathbb{R}^{k}$" in out
    assert r"\begin{aligned} z &= W x + b \\ \hat{y} &= g(z) \end{aligned}" in out
    assert "Claims:" in out


def test_gradients_latex_is_the_backward_pass_then_the_closed_forms(layer):
    _, g, _ = layer
    out = g._repr_latex_()
    assert out.startswith(r"$$\begin{aligned} dz &= dY \odot g'(z) \\ ")
    assert r"\frac{\partial J}{\partial x} &= W^{T} \left(dY \odot g'(z)\right) \in \mathbb{R}^{n}" in out


def test_a_proved_verdict_renders_its_claim_and_headline(layer):
    _, _, verdicts = layer
    v = verdicts[0]
    assert v._repr_latex_() == (r"$$\frac{\partial J}{\partial W} = \left(dY \odot g'(z)\right) x^{T}"
                                r" \quad \text{proved for every size}$$")
    md = v._repr_markdown_()
    assert md.startswith(r"### ✓ $\partial J / \partial W$: proved for every size")
    assert "Evidence: index form" in md


def test_a_refuted_verdict_shows_the_derived_form_and_the_counterexample(wrong):
    v = wrong["b"]
    out = v._repr_latex_()
    assert out.startswith(r"$$\begin{gathered} \frac{\partial J}{\partial b} = g'(z) \quad \text{refuted} \\ ")
    assert r"\frac{\partial J}{\partial b} = dY \odot g'(z) \quad \text{derived}" in out
    md = v._repr_markdown_()
    assert r"| derived | $\frac{\partial J}{\partial b} = dY \odot g'(z) \in \mathbb{R}^{k}$ |" in md
    assert "Likely mistake: a factor missing or extra" in md
    assert "Counterexample at $" in md and r"\underbrace{" in md


def test_a_shape_error_verdict_shows_the_claim_verbatim(wrong):
    out = wrong["x"]._repr_latex_()
    assert r"\frac{\partial J}{\partial x} = \texttt{W @ (dY * g'(z))} \quad \text{shape error}" in out


def test_plain_reprs_are_unchanged(layer):
    d, g, verdicts = layer
    assert repr(d).startswith("Derivation('layer'")
    assert repr(g).startswith("Gradients of 'layer':")
    assert repr(verdicts[0]) == "Verdict(dJ/dW = (dY * g'(z)) @ x.T: proved for every size)"
