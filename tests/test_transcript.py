"""Transcripts (reliability scenario SC-29, P2): one JSONL record per frame with direction, id,
method and latency; the redaction hook is applied; the wire is unchanged.

The unit tests feed :class:`Transcript` frames directly; the scenario tests run a real client
against the reference server with a transcript on each side, so the server's unredacted
transcript shows what actually crossed the wire.
"""

import json
import logging
import os
import sys

import pytest

from rawpipe import SERVE
from mcp_ref.transcript import Transcript, diff, load, normalise, redact_keys

SECRET = "hunter2-s3cret"


def frames_of(path):
    return [r for r in load(str(path)) if "dir" in r]


def write_frames(transcript, direction, *messages):
    transcript.frames(direction, b"".join(json.dumps(m).encode() + b"\n" for m in messages),
                      "OPERATING")


# --- The records --------------------------------------------------------------------------


@pytest.mark.spec("BP-07")
def test_a_response_names_its_request_method_and_latency(tmp_path):
    transcript = Transcript(str(tmp_path / "t.jsonl"))
    write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 {"jsonrpc": "2.0", "id": "1", "method": "tools/list"})
    write_frames(transcript, "recv", {"jsonrpc": "2.0", "id": "1", "result": {"tools": []}},
                 {"jsonrpc": "2.0", "id": 1, "result": {}})
    transcript.close()
    ping, tools, tools_answer, ping_answer = frames_of(tmp_path / "t.jsonl")
    assert (ping["id"], ping["method"], ping["dir"]) == (1, "ping", "send")
    assert (tools["id"], tools["method"]) == ("1", "tools/list")
    # 1 and "1" are different ids (BP-03): each response is matched to its own request.
    assert (tools_answer["id"], tools_answer["method"]) == ("1", "tools/list")
    assert (ping_answer["id"], ping_answer["method"]) == (1, "ping")
    for answer, request in ((tools_answer, tools), (ping_answer, ping)):
        assert answer["latency"] == pytest.approx(answer["t"] - request["t"], abs=2e-6)
        assert answer["latency"] >= 0
    assert "latency" not in ping and "latency" not in tools


def test_requests_from_either_side_are_matched_in_their_own_direction(tmp_path):
    transcript = Transcript(str(tmp_path / "t.jsonl"))
    # The same id used by both peers at once: the client's 0 and the server's 0.
    write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 0, "method": "tools/call"})
    write_frames(transcript, "recv", {"jsonrpc": "2.0", "id": 0, "method": "roots/list"})
    write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 0, "result": {"roots": []}})
    write_frames(transcript, "recv", {"jsonrpc": "2.0", "id": 0, "result": {"content": []}})
    transcript.close()
    *_, roots_answer, call_answer = frames_of(tmp_path / "t.jsonl")
    assert roots_answer["method"] == "roots/list" and call_answer["method"] == "tools/call"


def test_a_peer_that_never_answers_does_not_grow_the_transcript_without_bound(tmp_path,
                                                                             monkeypatch):
    """Only the newest OPEN_REQUESTS_MEMORY unanswered requests are remembered; a response to
    a forgotten one is still recorded, with its id but no method or latency."""
    import mcp_ref.transcript as transcript_module
    monkeypatch.setattr(transcript_module, "OPEN_REQUESTS_MEMORY", 3)
    transcript = Transcript(str(tmp_path / "t.jsonl"))
    write_frames(transcript, "send", *[{"jsonrpc": "2.0", "id": n, "method": "ping"}
                                       for n in range(5)])
    assert len(transcript._requests) == 3
    write_frames(transcript, "recv", {"jsonrpc": "2.0", "id": 0, "result": {}},
                 {"jsonrpc": "2.0", "id": 4, "result": {}})
    transcript.close()
    forgotten, newest = frames_of(tmp_path / "t.jsonl")[-2:]
    assert forgotten["id"] == 0 and "latency" not in forgotten and "method" not in forgotten
    assert newest["method"] == "ping" and "latency" in newest


