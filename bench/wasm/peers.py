"""GBDT predict throughput of XGBoost and LightGBM on the churn data, in the same format as the
Rust bench: `key value` lines. `peers.py CSV TREES MAX_DEPTH MAX_LEAVES`: both peers grow the same
number of trees as scorekit's model (no early stopping) with the same depth and leaf limits, so
that each scores as many trees of the same size."""
import time, sys
import numpy as np, pandas as pd
import xgboost as xgb, lightgbm as lgb

df = pd.read_csv(sys.argv[1])
y = (df.pop("churn") == "yes").astype(int)
for c in ["state", "area_code", "international_plan", "voice_mail_plan"]:
    df[c] = df[c].astype("category")
tr, n = 3333, len(df)

def med(reps, f):
    ts = []
    for _ in range(reps):
        s = time.perf_counter(); f(); ts.append(time.perf_counter() - s)
    return sorted(ts)[reps // 2]

X = df
trees, depth, leaves = (int(a) for a in sys.argv[2:5])
xm = xgb.XGBClassifier(enable_categorical=True, tree_method="hist", n_jobs=1, n_estimators=trees,
                       max_depth=depth, max_leaves=leaves).fit(X[:tr], y[:tr])
lm = lgb.LGBMClassifier(verbose=-1, n_jobs=1, n_estimators=trees, max_depth=depth,
                        num_leaves=leaves).fit(X[:tr], y[:tr])
print(f"peer_trees {trees}\npeer_max_depth {depth}\npeer_max_leaves {leaves}")
for name, m in [("xgboost", xm), ("lightgbm", lm)]:
    b = med(11, lambda: m.predict_proba(X))
    print(f"{name}_batch5000_ns_per_row {b * 1e9 / n:.1f}")
    rows = [X.iloc[[i]] for i in range(500)]
    one = med(3, lambda: [m.predict_proba(r) for r in rows])
    print(f"{name}_batch1_ns_per_row {one * 1e9 / 500:.1f}")
booster = xm.get_booster()
dm = xgb.DMatrix(X, enable_categorical=True)
b = med(11, lambda: booster.inplace_predict(X))
print(f"xgboost_inplace_batch5000_ns_per_row {b * 1e9 / n:.1f}")
b = med(11, lambda: lm.booster_.predict(X))
print(f"lightgbm_booster_batch5000_ns_per_row {b * 1e9 / n:.1f}")
