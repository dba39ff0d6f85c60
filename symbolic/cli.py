"""The `gradproof` command: a thin layer over `symbolic`'s public functions.

SymPy is imported only by the commands that need it, so `gradproof --help`,
`--version`, `list` and a `verify` answered from the cache start quickly:
the modules imported at the top import no SymPy, and a command imports
the rest where it runs (each such import says so).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from . import __version__, batch, console
from .budget import DEFAULT_BUDGET, MAX_BUDGET, OutOfTime, budget
from .catalogue import catalogue_files, catalogue_name, display_path, expand, resolve, summary
from .errors import DerivationError, FormTooLarge
from .files import replace_file

# As `functions.CALLABLE`, written out so that parsing options imports no
# SymPy (a test keeps them equal).
ACTIVATIONS = ("cos", "exp", "gelu", "identity", "leaky_relu", "log", "normcdf", "normpdf", "relu", "sigmoid", "silu",
               "sin", "softplus", "sqrt", "step", "tanh")

EXIT_CODES = """exit codes:
  0  every claim proved (for every size or up to N), every step part as its file expects
  1  a claim refuted, a shape error or unknown (or a step part not as expected)
  2  bad input: a file that cannot be read or is not a valid derivation (the other
     files are still verified), a bad option, an output that cannot be written
  3  an internal error (a bug in gradproof), reported as one line"""


def main(argv=None) -> int:
    """Exit codes: 0 all proved, 1 not all proved, 2 bad input (one line
    naming the file and the key) or a file that cannot be read or written,
    3 an internal error (one line; a bug)."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `gradproof ... | head` ends quietly
    sys.set_int_max_str_digits(0)  # a counterexample's exact values may run to many digits
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except DerivationError as err:
        return _error(err)
    except OSError as err:  # a file named on the command line that cannot be read or written
        return _error((f"{err.filename}: " if err.filename else "") + str(err.strerror or err))
    except KeyboardInterrupt:
        print("gradproof: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # never a traceback: one line, and an exit code of its own
        text = str(err).strip().splitlines()
        first = text[0][:300] if text else "(no message)"
        print(f"gradproof: internal error: {type(err).__name__}: {first}", file=sys.stderr)
        return 3


def _error(message) -> int:
    """Bad input, or an output that cannot be written: one line on stderr, and exit code 2."""
    print(f"gradproof: error: {message}", file=sys.stderr, flush=True)
    return 2


def _parser():
    ap = argparse.ArgumentParser(prog="gradproof", description="Verify hand-derived gradients of neural-network "
                                 "layers, with proof.", epilog="`gradproof COMMAND --help` describes a command.")
    ap.add_argument("--version", action="version", version=f"gradproof {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", help="one of:")

    v = sub.add_parser("verify", help="verify the claims of derivation files (default: the bundled catalogue)",
                       description="Verify the claims and steps of derivation files: one line a claim, one line "
                                   "per file for the step parts that hold, then each step part that fails or "
                                   "was expected to fail.", epilog=EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("paths", nargs="*", metavar="PATH",
                   help="derivation files, folders (searched for *.toml) or catalogue names "
                        "(default: the whole catalogue)")
    v.add_argument("--format", choices=["text", "json"], default="text",
                   help="text for a terminal (default) or one JSON document")
    _add_check_options(v)
    v.add_argument("--steps", action="store_true", help="every step part with its text, as the notes write it")
    v.add_argument("-v", "--verbose", action="store_true", help="the same as --steps")
    _add_run_options(v)
    v.set_defaults(run=cmd_verify)

    ls = sub.add_parser("list", help="list the bundled catalogue", description="The bundled catalogue, one "
                        "line a file: its name (for any command's FILE), title and number of claims.")
    ls.set_defaults(run=cmd_list)

    d = sub.add_parser("derive", help="print the derived gradients of a derivation file",
                       description="The backward pass gradproof derives, one named step a line, and each "
                                   "closed form with its check.")
    d.add_argument("path", metavar="FILE", help="a derivation file or a catalogue name such as layer_batch")
    d.add_argument("--activation", choices=ACTIVATIONS, metavar="NAME", help=_ACTIVATION_HELP)
    d.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET, metavar="SECONDS",
                   help=f"time budget for reading, for deriving and for each check (default {DEFAULT_BUDGET:g})")
    d.set_defaults(run=cmd_derive)

    lt = sub.add_parser("latex", help="print the derived gradients as LaTeX, one equation a line",
                        description="The derived gradients in the notes' notation, one equation a line.")
    lt.add_argument("path", metavar="FILE", help="a derivation file or a catalogue name such as layer_batch")
    lt.add_argument("--wrt", metavar="NAME", help="only the gradient with respect to this input")
    lt.add_argument("--index", action="store_true", help="entry (p, q) in index form")
    lt.add_argument("--steps", action="store_true", help="the backward pass step by step")
    lt.add_argument("--activation", choices=ACTIVATIONS, metavar="NAME", help=_ACTIVATION_HELP)
    console.add_notation_arguments(lt)
    lt.set_defaults(run=cmd_latex)

    rp = sub.add_parser("report", help="verify and write a Markdown or LaTeX report",
                        description="Verify the files and write a document with a section per derivation.",
                        epilog=EXIT_CODES.replace("(the other\n     files are still verified)", "(nothing is "
                                                  "written)"), formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.add_argument("paths", nargs="*", metavar="PATH",
                    help="derivation files, folders or catalogue names (default: the whole catalogue)")
    rp.add_argument("--format", choices=["md", "tex"], default="md",
                    help="md: Markdown with $ math (default); tex: a complete LaTeX document")
    rp.add_argument("-o", "--output", metavar="FILE", default="-", help="where to write (default: stdout)")
    _add_check_options(rp)
    _add_run_options(rp)
    console.add_notation_arguments(rp)
    rp.set_defaults(run=cmd_report)

    ex = sub.add_parser("export", help="write the derived gradients as a standalone NumPy module",
                        description="The derived gradients as a module whose only import is NumPy.")
    ex.add_argument("path", metavar="FILE", help="a derivation file or a catalogue name such as layer_batch")
    ex.add_argument("--activation", choices=ACTIVATIONS, metavar="NAME",
                    help=_ACTIVATION_HELP + "; required when the file has one")
    ex.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET * 3, metavar="SECONDS",
                    help=f"time budget for the whole export, its checks included (default {DEFAULT_BUDGET * 3:g})")
    ex.add_argument("--target", choices=["numpy", "torch", "jax"], default="numpy",
                    help="numpy: NumPy only (default); torch: a torch.autograd.Function; jax: a jax.custom_vjp")
    ex.add_argument("-o", "--output", metavar="FILE", default="-", help="where to write (default: stdout)")
    ex.set_defaults(run=cmd_export)
    return ap


_ACTIVATION_HELP = (f"replace the file's generic functions (such as g) by this one: {', '.join(ACTIVATIONS)}; "
                    "a file with no generic function is bad input")


def _add_check_options(parser):
    """`--max-size`, `--budget`, `--activation`, as `verify` and `report` read them."""
    parser.add_argument("--max-size", type=_whole_number(6, "an integer"), default=None, metavar="N",
                        help="largest size tried for every dim in explicit checks, 1 to 6 "
                             "(default: the file's, else 3)")
    parser.add_argument("--budget", type=_positive_float, default=DEFAULT_BUDGET, metavar="SECONDS",
                        help=f"time budget per claim unless the file sets one (default {DEFAULT_BUDGET:g})")
    parser.add_argument("--activation", choices=ACTIVATIONS, metavar="NAME", help=_ACTIVATION_HELP)


def _add_run_options(parser):
    """`--jobs`, `--no-cache`, as `verify` and `report` read them."""
    parser.add_argument("-j", "--jobs", type=_whole_number(256, "a number of processes"),
                        default=os.cpu_count() or 1, metavar="N",
                        help=f"files verified at once, each in a process of its own (default: the number of "
                             f"cores, {os.cpu_count() or 1})")
    parser.add_argument("--no-cache", action="store_true",
                        help="verify every file again, neither reading nor writing the verdict cache")


def _whole_number(most: int, what: str):
    """An option's whole number from 1 to `most` (`--max-size`: 6, `--jobs`: 256), `what` in its message."""
    def parse(text):
        value = int(text) if text.strip().isascii() and text.strip().isdigit() and len(text) < 10 else None
        if value is None or not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"expected {what} from 1 to {most}, got {_shown(text)}")
        return value
    return parse


