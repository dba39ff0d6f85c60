"""The `gradproof` command: a thin layer over `symbolic`'s public functions."""
from __future__ import annotations

import argparse
import json
import signal
import sys

from . import expr as E
from .catalogue import CATALOGUE, catalogue_files, display_path, expand, resolve
from .derive import derive
from .functions import CALLABLE
from .load import DerivationError, check_budget, load
from .steps import check_steps, report_lines as step_report, summary as step_summary
from .budget import OutOfTime, budget
from .index import FormTooLarge
from .verify import DEFAULT_BUDGET, STATUSES, derive_within, derived_text, load_within, proves_every_size, verify
from . import console


def main(argv=None) -> int:
    """Exit codes: 0 all proved, 1 not all proved, 2 bad input (one line
    naming the file and the key) or a file that cannot be read or written,
    3 an internal error (one line; a bug)."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `gradproof ... | head` ends quietly
    sys.set_int_max_str_digits(0)  # a counterexample's exact values may run to many digits
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except DerivationError as err:
        print(f"gradproof: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file named on the command line that cannot be read or written
        name = f"{err.filename}: " if err.filename else ""
        print(f"gradproof: error: {name}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gradproof: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # never a traceback: one line, and an exit code of its own
        print(f"gradproof: internal error: {type(err).__name__}: {_first_line(err)}", file=sys.stderr)
        return 3


def _first_line(err) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else "(no message)"


def _parser():
    ap = argparse.ArgumentParser(prog="gradproof", description="Verify hand-derived gradients of neural-network layers.")
    sub = ap.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="verify the claims of derivation files (default: the bundled catalogue)")
    v.add_argument("paths", nargs="*", metavar="PATH", help="derivation files or folders")
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.add_argument("--max-size", type=_positive_int, default=None, metavar="N",
                   help="largest size tried for every dim in explicit checks (default: the file's, else 3)")
    v.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET, metavar="SECONDS",
                   help=f"time budget per claim unless the file sets one (default {DEFAULT_BUDGET:g})")
    v.add_argument("--activation", choices=CALLABLE, help="replace generic functions by this one")
    v.set_defaults(run=cmd_verify)

    ls = sub.add_parser("list", help="list the bundled catalogue")
    ls.set_defaults(run=cmd_list)

    d = sub.add_parser("derive", help="print the derived gradients of a derivation file")
    d.add_argument("path", metavar="FILE")
    d.add_argument("--activation", choices=CALLABLE, help="replace generic functions by this one")
    d.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET, metavar="SECONDS",
                   help=f"time budget for reading, for deriving and for each check (default {DEFAULT_BUDGET:g})")
    d.set_defaults(run=cmd_derive)

    lt = sub.add_parser("latex", help="print the derived gradients as LaTeX, one equation a line")
    lt.add_argument("path", metavar="FILE")
    lt.add_argument("--wrt", metavar="NAME", help="only the gradient with respect to this input")
    lt.add_argument("--index", action="store_true", help="entry (p, q) in index form")
    lt.add_argument("--steps", action="store_true", help="the backward pass step by step")
    lt.add_argument("--activation", choices=CALLABLE, help="replace generic functions by this one")
    console.add_notation_arguments(lt)
    lt.set_defaults(run=cmd_latex)

    rp = sub.add_parser("report", help="verify and write a Markdown or LaTeX report")
    rp.add_argument("paths", nargs="*", metavar="PATH", help="derivation files or folders")
    rp.add_argument("--format", choices=["md", "tex"], default="md")
    rp.add_argument("-o", "--output", metavar="FILE", default="-", help="where to write (default: stdout)")
    rp.add_argument("--max-size", type=_positive_int, default=None, metavar="N")
    rp.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET, metavar="SECONDS")
    rp.add_argument("--activation", choices=CALLABLE, help="replace generic functions by this one")
    console.add_notation_arguments(rp)
    rp.set_defaults(run=cmd_report)

    ex = sub.add_parser("export", help="write the derived gradients as a standalone NumPy module")
    ex.add_argument("path", metavar="FILE", help="a derivation file or catalogue name")
    ex.add_argument("--activation", choices=CALLABLE, help="the function that replaces generic ones")
    ex.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET * 3, metavar="SECONDS",
                    help=f"time budget for the whole export, its checks included (default {DEFAULT_BUDGET * 3:g})")
    ex.add_argument("--target", choices=["numpy", "torch", "jax"], default="numpy",
                    help="numpy: NumPy only (default); torch: a torch.autograd.Function; jax: a jax.custom_vjp")
    ex.add_argument("-o", "--output", metavar="FILE", default="-", help="where to write (default: stdout)")
    ex.set_defaults(run=cmd_export)
    return ap


def _positive_int(text):
    """`--max-size`: a whole number from 1 to 6."""
    value = int(text) if text.strip().isascii() and text.strip().isdigit() and len(text) < 10 else None
    if value is None or not 1 <= value <= 6:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 6, got {_shown(text)}")
    return value


def _positive_float(text):
    """`--budget`: seconds, more than 0 and at most a day (`inf` and `nan` are refused)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    problem = check_budget(value) if value is not None else f"expected a number of seconds, got {_shown(text)}"
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def _shown(text) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def cmd_verify(args) -> int:
    files = expand(args.paths)
    derivations = [load_within(f, args.budget, args.activation) for f in files]  # all bad input first
    verdicts, step_verdicts = [], []
    with console.Progress() as progress:
        for k, d in enumerate(derivations):
            progress.update(f"gradproof: verifying {k + 1}/{len(derivations)} {display_path(d.path)}")
            results = verify(d, max_size=args.max_size, default_budget=args.budget)
            verdicts.extend(results)
            parts = check_steps(d, max_size=args.max_size, seconds=args.budget) if d.steps else []
            step_verdicts.extend(parts)
            if args.format == "text":
                with progress.paused():
                    _print_text(d, results)
                    if parts:  # the notes' steps: see `symbolic.steps`
                        print("\n".join(step_report(parts, console.Style.for_stream(sys.stdout))), flush=True)
    counts = {s: sum(v.status == s for v in verdicts) for s in STATUSES}
    if args.format == "json":
        doc = {"version": 1, "claims": [v.to_dict() for v in verdicts], "summary": counts}
        if step_verdicts:
            doc["steps"] = [v.to_dict() for v in step_verdicts]
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        if step_verdicts:
            print("\n" + step_summary(step_verdicts), end="")
        print("\n" + console.summary_line(counts, len(verdicts), len(derivations),
                                          console.Style.for_stream(sys.stdout)))
    # a step part counts when proved, or when it is exactly the outcome its file expects
    return 0 if all(v.proved for v in verdicts) and all(v.ok for v in step_verdicts) else 1


