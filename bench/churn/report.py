"""Reads the JSON lines of churn-bench and peers.py and prints the Markdown tables for docs/eval-gbt.md."""
import json
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

rows = [json.loads(l) for path in sys.argv[1:3] for l in open(path) if l.startswith("{")]
ours = next(r for r in rows if r["model"] == "scorekit-gbt")

print("| model | ROC AUC | F1 (churn=yes) | accuracy | precision | recall | log-loss |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print(
        f"| {r['model']} | {r['auc']:.4f} | {r['f1']:.4f} | {r['accuracy']:.4f} | {r['precision']:.4f} "
        f"| {r['recall']:.4f} | {r['log_loss']:.4f} |"
    )
print()
print("| model | train CPU s (1 thread) | predict rows per CPU s (1 thread) | ours vs it: train speed "
      "| ours vs it: predict speed | train wall s (default threads) |")
print("|---|---|---|---|---|---|")
for r in rows:
    wall = f"{r['train_s_wall']:.3f}" if "train_s_wall" in r else "(single-threaded)"
    print(
        f"| {r['model']} | {r['train_s']:.3f} | {r['predict_rows_per_s']:,.0f} "
        f"| {r['train_s'] / ours['train_s']:.2f}x | {ours['predict_rows_per_s'] / r['predict_rows_per_s']:.2f}x | {wall} |"
    )
print()
print(f"scorekit-gbt: {ours['trees']} trees; top features by gain: {', '.join(ours['top_features'])}")

# Paired bootstrap of the test AUC difference (ours minus each peer): the same resampled test rows
# for both models, 2,000 resamples, seeded. Needs the test labels: argv[3] is the churn CSV.
if len(sys.argv) > 3:
    df = pd.read_csv(sys.argv[3])
    y = (df["churn"].iloc[3333:] == "yes").astype(int).to_numpy()
    rng = np.random.default_rng(7)
    ours_s = np.array(ours["scores"])
    print()
    print("| ours minus | test AUC difference | 95 % paired-bootstrap interval | share of resamples ours ahead |")
    print("|---|---|---|---|")
    for r in rows:
        if r is ours or "scores" not in r:
            continue
        peer_s = np.array(r["scores"])
        diffs = []
        for _ in range(2000):
            i = rng.integers(0, len(y), len(y))
            if y[i].min() == y[i].max():
                continue
            diffs.append(roc_auc_score(y[i], ours_s[i]) - roc_auc_score(y[i], peer_s[i]))
        diffs = np.array(diffs)
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        d = roc_auc_score(y, ours_s) - roc_auc_score(y, peer_s)
        print(f"| {r['model']} | {d:+.4f} | [{lo:+.4f}, {hi:+.4f}] | {100 * (diffs > 0).mean():.0f} % |")
