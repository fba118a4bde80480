#!/usr/bin/env python3
"""Issue 7's benchmark runner: mcp_ref against the floors and the official SDKs, interleaved.

Usage::

    python3 tests/bench/run.py [--quick] [--reps N] [--json FILE] [--profile | --profile-only]

A benchmark, not a test: it asserts nothing about time. It prints, for every figure, the
median over the repetitions with the range (min-max), then the targets of issue 7 as ratio
lines marked PASS or MISS, all from the same run.

How a run goes. For each repetition, every pair is measured once, each in a fresh process
(``for rep in range(N): for pair in pairs: measure``); the order of the pairs rotates from
one repetition to the next, so no pair always runs right after the same neighbour. Pairs:

* ``floor direct`` / ``floor thread``: floor_driver.py with raw_echo_child.py (readline ->
  json.loads -> json.dumps -> write -> flush), driven by a blocking reader in the same
  thread, or by a reader thread handing replies over a queue.Queue;
* ``mcp_ref``: mcp_driver.py, i.e. mcp_ref.client.Client and ``python3 -m mcp_ref serve``;
* ``py SDK`` and ``TS SDK``: the official SDKs' client and server, measured by the peer
  scripts of the shared folder (``../shared/peers`` next to the repository) with the SDKs
  installed under $MCP_REF_PEERS (default /tmp/mcp_ref_peers); "not installed" otherwise.
  Right after them, in the same repetition, py_sdk_extra.py / ts_sdk_extra.mjs (ours) drive
  the same servers with the same SDKs for what the shared scripts do not measure: pipelined
  echo and the 1/8/40 MiB round trips (in quick runs, in the first repetition only). A
  figure an SDK cannot do (a limit, a timeout) has its reason in its cell instead;
* ``import``: wall time of ``python -c "import mcp_ref.client"`` against ``python -c pass``,
  alternated, plus one ``-X importtime`` breakdown; the same with the runner's own
  interpreter too, for comparison, when the children run on another;
* ``split``: split_driver.py, each half of the mcp_ref pair against the floor's other half
  (the floor thread's client driving ``mcp_ref serve``; mcp_ref's Client driving the floor's
  child), to say which process the distance from the floor is in (D-29);
* a cross-check with the shared folder's raw_pipe_baseline.py when it is there.

Python children run on a *stock* interpreter: a venv of the runner's own Python, made for the
run without pip or system site-packages, so that its ``site`` runs no ``.pth`` hook (see
:func:`stock_python`; ``--system-python`` runs them on the runner's interpreter as
installed). They run with a bytecode cache owned by the runner (PYTHONPYCACHEPREFIX, warmed
before the first repetition, PYTHONDONTWRITEBYTECODE removed): imports are measured warm, as
for an installed package, and nothing is written into the repository.

Every wait is bounded (each child has a deadline and is killed with its process group when
it passes) and every child is reaped. Standard library only; Python 3.9+.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SYSTEM_PY = sys.executable
#: The interpreter of every Python child (the drivers, and so everything they start). _run
#: sets it: a stock venv of SYSTEM_PY, or SYSTEM_PY itself with --system-python.
PY = SYSTEM_PY

# peer_extra_reps: in how many repetitions (the first ones) the SDK pairs' pipelined and
# payload figures are measured (None: all); peer_figure_timeout: the bound of one of them, s.
QUICK = {"reps": 2, "n": 200, "peer_n": 200, "pipeline_total": 500, "import_runs": 5,
         "windows": "1,10,100,10000", "payloads": "1,8,40", "refusal_windows": "100,10000",
         "timeout": 120.0, "profile_n": 500, "peer_extra_reps": 1, "peer_figure_timeout": 30.0}
FULL = {"reps": 5, "n": 2000, "peer_n": 2000, "pipeline_total": 2000, "import_runs": 10,
        "windows": "1,10,100,10000", "payloads": "1,8,40", "refusal_windows": "100,10000",
        "timeout": 300.0, "profile_n": 2000, "peer_extra_reps": None,
        "peer_figure_timeout": 120.0}


# --- Children -------------------------------------------------------------------------------


class ChildResult:
    def __init__(self, argv: Sequence[str], returncode: Optional[int], stdout: str, stderr: str,
                 wall_s: float, timed_out: bool) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.wall_s = wall_s
        self.timed_out = timed_out

    def json(self) -> Optional[Dict[str, Any]]:
        """The last line of stdout that is a JSON object, or None."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    return None
        return None

    def failure(self) -> str:
        why = ("timed out" if self.timed_out else "exit status %s" % self.returncode)
        tail = self.stderr.strip().splitlines()[-6:]
        return "%s; stderr: %s" % (why, " | ".join(tail) or "(empty)")


def _kill_group(proc: "subprocess.Popen[str]") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def run_child(argv: Sequence[str], env: Dict[str, str], timeout: float,
              cwd: str = ROOT) -> ChildResult:
    """Run ``argv`` in its own process group, wait at most ``timeout`` s, always reap it."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd, text=True,
                            start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:      # a grandchild still holds our pipes
            out, err = "", ""
    except BaseException:                      # Ctrl-C: leave nothing running
        _kill_group(proc)
        raise
    finally:
        if proc.poll() is None:
            _kill_group(proc)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    return ChildResult(argv, proc.returncode, out or "", err or "",
                       time.perf_counter() - started, timed_out)


def python_env(pycache: str) -> Dict[str, str]:
    """The environment of our Python children: mcp_ref importable, a warm private pycache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    env["PYTHONPYCACHEPREFIX"] = pycache
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# --- Pairs ----------------------------------------------------------------------------------


class Pair:
    """One thing measured once per repetition; ``argv`` None means not installed.

    ``extra``, when given, is a second command run right after ``argv`` in the same
    repetition (normalized by normalize_ours): the SDK pairs' pipelined and payload figures.
    """

    def __init__(self, key: str, label: str, argv: Optional[List[str]], env: Dict[str, str],
                 normalize: Callable[[Dict[str, Any]], Dict[str, float]],
                 reason: str = "", column: bool = True,
                 extra: Optional[List[str]] = None) -> None:
        self.key = key
        self.label = label
        self.argv = argv
        self.env = env
        self.normalize = normalize
        self.reason = reason
        self.column = column
        self.extra = extra
        self.raw: List[Dict[str, Any]] = []          # one entry per repetition
        self.values: List[Dict[str, float]] = []     # normalized, one per good repetition
        #: metric key -> [(repetition, short reason, full reason)] of the figures that failed
        self.failed: Dict[str, List[Tuple[int, str, str]]] = {}

    @property
    def installed(self) -> bool:
        return self.argv is not None


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _kb_to_mib(kb: Any) -> Optional[float]:
    return None if kb is None else kb / 1024.0


