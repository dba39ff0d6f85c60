"""Fuzzing every reader of a derivation file with random and mutated text.

Each reader (claims, forward definitions, dims, shapes, notation, steps in
LaTeX and in plain text, LaTeX claims, whole files, file names) gets text
made three ways: random characters, soups of the grammar's own tokens, and
valid texts with characters and tokens deleted, inserted or duplicated.
Whatever comes, the reader either accepts it or raises the project's own
error (`DerivationError`, `ExprError`, `TexError`, `ShapeError`), and the
command line answers with an exit code of 0, 1 or 2, never a traceback and
never an internal error.  Many texts carry code that would create a
sentinel file if it were ever run; the file must never appear.

The CI profile (tests/conftest.py) runs a fixed number of examples, each a
batch of texts; `GRADPROOF_HYPOTHESIS=deep` runs 25 times as many.
"""
import contextlib
import copy
import io
import os
import re
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from symbolic import catalogue_files, load
from symbolic.cli import main
from symbolic.expr import ShapeError
from symbolic.plaintext import parse_statement as plain_statement
from symbolic.load import DerivationError
from symbolic.parse import ExprError
from symbolic.steps import check_steps, scope_of
from symbolic.texparse import TexError, parse_statement as tex_statement, to_core
from symbolic.verify import verify

from fixtures import LAYER

ERRORS = (DerivationError, ExprError, TexError, ShapeError)
SENTINEL = Path(tempfile.mkdtemp(prefix="gradproof-fuzz-")) / "SENTINEL"
S = str(SENTINEL)
PAYLOADS = [
    f"__import__('os').system('touch {S}')",
    f"open('{S}', 'w')",
    f"exec(\"open('{S}', 'w')\")",
    f"eval(\"__import__('os').system('touch {S}')\")",
    f"(lambda: open('{S}', 'w'))()",
    f"getattr(__builtins__, 'open')('{S}', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    f"W.__class__.__init__.__globals__['os'].system('touch {S}')",
    "breakpoint()",
    f"\\input{{{S}}}",
    f"\\immediate\\write18{{touch {S}}}",
    f"{{{{ open('{S}','w') }}}}",
]


CHARS = st.characters(exclude_categories=("Cs",))  # a file holds no lone surrogates


def batch(texts, size=8):
    """Several texts an example: thousands of texts at a small example count."""
    return st.lists(texts, min_size=1, max_size=size)


