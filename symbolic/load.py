"""Read a derivation file (TOML) into a checked `Derivation`.

Every problem is a `DerivationError` naming the file and the key, what was
expected and what came.  Claims are parsed here too: an unknown name in a
claim is bad input, but a claim whose shapes do not meet is a verdict, so
its `ShapeError` is kept on the claim rather than raised.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import sympy

from . import expr as E
from .budget import MAX_BUDGET, OutOfTime, budget
from .catalogue import is_file_name, resolve
from .derivation import FACT_ALIASES, FACTS, SIGNS, Claim, Derivation, dim_values
from .linalg import MATRIX_FACTS, SYMMETRIC
from .errors import DerivationError, ExprError
from .functions import ACTIVATIONS, CALLABLE, GENERIC
from .parse import MAX_DEPTH, MAX_INLINED_DEPTH, Parser, check_constants, parse_tree
from .steps import read_notation, read_steps
from .steptree import Shape, read_shape, shape_of
from .texparse import Name, TexError, to_core, walk


TOP_KEYS = {"title", "source", "dims", "inputs", "functions", "forward", "output", "upstream",
            "claims", "check", "steps", "notation"}
CHECK_KEYS = {"max_size"}
CLAIM_KEYS = {"expr", "latex", "budget"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
RESERVED = {"sum", "T"} | set(ACTIVATIONS)


def is_name(text) -> bool:
    """Letters, digits and `_`, starting with a letter, no `__`: the whole text."""
    return isinstance(text, str) and _NAME.fullmatch(text) is not None and "__" not in text


def check_budget(value):
    """None if `value` is a usable budget in seconds, else what is wrong with it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return f"expected a positive number of seconds, got {value!r}"
    if not value <= MAX_BUDGET:  # also inf and nan
        return f"expected a number of seconds up to {MAX_BUDGET:g} (a day), got {value!r}"
    return None


def unknown_keys(given, allowed) -> str | None:
    """The first key of `given` not in `allowed`, or None."""
    extra = sorted(k for k in given if k not in allowed)
    return extra[0] if extra else None


