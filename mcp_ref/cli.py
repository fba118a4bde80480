"""The inspector commands: ``inspect``, ``call`` and ``diff``, a zero-dependency MCP inspector.

* ``python3 -m mcp_ref inspect [--trace FILE] [--timeout S] -- CMD ARGS...`` spawns any stdio
  MCP server and prints what the handshake settled (server info, negotiated version,
  capabilities, instructions) and what it offers (tools, resources, resource templates,
  prompts); a listing that fails is said on stderr and the others are still printed (D-111).
* ``--timeout S`` bounds the wait for every response, initialize's included (TO-01, D-107):
  ``--timeout 2`` against a server that never answers gives up after 2 s, not after the
  client's 30 s handshake default. Once a listing of ``inspect`` timed out, the later ones
  are said skipped, not sent: a server that answers the handshake and then nothing costs
  about 2 s in all, not 2 s per listing (D-122).
* ``python3 -m mcp_ref call [--trace FILE] [--timeout S] -- CMD ARGS... TOOL 'JSON'`` calls one
  tool and prints its result; progress shows as a live bar on a terminal, as plain lines
  otherwise; Ctrl-C sends ``notifications/cancelled`` (CN-01) and exits 130 (SIGTERM: 143).
* However ``inspect`` or ``call`` ends -- an error, Ctrl-C, SIGTERM, SIGHUP -- the server is
  shut down with the ladder (TR-13) before the command exits (:func:`run_guarded`, D-39).
* ``python3 -m mcp_ref diff A.jsonl B.jsonl`` compares two transcripts after normalising ids,
  progress tokens, timings and implementation info (:mod:`mcp_ref.transcript`).
"""

from __future__ import annotations

import signal
import sys
import threading

from . import spec
from ._printable import json_text, printable, printable_json
from .client import DEFAULT_REQUEST_TIMEOUT, Client
from .errors import ConnectionClosed, McpRefError, PeerError, RequestCancelled, RequestTimeout
from .framing import FrameError, decode
from .transcript import diff, load

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _say(text: str) -> None:
    """One line on stderr, as a command ends because of a signal or an error. A second signal
    arriving meanwhile (Ctrl-C pressed twice) is dropped: the command is ending anyway, and
    letting it go up would only add a traceback (shell review F1)."""
    try:
        sys.stderr.write(text + "\n")
    except (KeyboardInterrupt, Terminated):
        pass


def _say_in_place(text: str) -> None:
    """:func:`_say`, after what stdout holds so far is written: on a terminal, where both go,
    the line comes where the listing it stands for would have been (D-111)."""
    sys.stdout.flush()
    _say(text)


def _show(title: str, items: List[Dict[str, Any]], key: str) -> None:
    _out(f"{title} ({len(items)}):")
    for item in items:
        description = item.get("description") or ""
        _out(f"  {printable(item.get(key))}"
             + (f"  -- {printable(description, indent='    ')}" if description else ""))


def _spawn(argv: Sequence[str], trace: Optional[str], timeout: float) -> Client:
    """The server of ``inspect`` or ``call``, initialized. ``timeout`` is the command's one
    ``--timeout``: every request's (TO-01), initialize's too, so that the command gives up on
    a server that never answers when the user said it should (D-107)."""
    return Client.spawn(argv, trace=trace, request_timeout=timeout, handshake_timeout=timeout)


#: What ``inspect`` lists, in this order: (the server capability that offers it, its title,
#: its method, the function that lists every page, the member that names each item). Only
#: what the server declared is asked for (LC-16). Undeclared, it would be -32601: 2025-11-25
#: says so on its roots and completion pages, 2026-07-28's schema for every capability
#: (ER-11).
_LISTINGS = (("tools", "tools", spec.TOOLS_LIST, Client.list_tools, "name"),
             ("resources", "resources", spec.RESOURCES_LIST, Client.list_resources, "uri"),
             ("resources", "resource templates", spec.RESOURCES_TEMPLATES_LIST,
              Client.list_resource_templates, "uriTemplate"),
             ("prompts", "prompts", spec.PROMPTS_LIST, Client.list_prompts, "name"))


