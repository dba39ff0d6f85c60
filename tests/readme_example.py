"""The message README quotes for `check_backward` on a backward pass with
`g` where `g'` belongs (`tests/readme.py` runs this and compares)."""
import numpy as np

from numeric.testing import check_backward


def my_backward(W, X, b, dY):
    S = 1 / (1 + np.exp(-(W @ X + b)))
    D = dY * S                                    # sigmoid(Z) where sigmoid'(Z) belongs
    return {"W": D @ X.T, "X": W.T @ D, "b": D.sum(axis=1, keepdims=True)}


try:
    check_backward(my_backward, "layer_batch", activation="sigmoid")
except AssertionError as err:
    print(err)
else:
    raise SystemExit("check_backward passed a backward pass with g where g' belongs")