def _positive_float(text):
    """`--budget`: seconds, more than 0 and at most a day (`inf` and `nan` are refused),
    as `load.check_budget` says of a file's own budget."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {_shown(text)}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    if not value <= MAX_BUDGET:  # also inf and nan
        raise argparse.ArgumentTypeError(f"expected a number of seconds up to {MAX_BUDGET:g} (a day), "
                                         f"got {value!r}")
    return value


def _shown(text) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


# ---------------------------------------------------------------- commands

def cmd_verify(args) -> int:
    files = expand(args.paths)
    options = batch.Options(args.max_size, args.budget, args.activation)
    records = batch.run(files, options, jobs=args.jobs, cache=None if args.no_cache else batch.Cache())
    style = console.Style.for_stream(sys.stdout)
    done, bad = [], []
    with console.Progress() as progress:  # its thread starts once the workers have
        for k, f in enumerate(files):
            progress.update(f"gradproof: verifying {k + 1}/{len(files)} {display_path(f)}")
            r = next(records)
            if r["error"] is not None:
                bad.append(r)
                with progress.paused():
                    _error(r["error"])
                continue
            done.append(r)
            if args.format == "text":
                with progress.paused():
                    print("\n".join(_file_lines(r, style, args.steps or args.verbose)), flush=True)
    claims = [v for r in done for v in r["claims"]]
    parts = [v for r in done for v in r["steps"]]
    if args.format == "json":
        json.dump(_json(done, bad, claims, parts), sys.stdout, indent=2)
        print()
    elif done:
        print()
        print(console.summary_line(console.counts(claims), len(claims), len(done), style))
        if parts:
            print(console.step_summary(parts, style))
        if bad:
            print(style.paint(f"{console.plural(len(bad), 'file')} not verified: bad input (see above)", "31"))
    if bad:
        return 2
    return 0 if all(map(console.proved, claims)) and all(map(console.step_ok, parts)) else 1


def _file_lines(r: dict, style, verbose: bool) -> list:
    lines = [console.title_line(r, display_path(r["file"]), style)]
    if r["claims"]:
        lines += console.claim_lines(r["claims"], style)
    lines += console.step_lines(r["steps"], style, verbose)
    return lines if len(lines) > 1 else lines + ["  (no claims)"]


JSON_VERSION = 4


def _json(done: list, bad: list, claims: list, parts: list) -> dict:
    step_counts = console.counts(parts)
    step_counts["as-expected"] = sum(1 for v in parts if v.get("expected") is not None and console.step_ok(v))
    step_counts["not-ok"] = sum(1 for v in parts if not console.step_ok(v))
    doc = {"version": JSON_VERSION, "claims": claims,
           "summary": {"files": len(done), "errors": len(bad), "claims": console.counts(claims),
                       "steps": step_counts}}
    if parts:
        doc["steps"] = parts
    doc["errors"] = [{"file": r["file"], "message": r["error"]} for r in bad]
    doc["files"] = [{"file": r["file"], "title": r["title"], "replaced": r["replaced"]} for r in done]
    return doc


def cmd_list(args) -> int:
    for f in catalogue_files():
        title, claims = summary(f)
        print(f"{catalogue_name(f):<28} {title}  ({console.plural(claims, 'claim')})")
    return 0


def cmd_derive(args) -> int:
    from .verify import derive_within, derived_text, proves_closed_form  # SymPy: only this command needs it
    d, replaced = batch.load_for(resolve(args.path), args.budget, args.activation)
    g = derive_within(d, args.budget)
    if g is None:
        print(f"gradproof: deriving the gradients of {display_path(d.path)} did not finish within the budget "
              f"of {args.budget:g} s", file=sys.stderr)
        return 1
    print(console.title_line({"title": d.title, "replaced": replaced}, display_path(d.path)))
    for name, expr in g.steps:
        print(f"  {name} = {derived_text(expr)}")
    print("closed forms (each checked against dJ/dA[p, q] in index form):")
    confirmed = True
    for name, expr in g.closed.items():
        try:
            with budget(args.budget):
                mark = "proved for every size" if proves_closed_form(d, g, expr, name) else "NOT confirmed"
        except (OutOfTime, RecursionError, MemoryError, FormTooLarge):
            mark = f"NOT confirmed within the budget of {args.budget:g} s"
        confirmed = confirmed and mark.startswith("proved")
        print(f"  dJ/d{name} = {derived_text(expr)}   [{mark}]")
    return 0 if confirmed else 1


def cmd_latex(args) -> int:
    from .tex import latex  # SymPy: only this command needs it
    d, replaced = batch.load_for(resolve(args.path), DEFAULT_BUDGET, args.activation)
    _say_replaced(d.path, replaced)
    try:
        print(latex(d, args.wrt, index=args.index, steps=args.steps, hadamard=args.hadamard,
                    transpose=args.transpose, upstream=args.upstream))
    except DerivationError:
        raise
    except ValueError as err:
        return _error(err)
    return 0


def _say_replaced(path, replaced: dict) -> None:
    """On stderr, beside a document: which function replaced each generic one."""
    if replaced:
        names = ", ".join(f"{g} is {fn}" for g, fn in replaced.items())
        print(f"gradproof: {display_path(path)}: {names} (--activation)", file=sys.stderr)


def cmd_report(args) -> int:
    from .report import FORMATS, entries  # SymPy: only this command needs it
    from .texexpr import Notation
    inputs = expand(args.paths)
    if _refuse_overwrite(args.output, inputs):
        return 2

    def tick(k, n, d):
        progress.update(f"gradproof: verifying {k + 1}/{n} {display_path(d.path)}")
    pending = entries(inputs, activation=args.activation, max_size=args.max_size, budget=args.budget,
                      jobs=args.jobs, cache=None if args.no_cache else batch.Cache(), progress=tick,
                      loaded=lambda d, replaced: _say_replaced(d.path, replaced))
    with console.Progress() as progress:  # its thread starts once the workers have
        done = list(pending)
    code = _write(args.output, FORMATS[args.format](done, Notation(args.hadamard, args.transpose, args.upstream)),
                  inputs)
    if code:
        return code
    proved = all(v.proved for e in done for v in e.verdicts) and all(v.ok for e in done for v in e.step_verdicts)
    return 0 if proved else 1


def cmd_export(args) -> int:
    # imported here: NumPy, and SymPy unless the module is cached, only for this command
    from numeric import export
    from numeric.quote import GenerationError
    inputs = [resolve(args.path)]
    if _refuse_overwrite(args.output, inputs):
        return 2
    if args.activation is not None:
        _say_replaced(inputs[0], {g: args.activation for g in batch.replaced_by(inputs[0], args.activation)})
    try:
        with budget(args.budget):
            text = export(args.path, activation=args.activation, target=args.target)
    except GenerationError as err:
        return _error(err)
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
        replace_file(output, text.encode("utf-8", "surrogateescape"))
    except OSError as err:
        return _error(f"cannot write `{output}` ({err.strerror or err})")
    print(f"wrote {output}", file=sys.stderr)
    return 0


def _refuse_overwrite(output: str, inputs) -> bool:
    """True, with a message, if the file `output` is one of `inputs` (the
    same file by any path: a symbolic or hard link, `..`, a catalogue name)."""
    if output == "-":
        return False
    for path in inputs:
        try:
            same = os.path.samefile(output, path)
        except OSError:  # `output` does not exist yet
            same = os.path.realpath(output) == os.path.realpath(path)
        if same:
            _error(f"`-o {output}` is {display_path(path)}, a derivation file this command reads; "
                   "write the output to another file")
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
