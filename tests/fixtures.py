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