def inspect(argv: Sequence[str], *, trace: Optional[str] = None,
            timeout: float = DEFAULT_REQUEST_TIMEOUT) -> int:
    """Print what a server says about itself and everything it offers. A listing that fails
    (a JSON-RPC error, a broken page, a timeout) is said in one line on stderr, where its
    listing would have been, and the others are still asked for and printed; the exit status
    is then 1 (D-111). Once a listing timed out, the later ones are not sent, each said
    skipped on a line of its own: a server that stopped answering costs one ``timeout``, not
    one per listing (D-122). A server gone ends the command: nothing more could be listed."""
    failed = False
    silent: Optional[RequestTimeout] = None         # the listing that timed out, if one did
    with _spawn(argv, trace, timeout) as client:
        _out(f"server: {json_text(client.server_info)}")
        _out(f"protocol version: {client.protocol_version}")
        _out(f"capabilities: {json_text(client.server_capabilities)}")
        if client.instructions:
            _out(f"instructions: {printable(client.instructions, indent='  ')}")
        capabilities = client.server_capabilities
        for capability, title, method, listing, key in _LISTINGS:
            if capability not in capabilities:
                continue
            if silent is not None:
                # --timeout is the command's one wait (D-107): a server that let one listing
                # time out is not waited for again, listing after listing (D-122).
                _say_in_place(f"mcp_ref: skipped: {method} was not sent, since {silent}")
                continue
            try:
                items = listing(client)
            except ConnectionClosed:
                raise                   # the server is gone: said once, by run_guarded
            except McpRefError as exc:
                failed = True
                if isinstance(exc, RequestTimeout):
                    silent = exc
                _say_in_place(_error_line(exc))
                continue
            _show(title, items, key)
    return 1 if failed else 0


class _Progress:
    """A live bar on a terminal (rewritten in place on stderr), plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, progress: float, total: Optional[float], message: Optional[str]) -> None:
        if total:
            filled = int(30 * min(progress / total, 1.0))
            text = f"[{'#' * filled}{'.' * (30 - filled)}] {progress:g}/{total:g}"
        else:
            text = f"progress {progress:g}"
        if message:
            text += f" {printable(message)}"
        if self.tty:
            sys.stderr.write("\r" + text[:120].ljust(60))
            self.shown = True
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def end(self) -> None:
        """End the bar's line, once, so that what is written next starts a line of its own."""
        if self.shown:
            self.shown = False
            sys.stderr.write("\n")


def call(argv: Sequence[str], tool: str, arguments: Dict[str, Any], *,
         trace: Optional[str] = None, timeout: float = DEFAULT_REQUEST_TIMEOUT) -> int:
    """Call one tool; exit 0 on a result, 1 on an isError result or an error, 130 on Ctrl-C
    and 143 on SIGTERM (the call is cancelled first, CN-01)."""
    bar = _Progress()
    with _spawn(argv, trace, timeout) as client:
        handle = None
        try:
            # Inside the try: a signal that comes as soon as the call is written (the server
            # may already be at work) still cancels it.
            handle = client.call_tool_async(tool, arguments, on_progress=bar)
            result = handle.result()
        except (KeyboardInterrupt, Terminated) as exc:
            # The reason is free text (CN-01's optional ``reason``, logged by the server,
            # CN-09): a SIGTERM or SIGHUP comes from a supervisor or a closed terminal as
            # often as from the user, so it says what happened, not who did it (D-110).
            reason = ("interrupted by the user (Ctrl-C)" if isinstance(exc, KeyboardInterrupt)
                      else f"the client was {exc}")     # "... terminated by SIGTERM"
            bar.end()
            # No handle: the signal came while call_tool_async was still returning, maybe
            # just after it wrote the call (the handler runs as the write returns), so what
            # is in flight is cancelled, not only what has a handle (CN-01).
            if handle.cancel(reason) if handle is not None else client.cancel_all(reason):
                _say("mcp_ref: cancelled: notifications/cancelled sent")
            elif handle is None:
                _say("mcp_ref: interrupted before the call was sent")
            else:
                # Its outcome arrived just before the signal: nothing left to cancel, so
                # nothing was sent (shell review F9).
                _say("mcp_ref: interrupted: the call had already ended, so nothing was "
                     "cancelled")
            return _status(exc)
        except RequestCancelled:
            bar.end()
            return 130
        except BaseException:
            # Any other ending (a JSON-RPC error, a timeout, the server gone) goes on up to be
            # said in one line as every error of the command line is (run_guarded, D-110): on
            # a line of its own, not after the bar (D-107).
            bar.end()
            raise
        bar.end()
    _out(json_text(result, indent=2))
    return 1 if result.get("isError") else 0


