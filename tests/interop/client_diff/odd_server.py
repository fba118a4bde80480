#!/usr/bin/env python3
"""Scripted odd MCP server over stdio: odd_server.py SCENARIO LOGFILE (``--list``: the scenarios).

Logs every line it reads (raw bytes, latin-1) to LOGFILE as JSON lines {"in": ...} and every
line it writes as {"out": ...}. Answers initialize/ping/tools/call normally unless SCENARIO
says otherwise.
"""
import collections
import json, os, sys, time

#: Every scenario, in the order of spec_notes/differential.md's rows C1-C35 (run_all.sh and
#: tests/interop/test_client_diff.py read this list).
SCENARIOS = """init_unsupported init_future init_older init_no_caps init_no_info init_version_int
init_result_null init_extra init_error init_string_id string_id unknown_id duplicate_response
error_code_string error_code_float error_no_message result_and_error result_not_object
tool_result_no_content tool_result_content_string tools_list_no_tools id_null_error
batch_response malformed_json not_jsonrpc non_utf8 non_utf8_response crlf blank_lines huge_line
ping_before_initialized log_before_init_result roots_before_initialized roots_after
sampling_undeclared elicit_undeclared server_unknown_method server_request_bad_id
server_request_same_id undeclared_notification unknown_notification progress_decreasing
progress_unknown_token progress_after_result progress_ok stderr_noise stdout_closed exit_midcall
exit_in_init""".split()
if sys.argv[1:] == ["--list"]:
    print(" ".join(SCENARIOS))
    sys.exit(0)
SC, LOG = sys.argv[1], sys.argv[2]
assert SC in SCENARIOS, "unknown scenario %r" % SC
logf = open(LOG, "a")
out = sys.stdout.buffer


def log(**kw):
    logf.write(json.dumps(kw) + "\n"); logf.flush()


def raw(b: bytes):
    log(out=b[:300].decode("latin-1") + ("...(%d bytes)" % len(b) if len(b) > 300 else ""))
    try:
        out.write(b); out.flush()
    except BrokenPipeError:
        log(note="broken pipe")


def send(obj, end=b"\n"):
    raw(json.dumps(obj).encode() + end)


def result(id_, res):
    send({"jsonrpc": "2.0", "id": id_, "result": res})


