"""The rule tables, checked entry by entry: every activation's derivative
rule against SymPy's `diff`, and every backward rule against SymPy's
scalar differentiation and the index form."""
import pytest
import sympy

from symbolic import BACKWARD, derive, load, text
from symbolic import expr as E
from symbolic.explicit import Explicit, size_combinations
from symbolic.functions import ACTIVATIONS, scalar_form
from symbolic.verify import proves_every_size
from symbolic import windows as W


@pytest.mark.parametrize("name", [n for n, a in ACTIVATIONS.items() if a.prime is not None])
def test_activation_derivative_rule_matches_sympy_diff(name):
    act = ACTIVATIONS[name]
    t = sympy.Symbol("t", positive=True)  # positive: relu, log and recip are smooth there
    rule = scalar_form(act.prime(E.Var("%u", (E.ONE, E.ONE))), t)
    from symbolic.functions import concretize
    rule = concretize(rule, lambda order, s: None)
    assert sympy.simplify(rule - sympy.diff(act.sympy(t), t)) == 0


# One forward formula per primitive of the backward table, over shapes
# with sizes of one among them.  `J` is a scalar loss, `y` has an upstream.
PRIMITIVES = {
    E.MatMul: ("y", "A @ B"),
    E.Add: ("y", "A @ B + C"),
    E.Mul: ("y", "(A @ B) * C"),
    E.Scale: ("y", "3 * (A @ B) / 2"),
    E.Transpose: ("y", "(B.T @ A.T).T"),
    E.Apply: ("y", "g(A @ B) + tanh(C) * softplus(C)"),
    E.Pow: ("y", "(A @ B)**3 - C**2"),
    E.Broadcast: ("y", "A @ B + v + 1"),
    E.Sum: ("J", "sum(sum(A, axis=0) @ B) + sum(sigmoid(C), axis=1).T @ sum(C, axis=1)"),
    E.Const: ("y", "2 * A @ B - 1"),
    E.MatFn: ("y", "inv(A @ A.T + 1) @ C * det(A @ A.T + 1) + logdet(A @ A.T + 1)"),
    # windows: lengths that are positive at every size (n + k - 1, then n again)
    W.Conv: ("y", "conv1d(convolve(B, C), C * C) + convolve(conv1d(convolve(B, C), C), v)"),
    W.Flip: ("y", "flip(B * flip(B)) + flip(A.T @ C) * B"),
    W.Max: ("y", "max(A, axis=0).T * B + max(A @ B, axis=1).T @ C + max(A * A) + max(B, axis=1)"),
    W.MaxMask: ("y", "max_mask(A, axis=1).T @ (A @ B) + B * max_mask(B) + max_mask(A, axis=0).T @ C"),
}


def _file(tmp_path, kind, formula):
    head = 'output = "y"\nupstream = "dY"\n' if kind == "y" else 'output = "J"\n'
    path = tmp_path / "rule.toml"
    path.write_text(head + '[dims]\nn = "a"\nk = "b"\n'
                    '[inputs]\nA = "k x n"\nB = "n x 1"\nC = "k x 1"\nv = "1 x 1"\n'
                    '[functions]\ng = "elementwise"\n'
                    f'[forward]\n{kind} = "{formula}"\n')
    return path


def test_every_backward_rule_has_a_case():
    assert set(PRIMITIVES) == set(BACKWARD)


@pytest.mark.parametrize("node", list(PRIMITIVES), ids=lambda n: n.__name__)
def test_backward_rule_matches_sympy_diff_and_index_form(node, tmp_path):
    d = load(_file(tmp_path, *PRIMITIVES[node]))
    assert any(isinstance(n, node) for e in d.forward.values() for n in E.walk(e)) or node is E.Const
    closed = derive(d).closed
    for sizes in size_combinations(d.dims, 2):
        ex = Explicit(d, sizes)
        for name, form in closed.items():
            diff = ex.value(form) - ex.gradient(name)
            assert all(sympy.expand(x) == 0 or sympy.expand(sympy.fraction(sympy.together(x))[0]) == 0
                       for x in diff), (name, text(form), sizes)  # inv, det: rational functions
    for name, form in closed.items():
        assert proves_every_size(d, form, name), (name, text(form))