def weighted(n: int) -> dict:
    return {"max_examples": max(10, settings.default.max_examples * n // 60)}


# ---------------------------------------------------------------- texts

def soup(tokens, sep=("", " ")):
    """Texts made of a grammar's own tokens, with or without spaces between."""
    return st.lists(st.sampled_from(tokens), max_size=24).flatmap(
        lambda ts: st.sampled_from(sep).map(lambda s: s.join(ts)))


@st.composite
def mutated(draw, seeds, tokens):
    """A valid text with characters or tokens deleted, inserted, duplicated or swapped."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        parts = re.findall(r"\\[A-Za-z]+|\w+|\s+|.", text, re.S) or [""]
        k = draw(st.integers(0, len(parts)))
        edit = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "char"]))
        if edit == "delete" and k < len(parts):
            del parts[k]
        elif edit == "insert":
            parts.insert(k, draw(st.sampled_from(tokens)))
        elif edit == "duplicate" and k < len(parts):
            parts[k:k] = parts[k:k + draw(st.integers(1, 5))] * draw(st.integers(1, 3))
        elif edit == "swap" and k + 1 < len(parts):
            parts[k], parts[k + 1] = parts[k + 1], parts[k]
        else:
            parts.insert(k, draw(CHARS))
        text = "".join(parts)
    return text


def texts(seeds, tokens):
    tokens = list(tokens) + PAYLOADS
    return st.one_of(st.text(CHARS, max_size=60), soup(tokens), mutated(seeds, tokens), st.sampled_from(PAYLOADS))


NUMBERS = ["0", "1", "2", "0.5", "1e999", "-1e999", "1e-400", "9" * 80, "2**64", "1/0", "0/0", "nan", "inf"]
CLAIM_TOKENS = ["W", "x", "b", "dY", "z", "yhat", "g", "g'", "g''", "g'b", "sigmoid", "tanh", "relu", "log",
                "exp", "sum", "axis", "=", ".T", ".shape", "@", "*", "/", "+", "-", "**", "(", ")", ",", "[", "]",
                "'", '"', ":", "lambda", "if", "for", "\n", "\\", "²", "é", "\0", *NUMBERS]
CLAIM_SEEDS = ["(dY * g'(z)) @ x.T", "dY * g'(z)", "W.T @ (dY * g'(z))", "sum(dY * g'(z), axis=1)",
               "W @ x + b", "g(z)", "sigmoid(z) * (1 - sigmoid(z)) ** 2", "x.T / 2", "-dY @ x.T"]
TEX_TOKENS = ["\\frac", "\\partial", "\\cdot", "\\odot", "\\sum", "_", "^", "{", "}", "(", ")", "\\left(",
              "\\right)", "\\left", "\\right", "\\hat{y}", "W", "x", "b", "z", "dY", "J", "g", "g'", "i", "j",
              "k", "n", "=", "\\in", "\\mathbb{R}", "\\times", "T", "\\top", "\\prime", "\\langle", "\\rangle",
              "\\begin{pmatrix}", "\\end{pmatrix}", "\\begin{cases}", "\\end{cases}", "\\\\", "&", "\\vdots",
              "\\dots", "\\ddots", "\\underbrace", "\\overbrace", "\\nabla", "\\sigma", "e^", ",", ":", "-",
              "+", "\\forall", "\\rightarrow", "\\operatorname", "\\\\", "\\", "²", "ŷ", *NUMBERS]
TEX_SEEDS = [
    r"\frac{\partial J}{\partial b} = dY \odot g'(z) \in \mathbb{R}^k",
    r"\frac{\partial J}{\partial x_i} = \sum_{j=1}^{k} dY_j \cdot g'(z_j) \cdot W_{j,i}",
    r"\nabla_J(W_{i,:}) = dY_i \cdot g'(z_i) \cdot x^T",
    r"\begin{pmatrix} dY_1 \\ \vdots \\ dY_k \end{pmatrix} = dY",
    r"\underbrace{W}_{k \times n} \cdot \underbrace{x}_{n \times 1} + b = z",
    r"x, b \in \mathbb{R}^{n}",
    r"\begin{cases} z_1 = W_1 \cdot x + b_1 \\ \vdots \\ z_k = W_k \cdot x + b_k \end{cases}",
    r"\frac{\partial z_i}{\partial b_i} = 1 \rightarrow \forall i=1, \dots, k",
    r"\langle dY \odot g'(z), W_{:,i} \rangle = \frac{x - x}{x - x}",
]
PLAIN_TOKENS = ["d(", ")/d(", "sum(", "col(", "row(", "matrix(", "label(", "<", ">", "[", "]", ":", "..",
                "i=1..k", "j=1..n", "in", "for", '"k x 1"', '"scalar"', '"n_x x 1"', '"k x ²"', "W", "x", "b",
                "z", "dY", "J", "yhat", "g", "g'", "i", "j", "k", "n", "=", "@", "*", "/", "+", "-", "**", ".T",
                "(", ")", ",", '"', "'", *NUMBERS]
PLAIN_SEEDS = [
    "d(J)/d(x[i]) = sum(dY[j] * g'(z[j]) * W[j, i], j=1..k) = <dY * g'(z), W[:, i]>",
    "d(J)/d(b) = dY * g'(z) in \"k x 1\"",
    "col(dY[i], i=1..k) = dY",
    "label(W @ x + b, z) = z",
    "x, b in \"scalar\"",
    "(x - x)/(x - x) = 0",
    "d(z[i])/d(b[i]) = 1 for i=1..k",
    "matrix(W[i, j], i=1..k, j=1..n) = label(W, \"k x n\")",
]
SHAPE_TOKENS = ["k", "n", "x", "×", "X", " ", "1", "0", "-1", "scalar", "n_x", "²", "٣", "9" * 5000, "\n", "by"]
SHAPE_SEEDS = ["k x n", "n x 1", "scalar", "1 x 1", "k × n"]
NAME_TOKENS = ["n", "k", "W", "x", "dY", "_", "__", "1", "\n", " ", "-", "é", "sum", "T", "sigmoid", "J", "\0"]


def reader_scope(d):
    return scope_of(d, {})


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "layer.toml"
    path.write_text(LAYER)
    return load(path)


@pytest.fixture(scope="module", autouse=True)
def no_sentinel():
    yield
    assert not SENTINEL.exists(), "a text was run as code"


def refused_or_read(read, text):
    try:
        read(text)
    except ERRORS:
        pass
    assert not SENTINEL.exists(), f"running {text!r} created the sentinel"


def toml_string(s: str) -> str:
    """A TOML basic string holding exactly `s`."""
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


# ---------------------------------------------------------------- one reader at a time

@settings(**weighted(240))
@given(batch(texts(CLAIM_SEEDS, CLAIM_TOKENS), 16))
def test_claims_and_forward_texts(layer, ts):
    parser = layer.parser()
    for t in ts:
        refused_or_read(parser.parse, t)


@settings(**weighted(240))
@given(batch(texts(TEX_SEEDS, TEX_TOKENS), 16))
def test_latex_steps_and_claims(layer, ts):
    scope = reader_scope(layer)
    for t in ts:
        refused_or_read(lambda s: tex_statement(" ".join(s.split()), scope), t)
        refused_or_read(lambda s: to_core(s, layer.parser().names, layer.functions), t)


@settings(**weighted(240))
@given(batch(texts(PLAIN_SEEDS, PLAIN_TOKENS), 16))
def test_plain_steps(layer, ts):
    scope = reader_scope(layer)
    for t in ts:
        refused_or_read(lambda s: plain_statement(" ".join(s.split()), scope), t)


def file_with(tmp: Path, text: str) -> Path:
    path = tmp / "f.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("files")


@settings(**weighted(120))
@given(batch(texts(SHAPE_SEEDS, SHAPE_TOKENS)), batch(texts(["n", "k", "n_x"], NAME_TOKENS), 3),
       texts(CLAIM_SEEDS, CLAIM_TOKENS))
def test_dims_shapes_and_forward_in_a_file(tmp, shapes, names, forward):
    for shape in shapes:
        dims = "".join(f"{toml_string(n)} = \"a dim\"\n" for n in names)
        text = (f'output = "yhat"\nupstream = "dY"\n[dims]\n{dims}[inputs]\nW = {toml_string(shape)}\n'
                f'x = "n x 1"\nb = "k x 1"\n[functions]\ng = "elementwise"\n'
                f'[forward]\nz = {toml_string(forward)}\nyhat = "g(z)"\n')
        refused_or_read(load, file_with(tmp, text))


@settings(**weighted(120))
@given(batch(st.tuples(texts(["q", "w", "dX"], NAME_TOKENS), texts(TEX_SEEDS + ["W", "r", "q"], TEX_TOKENS)), 4))
def test_notation(tmp, entries):
    table = "".join(f"{toml_string(n)} = {toml_string(t)}\n" for n, t in entries)
    text = LAYER + f"[notation]\n{table}\n[[steps]]\nsection = \"T\"\neq = 1\nlatex = \"z = z\"\n"
    refused_or_read(load, file_with(tmp, text))


# ---------------------------------------------------------------- whole files, through the command line

CATALOGUE = [p.read_text(encoding="utf-8") for p in catalogue_files()]
FILE_TOKENS = sorted({t for text in CATALOGUE for t in re.findall(r"\w+|[^\w\s]", text)}) + [
    "[check]", "foo = 1", "max_size = 99", "budget = inf", "budget = nan", "[[steps]]", "[notation]",
    "\n", "'''", '"""', "[inputs.W]", "= {", "}", "1e999", "-0", "9" * 5000, "\\left(" * 30, "-" * 50]


def toml_value(v) -> str:
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_string(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    return "[" + ", ".join(toml_value(x) for x in v) + "]"


def toml_dump(data: dict) -> str:
    """A TOML text of `data` (tables, arrays of tables, inline tables below them)."""
    def is_tables(v):
        return isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
    lines = [f"{toml_string(k)} = {toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not is_tables(v)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += [f"[{toml_string(k)}]"] + [f"{toml_string(a)} = {toml_value(b)}" for a, b in v.items()]
        elif is_tables(v):
            for t in v:
                lines += [f"[[{toml_string(k)}]]"] + [f"{toml_string(a)} = {toml_value(b)}" for a, b in t.items()]
    return "\n".join(lines) + "\n"


def leaves(data, path=()):
    """(path, value) for every leaf of parsed TOML."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    out = [(path, data)] if not items else []
    for k, v in items:
        out += leaves(v, path + (k,))
    return out


PARSED = [tomllib.loads(text) for text in CATALOGUE]
ALL_SEEDS = CLAIM_SEEDS + TEX_SEEDS + PLAIN_SEEDS + SHAPE_SEEDS
ALL_TOKENS = sorted(set(CLAIM_TOKENS + TEX_TOKENS + PLAIN_TOKENS + SHAPE_TOKENS)) + PAYLOADS
ODD_VALUES = [0, -1, 10**30, 1.5, float("inf"), float("nan"), True, [], {}, {"foo": 1}, ["a"], "", "scalar"]


@st.composite
def value_mutated(draw):
    """A catalogue file, parsed, with one to three values or keys changed, written out as TOML."""
    data = copy.deepcopy(draw(st.sampled_from(PARSED)))
    for _ in range(draw(st.integers(1, 3))):
        path, value = draw(st.sampled_from(leaves(data)))
        parent = data
        for k in path[:-1]:
            parent = parent[k]
        edit = draw(st.sampled_from(["text", "text", "text", "odd", "rename", "add"]))
        if edit == "text":
            seeds = [value] if isinstance(value, str) and value else ALL_SEEDS
            parent[path[-1]] = draw(st.one_of(mutated(seeds, ALL_TOKENS), texts(ALL_SEEDS, ALL_TOKENS)))
        elif edit == "odd":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif isinstance(parent, dict):
            name = draw(st.one_of(st.sampled_from(NAME_TOKENS + ["foo", "budget", "expr", "latex", "max_size"]),
                                  st.text(CHARS, max_size=6)))
            if edit == "rename":
                parent[name] = parent.pop(path[-1])
            else:
                parent[name] = copy.deepcopy(draw(st.one_of(st.sampled_from(ODD_VALUES),
                                                             texts(ALL_SEEDS, ALL_TOKENS))))
    return toml_dump(data)


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


@settings(**weighted(200))
@given(st.one_of(mutated(CATALOGUE, FILE_TOKENS + PAYLOADS), value_mutated()))
def test_mutated_catalogue_files_are_verified_or_refused(tmp, text):
    path = file_with(tmp, text)
    code, err = run_cli("verify", "--budget", "0.3", "--max-size", "1", str(path))
    assert code in (0, 1, 2), err
    assert "internal error" not in err and "Traceback" not in err
    if code == 2:
        assert err.startswith("gradproof: error: ") and str(path) in err and err.count("\n") == 1, err
    assert not SENTINEL.exists()


@settings(**weighted(80))
@given(value_mutated())
def test_mutated_files_that_load_verify_with_a_small_budget(tmp, text):
    try:
        d = load(file_with(tmp, text))
    except DerivationError:
        return
    for v in verify(d, max_size=1, default_budget=0.3):
        assert v.status in ("proved", "proved-up-to", "refuted", "shape-error", "unknown")
    for v in check_steps(d, max_size=1, seconds=0.3):
        assert v.status in ("proved", "proved-up-to", "refuted", "shape-error", "unknown")
    assert not SENTINEL.exists()


NAME_CHARS = st.lists(st.sampled_from(list("ab./\\~*?:-_ ") + ["\0", "é", "\n", ".toml", "x" * 300]),
                      max_size=12).map("".join)


@settings(**weighted(40))
@given(st.one_of(NAME_CHARS, st.text(max_size=40), st.sampled_from(["", ".", "..", "/", "-", "--", "layer",
                                                                      "notes/section_9", "x" * 5000])))
def test_file_names(name):
    with tempfile.TemporaryDirectory() as here, contextlib.chdir(here):  # "." is an empty folder
        _run_names(name)


def _run_names(name):
    commands = [["verify", "--budget", "0.3", "--max-size", "1"], ["derive", "--budget", "0.3"], ["latex"]]
    try:
        outside = "\0" not in name and os.path.isdir(name) and not os.path.samefile(name, ".")
    except (OSError, ValueError):
        outside = False
    if outside:  # "..", "/": `verify` would read every derivation file below it
        commands = commands[1:]
    for command in commands:
        # a name such as "." is a folder of many files: a small budget keeps each quick
        code, err = run_cli(*command, name) if not name.startswith("-") else run_cli(*command, "--", name)
        assert "internal error" not in err and "Traceback" not in err
        assert code in (0, 1, 2), err
    assert not SENTINEL.exists()
