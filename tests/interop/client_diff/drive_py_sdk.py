import json, os, sys, warnings, logging, io
HERE = os.path.dirname(os.path.abspath(__file__))
warnings.filterwarnings("ignore")
buf = io.StringIO(); h = logging.StreamHandler(buf); h.setLevel(logging.WARNING)
logging.getLogger().addHandler(h)
import anyio
from mcp import Client, StdioServerParameters
from mcp import types
sc, logp = sys.argv[1], sys.argv[2]
T = float(os.environ.get("CLIENT_DIFF_TIMEOUT", "2"))   # each request's timeout, s
res = {"client": "py", "steps": [], "notes": [], "progress": []}
def err(e): return "%s: %s" % (type(e).__name__, str(e)[:200])
async def roots(ctx, *a):
    return types.ListRootsResult(roots=[types.Root(uri="file:///tmp", name="t")])
async def on_msg(m):
    res["notes"].append(type(m).__name__ + ":" + str(getattr(m, "method", m))[:80])
async def main():
    params = StdioServerParameters(command=sys.executable,
                                   args=[os.path.join(HERE, "odd_server.py"), sc, logp])
    client = Client(params, mode="legacy", cache=None, read_timeout_seconds=T,
                    list_roots_callback=roots, message_handler=on_msg)
    stage = ["connect"]
    try:
        with anyio.fail_after(8 * T):
            async with client:
                res["steps"].append(["connect", "ok %s" % client.protocol_version])
                async def prog(p, t, m): res["progress"].append([p, t, m])
                steps = [("ping", lambda: client.send_ping()),
                         ("call", lambda: client.call_tool("echo", {"text": "a"},
                                                           progress_callback=prog)),
                         ("ping2", lambda: client.send_ping())]
                if sc.startswith("tools_list"):
                    steps.insert(1, ("list", lambda: client.list_tools()))
                for name, f in steps:
                    stage[0] = name
                    try:
                        r = await f()
                        res["steps"].append([name, "ok " + str(r)[:80]])
                    except Exception as e:
                        res["steps"].append([name, err(e)])
                stage[0] = "close"
    except BaseException as e:
        res["steps"].append([stage[0] + "(outer)", err(e)])
try:
    anyio.run(main)
except BaseException as e:
    res["steps"].append(["run", err(e)])
res["log"] = [l[:160] for l in buf.getvalue().splitlines()[:6]]
print(json.dumps(res, default=str))
