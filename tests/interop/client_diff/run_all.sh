#!/bin/bash
# run_all.sh [SCENARIO...]: every client (mcp_ref, Python SDK, TS SDK) against every scenario of
# odd_server.py (all by default); results in $OUT (/tmp/client_diff), read with show.py (D-90).
cd "$(dirname "$0")"; P=${MCP_REF_PEERS:-/tmp/mcp_ref_peers}; OUT=${OUT:-/tmp/client_diff}; mkdir -p $OUT/out $OUT/logs; export P OUT
SCS=${@:-init_unsupported init_older init_future init_version_int init_no_caps init_no_info init_extra init_error init_string_id init_result_null exit_in_init log_before_init_result ping_before_initialized roots_before_initialized roots_after sampling_undeclared elicit_undeclared server_unknown_method server_request_bad_id server_request_same_id unknown_id duplicate_response error_code_string error_code_float error_no_message string_id result_and_error result_not_object id_null_error undeclared_notification unknown_notification malformed_json not_jsonrpc non_utf8 non_utf8_response huge_line crlf blank_lines stderr_noise stdout_closed exit_midcall batch_response progress_ok progress_unknown_token progress_decreasing progress_after_result tool_result_no_content}
run() { sc=$1 c=$2; rm -f $OUT/logs/$sc.$c.log
  case $c in ref) cmd=(python3 drive_mcp_ref.py);; py) cmd=($P/venv/bin/python drive_py_sdk.py);; ts) cmd=(env MCP_PEERS_NODE_MODULES=$P/node/node_modules node drive_ts_sdk.mjs);; esac
  timeout 40 "${cmd[@]}" $sc $OUT/logs/$sc.$c.log > $OUT/out/$sc.$c.json 2> $OUT/out/$sc.$c.err || echo "rc=$?" >> $OUT/out/$sc.$c.json; }
export -f run
for sc in $SCS; do for c in ref py ts; do echo $sc $c; done; done | xargs -P 6 -n 2 bash -c 'run "$0" "$1"'