INIT_OK = {"capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "0"}}
pings = 0
calls = 0
# C22, C23: the client answers roots/list "s2" from a thread of its own while its script goes
# on, and a close before that answer was written would drop it (a race, not a behaviour; D-97).
# So the client's requests after "s2" are held, and answered in order once its answer is read:
# the script cannot end before the answer is on the wire (D-101).
awaiting_s2 = False
held = []
replay = collections.deque()


def incoming():
    for line in sys.stdin.buffer:
        log(**{"in": line.decode("latin-1")})
        yield line
        while replay:
            yield replay.popleft()


for line in incoming():
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if not isinstance(msg, dict):
        continue
    m, i = msg.get("method"), msg.get("id")
    if m == "initialize":
        v = msg["params"]["protocolVersion"]
        res = dict(INIT_OK, protocolVersion=v)
        if SC == "init_unsupported": res["protocolVersion"] = "1999-01-01"
        if SC == "init_older": res["protocolVersion"] = "2024-11-05"
        if SC == "init_future": res["protocolVersion"] = "2099-01-01"
        if SC == "init_version_int": res["protocolVersion"] = 20251125
        if SC == "init_no_caps": del res["capabilities"]
        if SC == "init_no_info": del res["serverInfo"]
        if SC == "init_extra": res["extra"] = 1
        if SC == "init_error":
            send({"jsonrpc": "2.0", "id": i, "error": {"code": -32602, "message": "no"}}); continue
        if SC == "init_string_id": i = str(i)
        if SC == "init_result_null": res = None
        if SC == "ping_before_initialized":
            send({"jsonrpc": "2.0", "id": "s1", "method": "ping"})
        if SC == "roots_before_initialized":
            send({"jsonrpc": "2.0", "id": "s1", "method": "roots/list"})
        if SC == "log_before_init_result":
            send({"jsonrpc": "2.0", "method": "notifications/message",
                  "params": {"level": "info", "data": "early"}})
        if SC == "stderr_noise":
            sys.stderr.write("noise\n" * 1000 + "\x00\xff bin\n"); sys.stderr.flush()
        if SC == "crlf": send({"jsonrpc": "2.0", "id": i, "result": res}, end=b"\r\n"); continue
        if SC == "blank_lines": raw(b"\n  \n\t\n")
        if SC == "exit_in_init": sys.exit(3)
        result(i, res)
        continue
    if m == "notifications/initialized":
        if SC in ("roots_after", "roots_before_initialized"):
            send({"jsonrpc": "2.0", "id": "s2", "method": "roots/list"})
            awaiting_s2 = True
        if SC == "sampling_undeclared":
            send({"jsonrpc": "2.0", "id": "s3", "method": "sampling/createMessage",
                  "params": {"messages": [], "maxTokens": 5}})
        if SC == "server_unknown_method":
            send({"jsonrpc": "2.0", "id": "s4", "method": "nope/nope"})
        if SC == "elicit_undeclared":
            send({"jsonrpc": "2.0", "id": "s5", "method": "elicitation/create",
                  "params": {"message": "x",
                             "requestedSchema": {"type": "object", "properties": {}}}})
        if SC == "server_request_bad_id":
            send({"jsonrpc": "2.0", "id": None, "method": "ping"})
            send({"jsonrpc": "2.0", "id": 1.5, "method": "ping"})
        continue
    if awaiting_s2 and m is None and i == "s2":
        awaiting_s2 = False
        replay.extend(held)
        held.clear()
    if awaiting_s2 and m is not None and i is not None:
        held.append(line)
        continue
    if i is None or m is None:
        continue                       # a response or a notification from the client
    if m == "ping":
        pings += 1
        first = pings == 1
        if first and SC == "unknown_id":
            result(999, {})
        if first and SC == "duplicate_response":
            result(i, {}); result(i, {}); continue
        if first and SC == "error_code_string":
            send({"jsonrpc": "2.0", "id": i, "error": {"code": "oops", "message": "m"}}); continue
        if first and SC == "error_code_float":
            send({"jsonrpc": "2.0", "id": i, "error": {"code": -32000.5, "message": "m"}})
            continue
        if first and SC == "error_no_message":
            send({"jsonrpc": "2.0", "id": i, "error": {"code": -32000}}); continue
        if first and SC == "string_id":
            result(str(i), {}); continue
        if first and SC == "result_and_error":
            send({"jsonrpc": "2.0", "id": i, "result": {}, "error": {"code": 1, "message": "m"}})
            continue
        if first and SC == "result_not_object":
            result(i, [1]); continue
        if first and SC == "id_null_error":
            send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse"}})
        if first and SC == "server_request_same_id":
            send({"jsonrpc": "2.0", "id": i, "method": "ping"})
        if first and SC == "undeclared_notification":
            send({"jsonrpc": "2.0", "method": "notifications/resources/updated",
                  "params": {"uri": "x:/y"}})
            send({"jsonrpc": "2.0", "method": "notifications/prompts/list_changed"})
        if first and SC == "unknown_notification":
            send({"jsonrpc": "2.0", "method": "notifications/whatever", "params": {}})
        if first and SC == "malformed_json":
            raw(b'{"jsonrpc":"2.0","id":\n')
        if first and SC == "not_jsonrpc":
            raw(b'42\n'); raw(b'{"id":5}\n'); raw(b'[]\n')
        if first and SC == "non_utf8":
            raw(b'{"jsonrpc":"2.0","method":"notifications/message",'
                b'"params":{"level":"info","data":"\xff\xfe"}}\n')
        if first and SC == "non_utf8_response":
            raw(b'{"jsonrpc":"2.0","id":%s,"result":{"_meta":{"x":"\xff"}}}\n'
                % json.dumps(i).encode())
            continue
        if first and SC == "huge_line":
            raw(b'{"jsonrpc":"2.0","method":"notifications/message",'
                b'"params":{"level":"info","data":"' + b"a" * (11 * 1024 * 1024) + b'"}}\n')
        if first and SC == "stdout_closed":
            os.close(1); log(note="stdout closed")
            for line in sys.stdin.buffer:      # alive, reading, until the client closes stdin
                log(**{"in": line.decode("latin-1")})
            sys.exit(0)
        if first and SC == "exit_midcall":
            sys.exit(3)
        if first and SC == "batch_response":
            raw(json.dumps([{"jsonrpc": "2.0", "id": i, "result": {}}]).encode() + b"\n"); continue
        if SC == "crlf":
            send({"jsonrpc": "2.0", "id": i, "result": {}}, end=b"\r\n"); continue
        if SC == "blank_lines": raw(b"\n\r\n")
        result(i, {})
        continue
    if m == "tools/call":
        calls += 1
        tok = (msg.get("params", {}).get("_meta") or {}).get("progressToken")
        P = lambda t, p, **k: (send({"jsonrpc": "2.0", "method": "notifications/progress",
                                     "params": dict(progressToken=t, progress=p, **k)})
                               or time.sleep(0.1))
        if SC == "progress_unknown_token":
            P("nobody", 1)
        if SC == "progress_decreasing" and tok is not None:
            P(tok, 2, total=4); P(tok, 1, total=4); P(tok, 3, total=4)
        if SC == "progress_after_result" and tok is not None:
            result(i, {"content": [{"type": "text", "text": "a"}]}); P(tok, 1); continue
        if SC == "progress_ok" and tok is not None:
            # both notifications and the result in one write: the client reads them together
            line = lambda obj: json.dumps(obj).encode() + b"\n"
            raw(b"".join(line({"jsonrpc": "2.0", "method": "notifications/progress",
                                "params": {"progressToken": tok, "progress": p, "total": 2}})
                         for p in (1, 2)) + line({"jsonrpc": "2.0", "id": i, "result": {
                             "content": [{"type": "text", "text": "a"}]}}))
            continue
        if SC == "tool_result_no_content":
            result(i, {}); continue
        if SC == "tool_result_content_string":
            result(i, {"content": "hello"}); continue
        result(i, {"content": [{"type": "text", "text": "a"}]})
        continue
    if m == "tools/list":
        if SC == "tools_list_no_tools":
            result(i, {}); continue
        result(i, {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}); continue
    send({"jsonrpc": "2.0", "id": i, "error": {"code": -32601, "message": "nope"}})
log(note="stdin EOF")
