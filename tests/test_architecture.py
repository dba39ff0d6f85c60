"""The import graph of `symbolic` and `numeric`, read from the source with `ast`.

Arrows run one way: no module imports itself back through others (no
cycle), the data and decision modules never import a printer (the
presentation modules below), and a module imports the project's modules at
its top, except where an import inside a function keeps SymPy (or NumPy)
out of a quick start: those are listed in `START_UP`, each with its reason.
"""
import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("symbolic", "numeric")

# Printers: they may import anything; nothing below them imports them.
# `texexpr` is not among them: it writes the IR in LaTeX, the language the notes' steps are read
# in (`texparse`) and in which a step's right form is given, and imports only the IR and `derive`.
PRESENTATION = {"symbolic.tex", "symbolic.blocks", "symbolic.report", "symbolic.console",
                "symbolic.cli", "symbolic.notebook"}
# The package's own names (`from symbolic import load`), imported by name on first use.
FACADE = {"symbolic"}

WITHOUT_SYMPY = "a cached run, `--help` and `list` never import SymPy"
START_UP = {  # (module, function) -> the project modules it imports where it runs: why there
    ("symbolic.batch", "check"): ({"symbolic.steps", "symbolic.verify"}, WITHOUT_SYMPY),
    ("symbolic.batch", "load_for"): ({"symbolic.load"}, WITHOUT_SYMPY),
    ("symbolic.batch", "_checked"): ({"symbolic.steps", "symbolic.verify"},
                                     WITHOUT_SYMPY + "; imported once, before the workers are forked"),
    ("symbolic.verdicts", "Repair.describe"): ({"symbolic.repair"}, "NumPy (a repair's screen) only once a claim "
                                                                 "is wrong"),
    ("symbolic.verify", "find_repair"): ({"symbolic.repair"}, "NumPy (a repair's screen) only once a claim is wrong"),
    ("symbolic.verdicts", "Repair.describe_step"): ({"symbolic.repair"}, "NumPy (a repair's screen) only once a "
                                                                      "step is wrong"),
    ("symbolic.cli", "cmd_derive"): ({"symbolic.verify"}, WITHOUT_SYMPY),
    ("symbolic.cli", "cmd_latex"): ({"symbolic.tex"}, WITHOUT_SYMPY),
    ("symbolic.cli", "cmd_report"): ({"symbolic.report", "symbolic.texexpr"}, WITHOUT_SYMPY),
    ("symbolic.cli", "cmd_export"): ({"numeric", "numeric.quote"}, "`gradproof` alone never imports NumPy"),
    ("numeric.compile", "generate"): ({"symbolic.derive", "symbolic.load", "symbolic.verify", "symbolic.functions",
                                       "numeric.confirm", "numeric.module"},
                                      "a cached `numeric.gradients` never imports SymPy"),
    ("numeric.compile", "_text"): ({"symbolic.expr"}, "a cached `numeric.gradients` never imports SymPy"),
    **{("numeric.testing", f): (mods, "a pytest plugin (`pytest11`): every pytest run imports it, "
                                      "so it imports SymPy only when a check runs")
       for f, mods in [("_Checker.__init__", {"symbolic.derive", "symbolic.load", "symbolic.catalogue",
                                              "symbolic.functions"}),
                       ("_Checker._applies", {"symbolic.expr"}),
                       ("_Checker.kink_distance", {"symbolic.functions"}),
                       ("_Checker.verified", {"symbolic.expr"}),
                       ("_Checker.variants", {"symbolic.expr", "symbolic.mutate", "symbolic.parse", "symbolic.verify"}),
                       ("Evaluator.value", {"symbolic.expr", "symbolic.functions", "symbolic.windows"})]},
}


# ---------------------------------------------------------------- reading the graph

def modules(root: Path = ROOT, packages=PACKAGES) -> dict:
    """Module name -> its syntax tree, for every `*.py` of the packages."""
    out = {}
    for pkg in packages:
        for f in sorted((root / pkg).glob("*.py")):
            name = pkg if f.stem == "__init__" else f"{pkg}.{f.stem}"
            out[name] = ast.parse(f.read_text(encoding="utf-8"), str(f))
    return out


