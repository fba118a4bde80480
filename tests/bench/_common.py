"""Helpers shared by the benchmark's driver scripts. Standard library only, Python 3.9+.

Kept small on purpose: the drivers report their own peak RSS, so everything imported here
is part of what they measure. cProfile and pstats are imported only when profiling.
"""

import json
import os
import resource
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

#: The alphabet of the payloads: base64's, as in a file or an image travelling in a tool
#: result. No character in it needs escaping in JSON.
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

MIB = 1024 * 1024


def payload_text(nbytes: int) -> str:
    """An ASCII string of exactly ``nbytes`` characters (and bytes)."""
    reps = nbytes // len(_ALPHABET) + 1
    return (_ALPHABET * reps)[:nbytes].decode("ascii")


def proc_status_kb(pid: Any, field: str) -> Optional[int]:
    """A ``kB`` field of /proc/<pid>/status (VmHWM: peak RSS, VmRSS: current RSS); None if the
    process is gone or this is not Linux."""
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def child_pids(pid: Any = "self") -> List[int]:
    """The children of a process (every thread's), from /proc/<pid>/task/*/children; empty if
    that is not readable."""
    kids: List[int] = []
    try:
        for tid in os.listdir("/proc/%s/task" % pid):
            with open("/proc/%s/task/%s/children" % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        pass
    return kids


def proc_sched(pid: Any) -> Optional[Tuple[float, int]]:
    """(CPU seconds, times scheduled in) of a process so far, summed over its live threads
    from /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU, run count). None if that is
    not readable (no /proc, or a kernel without schedstats)."""
    try:
        cpu_ns = runs = 0
        for tid in os.listdir("/proc/%s/task" % pid):
            with open("/proc/%s/task/%s/schedstat" % (pid, tid)) as f:
                fields = f.read().split()
            cpu_ns += int(fields[0])
            runs += int(fields[2])
        return cpu_ns / 1e9, runs
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU time and wake-ups (times a thread was scheduled in) of this process and of one
    child process over a stretch of work, per call. Threads that exit meanwhile drop out of
    the sums; none of the measured ones does."""

    def __init__(self, child_pid: int) -> None:
        self.child_pid = child_pid
        self.client0 = proc_sched("self")
        self.server0 = proc_sched(child_pid)

    def per_call_us(self, calls: int) -> Dict[str, Optional[float]]:
        out: Dict[str, Optional[float]] = {}
        for side, pid, before in (("client", "self", self.client0),
                                  ("server", self.child_pid, self.server0)):
            after = proc_sched(pid)
            if before is None or after is None:
                out[side] = out[side + "_wakeups"] = None
            else:
                out[side] = round((after[0] - before[0]) / calls * 1e6, 2)
                out[side + "_wakeups"] = round((after[1] - before[1]) / calls, 2)
        return out


def sequential_figures(out: Dict[str, Any], ping: Callable[[], Any],
                       echo: Callable[[str], str], n: int, child_pid: int) -> None:
    """The sequential figures of a driver, measured the same way for every pair: after 20
    warm-up calls, ``n`` timed pings, then ``n`` timed echoes (``echo(text)`` returns the
    echoed text), each with CPU time and wake-ups per call in both processes."""
    out["ping_us"], _, out["ping_cpu_us"], _ = _timed_calls(lambda i: ping(), n, child_pid)
    out["echo_us"], elapsed, out["echo_cpu_us"], text = _timed_calls(
        lambda i: echo("hello %d" % i), n, child_pid)
    out["echo_calls_per_s"] = round(n / elapsed, 1)
    assert text == "hello %d" % (n - 1), text


def _timed_calls(call: Callable[[int], Any], n: int, child_pid: int) -> Tuple[
        List[float], float, Dict[str, Optional[float]], Any]:
    """Per-call times (us), total seconds, CPU per call and the last result of ``call(i)``."""
    for i in range(min(20, n)):
        call(i)
    samples: List[float] = []
    meter = CpuMeter(child_pid)
    last = None
    started = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        last = call(i)
        samples.append(us(time.perf_counter() - t))
    return samples, time.perf_counter() - started, meter.per_call_us(n), last


def self_peak_rss_kb() -> int:
    """ru_maxrss of this process, in kB (Linux reports kB; macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def int_list(text: str) -> List[int]:
    """``"1,8,40"`` -> ``[1, 8, 40]``; ``""`` -> ``[]``."""
    return [int(x) for x in text.split(",") if x]


def burst_count(window: int, base_total: int) -> int:
    """Bursts of ``window`` in flight that send at least ``base_total`` messages (at least 1)."""
    return max(1, -(-base_total // window))


def burst_entry(total: int, ok: int, errors: int, elapsed: float,
                **extra: Any) -> Dict[str, Any]:
    """One pipelined figure: ``total`` messages in ``elapsed`` seconds."""
    entry = {"messages": total, "ok": ok, "errors": errors, "elapsed_ms": ms(elapsed),
             "per_message_us": round(elapsed / total * 1e6, 2)}
    entry.update(extra)
    return entry


def more_spawn_samples(out: Dict[str, Any], key: str, first: float, sample: Callable[[], float],
                       count: int) -> None:
    """``out[key]``: the median of ``first`` and ``count - 1`` more samples; every sample in
    ``spawn_samples_ms``. A later sample that fails is named in ``spawn_sample_errors`` and
    left out, so that one bad spawn does not lose the repetition's other figures."""
    samples = [first]
    errors = []
    for _ in range(count - 1):
        try:
            samples.append(sample())
        except Exception as exc:             # noqa: BLE001 -- reported, not raised
            errors.append("%s: %s" % (type(exc).__name__, exc))
    out["spawn_samples_ms"] = samples
    if errors:
        out["spawn_sample_errors"] = errors
    out[key] = statistics.median(samples)


def us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def emit(result: Dict[str, Any]) -> None:
    """The driver's one output: a JSON object on the last line of stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


class ThreadProfiler:
    """cProfile for every thread of this process, not only the one that enables it.

    cProfile (before Python 3.12) profiles the calling thread only. ``install()`` wraps
    ``threading.Thread.run`` so that each thread started afterwards runs under its own
    profiler; ``main()`` gives the profiler for the calling thread. ``merged()`` adds up the
    profiles of the threads that have *finished* (a live thread's profile is still changing)
    and of the main thread's profiler once disabled.
    """

    def __init__(self, clock: str = "cpu") -> None:
        import cProfile
        import time
        self._cprofile = cProfile
        # "cpu": each thread's own CPU time, so time blocked in a wait counts ~0 and the
        # tables show where CPU goes; "wall": wall-clock time, waits included.
        self._timer = time.thread_time if clock == "cpu" else time.perf_counter
        self._lock = threading.Lock()
        self._finished: List[Tuple[str, Any]] = []
        self.main_profile = self._new()

    def _new(self) -> Any:
        return self._cprofile.Profile(self._timer)

    def install(self) -> None:
        original = threading.Thread.run
        profiler = self

        def run(thread: threading.Thread) -> None:
            prof = profiler._new()
            prof.enable()
            try:
                original(thread)
            finally:
                prof.disable()
                prof.create_stats()
                with profiler._lock:
                    profiler._finished.append((thread.name, prof))

        threading.Thread.run = run  # type: ignore[assignment]

    def join_others(self, timeout: float) -> List[str]:
        """Wait (bounded) for every other thread to end; return the names still alive."""
        import time
        deadline = time.monotonic() + timeout
        alive = []
        for thread in threading.enumerate():
            if thread is threading.current_thread():
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                alive.append(thread.name)
        return alive

    def dump(self, path: str) -> Dict[str, Any]:
        """Write the merged stats of the main profiler and every finished thread to ``path``."""
        import pstats
        self.main_profile.disable()
        self.main_profile.create_stats()
        with self._lock:
            finished = list(self._finished)
        profiles = [("main", self.main_profile)] + finished
        profiles = [(name, prof) for name, prof in profiles if getattr(prof, "stats", None)]
        if not profiles:
            return {"threads": []}
        stats = pstats.Stats(profiles[0][1])   # pstats.Stats refuses an empty profile
        for _, prof in profiles[1:]:
            stats.add(prof)
        stats.dump_stats(path)
        return {"threads": [name for name, _ in profiles]}
