"""Every table that spells a scalar function has a row for every function
of `symbolic.functions.ACTIVATIONS`, and the rows agree: a new function is
one row there, its NumPy spelling in `numeric.stable`, and its reference
here; this test names what is missing."""
import numpy as np
import pytest
import sympy

import reference
from numeric import stable
from symbolic import expr as E
from symbolic.functions import ACTIVATIONS, CALLABLE, LATEX_CALLS
from symbolic.texexpr import FUNCTIONS as LATEX
from symbolic.texparse import to_core

NAMES = sorted(ACTIVATIONS)
POINTS = np.array([-2.5, -0.7, 0.3, 1.1, 2.9])


@pytest.mark.parametrize("name", NAMES)
def test_every_function_has_every_spelling(name):
    act = ACTIVATIONS[name]
    assert act.latex and LATEX[name] == act.latex, f"`{name}` has no LaTeX spelling"
    assert name in stable.FUNCTIONS, f"`{name}` has no NumPy spelling in numeric.stable.FUNCTIONS"
    assert name in reference.FUNCTIONS, f"`{name}` has no independent NumPy reference in tests/reference.py"


@pytest.mark.parametrize("name", NAMES)
def test_the_spellings_agree_in_value(name):
    """SymPy's definition, the generated code's NumPy and the reference
    agree wherever the function is defined (sqrt, log: positive points)."""
    t = sympy.Symbol("t", real=True)
    points = np.abs(POINTS) if ACTIVATIONS[name].domain else POINTS
    exact = np.array([float(ACTIVATIONS[name].sympy(t).subs(t, x).evalf(30)) for x in points])
    np.testing.assert_allclose(stable.FUNCTIONS[name].numpy(points.copy()), exact, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(reference.FUNCTIONS[name][0](points), exact, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("command,name", sorted(LATEX_CALLS.items()))
def test_the_latex_a_function_is_read_by_is_the_one_it_is_printed_with(command, name):
    e = to_core(rf"\{command}(z)", {"z": E.Var("z", (E.ONE, E.ONE))}, {})
    assert isinstance(e, E.Apply) and e.fn == name
    assert ACTIVATIONS[name].latex == "\\" + command


def test_every_callable_function_is_a_row():
    assert set(CALLABLE) <= set(ACTIVATIONS) and "recip" not in CALLABLE
