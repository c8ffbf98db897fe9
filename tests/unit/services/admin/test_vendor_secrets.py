"""Vendor credentials through the admin service: stored with their origins and an egress-only policy, audited
without the value; a refusal stores nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from mcp_steward.domain.egress_policy import origin_text
from mcp_steward.services.admin import AdminRefusedError
from mcp_steward.services.admin.vendor_secrets import (
    checked_credential,
    credential_origins,
    put_vendor_secret,
    secret_id_of,
)
from tests.unit.services.admin.conftest import Plane

ROLE = "arn:aws:iam::123456789012:role/steward-test-EgressFunctionRole"
VALUE = b"sk-live-0123456789"


class Store:
    def __init__(self) -> None:
        self.secrets: dict[str, tuple[str, Mapping[str, Any]]] = {}

    def put(self, secret_id: str, value: str, policy: Mapping[str, Any]) -> bool:
        created = secret_id not in self.secrets
        self.secrets[secret_id] = (value, policy)
        return created


def test_a_credential_is_stored_with_its_origins_and_audited_without_its_value(plane: Plane) -> None:
    plane.ports.vendor_secret_prefix = "steward-test/vendor/"
    store = Store()
    secret_id = secret_id_of(plane.ports, "weather")
    origins = credential_origins(plane.ports, urls=["https://api.weather.example/mcp"], hosts=["cdn.weather.example"])

    created = put_vendor_secret(plane.ports, store, secret_id, checked_credential(VALUE, origins), origins, ROLE)

    assert created and secret_id == "steward-test/vendor/weather"
    value, policy = store.secrets[secret_id]
    assert VALUE.decode() in value and ROLE in json.dumps(policy)
    assert [origin_text(o) for o in origins] == ["https://api.weather.example", "https://cdn.weather.example"]
    assert plane.audit == [
        (
            "secrets.put_vendor",
            {"secret_id": secret_id, "created": True, "origins": [origin_text(o) for o in origins]},
            {"team": None, "principal": None, "tool": None},
        )
    ]
    assert VALUE.decode() not in repr(plane.audit)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "name where the credential may be sent"),
        ({"urls": ["http://api.weather.example"]}, "https"),
        ({"urls": ["https://127.0.0.1:8443"]}, "loopback_address"),
        ({"for_server": "nosuch"}, "no vendor server 'nosuch'"),
    ],
)
def test_refused_origins(plane: Plane, options: dict[str, Any], message: str) -> None:
    with pytest.raises(AdminRefusedError, match=message):
        credential_origins(plane.ports, **options)


def test_a_refused_value_or_name_stores_nothing(plane: Plane) -> None:
    plane.ports.vendor_secret_prefix = "steward-test/vendor/"
    origins = credential_origins(plane.ports, urls=["https://127.0.0.1:8443"], loopback_allowed=True)

    with pytest.raises(AdminRefusedError, match="empty"):
        checked_credential(b"", origins)
    with pytest.raises(AdminRefusedError, match="vendor secret name"):
        secret_id_of(plane.ports, "Weather")
    assert plane.audit == []
