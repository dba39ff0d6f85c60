"""The bundled derivations and how paths on the command line are read.

Nothing here imports SymPy, so that `gradproof list`, a cached run and a
cached `numeric.gradients` start quickly.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .errors import DerivationError


def find_catalogue(package: Path, prefix: Path) -> Path:
    """`derivations/` beside the package in a checkout (an editable install),
    else the copy a regular install puts under `<prefix>/share/gradproof`."""
    here = package.parent / "derivations"
    installed = prefix / "share" / "gradproof" / "derivations"
    return here if here.is_dir() or not installed.is_dir() else installed


CATALOGUE = find_catalogue(Path(__file__).resolve().parent, Path(sys.prefix))


def catalogue_files() -> list:
    """Every derivation file of the bundled catalogue, sorted."""
    return sorted(CATALOGUE.rglob("*.toml"))


def catalogue_name(path: Path) -> str:
    """`layer_batch`, `notes/section_3`: a catalogue file's name."""
    return path.relative_to(CATALOGUE).with_suffix("").as_posix()


def summary(path: Path) -> tuple:
    """(title, number of claims) of a catalogue file, read as plain TOML."""
    import tomllib  # imported here: `gradproof --help` stays quick
    with open(path, "rb") as f:
        data = tomllib.load(f)
    claims = data.get("claims", {})
    return str(data.get("title", path.stem)), len(claims) if isinstance(claims, (dict, list)) else 0


def is_file_name(name) -> bool:
    """Whether `name` names a file rather than a catalogue entry: it ends
    in `.toml` or something of that name exists."""
    path = Path(name)
    return path.suffix == ".toml" or _test(path.exists)


def resolve(name) -> Path:
    """A derivation file path, or the name of a catalogue entry
    (`"layer_batch"`, `"notes/section_3"`)."""
    path = Path(name)
    if is_file_name(path):
        if not _test(path.is_file):
            raise DerivationError(path, None, "no such file")
        return path
    entry = CATALOGUE / f"{name}.toml"
    if _test(entry.is_file) and entry.relative_to(CATALOGUE).with_suffix("").as_posix() == str(name):
        return entry  # found without listing the catalogue
    for f in catalogue_files():
        if f.relative_to(CATALOGUE).with_suffix("").as_posix() == str(name):
            return f
    known = ", ".join(f.relative_to(CATALOGUE).with_suffix("").as_posix() for f in catalogue_files())
    raise DerivationError(name, None, f"no such file or catalogue entry (catalogue: {known})")


def expand(paths) -> list:
    """Files and folders (searched for *.toml) -> files; none: the catalogue."""
    if not paths:
        return catalogue_files()
    files = []
    for p in map(Path, paths):
        if _test(p.is_dir):
            try:
                found = sorted(p.rglob("*.toml"))
            except OSError as err:
                raise DerivationError(p, None, f"cannot read the folder ({err.strerror or err})") from None
            if not found:
                raise DerivationError(p, None, "folder holds no *.toml derivation files")
            files.extend(found)
        else:
            files.append(resolve(p))
    return files


def _test(check) -> bool:
    """`path.exists`, `path.is_file`, ... called; False where the name
    itself is impossible (too long, a NUL byte) rather than an error."""
    try:
        return check()
    except (OSError, ValueError):
        return False


def display_path(path) -> str:
    """`path` relative to the working folder where it lies below it."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except (ValueError, OSError):
        return str(path)
