"""Every node of the matrix IR has every concern: each sample below is read,
printed back as text and as LaTeX (matrix and entry form), rebuilt from its
children, differentiated by the rule table, given an index form in which
its derived gradients are proved for every size, valued at explicit sizes,
and turned into NumPy code whose gradients the independent reference's
finite differences confirm.  A node class that no sample uses fails here
by name: a new node is added with its sample, and this test then says
which concern lacks it."""
import numpy as np
import pytest
import sympy

import reference
from numeric import gradients
from symbolic import derive, load
from symbolic import expr as E
from symbolic.explicit import Explicit
from symbolic.tex import latex
from symbolic.verify import derived_text, proves_every_size

HEAD = '''
output = "Y"
upstream = "dY"
[dims]
k = "rows"
n = "inner"
m = "columns"
[inputs]
W = "k x n"
X = "n x m"
b = "k x 1"
Z = "k x m"
[forward]
'''

# node class -> a forward definition of Y (k x m) that uses it
SAMPLES = {
    "MatMul": "W @ X",
    "Add": "W @ X + Z",
    "Var": "Z",
    "Const": "Z * 0 + 3",
    "Scale": "2 * Z",
    "Mul": "Z * (W @ X)",
    "Transpose": "(X.T @ W.T).T",
    "Apply": "tanh(Z) * exp(Z)",
    "Pow": "Z ** 3",
    "Broadcast": "Z + b",
    "Sum": "Z * sum(Z, axis=0) + sum(Z * Z, axis=1) + sum(Z)",
    "MatFn": "inv(W @ W.T + eye(k)) @ Z * logdet(W @ W.T + eye(k)) + det(W @ W.T + eye(k)) * Z",
    "Conv": "Z * conv1d(convolve(b, b), b)",
    "Flip": "Z * flip(b * b)",
    "Max": "Z * max(Z, axis=0) + max(W @ X, axis=1)",
    "MaxMask": "Z * max_mask(W @ X, axis=0)",
}


def _node_classes():
    out, todo = set(), [E.Expr]
    while todo:
        for sub in todo.pop().__subclasses__():
            if not sub.__name__.startswith("_") and sub.__module__.startswith("symbolic."):
                out.add(sub)  # not `_Unary`, `_Binary` (bases), nor code generation's own nodes
            todo.append(sub)
    return out


def test_every_node_class_has_a_sample_that_uses_it(sample_file):
    used = set()
    for name, text in SAMPLES.items():
        d = load(sample_file(text))
        used.update(type(n) for e in [*d.forward.values(), *derive(d).closed.values()] for n in E.walk(e))
        assert name in {type(n).__name__ for n in E.walk(d.forward["Y"])}, f"the sample of {name} does not use it"
    missing = sorted(c.__name__ for c in _node_classes() - used)
    assert not missing, f"IR nodes without a sample here: {missing}"


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory):
    """The derivation file of a sample's text."""
    def write(text):
        path = tmp_path_factory.mktemp("node") / "node.toml"
        path.write_text(HEAD + f'Y = "{text}"\n', encoding="utf-8")
        return path
    return write


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_concern_handles_the_node(name, sample_file):
    path = sample_file(SAMPLES[name])
    d = load(path)
    g = derive(d)
    nodes = [n for e in [*d.forward.values(), *g.closed.values()] for n in E.walk(e)]
    for n in nodes:  # rebuilt from its own children: the same node
        assert E.rebuild(n, list(n.children())) == n, E.text(n)
    for wrt, form in g.closed.items():
        again = d.parser().parse(derived_text(form))  # printed as text and read back
        assert proves_every_size(d, again, wrt), (name, wrt, derived_text(form))
        assert latex(form) and latex(form, index=True), (name, wrt)
        ex = Explicit(d, {sympy.Symbol(s, integer=True, positive=True): 2 for s in ("k", "n", "m")})
        diff = ex.value(form) - ex.gradient(wrt)
        assert all(sympy.simplify(x) == 0 for x in diff), (name, wrt)
    fn = gradients(path)
    rng = np.random.default_rng(7)
    values = reference.random_values(path, {"k": 2, "n": 3, "m": 2}, rng)
    got = fn(**values)
    for wrt in ("W", "X", "b", "Z"):
        np.testing.assert_allclose(got[wrt], reference.File(path).fd_gradient(values, wrt),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{name}: dJ/d{wrt}")
