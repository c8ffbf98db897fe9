"""The egress against tests/vendor_server.py, the official SDK's server (the e2e tests' vendor), served in a
thread over loopback HTTPS in both its transports: every method of the dialect, answered in the dialect's shapes."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_steward.egress.service import EgressService
from tests.tls import TlsFiles
from tests.unit.egress.fake_vendor import serve_app
from tests.unit.egress.test_service import SECRET_ID, Secrets, service
from tests.vendor_server import PIXEL_PNG, create_app

TOKEN = "tok-sdk-vendor"


@pytest.fixture(scope="module", params=["stateless-json", "stateful-sse"])
def vendor(request: pytest.FixtureRequest, tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    token_file = Path(tmp_path_factory.mktemp("vendor")) / "token"
    token_file.write_text(TOKEN)
    with serve_app(tls, create_app(token_file, None, request.param), lifespan="on") as origin:
        yield origin


@pytest.fixture(scope="module")
def svc(tls: TlsFiles, vendor: str) -> EgressService:
    return service(tls, vendor, Secrets(TOKEN, [vendor]))


def ask(svc: EgressService, vendor: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    event = {
        "steward": {"v": 1, "request_id": "r1", "deadline_ms": int((time.time() + 10) * 1000)},
        "message": {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}},
        "vendor": {
            "server": "weather",
            "url": f"{vendor}/mcp",
            "allowed_hosts": ["127.0.0.1"],
            "secret_id": SECRET_ID,
            "auth_header": None,
        },
    }
    return asyncio.run(svc.handle(event))


def test_discovery_says_every_capability(svc: EgressService, vendor: str) -> None:
    result = ask(svc, vendor, "server/discover")["result"]
    assert {"tools", "resources", "prompts", "completions"} <= set(result["capabilities"])
    assert result["serverInfo"]["name"] == "weather"


def test_the_lists_name_what_the_vendor_serves(svc: EgressService, vendor: str) -> None:
    tools = ask(svc, vendor, "tools/list")["result"]["tools"]
    assert [tool["name"] for tool in tools] == ["forecast", "shout", "weather_map"]
    resources = ask(svc, vendor, "resources/list")["result"]["resources"]
    assert [(r["uri"], r["name"]) for r in resources] == [
        ("weather://cities", "cities"),
        ("weather://logo.png", "logo"),
    ]
    templates = ask(svc, vendor, "resources/templates/list")["result"]["resourceTemplates"]
    assert [(t["uriTemplate"], t["name"]) for t in templates] == [("weather://forecast/{city}", "city_forecast")]
    prompts = ask(svc, vendor, "prompts/list")["result"]["prompts"]
    assert [(p["name"], [a["name"] for a in p["arguments"]]) for p in prompts] == [
        ("daily_briefing", []),
        ("plan_trip", ["city", "days"]),
    ]


def test_resources_are_read_as_text_blob_and_through_the_template(svc: EgressService, vendor: str) -> None:
    cities = ask(svc, vendor, "resources/read", {"uri": "weather://cities"})["result"]
    assert cities == {
        "contents": [
            {"uri": "weather://cities", "mimeType": "text/plain", "text": "Bergen\nBerlin\nBern\nOslo\nStockholm"}
        ]
    }
    logo = ask(svc, vendor, "resources/read", {"uri": "weather://logo.png"})["result"]["contents"][0]
    assert (logo["mimeType"], base64.b64decode(logo["blob"])) == ("image/png", PIXEL_PNG)
    oslo = ask(svc, vendor, "resources/read", {"uri": "weather://forecast/Oslo"})["result"]["contents"][0]
    assert oslo["text"] == "Oslo: sunny, high 21 C"
    missing = ask(svc, vendor, "resources/read", {"uri": "weather://nowhere"})["error"]
    assert missing == {
        "code": -32602,
        "message": "Unknown resource: weather://nowhere",
        "data": {"uri": "weather://nowhere"},
    }


def test_prompts_are_got_with_and_without_arguments(svc: EgressService, vendor: str) -> None:
    trip = ask(svc, vendor, "prompts/get", {"name": "plan_trip", "arguments": {"city": "Oslo", "days": "2"}})
    messages = trip["result"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == {"type": "text", "text": "Plan a 2-day trip to Oslo around the weather."}
    briefing = ask(svc, vendor, "prompts/get", {"name": "daily_briefing"})["result"]["messages"]
    assert briefing[0]["role"] == "user"
    assert "error" in ask(svc, vendor, "prompts/get", {"name": "plan_trip"})  # city is required


def test_a_prompt_argument_is_completed(svc: EgressService, vendor: str) -> None:
    ref = {"type": "ref/prompt", "name": "plan_trip"}
    completed = ask(svc, vendor, "completion/complete", {"ref": ref, "argument": {"name": "city", "value": "be"}})
    assert completed["result"] == {"completion": {"values": ["Bergen", "Berlin", "Bern"], "total": 3, "hasMore": False}}
    other = ask(svc, vendor, "completion/complete", {"ref": ref, "argument": {"name": "days", "value": "1"}})
    assert other["result"]["completion"]["values"] == []


def test_a_tool_answers_an_image_a_resource_link_and_an_embedded_resource(svc: EgressService, vendor: str) -> None:
    result = ask(svc, vendor, "tools/call", {"name": "weather_map", "arguments": {"city": "Oslo"}})["result"]
    image, link, embedded = result["content"]
    assert (image["type"], image["mimeType"], base64.b64decode(image["data"])) == ("image", "image/png", PIXEL_PNG)
    assert link == {
        "type": "resource_link",
        "uri": "weather://forecast/Oslo",
        "name": "forecast-Oslo",
        "mimeType": "text/plain",
    }
    assert embedded["type"] == "resource"
    assert embedded["resource"] == {
        "uri": "weather://forecast/Oslo",
        "mimeType": "text/plain",
        "text": "Oslo: sunny, high 21 C",
    }
    forecast = ask(svc, vendor, "tools/call", {"name": "forecast", "arguments": {"city": "Oslo"}})["result"]
    assert forecast["structuredContent"] == {"city": "Oslo", "summary": "sunny", "high_c": 21}
