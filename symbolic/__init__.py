"""gradproof's symbolic core: read derivations, derive gradients, verify claims.

    >>> from symbolic import load, derive, verify
    >>> d = load("derivations/layer.toml")
    >>> derive(d).closed["W"]            # dJ/dW = (dY * g'(z)) @ x.T
    >>> [v.status for v in verify(d)]    # ['proved', 'proved', 'proved']
    >>> print(latex(d, wrt="W"))         # dJ/dW in LaTeX, in the notes' notation

The names below are imported on first use, so that `gradproof --help`,
`gradproof list` and a run answered from the verdict cache start without
importing SymPy.
"""
import importlib
import sys
import types

# A network's forward values nest as deep as the network (up to
# `parse.MAX_INLINED_DEPTH` levels), and the checks recurse through them.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

__version__ = "0.1.0"

_WHERE = {  # public name -> the module that defines it
    "catalogue_files": "catalogue", "resolve": "catalogue",
    "BACKWARD": "derive", "Gradients": "derive", "derive": "derive",
    "Expr": "expr", "ShapeError": "expr", "text": "expr",
    "ACTIVATIONS": "functions",
    "Claim": "load", "Derivation": "load", "DerivationError": "load", "load": "load",
    "ExprError": "parse",
    "Counterexample": "verify", "Repair": "verify", "Verdict": "verify", "verify": "verify",
    "latex": "tex",
}

__all__ = ["load", "derive", "verify", "resolve", "catalogue_files", "text", "Derivation", "Claim",
           "Gradients", "Verdict", "Counterexample", "Repair", "Expr", "ACTIVATIONS", "BACKWARD",
           "DerivationError", "ExprError", "ShapeError", "latex"]


class _Package(types.ModuleType):
    """`symbolic.load`, `.derive`, `.verify` stay the functions once their
    modules are imported, as they would be had this file imported them."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'symbolic' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
