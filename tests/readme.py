"""README's quoted outputs, run again: checked, or written back.

    python tests/readme.py --check           # the quoted outputs that differ (exit 1 if any)
    python tests/readme.py --write           # rewrite them with what the commands print now
    python tests/readme.py --write --slow    # the timing outputs (the benches) too
    python tests/readme.py --images          # the README's image recipes (tests/readme_images.py)
    python tests/readme.py --images --write  # ... and the PNGs in docs/ replaced by what they make

A quoted output is a fenced block right after a marker, an HTML comment
that names the command (one a line; a block that starts with `$ ` shows
each command so, before its output):

    <!-- output: gradproof verify derivations/layer.toml -->
    <!-- output: gradproof verify tests/data/wrong_claims.toml | claim W -->
    <!-- output (timing): python -m symbolic.bench --runs 3 -->
    <!-- file: derivations/layer.toml -->

After a ` | `, filters cut the output: `head N` (the first N lines, then
`...`), `tail N`, `claim NAME` (one claim of `gradproof verify`'s text),
`function NAME` (a Python function's source) and `vary REGEX` (the parts
that match differ from run to run, a time say: `--check` passes over them,
`--write` writes the new ones).  Timing outputs are written only with
`--slow` and never checked.  Commands run from the checkout's root without a
shell, `NO_COLOR` set; the only programs are `gradproof` (this checkout's
`symbolic.cli`) and `python`.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- (output|output \(timing\)|file):(.*?)-->", re.S | re.M)
FENCE = re.compile(r"^(`{3,})[^`\n]*\n", re.M)


class ReadmeError(ValueError):
    """A marker that cannot be followed: the line and what is wrong."""


@dataclass
class Block:
    """One quoted output: where its text is in the README and how to make it."""
    line: int               # the marker's line, from 1
    kind: str               # "output", "timing" or "file"
    commands: list          # each (argv words, filters, as written); for "file", the path
    start: int              # offsets of the text between the fences
    end: int
    text: str
    prompt: bool = field(default=False)  # the text shows `$ command` before each output

    @property
    def label(self) -> str:
        return f"README.md:{self.line}: " + "; ".join(raw for _, _, raw in self.commands)


# ---------------------------------------------------------------- reading the markers

FILTERS = {"head", "tail", "claim", "function", "vary"}


def _command(text: str, line: int) -> tuple:
    """`words | filter arg | ...` -> (words, [(filter, arg), ...])."""
    parts = re.split(r"\s\|\s(?=(?:%s)\b)" % "|".join(FILTERS), text.strip())
    try:
        words = shlex.split(parts[0])
    except ValueError as err:
        raise ReadmeError(f"README.md:{line}: the command `{parts[0]}` cannot be split into words: {err}") from None
    filters = []
    for part in parts[1:]:
        name, _, arg = part.strip().partition(" ")
        if name in ("head", "tail") and not arg.strip().isdigit():
            raise ReadmeError(f"README.md:{line}: `{name}` takes a number of lines, got `{arg}`")
        filters.append((name, arg.strip()))
    if not words or words[0] not in ("gradproof", "python"):
        raise ReadmeError(f"README.md:{line}: a quoted output's command must start with `gradproof` or "
                          f"`python`, got `{parts[0]}`")
    return words, filters, parts[0]


def blocks(text: str) -> list:
    """Every marked block of the README text, in order."""
    out = []
    for m in MARKER.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        after = text[m.end():]
        fence = FENCE.match(after.removeprefix("\n"))
        if not after.startswith("\n") or fence is None:
            raise ReadmeError(f"README.md:{line}: a marker must stand on the line before a fenced block (```)")
        start = m.end() + 1 + fence.end()
        close = re.compile(r"^%s\s*$" % fence.group(1), re.M).search(text, start)
        if close is None:
            raise ReadmeError(f"README.md:{line}: the block after the marker has no closing {fence.group(1)}")
        kind = {"output": "output", "output (timing)": "timing", "file": "file"}[m.group(1)]
        lines = [c for c in m.group(2).strip().splitlines() if c.strip()]
        if not lines:
            raise ReadmeError(f"README.md:{line}: the marker names no command")
        if kind == "file":
            commands = [([lines[0].strip()], [], lines[0].strip())]
        else:
            commands = [_command(c, line) for c in lines]
        body = text[start:close.start()]
        out.append(Block(line, kind, commands, start, close.start(), body, body.startswith("$ ")))
    return out


# ---------------------------------------------------------------- running the commands

def run(words: list) -> str:
    """What a README command prints on stdout, run from the checkout's root."""
    program = [sys.executable, "-m", "symbolic.cli"] if words[0] == "gradproof" else [sys.executable]
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(program + words[1:], cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=1800)
    if done.returncode not in (0, 1) or (not done.stdout and done.returncode):
        raise ReadmeError(f"`{' '.join(words)}` exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def apply(filters: list, output: str, name: str) -> str:
    lines = output.rstrip("\n").split("\n")
    for kind, arg in filters:
        if kind == "head":
            lines = lines[:int(arg)] + (["..."] if len(lines) > int(arg) else [])
        elif kind == "tail":
            lines = lines[-int(arg):]
        elif kind == "claim":
            lines = _claim(lines, arg, name)
        elif kind == "function":
            lines = _function(lines, arg, name)
    return "\n".join(lines) + "\n"


def _claim(lines, claim, name):
    head = re.compile(r"^  \S .*\bdJ/d%s = " % re.escape(claim))
    for i, line in enumerate(lines):
        if head.match(line):
            j = i + 1
            while j < len(lines) and lines[j].startswith("   ") and not re.match(r"^  \S", lines[j]):
                j += 1
            return lines[i:j]
    raise ReadmeError(f"{name}: the output has no claim `dJ/d{claim}`")


def _function(lines, fn, name):
    for i, line in enumerate(lines):
        if line.startswith(f"def {fn}("):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            while not lines[j - 1].strip():
                j -= 1
            return lines[i:j]
    raise ReadmeError(f"{name}: the output has no function `{fn}`")


def render(block: Block) -> str:
    """The block's text as its commands print it now."""
    if block.kind == "file":
        return (ROOT / block.commands[0][0][0]).read_text(encoding="utf-8")
    parts = []
    for words, filters, raw in block.commands:
        out = apply(filters, run(words), block.label)
        parts.append((f"$ {raw}\n" if block.prompt else "") + out)
    return "".join(parts)


def same(block: Block, new: str) -> bool:
    """Equal but for the parts each `vary` filter names."""
    old = block.text
    for _, filters, _ in block.commands:
        for kind, arg in filters:
            if kind == "vary":
                old, new = re.sub(arg, "\0", old), re.sub(arg, "\0", new)
    return old == new


# ---------------------------------------------------------------- checking and writing

def check(text: str, slow: bool = False, jobs: int = 2) -> list:
    """`(block, new text)` for each block whose quoted output differs."""
    chosen = [b for b in blocks(text) if slow or b.kind != "timing"]
    quick = [n for n, b in enumerate(chosen) if b.kind != "timing"]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        fresh = dict(zip(quick, pool.map(render, [chosen[n] for n in quick])))
    for n, b in enumerate(chosen):  # the timings one at a time, after the rest: alone on the machine
        if n not in fresh:
            fresh[n] = render(b)
    return [(b, fresh[n]) for n, b in enumerate(chosen) if not same(b, fresh[n])]


def write(text: str, slow: bool = False) -> tuple:
    """The README text with every differing block replaced, and those blocks."""
    changed = check(text, slow)
    for block, new in sorted(changed, key=lambda c: -c[0].start):
        text = text[:block.start] + new + text[block.end:]
    return text, [b for b, _ in changed]


def describe(block: Block, new: str) -> str:
    import difflib
    diff = difflib.unified_diff(block.text.splitlines(), new.splitlines(), "README.md", "now", lineterm="", n=1)
    return f"{block.label}: the quoted output differs\n" + "\n".join(list(diff)[2:40])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python tests/readme.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="report the quoted outputs that differ (exit 1)")
    ap.add_argument("--write", action="store_true", help="rewrite what differs (with --images: the PNGs)")
    ap.add_argument("--slow", action="store_true", help="the timing outputs too (only with --write)")
    ap.add_argument("--images", action="store_true", help="run the image recipes and check their crops")
    args = ap.parse_args(argv)
    if args.check == args.write and not args.images or args.check and args.images or args.slow and not args.write:
        ap.error("say --check or --write (--slow only with --write), or --images with or without --write")
    try:
        return _run(args, README.read_text(encoding="utf-8"))
    except ReadmeError as err:
        print(f"readme: {err}", file=sys.stderr)
        return 2


def _run(args, text) -> int:
    if args.images:
        from readme_images import main as images
        return images(text, write=args.write)
    if args.write:
        new, changed = write(text, slow=args.slow)
        README.write_text(new, encoding="utf-8")
        print("\n".join(f"rewrote {b.label}" for b in changed) or "every quoted output is up to date")
        return 0
    differ = check(text)
    print("\n\n".join(describe(b, new) for b, new in differ) or "every quoted output is up to date")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
