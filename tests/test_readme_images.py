"""README's image recipes make the PNGs in docs/ (`tests/readme_images.py`):
each runs as written, and its crop has the size asked for, is not blank,
shows the text its caption promises and matches the committed image."""
import dataclasses
import struct
import zlib

import numpy as np
import pytest

import readme
from readme import ReadmeError
from readme_images import make, missing_tools, png_grey, problems, recipes

RECIPES = recipes(readme.README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Each recipe run once: image -> (recipe, the PNG made, its folder)."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"the image recipes need {', '.join(missing)} (apt-get install texlive-latex-base "
                    f"poppler-utils), not installed here")
    out = {}
    for recipe in RECIPES:
        folder = tmp_path_factory.mktemp("recipe")
        out[recipe.image] = recipe, make(recipe, folder), folder
    return out


def test_the_readme_has_a_recipe_for_each_image_in_docs():
    assert sorted(r.image for r in RECIPES) == sorted(f"docs/{p.name}" for p in (readme.ROOT / "docs").glob("*.png"))
    assert all(len(r.shows) >= 4 for r in RECIPES)


@pytest.mark.parametrize("image", [r.image for r in RECIPES])
def test_each_recipe_makes_its_image_as_the_readme_says(image, made):
    recipe, png, folder = made[image]
    assert problems(recipe, png, folder) == []


def test_a_crop_that_shows_something_else_is_caught(made):
    recipe, png, folder = made["docs/notes-refuted-step.png"]
    promised = dataclasses.replace(recipe, shows=recipe.shows + ["Section IV, equation 3"])
    found = problems(promised, png, folder)
    assert len(found) == 1, found
    assert found[0].startswith("the crop does not show `Section IV, equation 3` (its text: × Section V, equation 2")
    other = dataclasses.replace(recipe, image="docs/report-refuted.png")
    assert "the committed docs/report-refuted.png is 780 x 810, the crop 790 x 975" in problems(other, png, folder)


def _png(pixels, filters):
    """An 8-bit RGB PNG, row r filtered by filters[r] (0-4), written here without readme_images."""
    h, w, _ = pixels.shape
    raw, prev = b"", [0] * (w * 3)
    for r in range(h):
        row, out = [int(v) for v in pixels[r].reshape(-1)], []
        for i, x in enumerate(row):
            a, b, c = (row[i - 3] if i >= 3 else 0), prev[i], (prev[i - 3] if i >= 3 else 0)
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            out.append((x - [0, a, b, (a + b) // 2, paeth][filters[r]]) % 256)
        raw += bytes([filters[r]] + out)
        prev = row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_png_grey_reads_every_filter():
    pixels = np.random.default_rng(0).integers(0, 256, (10, 7, 3)).astype(np.uint8)
    grey = png_grey(_png(pixels, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0]))
    assert np.array_equal(grey, pixels.mean(axis=2).astype(np.uint8))
    with pytest.raises(ValueError, match="not a PNG file"):
        png_grey(b"GIF89a")


@pytest.mark.parametrize("block, words", [
    ("rm -rf docs\npdftoppm -f 1 x.pdf docs/a", "a recipe runs only gradproof, pdflatex, pdftoppm, got `rm`"),
    ("gradproof report x --format tex -o x.tex", "has no pdftoppm line"),
    ("pdftoppm -png -f 1 x.pdf docs/a", "pdftoppm needs -H, -W, -r, -x, -y to say which crop it makes"),
])
def test_a_recipe_that_cannot_be_checked_is_an_error_naming_its_line(block, words):
    text = f"a\n<!-- image: docs/a.png\nshows: A\n-->\n```sh\n{block}\n```\n"
    with pytest.raises(ReadmeError, match="README.md:2: ") as err:
        recipe, = recipes(text)
        recipe.crop
    assert words in str(err.value)
