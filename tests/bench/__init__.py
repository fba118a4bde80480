"""Benchmarks (issue 7): not tests. Nothing here asserts on time; run ``python3 tests/bench/run.py``.

The files in this folder are scripts that the runner starts as separate processes, so each
measurement gets a fresh interpreter (clean peak RSS, clean import state):

* ``run.py``            the runner: interleaves the pairs over repetitions, prints the table
* ``raw_echo_child.py`` the floor's child: readline -> json.loads -> json.dumps -> write -> flush
* ``floor_driver.py``   drives the floor child, with a blocking reader or a reader thread
* ``mcp_driver.py``     drives ``python3 -m mcp_ref serve`` with :class:`mcp_ref.client.Client`
* ``bench_server.py``   the reference server with a configurable in-flight limit and, on
                        request, every thread under cProfile
* ``py_sdk_extra.py``   the official Python SDK's client and server (run with the peers' venv):
                        pipelined echo and the 1/8/40 MiB round trips
* ``ts_sdk_extra.mjs``  the same for the official TypeScript SDK (run with node)
* ``_common.py``        helpers shared by the driver scripts (stdlib only)
"""
