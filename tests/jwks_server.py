"""An OIDC issuer's JWKS endpoint on loopback: ``GET /.well-known/jwks.json`` in a thread of the test process."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JWKS_PATH = "/.well-known/jwks.json"


class JwksServer:
    def __init__(self, jwks: dict[str, Any], port: int) -> None:
        self.jwks = jwks
        self.base_url = f"http://127.0.0.1:{port}"
        self.jwks_url = self.base_url + JWKS_PATH
        self.fetches = 0


@contextmanager
def serve_jwks(jwks: dict[str, Any]) -> Iterator[JwksServer]:
    """Serves ``jwks`` until the block ends; the yielded server counts the fetches."""
    state: list[JwksServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != JWKS_PATH:
                self.send_error(404)
                return
            state[0].fetches += 1
            body = json.dumps(state[0].jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(JwksServer(jwks, httpd.server_address[1]))
    thread = threading.Thread(target=httpd.serve_forever, name="jwks", daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
