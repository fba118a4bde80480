"""Command line: ``python3 -m mcp_ref COMMAND``.

* ``demo``     spawns the reference server and narrates the whole lifecycle, step by step,
               with the catalogue ID and spec section of each step.
* ``serve``    runs the reference server on stdin/stdout (put it in a desktop client's config);
               ``--audit FILE`` records the client's protocol violations as JSON;
               ``--watchdog SECONDS`` [``--parent-pid PID``] also exits once the client is
               gone though stdin stays open (D-33); ``--keepalive SECONDS``
               [``--keepalive-timeout SECONDS``] pings the client and exits once a ping goes
               unanswered (PG-05, PG-09, D-48); ``--progress-interval SECONDS``: the least time
               between two progress notifications on one call (PR-12, D-47).
* ``states``   prints the lifecycle state machine, generated from its transition table.
* ``inspect``  ``-- CMD ARGS...``: what any stdio MCP server says about itself and offers.
* ``call``     ``-- CMD ARGS... TOOL 'JSON'``: call one tool, with live progress; Ctrl-C cancels.
* ``check``    ``-- CMD ARGS...``: the black-box lifecycle battery against any stdio server.
* ``diff``     ``A.jsonl B.jsonl``: compare two transcripts written with ``--trace``.
"""

from __future__ import annotations

import sys

from . import spec
from ._logging import WARNING, basic_config
from .lifecycle import render

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    import argparse
    from typing import Any, Dict, List, Optional, TextIO


