"""The index form: its factors, canonical renaming, deltas, unused sums and sizes of one."""
import pickle

import sympy

from symbolic import expr as E
from symbolic import index as I

n, k = (sympy.Symbol(s, integer=True, positive=True) for s in "nk")
W, V = E.Var("W", (k, n)), E.Var("V", (k, n))
x, y = E.Var("x", (n, E.ONE)), E.Var("y", (n, E.ONE))


def same(a, b) -> bool:
    return I.difference(I.index_form(a, {}), I.index_form(b, {})) == ()


def test_bound_indices_are_renamed_canonically():
    assert same(E.matmul(W, x), E.transpose(E.matmul(E.transpose(x), E.transpose(W))))
    assert same(E.matmul(E.transpose(x), y), E.matmul(E.transpose(y), x))


def test_different_contractions_stay_different():
    assert not same(E.matmul(E.transpose(W), W), E.matmul(E.transpose(V), W))
    assert not same(E.matmul(E.transpose(x), y), E.matmul(E.transpose(x), x))


def test_like_terms_collect_and_cancel():
    wx = E.matmul(W, x)
    assert same(E.add(wx, wx), E.scale(2, wx))
    assert I.index_form(E.sub(wx, wx), {}) == ()


def test_a_sum_over_an_unused_index_becomes_the_dim():
    ones = E.broadcast(E.const(1), (n, E.ONE))
    ((bound, factors, coeff),) = I.index_form(E.sum_axis(ones, None), {})
    assert bound == () and factors == () and coeff == n


def test_deltas_are_summed_out_in_derivatives():
    # J = x.T @ x: dJ/dx = 2 x
    truth = I.gradient({"J": E.matmul(E.transpose(x), x)}, E.Var("J", (E.ONE, E.ONE)), None, x)
    assert I.difference(truth, I.index_form(E.scale(2, x), {})) == ()


def test_sizes_of_one_use_the_fixed_index():
    r = E.Var("r", (E.ONE, n))
    ((_, factors, _),) = I.index_form(r, {})
    assert factors == (I.Entry("r", 0, "q"),) and (factors[0].name, factors[0].i, factors[0].j) == ("r", 0, "q")


def test_a_factor_is_read_by_name_and_is_the_plain_tuple_of_its_items():
    f, g = I.Entry("S", "p", "q", "sym"), I.Fn("exp", 1, 7, ("p", None))
    assert (f.kind, f.name, f.i, f.j, f.sym, I.Entry("S", "p", "q").sym) == ("E", "S", "p", "q", True, False)
    assert (g.kind, g.fn, g.order, g.key, g.args) == ("F", "exp", 1, 7, ("p", None))
    assert g == ("F", "exp", 1, 7, ("p", None)) and hash(g) == hash(tuple(g)) and repr(g) == repr(tuple(g))
    assert pickle.loads(pickle.dumps(f)) == f and type(pickle.loads(pickle.dumps(f))) is I.Entry


def test_function_arguments_meet_however_written():
    g1 = E.apply("g", E.add(E.matmul(W, x), E.Var("b", (k, E.ONE))))
    g2 = E.apply("g", E.add(E.Var("b", (k, E.ONE)), E.transpose(E.matmul(E.transpose(x), E.transpose(W)))))
    assert same(g1, g2)
    assert not same(g1, E.apply("g", E.matmul(W, x)))


def test_activation_derivatives_are_rewritten_by_their_rule():
    z = E.matmul(W, x)
    s = E.apply("sigmoid", z)
    assert same(E.apply("sigmoid", z, 1), E.mul(s, E.sub(E.const(1), s)))
    t = E.apply("tanh", z)
    assert same(E.apply("tanh", z, 1), E.sub(E.const(1), E.mul(t, t)))
    assert not same(E.apply("tanh", z, 1), E.mul(t, E.sub(E.const(1), t)))


def test_forms_belong_to_their_context_and_compare_by_their_terms():
    a, b = I.Context({}), I.Context({})
    arg = E.add(E.matmul(W, x), E.mul(E.matmul(V, y), E.matmul(W, x)))
    fa, fb = a.key(arg), b.key(arg)
    assert fa is a.key(arg) and fa is not fb  # one object per form within a context, none shared
    assert fa == fb and hash(fa) == hash(fb) and repr(fa) == repr(fb) and I.form(fa) == I.form(fb)
    assert a.key(E.matmul(V, x)) != fa and repr(a.key(E.matmul(V, x))) != repr(fa)
    # nothing kept for the life of the process: the module holds no table of forms
    assert [n for n, v in vars(I).items() if isinstance(v, (dict, list, set)) and not n.isupper()
            and not n.startswith("__")] == []


def test_a_form_prints_the_same_in_every_process():
    import subprocess
    import sys
    from pathlib import Path
    code = ("import sympy; from symbolic import expr as E, index as I; "
            "n = sympy.Symbol('n', integer=True, positive=True); "
            "x = E.Var('x', (n, E.ONE)); print(repr(I.Context({}).key(E.apply('g', x))))")
    root = Path(__file__).parent.parent
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed}, cwd=root).stdout for seed in ("1", "2")}
    assert len(runs) == 1 and runs.pop().strip().isdigit()
