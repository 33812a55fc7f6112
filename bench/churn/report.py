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
print("| model | train s (default threads) | train s (1 thread) | predict rows/s (default threads) "
      "| predict rows/s (1 thread) | ours vs it: train speed (1 thread) | ours vs it: predict speed (1 thread) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    t1 = r.get("train_s_1thread", r["train_s"])
    p1 = r.get("predict_rows_per_s_1thread", r["predict_rows_per_s"])
    print(
        f"| {r['model']} | {r['train_s']:.3f} | {t1:.3f} | {r['predict_rows_per_s']:,.0f} | {p1:,.0f} "
        f"| {t1 / ours['train_s']:.2f}x | {ours['predict_rows_per_s'] / p1:.2f}x |"
    )
print()
print(f"scorekit-gbt: {ours['trees']} trees; top features by gain: {', '.join(ours['top_features'])}")
