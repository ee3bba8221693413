"""The layer contract (pyproject.toml, checked by lint-imports) names every module of pipseal:
a module left out of it would be checked by nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pipseal

ROOT = Path(pipseal.__file__).parent


def _layered() -> set[str]:
    config = tomllib.loads((ROOT.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    contract = config["tool"]["importlinter"]["contracts"][0]
    assert contract["type"] == "layers"
    return {
        name.strip().removeprefix("pipseal.")
        for layer in contract["layers"]
        for name in layer.split("|")
    }


def test_every_module_is_in_a_layer() -> None:
    modules = {
        p.stem if p.is_file() else p.name
        for p in ROOT.iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists())
        and p.name not in {"__init__.py", "__main__.py"}
    }
    assert modules - _layered() == set()
