"""A moto server whose requests run one at a time.

moto's threaded server takes no per-item lock: under concurrent writers it loses updates and lets
conditions pass wrongly, whereas DynamoDB is linearizable per item. Holding one lock around each whole
request (response body included) makes every call atomic, which is stronger than DynamoDB and cheap on
loopback.

Run it as its own process::

    python -m mcp_steward.local.moto_server --host 127.0.0.1 --port 0 --ready-file PATH

Once listening it writes ``{"url": ..., "pid": ...}`` to the ready file (atomically) and serves until
SIGTERM or SIGINT.

With ``--snapshot PATH`` it keeps the store on disk (:mod:`mcp_steward.local.store`): ``POST /_steward/snapshot``
writes a snapshot now and from then on one every ``--snapshot-interval`` seconds when a request other than a
read has been served since the last one, and a last one on SIGTERM or SIGINT. Nothing is written before that
first POST, so a plane still restoring its store cannot overwrite the snapshot it restores from. Each snapshot
is taken while the request lock is held, so it is one point in time across every table and secret.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["SerializedApp", "Snapshotter", "main", "make_moto_server", "serve_in_thread", "write_ready_file"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SNAPSHOT_PATH = "/_steward/snapshot"
DEFAULT_SNAPSHOT_INTERVAL_S = 2.0
#: A snapshot holds the request lock (10,000 ledger items: about 0.8 s, 2 MB), so the next one waits at least this
#: many times as long as the last one took: snapshots never hold the store for more than ~10% of the time.
SNAPSHOT_BACKOFF = 10.0
#: Operations that change nothing; every other request counts as a change (unknown ones included).
_READS = frozenset(
    {
        "DynamoDB_20120810.GetItem",
        "DynamoDB_20120810.BatchGetItem",
        "DynamoDB_20120810.Query",
        "DynamoDB_20120810.Scan",
        "DynamoDB_20120810.TransactGetItems",
        "DynamoDB_20120810.DescribeTable",
        "DynamoDB_20120810.DescribeTimeToLive",
        "DynamoDB_20120810.ListTables",
        "DynamoDB_20120810.DescribeEndpoints",
        "secretsmanager.GetSecretValue",
        "secretsmanager.BatchGetSecretValue",
        "secretsmanager.DescribeSecret",
        "secretsmanager.ListSecrets",
        "secretsmanager.ListSecretVersionIds",
        "secretsmanager.GetResourcePolicy",
    }
)


class SerializedApp:
    """WSGI middleware running the wrapped app under one lock, body iteration included.

    The body is read into memory inside the lock, so a client that disconnects early cannot leave it held.
    """

    def __init__(self, app: WsgiApp, lock: threading.Lock | None = None) -> None:
        self._app = app
        self._lock = lock or threading.Lock()
        #: Requests other than reads served so far (a snapshot is due when it moved).
        self.changes = 0
        self.snapshotter: Snapshotter | None = None

    @property
    def app(self) -> WsgiApp:
        return self._app

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == SNAPSHOT_PATH and self.snapshotter is not None:
            return self.snapshotter.serve(environ, start_response)
        with self._lock:
            if environ.get("HTTP_X_AMZ_TARGET") not in _READS:
                self.changes += 1
            result = self._app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


class _Raw(io.BytesIO):
    """What botocore's ``AWSResponse`` reads a body from."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.getvalue()


