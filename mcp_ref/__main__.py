"""Command line: ``python3 -m mcp_ref demo | serve | states``.

* ``demo``   spawns the reference server and narrates the whole lifecycle, step by step, with
             the catalogue ID and spec section of each step.
* ``serve``  runs the reference server on stdin/stdout (put it in a desktop client's config).
* ``states`` prints the lifecycle state machine, generated from its transition table.
"""

import argparse
import logging
import sys
from typing import List, Optional

from . import spec
from .lifecycle import render


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mcp_ref",
                                     description="mcp_ref: the MCP lifecycle over stdio, "
                                                 f"revision {spec.PROTOCOL_VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the reference server and narrate a session")
    demo.add_argument("--fast", action="store_true", help="shorter waits (for tests)")
    commands.add_parser("serve", help="run the reference server on stdin/stdout")
    states = commands.add_parser("states", help="print the lifecycle state machine")
    states.add_argument("--format", choices=("text", "mermaid", "dot"), default="text")
    args = parser.parse_args(argv)

    if args.command == "serve":
        return serve()
    if args.command == "states":
        sys.stdout.write(render(args.format))
        return 0
    from .demo import run_demo
    return run_demo(fast=args.fast)


def serve() -> int:
    """The reference server. Logs go to stderr (TR-04); stdout carries only frames (TR-06)."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="mcp_ref serve: %(levelname)s %(name)s: %(message)s")
    from .reference import build_server
    return build_server().run_stdio()


if __name__ == "__main__":
    sys.exit(main())