@pytest.mark.spec("CN-01", "BP-12", "BP-14")
def test_notifications_cancels_and_unmatched_responses(tmp_path):
    transcript = Transcript(str(tmp_path / "t.jsonl"))
    write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 5, "method": "tools/call"},
                 {"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": 5}})
    # After the cancel, a late response is no longer "the answer" to a known request.
    write_frames(transcript, "recv", {"jsonrpc": "2.0", "id": 5, "result": {}},
                 {"jsonrpc": "2.0", "id": None,
                  "error": {"code": -32700, "message": "Parse error"}})
    transcript.frames("recv", b"not json\n", "OPERATING")
    transcript.close()
    call, cancel, late, parse_error, garbage = frames_of(tmp_path / "t.jsonl")
    assert cancel["method"] == "notifications/cancelled" and "id" not in cancel
    assert late["id"] == 5 and "method" not in late and "latency" not in late
    assert parse_error["id"] is None and "method" not in parse_error
    assert garbage["raw"] == "not json" and "id" not in garbage
    assert transcript._requests == {}       # nothing left waiting after the cancel


def test_the_redact_hook_sees_every_message_and_raw_line(tmp_path):
    seen = []

    def redact(message):
        seen.append(message)
        return "<hidden>" if isinstance(message, str) else {"kept": sorted(message)}

    transcript = Transcript(str(tmp_path / "t.jsonl"), redact=redact)
    write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    transcript.frames("recv", f"garbage {SECRET}\n".encode(), "OPERATING")
    transcript.close()
    text = (tmp_path / "t.jsonl").read_text()
    assert SECRET not in text
    ping, garbage = frames_of(tmp_path / "t.jsonl")
    assert ping["msg"] == {"kept": ["id", "jsonrpc", "method"]}
    assert (ping["id"], ping["method"]) == (1, "ping")       # correlation is not redacted
    assert garbage["raw"] == "<hidden>"
    assert seen == [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, f"garbage {SECRET}"]


def test_a_failing_redact_hook_records_nothing_of_the_message_and_breaks_nothing(tmp_path,
                                                                               caplog):
    def redact(message):
        if "boom" in json.dumps(message):
            raise KeyError("no such member")
        return {1, 2} if isinstance(message, dict) else message    # not JSON: recorded as repr

    transcript = Transcript(str(tmp_path / "t.jsonl"), redact=redact)
    write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 1, "method": "boom",
                                      "params": {"secret": SECRET}},
                 {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    transcript.close()
    failed, ping = frames_of(tmp_path / "t.jsonl")
    assert failed["msg"] == "<not recorded: the redact hook raised KeyError>"
    assert SECRET not in (tmp_path / "t.jsonl").read_text()
    assert ping["msg"] == "{1, 2}" and ping["method"] == "ping"
    assert "redact hook raised" in caplog.text


def test_redact_keys_masks_members_by_name_at_any_depth():
    redact = redact_keys("password", "Authorization")
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "login", "arguments": {"user": "ann", "PASSWORD": SECRET,
                                                         "headers": [{"authorization": "x"}]}}}
    assert redact(message)["params"] == {
        "name": "login", "arguments": {"user": "ann", "PASSWORD": "<redacted>",
                                       "headers": [{"authorization": "<redacted>"}]}}
    assert message["params"]["arguments"]["PASSWORD"] == SECRET     # a copy, not in place
    assert redact("a raw line") == "a raw line"


# --- SC-29: a real session ----------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
@pytest.mark.spec("TR-06", "BP-07")
def test_sc29_trace_with_a_secret_in_the_arguments(inv, tmp_path):
    """Client transcript with a redact hook, server transcript without: the secret crossed
    the wire unchanged (the server got it and echoed it), and only the hook hid it."""
    client_path, server_path = tmp_path / "client.jsonl", tmp_path / "server.jsonl"
    client = inv.spawn(SERVE + ["--trace", str(server_path)],
                       trace=Transcript(str(client_path), redact=redact_keys("text")))
    with client:
        client.ping()
        result = client.call_tool("echo", {"text": SECRET})
        assert result["content"][0]["text"] == SECRET           # the wire is unchanged
    sent, received = frames_of(client_path), frames_of(server_path)

    assert SECRET not in client_path.read_text()                # the hook was applied
    assert SECRET in server_path.read_text()                    # what really crossed
    assert len(sent) == len(received)                           # one record per frame
    assert [r["dir"] for r in sent] == [{"send": "recv", "recv": "send"}[r["dir"]]
                                        for r in received]
    mask = redact_keys("text")
    for mine, theirs in zip(sent, received):                    # the same frames, but for
        assert mine["msg"] == mask(theirs["msg"])               # the masked members

    for records in (sent, received):
        for record in records:
            msg = record["msg"]
            if "method" in msg:                                 # request or notification
                assert record["method"] == msg["method"]
                assert record.get("id") == msg.get("id")
            else:                                               # a response
                assert record["id"] == msg["id"] and record["latency"] >= 0
        call = [r for r in records if r.get("method") == "tools/call"]
        assert [("id" in r, "latency" in r) for r in call] == [(True, False), (True, True)]



