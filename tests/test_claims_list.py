"""`[[claims]]`: several candidate forms of one gradient in one file, each
with its input and an optional name, verified one by one and reported by
name; and bad entries refused by key."""
import json
from pathlib import Path

import pytest

from symbolic import load, verify
from symbolic.cli import main
from symbolic.load import DerivationError

FILE = Path(__file__).parent / "data" / "candidates.toml"


def test_each_candidate_gets_its_own_verdict_under_its_name():
    d = load(FILE)
    assert list(d.claims) == ["as in the notes", "operands swapped", "W", "b"]
    got = [(v.wrt, v.name, v.status) for v in verify(d)]
    assert got == [("W", "as in the notes", "proved"), ("W", "operands swapped", "shape-error"),
                   ("W", None, "proved"), ("b", None, "proved")]


def test_the_names_reach_the_json_and_the_terminal(capsys):
    assert main(["verify", "--no-cache", "--format", "json", str(FILE)]) == 1
    claims = json.loads(capsys.readouterr().out)["claims"]
    assert [c["name"] for c in claims] == ["as in the notes", "operands swapped", None, None]
    assert main(["verify", "--no-cache", str(FILE)]) == 1
    out = capsys.readouterr().out
    assert "dJ/dW [operands swapped] = x.T @ (dY * g'(z))" in out and "dJ/dW [as in the notes]" in out


def test_unnamed_candidates_of_one_input_are_numbered(tmp_path):
    f = tmp_path / "two.toml"
    text = FILE.read_text().split("[[claims]]")[0]
    f.write_text(text + '[[claims]]\nwrt = "b"\nexpr = "dY * g\'(z)"\n[[claims]]\nwrt = "b"\nexpr = "dY"\n')
    d = load(f)
    assert list(d.claims) == ["b", "b (2)"] and d.claims["b (2)"].name == "b (2)"
    assert [v.status for v in verify(d)] == ["proved", "refuted"]


@pytest.mark.parametrize("entry,key,message", [
    ('[[claims]]\nexpr = "dY"\n', "claims[0]", "missing key `wrt`"),
    ('[[claims]]\nwrt = "q"\nexpr = "dY"\n', "claims[0]", "a claim must name an input"),
    ('[[claims]]\nwrt = "b"\nexpr = "dY"\nname = "x"\n[[claims]]\nwrt = "b"\nexpr = "dY"\nname = "x"\n',
     "claims[1].name", "two claims are named `x`"),
    ('[[claims]]\nwrt = "b"\nexpr = "dY"\ncolour = "red"\n', "claims[0]", "colour"),
    ('[[claims]]\nwrt = "b"\n', "claims[0]", "expected a string or a table with `expr` or `latex`"),
])
def test_a_bad_entry_is_refused_by_key(tmp_path, entry, key, message):
    f = tmp_path / "bad.toml"
    f.write_text(FILE.read_text().split("[[claims]]")[0] + entry)
    with pytest.raises(DerivationError) as err:
        load(f)
    assert f"`{key}" in str(err.value) and message in str(err.value) and "bad.toml" in str(err.value)