def _put(out: Dict[str, float], key: str, value: Any) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out[key] = float(value)


#: The metrics of one pipelined or payload figure of a driver's output (``raw[group][name]``):
#: (metric key pattern, field of the figure's entry, conversion).
FIGURE_FIELDS: Dict[str, List[Tuple[str, str, Optional[Callable[[Any], Any]]]]] = {
    "pipelined": [("pipe_us_%s", "per_message_us", None)],
    "payloads": [("payload_ms_%s", "round_trip_ms", None),
                 ("payload_srss_%s", "server_peak_rss_kb", _kb_to_mib),
                 ("payload_crss_%s", "client_peak_rss_kb", _kb_to_mib)],
}


def figure_failures(raw: Dict[str, Any]) -> Dict[str, Tuple[str, str]]:
    """Metric key -> (short, full reason) for each figure a driver reports as failed
    (``{"error": short, "error_detail": full}`` instead of its numbers)."""
    out: Dict[str, Tuple[str, str]] = {}
    for group, fields in FIGURE_FIELDS.items():
        for name, entry in (raw.get(group) or {}).items():
            if "error" in entry:
                reason = (str(entry["error"]), str(entry.get("error_detail", entry["error"])))
                for key, _, _ in fields:
                    out[key % name] = reason
    return out


def extra_keys(cfg: Dict[str, Any]) -> List[str]:
    """The metric keys an ``extra`` command measures."""
    names = {"pipelined": cfg["windows"], "payloads": cfg["payloads"]}
    return [key % name for group, fields in FIGURE_FIELDS.items()
            for name in names[group].split(",") if name for key, _, _ in fields]


def normalize_ours(raw: Dict[str, Any]) -> Dict[str, float]:
    """floor_driver.py and mcp_driver.py output -> the table's flat metrics."""
    out: Dict[str, float] = {}
    _put(out, "spawn_ms", raw.get("spawn_to_first_reply_ms", raw.get("spawn_to_initialized_ms")))
    if raw.get("ping_us"):
        _put(out, "ping_us", _median(raw["ping_us"]))
    if raw.get("echo_us"):
        _put(out, "echo_us", _median(raw["echo_us"]))
    _put(out, "echo_cps", raw.get("echo_calls_per_s"))
    for what in ("ping", "echo"):
        cpu = raw.get("%s_cpu_us" % what) or {}
        _put(out, "%s_cpu_client" % what, cpu.get("client"))
        _put(out, "%s_cpu_server" % what, cpu.get("server"))
        _put(out, "%s_wake_client" % what, cpu.get("client_wakeups"))
        _put(out, "%s_wake_server" % what, cpu.get("server_wakeups"))
    for group, fields in FIGURE_FIELDS.items():
        for name, entry in (raw.get(group) or {}).items():
            if "error" not in entry:             # a failed figure: see figure_failures
                for key, field, scale in fields:
                    value = entry.get(field)
                    _put(out, key % name, scale(value) if scale else value)
    for window, entry in (raw.get("stock_bursts") or {}).items():
        _put(out, "stock_refused_%s" % window, entry.get("refused_busy"))
        _put(out, "stock_pipe_us_%s" % window, entry.get("per_message_us"))
    _put(out, "srss_idle", _kb_to_mib(raw.get("server_idle_peak_rss_kb")))
    _put(out, "crss_idle", _kb_to_mib(raw.get("client_idle_peak_rss_kb")))
    _put(out, "srss_loops", _kb_to_mib(raw.get("server_peak_rss_after_loops_kb")))
    _put(out, "crss_loops", _kb_to_mib(raw.get("client_peak_rss_after_loops_kb")))
    _put(out, "close_ms", raw.get("close_ms"))
    _put(out, "client_import_ms", raw.get("client_import_ms"))
    return out


def normalize_peer(raw: Dict[str, Any]) -> Dict[str, float]:
    """py_sdk_client.py / ts_sdk_client.mjs output -> the table's flat metrics."""
    out: Dict[str, float] = {}
    _put(out, "spawn_ms", raw.get("spawn_to_initialized_ms"))
    _put(out, "ping_us", (raw.get("ping_us") or {}).get("median"))
    echo = raw.get("echo") or {}
    _put(out, "echo_cps", echo.get("calls_per_s"))
    _put(out, "echo_us", (echo.get("per_call_us") or {}).get("median"))
    # The peer scripts read both peaks after their ping and echo loops.
    _put(out, "srss_loops", _kb_to_mib(raw.get("server_peak_rss_kb")))
    _put(out, "crss_loops", _kb_to_mib(raw.get("client_peak_rss_kb")))
    _put(out, "close_ms", raw.get("close_ms"))
    _put(out, "client_import_ms", raw.get("client_import_ms"))
    return out


def normalize_shared(raw: Dict[str, Any]) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for style in ("direct", "thread"):
        entry = raw.get(style) or {}
        _put(out, "%s_spawn_ms" % style, entry.get("spawn_to_first_reply_ms"))
        _put(out, "%s_ping_us" % style, (entry.get("ping_us") or {}).get("median"))
        _put(out, "%s_echo_cps" % style, (entry.get("echo") or {}).get("calls_per_s"))
    return out


def normalize_split(raw: Dict[str, Any]) -> Dict[str, float]:
    """split_driver.py output: each half of the mcp_ref pair against the floor's other half."""
    out: Dict[str, float] = {}
    for side, prefix in (("server_side", "srv"), ("client_side", "cli")):
        entry = raw.get(side) or {}
        if entry.get("ping_us"):
            _put(out, "%s_ping_us" % prefix, _median(entry["ping_us"]))
        _put(out, "%s_echo_cps" % prefix, entry.get("echo_calls_per_s"))
        for what in ("ping", "echo"):
            cpu = entry.get("%s_cpu_us" % what) or {}
            _put(out, "%s_%s_cpu_client" % (prefix, what), cpu.get("client"))
            _put(out, "%s_%s_cpu_server" % (prefix, what), cpu.get("server"))
    return out