# --- A transcript that cannot be written ---------------------------------------------------


needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"),
                                    reason="/dev/full (every write fails with ENOSPC)")


@needs_dev_full
def test_a_transcript_that_cannot_be_written_stops_recording_and_raises_nothing(caplog):
    """Shell review F7: the disk is full (/dev/full). The first failing write is logged, once;
    the transcript stops recording and closes its file; nothing raises, close() neither."""
    transcript = Transcript("/dev/full")
    with caplog.at_level(logging.WARNING, logger="mcp_ref.transcript"):
        for _ in range(3):
            write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
            transcript.event("exit", code=0)
        transcript.close()
        transcript.close()
    warnings = [r for r in caplog.records if r.name == "mcp_ref.transcript"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "/dev/full" in warnings[0].getMessage()
    assert transcript._file is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
@needs_dev_full
def test_a_session_outlives_its_failing_transcript(inv, caplog):
    """Shell review F7, end to end: a trace file that cannot be written must not break the
    session it records (the first write is the spawn record, then every frame on the reader
    thread): the calls succeed, close() is clean, and the file is closed (I4)."""
    with caplog.at_level(logging.WARNING, logger="mcp_ref.transcript"):
        with inv.spawn(SERVE, trace="/dev/full", request_timeout=10) as client:
            client.ping()
            assert client.call_tool("echo", {"text": "hi"})["content"][0]["text"] == "hi"
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING] \
        == ["mcp_ref.transcript"]


def test_a_lone_surrogate_from_the_peer_is_recorded_escaped(tmp_path):
    """Noticed with F7: a ``\\ud800`` escape is valid JSON, but the string it decodes to has no
    UTF-8 form, and writing it raised UnicodeEncodeError -- on the reader thread, ending the
    session. The record keeps the escape instead; the records around it are unchanged."""
    transcript = Transcript(str(tmp_path / "t.jsonl"))
    transcript.frames("recv", b'{"jsonrpc":"2.0","method":"m","params":{"s":"\\ud800"}}\n'
                              b'{"jsonrpc":"2.0","method":"n","params":{"s":"\xc3\xa9"}}\n',
                      "OPERATING")
    transcript.close()
    text = (tmp_path / "t.jsonl").read_text(encoding="utf-8")
    assert '"\\ud800"' in text and '"é"' in text
    lone, plain = frames_of(tmp_path / "t.jsonl")
    assert lone["msg"]["params"]["s"] == "\ud800" and plain["msg"]["params"]["s"] == "é"


# --- Lines the connection refuses (D-78) ---------------------------------------------------


@pytest.mark.spec("TR-03")
def test_a_line_longer_than_the_limit_is_recorded_as_too_long_and_not_held(tmp_path):
    """D-78: the transcript cut lines with a buffer of its own, which kept every byte of a line
    that had not ended, copied whole at each chunk: a peer that never sends a newline grew it
    without end (the connection holds at most max_line_bytes, D-03), and a 20 MiB line took
    seconds. Now it is cut as the connection cuts it: the over-long line is one record, its
    bytes dropped as they come, and the next line is recorded as usual."""
    transcript = Transcript(str(tmp_path / "t.jsonl"), max_line_bytes=100)
    for _ in range(1000):
        transcript.frames("recv", b"x" * 64, "OPERATING")        # 64 000 bytes, no newline
    held = len(transcript._lines["recv"]._partial)
    transcript.frames("recv", b'xx\n{"jsonrpc":"2.0","method":"m"}\n', "OPERATING")
    transcript.close()
    assert held <= 100
    too_long, after = frames_of(tmp_path / "t.jsonl")
    assert too_long == {"t": too_long["t"], "dir": "recv", "state": "OPERATING",
                        "too_long": 100}
    assert after["msg"] == {"jsonrpc": "2.0", "method": "m"}


