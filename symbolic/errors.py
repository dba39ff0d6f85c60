"""The errors gradproof raises for bad input, in a module with no heavy
imports: `gradproof list`, a cached run and `numeric.gradients` catch and
raise them without importing SymPy.

Every message names the file (or text) and the key, what was expected and
what came.
"""
from __future__ import annotations


class DerivationError(ValueError):
    """Bad input in a derivation file."""

    def __init__(self, path, key, message):
        self.path, self.key, self.message = str(path), key, message
        where = f"{path}: `{key}`" if key else f"{path}"
        super().__init__(printable(f"{where}: {message}"))  # one line, whatever names the file holds


class ExprError(ValueError):
    """Text outside the expression grammar; the message says what and where."""


class ShapeError(ValueError):
    """Two shapes that cannot meet; the message says which."""


class FormTooLarge(ArithmeticError):
    """An index form past `index.MAX_TERMS` terms or `index.MAX_FACTORS`
    factors a term: the form is not written out (its memory would grow
    without bound)."""


def printable(text) -> str:
    """`text` on one line: a newline or other control character escaped."""
    text = str(text)
    return text if text.isprintable() else repr(text)[1:-1]
