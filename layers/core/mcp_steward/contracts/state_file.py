"""The local plane's state file (docs/design.md section 10): ``steward dev`` writes it once the plane is ready
(``local/plane.py``), admin commands with ``--local`` read it (``cli/target.py``), and so do scripts, tests and
benchmarks.

Readers ignore unknown keys (a later plane may add some); the documented ones are ``mcp_url``,
``aws_endpoint_url``, ``lambda_endpoint_url``, ``region`` and ``principals`` (``{"<name>": {"team", "token"}}``).
The plane also writes its stack name, each table's and function's physical name, and its processes' ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from mcp_steward.contracts import ContractError
from mcp_steward.contracts.state_path import DEFAULT_PATH as DEFAULT_PATH  # re-exported: the CLI imports state_path

DEFAULT_STACK_NAME: Final = "steward-local"


class StateFileError(ContractError):
    """A state file that is missing, not JSON, or not a local plane's; the message says which and what to do."""


def _text(raw: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise StateFileError(f"{key} must be a string")
    return value


def _mapping(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(name, str) for name in value):
        raise StateFileError(f"{key} must be an object")
    return value


def _integer(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise StateFileError(f"{what} must be an integer")
    return value


@dataclass(frozen=True, slots=True)
class FunctionEntry:
    """One function of the template as the plane runs it."""

    name: str
    timeout_s: int
    code_dir: str | None = None

    def encode(self) -> dict[str, Any]:
        encoded: dict[str, Any] = {"name": self.name, "timeout_s": self.timeout_s}
        if self.code_dir is not None:
            encoded["code_dir"] = self.code_dir
        return encoded

    @classmethod
    def decode(cls, raw: object, logical_id: str) -> FunctionEntry:
        if not isinstance(raw, dict):
            raise StateFileError(f"functions.{logical_id} must be an object")
        code_dir = raw.get("code_dir")
        if code_dir is not None and not isinstance(code_dir, str):
            raise StateFileError(f"functions.{logical_id}.code_dir must be a string")
        timeout_s = _integer(raw.get("timeout_s"), f"functions.{logical_id}.timeout_s")
        return cls(_text(raw, "name"), timeout_s, code_dir)


@dataclass(frozen=True, slots=True)
class LocalState:
    """A running local plane.

    Attributes:
        principals: name → ``{"team", "token", ...}`` (the demo's tokens: the file is owner-only).
        tables: role (``keys``, ``registry``, ...) → physical table name.
        functions: template logical ID → its function.
        pid: the ``steward dev`` process (it deletes the file when it stops, if the file is still its own).
        pids: each of the plane's processes by piece (``moto``, ``runner``, ``governance``).
    """

    mcp_url: str
    aws_endpoint_url: str
    lambda_endpoint_url: str
    region: str
    principals: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)
    functions: Mapping[str, FunctionEntry] = field(default_factory=dict)
    stack_name: str = DEFAULT_STACK_NAME
    pid: int | None = None
    pids: Mapping[str, int] = field(default_factory=dict)

    def encode(self) -> dict[str, Any]:
        encoded: dict[str, Any] = {
            "mcp_url": self.mcp_url,
            "aws_endpoint_url": self.aws_endpoint_url,
            "lambda_endpoint_url": self.lambda_endpoint_url,
            "region": self.region,
            "stack_name": self.stack_name,
            "principals": {name: dict(info) for name, info in self.principals.items()},
            "tables": dict(self.tables),
            "functions": {logical_id: entry.encode() for logical_id, entry in self.functions.items()},
        }
        if self.pid is not None:
            encoded["pid"] = self.pid
        encoded["pids"] = dict(self.pids)
        return encoded

    @classmethod
    def decode(cls, raw: object) -> LocalState:
        """Raises:
        StateFileError: not an object, a documented key missing, or a key of the wrong type.
        """
        if not isinstance(raw, dict):
            raise StateFileError("the state must be a JSON object")
        principals = _mapping(raw, "principals")
        for name, info in principals.items():
            if (
                not isinstance(info, dict)
                or not isinstance(info.get("team"), str)
                or not isinstance(info.get("token"), str)
            ):
                raise StateFileError(f"principals.{name} must be an object with a team and a token")
        tables = _mapping(raw, "tables")
        if not all(isinstance(name, str) for name in tables.values()):
            raise StateFileError("tables must map roles to table names")
        functions = {key: FunctionEntry.decode(value, key) for key, value in _mapping(raw, "functions").items()}
        pid = raw.get("pid")
        pids = {piece: _integer(value, f"pids.{piece}") for piece, value in _mapping(raw, "pids").items()}
        return cls(
            mcp_url=_text(raw, "mcp_url"),
            aws_endpoint_url=_text(raw, "aws_endpoint_url"),
            lambda_endpoint_url=_text(raw, "lambda_endpoint_url"),
            region=_text(raw, "region"),
            principals=principals,
            tables=tables,
            functions=functions,
            stack_name=_text(raw, "stack_name", DEFAULT_STACK_NAME),
            pid=None if pid is None else _integer(pid, "pid"),
            pids=pids,
        )


def load(path: Path) -> LocalState:
    """The state of the plane whose state file is ``path``.

    Raises:
        StateFileError: the file does not exist (no plane is running there), is not JSON, or is not a state.
    """
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise StateFileError(f"no local plane: {path} does not exist (start one with 'make dev')") from None
    except ValueError as exc:
        raise StateFileError(f"{path} is not valid JSON") from exc
    try:
        return LocalState.decode(raw)
    except StateFileError as exc:
        raise StateFileError(f"{path} is not a local plane's state file: {exc}") from None
