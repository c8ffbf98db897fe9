"""moto's store to disk and back (``steward dev``'s snapshot): items of every type, secrets with both stages, a
resource policy and no value, all restored as they were; reads do not make a snapshot due; the snapshot endpoint.

moto's backends are global to the process, so the test uses names of its own and restores under new names."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from mcp_steward.local import store
from mcp_steward.local.moto_server import SerializedApp, Snapshotter, make_moto_server, read_table_items

KEY_SCHEMA: Any = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTES: Any = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]})


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Snapshotter, SerializedApp]]:
    moto = make_moto_server()
    thread = threading.Thread(target=moto.serve_forever, daemon=True)
    thread.start()
    host, port = moto.server_address[:2]
    url = f"http://{host!s}:{port}"
    assert isinstance(moto.app, SerializedApp)
    snapshotter = Snapshotter(moto.app, tmp_path / "snapshot.json", 3600, url)
    try:
        yield url, snapshotter, moto.app
    finally:
        moto.shutdown()
        moto.server_close()
        thread.join()


def clients(url: str) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return session.client("dynamodb", endpoint_url=url), session.client("secretsmanager", endpoint_url=url)


def create_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES, BillingMode="PAY_PER_REQUEST"
    )


def items_of(dynamodb: Any, name: str) -> list[dict[str, Any]]:
    found = dynamodb.scan(TableName=name)["Items"]
    return sorted(found, key=lambda item: item["sk"]["S"])


def test_tables_and_secrets_come_back_as_they_were(server: tuple[str, Snapshotter, SerializedApp]) -> None:
    url, snapshotter, _ = server
    dynamodb, secretsmanager = clients(url)
    tag = uuid.uuid4().hex[:8]
    table, copy = f"t-{tag}", f"t2-{tag}"
    create_table(dynamodb, table)
    rows: list[dict[str, Any]] = [
        {
            "pk": {"S": "LEDGER"},
            "sk": {"S": f"{i:05d}"},
            "amount": {"N": str(i * 1000)},
            "blob": {"B": bytes([i % 256, 0, 255])},
            "nested": {"M": {"list": {"L": [{"S": "x"}, {"BS": [b"\x01"]}, {"NULL": True}]}, "ok": {"BOOL": True}}},
            "names": {"SS": ["a", "b"]},
        }
        for i in range(1001)  # more than one scan page
    ]
    for start in range(0, len(rows), 25):
        dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": r}} for r in rows[start : start + 25]]})
    secretsmanager.create_secret(Name=f"rotated-{tag}", SecretString="old")
    secretsmanager.put_secret_value(SecretId=f"rotated-{tag}", SecretString="new")
    secretsmanager.create_secret(Name=f"empty-{tag}", Description="no value yet", Tags=[{"Key": "k", "Value": "v"}])
    secretsmanager.put_resource_policy(SecretId=f"empty-{tag}", ResourcePolicy=POLICY)
    secretsmanager.create_secret(Name=f"binary-{tag}", SecretBinary=b"\x00\xff")

    assert snapshotter.save(force=True)
    document = store.load(snapshotter.path)
    assert document is not None
    mine = {
        "format": store.FORMAT,
        "version": store.VERSION,
        "tables": {copy: document["tables"][table]},
        "secrets": {f"2{n}": s for n, s in document["secrets"].items() if n.endswith(tag)},
    }
    create_table(dynamodb, copy)
    assert store.restore(dynamodb, secretsmanager, mine, {copy}) == []

    assert items_of(dynamodb, copy) == items_of(dynamodb, table) and len(items_of(dynamodb, copy)) == 1001
    assert secretsmanager.get_secret_value(SecretId=f"2rotated-{tag}")["SecretString"] == "new"
    previous = secretsmanager.get_secret_value(SecretId=f"2rotated-{tag}", VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "old"
    assert secretsmanager.get_secret_value(SecretId=f"2binary-{tag}")["SecretBinary"] == b"\x00\xff"
    empty = secretsmanager.describe_secret(SecretId=f"2empty-{tag}")
    assert empty["Description"] == "no value yet" and empty["Tags"] == [{"Key": "k", "Value": "v"}]
    assert json.loads(secretsmanager.get_resource_policy(SecretId=f"2empty-{tag}")["ResourcePolicy"]) == json.loads(
        POLICY
    )
    with pytest.raises(secretsmanager.exceptions.ResourceNotFoundException):
        secretsmanager.get_secret_value(SecretId=f"2empty-{tag}")


def test_moto_backend_items_read_as_the_api_scans_them(server: tuple[str, Snapshotter, SerializedApp]) -> None:
    """The snapshot reads items from moto's backend (fast); it must give exactly what a Scan gives."""
    dynamodb, _ = clients(server[0])
    table = f"t-{uuid.uuid4().hex[:8]}"
    create_table(dynamodb, table)
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": "a"},
            "sk": {"S": "b"},
            "n": {"N": "-1.50"},
            "bin": {"B": b"\x00\xffz"},
            "bins": {"BS": [b"\x01", b"\x02"]},
            "nums": {"NS": ["1", "2.5"]},
            "strs": {"SS": ["x"]},
            "deep": {"M": {"l": {"L": [{"B": b"\x03"}, {"M": {"t": {"BOOL": False}}}, {"NULL": True}]}}},
        },
    )
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}, "sk": {"S": "b"}},
        UpdateExpression="ADD tally :one SET #d.extra = :bin",
        ExpressionAttributeNames={"#d": "deep"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":bin": {"B": b"\x04"}},
    )
    scanned = [store.encode_item(item) for item in dynamodb.scan(TableName=table)["Items"]]
    assert read_table_items(table) == scanned


def test_a_table_the_template_lost_is_reported_not_restored(server: tuple[str, Snapshotter, SerializedApp]) -> None:
    dynamodb, secretsmanager = clients(server[0])
    document = {"tables": {"gone": [{"pk": {"S": "a"}, "sk": {"S": "b"}}]}, "secrets": {}}
    assert store.restore(dynamodb, secretsmanager, document, set()) == [
        "table gone (1 items) is not in the template; its items are not restored"
    ]


def test_reads_do_not_make_a_snapshot_due_and_writes_do(server: tuple[str, Snapshotter, SerializedApp]) -> None:
    url, snapshotter, _ = server
    dynamodb, _ = clients(url)
    table = f"t-{uuid.uuid4().hex[:8]}"
    create_table(dynamodb, table)
    assert snapshotter.save(force=True)
    dynamodb.scan(TableName=table)
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert not snapshotter.save()
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert snapshotter.save()
    assert not snapshotter.save()


def test_the_snapshot_endpoint_writes_one_and_takes_post_only(server: tuple[str, Snapshotter, SerializedApp]) -> None:
    url, snapshotter, _ = server
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{url}/_steward/snapshot", timeout=30)
    assert refused.value.code == 405
    assert not snapshotter.path.exists()
    request = urllib.request.Request(f"{url}/_steward/snapshot", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert json.loads(answer.read()) == {"path": str(snapshotter.path)}
    assert store.load(snapshotter.path) is not None
    snapshotter.close()  # stops the periodic snapshots and writes the last one