def diff_transcripts(path_a: str, path_b: str) -> int:
    """Print the normalised difference of two transcripts; exit 1 if they differ."""
    records = []
    for path in (path_a, path_b):
        try:
            records.append(load(path))
        except (OSError, ValueError) as exc:     # missing, unreadable, or not JSONL
            sys.stderr.write(f"diff: cannot read the transcript {path}: {exc}\n")
            return 2                             # as diff(1): 0 same, 1 different, 2 trouble
    try:
        text = diff(records[0], records[1], names=(path_a, path_b))
    except RecursionError:
        # A record json could just read, but not write back from the deeper stack of diff:
        # no transcript mcp_ref writes nests so deep (its frames stop at MAX_NESTING, D-51).
        sys.stderr.write("diff: a transcript nests arrays and objects too deep to compare\n")
        return 2
    sys.stdout.write(printable_json(text) or "equivalent\n")
    return 1 if text else 0


def split_call_arguments(words: Sequence[str]) -> Any:
    """``CMD ARGS... TOOL JSON`` -> (command, tool, arguments); raises ValueError if malformed."""
    if len(words) < 3:
        raise ValueError("call needs: -- CMD [ARGS...] TOOL 'JSON-ARGUMENTS'")
    *command, tool, raw = words
    try:                         # the frame reader: NaN and 1e309 cannot be sent either
        arguments = decode(raw.encode("utf-8", "surrogateescape"))
    except FrameError as exc:
        raise ValueError(f"the tool arguments (the last word, {raw!r}) must be a JSON object: "
                         f"{exc}") from None
    if not isinstance(arguments, dict):
        raise ValueError(f"the tool arguments (the last word) must be a JSON object, not {raw!r}")
    return command, tool, arguments


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived while a command ran. Raised in the main thread by the
    handler :func:`run_guarded` installs, so that the command leaves through its ``with``
    block, and ``Client.close()`` shuts the server down with the ladder (TR-13). A
    BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"terminated by {self.name}")


#: The signals that end a command politely. SIGHUP too: the terminal went away, and the
#: server, in its own process group, would otherwise outlive us.
_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _status(exc: BaseException) -> int:
    """The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else signal.SIGINT)


def _error_line(exc: McpRefError) -> str:
    """How the command line says one of mcp_ref's errors: ``mcp_ref: TYPE: message`` (D-110).
    Its text may quote the server (the last lines of its stderr, say): kept as lines. A
    JSON-RPC error's message is one line: a newline in it is escaped (D-107, D-110)."""
    lines = None if isinstance(exc, PeerError) else ""
    return f"mcp_ref: {type(exc).__name__}: {printable(exc, indent=lines)}"


def run_guarded(fn: Any, *args: Any, **kwargs: Any) -> int:
    """Run a command the way a command line should end: mcp_ref's typed errors become one
    line and exit status 1; Ctrl-C, SIGTERM and SIGHUP become one line and 128 + the
    signal, after the server was shut down (D-39)."""
    previous: Dict[signal.Signals, Any] = {}
    try:
        # Inside the try: a signal that arrives as soon as our first handler is in is handled
        # like one during the command. Each previous handler is kept *before* ours goes in,
        # so the finally restores every one that was replaced (shell review F1).
        if threading.current_thread() is threading.main_thread():
            for signum in _ENDING_SIGNALS:
                handler = signal.getsignal(signum)
                if handler is None:
                    continue        # installed outside Python: it could not be put back
                previous[signum] = handler
                signal.signal(signum, _raise_terminated)
        return fn(*args, **kwargs)
    except McpRefError as exc:
        _say(_error_line(exc))
        return 1
    except (KeyboardInterrupt, Terminated) as exc:
        _say(f"mcp_ref: {'interrupted' if isinstance(exc, KeyboardInterrupt) else exc}")
        return _status(exc)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
