"""gradproof's symbolic core: read derivations, derive gradients, verify claims.

    >>> from symbolic import load, derive, verify
    >>> d = load("derivations/layer.toml")
    >>> derive(d).closed["W"]            # dJ/dW = (dY * g'(z)) @ x.T
    >>> [v.status for v in verify(d)]    # ['proved', 'proved', 'proved']
    >>> print(latex(d, wrt="W"))         # dJ/dW in LaTeX, in the notes' notation
"""
from .catalogue import catalogue_files, resolve
from .derive import BACKWARD, Gradients, derive
from .expr import Expr, ShapeError, text
from .functions import ACTIVATIONS
from .load import Claim, Derivation, DerivationError, load
from .parse import ExprError
from .verify import Counterexample, Repair, Verdict, verify
from .tex import latex

__all__ = ["load", "derive", "verify", "resolve", "catalogue_files", "text", "Derivation", "Claim",
           "Gradients", "Verdict", "Counterexample", "Repair", "Expr", "ACTIVATIONS", "BACKWARD",
           "DerivationError", "ExprError", "ShapeError", "latex"]