def _print_text(d, results):
    style = console.Style.for_stream(sys.stdout)
    if not results and d.steps:
        print(style.paint(f"{display_path(d.path)}: {d.title}", console.BOLD), flush=True)
        return
    print("\n".join(console.verdict_lines(f"{display_path(d.path)}: {d.title}", results, style)), flush=True)


def cmd_list(args) -> int:
    for f in catalogue_files():
        d = load(f)
        name = f.relative_to(CATALOGUE).with_suffix("").as_posix()
        print(f"{name:<28} {d.title}  ({console.plural(len(d.claims), 'claim')})")
    return 0


def cmd_derive(args) -> int:
    d = load_within(resolve(args.path), args.budget, args.activation)
    g = derive_within(d, args.budget)
    if g is None:
        print(f"gradproof: deriving the gradients of {display_path(d.path)} did not finish within the budget "
              f"of {args.budget:g} s", file=sys.stderr)
        return 1
    print(f"{display_path(d.path)}: {d.title}")
    for name, expr in g.steps:
        print(f"  {name} = {derived_text(expr)}")
    print("closed forms (each checked against dJ/dA[p, q] in index form):")
    confirmed = True
    for name, expr in g.closed.items():
        try:
            with budget(args.budget):
                mark = "proved for every size" if proves_every_size(d, expr, name) else "NOT confirmed"
        except (OutOfTime, RecursionError, MemoryError, FormTooLarge):
            mark = f"NOT confirmed within the budget of {args.budget:g} s"
        confirmed = confirmed and mark.startswith("proved")
        print(f"  dJ/d{name} = {derived_text(expr)}   [{mark}]")
    return 0 if confirmed else 1


