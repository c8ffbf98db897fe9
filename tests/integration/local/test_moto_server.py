"""The serialized moto server: concurrent writers on one item behave as DynamoDB's linearizability demands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mypy_boto3_dynamodb import DynamoDBClient

from mcp_steward.local.moto_server import serve_in_thread

pytestmark = pytest.mark.moto

WRITERS = 50
ROUNDS = 3
RMW_WRITERS = 20  # optimistic retries make this quadratic; 20 contenders are plenty


def _wait_for_ready_file(path: Path, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            data: dict[str, object] = json.loads(path.read_text())
            return data
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode} before it was ready")
        time.sleep(0.05)
    raise AssertionError("server did not become ready in time")


@pytest.fixture(scope="module")
def moto_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    ready = tmp_path_factory.mktemp("moto") / "ready.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_steward.local.moto_server", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
    )
    try:
        data = _wait_for_ready_file(ready, process)
        assert data["pid"] == process.pid
        yield str(data["url"]), process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _client(url: str) -> DynamoDBClient:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=WRITERS),
    )


def _create_table(client: DynamoDBClient) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_concurrent_counter_increments_are_never_lost(moto_process: tuple[str, subprocess.Popen[bytes]]) -> None:
    client = _client(moto_process[0])
    table = _create_table(client)

    def increment(key: str) -> None:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": key}},
            UpdateExpression="ADD #c :one",
            ExpressionAttributeNames={"#c": "counter"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for round_ in range(ROUNDS):
            key = f"counter-{round_}"
            list(pool.map(increment, [key] * WRITERS))
            item = client.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
            assert item["counter"] == {"N": str(WRITERS)}


def test_versioned_read_modify_write_never_loses_an_update(moto_process: tuple[str, subprocess.Popen[bytes]]) -> None:
    client = _client(moto_process[0])
    table = _create_table(client)
    client.put_item(TableName=table, Item={"pk": {"S": "doc"}, "version": {"N": "0"}, "writers": {"L": []}})

    def append(writer: int) -> None:
        while True:
            item = client.get_item(TableName=table, Key={"pk": {"S": "doc"}}, ConsistentRead=True)["Item"]
            version = int(item["version"]["N"])
            try:
                client.put_item(
                    TableName=table,
                    Item={
                        "pk": {"S": "doc"},
                        "version": {"N": str(version + 1)},
                        "writers": {"L": [*item["writers"]["L"], {"N": str(writer)}]},
                    },
                    ConditionExpression="version = :seen",
                    ExpressionAttributeValues={":seen": {"N": str(version)}},
                )
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(append, range(RMW_WRITERS)))
    item = client.get_item(TableName=table, Key={"pk": {"S": "doc"}}, ConsistentRead=True)["Item"]
    assert item["version"] == {"N": str(RMW_WRITERS)}
    assert sorted(int(entry["N"]) for entry in item["writers"]["L"]) == list(range(RMW_WRITERS))


def test_exactly_one_conditional_create_wins(moto_process: tuple[str, subprocess.Popen[bytes]]) -> None:
    client = _client(moto_process[0])
    table = _create_table(client)

    def create(args: tuple[str, int]) -> bool:
        key, writer = args
        try:
            client.put_item(
                TableName=table,
                Item={"pk": {"S": key}, "writer": {"N": str(writer)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for round_ in range(ROUNDS):
            outcomes = list(pool.map(create, [(f"key-{round_}", writer) for writer in range(WRITERS)]))
            assert outcomes.count(True) == 1


def test_server_process_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_steward.local.moto_server", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = str(_wait_for_ready_file(ready, process)["url"])
        assert _client(url).list_tables()["TableNames"] == []
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_in_thread_server_serves_secrets_manager() -> None:
    with serve_in_thread() as url:
        client = boto3.client(
            "secretsmanager",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_secret(Name="vendor/search", SecretString="s3cr3t")
        assert client.get_secret_value(SecretId="vendor/search")["SecretString"] == "s3cr3t"
