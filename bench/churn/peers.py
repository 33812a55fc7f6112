"""XGBoost and LightGBM with default settings on the churn split; one JSON object per model.

Categorical columns are pandas `category` dtype, which both libraries split natively
(XGBoost needs `enable_categorical=True`, its only non-default argument here). Timings are the
median of several runs: with one thread in process CPU seconds (comparable with the Rust side,
also single-threaded CPU seconds), and with the library's default threading in wall-clock seconds.
"""
import json
import os
import statistics
import sys
import time

import lightgbm as lgb
import pandas as pd
import xgboost as xgb
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

N_TRAIN = 3333
PREDICT_REPEAT = 60
CATEGORICAL = ["state", "area_code", "international_plan", "voice_mail_plan"]

df = pd.read_csv(sys.argv[1])
for c in CATEGORICAL:
    df[c] = df[c].astype("category")
X = df.drop(columns="churn")
y = (df["churn"] == "yes").astype(int)
Xtr, ytr, Xte, yte = X.iloc[:N_TRAIN], y.iloc[:N_TRAIN], X.iloc[N_TRAIN:], y.iloc[N_TRAIN:]
big = pd.concat([Xte] * PREDICT_REPEAT, ignore_index=True)


def make(name, threads):
    if name == "XGBoost":
        kw = {} if threads is None else {"n_jobs": threads}
        return xgb.XGBClassifier(enable_categorical=True, **kw)
    kw = {} if threads is None else {"n_jobs": threads}
    return lgb.LGBMClassifier(verbose=-1, **kw)


def timed(f, n, clock):
    times = []
    for _ in range(n):
        t = clock()
        out = f()
        times.append(clock() - t)
    return statistics.median(times), out


def folds(seed):
    """The same seeded, stratified 4-fold split of the training rows as `churn-bench tune`."""
    state, keys = seed, []
    for i in range(N_TRAIN):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        keys.append((state >> 11, i))
    seen = {0: 0, 1: 0}
    fold_of = {}
    for _, i in sorted(keys):
        seen[int(y.iloc[i])] += 1
        fold_of[i] = seen[int(y.iloc[i])] % 4
    for k in range(4):
        va = [i for i in range(N_TRAIN) if fold_of[i] == k]
        tr = [i for i in range(N_TRAIN) if fold_of[i] != k]
        yield tr, va


if len(sys.argv) > 2 and sys.argv[2] == "cv":
    for name in ["XGBoost", "LightGBM"]:
        aucs = []
        seeds = [int(s) for s in os.environ.get("CHURN_CV_SEEDS", "2024").split(",")]
        for tr, va in (f for seed in seeds for f in folds(seed)):
            m = make(name, None).fit(Xtr.iloc[tr], ytr.iloc[tr])
            aucs.append(roc_auc_score(ytr.iloc[va], m.predict_proba(Xtr.iloc[va])[:, 1]))
        print(json.dumps({"model": name, "cv_auc": statistics.mean(aucs), "folds": aucs}))
    sys.exit(0)

for name in ["XGBoost", "LightGBM"]:
    res = {"model": name, "version": (xgb if name == "XGBoost" else lgb).__version__}
    # Default threading: wall-clock. One thread: process CPU time, which (like the Rust side's)
    # does not count the time other jobs on a shared machine hold the cores.
    for threads, suffix, clock in [(None, "_wall", time.perf_counter), (1, "", time.process_time)]:
        fit_s, model = timed(lambda: make(name, threads).fit(Xtr, ytr), 7, clock)
        pred_s, _ = timed(lambda: model.predict_proba(big)[:, 1], 5, clock)
        res["train_s" + suffix] = fit_s
        res["predict_rows_per_s" + suffix] = len(big) / pred_s
    p = model.predict_proba(Xte)[:, 1]
    label = (p >= 0.5).astype(int)
    res.update(
        auc=roc_auc_score(yte, p),
        f1=f1_score(yte, label),
        accuracy=accuracy_score(yte, label),
        precision=precision_score(yte, label),
        recall=recall_score(yte, label),
        log_loss=log_loss(yte, p),
        scores=[round(float(v), 6) for v in p],
    )
    print(json.dumps(res))
