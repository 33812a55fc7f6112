#!/usr/bin/env python3
"""Replays the abuse cases of issue 15 against a real `host serve` on loopback and prints each
outcome with the server's resident memory. Standard library only.

    bench/serve/abuse.sh            (builds host, prepares the demo modules, runs this)
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HOST = sys.argv[1]
MODELS = sys.argv[2]
WORK = tempfile.mkdtemp(prefix="scorekit-abuse-")


def start(*args, nofile=None):
    cmd = [HOST, "serve", "--models", MODELS, "--port", "0", "--log-level", "error", *args]
    pre = None
    if nofile:
        import resource

        def pre():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=pre)
    line = p.stdout.readline()
    addr = line.split("http://")[1].split()[0]
    threading.Thread(target=lambda: p.stdout.read(), daemon=True).start()
    return p, addr


def rss_mb(p):
    with open(f"/proc/{p.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def request(addr, method, path, body=b"", ctype="text/csv", timeout=10):
    req = urllib.request.Request(f"http://{addr}{path}", data=body if method != "GET" else None, method=method)
    req.add_header("Content-Type", ctype)
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
            return r.status, data, time.perf_counter() - t
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.perf_counter() - t
    except Exception as e:  # noqa: BLE001 - a refused or reset connection is an outcome
        return type(e).__name__, b"", time.perf_counter() - t


def churn_row():
    with open(os.path.join(MODELS, ".demo/data/churn.csv")) as f:
        f.readline()
        return f.readline().rsplit(",", 1)[0].encode()


def stop(p):
    p.terminate()
    p.wait(timeout=30)


ROW = churn_row()
results = []


def report(case, outcome, rss):
    results.append((case, outcome, rss))
    print(f"| {case} | {outcome} | {rss} |", flush=True)


print("| case | outcome | server RSS |")
print("|---|---|---|")

# 1. Slow bodies: 300 connections sending their body at 1 byte/s, churn requests alongside.
p, addr = start("--body-timeout-ms", "15000", "--no-state")
base = rss_mb(p)
socks = []
for _ in range(300):
    s = socket.create_connection(addr.split(":"))
    s.sendall(b"POST /endpoints/churn/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n")
    socks.append(s)
stop_flag = threading.Event()


def dribble():
    while not stop_flag.is_set():
        for s in socks:
            try:
                s.send(b"K")
            except OSError:
                pass
        time.sleep(1)


threading.Thread(target=dribble, daemon=True).start()
ok = 0
lat = []
t_end = time.time() + 10
while time.time() < t_end:
    st, _, dt = request(addr, "POST", "/endpoints/churn/invocations", ROW)
    ok += st == 200
    lat.append(dt)
stop_flag.set()
report("300 bodies at 1 byte/s for 10 s, churn requests alongside",
       f"{ok}/{len(lat)} churn requests 200, median {statistics.median(lat)*1000:.1f} ms", f"{base:.0f} → {rss_mb(p):.0f} MB")
for s in socks:
    s.close()
stop(p)

# 2. Idle connections under ulimit -n 1024.
p, addr = start("--no-state", nofile=1024)
base = rss_mb(p)
idle = []
for _ in range(1100):
    try:
        idle.append(socket.create_connection(addr.split(":"), timeout=2))
    except OSError:
        pass
time.sleep(0.5)
pings = [request(addr, "GET", "/ping", timeout=5) for _ in range(20)]
report("1,100 idle connections, ulimit -n 1024, then /ping",
       f"{sum(1 for s, _, _ in pings if s == 200)}/20 pings 200, max {max(d for _, _, d in pings)*1000:.1f} ms", f"{base:.0f} → {rss_mb(p):.0f} MB")
for s in idle:
    s.close()
stop(p)

# 3. Stream-key flood: 300 new keys, one reading each.
state = os.path.join(WORK, "state")
p, addr = start("--state-dir", state, "--max-streams-per-prefix", "0")
base = rss_mb(p)
codes = {}
for i in range(300):
    st, _, _ = request(addr, "POST", f"/v1/models/anomaly/streams/f{i}", json.dumps({"rows": [[75.0]]}).encode(), "application/json")
    codes[st] = codes.get(st, 0) + 1
du = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(state) for f in fs)
report("300 new stream keys, one reading each", f"statuses {codes}; state on disk {du/1e6:.0f} MB", f"{base:.0f} → {rss_mb(p):.0f} MB")
stop(p)
p, addr = start("--max-streams-per-prefix", "100", "--state-dir", tempfile.mkdtemp(dir=WORK))
codes = {}
for i in range(150):
    st, _, _ = request(addr, "POST", f"/v1/models/anomaly/streams/tenant%2F{i}", json.dumps({"rows": [[75.0]]}).encode(), "application/json")
    codes[st] = codes.get(st, 0) + 1
report("150 keys under one prefix, --max-streams-per-prefix 100", f"statuses {codes}", f"{rss_mb(p):.0f} MB")
stop(p)

# 4. Refused uploads: six parallel 250 MB PUTs with a wrong token.
p, addr = start("--admin-token", "right", "--no-state")
base = rss_mb(p)
answers = []


def upload():
    s = socket.create_connection(addr.split(":"))
    s.sendall(b"PUT /admin/models/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 250000000\r\n\r\n")
    s.settimeout(10)
    try:
        answers.append(s.recv(64).split(b"\r\n")[0].decode())
    except OSError as e:
        answers.append(type(e).__name__)
    chunk = b"\0" * (1 << 20)
    try:
        for _ in range(250):
            s.sendall(chunk)
    except OSError:
        pass
    s.close()


ts = [threading.Thread(target=upload) for _ in range(6)]
for t in ts:
    t.start()
for t in ts:
    t.join()
report("six parallel 250 MB PUTs with a wrong token", f"answers {sorted(set(answers))}", f"{base:.0f} → {rss_mb(p):.0f} MB")
stop(p)

# 5. Expensive requests beside cheap ones: four clients posting 16 KiB anomaly:explain.
p, addr = start("--no-state")
base = rss_mb(p)
with open(os.path.join(MODELS, ".demo/data/machine_temperature.csv")) as f:
    f.readline()
    vals = [line.rsplit(",", 1)[1].strip() for line, _ in zip(f, range(2000))]
body = "\n".join(vals).encode()
while len(body) < 16 << 10:
    body += b"\n" + body
body = body[: 16 << 10].rsplit(b"\n", 1)[0]
stop_flag = threading.Event()


def heavy():
    while not stop_flag.is_set():
        request(addr, "POST", "/v1/models/anomaly:explain", body, "text/csv", timeout=30)


hs = [threading.Thread(target=heavy, daemon=True) for _ in range(4)]
for h in hs:
    h.start()
time.sleep(1)
lat = [request(addr, "POST", "/endpoints/churn/invocations", ROW)[2] for _ in range(50)]
pings = [request(addr, "GET", "/ping")[2] for _ in range(50)]
stop_flag.set()
report("four clients posting 16 KiB anomaly:explain, single-row churn alongside",
       f"churn median {statistics.median(lat)*1000:.1f} ms, max {max(lat)*1000:.0f} ms; /ping median {statistics.median(pings)*1000:.1f} ms",
       f"{base:.0f} → {rss_mb(p):.0f} MB")
stop(p)

# 6. Durability: stream steps per second with the log on and off, then kill -9 at full rate.
for label, extra in [("log on (default)", []), ("log off (--no-stream-log)", ["--no-stream-log"])]:
    state = tempfile.mkdtemp(dir=WORK)
    p, addr = start("--state-dir", state, "--persist-ms", "60000", *extra)
    counts = [0] * 8
    stop_flag = threading.Event()

    def feed(k, rows_per_request):
        conn = __import__("http.client").client.HTTPConnection(*addr.split(":"))
        payload = json.dumps({"rows": [[75.0 + (i % 7)] for i in range(rows_per_request)]})
        while not stop_flag.is_set():
            conn.request("POST", f"/v1/models/anomaly/streams/d{k}", payload, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                counts[k] += rows_per_request

    for rows_per_request in (1, 10):
        counts = [0] * 8
        stop_flag.clear()
        fs = [threading.Thread(target=feed, args=(k, rows_per_request), daemon=True) for k in range(8)]
        for f in fs:
            f.start()
        time.sleep(5)
        stop_flag.set()
        for f in fs:
            f.join()
        report(f"stream steps, {label}, 8 clients × {rows_per_request} reading(s) per request, 5 s",
               f"{sum(counts)/5:,.0f} acknowledged readings/s", f"{rss_mb(p):.0f} MB")
    stop(p)

state = tempfile.mkdtemp(dir=WORK)
p, addr = start("--state-dir", state, "--persist-ms", "5000")
acked = [0] * 4
stop_flag = threading.Event()


def feed_acked(k):
    conn = __import__("http.client").client.HTTPConnection(*addr.split(":"))
    while not stop_flag.is_set():
        try:
            conn.request("POST", f"/v1/models/anomaly/streams/k{k}", json.dumps({"rows": [[75.0]]}), {"Content-Type": "application/json"})
            r = conn.getresponse()
            doc = json.loads(r.read())
            if r.status == 200:
                acked[k] = doc["readings"]
        except Exception:  # noqa: BLE001 - the server was killed
            return


fs = [threading.Thread(target=feed_acked, args=(k,), daemon=True) for k in range(4)]
for f in fs:
    f.start()
time.sleep(3)
p.kill()
stop_flag.set()
for f in fs:
    f.join()
p, addr = start("--state-dir", state, "--persist-ms", "5000")
restored = [json.loads(request(addr, "GET", f"/v1/models/anomaly/streams/k{k}")[1])["readings"] for k in range(4)]
lost = sum(max(0, a - r) for a, r in zip(acked, restored))
report("kill -9 during 4 streams at full rate (--persist-ms 5000), restart",
       f"acknowledged {sum(acked)}, restored {sum(restored)}, lost {lost}", f"{rss_mb(p):.0f} MB")
stop(p)
