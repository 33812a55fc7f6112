"""Reads the JSON lines of churn-bench and peers.py and prints the Markdown tables for docs/eval-gbt.md."""
import json
import sys

rows = [json.loads(l) for path in sys.argv[1:] for l in open(path) if l.startswith("{")]
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
