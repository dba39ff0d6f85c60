"""gradproof's symbolic core: read derivations, derive gradients, verify claims.

    >>> from symbolic import load, derive, verify
    >>> d = load("derivations/layer.toml")
    >>> derive(d).closed["W"]            # dJ/dW = (dY * g'(z)) @ x.T
    >>> [v.status for v in verify(d)]    # ['proved', 'proved', 'proved']
    >>> print(latex(d, wrt="W"))         # dJ/dW in LaTeX, in the notes' notation
"""
import sys

# A network's forward values nest as deep as the network (up to
# `parse.MAX_INLINED_DEPTH` levels), and the checks recurse through them.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

from .catalogue import catalogue_files, resolve  # noqa: E402
from .derive import BACKWARD, Gradients, derive  # noqa: E402
from .expr import Expr, ShapeError, text  # noqa: E402
from .functions import ACTIVATIONS  # noqa: E402
from .load import Claim, Derivation, DerivationError, load  # noqa: E402
from .parse import ExprError  # noqa: E402
from .verify import Counterexample, Repair, Verdict, verify  # noqa: E402
from .tex import latex  # noqa: E402

__all__ = ["load", "derive", "verify", "resolve", "catalogue_files", "text", "Derivation", "Claim",
           "Gradients", "Verdict", "Counterexample", "Repair", "Expr", "ACTIVATIONS", "BACKWARD",
           "DerivationError", "ExprError", "ShapeError", "latex"]