def load(path, activation: str | None = None) -> Derivation:
    """Read and check the derivation file at `path`, or the catalogue entry
    of that name (`"layer_batch"`, `"notes/section_3"`).

    `activation` replaces every generic function by that table function
    (e.g. "sigmoid"), as if the file had declared `g = "sigmoid"`.
    """
    path = Path(path) if is_file_name(path) else resolve(path)
    try:
        raw = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise DerivationError(path, None, f"cannot read the file ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        raise DerivationError(path, None, f"expected UTF-8 text (byte {err.start + 1} is not)") from None
    except ValueError as err:  # a NUL byte in the name
        raise DerivationError(path, None, f"cannot read the file ({err})") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as err:
        raise DerivationError(path, None, f"malformed TOML: {err}") from None
    except RecursionError:
        raise DerivationError(path, None, "malformed TOML: arrays or tables nested too deeply") from None
    reader = _Reader(path, data, activation)
    try:
        return reader.derivation()
    except RecursionError:  # a last guard: every reader limits its nesting itself
        raise DerivationError(path, reader.key, f"nested too deeply: at most {MAX_DEPTH} levels") from None


def load_within(path, seconds: float, activation: str | None = None) -> Derivation:
    """`load` under a budget: a file that takes longer to read is bad input."""
    try:
        with budget(seconds):
            return load(path, activation=activation)
    except OutOfTime:
        raise DerivationError(path, None, f"reading the file did not finish within the budget of {seconds:g} s") \
            from None
    except (RecursionError, MemoryError):
        raise DerivationError(path, None, "the file is too large or too deeply nested to read") from None


class _Reader:
    def __init__(self, path, data, activation):
        self.path, self.data, self.activation = path, data, activation
        self.key = None  # the key being read, for a last-resort message

    def fail(self, key, message):
        raise DerivationError(self.path, key, message)

    def known_keys(self, key, table, allowed):
        extra = unknown_keys(table, allowed)
        if extra is not None:
            where = f"{key}.{extra}" if key else extra
            self.fail(where, f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def budget(self, key, value):
        problem = check_budget(value)
        if problem:
            self.fail(key, problem)
        return value

    def table(self, key, required=True) -> dict:
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(key, f"missing table `[{key}]`")
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"expected a table `[{key}]`, got {type(value).__name__} {value!r}")
        return value

    def string(self, key, value) -> str:
        self.key = key
        if isinstance(value, dict):
            self.fail(key, f"expected a string, got a table (keys: {', '.join(map(str, value)) or 'none'})")
        if not isinstance(value, str):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            self.fail(key, f"expected a string, got {type(value).__name__} {shown}")
        return value

    def name(self, key, name):
        self.key = key
        if not is_name(name):
            shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
            self.fail(key, f"expected a name of letters, digits and `_` (starting with a letter, "
                           f"no `__`), got {shown}")
        if name in RESERVED:
            self.fail(key, f"`{name}` is a built-in function name and cannot name a value")
        if name in self.taken:
            self.fail(key, f"`{name}` is already declared as {self.taken[name]}")

    def derivation(self) -> Derivation:
        self.known_keys(None, self.data, TOP_KEYS)
        self.taken, self.facts, self.constants = {}, {}, set()
        dims = self.read_dims()
        inputs = self.read_inputs(dims)
        functions = self.read_functions()
        forward, forward_text = self.read_forward(inputs, functions, dims)
        output, upstream = self.read_output(inputs, forward)
        check = self.table("check", required=False)
        self.known_keys("check", check, CHECK_KEYS)
        max_size = check.get("max_size", 3)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or not 1 <= max_size <= 6:
            self.fail("check.max_size", f"expected an integer from 1 to 6, got {max_size!r}")
        d = Derivation(self.path, self.string("title", self.data.get("title", self.path.stem)),
                       self.string("source", self.data.get("source", "")), dims, inputs, functions,
                       forward, forward_text, output, upstream, max_size=max_size, facts=self.facts,
                       constants=self.constants)
        d.claims = self.read_claims(d)
        if "steps" in self.data or "notation" in self.data:
            self.key = "notation"
            for name in self.table("notation", required=False):
                self.name(f"notation.{name}", name)
            d.notation = read_notation(self.path, self.data.get("notation"), d)
            self.ordered(d.notation, "notation", "a notation cannot stand for itself")
            self.key = "steps"
            d.steps = read_steps(self.path, self.data.get("steps", []), d, d.notation)
        return d

    def ordered(self, trees: dict, section: str, cycle: str) -> list:
        """The names of `trees` (name -> a tree that may use others), each
        after those it uses; a definition that uses itself, through others,
        fails at its name with the cycle (`z -> yhat -> z`)."""
        uses = {n: sorted({x.name for x in walk(t) if type(x) is Name and x.name in trees}) for n, t in trees.items()}
        order, state = [], {}
        for root in uses:
            if root in state:
                continue
            path, stack, state[root] = [root], [iter(uses[root])], "active"
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    stack.pop()
                    state[path[-1]] = "done"
                    order.append(path.pop())
                elif state.get(nxt) == "active":
                    self.fail(f"{section}.{nxt}", f"{cycle}: " + " -> ".join(path[path.index(nxt):] + [nxt]))
                elif nxt not in state:
                    state[nxt] = "active"
                    path.append(nxt)
                    stack.append(iter(uses[nxt]))
        return order

    def entries(self, section: str):
        """(key, name, text) of each entry of an optional table of strings."""
        for name, value in self.table(section, required=False).items():
            key = f"{section}.{name}"
            self.name(key, name)
            yield key, name, self.string(key, value)

    def read_dims(self) -> dict:
        dims = {}
        for _, name, _ in self.entries("dims"):
            dims[name] = sympy.Symbol(name, integer=True, positive=True)
            self.taken[name] = "a dim"
        return dims

    def read_inputs(self, dims) -> dict:
        inputs = {}
        spec = self.table("inputs")
        if not spec:
            self.fail("inputs", "expected at least one input")
        for name, shape in spec.items():
            key = f"inputs.{name}"
            self.name(key, name)
            if isinstance(shape, dict):  # data: `{ shape = "c x m", data = "one-hot columns" }`
                what = "constant" if "constant" in shape else "data"  # `{ shape = "scalar", constant = "positive" }`
                allowed = FACTS if what == "data" else SIGNS
                self.known_keys(key, shape, {"shape", "data"} if what == "data" else {"shape", "constant"})
                if "shape" not in shape or what not in shape:
                    self.fail(key, f"a data input takes `shape` and `data` (one of {', '.join(FACTS)}), "
                                   f"a constant `shape` and `constant` (one of {', '.join(SIGNS)}), "
                                   f"got keys {sorted(shape)}")
                fact = self.string(f"{key}.{what}", shape[what])
                if fact not in allowed:
                    self.fail(f"{key}.{what}", f"expected one of {', '.join(allowed)}, got {fact!r}")
                self.facts[name] = FACT_ALIASES.get(fact, fact)
                if what == "constant":
                    self.constants.add(name)
                shape = shape["shape"]
            role = "symmetric" if self.facts.get(name) in SYMMETRIC else "input"
            inputs[name] = E.Var(name, self.shape(key, self.string(key, shape), dims), role)
            if self.facts.get(name) in MATRIX_FACTS and inputs[name].shape[0] != inputs[name].shape[1]:
                self.fail(f"{key}.shape", f"`{self.facts[name]}` is a fact of a square matrix (n x n), "
                                          f"got {shape!r}")
            self.taken[name] = "an input"
        return inputs

    def shape(self, key, text, dims) -> tuple:
        try:
            return shape_of(Shape(*read_shape(text, dims)), dims)
        except ValueError as err:
            self.fail(key, err.args[0])

    def read_functions(self) -> dict:
        functions = {}
        for key, name, kind in self.entries("functions"):
            if kind == GENERIC:
                functions[name] = self.activation
                if self.activation is not None and self.activation not in CALLABLE:
                    raise DerivationError(self.path, None, f"unknown activation {self.activation!r}; "
                                          f"expected one of {', '.join(CALLABLE)}")
            elif kind in CALLABLE:
                functions[name] = kind
            else:
                self.fail(key, f"unsupported function {kind!r}; expected \"{GENERIC}\" "
                               f"or one of {', '.join(CALLABLE)}")
            self.taken[name] = "a function"
        return functions

    def read_forward(self, inputs, functions, dims=None):
        spec = self.table("forward")
        if not spec:
            self.fail("forward", "expected at least one definition")
        trees = {}
        for name, text in spec.items():
            key = f"forward.{name}"
            self.name(key, name)
            self.taken[name] = "a forward definition"
            try:
                trees[name] = parse_tree(self.string(key, text))
            except ExprError as err:
                self.fail(key, str(err))
        order = self.ordered(trees, "forward", "cyclic definition")
        forward, names, depth = {}, {**dim_values(dims or {}), **inputs}, {}
        for name in order:
            key = self.key = f"forward.{name}"
            try:
                forward[name] = Parser(names, functions, spec[name]).build(trees[name])
                check_constants(forward[name])
            except (ExprError, E.ShapeError) as err:
                self.fail(key, str(err))
            names[name] = E.Var(name, forward[name].shape, "intermediate")
            depth[name] = E.depth(forward[name], depth)
            if depth[name] > MAX_INLINED_DEPTH:
                self.fail(key, f"nested too deeply with the definitions it uses: {depth[name]} levels, "
                               f"at most {MAX_INLINED_DEPTH}")
        self.depths = depth
        return forward, {n: spec[n] for n in order}

    def check_depth(self, key, e):
        levels = E.depth(e, self.depths)
        if levels > MAX_INLINED_DEPTH:
            self.fail(key, f"nested too deeply with the definitions it uses: {levels} levels, "
                           f"at most {MAX_INLINED_DEPTH}")

    def read_output(self, inputs, forward):
        out = self.data.get("output")
        if out is None:
            self.fail("output", "missing key `output` (the name of the forward value that J depends on)")
        out = self.string("output", out)
        if out not in forward:
            self.fail("output", f"expected a forward definition name, got `{out}`")
        output = E.Var(out, forward[out].shape, "intermediate")
        up = self.data.get("upstream")
        if up is None:
            if output.shape != (E.ONE, E.ONE):
                self.fail("upstream", f"missing: the output `{out}` has shape {E.fmt_shape(output.shape)}, "
                                      "so J = <upstream, output> needs the upstream gradient's name; "
                                      "only a 1 x 1 output may be the loss J itself")
            return output, None
        up = self.string("upstream", up)
        self.name("upstream", up)
        return output, E.Var(up, output.shape, "upstream")

    def read_claims(self, d: Derivation) -> dict:
        """`[claims]`, one claim an input (`W = "..."`), or `[[claims]]`, a
        list of claims each naming its input (`wrt = "W"`), so that one
        input may have several candidate forms, each with an optional
        `name`.  Keyed by name, else by input (`W`, `W (2)`, ...)."""
        if isinstance(self.data.get("claims"), list):
            return self.claim_list(d)
        parser = d.parser()
        return {wrt: self.claim(d, f"claims.{wrt}", wrt, spec, parser)
                for wrt, spec in self.table("claims", required=False).items()}

    def claim_list(self, d: Derivation) -> dict:
        claims, parser = {}, d.parser()
        for k, spec in enumerate(self.data["claims"]):
            key = f"claims[{k}]"
            if not isinstance(spec, dict):
                self.fail(key, f"expected a table with `wrt` and `expr` or `latex`, got {type(spec).__name__}")
            self.known_keys(key, spec, CLAIM_KEYS | {"wrt", "name"})
            if "wrt" not in spec:
                self.fail(key, "missing key `wrt`: the input whose gradient the claim is")
            wrt = self.string(f"{key}.wrt", spec["wrt"])
            name = spec.get("name")
            if name is not None:
                name = self.string(f"{key}.name", name)
                if name in claims:
                    self.fail(f"{key}.name", f"two claims are named `{name}`")
            else:
                name = wrt if wrt not in claims else next(f"{wrt} ({n})" for n in range(2, len(claims) + 3)
                                                           if f"{wrt} ({n})" not in claims)
            rest = {k2: v for k2, v in spec.items() if k2 not in ("wrt", "name")}
            claim = self.claim(d, key, wrt, rest, parser)
            claim.name = None if name == wrt else name
            claims[name] = claim
        return claims

    def claim(self, d: Derivation, key: str, wrt: str, spec, parser) -> Claim:
        self.key = key
        budget = None
        if isinstance(spec, dict):
            self.known_keys(key, spec, CLAIM_KEYS)
        if isinstance(spec, dict) and "latex" in spec:
            return self.latex_claim(d, key, wrt, spec)
        if isinstance(spec, dict):
            if "expr" not in spec:
                self.fail(key, f"expected a string or a table with `expr` or `latex` (and `budget`), "
                               f"got keys {sorted(spec)}")
            if spec.get("budget") is not None:
                budget = self.budget(f"{key}.budget", spec["budget"])
            spec = spec["expr"]
        text = self.string(key, spec)
        self.claimable(d, key, wrt)
        try:
            e = parser.parse(text)
            self.check_depth(key, e)
            return Claim(wrt, text, e, None, budget)
        except E.ShapeError as err:
            return Claim(wrt, text, None, str(err), budget)
        except ExprError as err:
            self.fail(key, str(err))

    def claimable(self, d: Derivation, key, wrt):
        """Refuse a claim for a name that is not an input, or for data or a constant."""
        if wrt not in d.inputs:
            self.fail(key, f"a claim must name an input ({', '.join(d.inputs)}), got `{wrt}`")
        if wrt in d.facts:
            what = "a constant" if wrt in d.constants else "data"
            self.fail(key, f"`{wrt}` is {what} ({d.facts[wrt]}): it is not differentiated, so it has no claim")

    def latex_claim(self, d: Derivation, key, wrt, spec) -> Claim:
        """`[claims.W] latex = '(dY \\odot g'(z)) x^T'`: read by `texparse`."""
        if "expr" in spec:
            self.fail(key, "a claim takes `expr` or `latex`, not both")
        budget = spec.get("budget")
        if budget is not None:
            self.budget(f"{key}.budget", budget)
        text = self.string(f"{key}.latex", spec["latex"])
        self.claimable(d, key, wrt)
        try:
            e = to_core(text, d.parser().names, d.functions)
            check_constants(e)
        except (TexError, ExprError) as err:
            self.fail(f"{key}.latex", str(err))
        except E.ShapeError as err:
            return Claim(wrt, text, None, str(err), budget, latex=text)
        self.check_depth(f"{key}.latex", e)
        return Claim(wrt, E.text(e), e, None, budget, latex=text)