def shared_peers_dir(explicit: Optional[str]) -> Optional[str]:
    """The shared peers folder: --shared if given, else $MCP_REF_SHARED_PEERS, else
    ../shared/peers next to the repository; None if that is not a directory."""
    path = explicit or os.environ.get("MCP_REF_SHARED_PEERS") or os.path.join(
        os.path.dirname(ROOT), "shared", "peers")
    return os.path.abspath(path) if os.path.isdir(path) else None


def _has_python_mcp(venv_python: str) -> bool:
    lib = os.path.join(os.path.dirname(os.path.dirname(venv_python)), "lib")
    try:
        for name in os.listdir(lib):
            if os.path.isdir(os.path.join(lib, name, "site-packages", "mcp")):
                return True
    except OSError:
        return False
    return False


def build_pairs(cfg: Dict[str, Any], pycache: str, shared: Optional[str],
                peers: str) -> List[Pair]:
    env = python_env(pycache)
    common = ["--n", str(cfg["n"]), "--payloads", cfg["payloads"]]
    pairs = [
        Pair("floor_direct", "floor direct",
             [PY, os.path.join(HERE, "floor_driver.py"), "--mode", "direct"] + common,
             env, normalize_ours),
        Pair("floor_thread", "floor thread",
             [PY, os.path.join(HERE, "floor_driver.py"), "--mode", "thread"] + common
             + ["--windows", cfg["windows"], "--pipeline-total", str(cfg["pipeline_total"])],
             env, normalize_ours),
        Pair("mcp_ref", "mcp_ref",
             [PY, os.path.join(HERE, "mcp_driver.py")] + common
             + ["--windows", cfg["windows"], "--pipeline-total", str(cfg["pipeline_total"]),
                "--refusal-windows", cfg["refusal_windows"]],
             env, normalize_ours),
    ]

    # Which process the distance from the floor is in: each half of mcp_ref against the floor's
    # other half (D-29). Not a column: its figures are set against the columns' in the notes.
    pairs.append(Pair("split", "split: one side mcp_ref, the other the floor's",
                      [PY, os.path.join(HERE, "split_driver.py"), "--n", str(cfg["n"])],
                      env, normalize_split, column=False))

    peer_n = ["--n", str(cfg["peer_n"])]
    # Our drivers of the figures the shared peer scripts do not measure; bounded inside, to
    # end (and print what they have) before the runner's own deadline.
    extra_args = ["--windows", cfg["windows"], "--pipeline-total", str(cfg["pipeline_total"]),
                  "--payloads", cfg["payloads"], "--timeout", str(cfg["peer_figure_timeout"]),
                  "--budget", str(max(1.0, cfg["timeout"] - 20.0))]
    py_extra: Optional[List[str]] = None
    ts_extra: Optional[List[str]] = None
    venv_python = os.path.join(peers, "venv", "bin", "python")
    node_modules = os.path.join(peers, "node", "node_modules")
    py_argv: Optional[List[str]] = None
    py_reason = ""
    if shared is None:
        py_reason = "the shared peers folder (../shared/peers) is not there"
    elif not (os.access(venv_python, os.X_OK) and _has_python_mcp(venv_python)):
        py_reason = "no Python SDK under %s (venv/bin/python with `mcp`)" % peers
    else:
        py_server = ["--", venv_python, os.path.join(shared, "py_sdk_server.py")]
        py_argv = [venv_python, os.path.join(shared, "py_sdk_client.py")] + peer_n + py_server
        py_extra = [venv_python, os.path.join(HERE, "py_sdk_extra.py")] + extra_args + py_server
    pairs.append(Pair("py_sdk", "py SDK", py_argv, dict(os.environ), normalize_peer, py_reason,
                      extra=py_extra))

    node = shutil.which("node")
    ts_argv: Optional[List[str]] = None
    ts_reason = ""
    if shared is None:
        ts_reason = "the shared peers folder (../shared/peers) is not there"
    elif node is None:
        ts_reason = "node is not on PATH"
    elif not os.path.isdir(os.path.join(node_modules, "@modelcontextprotocol", "sdk")):
        ts_reason = "no @modelcontextprotocol/sdk under %s" % node_modules
    else:
        # The SDK's stdio client gives the server only a default environment (HOME, PATH,
        # ...), so the server learns where the SDK is from an `env` in front of it.
        ts_server = ["--", shutil.which("env") or "/usr/bin/env",
                     "MCP_PEERS_NODE_MODULES=" + node_modules, node,
                     os.path.join(shared, "ts_sdk_server.mjs")]
        ts_argv = [node, os.path.join(shared, "ts_sdk_client.mjs")] + peer_n + ts_server
        ts_extra = [node, os.path.join(HERE, "ts_sdk_extra.mjs")] + extra_args + ts_server
    ts_env = dict(os.environ)
    ts_env["MCP_PEERS_NODE_MODULES"] = node_modules
    pairs.append(Pair("ts_sdk", "TS SDK", ts_argv, ts_env, normalize_peer, ts_reason,
                      extra=ts_extra))

    baseline = os.path.join(shared, "raw_pipe_baseline.py") if shared else None
    if baseline and os.path.isfile(baseline):
        pairs.append(Pair("shared_floor", "shared raw_pipe_baseline.py",
                          [PY, baseline, "--n", str(cfg["n"])], env, normalize_shared,
                          column=False))
    else:
        pairs.append(Pair("shared_floor", "shared raw_pipe_baseline.py", None, env,
                          normalize_shared,
                          "no raw_pipe_baseline.py (shared peers folder missing or incomplete)",
                          column=False))
    return pairs


