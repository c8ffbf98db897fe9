"""The local plane's store on disk: one JSON snapshot of moto's DynamoDB tables and Secrets Manager secrets.

moto (5.x) has no persistence of its own in server mode (only a request recorder), so ``steward dev`` keeps
its state as a snapshot: every table's items (Scan) and every secret (its ``AWSCURRENT`` and ``AWSPREVIOUS``
values, description, tags and resource policy), read through the AWS API and written atomically (a temporary
file in the same directory, fsync, ``os.replace``, fsync of the directory), so a crash leaves either the
previous snapshot or the new one, never a torn file. The moto server process takes the snapshots while it
holds its request lock (:mod:`mcp_steward.local.moto_server`), so each one is a single point in time across
all tables. A restart restores it into the tables the template creates.

The store directory (``.steward/store/`` next to the state file by default) also holds the demo principals'
tokens (``principals.json``) and the published versions' code (``versions/``). A snapshot that cannot be read
is never discarded silently: :func:`load` raises :class:`StoreError` naming the file and ``--fresh``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

FORMAT: Final = "mcp-steward-local-store"
VERSION: Final = 1
SNAPSHOT_NAME: Final = "snapshot.json"
PRINCIPALS_NAME: Final = "principals.json"
VERSIONS_NAME: Final = "versions"
LOCK_NAME: Final = "lock"
#: The runner's published versions persist under this directory when the variable names one.
VERSIONS_DIR_VARIABLE: Final = "STEWARD_LOCAL_VERSIONS_DIR"
#: Only these stages are kept: governance signs with AWSCURRENT and verifies with both.
STAGES: Final = ("AWSPREVIOUS", "AWSCURRENT")
_SCAN_PAGE: Final = 1000


class StoreError(Exception):
    """The stored state cannot be used; the message names the file and how to start over."""


@dataclass(frozen=True)
class StoreLayout:
    """Where a plane's stored state lives."""

    root: Path

    @classmethod
    def beside(cls, state_file: Path) -> StoreLayout:
        """The store next to a state file: ``.steward/local.json`` → ``.steward/store/``."""
        return cls(state_file.parent / "store")

    @property
    def snapshot(self) -> Path:
        return self.root / SNAPSHOT_NAME

    @property
    def principals(self) -> Path:
        return self.root / PRINCIPALS_NAME

    @property
    def versions(self) -> Path:
        return self.root / VERSIONS_NAME

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME


# -- encoding: DynamoDB's attribute values hold bytes (B, BS); JSON holds base64 for them


def _encode_value(value: dict[str, Any]) -> dict[str, Any]:
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in inner]}
    if kind == "L":
        return {"L": [_encode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _encode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def _decode_value(value: dict[str, Any]) -> dict[str, Any]:
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner, validate=True)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b, validate=True) for b in inner]}
    if kind == "L":
        return {"L": [_decode_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _decode_value(v) for k, v in inner.items()}}
    return {kind: inner}