def cmd_latex(args) -> int:
    from .tex import latex
    try:
        print(latex(resolve(args.path), args.wrt, activation=args.activation, index=args.index,
                    steps=args.steps, hadamard=args.hadamard, transpose=args.transpose,
                    upstream=args.upstream))
    except ValueError as err:
        if isinstance(err, DerivationError):
            raise
        print(f"gradproof: error: {err}", file=sys.stderr)
        return 2
    return 0


def cmd_report(args) -> int:
    from .report import report
    from .tex import Notation
    inputs = expand(args.paths)
    if _refuse_overwrite(args.output, inputs):
        return 2
    notation = Notation(args.hadamard, args.transpose, args.upstream)
    with console.Progress() as progress:
        def tick(k, n, d):
            progress.update(f"gradproof: verifying {k + 1}/{n} {display_path(d.path)}")
        text = report(args.paths, args.format, activation=args.activation, max_size=args.max_size,
                      budget=args.budget, notation=notation, progress=tick)
    return _write(args.output, text, inputs)


def cmd_export(args) -> int:
    from numeric import export
    from numeric.compile import locate
    from numeric.quote import GenerationError
    inputs = [locate(args.path)]
    if _refuse_overwrite(args.output, inputs):
        return 2
    try:
        with budget(args.budget):
            text = export(args.path, activation=args.activation, target=args.target)
    except GenerationError as err:
        print(f"gradproof: error: {err}", file=sys.stderr)
        return 2
    except (OutOfTime, RecursionError, MemoryError, FormTooLarge):
        print(f"gradproof: exporting {args.path} did not finish within the budget of {args.budget:g} s",
              file=sys.stderr)
        return 1
    return _write(args.output, text, inputs)


# ---------------------------------------------------------------- output files

def _write(output: str, text: str, inputs=()) -> int:
    """`text` to the file `output` ("-": standard output), replacing it in
    one step (a temporary file beside it, then `os.replace`); 2, with a
    message, if it cannot or if `output` is one of the files `inputs`."""
    if output == "-":
        sys.stdout.write(text)
        return 0
    if _refuse_overwrite(output, inputs):
        return 2
    try:
        # a file name that is not UTF-8 is written back as the bytes it has
        _replace(output, text.encode("utf-8", "surrogateescape"))
    except OSError as err:
        print(f"gradproof: error: cannot write `{output}` ({err.strerror or err})", file=sys.stderr)
        return 2
    print(f"wrote {output}", file=sys.stderr)
    return 0


def _refuse_overwrite(output: str, inputs) -> bool:
    """True, with a message, if the file `output` is one of `inputs` (the
    same file by any path: a symbolic or hard link, `..`, a catalogue name)."""
    import os
    if output == "-":
        return False
    for path in inputs:
        try:
            same = os.path.samefile(output, path)
        except OSError:  # `output` does not exist yet
            same = os.path.realpath(output) == os.path.realpath(path)
        if same:
            print(f"gradproof: error: `-o {output}` is {display_path(path)}, a derivation file this "
                  "command reads; write the output to another file", file=sys.stderr)
            return True
    return False


def _replace(output: str, data: bytes) -> None:
    """Replace the file `output` (through a symbolic link, as `open` would)
    by `data`: written to a temporary file in the same folder, then moved
    over it with `os.replace`; on failure the temporary file is removed and
    the old file is left as it was."""
    import os
    import stat
    import tempfile
    target = os.path.realpath(output)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


if __name__ == "__main__":
    sys.exit(main())