def measure_pair(pair: Pair, rep: int, cfg: Dict[str, Any]) -> Dict[str, Any]:
    """One repetition of a pair: its command, then its ``extra`` command (if any, and if this
    repetition is one of cfg["peer_extra_reps"]); the repetition's entry for ``pair.raw``."""
    assert pair.argv is not None
    entry: Dict[str, Any] = {"rep": rep}
    values: Dict[str, float] = {}
    runs = [(entry, pair.argv, pair.normalize)]
    if pair.extra and (cfg["peer_extra_reps"] is None or rep < cfg["peer_extra_reps"]):
        entry["extra"] = {}
        runs.append((entry["extra"], pair.extra, normalize_ours))
    for part, argv, normalize in runs:
        result = run_child(argv, pair.env, timeout=cfg["timeout"])
        raw = result.json()
        part["wall_s"] = round(result.wall_s, 3)
        if result.returncode != 0 or raw is None:
            part["error"] = result.failure()
            print("  rep %d: %s%s failed: %s" % (
                rep, pair.label, "" if part is entry else " (pipelined/payload driver)",
                part["error"]))
            failures = {key: ("driver failed", part["error"]) for key in extra_keys(cfg)} \
                if part is not entry else {}
        else:
            part["raw"] = raw
            values.update(normalize(raw))
            failures = figure_failures(raw)
            for error in raw.get("spawn_sample_errors", ()):      # left out of the median
                print("  rep %d: %s: a spawn sample failed: %s" % (rep, pair.label, error))
        for key, (short, detail) in failures.items():
            pair.failed.setdefault(key, []).append((rep, short, detail))
    if values:
        entry["values"] = values
        pair.values.append(values)
    return entry


# --- import time ----------------------------------------------------------------------------

IMPORT_CODE = "import mcp_ref.client"
#: The standard library the client's design cannot do without (json for the wire, threading
#: for its reader, enum for the lifecycle, selectors and signal for stdio): what any import of
#: it costs before mcp_ref's own code, measured beside it (D-72).
STDLIB_CODE = "import json, threading, enum, selectors, signal"


def stock_python(workdir: str) -> Tuple[Optional[str], str]:
    """A venv of the runner's interpreter, without pip or system site-packages, and the
    reason if there is none. Its ``site`` runs no ``.pth`` hook, so its ``python -c pass``
    starts as a stock install does. An installed interpreter's hooks may import modules and
    do work before any program runs (on the machine of RESULTS.txt, one costs ~28 ms and
    imports typing, enum and re): every Python child would pay them, the floors as much as
    mcp_ref, which flatters start-up ratios, peak RSS and import time alike (D-72)."""
    path = os.path.join(workdir, "stock-venv")
    result = run_child([SYSTEM_PY, "-m", "venv", "--without-pip", path], dict(os.environ),
                       timeout=120.0)
    python = os.path.join(path, "bin", "python")
    if result.returncode != 0 or not os.path.exists(python):
        return None, "no venv could be made: " + result.failure()
    return python, ""


def measure_import(env: Dict[str, str], runs: int, rep: int) -> Dict[str, Any]:
    """``runs`` alternated pairs of ``python -c pass`` / ``python -c "import mcp_ref.client"``
    (wall ms), and one ``-X importtime`` breakdown, with the children's interpreter; the same
    with the runner's own (keys ``system_...``), its runs interleaved with the others, if the
    children run on another; and :data:`STDLIB_CODE` with the children's (``stdlib_ms``)."""
    sinks: Dict[str, List[float]] = {"bare_ms": [], "import_ms": [], "stdlib_ms": []}
    pythons = [(PY, "")]
    if PY != SYSTEM_PY:
        sinks.update(system_bare_ms=[], system_import_ms=[])
        pythons.append((SYSTEM_PY, "system_"))
    for i in range(runs):
        order = [(python, code, prefix + name) for python, prefix in pythons
                 for code, name in (("pass", "bare_ms"), (IMPORT_CODE, "import_ms"))]
        order.append((PY, STDLIB_CODE, "stdlib_ms"))
        shift = (i + rep) % len(order)
        for python, code, name in order[shift:] + order[:shift]:
            result = run_child([python, "-c", code], env, timeout=60.0)
            if result.returncode == 0:
                sinks[name].append(round(result.wall_s * 1000, 3))
    out: Dict[str, Any] = dict(sinks)
    for python, prefix in pythons:
        breakdown = run_child([python, "-X", "importtime", "-c", IMPORT_CODE], env,
                              timeout=60.0)
        out[prefix + "importtime"] = parse_importtime(breakdown.stderr)
    return out


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def parse_importtime(text: str) -> Dict[str, Any]:
    """Total cumulative µs of the mcp_ref imports and the modules with the most self time."""
    rows = []
    for line in text.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            depth = (len(match.group(3)) - 1) // 2
            rows.append((int(match.group(1)), int(match.group(2)), depth, match.group(4)))
    # Everything imported under a top-level mcp_ref import: the rows just before it, deeper.
    total = 0
    ours: List[Tuple[int, str]] = []
    pending: List[Tuple[int, int, int, str]] = []
    for row in rows:
        pending.append(row)
        if row[2] == 0:
            if row[3].startswith("mcp_ref"):
                total += row[1]
                ours.extend((self_us, name) for self_us, _, _, name in pending)
            pending = []
    ours.sort(reverse=True)
    own = sum(self_us for self_us, name in ours if name.split(".")[0] == "mcp_ref")
    return {"mcp_ref_cumulative_us": total, "mcp_ref_own_us": own, "top_self_us": ours[:12]}


# --- Summaries ------------------------------------------------------------------------------


def summarize(samples: Sequence[float]) -> Optional[Dict[str, Any]]:
    if not samples:
        return None
    return {"median": _median(samples), "min": min(samples), "max": max(samples),
            "n": len(samples), "samples": list(samples)}


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 100:
        return "%.0f" % value
    if magnitude >= 10:
        return "%.1f" % value
    return "%.2f" % value


def cell(samples: Sequence[float], integer: bool = False) -> str:
    if not samples:
        return "-"
    show = (lambda v: "%d" % round(v)) if integer else fmt
    if len(samples) == 1:
        return show(samples[0])
    return "%s (%s-%s)" % (show(_median(samples)), show(min(samples)), show(max(samples)))


