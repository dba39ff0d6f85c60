"""Random layers, written as derivation files: the generated code (shared
subexpressions, in-place chains, reused buffers) against central finite
differences, for shapes and compositions the catalogue does not have."""
from __future__ import annotations

import random

import numpy as np
import pytest

from numeric import gradients
from test_numeric_gradients import central_differences, objective

STEPS = [  # each makes a k x m value from earlier ones (X, Y)
    "tanh({X})", "sigmoid({X})", "softplus({X})", "relu({X})", "{X} * {Y}", "{X} + {Y}", "{X} - {Y}",
    "{X}**2", "{X}**3", "s * {X}", "{X} * c", "A @ (A.T @ {X})", "{X} + sum({X}, axis=1)",
    "{X} * sum({Y}, axis=0)", "{X} / 2", "sigmoid({X}) * (1 - sigmoid({X}))", "(A @ B) * {X} + c",
    "{X} - sum({X})",
]


def random_file(seed: int) -> str:
    rng = random.Random(seed)
    pool, forward = ["D", "H"], ['H = "A @ B + c"']
    for i in range(rng.randint(2, 5)):
        text = rng.choice(STEPS).format(X=rng.choice(pool), Y=rng.choice(pool))
        forward.append(f'F{i} = "{text}"')
        pool.append(f"F{i}")
    return ('title = "random layer"\noutput = "' + pool[-1] + '"\nupstream = "dY"\n'
            '[dims]\nk = "k"\nn = "n"\nm = "m"\n'
            '[inputs]\nA = "k x n"\nB = "n x m"\nc = "k x 1"\nD = "k x m"\ns = "scalar"\n'
            "[forward]\n" + "\n".join(forward) + "\n")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))


@pytest.mark.parametrize("seed", range(30))
def test_random_layer_gradients_agree_with_central_differences(seed, tmp_path):
    f = tmp_path / f"random_{seed}.toml"
    f.write_text(random_file(seed))
    grads = gradients(f)
    rng = np.random.default_rng(seed)
    sizes = {"k": 3, "n": 2, "m": 4}
    arrays = {name: rng.standard_normal(tuple(sizes.get(d, d) for d in grads.shapes[name])) * 0.7
              for name in grads.arguments}
    before = {n: a.copy() for n, a in arrays.items()}
    got = grads(**arrays)
    assert all(np.array_equal(arrays[n], before[n]) for n in arrays), "an argument was written"
    J = objective(grads, arrays)
    for name in grads.inputs:
        fd = central_differences(J, arrays, name)
        scale = max(np.abs(fd).max(), 1e-6 * max(1.0, abs(J(arrays))))  # a zero gradient: rounding
        assert np.abs(got[name] - fd).max() / scale < 1e-6, f"dJ/d{name} of\n{f.read_text()}"
