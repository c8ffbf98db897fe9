"""A vendor behind Steward on the local plane (issue 5, items 1-3 and 5): a real vendor MCP server built with the
official SDK on loopback HTTPS that requires a bearer credential; ``steward servers add --url`` lists its tools
through the egress function; approved, priced and granted like internal tools; a person's call reaches the vendor
with the credential the egress injected; the person's team is charged and the ledger records it; the credential
never appears in any output, log, ledger or audit entry.

The credential is stored for the vendor's origin only (``steward secrets put-vendor --origin``): a second loopback
vendor server, listed for the plane too, plays the collector an admin points another registration (or the registry
itself) at; it never receives a request (issue: a vendor credential goes only where it was stored for).

This module starts its own plane (``steward dev --vendor-origin ... --vendor-ca-file ...``): the vendors' exact
origins must be listed before the plane starts.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_steward.adapters.dynamodb_records import DynamoDbRecords
from tests.conftest import ROOT, aws_client
from tests.e2e.conftest import _free_port, running_plane
from tests.tls import TlsFiles, make_loopback_tls

pytestmark = pytest.mark.plane

STARTUP_TIMEOUT_S = 120
SECRET_ID = "steward-local/vendor/weather"


@contextlib.contextmanager
def _vendor_server(directory: Path, tls: TlsFiles) -> Iterator[dict[str, Any]]:
    """The SDK vendor server on loopback HTTPS, and its credential (only in the token file and, later, moto)."""
    token = f"vendor-{secrets.token_urlsafe(24)}"
    token_file = directory / "token"
    token_file.write_text(token)
    port = _free_port()
    log_file = directory / "requests.log"
    output = directory / "vendor.out"
    command = [sys.executable, "-m", "tests.vendor_server", "--port", str(port), "--cert", str(tls.cert_file)]
    command += ["--key", str(tls.key_file), "--token-file", str(token_file), "--log-file", str(log_file)]
    with output.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    origin = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=str(tls.ca_file))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{origin}/", verify=trust, timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the vendor did not start: {output.read_text()[-2000:]}")
                time.sleep(0.1)
        log_file.write_text("")  # the readiness probe carried no credential: the log starts after it
        yield {
            "origin": origin,
            "token": token,
            "token_file": token_file,
            "ca_file": tls.ca_file,
            "log": log_file,
            "output": output,
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[dict[str, Any]]:
    """The weather vendor."""
    with _vendor_server(tmp_path_factory.mktemp("vendor"), tls) as running:
        yield running


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[dict[str, Any]]:
    """Another vendor server (its own token): where an admin would like the weather credential to go."""
    with _vendor_server(tmp_path_factory.mktemp("collector"), tls) as running:
        yield running


@pytest.fixture(scope="module")
def vendor_plane(
    vendor: dict[str, Any], collector: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A plane of its own: the vendors' exact origins (and their CA) must be listed before the plane starts."""
    state_file = tmp_path_factory.mktemp("vendor-plane") / "local.json"
    # both listed: only the credential's binding keeps it from the collector
    options = ("--vendor-origin", vendor["origin"], "--vendor-origin", collector["origin"])
    with running_plane(state_file, *options, "--vendor-ca-file", str(vendor["ca_file"])) as state:
        yield state


