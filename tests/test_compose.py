"""Compositional proofs (`symbolic.compose`): deep networks proved layer by
layer, never by trusting the rule table, and never a false proof."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import importlib

import reference
from symbolic import derive, load, verify
from symbolic import expr as E
from symbolic.bench import chain
from symbolic.mutate import mutants
from symbolic.verify import PROVED, UP_TO, scope

LAYER_BY_LAYER = "layer by layer"


def _file(tmp_path, layers, activation):
    path = tmp_path / f"chain{layers}_{activation}.toml"
    path.write_text(chain(layers, activation))
    return path


def reference_agrees(path, wrt, claim, seeds=3):
    rng = np.random.default_rng(0)
    for sizes in ({f"n{i}": 1 for i in range(10)}, {f"n{i}": 2 + i % 2 for i in range(10)}):
        for _ in range(seeds):
            # a gentle polynomial g (near the identity), so that values stay in range through the layers
            f = reference.File(path, [rng.uniform(-0.5, 0.5), 1.0, rng.uniform(-0.3, 0.3), rng.uniform(-0.1, 0.1)])
            values = reference.random_values(path, sizes, rng)
            fd = f.fd_gradient(values, wrt)
            env = f.forward(values)
            env.update(values)
            got = np.broadcast_to(f.eval(claim, env), fd.shape)
            if not np.allclose(got, fd, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(fd).max()))):
                return False
    return True


@pytest.mark.parametrize("activation", ["elementwise", "sigmoid", "tanh"])
def test_a_deep_chain_is_proved_layer_by_layer_and_the_reference_agrees(tmp_path, activation):
    path = _file(tmp_path, 3, activation)
    d = load(path)
    for v in verify(d):
        assert v.status == PROVED and LAYER_BY_LAYER in v.detail, (v.wrt, v.status, v.detail)
        assert reference_agrees(path, v.wrt, v.text), v.wrt


def test_a_wrong_rule_in_the_table_is_caught_not_trusted(tmp_path, monkeypatch):
    """With the elementwise function's rule broken (g where g' belongs),
    the derived closed forms are wrong; claims equal to them must not be
    proved."""
    rules = importlib.import_module("symbolic.derive")
    path = _file(tmp_path, 2, "elementwise")
    text = path.read_text()
    d = load(path)
    monkeypatch.setitem(rules.BACKWARD, E.Apply, lambda e, G: [(e.a, E.mul(G, E.apply(e.fn, e.a, e.order)))])
    wrong = derive(d)
    head = text.partition("[claims]")[0]
    path.write_text(head + "[claims]\n" + "".join(f'{n} = "{E.text(e)}"\n' for n, e in wrong.closed.items()))
    broken = [n for n, e in wrong.closed.items()
              if not reference_agrees(path, n, E.text(e), seeds=1)]
    assert broken  # the rule does break some gradients
    d = load(path)
    verdicts = {v.wrt: v for v in verify(d, grads=wrong, default_budget=10)}
    for name in broken:
        assert verdicts[name].status not in (PROVED, UP_TO), (name, verdicts[name].detail)


def _mutant_claims():
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chain.toml"
        path.write_text(chain(3, "sigmoid"))
        d = load(path)
        out = []
        for c in d.claims.values():
            out += [(c.wrt, m.text) for m in mutants(c.text, *scope(d))]
        return out


MUTANTS = _mutant_claims()


@settings(max_examples=25)
@given(st.sampled_from(MUTANTS))
def test_a_mutant_of_a_deep_claim_is_proved_only_if_the_reference_agrees(tmp_path_factory, mutant):
    wrt, claim = mutant
    folder = tmp_path_factory.mktemp("mutant")
    text = chain(3, "sigmoid")
    path = folder / "chain.toml"
    path.write_text(text.partition("[claims]")[0] + f'[claims]\n{wrt} = "{claim}"\n')
    try:
        d = load(path)
    except Exception:
        return  # a mutant that cannot be formed
    (v,) = verify(d, max_size=1, default_budget=3)
    if v.status in (PROVED, UP_TO):
        assert reference_agrees(path, wrt, claim), (claim, v.detail)
