"""The mutation suite: one-edit variants of every catalogue claim are
refuted or shape errors, never proved -- unless they are in fact equal
to the gradient, which an independent NumPy check then confirms.  Every
refutation's counterexample is re-checked with NumPy at the reported
point.  The same engine edits the steps of the notes (`tree_mutants`):
an edit of a link they get right is never proved, and its repair holds."""
import numpy as np
import pytest

import reference
from symbolic import ShapeError, catalogue_files, derive, load
from symbolic.load import Claim
from symbolic import steptree as T
from symbolic import texparse
from symbolic.mutate import KIND_NAMES, mutants, tree_mutants
from symbolic.semantics import Meaning
from symbolic.stepprint import syntax_of
from symbolic.steps import check_steps, scope_of
from symbolic.verify import scope, verify_claim

CLAIMS = [(f, key) for f in catalogue_files() for key in load(f).claims]


def _verdicts(path, key):
    d = load(path)
    grads = derive(d)
    parser = d.parser()
    wrt = d.claims[key].wrt  # a claim's key is its input, or its name in `[[claims]]`
    for m in mutants(d.claims[key].text, *scope(d)):
        try:
            claim = Claim(wrt, m.text, parser.parse(m.text))
        except ShapeError as err:
            claim = Claim(wrt, m.text, None, str(err))
        yield m, verify_claim(d, claim, grads, max_size=3, seconds=20, repair=False)


def _really_equal(path, text, wrt) -> bool:
    """NumPy: does `text` match the finite-difference gradient at random
    points of several sizes?"""
    ref = reference.File(path, [1, 3, -2, 1])
    rng = np.random.default_rng(3)
    dims = load(path).dims
    for size in (1, 2, 3):
        values = reference.random_values(path, {n: size for n in dims}, rng)
        env = {**ref.forward(values), **values}
        got = ref.eval(text, env)
        want = ref.fd_gradient(values, wrt)
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-6, atol=1e-7):
            return False
    return True


@pytest.mark.parametrize("path,key", CLAIMS, ids=[f"{p.stem}:{k}" for p, k in CLAIMS])
def test_wrong_variants_are_refuted_and_never_falsely_proved(path, key):
    caught = 0
    wrt = load(path).claims[key].wrt
    for m, v in _verdicts(path, key):
        if v.status in ("refuted", "shape-error"):
            caught += 1
            if v.counterexample:
                reference.check_counterexample(path, m.text, wrt, v.counterexample.to_dict())
        elif v.status in ("proved", "proved-up-to"):
            assert _really_equal(path, m.text, wrt), f"{m} was proved but is wrong"
        else:  # undecided is allowed only of a variant that is in fact right (step**2 = step)
            assert _really_equal(path, m.text, wrt), f"{m}: {v.status} ({v.detail})"
    assert caught >= 5, f"only {caught} variants of dJ/d{wrt} caught"


def test_mutants_cover_the_plausible_mistakes():
    d = load(catalogue_files()[0].parent / "layer.toml")
    kinds = {m.kind for m in mutants(d.claims["W"].text, *scope(d))}
    assert {"transpose", "swap", "product", "factor", "derivative", "variable"} <= kinds
    d = load(catalogue_files()[0].parent / "layer_batch.toml")
    kinds = {m.kind for m in mutants(d.claims["b"].text, *scope(d))}
    assert {"sum", "sum axis"} <= kinds


# ---------------------------------------------------------------- the steps of the notes

NOTES = [p for p in catalogue_files() if p.parent.name == "notes"]


def _with_steps(tmp_path, path, texts) -> dict:
    """The notes' file with `texts` as extra steps (section "M"): their verdicts by (eq, part)."""
    body = path.read_text()
    for n, t in enumerate(texts):
        body += f"\n[[steps]]\nsection = \"M\"\neq = {n}\nlatex = '''{t}'''\n"
    f = tmp_path / path.name
    f.write_text(body)
    return {(v.place.eq, v.place.part): v for v in check_steps(load(f), max_size=2) if v.place.section == "M"}


def _step_mutants(d, proved):
    """(edited LaTeX, link index, mutant) for each edit of the right side of a proved link."""
    scope = scope_of(d, d.notation)
    for step in d.steps:
        if not isinstance(step.tree, T.Chain) or step.syntax != "latex":
            continue
        syntax, m = syntax_of(step, d), Meaning(d, d.notation, step.latex)
        for k in range(len(step.tree.members) - 1):
            if (step.place, f"link{k + 1}") not in proved:
                continue
            for mut in tree_mutants(step.tree.members[k + 1]):
                if mut.kind == "transpose" and m.sh(mut.target, {}).shape == (1, 1):
                    continue  # a scalar is its own transpose
                edit = mut.edit(step.latex, syntax.node(mut.new))
                if edit is None:
                    continue
                text = edit.apply(step.latex)
                try:
                    texparse.parse_statement(text, scope)
                except texparse.TexError:
                    continue  # one entry of a row written with dots, edited alone
                yield text, k, mut


@pytest.mark.parametrize("path", NOTES, ids=lambda p: p.stem)
def test_one_edit_of_a_proved_step_is_never_proved_and_its_repair_holds(tmp_path, path):
    """Each edit `mutate.tree_mutants` makes of a link the notes get right is
    refuted or a shape error, never proved; where the checker names a
    repair, the step as repaired is proved again."""
    d = load(path)
    proved = {(str(v.place), v.place.part) for v in check_steps(d, max_size=2) if v.status == "proved"}
    mutants = list(_step_mutants(d, proved))
    assert mutants
    got = _with_steps(tmp_path, path, [t for t, _, _ in mutants])
    repaired = []
    for n, (text, k, mut) in enumerate(mutants):
        v = got[(str(n), f"link{k + 1}")]
        assert v.status in ("refuted", "shape-error"), (text, mut.kind, v)
        if v.repair is not None and v.repair.text:
            assert v.repair.kind in KIND_NAMES and v.repair.proof == "proved"
            repaired.append((v.repair.text, k))
    again = _with_steps(tmp_path, path, [t for t, _ in repaired])
    assert all(again[(str(n), f"link{k + 1}")].status == "proved" for n, (_, k) in enumerate(repaired))
