"""Texts several test files share: a generic layer, and numbers read back
out of typeset reports."""
import re
from fractions import Fraction

LAYER = '''
title = "a layer"
output = "yhat"
upstream = "dY"
[dims]
n = "inputs"
k = "neurons"
[inputs]
W = "k x n"
x = "n x 1"
b = "k x 1"
[functions]
g = "elementwise"
[forward]
z = "W @ x + b"
yhat = "g(z)"
'''


def number_from_tex(tex: str) -> Fraction:
    """`-\\frac{3}{2}` or `4` -> the exact number."""
    tex = tex.strip()
    m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", tex)
    if m:
        return Fraction(int(m.group(2)), int(m.group(3))) * (-1 if m.group(1) else 1)
    return Fraction(tex)


def evaluate(e, point: dict, functions: dict, rows: int = 1):
    """The IR expression `e` at `point` (a name -> a float, or a column of
    `rows` entries), each table function from `functions` (name -> callable,
    which raises ArithmeticError where it is undefined): NumPy's arithmetic,
    independent of the index form it checks."""
    import numpy as np

    from symbolic import expr as E
    t = type(e)
    if t is E.Var:
        return point[e.name]
    if t is E.Const:
        return float(e.value)
    kids = [evaluate(c, point, functions, rows) for c in e.children()]
    if t is E.Add:
        return kids[0] + kids[1]
    if t is E.Mul:
        return kids[0] * kids[1]
    if t is E.Scale:
        return float(e.c) * kids[0]
    if t is E.Pow:
        return kids[0] ** e.p
    if t is E.Broadcast:
        return kids[0] if np.ndim(kids[0]) == 0 else np.broadcast_to(kids[0], (rows, 1))
    if t is E.Sum:
        return kids[0].sum(axis=0, keepdims=True)
    if t is E.Apply:
        return functions[e.fn](kids[0])
    raise TypeError(t)
