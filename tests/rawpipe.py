"""The reliability harness: a raw-pipe driver for servers, and the invariants I1-I7.

shared/research/reliability-bank.md, section (d), asks every scenario to check its own pass
criteria *and* seven invariants afterwards. This module holds both halves of the machinery the
scenario tests share (tests/test_reliability.py, tests/test_supervisor.py, tests/test_fuzz.py):

* :class:`RawServer` drives a server (mcp_ref's reference server by default) over its pipes
  with *arbitrary bytes*: frames, byte-by-byte writes, garbage, no newline at the end. A
  thread records every byte of stdout as it arrives, so a test can wait for a frame with a
  deadline and, at the end, validate the whole wire (I7). It can also close either pipe and
  signal the server.
* :class:`Invariants` takes a baseline before a scenario (threads, fds, children, peak RSS,
  the clock) and checks after it:

  ====  ===============================================================================
  I1    nothing lost: every request handle the test registered ended in exactly one outcome
  I2    typed errors: those outcomes are results or mcp_ref errors; no thread died with a
        traceback (``threading.excepthook``)
  I3    no zombie, no orphan: every tracked process group is gone, every child reaped
  I4    threads and fds back to their baseline
  I5    bounded memory: the peak RSS grew by less than the scenario's cap
  I6    bounded time: the scenario took less than its cap
  I7    wire purity: every server stdout line is one JSON-RPC object ending in a lone ``\\n``
        (RawServer captures), and the client wrote nothing else either (the zoo's
        ``bad-line`` events)
  ====  ===============================================================================

Linux only, like the scorecard: it reads ``/proc``. Standard library only.
"""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
ZOO = os.path.join(FIXTURES, "zoo.py")
SERVE = [sys.executable, "-m", "mcp_ref", "serve"]
MIB = 1024 * 1024


def zoo(*modes: str) -> List[str]:
    """argv of the fixture zoo (tests/fixtures/zoo.py) with these modes."""
    return [sys.executable, ZOO, *modes]


def zoo_events(path: Any, kind: Optional[str] = None) -> List[Dict[str, Any]]:
    """The events the zoo logged to ``path`` (mode ``log=PATH``), optionally of one kind."""
    wanted = None if kind is None else f'"event": {json.dumps(kind)}'
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f
                    if line.strip() and (wanted is None or wanted in line)
                    and (kind is None or json.loads(line)["event"] == kind)]
    except FileNotFoundError:
        return []


def request(request_id: Any, method: str, params: Optional[Dict[str, Any]] = None) -> Dict:
    frame: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        frame["params"] = params
    return frame


def notification(method: str, params: Optional[Dict[str, Any]] = None) -> Dict:
    frame: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        frame["params"] = params
    return frame


def encode(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def same(a: Any, b: Any) -> bool:
    """JSON equality that keeps 1, "1" and True apart (ids are type-exact, BP-07)."""
    return type(a) is type(b) and a == b


def is_response(frame: Any, request_id: Any = None) -> bool:
    return (isinstance(frame, dict) and "method" not in frame
            and ("result" in frame or "error" in frame)
            and (request_id is None or same(frame.get("id"), request_id)))


# --- Wire purity (I7) ------------------------------------------------------------------------

def _strict_json(text: str) -> Any:
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=constant)


