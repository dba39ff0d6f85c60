"""conv1d, convolve, flip, max and max_mask (`symbolic.windows`), and the
`mask` fact: gradients through them proved (for every size, or up to a
size where the index form stops short), each proof confirmed by the
independent NumPy reference's finite differences at random points away
from ties; slips refuted with counterexamples the reference recomputes;
misuse refused by name; the generated NumPy code right."""
from pathlib import Path

import numpy as np
import pytest

import reference
from numeric import gradients
from symbolic import DerivationError, derive, load
from symbolic.load import Claim
from symbolic.verify import verify, verify_claim

ROOT = Path(__file__).parent.parent
CONV = ROOT / "derivations" / "conv1d.toml"
POOL = ROOT / "derivations" / "max_pool.toml"
STABLE = Path(__file__).parent / "data" / "stable_softmax.toml"

SIZES = [{"n": 5, "k": 3, "m": 4, "c": 3}, {"n": 3, "k": 1, "m": 1, "c": 1}, {"n": 4, "k": 4, "m": 2, "c": 2},
         {"n": 2, "k": 2, "m": 3, "c": 4}]


def _verdict(path, wrt, text, seconds=30):
    d = load(path)
    try:
        claim = Claim(wrt, text, d.parser().parse(text))
    except Exception as err:  # a shape error: the claim cannot be formed
        claim = Claim(wrt, text, None, str(err))
    return verify_claim(d, claim, derive(d), max_size=3, seconds=seconds)


