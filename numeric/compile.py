"""From a derivation file to NumPy functions, through a cache of generated code.

Generating a module runs `symbolic` (load, derive, verify: SymPy) and
checks the printed code against the proved closed forms (`confirm`).  The
text is stored under a key made of the file's bytes, the options and the
code that generates it, so another process asking for the same gradients
reads and runs the stored module and never imports SymPy.  A stored module
ends with the sha256 of the text above it; one that does not match
(truncated, empty, edited, not text) is never run, but generated again.
"""
from __future__ import annotations

import hashlib
import linecache
import os
import re
import types
from pathlib import Path

from symbolic.catalogue import CATALOGUE, resolve
from symbolic.errors import DerivationError
from symbolic.files import replace_file

from . import fast
from .frameworks import TARGETS, framework_source

_HERE = Path(__file__).resolve().parent
_GENERATOR_FILES = [_HERE / f for f in ("codegen.py", "module.py", "stable.py", "checks.py", "compile.py",
                                            "scratch.py", "rewrite.py")]
_GENERATOR_FILES += sorted((_HERE.parent / "symbolic").glob("*.py"))
FORMAT = "2"  # of the stored modules


class GradientFunction:
    """The derived gradients of one derivation as NumPy functions.

    `grads(W=W, X=X, b=b, dY=dY)` -> {input: dJ/d(input)};
    `grads.forward(W=W, X=X, b=b)` -> the output.  Arguments may also come
    in order (`grads.arguments`).  `grads.source` is the generated module's
    text and `grads.module` the module itself.
    """

    def __new__(cls, module, *rest):
        # A call goes straight to the generated function: no wrapper frame,
        # which at small sizes would cost as much as a NumPy operation.
        own = type(cls.__name__, (cls,), {"__call__": staticmethod(module.gradients),
                                          "__module__": cls.__module__, "__doc__": cls.__doc__})
        return object.__new__(own)

    def __init__(self, module, source: str, name: str, activation: str | None, cached: Path | None,
                 path: Path | None = None):
        self.module, self.source, self.name, self.path = module, source, name, path
        self.compiled = tuple(sorted(getattr(module, "_COMPILED", ())))  # helpers replaced by numba's
        self.activation, self.cached = activation, cached
        self.inputs = module.INPUTS
        self.upstream = module.UPSTREAM
        self.output = module.OUTPUT
        self.shapes = module.SHAPES
        self.verdicts = module.VERDICTS
        self.arguments = self.inputs + ((self.upstream,) if self.upstream else ())
        self.forward = module.forward
        for fn in (module.forward, module.gradients):  # errors say whose function it is
            fn.__qualname__ = f"{name}.{fn.__name__}"

    def __reduce__(self):  # pickles as the call that makes it (with numba's twins where they can be had)
        return gradients, (str(self.path), self.activation, None if self.compiled else False)

    def __repr__(self):
        act = f", {self.activation}" if self.activation else ""
        shapes = ", ".join(f"{n}: {_shape(self.shapes[n])}" for n in self.arguments)
        proved = set(self.verdicts.values())
        verdict = proved.pop() if len(proved) == 1 else "; ".join(f"d{n}: {v}" for n, v in self.verdicts.items())
        fast = f"; numba: {', '.join(self.compiled)}" if self.compiled else ""
        return f"<GradientFunction {self.name}{act} ({shapes}) -> " \
               f"{', '.join('d' + n for n in self.inputs)}: {verdict}{fast}>"


def _shape(dims) -> str:
    return " x ".join(str(d) for d in dims)