def steward(plane: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mcp_steward.cli.main", *args, "--state-file", plane["_state_file"]]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)


def mcp(plane: dict[str, Any], who: str, method: str, params: dict[str, Any]) -> httpx.Response:
    token = plane["principals"][who]["token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(plane["mcp_url"], content=json.dumps(body), headers=headers, timeout=60)


def admin(plane: dict[str, Any], outputs: list[str]) -> Callable[..., str]:
    """Run a ``steward`` command that must succeed, keeping its output to search for the credential."""

    def ok(*args: str) -> str:
        finished = steward(plane, *args)
        outputs.extend((finished.stdout, finished.stderr))
        assert finished.returncode == 0, finished.stderr
        return finished.stdout

    return ok


def store_credential(ok: Callable[..., str], vendor: dict[str, Any]) -> None:
    """``steward secrets put-vendor weather``, for the vendor's origin (again: it replaces the value)."""
    stored = ok(
        "secrets", "put-vendor", "weather", "--value-file", str(vendor["token_file"]), "--origin", vendor["origin"]
    )
    assert f"the egress sends it only to: {vendor['origin']}" in stored


def assert_never_leaked(plane: dict[str, Any], secret: str, outputs: list[str], *logs: Path) -> None:
    """The credential is in none of the outputs, no item of any table, and no line of the plane's or ``logs``."""
    dynamodb = aws_client("dynamodb", plane["aws_endpoint_url"])
    texts = [*outputs, *(json.dumps(dynamodb.scan(TableName=table)["Items"]) for table in plane["tables"].values())]
    texts += [path.read_text(errors="replace") for path in (Path(plane["_log"]), *logs)]
    assert [i for i, text in enumerate(texts) if secret in text] == []


def charged(shown: str) -> int:
    """The team's charged micro-credits this period, from ``steward budgets show --team T --json``."""
    return int(next(row for row in json.loads(shown) if not row["principal"])["charged_micro"])


def until_listed(plane: dict[str, Any], who: str, tool: str) -> list[str]:
    deadline = time.monotonic() + 15
    while True:
        names = [t["name"] for t in mcp(plane, who, "tools/list", {}).json()["result"]["tools"]]
        if tool in names or time.monotonic() > deadline:
            return names
        time.sleep(0.25)


def test_a_vendor_behind_steward_is_governed_and_its_credential_never_leaks(
    vendor: dict[str, Any], vendor_plane: dict[str, Any]
) -> None:
    plane = vendor_plane
    outputs: list[str] = []

    ok = admin(plane, outputs)

    # GIVEN the vendor credential under the stack's vendor prefix, for the vendor's origin (the admin stores it;
    # Steward reads it by id)
    url = f"{vendor['origin']}/mcp"
    store_credential(ok, vendor)

    # Fail fast: a secret outside the prefix, and a plain-HTTP URL, are refused input (exit 2), nothing registered
    refused = steward(plane, "servers", "add", "weather", "--url", url, "--secret", "steward-local/hr-directory/x")
    outputs.extend((refused.stdout, refused.stderr))
    assert refused.returncode == 2, refused.stderr
    refused = steward(plane, "servers", "add", "weather", "--url", url.replace("https", "http"))
    assert refused.returncode == 2, refused.stderr
    # A loopback origin that is not listed for the plane is refused by the egress function at discovery
    unlisted = steward(plane, "servers", "add", "other", "--url", "https://127.0.0.1:9/mcp")
    outputs.extend((unlisted.stdout, unlisted.stderr))
    assert unlisted.returncode == 1 and "not globally routable" in unlisted.stderr

    # WHEN the vendor is registered: its tools are listed through the egress function, scanned, pending
    added = ok("servers", "add", "weather", "--url", url, "--secret", SECRET_ID)
    assert "weather__forecast  pending" in added
    servers = json.loads(ok("servers", "list", "--json"))
    assert {"name": "weather", "kind": "vendor"}.items() <= next(s for s in servers if s["name"] == "weather").items()
    shown = json.loads(ok("tools", "show", "weather__forecast", "--json"))
    assert shown["pinned_version"] is None and shown["status"] == "pending"
    assert "weather__forecast" not in until_listed(plane, "alice", "weather__forecast")  # not before approval

    # AND approved (the definition's hash pinned, no code version), priced and granted to alice's team
    assert "approved weather__forecast" in ok("tools", "approve", "weather__forecast")
    ok("prices", "set", "weather__forecast", "--price", "0.5")
    ok("grants", "add", "--team", "finance", "--tool", "weather__*")
    before = charged(ok("budgets", "show", "--team", "finance", "--json"))

    # THEN alice's call reaches the vendor with the injected credential, answered as the vendor answered
    assert "weather__forecast" in until_listed(plane, "alice", "weather__forecast")
    authorized_before = vendor["log"].read_text().count("authorized")
    answer = mcp(plane, "alice", "tools/call", {"name": "weather__forecast", "arguments": {"city": "Oslo"}})
    outputs.append(answer.text)
    result = answer.json()["result"]
    assert result.get("isError") is not True, result
    assert result["structuredContent"] == {"city": "Oslo", "summary": "sunny", "high_c": 21}
    assert vendor["log"].read_text().count("authorized") == authorized_before + 1
    assert "refused" not in vendor["log"].read_text()  # every request the vendor saw carried the credential

    # AND bob (not granted) cannot see or call it
    denied = mcp(plane, "bob", "tools/call", {"name": "weather__forecast", "arguments": {"city": "Oslo"}})
    outputs.append(denied.text)
    assert denied.json()["error"]["code"] == -32602

    # AND finance is charged the price, and the ledger and audit record the call
    assert charged(ok("budgets", "show", "--team", "finance", "--json")) - before == 500_000
    usage = json.loads(ok("usage", "--team", "finance", "--json"))
    tools = {t["tool"]: t for row in usage for t in row["tools"]}
    assert tools["weather__forecast"]["calls"] == 1 and tools["weather__forecast"]["cost_micro"] == 500_000
    audit = ok("audit", "--json")
    assert "weather__forecast" in audit

    # AND the credential appears nowhere: CLI output, MCP answers, the audit trail, every table, every log line
    assert_never_leaked(plane, vendor["token"], outputs, vendor["output"])


def test_an_internal_server_calls_the_vendor_through_steward_and_never_sees_its_credential(
    vendor: dict[str, Any], vendor_plane: dict[str, Any]
) -> None:
    """The chain of issue 5: alice calls the briefing server, whose tool asks ``weather__forecast`` through
    nested governance; the egress injects the credential; finance pays for both calls; the ledger has the chain."""
    plane = vendor_plane
    outputs: list[str] = []

    ok = admin(plane, outputs)

    store_credential(ok, vendor)
    ok("servers", "add", "weather", "--url", f"{vendor['origin']}/mcp", "--secret", SECRET_ID)  # again: idempotent
    ok("tools", "approve", "weather__forecast")
    ok("prices", "set", "weather__forecast", "--price", "0.5")
    ok("servers", "add", "brief", "--function", "BriefingFunction")
    ok("tools", "approve", "brief__brief")
    ok("prices", "set", "brief__brief", "--price", "0.25")
    ok("servers", "delegation", "brief", "--calls", "1", "--credit", "0.5")
    ok("grants", "add", "--server", "brief", "--tool", "weather__forecast")
    ok("grants", "add", "--team", "finance", "--tool", "brief__brief")
    before = charged(ok("budgets", "show", "--team", "finance", "--json"))
    authorized_before = vendor["log"].read_text().count("authorized")

    arguments = {"source": "weather__forecast", "arguments": {"city": "Bergen"}}
    assert "brief__brief" in until_listed(plane, "alice", "brief__brief")
    answer = mcp(plane, "alice", "tools/call", {"name": "brief__brief", "arguments": arguments})
    outputs.append(answer.text)
    result = answer.json()["result"]
    assert result["isError"] is False, result
    assert result["structuredContent"]["data"] == {"city": "Bergen", "summary": "sunny", "high_c": 21}
    assert vendor["log"].read_text().count("authorized") == authorized_before + 1  # the credential was injected

    # finance pays for both calls, and the ledger records the nested one with its parent and the chain
    assert charged(ok("budgets", "show", "--team", "finance", "--json")) - before == 750_000
    records = DynamoDbRecords(
        aws_client("dynamodb", plane["aws_endpoint_url"]), plane["tables"]["ledger"], plane["tables"]["audit"]
    )
    today = datetime.now(UTC).date()
    entries = records.ledger("finance", today, today)
    outer = next(e for e in reversed(entries) if e.tool == "brief__brief")
    nested = next(e for e in reversed(entries) if e.tool == "weather__forecast" and e.parent is not None)
    assert (nested.parent, nested.chain, nested.principal) == (outer.request_id, ("brief", "weather"), "alice")

    # the briefing server's answer, the plane's logs (the briefing worker's among them) and every table: no credential
    assert_never_leaked(plane, vendor["token"], outputs)


def call_until(plane: dict[str, Any], tool: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """alice's call of ``tool`` until its result is ``done`` (governance's catalog cache is 5 seconds stale)."""
    deadline = time.monotonic() + 30
    while True:
        result: dict[str, Any] = mcp(plane, "alice", "tools/call", {"name": tool, "arguments": {"city": "Oslo"}}).json()
        result = result.get("result", result)
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def test_a_vendor_credential_goes_only_where_it_was_stored_for(
    vendor: dict[str, Any], collector: dict[str, Any], vendor_plane: dict[str, Any]
) -> None:
    """The attack of the issue: an admin pairs the weather credential with another URL (a second registration, or
    the registry changed under a registered server); the egress refuses, nothing reaches the collector, the audit
    records the refusal."""
    plane = vendor_plane
    outputs: list[str] = []
    ok = admin(plane, outputs)

    # GIVEN the weather credential stored for the weather vendor's origin, and weather registered with it
    store_credential(ok, vendor)
    ok("servers", "add", "weather", "--url", f"{vendor['origin']}/mcp", "--secret", SECRET_ID)
    collector_url = f"{collector['origin']}/mcp"

    # WHEN an admin registers another server at the collector's URL with the weather credential
    refused = steward(plane, "servers", "add", "collector", "--url", collector_url, "--secret", SECRET_ID)
    outputs.extend((refused.stdout, refused.stderr))

    # THEN registration fails with a message naming the rule and the command that would bind it there
    assert refused.returncode == 1, refused.stderr
    assert f"The vendor credential {SECRET_ID} was not stored for {collector['origin']}" in refused.stderr
    assert "(egress rule credential_origin)" in refused.stderr
    assert f"steward secrets put-vendor weather --origin {collector['origin']} --value-file FILE" in refused.stderr
    # AND nothing is registered, the collector received no request at all, and the audit records the refusal
    assert "collector" not in {s["name"] for s in json.loads(ok("servers", "list", "--json"))}
    assert collector["log"].read_text() == ""
    admin_audit = json.loads(ok("audit", "--kind", "admin", "--json"))
    [record] = [r for r in admin_audit if r["action"] == "servers.add_refused" and r["detail"]["server"] == "collector"]
    assert record["detail"] == {
        "server": "collector",
        "kind": "vendor",
        "url": collector_url,
        "allowed_hosts": ["127.0.0.1"],
        "secret_id": SECRET_ID,
        "rule": "credential_origin",
    }

    # WHEN instead the registry is changed under a registered, approved and granted server (whoever can write the
    # table: the registry is not where the binding lives)
    ok("servers", "add", "weather2", "--url", f"{vendor['origin']}/mcp", "--secret", SECRET_ID)
    ok("tools", "approve", "weather2__forecast")
    ok("grants", "add", "--team", "finance", "--tool", "weather2__*")
    assert "weather2__forecast" in until_listed(plane, "alice", "weather2__forecast")
    dynamodb = aws_client("dynamodb", plane["aws_endpoint_url"])
    dynamodb.update_item(
        TableName=plane["tables"]["registry"],
        Key={"pk": {"S": "SERVER#weather2"}, "sk": {"S": "SERVER"}},
        UpdateExpression="SET #url = :url",
        ExpressionAttributeNames={"#url": "url"},
        ExpressionAttributeValues={":url": {"S": collector_url}},
    )

    # THEN alice's call is refused before anything is sent (once governance's catalog sees the change) and audited
    result = call_until(plane, "weather2__forecast", lambda r: r.get("_meta", {}).get("steward/rule") is not None)
    outputs.append(json.dumps(result))
    assert result["isError"] is True
    assert result["_meta"] == {
        "steward/reason": "egress_refused",
        "steward/rule": "credential_origin",
        "steward/sent": False,
    }
    assert collector["log"].read_text() == ""
    decisions = json.loads(ok("audit", "--kind", "decision", "--json"))
    refusals = [r for r in decisions if r["tool"] == "weather2__forecast" and r["reason"] == "egress_refused"]
    assert refusals and {"rule": "credential_origin", "sent": False}.items() <= refusals[-1]["detail"].items()
    assert refusals[-1]["detail"]["cost_micro"] == 0

    # AND the credential is nowhere, the collector's output included
    assert_never_leaked(plane, vendor["token"], outputs, vendor["output"], collector["output"], collector["log"])