def imports(trees: dict) -> list:
    """(module, imported project module, function or None at the top, line) for every import."""
    out = []

    def targets(module, node):
        package = module if module in PACKAGES else module.rsplit(".", 1)[0]
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = node.module or ""
        if node.level:
            base = package + (f".{base}" if base else "")
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in trees else base for a in node.names]

    def visit(module, node, qualname, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                where = qualname if in_function else None  # a class body runs at import, as the top does
                out.extend((module, t, where, child.lineno) for t in dict.fromkeys(targets(module, child))
                           if t in trees)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{qualname}.{child.name}" if qualname else child.name
                visit(module, child, name, in_function or not isinstance(child, ast.ClassDef))
            else:
                visit(module, child, qualname, in_function)

    for module, tree in trees.items():
        visit(module, tree, "", False)
    return out


def graph(found: list) -> dict:
    """module -> the modules it imports at its top (when it is imported)."""
    out = {}
    for m, t, where, _ in found:
        out.setdefault(m, set())
        if where is None and t != m:
            out[m].add(t)
    return out


def cycles(g: dict) -> list:
    """Every set of modules that import each other, as one cycle through
    them each (`a -> b -> c -> a`), by Tarjan's strongly connected components."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in g.get(v, ()):
                found.append(_cycle_through(g, component))

    for v in sorted(g):
        if v not in index:
            connect(v)
    return found


def _cycle_through(g: dict, component: set) -> list:
    """One cycle inside a strongly connected component, from its first module back to it."""
    start = min(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for w in sorted(g.get(path[-1], ())):
            if w == start:
                return path + [start]
            if w in component and w not in seen:
                seen.add(w)
                paths.append(path + [w])
    raise AssertionError(f"no cycle through {sorted(component)}")


def upward(found: list, presentation=PRESENTATION, facade=FACADE) -> list:
    """Imports of a printer by a data or decision module, anywhere in it."""
    return [(m, t, where, line) for m, t, where, line in found
            if t in presentation and m not in presentation and m not in facade]


def hidden(found: list, allowed=START_UP) -> list:
    """Imports of project modules inside functions that `allowed` does not list."""
    return [(m, t, where, line) for m, t, where, line in found
            if where is not None and t not in allowed.get((m, where), ((), ""))[0]]


def _shown(found: list) -> str:
    return "\n".join(f"  {m}:{line} ({where or 'top'}) imports {t}" for m, t, where, line in found)


# ---------------------------------------------------------------- the project

@pytest.fixture(scope="module")
def project():
    return imports(modules())


def test_no_module_imports_itself_back_through_others(project):
    found = cycles(graph(project))
    assert not found, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def test_no_data_or_decision_module_imports_a_printer(project):
    found = upward(project)
    assert not found, "printers imported from below:\n" + _shown(found)


def test_imports_inside_functions_are_only_the_listed_start_up_ones(project):
    found = hidden(project)
    assert not found, "imports inside functions, not listed in START_UP with a reason:\n" + _shown(found)


def test_every_listed_start_up_import_is_still_there(project):
    present = {(m, where, t) for m, t, where, _ in project if where is not None}
    stale = [(key, t) for key, (mods, _) in START_UP.items() for t in mods if (*key, t) not in present]
    assert not stale, f"START_UP lists imports the code no longer makes: {stale}"


def test_the_presentation_modules_exist():
    names = set(modules())
    assert PRESENTATION <= names and FACADE <= names


# ---------------------------------------------------------------- the checks can fail

def test_a_cycle_is_found_and_named():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"a"}}
    assert sorted(cycles(g)) == [["a", "b", "c", "a"], ["e", "e"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def _tree(tmp_path, files: dict) -> list:
    for name, text in files.items():
        f = tmp_path / "symbolic" / f"{name}.py"
        f.parent.mkdir(exist_ok=True)
        f.write_text(text)
    return imports(modules(tmp_path, ("symbolic",)))


def test_a_synthetic_package_with_every_fault_fails_each_check(tmp_path):
    found = _tree(tmp_path, {
        "__init__": "",
        "load": "from . import verify\nfrom .derive import derive\n",
        "derive": "from .load import Derivation\n",
        "verify": "def show(v):\n    from .tex import latex\n    return latex(v)\n",
        "tex": "from . import load\n",
        "clean": "from .load import load\n\nclass A:\n    from . import derive\n",
    })
    assert cycles(graph(found)) == [["symbolic.derive", "symbolic.load", "symbolic.derive"]]
    assert upward(found, presentation={"symbolic.tex"}) == [("symbolic.verify", "symbolic.tex", "show", 2)]
    assert hidden(found, allowed={}) == [("symbolic.verify", "symbolic.tex", "show", 2)]
    assert hidden(found, allowed={("symbolic.verify", "show"): ({"symbolic.tex"}, "speed")}) == []
    assert ("symbolic.clean", "symbolic.derive", None, 4) in found  # a class body runs at import


def test_a_clean_synthetic_package_passes(tmp_path):
    found = _tree(tmp_path, {"__init__": "", "load": "import json\n", "derive": "from .load import load\n",
                             "tex": "from .derive import derive\nfrom . import load\n"})
    assert not cycles(graph(found)) and not upward(found, presentation={"symbolic.tex"}) and not hidden(found)


# ---------------------------------------------------------------- one status model

def test_every_status_has_one_mark_on_the_terminal_and_one_in_documents():
    from symbolic import blocks, console
    from symbolic.status import Status
    assert list(console.MARKS) == list(blocks.MARKS) == list(Status)


def test_a_status_is_its_name_in_json_and_in_comparisons():
    from symbolic.status import Status, headline
    assert json.dumps({"verdict": Status.UP_TO}) == '{"verdict": "proved-up-to"}'
    assert Status("shape-error") is Status.SHAPE and Status.REFUTED == "refuted" and f"{Status.PROVED}" == "proved"
    assert Status.UP_TO.proved and not Status.UNKNOWN.proved
    assert headline("proved-up-to", 3) == "proved for sizes up to 3" and headline(Status.SHAPE) == "shape error"
