"""README's image recipes, run: each must make the PNG in `docs/` it says.

A recipe is the `sh` block after a marker that names the image and the
text the crop must show (as README's caption promises it):

    <!-- image: docs/report-refuted.png
    shows: wrong_claims: A layer with three wrong claims
    shows: Likely mistake: a function and its derivative confused
    -->

Its lines run in a fresh folder where `tests/` and `derivations/` are this
checkout's and `docs/` is empty, without a shell (`a && b` runs `b` only if
`a` succeeded; `gradproof` is this checkout's `symbolic.cli`, and its exit
code 1, claims refuted, still writes the document).  Then the crop it wrote
must have the size its `pdftoppm -W -H` asks for, not be blank, hold every
`shows:` text in that region of the PDF page (`pdftotext` with the same
`-f -r -x -y -W -H`), and match the committed PNG: at most `TOLERANCE` of
its pixels more than a quarter of the grey scale apart.  With `write`, the
committed PNG is replaced by the one made.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from readme import ROOT, ReadmeError

MARKER = re.compile(r"^<!-- image:(.*?)-->\n```sh\n(.*?)^```", re.S | re.M)
PROGRAMS = ("gradproof", "pdflatex", "pdftoppm")
TOLERANCE = 0.01


@dataclass
class Recipe:
    line: int
    image: str       # docs/NAME.png
    shows: list      # texts the crop's region of the page must hold
    commands: list   # lines, each a list of commands (argv) joined by `&&`

    @property
    def crop(self) -> dict:
        """`pdftoppm`'s options of the crop: `f`, `r`, `x`, `y`, `W`, `H`, and the PDF."""
        for line in self.commands:
            for argv in line:
                if argv[0] == "pdftoppm":
                    opts = {a[1:]: v for a, v in zip(argv, argv[1:]) if a in ("-f", "-r", "-x", "-y", "-W", "-H")}
                    missing = sorted({"f", "r", "x", "y", "W", "H"} - set(opts))
                    if missing:
                        raise ReadmeError(f"README.md:{self.line}: pdftoppm needs {', '.join('-' + m for m in missing)}"
                                          f" to say which crop it makes")
                    pdf = [a for a in argv[1:] if a.endswith(".pdf")]
                    return {**{k: int(float(v)) for k, v in opts.items()}, "pdf": pdf[0]}
        raise ReadmeError(f"README.md:{self.line}: the recipe of {self.image} has no pdftoppm line")


def recipes(text: str) -> list:
    out = []
    for m in MARKER.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        head = [s.strip() for s in m.group(1).strip().splitlines()]
        shows = [s.removeprefix("shows:").strip() for s in head[1:] if s.startswith("shows:")]
        commands = []
        for raw in m.group(2).splitlines():
            raw = raw.split("#", 1)[0].strip()
            if raw:
                commands.append([shlex.split(part) for part in raw.split(" && ")])
        for argv in (a for ln in commands for a in ln):
            if argv[0] not in PROGRAMS:
                raise ReadmeError(f"README.md:{line}: a recipe runs only {', '.join(PROGRAMS)}, got `{argv[0]}`")
        out.append(Recipe(line, head[0], shows, commands))
    return out


def missing_tools() -> list:
    return [p for p in ("pdflatex", "pdftoppm", "pdftotext") if shutil.which(p) is None]


# ---------------------------------------------------------------- running one

def make(recipe: Recipe, folder: Path) -> Path:
    """Run the recipe in `folder`; the PNG it wrote."""
    for name in ("tests", "derivations"):
        (folder / name).symlink_to(ROOT / name)
    (folder / "docs").mkdir()
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for line in recipe.commands:
        for argv in line:
            program = [sys.executable, "-m", "symbolic.cli"] if argv[0] == "gradproof" else argv[:1]
            done = subprocess.run(program + argv[1:], cwd=folder, env=env, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=600)
            if done.returncode != 0 and not (argv[0] == "gradproof" and done.returncode == 1):
                log = (done.stdout + done.stderr).strip()[-1500:]
                raise ReadmeError(f"README.md:{recipe.line}: `{shlex.join(argv)}` exited with {done.returncode}:"
                                  f"\n{log}")
    made = folder / recipe.image
    if not made.is_file():
        raise ReadmeError(f"README.md:{recipe.line}: the recipe wrote no {recipe.image}")
    return made