def metric_rows(cfg: Dict[str, Any]) -> List[Tuple[str, str]]:
    windows = [w for w in cfg["windows"].split(",") if w]
    payloads = [p for p in cfg["payloads"].split(",") if p]
    refusals = [w for w in cfg["refusal_windows"].split(",") if w]
    rows = [("spawn_ms", "spawn -> initialized / 1st reply, ms"),
            ("ping_us", "ping round trip (median of N), us"),
            ("echo_cps", "sequential echo tools/call, calls/s"),
            ("echo_us", "sequential echo, per call (median), us"),
            ("ping_cpu_client", "CPU per ping, client process, us"),
            ("ping_cpu_server", "CPU per ping, server process, us"),
            ("echo_cpu_client", "CPU per echo, client process, us"),
            ("echo_cpu_server", "CPU per echo, server process, us"),
            ("ping_wake_client", "thread wake-ups per ping, client"),
            ("ping_wake_server", "thread wake-ups per ping, server"),
            ("echo_wake_client", "thread wake-ups per echo, client"),
            ("echo_wake_server", "thread wake-ups per echo, server")]
    rows += [("pipe_us_%s" % w, "pipelined echo, %s in flight, us/msg" % w) for w in windows]
    rows += [("stock_refused_%s" % w, "stock serve: refused of %s in flight" % w)
             for w in refusals]
    for p in payloads:
        rows += [("payload_ms_%s" % p, "%s MiB echo round trip, ms" % p),
                 ("payload_srss_%s" % p, "%s MiB: server peak RSS, MiB" % p),
                 ("payload_crss_%s" % p, "%s MiB: client peak RSS, MiB" % p)]
    rows += [("srss_idle", "server peak RSS, idle (handshake), MiB"),
             ("crss_idle", "client peak RSS, idle (handshake), MiB"),
             ("srss_loops", "server peak RSS after ping+echo, MiB"),
             ("crss_loops", "client peak RSS after ping+echo, MiB"),
             ("close_ms", "close: stdin closed -> reaped, ms"),
             ("client_import_ms", "client library import in-process, ms")]
    return rows


def column(pair: Pair, key: str) -> List[float]:
    return [v[key] for v in pair.values if key in v]


def figure_cell(pair: Pair, key: str) -> str:
    """The table cell of one figure: its numbers, or why the pair could not measure it."""
    text = cell(column(pair, key), integer=key.startswith("stock_refused"))
    failed = pair.failed.get(key, [])
    if not failed:
        return text
    if text == "-":
        return "; ".join(sorted({short for _, short, _ in failed}))
    return "%s; %d failed" % (text, len(failed))


def render_table(pairs: List[Pair], cfg: Dict[str, Any]) -> str:
    shown = [p for p in pairs if p.column and p.installed]
    label_width = 42
    rows = []
    for key, label in metric_rows(cfg):
        cells = [figure_cell(p, key) for p in shown]
        if any(c != "-" for c in cells):
            rows.append((label, cells))
    widths = [max([len(p.label), 20] + [len(cells[i]) for _, cells in rows])
              for i, p in enumerate(shown)]
    lines = ["%-*s" % (label_width, "median (min-max) over repetitions")
             + "".join(" %-*s" % (w, p.label) for w, p in zip(widths, shown))]
    lines.append("-" * len(lines[0]))
    for label, cells in rows:
        lines.append("%-*s" % (label_width, label)
                     + "".join(" %-*s" % (w, c) for w, c in zip(widths, cells)))
    for p in pairs:
        if p.column and not p.installed:
            lines.append("%-*s %s" % (label_width, "%s pair" % p.label,
                                      "not installed: " + p.reason))
    return "\n".join(lines)


def failure_lines(pairs: List[Pair], cfg: Dict[str, Any]) -> List[str]:
    """The full reason of every figure a pair could not measure (its cell has the short one),
    one line per pair and reason."""
    lines = []
    for p in pairs:
        by_detail: Dict[str, List[str]] = {}
        for key, label in metric_rows(cfg):
            if not key.startswith(("pipe_us_", "payload_ms_")):
                continue                 # a failed payload's RSS cells share its reason
            reps: Dict[str, List[str]] = {}
            for rep, _, detail in p.failed.get(key, []):
                reps.setdefault(detail, []).append(str(rep + 1))
            for detail, which in reps.items():
                by_detail.setdefault(detail, []).append("%s (repetition %s)" % (
                    label.rsplit(",", 1)[0], ", ".join(which)))
        for detail, figures in by_detail.items():
            lines.append("%s, %s: %s" % (p.label, "; ".join(figures), detail))
    return lines


class Target:
    def __init__(self, text: str, ratio: Optional[float], limit: float, kind: str,
                 detail: str, per_rep: Sequence[float] = ()) -> None:
        self.text = text
        self.ratio = ratio
        self.limit = limit
        self.kind = kind          # "max": ratio <= limit passes; "min": ratio >= limit passes
        self.detail = detail
        self.per_rep = list(per_rep)

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "SKIP"
        ok = self.ratio <= self.limit if self.kind == "max" else self.ratio >= self.limit
        return "PASS" if ok else "MISS"

    def line(self) -> str:
        if self.ratio is None:
            return "SKIP  %s  (%s)" % (self.text, self.detail)
        sign = "<=" if self.kind == "max" else ">="
        paired = ""
        if len(self.per_rep) > 1:
            paired = "; per-repetition %s-%s" % (fmt(min(self.per_rep)), fmt(max(self.per_rep)))
        unit = " ms" if self.kind == "max" and self.text.startswith("import") else "x"
        return "%s  %s: %s%s (limit %s %s%s; %s%s)" % (
            self.verdict, self.text, fmt(self.ratio), unit, sign, fmt(self.limit), unit,
            self.detail, paired)

    def as_dict(self) -> Dict[str, Any]:
        return {"target": self.text, "value": self.ratio, "limit": self.limit,
                "kind": self.kind, "verdict": self.verdict, "detail": self.detail,
                "per_repetition": self.per_rep}


def _paired(a: Pair, b: Pair, key_a: str, key_b: str) -> List[float]:
    """Per-repetition ratios a/b (the pairs ran in the same repetition)."""
    ratios = []
    for raw_a, raw_b in zip(a.raw, b.raw):
        va = raw_a.get("values", {}).get(key_a)
        vb = raw_b.get("values", {}).get(key_b)
        if va is not None and vb:
            ratios.append(va / vb)
    return ratios


def ratio_target(text: str, num: Pair, num_key: str, den: Pair, den_key: str,
                 limit: float, kind: str, unit: str) -> Target:
    a, b = column(num, num_key), column(den, den_key)
    if not num.installed or not den.installed:
        missing = num if not num.installed else den
        return Target(text, None, limit, kind, "%s pair not installed" % missing.label)
    if not a or not b:
        return Target(text, None, limit, kind, "no samples for %s or %s" % (num_key, den_key))
    ma, mb = _median(a), _median(b)
    return Target(text, ma / mb, limit, kind,
                  "%s %s %s vs %s %s %s" % (num.label, fmt(ma), unit, den.label, fmt(mb), unit),
                  _paired(num, den, num_key, den_key))