def gradients(derivation, activation: str | None = None, numba: bool | None = None) -> GradientFunction:
    """NumPy gradients of a derivation: a catalogue name (`"layer_batch"`) or
    the path of a derivation file.

    `activation` names the function (`"sigmoid"`, `"tanh"`, ...) that
    replaces the file's generic `g`; its derivative comes from the rule
    table.  The returned object computes

        grads(W=W, X=X, b=b, dY=dY)  ->  {"W": dJ/dW, "X": dJ/dX, "b": dJ/db}

    for J = <dY, Yhat>, with the steps `symbolic.derive` found and proved.

    `numba`: where numba can be imported (`pip install gradproof[fast]`),
    the helpers that have a compiled twin in `numeric.fast` are replaced by
    it, one pass over the arrays where NumPy makes several (the same values
    to a few units in the last place; `grads.compiled` names them).  That
    is the default, `numba=None`; `numba=False` keeps NumPy's helpers;
    `numba=True` requires numba (an `ImportError` without it).  The module
    text, `grads.source`, is the same NumPy code either way.
    """
    grads = _gradients(derivation, activation)
    if numba is None:
        numba = fast.available()
    elif numba and not fast.available():
        raise ImportError("`numba=True` needs numba: pip install gradproof[fast]")
    if numba and _fast_names(grads):
        grads = _with_twins(grads)
    return grads


def _fast_names(grads) -> list:
    return [n for n in fast.TWINS if n in grads.module.__dict__]


def _with_twins(grads: GradientFunction) -> GradientFunction:
    """`grads` with its helpers that have a compiled twin replaced (in its
    module, which `_gradients` ran for this call alone)."""
    found = fast.twins(_fast_names(grads))
    grads.module.__dict__.update(found)
    grads.module._COMPILED = tuple(found)
    return GradientFunction(grads.module, grads.source, grads.name, grads.activation, grads.cached, grads.path)


def _gradients(derivation, activation) -> GradientFunction:
    path = locate(derivation)
    name = _display_name(path)
    try:
        content = path.read_bytes()
    except OSError:
        content = None  # `symbolic` reports it
    if content is not None:
        key = cache_key(content, activation, (name, _where(path)))
        stored = _cache_dir() / f"{_file_part(name)}-{_file_part(activation or 'as-written')}-{key[:20]}.py"
        found = _load_stored(stored, name, activation, path)
        if found is not None:
            return found
    source = generate(path, activation)
    if content is None:
        return _load(source, name, activation, None, path)
    return _load(source, name, activation, _store(stored, source), path)


def export(derivation, activation: str | None = None, out=None, target: str = "numpy") -> str:
    """The standalone module text of `gradients(derivation, activation)`,
    written to the path `out` if given (atomically; never over the
    derivation file itself: that is a `ValueError`).

    `target`: "numpy" (the module imports NumPy only), "torch" (adds a
    `torch.autograd.Function`) or "jax" (adds a `jax.custom_vjp` function);
    see `numeric.frameworks`."""
    if target not in TARGETS:
        raise ValueError(f"`target` {target!r} is not one of {', '.join(TARGETS)}")
    if out is not None:
        _refuse_overwrite(out, locate(derivation))
    source = framework_source(gradients(derivation, activation).source, target)
    if out is not None:
        replace_file(Path(out), source.encode("utf-8"))
    return source


def _refuse_overwrite(out, derivation: Path) -> None:
    try:
        same = os.path.samefile(out, derivation)
    except OSError:  # `out` does not exist yet
        same = Path(out).resolve() == derivation.resolve()
    if same:
        raise ValueError(f"`out` {str(out)!r} is the derivation file {str(derivation)!r} itself; "
                         "write the module to another file")


def locate(derivation) -> Path:
    """The derivation file's path: a path, or a catalogue name (`symbolic.catalogue.resolve`)."""
    return resolve(derivation)


def _display_name(path: Path) -> str:
    try:
        return path.resolve().relative_to(CATALOGUE).with_suffix("").as_posix()
    except ValueError:
        return path.stem


# ---------------------------------------------------------------- generation

