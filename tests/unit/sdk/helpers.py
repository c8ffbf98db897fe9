"""Envelope builders shared by the SDK tests."""

from __future__ import annotations

from typing import Any

DEADLINE_MS = 4_102_444_800_000


def steward(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "v": 1,
        "request_id": "req-123",
        "deadline_ms": DEADLINE_MS,
        "principal": {"id": "alice", "team": "finance", "obo": None},
        "delegation": None,
    }
    context.update(overrides)
    return context


def envelope(method: str, params: dict[str, Any] | None = None, request_id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return {"steward": steward(), "message": message}


def call(name: str, arguments: Any = None, request_id: Any = 1) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name}
    if arguments is not None:
        params["arguments"] = arguments
    return envelope("tools/call", params, request_id)