def test_a_line_the_stream_ended_inside_is_recorded_as_truncated(tmp_path):
    """D-78: a last line without its newline is dropped by the connection (TruncatedAtEOF), and
    was missing from the transcript too: the end of the stream never reached it. Now it is
    recorded, marked truncated, and redacted like any other."""
    transcript = Transcript(str(tmp_path / "t.jsonl"), redact=redact_keys("token"))
    transcript.frames("send", b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n', "OPERATING")
    transcript.frames("recv", b'{"jsonrpc":"2.0","id":1,"result":{"token":"' + SECRET.encode()
                      + b'"}}', "OPERATING")
    transcript.frames("recv", b"", "OPERATING")
    transcript.close()
    assert SECRET not in (tmp_path / "t.jsonl").read_text()
    ping, cut = frames_of(tmp_path / "t.jsonl")
    assert cut["truncated"] is True and cut["dir"] == "recv"
    assert cut["msg"] == {"jsonrpc": "2.0", "id": 1, "result": {"token": "<redacted>"}}
    assert "latency" not in cut          # never delivered: it answered nothing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
def test_a_client_transcript_records_the_line_its_server_died_inside(inv, tmp_path):
    """End to end: the client passes the end of the stream to its transcript."""
    from mcp_ref.errors import McpRefError
    server = [sys.executable, "-c",
              "import sys; sys.stdin.readline(); sys.stdout.write('{\"jsonrpc\":\"2.0\",')"]
    path = tmp_path / "client.jsonl"
    with pytest.raises(McpRefError):
        inv.spawn(server, trace=str(path), handshake_timeout=10)
    received = [r for r in frames_of(path) if r["dir"] == "recv"]
    assert received == [{"t": received[0]["t"], "dir": "recv", "state": "INITIALIZING",
                         "raw": '{"jsonrpc":"2.0",', "truncated": True}]


@pytest.mark.spec("BP-01")
def test_a_line_nested_too_deep_is_recorded_as_text_and_breaks_nothing(tmp_path):
    """D-78: the transcript decoded lines with json.loads, which raised RecursionError (not
    ValueError) on a line nested 100 000 deep: on the reader thread of a traced client or
    server, ending the session that the connection alone would have kept (D-51). It now
    decodes with the connection's own reader: what that refuses is recorded as text."""
    deep = b"[" * 100_000 + b"]" * 100_000
    transcript = Transcript(str(tmp_path / "t.jsonl"))
    transcript.frames("recv", deep + b"\n" + b'{"jsonrpc":"2.0","method":"m"}\n', "OPERATING")
    transcript.close()
    refused, after = frames_of(tmp_path / "t.jsonl")
    assert refused["raw"] == deep.decode() and "msg" not in refused
    assert after["msg"] == {"jsonrpc": "2.0", "method": "m"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
@pytest.mark.spec("BP-01", "BP-12")
def test_a_traced_server_survives_a_line_nested_too_deep(inv, tmp_path):
    """End to end, on `serve --trace`: the deep line gets its parse error (BP-12, D-51), and
    the session goes on."""
    path = tmp_path / "server.jsonl"
    server = inv.raw(SERVE + ["--trace", str(path)])
    server.initialize()
    server.send(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    refused = server.wait_for(lambda f: isinstance(f, dict) and "error" in f)
    assert refused["error"]["code"] == -32700 and refused["id"] is None
    server.send_frames({"jsonrpc": "2.0", "id": 7, "method": "ping"})
    assert server.wait_response(7)["result"] == {}
    server.close_stdin()
    assert server.wait_exit() == 0
    assert any("raw" in r and r["dir"] == "recv" for r in frames_of(path))


# --- Redaction that leaked (D-78) ----------------------------------------------------------


def test_redact_keys_masks_a_line_that_is_not_json_when_it_may_name_a_member(tmp_path):
    """D-78: redact_keys gave the text of a line that is not JSON back unchanged, so a secret
    in a frame the connection refused (one invalid UTF-8 byte, two messages on one line) was
    written out in clear. Such a line is masked whole when it names a member, or holds a
    \\u escape that could spell one; a stray log line is kept for the reader."""
    secret = SECRET.encode()
    transcript = Transcript(str(tmp_path / "t.jsonl"), redact=redact_keys("Token"))
    transcript.frames("recv", b'{"jsonrpc":"2.0","id":1,"result":{"token":"' + secret
                      + b'"},"x":"\xff"}\n'
                      + b'{"jsonrpc":"2.0","method":"m","params":{"TOKEN":"' + secret + b'"}}{}\n'
                      + b'{"\\u0074oken":"' + secret + b'",}\n'
                      + b"server starting on stdout\n", "OPERATING")
    transcript.close()
    assert SECRET not in (tmp_path / "t.jsonl").read_text()
    assert [r["raw"] for r in frames_of(tmp_path / "t.jsonl")] \
        == ["<redacted>"] * 3 + ["server starting on stdout"]


def test_a_failing_redact_hook_is_logged_without_the_value_it_was_hiding(tmp_path, caplog):
    """D-78: the warning quoted the hook's exception, whose text may carry the value."""
    def redact(message):
        int(message["params"]["token"])            # ValueError: invalid literal ... 'SECRET'

    transcript = Transcript(str(tmp_path / "t.jsonl"), redact=redact)
    with caplog.at_level(logging.WARNING, logger="mcp_ref.transcript"):
        write_frames(transcript, "send", {"jsonrpc": "2.0", "method": "m",
                                          "params": {"token": SECRET}})
    transcript.close()
    assert "redact hook raised ValueError" in caplog.text and SECRET not in caplog.text
    assert SECRET not in (tmp_path / "t.jsonl").read_text()


@pytest.mark.parametrize("returned", ["tuple key", "circular"])
def test_a_redact_hook_returning_no_json_value_breaks_nothing(tmp_path, caplog, returned):
    """D-78: a value json cannot write even with default=repr raised TypeError or ValueError
    from frames(), on the reader thread of the session being recorded."""
    circular = {}
    circular["self"] = circular
    value = {(1, 2): "x"} if returned == "tuple key" else circular
    transcript = Transcript(str(tmp_path / "t.jsonl"), redact=lambda message: value)
    with caplog.at_level(logging.WARNING, logger="mcp_ref.transcript"):
        write_frames(transcript, "send", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
        transcript.event("exit", status=0)
    transcript.close()
    (ping,) = frames_of(tmp_path / "t.jsonl")
    assert ping["msg"] == "<not recorded: the redact hook returned no JSON value>"
    assert ping["method"] == "ping" and "no JSON form" in caplog.text
    assert load(str(tmp_path / "t.jsonl"))[-1]["event"] == "exit"


# --- normalise and diff (D-78) -------------------------------------------------------------


def _frame(direction, message):
    return {"t": 0.0, "dir": direction, "state": "OPERATING", "msg": message}


@pytest.mark.spec("BP-07", "CN-01", "PR-01")
def test_normalise_numbers_each_sides_requests_on_their_own(tmp_path):
    """D-78: ids were renamed in one sequence for both sides, so a server whose own requests
    are numbered from 0, like the client's, and one that numbers them from "s1" made
    different transcripts of the same behaviour. Each side's request ids (and progress
    tokens) are now numbered on their own, and a response, a cancel or a progress
    notification takes the name of the request it is about."""
    def session(server_id, token):
        return [_frame("send", {"jsonrpc": "2.0", "id": 0, "method": "initialize"}),
                _frame("recv", {"jsonrpc": "2.0", "id": 0, "result": {}}),
                _frame("send", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                "params": {"name": "t", "_meta": {"progressToken": 1}}}),
                _frame("recv", {"jsonrpc": "2.0", "id": server_id, "method": "roots/list",
                                "params": {"_meta": {"progressToken": token}}}),
                _frame("send", {"jsonrpc": "2.0", "method": "notifications/progress",
                                "params": {"progressToken": token, "progress": 1}}),
                _frame("send", {"jsonrpc": "2.0", "id": server_id, "result": {"roots": []}}),
                _frame("recv", {"jsonrpc": "2.0", "method": "notifications/progress",
                                "params": {"progressToken": 1, "progress": 1}}),
                _frame("send", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                "params": {"requestId": 1}})]

    assert diff(session(0, 1), session("s1", "tok")) == ""
    ids = [(f["msg"].get("id"), f["msg"].get("params", {}).get("requestId"))
           for f in normalise(session("s1", "tok"))]
    assert ids == [("<send-id1>", None), ("<send-id1>", None), ("<send-id2>", None),
                   ("<recv-id1>", None), (None, None), ("<recv-id1>", None), (None, None),
                   (None, "<send-id2>")]
    tokens = [f["msg"]["params"].get("progressToken",
                                     f["msg"]["params"].get("_meta", {}).get("progressToken"))
              for f in normalise(session(0, 1)) if "params" in f["msg"]]
    assert tokens == ["<send-token1>", "<recv-token1>", "<recv-token1>", "<send-token1>", None]
    # 1 and "1" stay different requests (BP-03): renaming keeps what diff must see.
    assert diff(session(0, 1), session(0, "1")) == ""
    same_id = [_frame("send", {"id": 1, "method": "a"}), _frame("send", {"id": 1, "method": "b"})]
    other_id = [same_id[0], _frame("send", {"id": "1", "method": "b"})]
    assert diff(same_id, other_id) != ""


def test_normalise_takes_linear_time(tmp_path):
    """D-78: each new id was numbered by counting every name given so far, so 20 000 requests
    (a benchmark's transcript holds more) took 40 s to normalise. A bound 40 times what it
    takes now."""
    import time
    records = [_frame("send", {"jsonrpc": "2.0", "id": n, "method": "ping"})
               for n in range(20_000)]
    started = time.monotonic()
    normalised = normalise(records)
    assert time.monotonic() - started < 10
    assert normalised[-1]["msg"]["id"] == "<send-id20000>"


def test_lines_the_connection_refused_are_compared_as_such(tmp_path):
    """A too-long line and a cut one are part of what diff compares (D-78)."""
    records = [{"t": 0, "dir": "recv", "state": "OPERATING", "too_long": 100},
               {"t": 0, "dir": "recv", "state": "OPERATING", "raw": "{", "truncated": True}]
    assert normalise(records) == [{"dir": "recv", "msg": None, "too_long": 100},
                                  {"dir": "recv", "msg": "{", "truncated": True}]


# --- A write that fails (D-86) ------------------------------------------------------------

#: A server that answers the handshake, then stops reading and runs on; with the argument
#: ``close`` it closes its stdin for good (TR-15 lets a server close its stdout; this one
#: closes the other), so that every later write of the client fails with EPIPE. Its
#: notification says when that is.
_STOPS_READING = r'''
import json, os, sys, time
request = json.loads(sys.stdin.readline())
print(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {
    "protocolVersion": request["params"]["protocolVersion"], "capabilities": {},
    "serverInfo": {"name": "stops-reading", "version": "0"}}}), flush=True)
sys.stdin.readline()                                     # notifications/initialized
if sys.argv[1:] == ["close"]:
    os.close(0)
print(json.dumps({"jsonrpc": "2.0", "method": "notifications/stdin-closed"}), flush=True)
time.sleep(60)
'''


def _not_sent_after(records, method):
    """The record that follows the last frame sent with ``method``."""
    sent = [i for i, r in enumerate(records) if r.get("dir") == "send"
            and isinstance(r.get("msg"), dict) and r["msg"].get("method") == method]
    assert sent, records
    return records[sent[-1] + 1] if sent[-1] + 1 < len(records) else None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
def test_a_client_write_that_fails_is_recorded_as_not_sent(inv, tmp_path):
    """D-86: a frame is recorded before it is written (so that its reply never comes first),
    and a write that then failed left the record of a ping the server never got, and nothing
    else. A ``not-sent`` event now follows it, naming the error."""
    import threading
    from mcp_ref.errors import ConnectionClosed
    path = tmp_path / "client.jsonl"
    stopped = threading.Event()
    client = inv.spawn([sys.executable, "-c", _STOPS_READING, "close"], trace=str(path),
                       on_notification=lambda method, params: stopped.set(),
                       stdin_grace=0.2, term_grace=2)
    try:
        assert stopped.wait(15)
        with pytest.raises(ConnectionClosed):
            client.ping()
    finally:
        client.close()
    after = _not_sent_after(load(str(path)), "ping")
    assert after is not None and after["event"] == "not-sent" and after["frames"] == 1
    assert after["error"].startswith("ConnectionClosed")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
def test_a_server_write_that_fails_is_recorded_as_not_sent(inv, tmp_path):
    """D-86, the server's side: its client closed the server's stdout (RL-03), so the pong
    was recorded and never delivered; ``not-sent`` says so."""
    path = tmp_path / "server.jsonl"
    server = inv.raw(SERVE + ["--trace", str(path)])
    server.initialize()
    server.close_stdout()
    server.send_frames({"jsonrpc": "2.0", "id": 7, "method": "ping"})
    assert server.wait_exit(10) == 0
    records = load(str(path))
    [pong] = [i for i, r in enumerate(records) if r.get("dir") == "send" and r.get("id") == 7]
    assert records[pong + 1]["event"] == "not-sent" and records[pong + 1]["frames"] == 1


def test_a_check_write_that_fails_is_recorded_as_not_sent(tmp_path):
    """D-86, ``check``'s side: a server that stopped reading. check goes on (no answer will
    come, and the checks see that), and its transcript says the frame never arrived."""
    from mcp_ref.check import Options, Wire
    path = tmp_path / "check.jsonl"
    argv = [sys.executable, "-c", _STOPS_READING, "close"]
    with Wire(argv, Options(trace=str(path)), "t") as wire:
        wire.request(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                       "clientInfo": {"name": "t", "version": "0"}})
        assert wire.response(1, 0) is not None
        wire.notify("notifications/initialized")
        assert wire.wait_for(lambda v: isinstance(v, dict) and v.get("method") ==
                             "notifications/stdin-closed", 0) is not None
        wire.request(2, "ping")
    after = _not_sent_after(load(str(path.with_name("check.t.jsonl"))), "ping")
    assert after is not None and after["event"] == "not-sent" and after["frames"] == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
def test_frames_queued_for_a_server_that_stopped_reading_are_counted_as_not_sent(inv,
                                                                                 tmp_path):
    """D-86: a frame the pipe could not take at once waits in the outbox (D-38), and close()
    drops what a server that stopped reading never took. It was recorded as sent; the
    client's ``close`` record now says how many bytes of it never left."""
    import threading
    path = tmp_path / "client.jsonl"
    stopped = threading.Event()
    client = inv.spawn([sys.executable, "-c", _STOPS_READING], trace=str(path),
                       on_notification=lambda method, params: stopped.set(),
                       stdin_grace=0.2, term_grace=2)
    try:
        assert stopped.wait(15)
        client.notify("notifications/big", {"data": "x" * 1_000_000})   # > any pipe buffer
    finally:
        report = client.close()
    records = load(str(path))
    assert records[-1]["event"] == "close" and report.stdin_bytes_discarded > 0
    assert records[-1]["not_sent_bytes"] == report.stdin_bytes_discarded
    assert _not_sent_after(records, "notifications/big")["event"] == "close"


# --- What the connection drops, shown (D-86) ------------------------------------------------


@pytest.mark.spec("TR-06")
def test_a_crlf_frame_and_blank_lines_are_recorded_as_they_came(tmp_path):
    """D-86: the transcript cut lines as the connection does (D-78), which drops a trailing
    ``\\r`` and blank lines (D-08), so a reader could not see what the peer actually sent,
    though ``check`` warns of CRLF and fails a blank line (TR-06). A CRLF frame is now marked
    ``"crlf": true``, and a blank line is recorded as ``"blank"``, its text."""
    path = tmp_path / "t.jsonl"
    transcript = Transcript(str(path))
    transcript.frames("send", b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n', "OPERATING")
    transcript.frames("recv", b'\n {"jsonrpc":"2.0","id":1,"result":{}}\r\n \t\r\n', "OPERATING")
    transcript.close()
    ping, blank, pong, spaces = frames_of(path)
    assert "crlf" not in ping
    assert pong["crlf"] is True and pong["msg"] == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert pong["method"] == "ping"                   # correlated as ever
    assert (blank["blank"], spaces["blank"], spaces.get("crlf")) == ("", " \t", True)
    assert "msg" not in blank and "raw" not in blank
    # diff compares them too: a server that writes CRLF or blank lines differs on the wire.
    plain = tmp_path / "plain.jsonl"
    transcript = Transcript(str(plain))
    transcript.frames("send", b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n', "OPERATING")
    transcript.frames("recv", b'{"jsonrpc":"2.0","id":1,"result":{}}\n', "OPERATING")
    transcript.close()
    assert '"crlf": true' in diff(load(str(plain)), load(str(path)))
    assert '"blank": ""' in diff(load(str(plain)), load(str(path)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the invariants read /proc")
def test_a_client_transcript_shows_its_servers_crlf(inv, tmp_path):
    """End to end, D-86: the zoo's ``crlf`` mode ends every frame with ``\\r\\n`` (RL-24)."""
    from rawpipe import zoo
    path = tmp_path / "client.jsonl"
    with inv.spawn(zoo("crlf"), trace=str(path)) as client:
        client.ping()
    received = [r for r in frames_of(path) if r["dir"] == "recv"]
    assert received and all(r.get("crlf") is True for r in received)
    assert not any("crlf" in r for r in frames_of(path) if r["dir"] == "send")
