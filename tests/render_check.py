"""Real renderers for the tests: KaTeX under Node, and pdflatex.

Without the tool a test skips on a developer machine and fails under CI
(`CI=true`), where `.ci/run` installs both.
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

KATEX_DIR = Path(__file__).parent / "katex"


def _missing(what: str):
    message = f"{what} is not installed (`.ci/run` installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def katex_errors(items) -> list:
    """Render every (tex, display) pair in one Node process with
    `throwOnError: true` and `strict: "error"`; the (tex, message) pairs
    that failed."""
    node = shutil.which("node")
    if node is None:
        _missing("node")
    if not (KATEX_DIR / "node_modules" / "katex").is_dir():
        _missing("the npm package katex (`npm ci --prefix tests/katex`)")
    items = [{"tex": t, "display": bool(d)} for t, d in items]
    run = subprocess.run([node, str(KATEX_DIR / "check.js")], input=json.dumps(items),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert len(results) == len(items)
    return [(it["tex"], err) for it, err in zip(items, results) if err is not None]


_MATH = re.compile(r"(?<!\\)\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.S)  # not `\$`


def math_chunks(markdown: str) -> list:
    """The (tex, display) math of a Markdown text: `$$...$$` and `$...$`."""
    out = []
    for m in _MATH.finditer(markdown):
        out.append((m.group(1), True) if m.group(1) is not None else (m.group(2), False))
    return out


def pdflatex(tex_path: Path) -> Path:
    """Compile `tex_path` with pdflatex in its folder (twice, for the
    table widths); the PDF's path.  The log is asserted free of errors."""
    exe = shutil.which("pdflatex")
    if exe is None:
        _missing("pdflatex (Debian texlive-latex-base)")
    for _ in range(2):
        run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                              tex_path.name], cwd=tex_path.parent, capture_output=True, text=True,
                             timeout=120, stdin=subprocess.DEVNULL)
        log = tex_path.with_suffix(".log").read_text(errors="replace")
        assert run.returncode == 0, log[-3000:]
    return tex_path.with_suffix(".pdf")
