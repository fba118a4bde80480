import json, sys, glob, os
OUT = os.environ.get("OUT", "/tmp/client_diff"); os.chdir(OUT)
scs = sys.argv[1:] or sorted({os.path.basename(p).split(".")[0] for p in glob.glob("out/*.json")})
for sc in scs:
    print("=== " + sc)
    for c in ("ref", "py", "ts"):
        try:
            txt = open(f"out/{sc}.{c}.json").read().strip().splitlines()
            r = json.loads(txt[0])
            extra = txt[1:] 
        except Exception as e:
            print(f"  {c}: unreadable {txt if 'txt' in dir() else e}"); continue
        steps = "; ".join(f"{n}={v[:110]}" for n, v in r["steps"])
        print(f"  {c}: {steps} {extra or ''}")
        if r.get("notes"): print(f"      notes={r['notes'][:5]}")
        if r.get("progress"): print(f"      progress={r['progress'][:5]}")
        if r.get("errors"): print(f"      onerror={[e[:100] for e in r['errors'][:3]]}")
        if r.get("log"): print(f"      log={[e[:130] for e in r['log'][:3]]}")
        ins = [json.loads(l) for l in open(f"logs/{sc}.{c}.log")] if os.path.exists(f"logs/{sc}.{c}.log") else []
        sent = [e["in"].strip()[:140] for e in ins if "in" in e]
        sent = [s for s in sent if '"initialize"' not in s and "notifications/initialized" not in s and '"method":"ping"' not in s.replace(" ", "") and "tools/call" not in s and "tools/list" not in s]
        if sent: print(f"      client sent: {sent}")
