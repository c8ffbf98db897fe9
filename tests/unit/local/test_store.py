"""The local plane's stored state on disk: the snapshot format, its atomic write, refusals of a snapshot that
cannot be restored (never discarded silently), the published versions read back, and ``steward dev``'s
checks before anything starts (a busy port, a locked store, a corrupt snapshot)."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_steward.local import store
from mcp_steward.local.plane import lock_store, port_in_use, run_dev, snapshot_interval
from mcp_steward.local.store import StoreError, StoreLayout
from mcp_steward.local.template import FunctionSpec
from mcp_steward.local.versions import VERSIONS_DIR_VARIABLE, VersionStore
from tests.conftest import ROOT

TEMPLATE = ROOT / "infra" / "template.yaml"

scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": str(n)}, st.integers()),
    st.builds(lambda b: {"B": b}, st.binary(max_size=20)),
    st.builds(lambda b: {"BS": b}, st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=3, unique=True)),
    st.builds(lambda s: {"SS": s}, st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3, unique=True)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
        st.builds(lambda v: {"M": v}, st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    ),
    max_leaves=8,
)
items = st.dictionaries(st.text(min_size=1, max_size=10), values, min_size=1, max_size=5)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(items)
def test_an_item_survives_the_json_round_trip_bytes_included(item: dict[str, Any]) -> None:
    assert store.decode_item(json.loads(json.dumps(store.encode_item(item)))) == item


def snapshot(tables: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"format": store.FORMAT, "version": store.VERSION, "tables": tables or {}, "secrets": secrets or {}}


def test_a_written_snapshot_loads_back_and_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "store" / "snapshot.json"
    item = store.encode_item({"pk": {"S": "k"}, "blob": {"B": b"\x00\xff"}})
    secrets = {"s": {"AWSCURRENT": {"string": "v"}, "AWSPREVIOUS": {"binary": "AP8="}, "policy": None}}
    document = snapshot({"t": [item]}, secrets)
    store.write_json_atomically(path, document)
    assert store.load(path) == document
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["snapshot.json"]  # no temporary file left


def test_a_write_that_fails_leaves_the_previous_snapshot_whole(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    store.write_json_atomically(path, snapshot({"t": []}))
    before = path.read_bytes()
    with pytest.raises(TypeError):
        store.write_json_atomically(path, {"unserializable": object()})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json"]


def test_no_snapshot_is_an_empty_store(tmp_path: Path) -> None:
    assert store.load(tmp_path / "snapshot.json") is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"format": "mcp-steward-local-store", "version": 1, "tables": {', "not valid JSON"),
        ("[]", "not a steward dev snapshot"),
        ('{"format": "mcp-steward-local-store", "version": 99, "tables": {}, "secrets": {}}', "format version 99"),
        (
            '{"format": "mcp-steward-local-store", "version": 1, "tables": {"t": [{"a": {"B": "%%"}}]}, "secrets": {}}',
            "cannot restore",
        ),
        (
            '{"format": "mcp-steward-local-store", "version": 1, "tables": {}, "secrets": {"s": {"AWSCURRENT": 3}}}',
            "cannot restore",
        ),
        ('{"format": "mcp-steward-local-store", "version": 1}', "no tables or secrets"),
    ],
)
def test_a_snapshot_that_cannot_be_restored_is_refused_naming_the_file_and_fresh(
    tmp_path: Path, text: str, why: str
) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text(text)
    with pytest.raises(StoreError) as refused:
        store.load(path)
    assert str(path) in str(refused.value) and "--fresh" in str(refused.value) and why in str(refused.value)
    assert path.read_text() == text  # left untouched


def test_missing_demo_tokens_beside_a_snapshot_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="--fresh"):
        store.load_principals(tmp_path / "principals.json")
    (tmp_path / "principals.json").write_text('{"principals": {"alice": {"team": "finance"}}}')
    with pytest.raises(StoreError, match="does not hold the demo principals"):
        store.load_principals(tmp_path / "principals.json")


# -- published versions


def spec_of(code_dir: Path) -> FunctionSpec:
    return FunctionSpec(
        logical_id="EchoFunction",
        function_name="steward-local-echo",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:steward-local-echo",
        code_dir=code_dir,
        handler="app.handler",
        runtime="python3.13",
        timeout_s=10,
        memory_mb=256,
    )


def test_published_versions_outlive_the_store_that_published_them(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("VERSION = 1\n")
    root = tmp_path / "versions"
    first = VersionStore(root)
    one = first.publish(spec_of(code))
    (code / "app.py").write_text("VERSION = 2\n")
    two = first.publish(spec_of(code))
    first.close()
    assert (one.number, two.number) == ("1", "2")

    # A restart: the pinned versions resolve to their own code, with the template's current configuration.
    current = replace(spec_of(code), environment={"ENDPOINT": "new"})
    again = VersionStore(root)
    resolved = again.get(current, "1")
    assert resolved is not None and resolved.code_hash == one.code_hash
    assert (resolved.spec.code_dir / "app.py").read_text() == "VERSION = 1\n"
    assert resolved.spec.environment == {"ENDPOINT": "new"}
    assert again.publish(spec_of(code)).number == "2"  # unchanged code: the latest version
    (code / "app.py").write_text("VERSION = 3\n")
    assert again.publish(spec_of(code)).number == "3"


def test_an_interrupted_publish_is_not_a_version(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("x = 1\n")
    root = tmp_path / "versions"
    VersionStore(root).publish(spec_of(code))
    (root / "EchoFunction" / "2").mkdir()  # copied, never recorded
    again = VersionStore(root)
    assert again.get(spec_of(code), "2") is None
    (code / "app.py").write_text("x = 2\n")
    assert again.publish(spec_of(code)).number == "2"


def test_the_runner_keeps_versions_where_the_plane_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VERSIONS_DIR_VARIABLE, str(tmp_path / "kept"))
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("x = 1\n")
    versions = VersionStore()
    versions.publish(spec_of(code))
    versions.close()
    assert (tmp_path / "kept" / "EchoFunction" / "1.json").is_file()


# -- steward dev's checks before it starts anything


def test_a_busy_port_is_refused_before_anything_is_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_in_use("127.0.0.1", port) is not None
        code = run_dev(host="127.0.0.1", port=port, state_file=tmp_path / "local.json", template=TEMPLATE)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert (
        err == f"steward dev: error: port {port} is in use (another steward dev or another server listens on "
        f"127.0.0.1:{port}; stop it or pass --port)\n"
    )
    assert not (tmp_path / "store").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_corrupt_snapshot_refuses_to_start_and_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = StoreLayout.beside(tmp_path / "local.json")
    layout.root.mkdir()
    layout.snapshot.write_text("{truncated")
    code = run_dev(host="127.0.0.1", port=free_port(), state_file=tmp_path / "local.json", template=TEMPLATE)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert str(layout.snapshot) in err and "steward dev --fresh" in err
    assert layout.snapshot.read_text() == "{truncated"


def test_a_store_in_use_by_another_plane_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = StoreLayout.beside(tmp_path / "local.json")
    held = lock_store(layout)
    try:
        code = run_dev(host="127.0.0.1", port=free_port(), state_file=tmp_path / "local.json", template=TEMPLATE)
    finally:
        os.close(held)
    assert code == 1 and "in use by another steward dev" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"), [(None, 2.0), ("", 2.0), ("5", 5.0), ("0", 0.1), ("1e99", 86_400.0), ("nan", 2.0), ("x", 2.0)]
)
def test_the_snapshot_interval_is_bounded(text: str | None, seconds: float) -> None:
    assert snapshot_interval(text) == seconds
