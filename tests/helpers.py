"""Test helpers: two sans-I/O connections wired back to back, with no I/O at all.

:class:`ConnectionPair` is the h11 test idiom (``h11/tests/helpers.py``): a client
:class:`~mcp_ref.connection.Connection` and a server one, and a :meth:`~ConnectionPair.pump`
that moves bytes both ways until neither side has anything left to say. Every frame that crosses
is recorded, decoded, per direction, and after each full exchange the two lifecycle states are
compared: both peers run the same state machine over the same bytes, so they must agree
(lifecycle.py, rule 2).

Bytes from the ``send_*`` methods of a connection are handed to the pair with
:meth:`~ConnectionPair.to_server` / :meth:`~ConnectionPair.to_client`; raw bytes from a
misbehaving peer go the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from mcp_ref import events as ev
from mcp_ref.connection import Connection
from mcp_ref.lifecycle import Role, State

#: What the server declares unless a test says otherwise: tools (with list_changed), logging.
SERVER_CAPABILITIES = {"tools": {"listChanged": True}, "logging": {}}
#: What the client declares unless a test says otherwise: roots (with list_changed).
CLIENT_CAPABILITIES = {"roots": {"listChanged": True}}


def frames_of(data: bytes) -> List[Any]:
    """The decoded frames in ``data``: one per ``\\n``-terminated line; raw bytes if undecodable."""
    out: List[Any] = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            out.append(line)
    return out


def line(obj: Any) -> bytes:
    """One raw frame, as a peer might write it (not through mcp_ref's encoder)."""
    return json.dumps(obj).encode("utf-8") + b"\n"


@dataclass
class Exchange:
    """What happened during one :meth:`ConnectionPair.pump`."""

    client_events: List[ev.Event] = field(default_factory=list)
    server_events: List[ev.Event] = field(default_factory=list)
    to_server: List[Any] = field(default_factory=list)   # frames client -> server
    to_client: List[Any] = field(default_factory=list)   # frames server -> client

    def events(self, role: Role) -> List[ev.Event]:
        return self.client_events if role is Role.CLIENT else self.server_events

    def of_type(self, role: Role, kind: type) -> List[Any]:
        return [e for e in self.events(role) if isinstance(e, kind)]


class ConnectionPair:
    """A client and a server connection, back to back.

    ``c2s`` / ``s2c`` hold every frame that crossed in each direction (decoded JSON; raw bytes
    for a line that is not JSON), ``client_events`` / ``server_events`` every event.
    """

    def __init__(self, *, client: Optional[Connection] = None,
                 server: Optional[Connection] = None,
                 client_kwargs: Optional[Dict[str, Any]] = None,
                 server_kwargs: Optional[Dict[str, Any]] = None) -> None:
        ckw = {"capabilities": CLIENT_CAPABILITIES, "info": {"name": "test-client",
                                                           "version": "1.0"}}
        ckw.update(client_kwargs or {})
        skw = {"capabilities": SERVER_CAPABILITIES, "info": {"name": "test-server",
                                                           "version": "1.0"}}
        skw.update(server_kwargs or {})
        self.client = client or Connection(Role.CLIENT, **ckw)
        self.server = server or Connection(Role.SERVER, **skw)
        self.c2s: List[Any] = []
        self.s2c: List[Any] = []
        self.client_events: List[ev.Event] = []
        self.server_events: List[ev.Event] = []
        self._to_server = bytearray()
        self._to_client = bytearray()

    # --- Putting bytes on the (imaginary) wire -----------------------------------------------

    def conn(self, role: Role) -> Connection:
        return self.client if role is Role.CLIENT else self.server

    def to_server(self, data: bytes) -> None:
        """Queue bytes written by the client (or by a raw peer in the client's place)."""
        self._to_server += data

    def to_client(self, data: bytes) -> None:
        """Queue bytes written by the server (or by a raw peer in the server's place)."""
        self._to_client += data

    def send(self, sender: Role, data: bytes) -> None:
        (self.to_server if sender is Role.CLIENT else self.to_client)(data)

    def request(self, sender: Role, method: str, params: Optional[Dict[str, Any]] = None,
                **kwargs: Any) -> Any:
        """``send_request`` on ``sender``'s connection; the bytes are queued. Returns the id."""
        request_id, data = self.conn(sender).send_request(method, params, **kwargs)
        self.send(sender, data)
        return request_id

    # --- Moving bytes ------------------------------------------------------------------------

    def pump(self, *, check_states: bool = True) -> Exchange:
        """Deliver bytes both ways until both sides are quiet; return what happened."""
        ex = Exchange()
        self._to_server += self.client.data_to_send()
        self._to_client += self.server.data_to_send()
        while self._to_server or self._to_client:
            if self._to_server:
                data = bytes(self._to_server)
                self._to_server.clear()
                frames = frames_of(data)
                self.c2s += frames
                ex.to_server += frames
                events = self.server.receive_data(data)
                self.server_events += events
                ex.server_events += events
                self._to_client += self.server.data_to_send()
                self._to_server += self.client.data_to_send()
            if self._to_client:
                data = bytes(self._to_client)
                self._to_client.clear()
                frames = frames_of(data)
                self.s2c += frames
                ex.to_client += frames
                events = self.client.receive_data(data)
                self.client_events += events
                ex.client_events += events
                self._to_server += self.client.data_to_send()
                self._to_client += self.server.data_to_send()
        if check_states:
            self.assert_same_state()
        return ex

    def assert_same_state(self) -> None:
        assert self.client.state == self.server.state, (
            f"client is {self.client.state}, server is {self.server.state}")

    def close_client(self) -> Exchange:
        """The client closes the server's stdin (TR-13 step 1): the server sees end of stream."""
        ex = self.pump()
        self.client.close()
        events = self.server.receive_data(b"")
        self.server_events += events
        ex.server_events += events
        return ex

    # --- The handshake -----------------------------------------------------------------------

    def handshake(self) -> Exchange:
        """initialize -> result -> notifications/initialized; both peers end up OPERATING."""
        _, data = self.client.initialize()
        self.to_server(data)
        ex = self.pump()
        assert self.client.state is State.OPERATING, ex
        assert self.server.state is State.OPERATING, ex
        return ex


def handshake(version: Optional[str] = None, **kwargs: Any) -> ConnectionPair:
    """A pair that has completed the handshake; with ``version``, the client offers only it."""
    if version is not None:
        client_kwargs = dict(kwargs.pop("client_kwargs", None) or {})
        client_kwargs["supported_versions"] = (version,)
        kwargs["client_kwargs"] = client_kwargs
    pair = ConnectionPair(**kwargs)
    pair.handshake()
    if version is not None:
        assert pair.client.protocol_version == pair.server.protocol_version == version
    return pair


def responses_by_id(frames: List[Any]) -> Dict[Any, Dict[str, Any]]:
    """Response frames keyed by (type name, id), so "1" and 1 stay apart."""
    return {(type(f.get("id")).__name__, f.get("id")): f for f in frames
            if isinstance(f, dict) and ("result" in f or "error" in f)}


def error_codes(frames: List[Any]) -> List[Tuple[Any, int]]:
    """(id, code) of every error response among ``frames``, in order."""
    return [(f.get("id"), f["error"]["code"]) for f in frames
            if isinstance(f, dict) and "error" in f]


def ctrl_c_in_first_wait(monkeypatch: Any, child: Any) -> None:
    """Make the first wait for ``child`` (a ChildProcess) to exit raise KeyboardInterrupt, as a
    Ctrl-C arriving while close() waits would; later waits are real."""
    real_wait = child._wait_for_exit
    waits: List[float] = []

    def interrupted(timeout: float) -> bool:
        waits.append(timeout)
        if len(waits) == 1:
            raise KeyboardInterrupt
        return real_wait(timeout)

    monkeypatch.setattr(child, "_wait_for_exit", interrupted)


def signal_installed_outside_python(monkeypatch, signum):
    """Make ``signal.getsignal(signum)`` answer None, as for a handler an embedding program
    installed in C; returns the list of signal numbers later passed to ``signal.signal``."""
    import signal
    real_getsignal, real_signal, installed = signal.getsignal, signal.signal, []

    def getsignal(number):
        return None if number == signum else real_getsignal(number)

    def set_signal(number, handler):
        installed.append(number)
        return real_signal(number, handler)

    monkeypatch.setattr(signal, "getsignal", getsignal)
    monkeypatch.setattr(signal, "signal", set_signal)
    return installed
