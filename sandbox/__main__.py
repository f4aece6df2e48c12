"""``python -m sandbox --host 127.0.0.1 --port 8081 --token 123:ABC...``"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from sandbox.heap import freeze_after_full_collections
from sandbox.server import run_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Local stand-in for Telegram's Bot API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="bot token the chat page talks to")
    args = parser.parse_args(argv)
    freeze_after_full_collections()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_sandbox(args.host, args.port, args.token))


if __name__ == "__main__":
    main()
