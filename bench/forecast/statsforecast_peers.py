"""statsforecast peers for bench/forecast: same series, origins and training windows as the Rust
bench (read from the files `scorekit-forecast-bench prep DIR` writes). Writes
DIR/py_<series>_<model>.csv: model,origin,h,mean,q10,q50,q90,seconds (fit+predict seconds of that
origin, JIT warm-up excluded). An existing file is kept (delete it to re-run that model).

Only the series whose role is in ROLES (default eval,heldout) are run: dev series choose
scorekit's settings and need no peers. AutoARIMA is slow (~1 min for one 1,344-point seasonal fit),
so it is run only when named (`… DIR AutoARIMA`), on the last ARIMA_TRAIN_LEN points of each
training window and the last ARIMA_ORIGINS origins."""
import os
import json
import sys
import time
from pathlib import Path

import numpy as np
from statsforecast.models import MSTL, AutoARIMA, AutoETS

ARIMA_TRAIN_LEN = 336
ARIMA_ORIGINS = 2

out = Path(sys.argv[1])
only = sys.argv[2:] or ["AutoETS", "MSTL+AutoETS"]  # model names to run
roles = os.environ.get("ROLES", "eval,heldout").split(",")


def models(daily, weekly):
    return {
        "AutoETS": (lambda: AutoETS(season_length=daily), None, None),
        "MSTL+AutoETS": (
            lambda: MSTL(season_length=[daily, weekly], trend_forecaster=AutoETS(model="ZZN")),
            None,
            None,
        ),
        "AutoARIMA": (lambda: AutoARIMA(season_length=daily), ARIMA_TRAIN_LEN, ARIMA_ORIGINS),
    }


for meta_path in sorted(out.glob("*.json")):
    name = meta_path.stem
    meta = json.loads(meta_path.read_text())
    if meta.get("role") not in roles:
        continue
    y = np.loadtxt(out / f"{name}.csv", skiprows=1)
    h, train_len = meta["horizon"], meta["train_len"]
    daily, weekly = meta["periods"]
    for mname, (make, limit, n_origins) in models(daily, weekly).items():
        if mname not in only:
            continue
        path = out / f"py_{name}_{mname}.csv"
        if path.exists():
            continue
        rows = ["model,origin,h,mean,q10,q50,q90,seconds"]
        # JIT warm-up on a short series (just long enough for the seasonal model), not timed.
        make().forecast(y=y[: 5 * daily], h=h, level=[80])
        for o in meta["origins"][-(n_origins or len(meta["origins"])) :]:
            lo = o - (limit or train_len)
            t0 = time.perf_counter()
            f = make().forecast(y=y[lo:o], h=h, level=[80])
            secs = time.perf_counter() - t0
            for i in range(h):
                rows.append(
                    f"{mname},{o},{i + 1},{f['mean'][i]},{f['lo-80'][i]},{f['mean'][i]},{f['hi-80'][i]},{secs}"
                )
            print(f"{name} {mname} origin {o}: {secs:.2f}s", file=sys.stderr, flush=True)
        path.write_text("\n".join(rows) + "\n")
