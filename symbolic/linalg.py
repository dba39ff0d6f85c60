"""Functions of a whole square matrix (`inv`, `det`, `logdet`) and the
matrix facts of data inputs (`symmetric`, `positive definite`,
`orthogonal`): the parts of them that are not the index form's.

- the backward rule of `E.MatFn` (`derive`'s table names it): with
  X = inv(A), dA = -X.T @ G @ X.T; d det(A) = G det(A) inv(A).T;
  d logdet(A) = G inv(A).T;
- where each is defined (`DOMAIN`): `inv` and `det` where det(A) != 0 (the
  gradient needs the inverse), `logdet` where det(A) > 0;
- their exact values at explicit sizes (`explicit_value`: the adjugate
  over the determinant, undefined where the determinant is 0);
- exact points meeting a matrix fact (`fact_point`): a symmetric matrix, a
  positive definite one (B B.T + n I), an orthogonal one (the Cayley
  transform (I - K)(I + K)^-1 of a skew K), all rational.

In the index form (`index`), entry (i, j) of inv(A) is an opaque factor
of A, `Mat("inv", key, n, i, j, symmetric)` (`forms`), whose derivative by
A_pq is -inv_ip inv_qj; det(A) is `Mat("det", key, n, 0, 0, False)`
with the derivative det(A) inv_qp, logdet(A) one with inv_qp.  Where A is
symmetric by its form (its entry (p, q) and (q, p) have one canonical
form), so is its inverse, and the factor's two indices are kept sorted.
"""
from __future__ import annotations

import random

import sympy

from . import expr as E

DOMAIN = {"inv": "nonzero", "det": "nonzero", "logdet": "positive"}  # a condition on det(A)
# Facts on a square data input (`derivation.FACTS`), and those that make it symmetric.
MATRIX_FACTS = ("symmetric", "positive definite", "orthogonal")
SYMMETRIC = ("symmetric", "positive definite")


def backward(e: E.MatFn, G: E.Expr) -> list:
    """(child, adjoint of the child) for `e` = fn(A) with adjoint `G`."""
    inv_t = E.transpose(E.matfn("inv", e.a))
    if e.fn == "inv":
        return [(e.a, E.scale(-1, E.matmul(E.matmul(inv_t, G), inv_t)))]
    if e.fn == "det":
        return [(e.a, E.mul(E.mul(G, e), inv_t))]
    return [(e.a, E.mul(G, inv_t))]  # logdet


def det_of(e: E.MatFn) -> E.Expr:
    """det(A) of `e` = fn(A): what the domain of `e` is a condition on."""
    return E.matfn("det", e.a)


def explicit_value(fn: str, m: sympy.Matrix) -> sympy.Matrix:
    """fn of an explicit matrix (symbols or numbers): the determinant by
    Berkowitz's method (no division), the inverse as the adjugate over it;
    every entry undefined (`nan`) where the determinant is exactly 0, or,
    for `logdet`, not positive."""
    det = sympy.expand(m.det(method="berkowitz")) if m.rows > 1 else m[0, 0]
    if det.is_zero or (fn == "logdet" and det.is_nonpositive):
        return sympy.Matrix(m.rows if fn == "inv" else 1, m.cols if fn == "inv" else 1,
                            lambda i, j: sympy.nan)
    if fn == "det":
        return sympy.Matrix([[det]])
    if fn == "logdet":
        return sympy.Matrix([[sympy.log(det)]])
    if m.rows == 1:
        return sympy.Matrix([[1 / det]])
    adj = m.adjugate(method="berkowitz")
    return adj.applyfunc(lambda x: x / det)


# ---------------------------------------------------------------- points meeting a fact

def fact_point(fact: str, n: int, rng: random.Random) -> sympy.Matrix:
    """An n x n rational matrix meeting `fact`: small entries, so that a
    counterexample stays readable."""
    small = lambda: sympy.Rational(rng.choice([-1, 1]) * rng.randint(1, 3), rng.randint(1, 2))  # noqa: E731
    if fact == "symmetric":
        b = sympy.Matrix(n, n, lambda i, j: small())
        return sympy.Matrix(n, n, lambda i, j: b[min(i, j), max(i, j)])
    if fact == "positive definite":  # B B.T + n I: symmetric, every eigenvalue at least n
        b = sympy.Matrix(n, n, lambda i, j: small())
        return b * b.T + n * sympy.eye(n)
    assert fact == "orthogonal", fact
    # Cayley: K skew, so I + K is invertible and (I - K)(I + K)^-1 is orthogonal; a signed
    # permutation of its rows too
    k = sympy.zeros(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            k[i, j] = small()
            k[j, i] = -k[i, j]
    q = (sympy.eye(n) - k) * (sympy.eye(n) + k).inv()
    order = list(range(n))
    rng.shuffle(order)
    signs = [rng.choice([-1, 1]) for _ in range(n)]
    return sympy.Matrix(n, n, lambda i, j: signs[i] * q[order[i], j])

def symmetric_given(m: sympy.Matrix) -> dict:
    """The entries below the diagonal of a matrix of symbols, each as the
    one above it: what `symmetric` makes exact."""
    return {m[i, j]: m[j, i] for i in range(m.rows) for j in range(m.cols) if i > j}