def import_lines(imports: List[Dict[str, Any]]) -> List[str]:
    """What the import runs measured, for each interpreter: wall times, and where the time
    goes in-process by the last ``-X importtime`` breakdown."""
    lines = []
    for prefix, which in (("", PY), ("system_", SYSTEM_PY)):
        bare = [x for entry in imports for x in entry.get(prefix + "bare_ms", ())]
        loaded = [x for entry in imports for x in entry.get(prefix + "import_ms", ())]
        if not (bare and loaded):
            continue
        lines.append("import (%s): python -c pass %s ms; python -c '%s' %s ms (median (min-max), "
                     "%d runs each, alternated)" % (which, cell(bare), IMPORT_CODE, cell(loaded),
                                                    len(bare)))
        stdlib = [x for entry in imports for x in entry.get(prefix + "stdlib_ms", ())]
        if stdlib:
            over = [lib - b for entry in imports
                    for b, lib in zip(entry[prefix + "bare_ms"], entry[prefix + "stdlib_ms"])]
            lines.append("  python -c '%s' %s ms: the standard library the design needs, %s ms "
                         "over bare python (median of paired differences)"
                         % (STDLIB_CODE, cell(stdlib), fmt(_median(over))))
        last = imports[-1][prefix + "importtime"]
        top = ", ".join("%s %s" % (name, fmt(self_us / 1000.0))
                        for self_us, name in last["top_self_us"][:8])
        total, own = last["mcp_ref_cumulative_us"], last["mcp_ref_own_us"]
        lines.append("  -X importtime: mcp_ref total %s ms in-process, of which mcp_ref's own "
                     "modules %s ms and the standard library they load %s ms; most self time "
                     "(ms): %s" % (fmt(total / 1000.0), fmt(own / 1000.0),
                                   fmt((total - own) / 1000.0), top))
    return lines


def import_target(imports: List[Dict[str, Any]]) -> Target:
    """The import target, on the children's interpreter (``bare_ms`` and ``import_ms`` of
    each repetition)."""
    text = "import mcp_ref.client <= 10 ms over bare python"
    pairs = [(b, i) for entry in imports for b, i in zip(entry["bare_ms"], entry["import_ms"])]
    if not pairs:
        return Target(text, None, 10.0, "max", "no import samples")
    bare, loaded = [b for b, _ in pairs], [i for _, i in pairs]
    return Target(text, _median(loaded) - _median(bare), 10.0, "max",
                  "python -c '%s' %s ms vs python -c pass %s ms, %d runs each; median of "
                  "paired differences %s ms" % (IMPORT_CODE, fmt(_median(loaded)),
                                                fmt(_median(bare)), len(bare),
                                                fmt(_median([i - b for b, i in pairs]))))


def targets(pairs: Dict[str, Pair], imports: List[Dict[str, Any]]) -> List[Target]:
    mcp, direct, thread, ts = (pairs["mcp_ref"], pairs["floor_direct"], pairs["floor_thread"],
                               pairs["ts_sdk"])
    out = [
        ratio_target("ping RTT <= 1.3x reader-thread floor", mcp, "ping_us", thread,
                     "ping_us", 1.3, "max", "us"),
        ratio_target("sequential echo calls/s >= 0.7x reader-thread floor", mcp, "echo_cps",
                     thread, "echo_cps", 0.7, "min", "calls/s"),
        ratio_target("sequential echo calls/s >= 2x TypeScript SDK pair", mcp, "echo_cps", ts,
                     "echo_cps", 2.0, "min", "calls/s"),
        ratio_target("spawn -> initialized <= 1.5x raw spawn -> first reply", mcp, "spawn_ms",
                     direct, "spawn_ms", 1.5, "max", "ms"),
        ratio_target("server peak RSS (idle) <= 1.3x raw child", mcp, "srss_idle", direct,
                     "srss_idle", 1.3, "max", "MiB"),
    ]
    out.append(import_target(imports))
    out.append(ratio_target("per-message cost at 10 000 in flight <= 1.3x at 1 in flight", mcp,
                            "pipe_us_10000", mcp, "pipe_us_1", 1.3, "max", "us"))
    out.append(ratio_target("40 MiB round trip <= 2x raw pipe", mcp, "payload_ms_40", direct,
                            "payload_ms_40", 2.0, "max", "ms"))
    return out


def info_lines(pairs: Dict[str, Pair]) -> List[str]:
    """Ratios worth seeing that are not targets."""
    lines = []
    mcp, thread, direct, py, ts = (pairs["mcp_ref"], pairs["floor_thread"],
                                   pairs["floor_direct"], pairs["py_sdk"], pairs["ts_sdk"])

    def ratio(text: str, a: Pair, ka: str, b: Pair, kb: str) -> None:
        va, vb = column(a, ka), column(b, kb)
        if a.installed and b.installed and va and vb:
            lines.append("info  %s: %sx" % (text, fmt(_median(va) / _median(vb))))

    ratio("ping RTT vs blocking-reader floor", mcp, "ping_us", direct, "ping_us")
    split = pairs["split"]
    ratio("ping RTT, mcp_ref server driven by the floor's client, vs floor thread", split,
          "srv_ping_us", thread, "ping_us")
    ratio("ping RTT, mcp_ref client driving the floor's child, vs floor thread", split,
          "cli_ping_us", thread, "ping_us")
    ratio("echo calls/s, mcp_ref server driven by the floor's client, vs floor thread", split,
          "srv_echo_cps", thread, "echo_cps")
    ratio("echo calls/s, mcp_ref client driving the floor's child, vs floor thread", split,
          "cli_echo_cps", thread, "echo_cps")
    ratio("echo calls/s vs Python SDK pair", mcp, "echo_cps", py, "echo_cps")
    ratio("floor thread: per-message cost at 10 000 vs 1 in flight", thread, "pipe_us_10000",
          thread, "pipe_us_1")
    ratio("pipelined per-message cost at 10 000 in flight vs floor thread", mcp,
          "pipe_us_10000", thread, "pipe_us_10000")
    for sdk in (py, ts):
        ratio("pipelined per-message cost at 10 000 in flight vs %s pair" % sdk.label, mcp,
              "pipe_us_10000", sdk, "pipe_us_10000")
    ratio("40 MiB round trip vs reader-thread floor", mcp, "payload_ms_40", thread,
          "payload_ms_40")
    for sdk in (py, ts):
        ratio("8 MiB round trip vs %s pair" % sdk.label, mcp, "payload_ms_8", sdk, "payload_ms_8")
        ratio("40 MiB round trip vs %s pair" % sdk.label, mcp, "payload_ms_40", sdk,
              "payload_ms_40")
    ratio("server peak RSS after 40 MiB vs raw child", mcp, "payload_srss_40", direct,
          "payload_srss_40")
    ratio("client peak RSS after 40 MiB vs raw parent", mcp, "payload_crss_40", direct,
          "payload_crss_40")
    ratio("spawn -> initialized vs reader-thread floor", mcp, "spawn_ms", thread, "spawn_ms")
    return lines


