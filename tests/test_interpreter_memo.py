"""interpreter_memo: the remembered answer read without the json package, moved with its venv."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pipseal import interpreter_memo
from pipseal.interpreter_memo import memo_key, relocated


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, "x\\u00e9", null, true, false]}', "  [NaN, -Infinity, {}]\n", '"s"'],
)
def test_an_answer_reads_as_json_reads_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    assert repr(interpreter_memo._load(str(path))) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["", "{", "[1] 2", "{'a': 1}"])
def test_a_damaged_answer_is_a_value_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        interpreter_memo._load(str(path))


def test_a_moved_venv_moves_its_own_site_directory_not_the_bases(tmp_path: Path) -> None:
    old, new = str(tmp_path / "one"), str(tmp_path / "two")
    answer = {
        "prefix": old,
        "is_virtualenv": True,
        "scheme": {"purelib": f"{old}/lib/site-packages", "platlib": f"{old}/lib/site-packages"},
        "listing": {
            "site_packages": [f"{old}/lib/site-packages", "/base/lib/site-packages"],
            "user_site": "/home/u/.local/lib/site-packages",
            "user_site_enabled": True,
            "real_prefix": old,
        },
    }
    moved = relocated(answer, new)
    assert moved is not None
    assert moved["listing"]["site_packages"] == [
        f"{new}/lib/site-packages",
        "/base/lib/site-packages",
    ]
    assert moved["listing"]["real_prefix"] == new
    assert moved["listing"]["user_site"] == "/home/u/.local/lib/site-packages"


def test_the_key_follows_the_user_site_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONUSERBASE", "/one")
    first = memo_key(sys.executable, None, None)
    monkeypatch.setenv("PYTHONUSERBASE", "/two")
    assert memo_key(sys.executable, None, None) != first
