"""The governance app under uvicorn: the local plane's MCP endpoint, as its own OS process.

Configured by the same environment variables as the governance function (resolved from the template by the
plane) plus ``IDENTITY_MODE=bearer``. Blocking store and invoke calls run in worker threads, never on the
event loop; the thread pool is sized so that 50 calls in flight do not queue behind each other.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import anyio.to_thread
import uvicorn

from mcp_steward.bootstrap import aws_ports, build_endpoint
from mcp_steward.http.app import create_app
from mcp_steward.settings import Settings, SettingsError

WORKER_THREADS = 128


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_steward.local.governance_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"governance: {exc}", file=sys.stderr)
        return 2
    app = create_app(build_endpoint(settings, aws_ports(settings)))

    async def serve() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        config = uvicorn.Config(
            app, host=args.host, port=args.port, lifespan="off", log_level="warning", access_log=False
        )
        await uvicorn.Server(config).serve()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
