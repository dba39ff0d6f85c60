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
from .load import DerivationError, load
from .verify import DEFAULT_BUDGET, STATUSES, proves_every_size, verify

MARKS = {"proved": "ok ", "proved-up-to": "ok~", "refuted": "NO ", "shape-error": "NO ", "unknown": "?? "}


def main(argv=None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `gradproof ... | head` ends quietly
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except DerivationError as err:
        print(f"gradproof: error: {err}", file=sys.stderr)
        return 2


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
    d.set_defaults(run=cmd_derive)
    return ap


def _positive_int(text):
    value = int(text)
    if not 1 <= value <= 6:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 6, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def cmd_verify(args) -> int:
    files = expand(args.paths)
    derivations = [load(f, activation=args.activation) for f in files]  # all bad input first
    verdicts = []
    for d in derivations:
        results = verify(d, max_size=args.max_size, default_budget=args.budget)
        verdicts.extend(results)
        if args.format == "text":
            _print_text(d, results)
    counts = {s: sum(v.status == s for v in verdicts) for s in STATUSES}
    if args.format == "json":
        json.dump({"version": 1, "claims": [v.to_dict() for v in verdicts], "summary": counts},
                  sys.stdout, indent=2)
        print()
    else:
        parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        print(f"\n{len(verdicts)} claims in {len(derivations)} files: {parts or 'none'}")
    return 0 if all(v.proved for v in verdicts) else 1


def _print_text(d, results):
    print(f"{display_path(d.path)}: {d.title}")
    if not results:
        print("  (no claims)")
    width = max((len(v.wrt) for v in results), default=1)
    for v in results:
        print(f"  {MARKS[v.status]} dJ/d{v.wrt:<{width}} = {v.text}   [{v.headline()}]")
        if not v.proved:
            print(f"        {v.detail}")
            if v.status != "unknown":
                print(f"        derived: dJ/d{v.wrt} = {v.derived}")
            if v.repair:
                print(f"        likely mistake: {v.repair.describe()}; then the claim reads {v.repair.text}")
            if v.counterexample:
                _print_counterexample(v.counterexample)


def _print_counterexample(c):
    sizes = ", ".join(f"{k}={v}" for k, v in c.sizes.items()) or "no dims"
    print(f"        counterexample at {sizes}" + (f", with {c.function}" if c.function else ""))
    for name, value in c.point.items():
        print(f"          {name} = {_mat(value)}")
    how = "exact" if c.exact else "to 20 digits"
    print(f"          claim gives {_mat(c.claim_value)}; the true gradient is {_mat(c.true_value)} ({how})")


def _mat(rows) -> str:
    return "[" + "; ".join(", ".join(r) for r in rows) + "]"


def cmd_list(args) -> int:
    for f in catalogue_files():
        d = load(f)
        name = f.relative_to(CATALOGUE).with_suffix("").as_posix()
        print(f"{name:<28} {d.title}  ({len(d.claims)} claims)")
    return 0


def cmd_derive(args) -> int:
    d = load(resolve(args.path), activation=args.activation)
    g = derive(d)
    print(f"{display_path(d.path)}: {d.title}")
    for name, expr in g.steps:
        print(f"  {name} = {E.text(expr)}")
    print("closed forms (each checked against dJ/dA[p, q] in index form):")
    for name, expr in g.closed.items():
        mark = "proved for every size" if proves_every_size(d, expr, name) else "NOT confirmed"
        print(f"  dJ/d{name} = {E.text(expr)}   [{mark}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