def generate(path: Path, activation: str | None) -> str:
    """Load, derive and verify the derivation, and print the module."""
    # imported here: a cached `gradients` never imports SymPy
    from symbolic.derive import derive
    from symbolic.functions import CALLABLE
    from symbolic.load import load
    from symbolic.verify import proves_closed_form, verify

    from .confirm import confirm
    from .module import Source, bad_names, module_source

    written = load(path)
    if activation is not None and not written.generic:
        raise DerivationError(path, None, f"declares no generic function for `activation` "
                                          f"{activation!r} to replace; leave it out")
    if activation is None and written.generic:
        names = ", ".join(f"`{g}`" for g in written.generic)
        raise DerivationError(path, f"functions.{written.generic[0]}",
                              f"{names} is generic: name the function that replaces it "
                              f"(`activation`: one of {', '.join(CALLABLE)})")
    d = load(path, activation=activation) if activation is not None else written
    grads = derive(d)
    for key, message in bad_names(d, grads):
        raise DerivationError(path, key, message)
    closed = {n: (_text(e), "proved for every size" if proves_closed_form(d, grads, e, n)
                  else "NOT confirmed in index form") for n, e in grads.closed.items()}
    claims = [(v.wrt, v.text, v.headline()) for v in verify(written)]
    info = Source(_display_name(path), _where(path), d.title, d.source, activation, written.generic, closed, claims,
                  bool(written.generic))
    source = module_source(d, grads, info)
    confirm(d, grads, source)
    return source


def _text(e) -> str:
    from symbolic.expr import text  # imported here: a cached `gradients` never imports SymPy
    return text(e)


def _where(path: Path) -> str:
    """The file as the module's docstring names it."""
    return f"derivations/{_display_name(path)}.toml" if _inside(path, CATALOGUE) else str(path)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------- cache

_generator_hash = None


def cache_key(content: bytes, activation: str | None, shown: tuple = ()) -> str:
    """sha256 of the file's bytes, the options, the name and path the
    module shows (`shown`), and the generating code."""
    global _generator_hash
    if _generator_hash is None:
        h = hashlib.sha256(FORMAT.encode())
        for f in _GENERATOR_FILES:
            h.update(f.name.encode() + b"\0" + f.read_bytes())
        _generator_hash = h.hexdigest()
    h = hashlib.sha256(_generator_hash.encode())
    h.update(repr((activation, *shown)).encode("utf-8", "surrogateescape") + b"\0" + content)
    return h.hexdigest()


def _cache_dir() -> Path:
    """$GRADPROOF_CACHE, else $XDG_CACHE_HOME/gradproof, else ~/.cache/gradproof."""
    if os.environ.get("GRADPROOF_CACHE"):
        return Path(os.environ["GRADPROOF_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gradproof"


def _file_part(text: str) -> str:
    """`text` as part of a cache file's name: letters, digits, `.`, `-`, `_`."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text.replace("/", "."))[:60]


_SEAL = re.compile(rb"# gradproof cache: sha256 ([0-9a-f]{64})\n")


def _seal(source: str) -> bytes:
    """The stored form of a module: its text, then a last line with the
    sha256 of that text."""
    body = source.encode("utf-8")
    return body + b"# gradproof cache: sha256 " + hashlib.sha256(body).hexdigest().encode() + b"\n"


def _unseal(data: bytes) -> str | None:
    """The module text of stored bytes whose last line is the sha256 of the
    rest, else None."""
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1
    seal = _SEAL.fullmatch(data, cut)
    if seal is None or hashlib.sha256(data[:cut]).hexdigest().encode() != seal.group(1):
        return None
    try:
        return data[:cut].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _load_stored(stored: Path, name: str, activation, origin: Path):
    """The stored module, if there is one and it is intact; else None."""
    try:
        data = stored.read_bytes()
    except OSError:
        return None
    source = _unseal(data)
    if source is None:
        return None  # truncated, empty, edited or not text: generated again and stored over it
    try:
        return _load(source, name, activation, stored, origin)
    except Exception:  # intact but unusable (a NumPy that lacks what it calls): generated again
        return None


def _store(path: Path, source: str) -> Path | None:
    """Store atomically; None if the cache cannot be written (it is optional)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, _seal(source))
        return path
    except OSError:
        return None


def _load(source: str, name: str, activation, path: Path | None, origin: Path) -> GradientFunction:
    """Run the module text (checked: generated here, or a stored copy whose
    hash matches); under the stored file's name when there is one, with the
    text in `linecache`, so that `inspect.getsource` finds every generated
    function."""
    filename = str(path) if path is not None else f"<gradproof {name} {activation or ''}>".replace(" >", ">")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"gradproof_generated_{_file_part(path.stem if path else name)}")
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)
    return GradientFunction(module, source, name, activation, path, origin)
