#!/usr/bin/env python3
"""`host score` on a 2-million-row churn CSV with the module and with the artifact: peak RSS and
time of each run (wait4), and whether the output equals scoring the rows in four pieces.

    bench/score/large.sh
"""
import os
import subprocess
import sys
import time

HOST, MODELS, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
N = int(os.environ.get("ROWS", "2000000"))
PIECES = 4

src = os.path.join(MODELS, ".demo/data/churn.csv")
with open(src) as f:
    header = f.readline()
    rows = [line for line in f]
big = os.path.join(OUT, "big.csv")
pieces = [os.path.join(OUT, f"piece{i}.csv") for i in range(PIECES)]
if not os.path.exists(big) or os.path.getsize(big) == 0:
    per = N // PIECES
    with open(big, "w") as b:
        b.write(header)
        outs = [open(p, "w") for p in pieces]
        for o in outs:
            o.write(header)
        for i in range(N):
            line = rows[i % len(rows)]
            b.write(line)
            outs[min(i // per, PIECES - 1)].write(line)
        for o in outs:
            o.close()


def run(model, inp, out):
    t = time.perf_counter()
    p = subprocess.Popen([HOST, "score", model, "--input", inp, "--output", out], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode()
    if p.returncode != 0:
        sys.exit(f"{model}: exit {p.returncode}: {err}")
    return time.perf_counter() - t, usage.ru_maxrss / 1024


print(f"| model | rows | input MB | seconds | rows/s | peak RSS MB | equals 4 pieces |")
print("|---|---|---|---|---|---|---|")
for model in (os.path.join(MODELS, "churn.wasm"), os.path.join(MODELS, ".demo/churn.model.json")):
    whole = os.path.join(OUT, "whole.csv")
    secs, peak = run(model, big, whole)
    parts = []
    for i, p in enumerate(pieces):
        o = os.path.join(OUT, f"out{i}.csv")
        run(model, p, o)
        with open(o) as f:
            lines = f.read().splitlines()
        parts.extend(lines if i == 0 else lines[1:])
    with open(whole) as f:
        same = f.read().splitlines() == parts
    print(f"| {os.path.basename(model)} | {N:,} | {os.path.getsize(big)/1e6:.0f} | {secs:.1f} | {N/secs:,.0f} | {peak:.0f} | {'yes' if same else 'NO'} |", flush=True)
