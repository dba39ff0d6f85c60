"""README's quoted outputs are what their commands print now
(`tests/readme.py`); timing outputs are marked and never compared."""
import pytest

import readme
from readme import ReadmeError, apply, blocks, check, write


def test_every_deterministic_quoted_output_is_what_its_command_prints():
    text = readme.README.read_text(encoding="utf-8")
    differ = check(text)
    assert not differ, ("README drifted; `python tests/readme.py --write` rewrites it:\n\n"
                        + "\n\n".join(readme.describe(b, new) for b, new in differ))


def test_the_readme_marks_its_outputs_and_both_benches_as_timing():
    found = blocks(readme.README.read_text(encoding="utf-8"))
    commands = {raw: b.kind for b in found for _, _, raw in b.commands}
    assert commands["python -m numeric.bench --seconds 15 --passes"] == "timing"
    assert commands["python -m symbolic.bench --runs 3"] == "timing"
    assert commands["gradproof verify derivations/layer.toml"] == "output"
    assert commands["derivations/layer.toml"] == "file"
    assert sum(b.kind == "output" for b in found) >= 10


DRIFTED = """intro, quoting `<!-- output: rm x -->` inline: no marker
<!-- output: python -c "print('one'); print('two'); print('three')" | head 2 -->
```text
$ python -c "print('one'); print('two'); print('three')"
one
old
...
```
<!-- output: python -c "print('took 0.31 s')" | vary [0-9.]+ s -->
```
took 9.99 s
```
<!-- output (timing): python -c "raise SystemExit(3)" -->
```
never run
```
outro
"""


def test_a_drifted_block_is_reported_and_rewritten_and_the_rest_kept():
    differ = check(DRIFTED)
    assert [b.line for b, _ in differ] == [2]  # the varying time matches; the timing block is not run
    assert differ[0][1] == "$ python -c \"print('one'); print('two'); print('three')\"\none\ntwo\n...\n"
    new, changed = write(DRIFTED)
    assert [b.line for b in changed] == [2]
    assert "one\ntwo\n...\n```" in new and "took 9.99 s" in new and "never run" in new
    assert new.startswith("intro, quoting") and new.endswith("outro\n")
    assert check(new) == []
    with pytest.raises(ReadmeError, match=r"`python -c raise SystemExit\(3\)` exited with 3"):
        check(DRIFTED, slow=True)  # --slow runs the timing block too


def test_the_filters_cut_what_the_readme_quotes():
    verify = ("f.toml: T\n  ✗ refuted                dJ/dW = a\n                 evidence: e\n"
              "                           more\n  ✓ proved for every size  dJ/db = b\n\n3 claims")
    assert apply([("claim", "W")], verify, "x") == ("  ✗ refuted                dJ/dW = a\n"
                                                    "                 evidence: e\n                           more\n")
    assert apply([("tail", "1")], verify, "x") == "3 claims\n"
    assert apply([("head", "1")], verify, "x") == "f.toml: T\n...\n"
    module = "import x\n\ndef gradients(a):\n    b = a\n\n    return b\n\n\ndef forward(a):\n    pass\n"
    assert apply([("function", "gradients")], module, "x") == "def gradients(a):\n    b = a\n\n    return b\n"
    with pytest.raises(ReadmeError, match="x: the output has no claim `dJ/dq`"):
        apply([("claim", "q")], verify, "x")


@pytest.mark.parametrize("text, words", [
    ("<!-- output: rm -rf build -->\n```\n```\n", "README.md:1: a quoted output's command must start with "
                                                 "`gradproof` or `python`, got `rm -rf build`"),
    ("a\n<!-- output: gradproof list -->\n\n```\n```\n", "README.md:2: a marker must stand on the line before"),
    ("<!-- output: gradproof list -->\n```\nno end\n", "README.md:1: the block after the marker has no closing"),
    ("<!-- output: gradproof list | head ten -->\n```\n```\n", "`head` takes a number of lines, got `ten`"),
    ("<!-- output: -->\n```\n```\n", "README.md:1: the marker names no command"),
])
def test_a_marker_that_cannot_be_followed_is_an_error_naming_its_line(text, words):
    with pytest.raises(ReadmeError) as err:
        blocks(text)
    assert words in str(err.value)
