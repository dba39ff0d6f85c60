"""Notebook reprs: what `load`, `derive` and `verify` return renders as math.

The data classes do not import their printers (arrows run from the
printers down to the data), so their `_repr_latex_` and `_repr_markdown_`
are attached here, from the printers' side.  `symbolic`'s own names
(`from symbolic import load`) import this module; code that imports
`symbolic.load` directly can `import symbolic.notebook` for the reprs.
"""
from __future__ import annotations

from .derivation import Derivation
from .derive import Gradients
from .report import derivation_markdown, verdict_markdown
from .tex import derivation_latex, gradients_latex, verdict_latex
from .verdicts import Verdict

REPRS = {  # class: {repr method: the printer that writes it}
    Derivation: {"_repr_latex_": derivation_latex, "_repr_markdown_": derivation_markdown},
    Gradients:  {"_repr_latex_": gradients_latex},
    Verdict:    {"_repr_latex_": verdict_latex, "_repr_markdown_": verdict_markdown},
}


def attach() -> None:
    """Give each class of `REPRS` its notebook reprs."""
    for cls, methods in REPRS.items():
        for name, printer in methods.items():
            setattr(cls, name, printer)


attach()
