"""Argument checks of the generated functions: the slow paths.

A generated function tests its arguments inline (exact ndarray type, one
float dtype, the shapes its dims allow) and calls these only when that
test fails: to convert what may be converted, or to raise a `TypeError` or
`ValueError` that names the argument, what came and what was expected.
Their source is copied into every generated module, so they use nothing
but NumPy.
"""
import numpy as np


def _as_float_arrays(names, values):
    """`values` as arrays of one float dtype, or a clear error.

    Arrays of float32 or float64 set the dtype (all must agree; none is
    upcast); integer arrays, lists and numbers are converted to it (float64
    if no float array came), if every value converts exactly."""
    arrays, floats = [], {}
    for name, value in zip(names, values):
        if isinstance(value, np.ndarray):
            array = np.asarray(value)  # subclasses such as np.matrix have other operators
        else:
            try:
                array = np.asarray(value)
            except Exception as err:
                raise TypeError(f"{name} is {type(value).__name__}, not an array of numbers ({err})") from None
        kind = array.dtype.kind
        if kind not in "fiu":
            what = {"b": "booleans", "c": "complex numbers", "O": "Python objects",
                    "U": "strings", "S": "bytes"}.get(kind, f"dtype {array.dtype}")
            raise TypeError(f"{name} holds {what} (dtype {array.dtype}); expected real numbers, "
                            "as a float32 or float64 array")
        if kind == "f":
            if array.dtype.newbyteorder("=") not in (np.float32, np.float64):
                raise TypeError(f"{name} has dtype {array.dtype}; expected float32 or float64 "
                                f"(convert it with {name}.astype(np.float32) or np.float64)")
            if isinstance(value, np.ndarray):
                floats.setdefault(array.dtype.newbyteorder("="), name)
        arrays.append(array)
    if len(floats) > 1:
        (a, first), (b, second) = list(floats.items())[:2]
        raise TypeError(f"{first} is {a} but {second} is {b}; pass every array as float32 "
                        "or every array as float64 (nothing is upcast)")
    dtype = next(iter(floats), np.dtype(np.float64))
    out = []
    for name, array in zip(names, arrays):
        if array.dtype.kind in "iu" and array.size:
            limit = 2 ** (np.finfo(dtype).nmant + 1)  # every integer up to it converts exactly
            largest = float(np.max(np.abs(array.astype(np.float64))))
            if largest > limit:
                raise ValueError(f"{name} holds integers up to {largest:.0f}, which {dtype} cannot "
                                 f"represent exactly (above {limit}); convert {name} yourself")
        out.append(np.asarray(array, dtype=dtype))  # no copy when it already is
    return out


def _shape_error(shapes, names, arrays):
    """Raise the `ValueError` for the first of `arrays` whose shape does not
    fit `shapes` (name -> (dim or size, dim or size)) given those before it."""
    bound = {}  # dim -> (size, name of the argument that set it)
    for name, array in zip(names, arrays):
        dims = shapes[name]
        expected = "(" + ", ".join(str(bound[d][0]) if d in bound else str(d) for d in dims) + ")"
        shape = tuple(array.shape)
        if len(shape) != 2:
            hint = f"; for a column write {name}.reshape(-1, 1)" if len(shape) == 1 else ""
            raise ValueError(f"{name} has shape {shape}: expected {name} of shape {expected}, "
                             f"a 2-D array{hint}")
        for size, dim in zip(shape, dims):
            if isinstance(dim, str) and not dim.isidentifier():  # a length such as "-k + n + 1"
                total, known = 0, True
                for term in dim.replace(" ", "").replace("-", "+-").split("+"):
                    sign, term = (-1, term[1:]) if term.startswith("-") else (1, term)
                    factor, _, t = term.rpartition("*")
                    if t.isdigit() or t in bound:
                        total += sign * int(factor or 1) * (int(t) if t.isdigit() else bound[t][0])
                    elif t:
                        known = False
                if known and size != total:
                    raise ValueError(f"{name} has shape {shape}: expected {name} of shape "
                                     f"{expected.replace(dim, str(total))}")
                continue
            if isinstance(dim, int):
                if size != dim:
                    raise ValueError(f"{name} has shape {shape}: expected {name} of shape {expected}")
            elif dim in bound and bound[dim][0] != size:
                other = bound[dim][1]
                raise ValueError(f"{name} has shape {shape}, but {other} is "
                                 f"{tuple(arrays[names.index(other)].shape)}: "
                                 f"expected {name} of shape {expected}")
        for size, dim in zip(shape, dims):
            bound.setdefault(dim, (size, name))
    raise AssertionError(f"shapes {[tuple(a.shape) for a in arrays]} fit {shapes}")