def problems(recipe: Recipe, made: Path, folder: Path) -> list:
    """What is wrong with the crop the recipe made; [] if it shows what README says."""
    crop, out = recipe.crop, []
    grey = png_grey(made.read_bytes())
    if grey.shape != (crop["H"], crop["W"]):
        out.append(f"the crop is {grey.shape[1]} x {grey.shape[0]} pixels, the recipe asks for "
                   f"{crop['W']} x {crop['H']}")
    dark = float(np.mean(grey < 128))
    if not 0.005 < dark < 0.5:
        out.append(f"the crop is blank or nearly black: {dark:.1%} of its pixels are dark")
    words = subprocess.run(["pdftotext", "-f", str(crop["f"]), "-l", str(crop["f"]), "-r", str(crop["r"]),
                            "-x", str(crop["x"]), "-y", str(crop["y"]), "-W", str(crop["W"]), "-H", str(crop["H"]),
                            crop["pdf"], "-"], cwd=folder, capture_output=True, text=True).stdout
    words = " ".join(words.split())
    for shown in recipe.shows:
        if " ".join(shown.split()) not in words:
            out.append(f"the crop does not show `{shown}` (its text: {words[:300]}...)")
    committed = ROOT / recipe.image
    if not committed.is_file():
        out.append(f"{recipe.image} is not in the checkout")
    else:
        old = png_grey(committed.read_bytes())
        if old.shape != grey.shape:
            out.append(f"the committed {recipe.image} is {old.shape[1]} x {old.shape[0]}, the crop "
                       f"{grey.shape[1]} x {grey.shape[0]}")
        else:
            apart = float(np.mean(np.abs(old.astype(int) - grey.astype(int)) > 64))
            if apart > TOLERANCE:
                out.append(f"{apart:.1%} of the pixels differ from the committed {recipe.image} "
                           f"(at most {TOLERANCE:.0%} may)")
    return out


def main(text: str, write: bool = False) -> int:
    missing = missing_tools()
    if missing:
        print(f"the image recipes need {', '.join(missing)}: apt-get install texlive-latex-base poppler-utils")
        return 2
    failed = 0
    for recipe in recipes(text):
        with tempfile.TemporaryDirectory() as tmp:
            made = make(recipe, Path(tmp))
            found = problems(recipe, made, Path(tmp))
            if write:
                shutil.copyfile(made, ROOT / recipe.image)
                found = [p for p in found if "committed" not in p]
            failed += bool(found)
            print(f"README.md:{recipe.line}: {recipe.image}: " + ("; ".join(found) if found else "as README says")
                  + (" (written)" if write else ""))
    return 1 if failed else 0


# ---------------------------------------------------------------- reading a PNG (8-bit, not interlaced)

def png_grey(data: bytes) -> np.ndarray:
    """The PNG's pixels as grey levels 0..255, rows by columns."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, head = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", data[pos + 8:pos + 8 + 13])
        elif kind == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + n])
        pos += 12 + n
    width, height, depth, colour, _, _, interlace = head
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"a PNG of bit depth {depth}, colour type {colour}, interlace {interlace}: "
                         f"only 8-bit grey, RGB and their alpha forms, not interlaced, are read")
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, 1 + width * channels)
    rows = _unfilter(raw[:, 0], raw[:, 1:].astype(np.int32), channels)
    pixels = rows.reshape(height, width, channels)
    colour_part = pixels[..., :3] if channels >= 3 else pixels[..., :1]
    return colour_part.mean(axis=2).astype(np.uint8)


def _unfilter(kinds, rows, bpp):
    out = np.zeros_like(rows)
    prev = np.zeros(rows.shape[1], np.int32)
    for r, kind in enumerate(kinds):
        f = rows[r]
        if kind == 0:
            line = f
        elif kind == 2:
            line = (f + prev) & 255
        elif kind == 1:  # each byte adds the one bpp to its left: a running sum per channel
            padded = np.concatenate([f, np.zeros((-len(f)) % bpp, np.int32)]).reshape(-1, bpp)
            line = (np.cumsum(padded, axis=0) & 255).reshape(-1)[:len(f)]
        else:
            line = _sequential(f.tolist(), prev.tolist(), bpp, kind)
        out[r] = prev = np.asarray(line, np.int32)
    return out


def _sequential(f, up, bpp, kind):
    line = [0] * len(f)
    for i, v in enumerate(f):
        a = line[i - bpp] if i >= bpp else 0
        b, c = up[i], (up[i - bpp] if i >= bpp else 0)
        if kind == 3:
            line[i] = (v + (a + b) // 2) & 255
        else:  # Paeth
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (v + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return line
