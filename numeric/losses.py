"""Scalar losses J(Y, T) and their gradients dJ/dY: the `dY` a layer needs.

One column per example, as in `layer_batch`: `Y` and the targets `T` are
(k, m).  Each loss returns `(J, dY)`, J summed over the batch, both in the
dtype of `Y`, and stays finite without warnings for |Y| up to 1e4 in float32
and float64 (log-sigmoid and log-softmax are never formed as the log of a
rounded probability).

    >>> layer = numeric.gradients("layer_batch", activation="identity")
    >>> Z = layer.forward(W=W, X=X, b=b)
    >>> J, dZ = losses.cross_entropy(Z, T)
    >>> grads = layer(W=W, X=X, b=b, dY=dZ)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .stable import log_sigmoid, log_softmax, sigmoid, softmax


def squared_error(Y, T):
    """J = sum((Y - T)**2) / 2;  dJ/dY = Y - T."""
    _pair(Y, T, "squared_error")
    D = Y - T
    return Y.dtype.type(0.5 * np.vdot(D, D)), D


def logistic(Z, T):
    """Binary cross-entropy of sigmoid(Z) against T in [0, 1]:
    J = -sum(T * log sigmoid(Z) + (1 - T) * log sigmoid(-Z));
    dJ/dZ = sigmoid(Z) - T."""
    _pair(Z, T, "logistic")
    J = -(T * log_sigmoid(Z) + (1 - T) * log_sigmoid(-Z)).sum()
    return Z.dtype.type(J), sigmoid(Z) - T


def cross_entropy(Z, T, axis: int = 0):
    """Cross-entropy of softmax(Z) over each column (the classes) against
    T, columns of probabilities (one-hot labels):
    J = -sum(T * log_softmax(Z));  dJ/dZ = softmax(Z) * sum(T, axis) - T."""
    _pair(Z, T, "cross_entropy")
    J = -(T * log_softmax(Z, axis=axis)).sum()
    return Z.dtype.type(J), softmax(Z, axis=axis) * T.sum(axis=axis, keepdims=True) - T


def _pair(Y, T, name):
    for arg, value in (("Y", Y), ("T", T)):
        if not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name}: `{arg}` must be a float32 or float64 array, got "
                            f"{getattr(value, 'dtype', type(value).__name__)}")
    if Y.shape != T.shape or Y.dtype != T.dtype:
        raise ValueError(f"{name}: `Y` is {Y.dtype} {Y.shape} but `T` is {T.dtype} {T.shape}; "
                         "expected one shape and one dtype")


@dataclass(frozen=True)
class Loss:
    name: str
    fn: Callable  # (Y, T) -> (J, dJ/dY)
    formula: str


LOSSES = {l.name: l for l in [
    Loss("squared_error", squared_error, "sum((Y - T)**2) / 2"),
    Loss("logistic", logistic, "-sum(T * log sigmoid(Z) + (1 - T) * log sigmoid(-Z))"),
    Loss("cross_entropy", cross_entropy, "-sum(T * log softmax(Z, axis=0))"),
]}
