"""`gradproof export --target torch|jax`: the module text, checked without
the framework; and, where the framework is installed, its autograd checked
against finite differences (`torch.autograd.gradcheck`,
`jax.test_util.check_grads`) over the catalogue."""
from __future__ import annotations

import ast
import importlib.util

import numpy as np
import pytest

from numeric import export, gradients
from symbolic import catalogue_files, load
from symbolic.cli import main

FRAMEWORKS = ["torch", "jax"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path_factory.getbasetemp() / "gradproof-cache"))


def _cases():
    """Every catalogue file (tanh for a generic function), and the batch
    layer with every activation that has a derivative almost everywhere."""
    for f in catalogue_files():
        act = "tanh" if load(f).generic else None
        yield pytest.param(str(f), act, id=f"{f.stem}-{act or 'as-written'}")
    for act in ("sigmoid", "relu", "softplus", "identity", "exp", "log"):
        yield pytest.param("layer_batch", act, id=f"layer_batch-{act}")


CASES = list(_cases())


def imports(source: str) -> set:
    tree = ast.parse(source)
    return {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names} | \
        {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def load_module(source: str, tmp_path, name: str):
    """The exported text as a module, imported from a file as a user would."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # text gradproof generated
    return module


def point(grads, activation, seed=0) -> list:
    """The inputs at sizes 2 to 4, away from kinks; positive for `log`."""
    rng = np.random.default_rng(seed)
    sizes, out = {}, []
    for name in grads.inputs:
        shape = tuple(d if isinstance(d, int) else sizes.setdefault(d, int(rng.integers(2, 5)))
                      for d in grads.shapes[name])
        a = rng.uniform(0.5, 1.5, shape) if activation == "log" else rng.standard_normal(shape)
        out.append(np.where(np.abs(a) < 0.05, 0.3, a))
    return out


# ---------------------------------------------------------------- the text, without the framework

@pytest.mark.parametrize("target", FRAMEWORKS)
def test_module_text_imports_only_the_framework_and_numpy(target, tmp_path):
    out = tmp_path / f"layer_{target}.py"
    assert main(["export", "layer_batch", "--activation", "sigmoid", "--target", target, "-o", str(out)]) == 0
    source = out.read_text()
    assert source == export("layer_batch", activation="sigmoid", target=target)
    assert imports(source) == {target, "numpy"}
    doc = ast.get_docstring(ast.parse(source))
    assert "dJ/dW = (dY * sigmoid'(Z)) @ X.T        [proved for every size]" in doc
    assert "dJ/db = sum(dY * g'(Z), axis=1)   [proved for every size]" in doc
    assert ("PyTorch: `apply(*inputs)`" if target == "torch" else "JAX: `apply(*inputs)`") in doc
    numpy = gradients("layer_batch", activation="sigmoid").source
    body = numpy[numpy.index('"""\n', 3) + 4:]
    assert body in source  # the same checked NumPy functions, unchanged
    names = {n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {"forward", "gradients", "apply"} <= names
    assert ("Function" in names) == (target == "torch")


def test_numpy_target_is_the_numpy_module_and_unknown_targets_are_refused(capsys):
    assert export("layer_batch", activation="sigmoid", target="numpy") == \
        gradients("layer_batch", activation="sigmoid").source
    with pytest.raises(ValueError, match="`target` 'tensorflow' is not one of numpy, torch, jax"):
        export("layer_batch", activation="sigmoid", target="tensorflow")
    with pytest.raises(SystemExit):
        main(["export", "layer_batch", "--activation", "sigmoid", "--target", "tensorflow"])
    assert "invalid choice: 'tensorflow'" in capsys.readouterr().err


@pytest.mark.parametrize("target", FRAMEWORKS)
def test_file_text_stays_in_the_docstring(target, tmp_path):
    from symbolic.catalogue import CATALOGUE
    f = tmp_path / "sneaky.toml"
    marker = tmp_path / "pwned"
    title = f'x\\\\""" + __import__("pathlib").Path({str(marker)!r}).touch() + """'
    f.write_text((CATALOGUE / "layer_sigmoid.toml").read_text().replace(
        'title = "Layer: R^n -> R^k, sigmoid"', "title = '''" + title + "'''"))
    source = export(f, target=target)
    assert imports(source) == {target, "numpy"}
    assert 'x\\\\""" + __import__' in ast.get_docstring(ast.parse(source))
    assert not marker.exists()


# ---------------------------------------------------------------- PyTorch

@pytest.mark.parametrize("name, activation", CASES)
def test_torch_autograd_gives_the_verified_gradients(name, activation, tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    module = load_module(export(name, activation=activation, target="torch"), tmp_path, "exported_torch")
    grads = gradients(name, activation=activation)
    inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in point(grads, activation)]
    assert torch.autograd.gradcheck(module.apply, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)
    out = module.apply(*inputs)
    upstream = torch.randn(out.shape, dtype=torch.float64)
    got = torch.autograd.grad(out, inputs, upstream)
    want = grads(*[t.detach().numpy() for t in inputs], *([upstream.numpy()] if grads.upstream else []))
    for n, g in zip(grads.inputs, got):
        w = want[n] if grads.upstream else want[n] * upstream.numpy()
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-12, atol=1e-12, err_msg=n)


def test_torch_keeps_float32_and_saves_only_the_inputs(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    module = load_module(export("layer_batch", activation="sigmoid", target="torch"), tmp_path, "exported_torch")
    W, X, b = (torch.randn(s, dtype=torch.float32, requires_grad=True) for s in ((4, 3), (3, 5), (4, 1)))
    out = module.apply(W, X, b)
    assert out.dtype == torch.float32
    assert [tuple(t.shape) for t in out.grad_fn.saved_tensors] == [(4, 3), (3, 5), (4, 1)]
    out.sum().backward()
    assert W.grad.dtype == X.grad.dtype == b.grad.dtype == torch.float32
    want = torch.sigmoid(W.detach() @ X.detach() + b.detach())
    torch.testing.assert_close(out.detach(), want)


# ---------------------------------------------------------------- JAX

@pytest.fixture
def jax64():
    jax = pytest.importorskip("jax", reason="JAX is not installed")
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", before)


@pytest.mark.parametrize("name, activation", CASES)
def test_jax_custom_vjp_gives_the_verified_gradients(name, activation, tmp_path, jax64):
    jax = jax64
    from jax.test_util import check_grads
    module = load_module(export(name, activation=activation, target="jax"), tmp_path, "exported_jax")
    grads = gradients(name, activation=activation)
    inputs = tuple(jax.numpy.asarray(a) for a in point(grads, activation))
    check_grads(module.apply, inputs, order=1, modes=("rev",), eps=1e-6, atol=1e-5, rtol=1e-5)
    out, vjp = jax.vjp(jax.jit(module.apply), *inputs)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    got = vjp(jax.numpy.asarray(upstream))
    want = grads(*map(np.asarray, inputs), *([upstream] if grads.upstream else []))
    for n, g in zip(grads.inputs, got):
        w = want[n] if grads.upstream else want[n] * upstream
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12, atol=1e-12, err_msg=n)
