"""Every ``steward ...`` command that README.md and docs/*.md show exists and is spelled right: each is parsed by
the CLI's own argparse parser (``build_parser``), which runs nothing.

A command in a code block must parse as written. A synopsis line (one with ``[``, ``(``, ``...``, alternatives
such as ``add|remove``, or ``|`` between subcommands) and an inline code span in prose (often a command's name
alone, ``steward keys create``) cannot be parsed; there, every subcommand named must exist and every option named
must belong to it."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_steward.cli.main import build_parser
from tests.conftest import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE = re.compile(r"`(steward [^`]+)`")
_STEWARD = re.compile(r"^(?:\$ )?(?:\S*/)?steward(?: |$)")
_SYNOPSIS = re.compile(r"[\[\]()…]|\.\.\.|\S\|\S|\| (?!\S*steward )")
_OPTION = re.compile(r"-{1,2}[a-z][a-z-]*")
_GLOBAL_WITH_VALUE = frozenset({"--stack", "--region", "--state-file"})


def _commands(path: Path) -> Iterator[tuple[str, str]]:
    """``(where, command)`` for each steward command in the file's code blocks and inline code spans (``where``
    ends with ``:inline`` for the latter)."""
    fenced = False
    pending = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        where = f"{path.relative_to(ROOT)}:{number}"
        if not fenced:
            for span in _INLINE.findall(line):
                yield f"{where}:inline", span
            continue
        text = pending + line.strip()
        if text.endswith("\\"):  # a continued shell line
            pending = text[:-1] + " "
            continue
        pending = ""
        # A pipeline's steward stage counts too: `... | .venv/bin/steward scan -`.
        for stage in re.split(r" \| (?=\S*steward )", text):
            if _STEWARD.match(stage.strip()):
                yield where, stage.strip().removeprefix("$ ")


def _documented() -> list[tuple[str, str]]:
    return [found for path in DOCS for found in _commands(path)]


def _tokens(command: str) -> list[str]:
    words = shlex.split(command, comments=True)
    assert words[0].endswith("steward")
    return words[1:]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _check_synopsis(command: str) -> None:
    """Each subcommand the synopsis names exists, and each option belongs to every subcommand it may follow."""
    top = build_parser()
    commands = _subcommands(top)
    words = [w for w in command.split() if not w.endswith("steward")]
    parsers: list[argparse.ArgumentParser] = []
    segment_start, skip_value = True, False
    for index, word in enumerate(words):
        bare = word.strip("[]()…,")
        if word == "|":
            segment_start = True
            continue
        if skip_value or bare == "--local":
            skip_value = False
            continue
        if bare in _GLOBAL_WITH_VALUE:
            skip_value = True
            continue
        if segment_start and bare in commands:  # a (new) command: `steward keys list | keys revoke KEY_ID`
            actions = _subcommands(commands[bare])
            if not actions:
                parsers = [commands[bare]]
            else:
                names = words[index + 1].strip("[]()").split("|") if index + 1 < len(words) else []
                assert names and all(name in actions for name in names), f"{command!r}: no {bare} {names}"
                parsers = [actions[name] for name in names]
        segment_start = False
        for part in bare.split("|"):
            option = part.split("=")[0]
            if _OPTION.fullmatch(option):
                for parser in parsers or [top]:
                    known = {*top._option_string_actions, *parser._option_string_actions}
                    assert option in known, f"{command!r}: no option {option} for {parser.prog!r}"
    assert parsers, f"{command!r}: no such command"


@pytest.mark.parametrize(("where", "command"), _documented(), ids=[where for where, _ in _documented()])
def test_each_documented_steward_command_exists_and_parses(where: str, command: str) -> None:
    if where.endswith(":inline") or _SYNOPSIS.search(command):
        _check_synopsis(command)
        return
    parser = build_parser()
    try:
        parser.parse_args(_tokens(command))
    except SystemExit as exc:
        pytest.fail(f"{where}: `{command}` does not parse (exit {exc.code})")


def test_the_docs_show_commands_at_all() -> None:
    found = {command.split()[1] for _, command in _documented() if len(command.split()) > 1}
    assert {"new-server", "servers", "tools", "prices", "grants", "budgets"} <= found


def test_a_misspelled_command_or_option_is_caught() -> None:
    with pytest.raises(AssertionError):
        _check_synopsis("steward tools aprove NAME [--acknowledge RULE ...]")
    with pytest.raises(AssertionError):
        _check_synopsis("steward tools approve NAME [--acknowledge-all]")
    with pytest.raises(SystemExit):
        build_parser().parse_args(_tokens("steward prices set weather__forecast --cost 1"))
