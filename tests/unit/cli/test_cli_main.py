"""The ``steward`` parser itself: help and ``--version`` import no AWS SDK, a mistyped command names the closest
one, every option says what it does, and a closed pipe ends a command quietly (docs: README's Admin CLI)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from mcp_steward.cli.main import EXIT_BROKEN_PIPE, build_parser, main
from tests.conftest import ROOT

#: Modules that building the parser and printing help must leave unimported (each costs tens to hundreds of ms).
HEAVY = ("boto3", "botocore", "moto", "jsonschema", "starlette", "pydantic", "yaml", "mcp_steward.cli.target")

PROBE = """
import contextlib, io, json, sys
from mcp_steward.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _probe(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    "argv",
    [("--help",), ("--version",), ("grants", "add", "--help"), ("apply", "--help"), ("usage", "--help")],
    ids=" ".join,
)
def test_help_and_version_import_no_aws_sdk(argv: tuple[str, ...]) -> None:
    result = _probe(*argv)

    assert result["code"] == 0 and result["out"]
    modules = set(result["modules"])  # type: ignore[call-overload]
    assert not {name for name in HEAVY if name in modules}
    assert not any(name.startswith(("boto3.", "botocore.")) for name in modules)


def test_version_prints_the_installed_package_version() -> None:
    assert _probe("--version")["out"] == f"steward {version('mcp-steward')}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["grnts"], "steward: error: unknown command 'grnts' (did you mean 'grants'?)"),
        (["grants", "ad"], "steward grants: error: unknown command 'ad' (did you mean 'add'?)"),
        (["tools", "aprove", "x"], "steward tools: error: unknown command 'aprove' (did you mean 'approve'?)"),
        (["grants", "zzz"], "steward grants: error: unknown command 'zzz' (choose from add, remove, list)"),
    ],
)
def test_a_mistyped_command_exits_2_naming_the_closest(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)

    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == message


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _parsers(child)
    return found


def test_every_option_of_every_command_has_help() -> None:
    missing = []
    for parser in _parsers(build_parser()):
        if parser.prog == "steward dev":  # its options belong to the local plane's owner (cli/main.py's dev lines)
            continue
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.help:
                missing.append(f"{parser.prog} {'/'.join(action.option_strings) or action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{parser.prog} {choice.dest}" for choice in action._choices_actions if not choice.help]
    assert not missing


def test_the_walk_sees_every_command() -> None:
    progs = {parser.prog for parser in _parsers(build_parser())}
    assert {"steward grants add", "steward secrets put-vendor", "steward apply", "steward scan"} <= progs
    assert len(progs) > 35


def test_a_closed_pipe_ends_the_command_with_141_and_no_traceback(tmp_path: Path) -> None:
    # More output than a pipe holds (64 KiB), so that the writer is still writing when the reader closes.
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": f"tool_{i}", "description": "Adds two numbers."} for i in range(3000)]))
    script = "import sys; from mcp_steward.cli.main import main; sys.exit(main())"
    with subprocess.Popen(
        [sys.executable, "-c", script, "scan", str(tools)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == b"[\n"
        process.stdout.close()
        errors = process.stderr.read().decode()
        code = process.wait(timeout=60)

    assert code == EXIT_BROKEN_PIPE
    assert "Traceback" not in errors and "Exception ignored" not in errors
    assert errors == ""


def test_a_command_that_finishes_still_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": "add", "description": "Adds two numbers."}]))

    assert main(["scan", str(tools)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "clean"
