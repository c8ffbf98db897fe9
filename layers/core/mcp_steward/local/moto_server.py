"""A moto server whose requests run one at a time.

moto's threaded server takes no per-item lock: under concurrent writers it loses updates and lets
conditions pass wrongly, whereas DynamoDB is linearizable per item. Holding one lock around each whole
request (response body included) makes every call atomic, which is stronger than DynamoDB and cheap on
loopback.

Run it as its own process::

    python -m mcp_steward.local.moto_server --host 127.0.0.1 --port 0 --ready-file PATH

Once listening it writes ``{"url": ..., "pid": ...}`` to the ready file (atomically) and serves until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["SerializedApp", "main", "make_moto_server", "serve_in_thread", "write_ready_file"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedApp:
    """WSGI middleware running the wrapped app under one lock, body iteration included.

    The body is read into memory inside the lock, so a client that disconnects early cannot leave it held.
    """

    def __init__(self, app: WsgiApp, lock: threading.Lock | None = None) -> None:
        self._app = app
        self._lock = lock or threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mcp_steward.local.moto_server``."""
    parser = argparse.ArgumentParser(prog="python -m mcp_steward.local.moto_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help='written as {"url", "pid"} once listening')
    args = parser.parse_args(argv)

    server = make_moto_server(args.host, args.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    url = _url(server)
    if args.ready_file is not None:
        write_ready_file(args.ready_file, {"url": url, "pid": os.getpid()})
    print(f"moto server (serialized) listening on {url}", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    thread.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