def in_process_client(app: WsgiApp, service: str, endpoint_url: str) -> Any:
    """A boto3 client whose requests call ``app`` directly (no socket, no lock): for a caller that already
    holds the serialized app's lock."""
    import boto3
    from botocore.awsrequest import AWSResponse, HTTPHeaders
    from botocore.config import Config
    from werkzeug.test import Client

    session: Any = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )
    client = session.client(service, endpoint_url=endpoint_url, config=Config(retries={"max_attempts": 1}))
    wsgi = Client(app)

    def send(request: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        body = request.body or b""
        response = wsgi.open(
            parts.path or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=request.method,
            headers=headers,
            data=body.encode() if isinstance(body, str) else body,
        )
        answer_headers = HTTPHeaders.from_dict(dict(response.headers))
        return AWSResponse(request.url, response.status_code, answer_headers, _Raw(response.get_data()))

    client.meta.events.register("before-send", send)
    return client


def _wire(value: Any) -> dict[str, Any]:
    """A moto ``DynamoType`` as DynamoDB's wire JSON (binary as base64 text, as the snapshot keeps it)."""
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {k: _wire(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_wire(v) for v in inner]}
    if kind == "B":
        return {"B": inner if isinstance(inner, str) else base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [b if isinstance(b, str) else base64.b64encode(b).decode("ascii") for b in inner]}
    if kind in ("S", "N", "BOOL", "NULL", "SS", "NS"):
        return {kind: inner}
    raise TypeError(f"unknown attribute type {kind!r}")


def read_table_items(table_name: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    """Every item of a table straight from moto's backend, as the snapshot encodes them (``store.encode_item``).

    Reading through the API costs about 1 ms per item in moto's response serializer, held under the request
    lock; this is a hundred times cheaper. It relies on moto's internal model (5.x), so anything unexpected
    raises and the caller reads through the API instead (the integration test holds both to the same answer).
    """
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables[table_name]
    return [{name: _wire(value) for name, value in item.attrs.items()} for item in table.all_items()]


class Snapshotter:
    """Writes the serialized app's store to ``path``: on request, then periodically when it changed."""

    def __init__(self, app: SerializedApp, path: Path, interval_s: float, endpoint_url: str) -> None:
        self._app = app
        self._path = path
        self._interval_s = interval_s
        self._dynamodb = in_process_client(app.app, "dynamodb", endpoint_url)
        self._secretsmanager = in_process_client(app.app, "secretsmanager", endpoint_url)
        self._enabled = threading.Event()
        self._stopped = threading.Event()
        self._saved_at_change = -1
        self._last_duration_s = 0.0
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="moto-snapshots", daemon=True)
        app.snapshotter = self

    def _read_items(self, table_name: str) -> list[dict[str, Any]] | None:
        try:
            return read_table_items(table_name)
        except Exception:  # moto's internals changed: the API is slower, and right
            return None

    @property
    def path(self) -> Path:
        return self._path

    def save(self, *, force: bool = False) -> bool:
        """Write a snapshot now (only when something changed since the last one unless ``force``); True if
        written. Raises whatever reading or writing raised (the previous snapshot stays)."""
        from mcp_steward.local import store

        with self._write_lock, self._app.lock:
            changes = self._app.changes
            if not force and changes == self._saved_at_change:
                return False
            started = time.monotonic()
            document = store.take(self._dynamodb, self._secretsmanager, read_items=self._read_items)
            store.write_json_atomically(self._path, document)
            self._saved_at_change = changes
            self._last_duration_s = time.monotonic() - started
            return True

    def enable(self) -> None:
        if not self._enabled.is_set():
            self._enabled.set()
            self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(max(self._interval_s, SNAPSHOT_BACKOFF * self._last_duration_s)):
            try:
                self.save()
            except Exception as exc:  # report, keep the previous snapshot, retry next tick
                print(f"moto server: snapshot to {self._path} failed: {type(exc).__name__}: {exc}", flush=True)

    def close(self) -> None:
        """Stop the periodic snapshots; write a last one when snapshots were enabled."""
        self._stopped.set()
        if self._enabled.is_set():
            self._thread.join()
            self.save()

    def serve(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """``POST /_steward/snapshot``: write one now and enable the periodic ones; 200 once it is on disk."""
        if environ.get("REQUEST_METHOD") != "POST":
            start_response("405 Method Not Allowed", [("Content-Type", "application/json"), ("Allow", "POST")])
            return [b'{"error": "POST only"}']
        try:
            self.save(force=True)
        except Exception as exc:  # the caller learns why; the previous snapshot stays
            body = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [body]
        self.enable()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"path": str(self._path)}).encode()]


def make_moto_server(host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """Build (bind, not start) a threaded werkzeug server for moto's serialized WSGI app."""
    # Imported here: moto is heavy and only the server process needs it.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    class QuietRequestHandler(MotoRequestHandler):
        """One log line per request is noise for the local plane; errors are still logged."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return

    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)


def _url(server: BaseWSGIServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


@contextmanager
def serve_in_thread(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve a serialized moto server from a thread of this process (for tests); yields its URL."""
    server = make_moto_server(host, port)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    try:
        yield _url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_ready_file(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to ``path`` atomically: readers see nothing or the whole document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    temporary.replace(path)


def stop_with_parent(parent_pid: int) -> None:
    """Have the kernel send this process SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``), so a plane
    killed with SIGKILL leaves no moto server holding its store's lock: it writes its last snapshot and exits.
    Elsewhere (or when the parent is already gone) nothing is set up and the server runs until stopped."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mcp_steward.local.moto_server``."""
    parser = argparse.ArgumentParser(prog="python -m mcp_steward.local.moto_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help='written as {"url", "pid"} once listening')
    parser.add_argument("--snapshot", type=Path, help=f"keep the store in this file (enabled by POST {SNAPSHOT_PATH})")
    parser.add_argument("--snapshot-interval", type=float, default=DEFAULT_SNAPSHOT_INTERVAL_S, metavar="SECONDS")
    parser.add_argument(
        "--parent-pid",
        type=int,
        help="the plane that started this server: it stops the server with SIGTERM once the processes writing to "
        "it have stopped (SIGINT from the terminal is ignored), and its death (even by SIGKILL) is a SIGTERM",
    )
    args = parser.parse_args(argv)

    server = make_moto_server(args.host, args.port)
    snapshotter = None
    if args.snapshot is not None:
        assert isinstance(server.app, SerializedApp)
        snapshotter = Snapshotter(server.app, args.snapshot, max(0.1, args.snapshot_interval), _url(server))
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN if args.parent_pid else on_signal)
    if args.parent_pid:
        stop_with_parent(args.parent_pid)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    url = _url(server)
    if args.ready_file is not None:
        write_ready_file(args.ready_file, {"url": url, "pid": os.getpid()})
    print(f"moto server (serialized) listening on {url}", flush=True)
    stop.wait()
    status = 0
    server.shutdown()  # no new request: the last snapshot holds everything served
    try:
        if snapshotter is not None:
            snapshotter.close()
    except Exception as exc:  # the previous snapshot stays; say so, fail the exit
        print(f"moto server: last snapshot to {args.snapshot} failed: {type(exc).__name__}: {exc}", flush=True)
        status = 1
    finally:
        server.server_close()
        thread.join()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
