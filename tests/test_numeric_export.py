"""`gradproof export` and the cache: standalone modules that need only
NumPy, and a second process that loads stored code without SymPy."""
from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from numeric import export, gradients
from symbolic.catalogue import CATALOGUE
from symbolic.cli import main

# Makes `import sympy` fail in the process it starts.
NO_SYMPY = textwrap.dedent("""
    import sys
    class _NoSympy:
        def find_spec(self, name, path=None, target=None):
            if name == "sympy" or name.startswith("sympy."):
                raise ImportError("SymPy is blocked here")
    sys.meta_path.insert(0, _NoSympy())
    try:
        import sympy
    except ImportError:
        pass
    else:
        raise SystemExit("the blocker did not block SymPy")
""")

POINT = textwrap.dedent("""
    import json
    import numpy as np
    rng = np.random.default_rng(7)
    a = {"W": rng.standard_normal((4, 3)), "X": rng.standard_normal((3, 5)),
         "b": rng.standard_normal((4, 1)), "dY": rng.standard_normal((4, 5))}
""")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("GRADPROOF_CACHE", str(path))
    return path


def run(code: str, cache_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, GRADPROOF_CACHE=str(cache_dir))
    return subprocess.run([sys.executable, "-c", NO_SYMPY + code], capture_output=True, text=True, env=env,
                          timeout=120)


def expected():
    namespace = {}
    exec(POINT, namespace)  # the test's own fixed point, not user text
    a = namespace["a"]
    got = gradients("layer_batch", activation="sigmoid")(**a)
    return {n: g.tolist() for n, g in got.items()}


def test_export_writes_a_module_that_imports_only_numpy(cache, tmp_path):
    out = tmp_path / "grads.py"
    assert main(["export", "layer_batch", "--activation", "sigmoid", "-o", str(out)]) == 0
    source = out.read_text()
    imports = {a.name for node in ast.walk(ast.parse(source)) if isinstance(node, (ast.Import, ast.ImportFrom))
               for a in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])}
    assert imports == {"numpy"}
    doc = ast.get_docstring(ast.parse(source))
    assert "    Z = W @ X + b\n    Yhat = sigmoid(Z)" in doc
    assert "    dZ = dY * sigmoid'(Z)\n    dW = dZ @ X.T\n    dX = W.T @ dZ\n    db = sum(dZ, axis=1)" in doc
    assert "sigmoid'(t) = sigmoid(t) * (1 - sigmoid(t))" in doc
    assert "dJ/dW = (dY * sigmoid'(Z)) @ X.T        [proved for every size]" in doc
    assert "dJ/db = sum(dY * g'(Z), axis=1)   [proved for every size]" in doc
    assert source == gradients("layer_batch", activation="sigmoid").source


def test_exported_module_runs_where_sympy_cannot_be_imported(cache, tmp_path):
    out = tmp_path / "grads.py"
    export("layer_batch", activation="sigmoid", out=out)
    code = POINT + textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("grads", {str(out)!r})
        grads = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(grads)
        assert "sympy" not in sys.modules
        print(json.dumps({{n: g.tolist() for n, g in grads.gradients(**a).items()}}))
    """)
    result = run(code, tmp_path / "unused")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected()


def test_a_warm_cache_needs_no_sympy_in_a_new_process(cache):
    code = POINT + textwrap.dedent("""
        import sys
        from numeric import gradients
        grads = gradients("layer_batch", activation="sigmoid", numba=False)
        assert "sympy" not in sys.modules
        print(json.dumps({n: g.tolist() for n, g in grads(**a).items()}))
    """)
    cold = run(code, cache)
    assert cold.returncode != 0 and "SymPy is blocked here" in cold.stderr  # generating needs SymPy
    want = expected()  # generates, in this process, and stores
    warm = run(code, cache)
    assert warm.returncode == 0, warm.stderr
    assert json.loads(warm.stdout) == want


def test_the_cache_follows_the_file_content(cache, tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text((CATALOGUE / "layer_batch.toml").read_text())
    first = gradients(f, activation="tanh")
    stamp = first.cached.stat().st_mtime_ns
    again = gradients(f, activation="tanh")
    assert again.cached == first.cached and again.cached.stat().st_mtime_ns == stamp
    assert gradients(f, activation="relu").cached != first.cached
    f.write_text(f.read_text().replace("Layer over a mini-batch", "A batch layer, retitled"))
    changed = gradients(f, activation="tanh")
    assert changed.cached != first.cached
    assert "A batch layer, retitled" in changed.source and "A batch layer" not in first.source
    assert len(list(cache.glob("*.py"))) == 3


def test_an_unwritable_cache_still_works(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GRADPROOF_CACHE", str(blocker / "cache"))
    grads = gradients("layer", activation="relu")
    assert grads.cached is None
    assert "def gradients(W, x, b, dY):" in inspect.getsource(grads.module.gradients)
    rng = np.random.default_rng(0)
    got = grads(W=rng.standard_normal((2, 3)), x=rng.standard_normal((3, 1)), b=np.zeros((2, 1)),
                dY=np.ones((2, 1)))
    assert set(got) == {"W", "x", "b"}


def test_export_to_stdout_and_bad_input(cache, capsys):
    assert main(["export", "layer_batch_sigmoid"]) == 0
    assert capsys.readouterr().out == gradients("layer_batch_sigmoid").source
    assert main(["export", "layer_batch"]) == 2
    assert "`functions.g`: `g` is generic" in capsys.readouterr().err


def test_file_text_cannot_escape_the_docstring(cache, tmp_path):
    f = tmp_path / "sneaky.toml"
    marker = tmp_path / "pwned"
    title = f'x\\\\""" + __import__("pathlib").Path({str(marker)!r}).touch() + """'
    f.write_text((CATALOGUE / "layer_sigmoid.toml").read_text().replace(
        'title = "Layer: R^n -> R^k, sigmoid"', "title = '''" + title + "'''"))
    grads = gradients(f)
    assert not marker.exists()
    assert 'x\\\\""" + __import__' in grads.module.__doc__


def test_the_readme_shows_the_generated_code(cache):
    readme = (CATALOGUE.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\ndef gradients(W, X, b, dY):")
    shown = readme[start + len("```python\n"):readme.index("```", start + 3)]
    source = gradients("layer_batch", activation="sigmoid").source
    assert shown in source