# --- Machine --------------------------------------------------------------------------------


def machine_facts() -> Dict[str, Any]:
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))   # type: ignore[attr-defined]
    except AttributeError:
        affinity = None
    return {"nproc": affinity or os.cpu_count(), "cpu_count": os.cpu_count(),
            "cpu_model": model or platform.processor() or "unknown",
            "python": sys.version.split()[0], "python_executable": PY,
            "implementation": platform.python_implementation(),
            "platform": platform.platform(), "loadavg_start": _loadavg(), "git": git_state()}


def git_state() -> Dict[str, Any]:
    """The commit measured and the files of mcp_ref that differ from it (work in progress)."""
    state: Dict[str, Any] = {}
    for key, argv in (("head", ["git", "rev-parse", "--short", "HEAD"]),
                      ("dirty", ["git", "status", "--porcelain", "--", "mcp_ref"])):
        try:
            result = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0:
            lines = [line for line in result.stdout.splitlines() if line.strip()]
            state[key] = (lines[0].strip() if lines else "") if key == "head" else [
                line[3:] for line in lines]
    return state


def _loadavg() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --- Profiling ------------------------------------------------------------------------------


def run_profile(cfg: Dict[str, Any], env: Dict[str, str], workdir: str,
                clock: str) -> Dict[str, Any]:
    """cProfile of mcp_ref's ping and sequential echo paths, every thread of both processes."""
    import io
    import pstats
    report: Dict[str, Any] = {}
    for what in ("ping", "echo"):
        result = run_child([PY, os.path.join(HERE, "mcp_driver.py"), "--n",
                            str(cfg["profile_n"]), "--profile-dir", workdir,
                            "--profile-what", what, "--profile-clock", clock], env,
                           timeout=cfg["timeout"])
        meta = result.json()
        if result.returncode != 0 or meta is None:
            print("profile of %s failed: %s" % (what, result.failure()))
            continue
        report[what] = meta
        print("\n== cProfile of the %s path: %d x %s in %s ms wall (profiled); clock: %s ==" % (
            what, cfg["profile_n"], what, fmt(meta.get("elapsed_ms")), clock))
        for side in ("client", "server"):
            path = os.path.join(workdir, "%s_%s.prof" % (side, what))
            if not os.path.exists(path):
                print("no %s profile for %s" % (side, what))
                continue
            for order, count in (("cumulative", 25), ("tottime", 15)):
                stream = io.StringIO()
                stats = pstats.Stats(path, stream=stream)
                stats.strip_dirs().sort_stats(order).print_stats(count)
                text = stream.getvalue()
                body = text[text.find("ncalls"):] if "ncalls" in text else text
                print("\n-- %s path, %s process (all threads, incl. 20 warm-up calls), top %d "
                      "by %s --" % (what, side, count, order))
                print(body.rstrip())
            report[what]["%s_stats_file" % side] = path
    return report


# --- Main -----------------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a fast smoke run (< 1 min)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 5; quick 2)")
    ap.add_argument("--json", metavar="FILE", help="write raw samples and summaries here")
    ap.add_argument("--profile", action="store_true",
                    help="after the run, cProfile mcp_ref's ping and echo paths (top 25)")
    ap.add_argument("--profile-only", action="store_true", help="only the profile")
    ap.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu",
                    help="cProfile timer: each thread's CPU time (default; blocked waits "
                         "count ~0) or wall-clock time")
    ap.add_argument("--system-python", action="store_true",
                    help="run the Python children on this interpreter as installed, site "
                         "hooks and all, instead of a stock venv of it (D-72)")
    ap.add_argument("--peers", default=os.environ.get("MCP_REF_PEERS", "/tmp/mcp_ref_peers"),
                    help="where the official SDKs are installed ($MCP_REF_PEERS)")
    ap.add_argument("--shared", default=None,
                    help="the shared peers folder (default: ../shared/peers from the repo)")
    args = ap.parse_args(argv)

    cfg = dict(QUICK if args.quick else FULL)
    if args.reps is not None:
        if args.reps < 1:
            ap.error("--reps must be at least 1")
        cfg["reps"] = args.reps
    started = time.perf_counter()
    machine = machine_facts()
    pycache = tempfile.mkdtemp(prefix="mcp_ref_bench_pycache_")
    profdir = tempfile.mkdtemp(prefix="mcp_ref_bench_prof_") if (
        args.profile or args.profile_only) else None
    try:
        return _run(args, cfg, machine, pycache, profdir, started)
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
        if profdir and not args.json:
            shutil.rmtree(profdir, ignore_errors=True)


