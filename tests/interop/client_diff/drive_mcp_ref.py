import json, os, sys, logging, io
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
from mcp_ref.client import Client
buf = io.StringIO()
h = logging.StreamHandler(buf); h.setLevel(logging.WARNING)
logging.getLogger("mcp_ref").addHandler(h)
sc, logp = sys.argv[1], sys.argv[2]
T = float(os.environ.get("CLIENT_DIFF_TIMEOUT", "2"))   # each request's timeout, s
res = {"client": "ref", "steps": [], "notes": [], "progress": []}
def err(e): return "%s: %s" % (type(e).__name__, str(e)[:200])
try:
    c = Client.spawn([sys.executable, os.path.join(HERE, "odd_server.py"), sc, logp],
                     roots=lambda: [{"uri": "file:///tmp", "name": "t"}],
                     request_timeout=T, handshake_timeout=T + 1, stdin_grace=1, term_grace=1,
                     on_notification=lambda m, p: res["notes"].append(m))
except Exception as e:
    res["steps"].append(["connect", err(e)])
else:
    res["steps"].append(["connect", "ok %s" % c.protocol_version])
    steps = [("ping", lambda: c.ping()),
             ("call", lambda: c.call_tool("echo", {"text": "a"}, on_progress=lambda *a: res["progress"].append(list(a)[:3]))),
             ("ping2", lambda: c.ping())]
    if sc.startswith("tools_list"):
        steps.insert(1, ("list", lambda: c.list_tools()))
    for name, f in steps:
        try:
            r = f(); res["steps"].append([name, "ok " + json.dumps(r)[:80]])
        except Exception as e:
            res["steps"].append([name, err(e)])
    c.close()
res["log"] = [l[:160] for l in buf.getvalue().splitlines()[:6]]
print(json.dumps(res, default=str))