def main(argv: Optional[List[str]] = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if sys.stderr is None:
        # Started with fd 2 closed (``2>&-``; a daemon's or a cron job's child): Python sets
        # sys.stderr to None, and ``call``'s progress, every error line, and on 3.9 argparse's
        # usage error then raised AttributeError: ``call`` exited 1 with its result unprinted,
        # a usage error 1, not 2. What would be said goes to /dev/null instead; the output
        # and the exit status are the ones a terminal would have got (D-125; serve's own
        # stderr: D-66, which this also serves).
        sys.stderr = _stderr_to_devnull()
    if argv == ["serve"]:
        # What a desktop client runs at every start. Nothing to parse, so no argparse: its
        # import and the parser below cost ~4 ms, a fifth of serve's start-up (D-29).
        return serve_reference()
    args, unrecognized = build_parser().parse_known_args(argv)
    # A usage error is said by the subcommand's own parser: "usage: python3 -m mcp_ref call
    # [-h] ..." and "python3 -m mcp_ref call: error: ...", the usage of the command that was
    # mistyped, not the list of every command (D-130). It exits 2, as argparse's always do.
    parser = args.parser
    if unrecognized:
        parser.error("unrecognized arguments: %s" % " ".join(unrecognized))
    if sys.stdout is None and args.command != "serve":
        # Started with fd 1 closed (``>&-``): said before a server is spawned or a tool called,
        # not an AttributeError once the output is written (serve says so itself, D-107).
        parser.error("stdout is closed: there is nowhere to write the output")
    if args.command != "check" and getattr(args, "timeout", None) is not None:
        # inspect, call (TO-01); check judges its own --timeout, which must be finite.
        from .session import deadline_seconds
        try:
            deadline_seconds("--timeout", args.timeout)
        except ValueError as exc:
            parser.error(str(exc))

    if args.command == "serve":
        from .session import (DEFAULT_KEEPALIVE_TIMEOUT, keepalive_problem,
                              progress_interval_problem)
        from .stdio import watchdog_problem
        problem = watchdog_problem(args.watchdog, args.parent_pid)
        if problem is not None:
            parser.error(f"--watchdog / --parent-pid: {problem}")
        if args.keepalive_timeout is None:
            args.keepalive_timeout = DEFAULT_KEEPALIVE_TIMEOUT
        elif args.keepalive is None:      # as --parent-pid without --watchdog: said, not ignored
            parser.error("--keepalive-timeout needs --keepalive: without it no ping is sent")
        problem = keepalive_problem(args.keepalive, args.keepalive_timeout)    # PG-06, PG-07
        if problem is not None:
            parser.error(f"--keepalive / --keepalive-timeout: {problem}")
        problem = progress_interval_problem(args.progress_interval)           # PR-12
        if problem is not None:
            parser.error(f"--progress-interval: {problem}")
        return serve_reference(args.trace, args.audit, args.watchdog, args.parent_pid,
                               keepalive=args.keepalive,
                               keepalive_timeout=args.keepalive_timeout,
                               progress_interval=args.progress_interval)
    # Everything below writes for a person: on a terminal whose encoding cannot write all of
    # Unicode, a character the server sent is escaped, not a traceback (D-124). Not serve's
    # stdout, which carries frames as UTF-8 bytes whatever the locale (BP-02).
    from ._printable import escape_what_cannot_be_written
    escape_what_cannot_be_written(sys.stdout, sys.stderr)
    if args.command == "check":
        from . import check        # here, not above: the battery takes ~18 ms to import
        try:
            check.command_and_options(args)      # its own usage errors, as the others' (D-130)
        except ValueError as exc:
            parser.error(str(exc))
        return check.run(args)
    if args.command == "states":
        sys.stdout.write(render(args.format))
        return 0
    if args.command == "demo":
        from .demo import run_demo
        return run_demo(fast=args.fast, trace=args.trace)
    from . import cli
    if args.command == "diff":
        return cli.diff_transcripts(args.a, args.b)
    words = args.words[1:] if args.words[:1] == ["--"] else args.words
    basic_config(stream=sys.stderr, level=WARNING,
                 format="mcp_ref: %(levelname)s %(name)s: %(message)s")
    if args.command == "inspect":
        if not words:
            parser.error("inspect needs a server command after --")
        return cli.run_guarded(cli.inspect, words, trace=args.trace, timeout=args.timeout)
    try:
        command, tool, arguments = cli.split_call_arguments(words)
    except ValueError as exc:
        parser.error(str(exc))
    return cli.run_guarded(cli.call, command, tool, arguments, trace=args.trace,
                           timeout=args.timeout)


def build_parser() -> "argparse.ArgumentParser":
    """The parser of every command and its options."""
    import argparse      # here: a bare ``serve`` starts without it (see main)
    from .session import DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_PROGRESS_INTERVAL
    parser = argparse.ArgumentParser(prog="python3 -m mcp_ref",
                                     description="mcp_ref: the MCP lifecycle over stdio, "
                                                 f"revision {spec.PROTOCOL_VERSION}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the reference server and narrate a session")
    demo.add_argument("--fast", action="store_true", help="shorter waits (for tests)")
    demo.add_argument("--trace", metavar="FILE", type=writable_file,
                      help="write every frame to FILE (JSONL)")
    serve = commands.add_parser("serve", help="run the reference server on stdin/stdout")
    serve.add_argument("--trace", metavar="FILE", type=writable_file,
                       help="write every frame to FILE (JSONL)")
    serve.add_argument("--audit", metavar="FILE", type=writable_file,
                       help="record the client's protocol violations as JSON in FILE")
    serve.add_argument("--watchdog", type=float, metavar="SECONDS",
                       help="every SECONDS, check that the client (our parent process) is still "
                            "there, and exit as at end of stdin once it is gone (default: off)")
    serve.add_argument("--parent-pid", type=int, metavar="PID",
                       help="with --watchdog: watch process PID instead of our parent")
    # PG-05..PG-07: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping#implementation-considerations
    serve.add_argument("--keepalive", type=float, metavar="SECONDS",
                       help="once the session is operating, ping the client every SECONDS, and "
                            "exit as at end of stdin if a ping goes unanswered (default: off)")
    serve.add_argument("--keepalive-timeout", type=float, metavar="SECONDS",
                       help="with --keepalive: how long each ping waits for its answer "
                            f"(default: {DEFAULT_KEEPALIVE_TIMEOUT:g})")
    serve.add_argument("--progress-interval", type=float, metavar="SECONDS",
                       default=DEFAULT_PROGRESS_INTERVAL,
                       help="the least time between two progress notifications on one call; "
                            "the first and the one reaching total are always sent; 0 sends "
                            f"all (PR-12; default: {DEFAULT_PROGRESS_INTERVAL:g})")
    add_check_arguments(commands.add_parser(
        "check", help="run black-box lifecycle checks against a stdio MCP server"))
    states = commands.add_parser("states", help="print the lifecycle state machine")
    states.add_argument("--format", choices=("text", "mermaid", "dot"), default="text")
    for name, text in (("inspect", "show what a server offers: -- CMD ARGS..."),
                       ("call", "call one tool: -- CMD ARGS... TOOL 'JSON'")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--trace", metavar="FILE", type=writable_file,
                             help="write every frame to FILE (JSONL)")
        # client.DEFAULT_REQUEST_TIMEOUT, written out: importing the client here would slow
        # every ``serve`` with an option (tests/test_cli.py checks that the two agree).
        command.add_argument("--timeout", type=float, default=60.0, metavar="S",
                             help="seconds to wait for each response, initialize's included "
                                  "(default 60)")
        command.add_argument("words", nargs=argparse.REMAINDER,
                             help="-- then the server command (and, for call, TOOL 'JSON')")
    compare = commands.add_parser("diff", help="compare two --trace transcripts")
    compare.add_argument("a")
    compare.add_argument("b")
    for command in commands.choices.values():    # main's usage errors: each command's own
        command.set_defaults(parser=command)
    return parser


def writable_file(text: str) -> str:
    """``--trace FILE``, ``--audit FILE``: a file that can be created or overwritten, checked
    while the options are read, so that a transcript or an audit into a missing folder is a
    usage error (exit 2) before anything starts, not a traceback once the session has, nor an
    audit lost when it ends. Nothing is created here."""
    import argparse
    import os
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    folder = os.path.dirname(text) or os.curdir
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: no directory {folder!r}")
    if not os.access(text if os.path.exists(text) else folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: permission denied")
    return text


def json_object(text: str) -> Dict[str, Any]:
    """An option's JSON object, one a frame can carry: ``[1]``, ``NaN`` or ``1e309`` is a
    usage error (exit 2), not a traceback once the battery has started."""
    import argparse
    from .framing import FrameError, decode
    try:
        value = decode(text.encode("utf-8", "surrogateescape"))
    except FrameError as exc:
        raise argparse.ArgumentTypeError(f"not a JSON object a frame can carry: {exc}")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, not {text!r}")
    return value


def add_check_arguments(parser: "argparse.ArgumentParser") -> None:
    """The options of ``check``, for a parser of its own or a subcommand's.

    They live here, not in :mod:`mcp_ref.check`, so that building the command line does not
    import the battery."""
    import argparse      # for REMAINDER; see build_parser
    parser.add_argument("--json", action="store_true",
                        help="print the results as a JSON list instead of a table")
    parser.add_argument("--tool-echo", default="echo", metavar="NAME",
                        help="tool that returns its `text` argument (default: echo)")
    parser.add_argument("--echo-arg", default="text", metavar="KEY",
                        help="the echo tool's argument carrying the text (default: text)")
    parser.add_argument("--tool-slow", default="slow", metavar="NAME",
                        help="tool that runs a while and reports progress (default: slow)")
    parser.add_argument("--slow-args", default='{"seconds": 1, "steps": 4}', metavar="JSON",
                        type=json_object, help="arguments of the slow tool (a JSON object)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="seconds to wait for any one response (default: 5)")
    parser.add_argument("--trace", metavar="FILE", type=writable_file,
                        help="write a JSONL transcript per server process (FILE.<check>.jsonl)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each check's evidence under it")
    parser.add_argument("server", nargs=argparse.REMAINDER,
                        help="-- then the server's command and arguments")


def serve_reference(trace: Optional[str] = None, audit: Optional[str] = None,
                    watchdog: Optional[float] = None, parent_pid: Optional[int] = None, *,
                    keepalive: Optional[float] = None,
                    keepalive_timeout: Optional[float] = None,
                    progress_interval: Optional[float] = None) -> int:
    """The reference server. Logs go to stderr (TR-04); stdout carries only frames (TR-06).
    ``keepalive``, ``keepalive_timeout``: the Server's keepalive_interval and _timeout (D-48);
    ``progress_interval``: None keeps the server's default (PR-12, D-47)."""
    # Applied once something is logged: a session that logs nothing never imports logging,
    # ~5 ms of serve's start-up on a stock interpreter (D-73).
    basic_config(stream=sys.stderr, level=WARNING,
                 format="mcp_ref serve: %(levelname)s %(name)s: %(message)s")
    from .errors import ConnectionClosed
    from .reference import build_server
    options: Dict[str, Any] = {"keepalive_interval": keepalive}
    if keepalive_timeout is not None:
        options["keepalive_timeout"] = keepalive_timeout
    if progress_interval is not None:
        options["progress_interval"] = progress_interval
    server = build_server(**options)
    try:
        if audit:
            from .audit import run_audited
            return run_audited(server, audit, trace, watchdog=watchdog, parent_pid=parent_pid)
        return server.run_stdio(trace=trace, watchdog=watchdog, parent_pid=parent_pid)
    except ConnectionClosed as exc:           # started without a stdin or stdout: say so
        if sys.stderr is not None:            # None: without a stderr too (R6)
            sys.stderr.write(f"mcp_ref serve: {exc}\n")
        return 1


def command_line() -> int:
    """:func:`main` as the process runs it. Its output is flushed inside, so that a reader
    that went away (``python3 -m mcp_ref inspect -- CMD | head -3``) ends the command quietly
    with 128 + SIGPIPE, the status a shell shows for a Unix tool ended that way, instead of
    a traceback. A server the command spawned was shut down on the way out (the client's
    ``with`` block); stdout then points at /dev/null, so the interpreter's last flush of
    what is left has nowhere to fail. Any other OSError that reaches here (stdout on a full
    disk, ENOSPC; a device error, EIO) is one line on stderr and exit status 1, as a Unix
    tool reports a write error, not a traceback; the server was shut down the same way
    (D-107)."""
    try:
        status = main()
        if sys.stdout is not None:              # None: started with fd 1 closed
            sys.stdout.flush()
        return status
    except BrokenPipeError:
        import signal
        _stdout_to_devnull()
        return 128 + signal.SIGPIPE
    except OSError as exc:
        try:
            if sys.stderr is not None:
                sys.stderr.write(f"mcp_ref: {type(exc).__name__}: {exc}\n")
        except OSError:                         # stderr is full or gone too: the status says it
            pass
        if sys.stdout is not None:
            # What is left in stdout's buffer cannot be written either (D-107).
            _stdout_to_devnull()
        return 1


def _stdout_to_devnull() -> None:
    """Point fd 1 at /dev/null, so that the interpreter's last flush of what is left in
    stdout's buffer, which could not be written, cannot fail again as it exits."""
    _devnull_at(1)


def _stderr_to_devnull() -> TextIO:
    """A sys.stderr for a process started with fd 2 closed: fd 2 on /dev/null, so that the
    next file opened cannot take it (as serve's D-66), and a text stream writing to it."""
    import io
    _devnull_at(2)
    return io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                            errors="backslashreplace", line_buffering=True)


def _devnull_at(fd: int) -> None:
    """Point ``fd`` at /dev/null. Opening it may give that very number, if it was closed."""
    import os
    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != fd:
        os.dup2(devnull, fd)
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(command_line())
