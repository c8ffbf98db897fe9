"""``steward new-server NAME [--description TEXT] [--root DIR]``: scaffold an internal tool server.

Writes ``functions/<module>/app.py`` (a handler built with the SDK), ``tests/unit/functions/test_<module>.py``,
``events/<module>/tools_call.json`` and ``list_tools.json`` (``<module>`` is NAME with ``-`` as ``_``), and adds
``<Name>Function`` (FunctionName ``${AWS::StackName}-tool-NAME``) and ``<Name>LogGroup`` to
``infra/template.yaml``. The template is edited as text, each block inserted above a marker comment, so its
comments and layout stay as they are; it is never round-tripped through a YAML parser.

Everything is computed and checked before anything is written: an invalid NAME or description, a directory,
file, logical ID or function name that already exists, or a template without the markers is refused (exit 2)
with nothing written. Files are created exclusively; if a write or the template update fails, what this run
created is removed again (exit 1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mcp_steward.cli import scaffold_files
from mcp_steward.contracts import envelope
from mcp_steward.domain.names import InvalidNameError, check_server_name
from mcp_steward.local.template import TemplateError, load_template_document

TEMPLATE: Final = Path("infra") / "template.yaml"
FUNCTIONS_MARKER: Final = "  # --- tool functions added by steward new-server go above this line ---"
LOG_GROUPS_MARKER: Final = "  # --- tool log groups added by steward new-server go above this line ---"
TOOL_PREFIX: Final = "${AWS::StackName}-tool-"
MAX_DESCRIPTION: Final = 200  # Lambda allows 256 characters; the template prefixes "Internal MCP server NAME: "
_DESCRIPTION: Final = re.compile(r"[ -~]*")  # printable ASCII: safe in YAML, a docstring and ruff's RUF00x rules


class ScaffoldError(ValueError):
    """NAME, the description or the repository refuses the scaffold; nothing was written."""


@dataclass(frozen=True)
class Scaffold:
    """What one ``new-server`` run writes: new files (paths relative to the root) and the new template text."""

    name: str
    module: str
    logical_id: str
    log_group_id: str
    files: dict[Path, str]
    template_before: str
    template_after: str


def names(name: str) -> tuple[str, str]:
    """``(module, logical ID prefix)`` of a server name: ``my-tool`` → ``("my_tool", "MyTool")``.

    Raises:
        ScaffoldError: the name breaks the server-name rule.
    """
    try:
        check_server_name(name)
    except InvalidNameError as exc:
        raise ScaffoldError(str(exc)) from None
    return name.replace("-", "_"), "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def plan(root: Path, name: str, description: str | None = None) -> Scaffold:
    """Compute every file and the new template text, refusing anything that exists already.

    Raises:
        ScaffoldError: NAME or the description is invalid, something it would create exists, or the template
            cannot take the new resources.
    """
    module, prefix = names(name)
    text = _check_description(description)
    template_path = root / TEMPLATE
    if not template_path.is_file() or not (root / "functions").is_dir():
        raise ScaffoldError(f"{root} is not a Steward repository (no {TEMPLATE} and functions/ under it)")
    files = _files(name, module, prefix, text)
    for relative in (Path("functions", module), Path("events", module), *files):
        if (root / relative).exists():
            raise ScaffoldError(f"{relative} already exists")
    with template_path.open(encoding="utf-8", newline="") as stream:
        before = stream.read()
    logical_id, log_group_id = f"{prefix}Function", f"{prefix}LogGroup"
    _check_template_free(before, logical_id, log_group_id, name)
    after = _insert(before, FUNCTIONS_MARKER, _fill(scaffold_files.FUNCTION_RESOURCE, name, module, prefix, text))
    after = _insert(after, LOG_GROUPS_MARKER, _fill(scaffold_files.LOG_GROUP_RESOURCE, name, module, prefix, text))
    resources = load_template_document(after).get("Resources") or {}
    if resources.get(logical_id, {}).get("Type") != "AWS::Serverless::Function" or log_group_id not in resources:
        raise ScaffoldError(f"{TEMPLATE}: the markers are not at resource level (two spaces of indentation)")
    return Scaffold(name, module, logical_id, log_group_id, files, before, after)


def write(root: Path, scaffold: Scaffold) -> None:
    """Create the files, then replace the template atomically; on any failure remove what was created.

    Raises:
        OSError: a file could not be written, or the template changed since :func:`plan` read it (nothing of
            this run is left behind).
    """
    created_files: list[Path] = []
    created_dirs: list[Path] = []
    try:
        for relative, content in scaffold.files.items():
            path = root / relative
            missing = [parent for parent in (path.parent, *path.parent.parents) if not parent.exists()]
            for directory in reversed(missing):
                directory.mkdir()
                created_dirs.append(directory)
            with path.open("x", encoding="utf-8", newline="") as stream:  # exclusive: never overwrite
                created_files.append(path)
                stream.write(content)
        _replace_template(root / TEMPLATE, scaffold.template_before, scaffold.template_after)
    except BaseException:
        for path in reversed(created_files):
            path.unlink(missing_ok=True)
        for directory in reversed(created_dirs):
            directory.rmdir()
        raise


def run(args: argparse.Namespace) -> int:
    root: Path = args.root if args.root is not None else Path.cwd()
    try:
        scaffold = plan(root, args.name, args.description)
    except (ScaffoldError, TemplateError) as exc:
        print(f"steward: error: {exc}; nothing was written", file=sys.stderr)
        return 2
    try:
        write(root, scaffold)
    except OSError as exc:
        print(f"steward: error: {exc}; nothing was left behind", file=sys.stderr)
        return 1
    print(f"Scaffolded the tool server {scaffold.name} ({scaffold.logical_id}):")
    for relative in scaffold.files:
        print(f"  {relative.as_posix()}")
    print(f"  {TEMPLATE.as_posix()}: {scaffold.logical_id}, {scaffold.log_group_id}")
    print("Next (docs/adding-a-tool.md):")
    print(f"  .venv/bin/pytest {Path('tests', 'unit', 'functions', f'test_{scaffold.module}.py').as_posix()}")
    print("  make dev   # restart it: the local plane reads the template when it starts")
    print(f"  .venv/bin/steward servers add {scaffold.name} --function {scaffold.logical_id}")
    print(f"  .venv/bin/steward tools approve {scaffold.name}__hello")
    print(f"  .venv/bin/steward grants add --team TEAM --tool '{scaffold.name}__*'")
    return 0


# --- helpers ---------------------------------------------------------------------------------------------


def _check_description(description: str | None) -> str | None:
    if description is None:
        return None
    text = description.strip()
    if not text or len(text) > MAX_DESCRIPTION:
        raise ScaffoldError(f"--description must be 1 to {MAX_DESCRIPTION} characters")
    if not _DESCRIPTION.fullmatch(text) or '"' in text or "\\" in text:
        raise ScaffoldError('--description must be one line of printable ASCII without " or \\')
    return text if text.endswith((".", "!", "?")) else text + "."


def _files(name: str, module: str, prefix: str, description: str | None) -> dict[Path, str]:
    events = Path("events", module)
    return {
        Path("functions", module, "app.py"): _fill(scaffold_files.APP, name, module, prefix, description),
        Path("tests", "unit", "functions", f"test_{module}.py"): _fill(
            scaffold_files.TEST, name, module, prefix, description
        ),
        events / "tools_call.json": _event(name, "tools/call", {"name": "hello", "arguments": {"name": "Ada"}}),
        events / "list_tools.json": _event(name, "tools/list", None),
    }


def _fill(text: str, name: str, module: str, prefix: str, description: str | None) -> str:
    title = name.replace("-", " ").capitalize()
    summary = f"{title} tool server (``{name}``)" + (f": {description}" if description else ".")
    lambda_description = f"Internal MCP server {name}" + (f": {description}" if description else ".")
    replacements = {
        "__DOCSTRING__": textwrap.fill(summary, width=116, break_on_hyphens=False),
        "__DESCRIPTION_JSON__": json.dumps(lambda_description),
        "__LOGICAL__": prefix,
        "__MODULE__": module,
        "__NAME__": name,
    }
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


def _event(name: str, method: str, params: dict[str, Any] | None) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        message["params"] = params
    principal = ("alice", "finance") if params else ("steward-sync", "steward")  # a caller; sync lists tools
    steward = envelope.StewardContext(
        f"example-{name}-{method.replace('/', '-')}", 4_102_444_800_000, envelope.Principal(*principal)
    )
    event = envelope.Envelope(steward, message).encode()
    return json.dumps(event, indent=2) + "\n"


def _check_template_free(text: str, logical_id: str, log_group_id: str, name: str) -> None:
    try:
        resources: dict[str, Any] = load_template_document(text).get("Resources") or {}
    except TemplateError as exc:
        raise ScaffoldError(f"{TEMPLATE}: {exc}") from None
    for taken in (logical_id, log_group_id):
        if taken in resources:
            raise ScaffoldError(f"{TEMPLATE} already declares {taken}")
    wanted = {TOOL_PREFIX + name, f"/aws/lambda/{TOOL_PREFIX}{name}"}
    for logical, resource in resources.items():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        for key in ("FunctionName", "LogGroupName"):
            value = (properties or {}).get(key)
            named = value.get("Fn::Sub") if isinstance(value, dict) else value
            if isinstance(named, str) and named in wanted:
                raise ScaffoldError(f"{TEMPLATE}: {logical} is already named {named}")


def _insert(text: str, marker: str, block: str) -> str:
    """``block`` inserted just above the one line that is ``marker`` (line endings as the marker's)."""
    lines = text.splitlines(keepends=True)
    found = [index for index, line in enumerate(lines) if line.rstrip("\r\n") == marker]
    if len(found) != 1:
        raise ScaffoldError(
            f"{TEMPLATE} needs exactly one line {marker.strip()!r} (found {len(found)}): it marks where "
            "new-server inserts resources"
        )
    index = found[0]
    ending = lines[index][len(marker) :] or "\n"
    inserted = [line + ending for line in block.splitlines()]
    return "".join([*lines[:index], *inserted, *lines[index:]])


def _replace_template(path: Path, expected: str, content: str) -> None:
    with path.open(encoding="utf-8", newline="") as stream:
        if stream.read() != expected:
            raise OSError(f"{path} changed while new-server ran; run it again")
    mode = path.stat().st_mode & 0o777
    descriptor, temporary = tempfile.mkstemp(prefix=".template-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(content)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