def encode_item(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB item as JSON-safe data (bytes as base64 under their own type tag)."""
    return {name: _encode_value(value) for name, value in item.items()}


def decode_item(item: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`encode_item`."""
    return {name: _decode_value(value) for name, value in item.items()}


# -- reading the store through the AWS API


def take(
    dynamodb: Any,
    secretsmanager: Any,
    read_items: Callable[[str], list[dict[str, Any]] | None] | None = None,
) -> dict[str, Any]:
    """Every table's items and every secret, as a snapshot document (reads only). ``read_items`` may give a
    table's items already encoded (a faster path); when it has none (None), the table is scanned."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            fast = read_items(name) if read_items is not None else None
            if fast is not None:
                tables[name] = fast
                continue
            items: list[dict[str, Any]] = []
            for scan in dynamodb.get_paginator("scan").paginate(
                TableName=name, PaginationConfig={"PageSize": _SCAN_PAGE}
            ):
                items.extend(encode_item(item) for item in scan.get("Items", []))
            tables[name] = items
    secrets: dict[str, dict[str, Any]] = {}
    for page in secretsmanager.get_paginator("list_secrets").paginate():
        for entry in page.get("SecretList", []):
            name = entry["Name"]
            record: dict[str, Any] = {
                "description": entry.get("Description"),
                "tags": [{"Key": t["Key"], "Value": t["Value"]} for t in entry.get("Tags", [])],
                "policy": secretsmanager.get_resource_policy(SecretId=name).get("ResourcePolicy"),
            }
            for stage in STAGES:
                record[stage] = _secret_value(secretsmanager, name, stage)
            secrets[name] = record
    return {
        "format": FORMAT,
        "version": VERSION,
        "taken_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "tables": tables,
        "secrets": secrets,
    }


def _secret_value(secretsmanager: Any, name: str, stage: str) -> dict[str, str] | None:
    try:
        answer = secretsmanager.get_secret_value(SecretId=name, VersionStage=stage)
    except secretsmanager.exceptions.ResourceNotFoundException:
        return None  # no such stage (a secret created without a value, or never rotated)
    if "SecretBinary" in answer:
        return {"binary": base64.b64encode(answer["SecretBinary"]).decode("ascii")}
    return {"string": answer["SecretString"]}


# -- writing it back


def restore(dynamodb: Any, secretsmanager: Any, snapshot: dict[str, Any], tables: set[str]) -> list[str]:
    """Write a snapshot into a store whose ``tables`` exist (and whose secrets do not yet).

    Returns warnings: the snapshot's tables the template no longer has (their items are not restored).
    """
    warnings: list[str] = []
    for name, items in snapshot["tables"].items():
        if name not in tables:
            warnings.append(f"table {name} ({len(items)} items) is not in the template; its items are not restored")
            continue
        requests = [{"PutRequest": {"Item": decode_item(item)}} for item in items]
        for start in range(0, len(requests), 25):  # BatchWriteItem takes at most 25 requests
            pending: dict[str, Any] = {name: requests[start : start + 25]}
            for _ in range(10):
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise StoreError(f"could not restore table {name}: writes left unprocessed")
    for name, record in snapshot["secrets"].items():
        create: dict[str, Any] = {"Name": name}
        if record.get("description"):
            create["Description"] = record["description"]
        if record.get("tags"):
            create["Tags"] = record["tags"]
        secretsmanager.create_secret(**create)  # no value until the policy is on, as put-vendor does
        if record.get("policy"):
            secretsmanager.put_resource_policy(SecretId=name, ResourcePolicy=record["policy"])
        for stage in STAGES:  # AWSPREVIOUS first: putting AWSCURRENT after it moves it to AWSPREVIOUS
            value = record.get(stage)
            if value is None:
                continue
            if "binary" in value:
                secretsmanager.put_secret_value(SecretId=name, SecretBinary=base64.b64decode(value["binary"]))
            else:
                secretsmanager.put_secret_value(SecretId=name, SecretString=value["string"])
    return warnings


# -- files


def write_json_atomically(path: Path, data: Any, *, mode: int = 0o600) -> None:
    """Write JSON so that a reader (or a crash) sees the old file or the new one, whole: temporary file in the
    same directory, fsync, ``os.replace``, fsync of the directory. Owner-only permissions by default."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _refuse(path: Path, why: str) -> StoreError:
    return StoreError(
        f"the stored state {path} {why}; it is left untouched. Fix or move it, or start empty with "
        "steward dev --fresh (which deletes it)"
    )


def load(path: Path) -> dict[str, Any] | None:
    """The snapshot at ``path``, None when there is none.

    Raises:
        StoreError: the file exists but is not a snapshot this version can restore.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(path, f"cannot be read ({type(exc).__name__})") from None
    try:
        document = json.loads(text)
    except ValueError:
        raise _refuse(path, "is not valid JSON (truncated or corrupt)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _refuse(path, "is not a steward dev snapshot")
    if document.get("version") != VERSION:
        raise _refuse(path, f"has format version {document.get('version')!r}; this steward reads {VERSION}")
    tables, secrets = document.get("tables"), document.get("secrets")
    if not isinstance(tables, dict) or not isinstance(secrets, dict):
        raise _refuse(path, "has no tables or secrets")
    try:
        for name, items in tables.items():
            if not isinstance(name, str) or not isinstance(items, list):
                raise ValueError(name)
            for item in items:
                decode_item(item)
        for name, record in secrets.items():
            if not isinstance(name, str) or not isinstance(record, dict):
                raise ValueError(name)
            for stage in STAGES:
                value = record.get(stage)
                if value is not None and not (
                    isinstance(value, dict) and (isinstance(value.get("string"), str) or "binary" in value)
                ):
                    raise ValueError(name)
                if value is not None and "binary" in value:
                    base64.b64decode(value["binary"], validate=True)
    except (ValueError, TypeError, AttributeError):
        raise _refuse(path, "holds an item or secret this version cannot restore") from None
    return document


def load_principals(path: Path) -> dict[str, Any]:
    """The demo principals (with their tokens) written when the store was seeded.

    Raises:
        StoreError: the file is missing or unreadable (the snapshot's keys hold only digests of the tokens).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _refuse(path, "is missing (the demo principals' tokens)") from None
    except (OSError, ValueError):
        raise _refuse(path, "cannot be read as JSON") from None
    principals = document.get("principals") if isinstance(document, dict) else None
    if not isinstance(principals, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("token"), str) for v in principals.values()
    ):
        raise _refuse(path, "does not hold the demo principals")
    return principals
