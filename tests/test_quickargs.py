"""``cli.quickargs``: each command's ``QUICK`` table is its argparse parser; both parse alike."""

from __future__ import annotations

import argparse
import importlib

import pytest

from pipseal.cli import quickargs
from pipseal.cli.main import COMMAND_MODULES, build_parser

QUICK_COMMANDS = [
    name
    for name, module in COMMAND_MODULES.items()
    if hasattr(importlib.import_module(f"pipseal.cli.{module}"), "QUICK")
]


def subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser(command)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    raise AssertionError(command)


def kind(action: argparse.Action) -> str:
    if isinstance(action, argparse._StoreTrueAction):
        return "true"
    if isinstance(action, argparse._StoreFalseAction):
        return "false"
    if isinstance(action, argparse._CountAction):
        return "count"
    if isinstance(action, argparse._AppendAction):
        return "typed" if action.type is not None else "append"
    assert type(action) is argparse._StoreAction, action
    return "typed" if action.type is not None else "value"


def test_the_environment_commands_have_a_table() -> None:
    assert set(QUICK_COMMANDS) >= {"list", "freeze", "check", "inspect", "tree"}


@pytest.mark.parametrize("command", QUICK_COMMANDS)
def test_each_table_is_the_parsers_options(command: str) -> None:
    module = importlib.import_module(f"pipseal.cli.{COMMAND_MODULES[command]}")
    theirs = {
        repr((tuple(a.option_strings), a.dest, kind(a), a.default, tuple(a.choices or ()) or None))
        for a in subparser(command)._actions
        if not isinstance(a, argparse._HelpAction)
    }
    ours = {
        repr(
            (
                o.names,
                o.dest,
                o.kind,
                list(o.default) if o.kind == "append" else o.default,
                o.choices,
            )
        )
        for o in module.QUICK
    }
    assert ours == theirs


LINES = [
    [],
    ["--python", "py"],
    ["--python=py", "-v", "--verbose", "-q"],
    ["--format", "json", "--exclude", "a", "--exclude=b", "-e", "--exclude-editable"],
    ["--include-editable", "--not-required", "-l", "--path", "x", "--path", "y"],
    ["--cache-dir", "c", "--no-cache-dir", "--isolated", "--debug", "-i", "u", "--pre"],
    ["--format", "freeze", "-o", "-u", "--trusted-host", "h", "--offline"],
]


@pytest.mark.parametrize("line", LINES)
def test_plain_lines_parse_as_argparse_parses_them(line: list[str]) -> None:
    quick = importlib.import_module("pipseal.cli.list_cmd").QUICK
    handler = importlib.import_module("pipseal.cli.list_cmd").handle
    ours = quickargs.parse("list", handler, quick, line)
    assert ours is not None
    theirs = build_parser("list").parse_args(["list", *line])
    assert vars(ours) == vars(theirs)


@pytest.mark.parametrize(
    "line",
    [
        ["--help"],
        ["-vv"],
        ["--form", "json"],  # argparse expands an abbreviation
        ["--format", "xml"],  # not a choice: argparse's message
        ["--python"],
        ["--python", "--debug"],
        ["--debug=1"],
        ["--timeout", "3"],  # a type to convert
        ["stray"],
        ["--", "x"],
    ],
)
def test_anything_else_is_left_to_argparse(line: list[str]) -> None:
    module = importlib.import_module("pipseal.cli.list_cmd")
    assert quickargs.parse("list", module.handle, module.QUICK, line) is None