def _run(args: argparse.Namespace, cfg: Dict[str, Any], machine: Dict[str, Any], pycache: str,
         profdir: Optional[str], started: float) -> int:
    global PY
    env = python_env(pycache)
    print("mcp_ref benchmark (issue 7) -- %s run, %d repetitions, N=%d" % (
        "quick" if args.quick else "full", cfg["reps"], cfg["n"]))
    if not args.system_python:
        stock, reason = stock_python(pycache)
        if stock is None:
            print("NOTE: the Python children run on %s as installed, site hooks and all: %s"
                  % (SYSTEM_PY, reason))
        else:
            PY = stock
    machine["children_python"] = PY
    if PY != SYSTEM_PY:               # the path is gone once the run ends: say what it was
        machine["children_python_is"] = "a venv of %s made for this run, since removed" % SYSTEM_PY
    print("machine: nproc=%s, CPU %s, Python %s (%s), %s; load average at start %s" % (
        machine["nproc"], machine["cpu_model"], machine["python"], SYSTEM_PY,
        machine["platform"], machine["loadavg_start"]))
    if PY != SYSTEM_PY:
        print("Python children: %s, a venv of it without pip, site-packages or .pth hooks"
              % PY)
    git = machine.get("git") or {}
    if git:
        print("mcp_ref at %s%s" % (git.get("head", "?"), (", with uncommitted changes in: "
                                                          + " ".join(git["dirty"]))
                                   if git.get("dirty") else ""))

    if args.profile_only:
        assert profdir is not None
        run_profile(cfg, env, profdir, args.profile_clock)
        return 0

    shared = shared_peers_dir(args.shared)
    pairs = build_pairs(cfg, pycache, shared, args.peers)
    by_key = {p.key: p for p in pairs}
    for p in pairs:
        status = "installed" if p.installed else "not installed: " + p.reason
        print("pair %-13s %s" % (p.key, status))

    # Warm the private bytecode cache: one tiny pass of every Python child.
    warm = [[PY, os.path.join(HERE, "floor_driver.py"), "--mode", "thread", "--n", "5",
             "--windows", "1", "--pipeline-total", "5", "--payloads", ""],
            [PY, os.path.join(HERE, "mcp_driver.py"), "--n", "5", "--windows", "1",
             "--pipeline-total", "5", "--refusal-windows", "", "--payloads", ""],
            [PY, "-c", IMPORT_CODE + ", mcp_ref.reference, mcp_ref.__main__, cProfile, pstats"]]
    if PY != SYSTEM_PY:
        warm.append([SYSTEM_PY, "-c", IMPORT_CODE])
    for argv_ in warm:
        result = run_child(argv_, env, timeout=cfg["timeout"])
        if result.returncode != 0:
            print("warm-up failed (%s): %s" % (" ".join(argv_[1:3]), result.failure()))

    imports: List[Dict[str, Any]] = []
    units: List[Any] = [p for p in pairs if p.installed] + ["import"]
    for rep in range(cfg["reps"]):
        shift = rep % len(units)
        order = units[shift:] + units[:shift]
        t_rep = time.perf_counter()
        for unit in order:
            if unit == "import":
                imports.append(measure_import(env, cfg["import_runs"], rep))
                continue
            unit.raw.append(measure_pair(unit, rep, cfg))
        print("  repetition %d/%d done in %.1f s (load average %s)" % (
            rep + 1, cfg["reps"], time.perf_counter() - t_rep, _loadavg()))

    print()
    print(render_table(pairs, cfg))
    failed = failure_lines(pairs, cfg)
    if failed:
        print("\nFigures a pair could not measure:")
        for line in failed:
            print("  " + line)
    extra_reps = cfg["peer_extra_reps"]
    if extra_reps is not None and extra_reps < cfg["reps"] and any(p.extra for p in pairs):
        print("note: the SDK pairs' pipelined and payload figures come from %s only (of %d)." % (
            "repetition 1" if extra_reps == 1 else "repetitions 1-%d" % extra_reps, cfg["reps"]))

    print()
    for line in import_lines(imports):
        print(line)
    shared_pair = by_key["shared_floor"]
    if shared_pair.installed and shared_pair.values:
        print("cross-check, shared raw_pipe_baseline.py (N=%d): direct ping %s us, echo %s "
              "calls/s; thread ping %s us, echo %s calls/s" % (
                  cfg["n"], cell(column(shared_pair, "direct_ping_us")),
                  cell(column(shared_pair, "direct_echo_cps")),
                  cell(column(shared_pair, "thread_ping_us")),
                  cell(column(shared_pair, "thread_echo_cps"))))
    split = by_key["split"]
    if split.values:
        print("split (N=%d), ping us / echo calls/s: floor client + mcp_ref server %s / %s; "
              "mcp_ref client + floor child %s / %s" % (
                  cfg["n"], cell(column(split, "srv_ping_us")),
                  cell(column(split, "srv_echo_cps")), cell(column(split, "cli_ping_us")),
                  cell(column(split, "cli_echo_cps"))))
        print("split, CPU per ping (us) client / server process: floor client + mcp_ref "
              "server %s / %s; mcp_ref client + floor child %s / %s" % (
                  cell(column(split, "srv_ping_cpu_client")),
                  cell(column(split, "srv_ping_cpu_server")),
                  cell(column(split, "cli_ping_cpu_client")),
                  cell(column(split, "cli_ping_cpu_server"))))
    mcp_raw = [e["raw"] for e in by_key["mcp_ref"].raw if "raw" in e]
    if mcp_raw and mcp_raw[-1].get("stock_bursts"):
        print("note: the pipelined rows of mcp_ref use tests/bench/bench_server.py (the "
              "reference server with its in-flight limit raised); the stock `serve` refuses "
              "a tool call on a worker beyond 64 in flight with -32603 (the 'refused' rows), "
              "but its echo runs inline (D-70) and counts against no limit.")

    results = targets(by_key, imports)
    print()
    print("Targets (same run; ratio of medians, per-repetition range of paired ratios):")
    for target in results:
        print("  " + target.line())
    for line in info_lines(by_key):
        print("  " + line)

    profile_report = None
    if args.profile and profdir is not None:
        profile_report = run_profile(cfg, env, profdir, args.profile_clock)

    machine["loadavg_end"] = _loadavg()
    elapsed = time.perf_counter() - started
    print()
    print("done in %.1f s; load average at end %s" % (elapsed, machine["loadavg_end"]))

    if args.json:
        document = {
            "machine": machine, "config": cfg, "elapsed_s": round(elapsed, 1),
            "pairs": {p.key: {"label": p.label, "installed": p.installed, "reason": p.reason,
                              "argv": p.argv, "extra_argv": p.extra, "repetitions": p.raw,
                              "failed": p.failed,
                              "summary": {k: summarize(column(p, k))
                                          for k in sorted({k for v in p.values for k in v})}}
                      for p in pairs},
            "import": {"code": IMPORT_CODE, "python": PY, "system_python": SYSTEM_PY,
                       "repetitions": imports,
                       **{key: summarize([x for entry in imports for x in entry.get(key, ())])
                          for key in ("bare_ms", "import_ms", "stdlib_ms", "system_bare_ms",
                                      "system_import_ms")}},
            "targets": [t.as_dict() for t in results],
            "profile": profile_report,
        }
        with open(args.json, "w") as f:
            json.dump(document, f, indent=1)
        print("raw samples and summaries written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
