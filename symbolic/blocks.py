r"""A document as blocks, and its two writers: Markdown with `$` math, and
LaTeX for pdflatex.

`symbolic.report` builds a report as a list of blocks (`Heading`, `Para`,
`Display`, `Verbatim`, `Table`) of inline parts (text, math, code, a
verdict's mark); `markdown_blocks` and `tex_blocks` only write them out.
A verdict's mark is looked up in `MARKS`, keyed by `Status`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .status import Status
from .texexpr import GREEK, TEXT_ESCAPES, text_tex

MARKS = {  # status: (Markdown, LaTeX)
    Status.PROVED:  ("✓", r"\textcolor{proved}{$\checkmark$}"),
    Status.UP_TO:   ("✓", r"\textcolor{proved}{$\checkmark$}"),
    Status.REFUTED: ("✗", r"\textcolor{wrong}{$\times$}"),
    Status.SHAPE:   ("✗", r"\textcolor{wrong}{$\times$}"),
    Status.UNKNOWN: ("?", r"\textcolor{unknown}{?}"),
}


# ---------------------------------------------------------------- blocks

@dataclass
class Heading:
    level: int
    parts: list


@dataclass
class Para:
    parts: list


@dataclass
class Display:
    tex: str


@dataclass
class Verbatim:
    """Source text shown as written (a code block), broken at spaces in LaTeX."""
    text: str
    lang: str = ""  # the Markdown fence's language


@dataclass
class Table:
    header: list  # of cells; a cell is a list of parts
    rows: list
    wide: int = -1  # the column that takes the spare width in LaTeX
    widths: dict = field(default_factory=dict)  # column -> its share of the line in LaTeX (wraps)


def text(s):
    return ("text", s)


def math(s):
    return ("math", s)


def code(s):
    return ("code", s)


def mark(status):
    return ("mark", status)


def rich(s: str) -> list:
    """Text with `code` spans, as parts."""
    return [code(x) if k % 2 else text(x) for k, x in enumerate(s.split("`")) if x]


def _written(parts, writers: dict) -> str:
    """Inline parts, each by the writer of its kind in `writers`."""
    out = []
    for kind, s in parts:
        if kind not in writers:
            raise ValueError(f"unknown part {kind!r}")
        out.append(writers[kind](s))
    return "".join(out)


# ---------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#$~])")


_MD_PARTS = {  # a part's kind: how Markdown writes it
    "text": lambda s: _MD_SPECIAL.sub(r"\\\1", s),
    "math": lambda s: f"${s}$",
    "code": lambda s: f"``{s}``" if "`" in s else f"`{s}`",
    "mark": lambda s: MARKS[s][0],
}


def _md_parts(parts) -> str:
    return _written(parts, _MD_PARTS)


def markdown_blocks(bs: list) -> str:
    out = []
    for b in bs:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + _md_parts(b.parts))
        elif isinstance(b, Para):
            out.append(_md_parts(b.parts))
        elif isinstance(b, Display):
            out.append(f"$$\n{b.tex}\n$$")
        elif isinstance(b, Verbatim):
            fence = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", b.text)), default=0))
            out.append(f"{fence}{b.lang}\n{b.text}\n{fence}")
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_parts(c) for c in row) + " |" for row in [b.header, *b.rows]]
            out.append("\n".join([lines[0], "|" + "---|" * len(b.header)] + lines[1:]))
    return "\n\n".join(out) + "\n"


# ---------------------------------------------------------------- LaTeX document

PREAMBLE = r"""\documentclass[a4paper,10pt]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\usepackage[margin=2cm]{geometry}
\usepackage{longtable,array}
\usepackage{color,graphicx}
% a display wider than the line is scaled down to fit it
\newsavebox{\fitbox}
\newcommand{\fit}[1]{\sbox{\fitbox}{$\displaystyle #1$}%
  \ifdim\wd\fitbox>\linewidth\resizebox{\linewidth}{!}{\usebox{\fitbox}}\else\usebox{\fitbox}\fi}
\definecolor{proved}{rgb}{0,0.45,0}
\definecolor{wrong}{rgb}{0.75,0,0}
\definecolor{unknown}{rgb}{0.6,0.4,0}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6ex}
\allowdisplaybreaks
\newcommand{\roomfor}[1]{\par\vskip 0pt plus #1\penalty-200\vskip 0pt plus -#1\relax}
\title{gradproof report}
\date{}
\begin{document}
\maketitle
"""

_TEX_TEXT = {**TEXT_ESCAPES, "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
             "×": r"$\times$", "→": r"$\to$", "←": r"$\leftarrow$", "⊙": r"$\odot$", "∘": r"$\circ$",
             "∂": r"$\partial$", "∈": r"$\in$", "ᵀ": r"$^{T}$", "ℝ": r"$\mathbb{R}$", "≤": r"$\le$",
             "≥": r"$\ge$", "≠": r"$\neq$", "−": "-", "–": "--", "—": "---", "‘": "`", "’": "'",
             "“": "``", "”": "''", "…": r"\dots{}", "ŷ": r"$\hat{y}$", "✓": r"$\checkmark$", "✗": r"$\times$"}


_SUPERSCRIPT = re.compile(r"\^(\([^()]*\)|\w+)")


def tex_text(s: str) -> str:
    r"""Plain text for pdflatex with its stock fonts: specials escaped, a few
    symbols as math, Latin-1 letters kept, other characters reduced to
    their ASCII base (or `?`); `R^n` and `R^(n x m)` as superscripts."""
    return "".join(_tex_chars(x) if k % 2 == 0 else rf"\textsuperscript{{{_tex_chars(x)}}}"
                   for k, x in enumerate(_SUPERSCRIPT.split(s)))


def _tex_chars(s: str) -> str:
    out = []
    for ch in s:
        if ch in _TEX_TEXT:
            out.append(_TEX_TEXT[ch])
        elif ord(ch) < 128 or ("\u00c0" <= ch <= "\u00ff" and ch not in "×÷"):
            out.append(ch)
        elif unicodedata.category(ch).startswith("L") and len(ch.encode()) > 1 and "\u0370" <= ch <= "\u03ff":
            out.append(_greek(ch))
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(_tex_chars(base) if base else "?")
    return "".join(out)


def _greek(ch: str) -> str:
    name = unicodedata.name(ch, "").split()
    word = name[-1].lower() if name else ""
    if "CAPITAL" in name:
        word = word.capitalize()
    return f"$\\{word}$" if word in GREEK else "?"


_TT = re.compile(r"\\texttt\{[^}]*\}")


def _upright_quotes(tex: str) -> str:
    """`'` in typewriter text as the straight quote of the OT1 font (slot 13)."""
    return _TT.sub(lambda m: m.group(0).replace("'", r"{\char13}"), tex)


_TEX_PARTS = {  # a part's kind: how LaTeX writes it
    "text": lambda s: tex_text(s).replace(r"-\textgreater{}", r"$\to$"),  # `R^n -> R^k`
    "math": lambda s: _upright_quotes(f"${s}$"),
    "code": lambda s: _upright_quotes(text_tex(s)),
    "mark": lambda s: MARKS[s][1],
}
_TEX_DISPLAY = {**_TEX_PARTS, "math": lambda s: _upright_quotes(f"\\fit{{{s}}}")}  # a wide display scaled to its cell


def _tex_parts(parts, display=False) -> str:
    return _written(parts, _TEX_DISPLAY if display else _TEX_PARTS)


def tex_blocks(bs: list) -> str:
    out = []
    for b in bs:
        if isinstance(b, Heading):
            if b.level == 1:
                continue  # the document's own title
            cmd = {2: "section", 3: "subsection", 4: "subsubsection"}.get(b.level, "paragraph")
            room = r"\roomfor{0.3\textheight}" if b.level == 4 else ""  # a step's heading stays with its display
            out.append(f"{room}\\{cmd}*{{{_tex_parts(b.parts)}}}")
        elif isinstance(b, Para):
            out.append(_tex_parts(b.parts))
        elif isinstance(b, Display):
            out.append(f"\\[\n\\fit{{{b.tex}}}\n\\]")
        elif isinstance(b, Verbatim):
            lines = " \\\\\n".join(_upright_quotes(text_tex(x)) for x in b.text.splitlines())
            out.append("\\begin{flushleft}\\small\n" + lines + "\n\\end{flushleft}")
        elif isinstance(b, Table):
            out.append(_tex_table(b))
    return "\n\n".join(out)


def _tex_table(b: Table) -> str:
    widths = {b.wide: 0.78, **b.widths} if b.wide >= 0 else b.widths
    spec = "".join(rf">{{\raggedright\arraybackslash}}p{{{widths[k]:g}\linewidth}}" if k in widths else "l"
                   for k in range(len(b.header)))
    head = " & ".join(_tex_parts(c) for c in b.header)
    rows = [" & ".join(_tex_parts(c, display=True) for c in row) + r" \\[0.5ex]" for row in b.rows]
    if not any(_tex_parts(c) for c in b.header):  # no header: no rules either
        return "\n".join([f"\\begin{{longtable}}{{{spec}}}"] + rows + [r"\end{longtable}"])
    return "\n".join([f"\\begin{{longtable}}{{{spec}}}", r"\hline", head + r" \\", r"\hline", r"\endhead"]
                     + rows + [r"\hline", r"\end{longtable}"])
