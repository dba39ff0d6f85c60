"""Every catalogue claim is proved for every size, and every derived form
agrees with SymPy's own differentiation and with finite differences."""
from pathlib import Path

import numpy as np
import pytest
import sympy

import reference
from symbolic import catalogue_files, derive, load, text, verify
from symbolic.explicit import Explicit, size_combinations
from symbolic.verify import proves_every_size

FILES = catalogue_files()


def _id(p):
    return p.relative_to(p.parents[1]).as_posix() if hasattr(p, "parents") else str(p)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_catalogue_claim_is_proved_for_every_size(path):
    verdicts = verify(load(path))
    assert verdicts or load(path).steps, f"{path} has no claims and no steps"
    for v in verdicts:
        assert v.status == "proved", (v, v.detail)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_derived_forms_match_sympy_diff_at_explicit_sizes(path):
    d = load(path)
    g = derive(d)
    for sizes in size_combinations(d.dims, 2):
        ex = Explicit(d, sizes)
        for name, form in g.closed.items():
            diff = ex.value(form) - ex.gradient(name)
            assert all(sympy.expand(x) == 0 or sympy.expand(sympy.fraction(sympy.together(x))[0]) == 0
                       for x in diff), (name, text(form), sizes)  # inv, det: rational functions


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_derived_forms_are_proved_in_index_form(path):
    d = load(path)
    for name, form in derive(d).closed.items():
        assert proves_every_size(d, form, name), (name, text(form))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_derived_forms_match_finite_differences(path):
    d = load(path)
    rng = np.random.default_rng(7)
    ref = reference.File(path, [1, 3, -2, 1])
    sizes = {name: 3 for name in d.dims}
    values = reference.random_values(path, sizes, rng)
    env = {**ref.forward(values), **values}
    for name, form in derive(d).closed.items():
        got = ref.eval(text(form), env)
        want = ref.fd_gradient(values, name)
        assert np.allclose(np.broadcast_to(got, want.shape), want, rtol=1e-6, atol=1e-7), name


def test_catalogue_covers_the_notes_and_a_batch_and_two_layers():
    names = {p.stem for p in FILES}
    for base in ["perceptron", "neuron", "layer", "backprop", "layer_batch", "two_layers"]:
        assert base in names and f"{base}_sigmoid" in names


@pytest.mark.parametrize("path", [p for p in FILES if p.parent.name == "derivations"], ids=_id)
def test_the_readme_catalogue_tables_list_every_file_and_its_claims(path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## The catalogue", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if f"`{path.name}`" in line.split(" | ")[0]]
    assert len(rows) == 1, f"README's catalogue has {len(rows)} rows for {path.name}"
    for claim in load(path).claims.values():
        assert f"`dJ/d{claim.wrt}" in rows[0], f"{path.name}: the row does not name dJ/d{claim.wrt}"