def _confirm(path, claims: dict, seed=0):
    """Each claim (wrt -> text) against the reference's finite differences at random points."""
    ref, rng = reference.File(path), np.random.default_rng(seed)
    for sizes in SIZES:
        values = reference.random_values(path, sizes, rng)
        env = {**ref.forward(values), **values}
        for wrt, text in claims.items():
            np.testing.assert_allclose(ref.eval(text, env), ref.fd_gradient(values, wrt), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", [CONV, POOL], ids=lambda p: p.name)
def test_the_catalogue_files_are_proved_for_every_size_and_the_reference_agrees(path):
    verdicts = verify(load(path))
    assert [v.status for v in verdicts] == ["proved"] * len(verdicts) and verdicts
    _confirm(path, {v.wrt: v.text for v in verdicts})


def test_the_stable_softmax_has_the_plain_softmax_gradient():
    """The max's contribution cancels: exp(Z - M) is exp(Z) exp(-M), whose
    exp(-M) leaves the sum over the column and meets exp(M)."""
    [v] = verify(load(STABLE))
    assert v.status == "proved", v.detail
    _confirm(STABLE, {"Z": v.text})


@pytest.mark.parametrize("formula,claims", [
    ("conv1d(flip(x), w)", {"x": "flip(convolve(dy, w))", "w": "conv1d(flip(x), dy)"}),
    ("convolve(x, w) * convolve(x, w)", {"x": "conv1d(2 * dy * convolve(x, w), w)",
                                         "w": "conv1d(2 * dy * convolve(x, w), x)"}),
])
def test_more_convolutions_are_proved_and_confirmed(tmp_path, formula, claims):
    f = tmp_path / "conv.toml"
    f.write_text(CONV.read_text().replace('y = "conv1d(x, w)"', f'y = "{formula}"')
                 .replace('w = "conv1d(x, dy)"\nx = "conv1d_full(dy, flip(w))"',
                          "\n".join(f'{k} = "{v}"' for k, v in claims.items())))
    assert [v.status for v in verify(load(f))] == ["proved"] * 2
    _confirm(f, claims)


def test_an_equal_form_the_index_form_misses_is_proved_up_to_a_size():
    v = _verdict(CONV, "w", "flip(conv1d(flip(x), flip(dy)))")
    assert v.status == "proved-up-to" and v.sizes == 3
    _confirm(CONV, {"w": "flip(conv1d(flip(x), flip(dy)))"})


@pytest.mark.parametrize("axis,claim", [("axis=1", "dY * max_mask(Z, axis=1)"), (None, "dY * max_mask(Z)")])
def test_max_along_rows_and_over_every_entry(tmp_path, axis, claim):
    f = tmp_path / "pool.toml"
    forward = f"max(Z, {axis})" if axis else "max(Z)"
    f.write_text(POOL.read_text().replace('Y = "max(Z, axis=0)"', f'Y = "{forward}"')
                 .replace('Z = "dY * max_mask(Z, axis=0)"', f'Z = "{claim}"'))
    [v] = verify(load(f))
    assert v.status == "proved", v.detail
    _confirm(f, {"Z": claim})


@pytest.mark.parametrize("path,wrt,text", [
    (CONV, "x", "conv1d_full(dy, w)"),         # the kernel not flipped
    (CONV, "x", "convolve(dy, flip(w))"),      # flipped where convolve flips already
    (CONV, "w", "conv1d(x, flip(dy))"),        # the upstream gradient flipped
    (CONV, "x", "flip(convolve(dy, w))"),      # the result read backwards
    (POOL, "Z", "dY * (Z * 0 + 1)"),           # the gradient to every entry
    (POOL, "Z", "dY * (Z * 0 + 1) / n"),       # mean-pooling's gradient
    (POOL, "Z", "dY * max_mask(Z, axis=1)"),   # the arg max of the wrong axis
    (POOL, "Z", "dY * max_mask(Z)"),           # the arg max of the whole matrix
    (STABLE, "Z", "P * dP"),                   # the softmax's sum term dropped
    (STABLE, "Z", "P * (dP - sum(P * dP, axis=0)) - dP * max_mask(Z, axis=0)"),  # the max's term kept
])
def test_slips_are_refuted_with_counterexamples_numpy_confirms(path, wrt, text):
    v = _verdict(path, wrt, text)
    assert v.status == "refuted", (v.status, v.detail)
    reference.check_counterexample(path, text, wrt, v.counterexample.to_dict())


@pytest.mark.parametrize("path,wrt,text,kind,repaired", [
    (CONV, "x", "conv1d_full(dy, w)", "flip", "conv1d_full(dy, flip(w))"),
    (CONV, "x", "convolve(dy, flip(w))", "flip", "convolve(dy, w)"),
    (CONV, "w", "conv1d(dy, x)", "swap", "conv1d(x, dy)"),
    (POOL, "Z", "dY * max_mask(Z, axis=1)", "sum axis", "dY * max_mask(Z, axis=0)"),
])
def test_slips_get_their_likely_mistake_and_a_proved_repair(path, wrt, text, kind, repaired):
    v = _verdict(path, wrt, text, seconds=60)
    assert v.repair is not None and (v.repair.kind, v.repair.text) == (kind, repaired), v.repair
    assert v.repair.proof == "proved"


def test_a_correlation_of_the_wrong_length_is_a_shape_error():
    v = _verdict(CONV, "w", "conv1d(dy, x)")
    assert v.status == "shape-error" and "(2 - k, 1)" in v.detail


def _file(tmp_path, inputs: str, forward: str) -> Path:
    f = tmp_path / "hostile.toml"
    f.write_text('title = "h"\noutput = "y"\nupstream = "dy"\n[dims]\nn = "a"\nk = "b"\nm = "c"\n'
                 f'[inputs]\n{inputs}\n[forward]\ny = "{forward}"\n')
    return f


@pytest.mark.parametrize("inputs,forward,message", [
    ('x = "n x m"\nw = "k x 1"', "conv1d(x, w)", "`conv1d` takes its signal as a column (`n x 1`), got (n, m)"),
    ('x = "n x 1"\nw = "k x m"', "conv1d(x, w)", "`conv1d` takes its kernel as a column (`n x 1`), got (k, m)"),
    ('x = "3 x 1"\nw = "4 x 1"', "conv1d(x, w)",
     "`conv1d` needs a kernel no longer than the signal, got a signal of 3 entries and a kernel of 4"),
    ('x = "n x m"\nw = "k x 1"', "max(x, axis=2)", "`max` takes `axis=0` (down the columns), `axis=1` "
                                                   "(along the rows) or no axis (every entry), got `axis=2`"),
    ('x = "n x m"\nw = "k x 1"', "max_mask(x, axis=-1)", "got `axis=-1`"),
    ('x = "n x 1"\nw = "k x 1"', "conv1d(x, w, 2)", "`conv1d` takes 2 positional arguments, as in `conv1d(x, w)`"),
    ('x = "n x 1"\nw = "k x m"', "flip(w)", "`flip` takes its argument as a column"),
    ('x = "n x 1"\nw = "k x 1"', "max(x, w)", "`max` takes one matrix"),
])
def test_misuse_is_refused_naming_file_key_expected_and_got(tmp_path, inputs, forward, message):
    f = _file(tmp_path, inputs, forward)
    with pytest.raises(DerivationError) as err:
        load(f)
    text = str(err.value)
    assert str(f) in text and "`forward.y`" in text and message in text, text


def test_a_mask_is_binary_data(tmp_path):
    f = tmp_path / "mask.toml"
    f.write_text('output = "J"\n[dims]\nn = "entries"\n[inputs]\nz = "n x 1"\n'
                 'y = { shape = "n x 1", data = "mask" }\n[forward]\nJ = "sum(y * y * z)"\n[claims]\nz = "y"\n')
    d = load(f)
    assert d.facts == {"y": "binary"}
    assert [v.status for v in verify(d)] == ["proved"]
    plain = tmp_path / "plain.toml"
    plain.write_text(f.read_text().replace('{ shape = "n x 1", data = "mask" }', '"n x 1"'))
    [v] = verify(load(plain))
    assert v.status == "refuted"
    values = reference.random_values(f, {"n": 6}, np.random.default_rng(0))
    assert set(np.unique(values["y"])) <= {0.0, 1.0}


@pytest.mark.parametrize("path", [CONV, POOL, STABLE], ids=lambda p: p.name)
def test_the_generated_code_matches_finite_differences(path):
    g, ref, rng = gradients(path), reference.File(path), np.random.default_rng(7)
    for sizes in SIZES:
        values = reference.random_values(path, sizes, rng)
        got = g(**values)
        for wrt in got:
            np.testing.assert_allclose(got[wrt], ref.fd_gradient(values, wrt), rtol=1e-5, atol=1e-6)


def test_the_generated_code_checks_a_convolution_s_length():
    g = gradients(CONV)
    with pytest.raises(ValueError, match=r"expected dy of shape \(4, 1\)"):
        g(x=np.ones((5, 1)), w=np.ones((2, 1)), dy=np.ones((3, 1)))


def _conv_backward(x, w, dy):
    k, dx = len(w), np.zeros_like(x)
    for i in range(len(dy)):  # y[i] reads x[i:i + k]
        dx[i:i + k] += dy[i] * w
    return {"x": dx, "w": np.array([[x[j:j + len(dy), 0] @ dy[:, 0]] for j in range(k)])}


def test_check_backward_takes_a_convolution_and_a_max_pool():
    from numeric.testing import check_backward

    def pool_backward(Z, dY):
        out = np.zeros_like(Z)
        out[Z.argmax(axis=0), np.arange(Z.shape[1])] = dY[0]
        return {"Z": out}
    check_backward(_conv_backward, "conv1d")
    check_backward(pool_backward, "max_pool")

    def unflipped(x, w, dy):
        return {**_conv_backward(x, w, dy), "x": np.convolve(dy[:, 0], w[::-1, 0])[:, None]}
    with pytest.raises(AssertionError, match=r"dx is wrong[\s\S]*a flip missing or extra"):
        check_backward(unflipped, "conv1d")


@pytest.mark.parametrize("forward,wrt,claim,status", [
    ("max(Z * Z, axis=0)", "Z", "2 * Z * dY * max_mask(Z * Z, axis=0)", "proved"),
    ("max(Z * Z, axis=0)", "Z", "2 * Z * dY * max_mask(Z * Z, axis=0) * max_mask(Z * Z, axis=0)", "proved"),
    ("max(Z * Z, axis=0)", "Z", "2 * Z * dY * max_mask(-Z * Z, axis=0)", "refuted"),  # the arg min
    ("max(Z * Z, axis=0)", "Z", "2 * Z * dY * max_mask(Z, axis=0)", "refuted"),       # the arg max of Z
    # every column's entries tie, always: J = sum(dY * v) is smooth, and the indicators sum to 1
    ("max(v + 0 * Z, axis=0)", "v", "dY", "proved"),
    ("max(v + 0 * Z, axis=0)", "v", "sum(dY * max_mask(v + 0 * Z, axis=0), axis=0)", "proved"),
])
def test_the_arg_max_indicator_s_identities(tmp_path, forward, wrt, claim, status):
    f = tmp_path / "pool.toml"
    f.write_text(POOL.read_text().replace('Z = "n x m"', 'Z = "n x m"\nv = "1 x m"')
                 .replace('Y = "max(Z, axis=0)"', f'Y = "{forward}"')
                 .replace('Z = "dY * max_mask(Z, axis=0)"', f'{wrt} = "{claim}"'))
    [v] = verify(load(f))
    assert v.status == status, v.detail
    if status == "refuted":
        reference.check_counterexample(f, claim, wrt, v.counterexample.to_dict())
    else:
        _confirm(f, {wrt: claim})


def test_the_indicators_of_one_max_are_a_partition_at_explicit_sizes():
    import sympy
    from symbolic.windows import MaxAt, indicator_identities
    a, b, c = sympy.symbols("a b c", real=True)
    one = [MaxAt(sympy.Integer(k), a, b, c) for k in range(3)]
    assert indicator_identities(one[0] + one[1] + one[2] - 1) == 0
    assert indicator_identities(one[0] * one[1]) == 0
    assert indicator_identities(one[2] ** 2 - one[2]) == 0
    assert indicator_identities(one[0] - one[1]) != 0
    other = MaxAt(sympy.Integer(0), b, a)  # another max's indicator: independent
    assert indicator_identities(one[0] * other) != 0
