"""The reference server (``python3 -m mcp_ref serve``) with two benchmark knobs.

* ``--max-in-flight N``: the worker pool's limit. The stock server answers a request beyond
  64 in flight with -32603 "Server busy" (decision D-11), so a burst of 10 000 pipelined
  requests of a tool that runs on a worker mostly measures refusals; the pipelining figures
  raise the limit. (The reference ``echo`` is inline since D-70: it runs on the reader,
  never counts against the limit, and is refused by neither server.)
* ``--profile PATH [--profile-clock cpu|wall]``: run every thread of the server under
  cProfile and write the merged stats to PATH when the session ends.

Everything else is exactly what ``serve`` does. Needs mcp_ref importable (PYTHONPATH).
"""

import argparse
import logging
import sys
from typing import Optional

from _common import ThreadProfiler


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-in-flight", type=int, default=None)
    ap.add_argument("--profile", default=None, help="write merged cProfile stats here")
    ap.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu")
    args = ap.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="bench_server: %(levelname)s %(name)s: %(message)s")
    profiler: Optional[ThreadProfiler] = None
    if args.profile:
        profiler = ThreadProfiler(args.profile_clock)
        profiler.install()
    from mcp_ref.reference import build_server
    server = build_server()
    if args.max_in_flight:
        server.max_in_flight = args.max_in_flight
    if profiler is not None:
        profiler.main_profile.enable()
    status = server.run_stdio()
    if profiler is not None:
        profiler.main_profile.disable()
        profiler.join_others(3.0)
        profiler.dump(args.profile)
    return status


if __name__ == "__main__":
    sys.exit(main())
