"""gradproof's symbolic core: read derivations, derive gradients, verify claims.

    >>> from symbolic import load, derive, verify
    >>> d = load("derivations/layer.toml")
    >>> derive(d).closed["W"]            # dJ/dW = (dY * g'(z)) @ x.T
    >>> [v.status for v in verify(d)]    # [Status.PROVED, Status.PROVED]: each == 'proved'
    >>> print(latex(d, wrt="W"))         # dJ/dW in LaTeX, in the notes' notation

The names below are imported on first use, so that `gradproof --help`,
`gradproof list` and a run answered from the verdict cache start without
importing SymPy.  The first name that imports SymPy also imports
`symbolic.notebook`, which gives `Derivation`, `Gradients` and `Verdict`
their notebook reprs.
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
    "DerivationError": "errors", "ExprError": "errors", "ShapeError": "errors",
    "Status": "status",
    "BACKWARD": "derive", "Gradients": "derive", "derive": "derive",
    "Expr": "expr", "text": "expr",
    "ACTIVATIONS": "functions",
    "Claim": "derivation", "Derivation": "derivation", "load": "load",
    "Counterexample": "verify", "Repair": "verify", "Verdict": "verify", "verify": "verify",
    "latex": "tex",
}
_LIGHT = {"catalogue", "errors", "status"}  # modules that import no SymPy

__all__ = ["load", "derive", "verify", "resolve", "catalogue_files", "text", "Derivation", "Claim",
           "Gradients", "Verdict", "Counterexample", "Repair", "Expr", "ACTIVATIONS", "BACKWARD",
           "DerivationError", "ExprError", "ShapeError", "Status", "latex"]


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
    if _WHERE[name] not in _LIGHT:
        importlib.import_module(".notebook", __name__)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