def frame_problem(line: bytes) -> Optional[str]:
    """Why one stdout line (with its terminator) is not a valid frame, or None (I7)."""
    if not line.endswith(b"\n"):
        return "no newline at the end"
    if line.endswith(b"\r\n"):
        return "CRLF line ending"
    try:
        obj = _strict_json(line[:-1].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return f"not UTF-8 JSON ({exc.__class__.__name__})"
    if not isinstance(obj, dict) or obj.get("jsonrpc") != "2.0":
        return "not a JSON-RPC 2.0 object"
    if "method" in obj:
        if not isinstance(obj["method"], str):
            return "method is not a string"
        if "id" in obj and not _is_id(obj["id"]):
            return "request id is not a string or an integer"
        return None
    if ("result" in obj) == ("error" in obj):
        return "a response needs exactly one of result and error"
    if "result" in obj:
        if not _is_id(obj.get("id")) or not isinstance(obj["result"], dict):
            return "a result response needs an id and an object result"
        return None
    error = obj["error"]
    if not (isinstance(error, dict) and _is_int(error.get("code"))
            and isinstance(error.get("message"), str)):
        return "error must have an integer code and a string message"
    if obj.get("id") is not None and not _is_id(obj.get("id")):
        return "error id must be a string, an integer or null"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or _is_int(value)


def wire_problems(raw: bytes) -> List[str]:
    """Every I7 violation in a captured stdout stream."""
    problems = []
    lines = raw.split(b"\n")
    for number, body in enumerate(lines[:-1], 1):
        problem = frame_problem(body + b"\n")
        if problem:
            problems.append(f"line {number}: {problem}: {body[:120]!r}")
    if lines[-1]:
        problems.append(f"unterminated tail of {len(lines[-1])} bytes: {lines[-1][:120]!r}")
    return problems


# --- Processes (I3) --------------------------------------------------------------------------

def _stat(pid: int) -> Optional[List[str]]:
    """Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...]."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _pids() -> Iterable[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def group_members(pgid: int) -> Dict[int, str]:
    """Processes whose process group is ``pgid``: pid -> state letter."""
    members = {}
    for pid in _pids():
        fields = _stat(pid)
        if fields and int(fields[2]) == pgid:
            members[pid] = fields[0]
    return members


def our_children() -> Dict[int, str]:
    """Our child processes (zombies included): pid -> state letter."""
    me = os.getpid()
    children = {}
    for pid in _pids():
        fields = _stat(pid)
        if fields and int(fields[1]) == me:
            children[pid] = fields[0]
    return children


def wait_group_gone(pgid: int, timeout: float) -> Dict[int, str]:
    """Wait until no process of group ``pgid`` runs; return what is left (empty: gone).

    ``os.killpg(pgid, 0)`` raising ProcessLookupError is the proof. A member reparented to
    init that is a zombie is dead; reaping it is init's job, so it does not count. There is
    no event for "a process that is not my child exited", so this polls /proc, with a deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return {}
        except PermissionError:
            pass
        me = os.getpid()
        left = {pid: state for pid, state in group_members(pgid).items()
                if not (state == "Z" and int((_stat(pid) or ["", "0"])[1]) != me)}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


def wait_pid_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` (not necessarily our child) no longer runs. Polls, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        fields = _stat(pid)
        if fields is None or fields[0] in ("Z", "X"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def is_reaped(pid: int) -> bool:
    """True if ``pid`` is not an unreaped child of ours (no zombie, I3)."""
    try:
        os.waitpid(pid, os.WNOHANG)       # (0, 0): still running; (pid, status): a zombie
    except ChildProcessError:
        return True
    return False


def proc_status(pid: int, key: str) -> Optional[int]:
    """A ``kB`` field of /proc/PID/status (VmHWM, VmRSS), in bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU seconds of ``pid`` so far."""
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux >= 4.0), so the next reading is this scenario's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# --- The raw-pipe harness ------------------------------------------------------------------

class RawServer:
    """A server process driven over raw pipes by the test (the "S" tests of the research bank).

    The server runs in its own session (its pid is its pgid), like mcp_ref's client runs it.
    A reader thread checks every stdout line as it arrives (I7, :meth:`wire_problems`),
    appends every byte to :attr:`raw` (unless ``keep_raw=False``, for floods) and every line,
    decoded (None when it is not JSON) and passed through ``keep``, to :attr:`frames`; another
    thread keeps all of stderr.
    """

    def __init__(self, argv: Optional[List[str]] = None, *, cwd: str = ROOT,
                 env: Optional[Dict[str, str]] = None, keep_raw: bool = True,
                 keep: Callable[[Any], Any] = lambda frame: frame) -> None:
        self.argv = list(argv or SERVE)
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                                     start_new_session=True)
        self.pid = self.pgid = self.proc.pid
        self.raw = bytearray()
        self.frames: List[Any] = []
        self.problems: List[str] = []
        self.lines = 0
        self._keep_raw = keep_raw
        self._keep = keep
        self.stderr = bytearray()
        self.stderr_eof = False
        self.eof = False
        self._partial = b""
        self._cond = threading.Condition()
        self._stdout_fd: Optional[int] = self.proc.stdout.fileno()
        # close_stdout() wakes the reader through this pipe: closing an fd that another thread
        # is blocked reading would not release the pipe until that read returned.
        self._wake_r, self._wake_w = os.pipe()
        self._threads = [
            threading.Thread(target=self._read_stdout, name=f"rawpipe-out-{self.pid}", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"rawpipe-err-{self.pid}", daemon=True)]
        for thread in self._threads:
            thread.start()

    # -- Reading ---------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        fd = self._stdout_fd
        while True:
            ready, _, _ = select.select([fd, self._wake_r], [], [])
            chunk = b"" if self._wake_r in ready else os.read(fd, 1 << 16)
            with self._cond:
                if not chunk:
                    self.eof = True
                    self._cond.notify_all()
                    return
                if self._keep_raw:
                    self.raw += chunk
                *lines, self._partial = (self._partial + chunk).split(b"\n")
                for line in lines:
                    self.lines += 1
                    problem = frame_problem(line + b"\n")
                    if problem:
                        self.problems.append(f"line {self.lines}: {problem}: {line[:120]!r}")
                    try:
                        frame = json.loads(line.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError, RecursionError):
                        frame = None
                    self.frames.append(self._keep(frame))
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        fd = self.proc.stderr.fileno()
        while True:
            chunk = os.read(fd, 1 << 16)
            with self._cond:
                if not chunk:
                    self.stderr_eof = True
                    self._cond.notify_all()
                    return
                self.stderr += chunk
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        """The first frame matching ``predicate``, waiting up to ``timeout`` s (AssertionError)."""
        with self._cond:
            found = self._cond.wait_for(
                lambda: next((f for f in self.frames if predicate(f)), None) is not None
                or self.eof, timeout)
            frame = next((f for f in self.frames if predicate(f)), None)
        assert found and frame is not None, (f"no matching frame within {timeout} s "
                                             f"(eof={self.eof}); last: {self.frames[-3:]}")
        return frame

    def wait_response(self, request_id: Any, timeout: float = 10.0) -> Dict[str, Any]:
        return self.wait_for(lambda f: is_response(f, request_id), timeout)

    def responses(self, request_id: Any) -> List[Dict[str, Any]]:
        with self._cond:
            return [f for f in self.frames if is_response(f, request_id)]

    def wait_stderr(self, text: bytes, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: text in self.stderr, timeout)

    def wait_stderr_eof(self, timeout: float = 10.0) -> bool:
        """True once every process holding the write end of stderr has closed it."""
        with self._cond:
            return self._cond.wait_for(lambda: self.stderr_eof, timeout)

    # -- Writing ---------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Write raw bytes (all of them: the pipe is unbuffered and may take part)."""
        view = memoryview(data)
        while view:
            view = view[self.proc.stdin.write(view):]

    def send_frames(self, *frames: Any) -> None:
        """Frames in one write, so they arrive together."""
        self.send(b"".join(encode(f) for f in frames))

    def initialize(self, version: str = "2025-11-25", request_id: Any = "init") -> Dict:
        self.send_frames(request(request_id, "initialize", {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "rawpipe", "version": "0"}}))
        answer = self.wait_response(request_id)
        self.send_frames(notification("notifications/initialized"))
        return answer

    def close_stdin(self) -> None:
        if not self.proc.stdin.closed:
            self.proc.stdin.close()

    def close_stdout(self) -> None:
        """Close our read end of the server's stdout (RL-03: the client vanished)."""
        if self.proc.stdout is not None:
            os.write(self._wake_w, b"x")
            self._threads[0].join(10)
            self.proc.stdout.close()
            self.proc.stdout = None

    # -- Ending ----------------------------------------------------------------------------

    def wait_exit(self, timeout: float = 10.0) -> Optional[int]:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def finish(self, timeout: float = 10.0) -> Optional[int]:
        """Close stdin (EOF), wait for stdout EOF and the exit; the exit status."""
        self.close_stdin()
        with self._cond:
            self._cond.wait_for(lambda: self.eof, timeout)
        return self.wait_exit(timeout)

    def close(self) -> None:
        """Release everything; kill the group if it still runs. Idempotent."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self.close_stdin()
        for thread in self._threads:
            thread.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc.stderr.close()
        if self._wake_w >= 0:
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1

    def wire_problems(self) -> List[str]:
        """Every I7 violation on stdout so far (checked line by line as it arrived)."""
        with self._cond:
            problems = list(self.problems)
            if self._partial:
                problems.append(f"unterminated tail of {len(self._partial)} bytes: "
                                f"{self._partial[:120]!r}")
            return problems


# --- The invariants --------------------------------------------------------------------------

class Invariants:
    """Baseline before a scenario; :meth:`check` after it (see the module docstring).

    A test registers what it creates (:meth:`client`, :meth:`raw`, :meth:`handles`,
    :meth:`zoo_log`) and may tighten the caps (:attr:`max_seconds`, :attr:`max_rss`).
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.max_seconds = 60.0                    # I6
        self.max_rss = 96 * MIB                    # I5: peak RSS growth
        self.allow_impure_wire = False             # I7, for tests of deliberately bad wires
        self._pids: List[int] = []
        self._groups: List[int] = []
        self._handles: List[Any] = []
        self._raws: List[RawServer] = []
        self._zoo_logs: List[Any] = []
        self._clients: List[Any] = []
        self.thread_errors: List[str] = []
        self.measured: Dict[str, Any] = {}
        self._previous_hook = threading.excepthook
        threading.excepthook = self._thread_died
        self._baseline_threads = set(threading.enumerate())
        self._baseline_fds = fd_count()
        self._baseline_children = set(our_children())
        self._peak_resettable = reset_peak_rss()
        self._rss_start = proc_status(os.getpid(), "VmRSS") or 0
        self._started = time.monotonic()

    def _thread_died(self, args: Any) -> None:
        self.thread_errors.append(f"{args.thread.name if args.thread else '?'}: "
                                  f"{args.exc_type.__name__}: {args.exc_value}")
        self._previous_hook(args)

    # -- Registering -----------------------------------------------------------------------

    def client(self, client: Any) -> Any:
        """Track a Client: its process must be reaped and its group gone (I3)."""
        self._clients.append(client)
        self._pids.append(client.pid)
        self._groups.append(client.pid)
        return client

    def spawn(self, argv: List[str], **options: Any) -> Any:
        from mcp_ref.client import Client
        options.setdefault("cwd", ROOT)
        return self.client(Client.spawn(argv, **options))

    def raw(self, argv: Optional[List[str]] = None, **options: Any) -> RawServer:
        server = RawServer(argv, **options)
        self._raws.append(server)
        self._pids.append(server.pid)
        self._groups.append(server.pgid)
        return server

    def process(self, pid: int, pgid: Optional[int] = None) -> None:
        """Track any other process (group) the scenario started."""
        self._pids.append(pid)
        self._groups.append(pid if pgid is None else pgid)

    def group(self, pgid: int) -> None:
        self._groups.append(pgid)

    def handles(self, *handles: Any) -> None:
        """Track request handles (PendingRequest): each must end in exactly one outcome (I1)."""
        self._handles.extend(handles)

    def zoo_log(self, path: Any) -> Any:
        """Track a zoo log: the client must never have written a bad line (I7)."""
        self._zoo_logs.append(path)
        return path

    # -- Checking --------------------------------------------------------------------------

    def check(self) -> List[str]:
        """Check I1-I7; returns the violations (the fixture asserts there are none)."""
        elapsed = time.monotonic() - self._started
        problems: List[str] = []
        problems += self._check_outcomes()                               # I1, I2
        problems += [f"I2: thread died: {e}" for e in self.thread_errors]
        problems += self._check_processes()                              # I3
        if not self.allow_impure_wire:                                   # I7
            for server in self._raws:
                problems += [f"I7: server {server.pid}: {p}" for p in server.wire_problems()[:5]]
        for path in self._zoo_logs:
            problems += [f"I7: the client wrote a bad line: {e['problem']}: {e['line'][:100]!r}"
                         for e in zoo_events(path, "bad-line")]
        for server in self._raws:
            server.close()
        problems += self._check_threads_and_fds()                        # I4
        peak = proc_status(os.getpid(), "VmHWM") or 0
        rss_growth = max(0, peak - self._rss_start) if self._peak_resettable else 0
        if rss_growth > self.max_rss:                                    # I5
            problems.append(f"I5: peak RSS grew {rss_growth / MIB:.1f} MiB "
                            f"(cap {self.max_rss / MIB:.0f} MiB)")
        if elapsed > self.max_seconds:                                   # I6
            problems.append(f"I6: took {elapsed:.2f} s (cap {self.max_seconds:g} s)")
        threading.excepthook = self._previous_hook
        self.measured.update(seconds=round(elapsed, 3), peak_rss_mib=round(peak / MIB, 1),
                             rss_growth_mib=round(rss_growth / MIB, 1))
        return problems

    def _check_outcomes(self) -> List[str]:
        from mcp_ref.errors import McpRefError
        problems = []
        for handle in self._handles:
            if not handle.wait(5.0):
                problems.append(f"I1: request {handle.id} ({handle.method}) has no outcome")
                continue
            try:
                handle.result()
            except McpRefError:
                pass
            except Exception as exc:     # noqa: BLE001 - that is the point of I2
                problems.append(f"I2: request {handle.id} ended in an untyped "
                                f"{type(exc).__name__}: {exc}")
        for client in self._clients:
            left = getattr(client, "_session", None)
            if left is not None and left._requests:
                problems.append(f"I1: client {client.pid} still holds pending requests "
                                f"{list(left._requests)}")
        return problems

    def _check_processes(self) -> List[str]:
        problems = []
        for pgid in dict.fromkeys(self._groups):
            left = wait_group_gone(pgid, 10.0)
            if left:
                problems.append(f"I3: process group {pgid} still has {left}")
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for pid in dict.fromkeys(self._pids):
            if not is_reaped(pid):
                problems.append(f"I3: child {pid} was never reaped (zombie)")
        zombies = [pid for pid, state in our_children().items()
                   if state == "Z" and pid not in self._baseline_children]
        if zombies:
            problems.append(f"I3: zombie children {zombies}")
        self.measured["processes_left"] = len(set(our_children()) - self._baseline_children)
        return problems

    def _check_threads_and_fds(self) -> List[str]:
        problems = []
        deadline = time.monotonic() + 10.0
        for thread in set(threading.enumerate()) - self._baseline_threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [t.name for t in set(threading.enumerate()) - self._baseline_threads]
        if left:
            problems.append(f"I4: threads left running: {left}")
        # Closing is synchronous in mcp_ref and in RawServer; the short wait only covers a
        # thread that was just joined above and released its fds on the way out.
        while fd_count() > self._baseline_fds and time.monotonic() < deadline:
            time.sleep(0.02)
        fds = fd_count() - self._baseline_fds
        if fds:
            problems.append(f"I4: {fds:+d} file descriptors")
        self.measured.update(threads_delta=len(left), fds_delta=fds)
        return problems


def invariants_fixture(request: Any) -> Iterable[Invariants]:
    """Body of the ``inv`` fixture (tests/conftest.py)."""
    invariants = Invariants(request.node.name)
    yield invariants
    problems = invariants.check()
    request.node.user_properties.append(("invariants", dict(invariants.measured)))
    assert not problems, "invariants violated:\n" + "\n".join(problems)
