"""The one way outside text reaches generated source.

A name from the derivation file (an input, a dim, a forward value, an
adjoint named after one) is written as an identifier only after
`identifier` has checked it; every other piece of text (the file's name
and path, its title and source, claims, verdicts) is written as a string
literal by `docstring` or `literal`, with every character that could end
the literal, the line or the file escaped.  Numbers are printed from
integers and floats (`codegen.number`).  Names the generated code makes
itself start with `_`, which no name in a derivation file can.
"""
from __future__ import annotations

import keyword
import re

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class GenerationError(ValueError):
    """A derivation whose NumPy code gradproof will not write; the message
    says which name or value and why."""


def identifier(name, what: str = "a name") -> str:
    """`name` as it may appear in generated code: ASCII letters, digits and
    `_`, a letter first, no `__`, no Python keyword."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or "__" in name:
        raise GenerationError(f"{what} {name!r} cannot be written as a Python name "
                              "(expected ASCII letters, digits and `_`, a letter first)")
    if keyword.iskeyword(name):
        raise GenerationError(f"{what} `{name}` is a Python keyword and cannot name a value "
                              "in generated code; rename it")
    return name


def generated(name: str) -> str:
    """A name the generated code makes itself (`_t`, `_sigmoid`): it starts
    with `_`, so no name of a derivation file can be it."""
    if not name.startswith("_") or not name[1:].isidentifier() or keyword.iskeyword(name):
        raise AssertionError(f"not a generated name: {name!r}")
    return name


def literal(value) -> str:
    """A constant as Python source: str, int, float, bool, None, and tuples
    and dicts of those (`repr`, which escapes every string in full)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def docstring(text: str) -> str:
    """`text` as a triple-quoted literal whose value is exactly `text`:
    line breaks other than `\\n`, quotes, backslashes and every character
    that is not printable (NUL, `\\r`, U+2028, surrogates, ...) escaped."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\n")
        elif ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])  # `\x00`, `\u2028`, `\U0001f600`-style escapes
    return '"""' + "".join(out) + '"""'
