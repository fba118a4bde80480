#!/bin/bash
# run_all.sh [SCENARIO...]: every client (mcp_ref, Python SDK, TS SDK) against every scenario of
# odd_server.py (all by default); results in $OUT (/tmp/client_diff), read with show.py (D-90).
# CLIENT_DIFF_TIMEOUT: each request's timeout in seconds (2). tests/interop/test_client_diff.py
# runs the same drivers and asserts the table (D-94).
cd "$(dirname "$0")"; P=${MCP_REF_PEERS:-/tmp/mcp_ref_peers}; OUT=${OUT:-/tmp/client_diff}; mkdir -p $OUT/out $OUT/logs; export P OUT
SCS=${@:-$(python3 odd_server.py --list)}
run() { sc=$1 c=$2; rm -f $OUT/logs/$sc.$c.log
  case $c in ref) cmd=(python3 drive_mcp_ref.py);; py) cmd=($P/venv/bin/python drive_py_sdk.py);; ts) cmd=(env MCP_PEERS_NODE_MODULES=$P/node/node_modules node drive_ts_sdk.mjs);; esac
  timeout 40 "${cmd[@]}" $sc $OUT/logs/$sc.$c.log > $OUT/out/$sc.$c.json 2> $OUT/out/$sc.$c.err || echo "rc=$?" >> $OUT/out/$sc.$c.json; }
export -f run
for sc in $SCS; do for c in ref py ts; do echo $sc $c; done; done | xargs -P 6 -n 2 bash -c 'run "$0" "$1"'
