"""NumPy gradient functions generated from the expressions `symbolic` derives.

    >>> from numeric import gradients
    >>> grads = gradients("layer_batch", activation="sigmoid")
    >>> grads(W=W, X=X, b=b, dY=dY)     # {"W": dJ/dW, "X": dJ/dX, "b": dJ/db}
    >>> grads.forward(W=W, X=X, b=b)    # Yhat = sigmoid(W @ X + b)
    >>> print(grads.source)             # the generated module, NumPy only

`numeric.losses` gives stable losses and their gradients (the `dY` of a layer).
"""
from . import losses
from .compile import GradientFunction, export, gradients

__all__ = ["gradients", "export", "GradientFunction", "losses"]
