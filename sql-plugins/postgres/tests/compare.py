#!/usr/bin/env python3
"""Parity check: compares one numeric column of two CSV files row by row, exactly (the values are
printed shortest-round-trip by both sides, so equal floats parse to equal doubles).

usage: compare.py NAME EXPECTED.csv COLUMN ACTUAL.csv COLUMN [--header-actual] [--label THRESHOLD TRUE FALSE]
COLUMN is a header name or a 0-based index."""
import csv
import sys


def column(path, col, header):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if header:
        names, rows = rows[0], rows[1:]
        idx = names.index(col) if not col.isdigit() else int(col)
    else:
        idx = int(col)
    return [r[idx] for r in rows]


def main():
    a = sys.argv[1:]
    name, exp_path, exp_col, act_path, act_col = a[:5]
    header_actual = "--header-actual" in a
    label = None
    if "--label" in a:
        i = a.index("--label")
        label = (float(a[i + 1]), a[i + 2], a[i + 3])
    expected = column(exp_path, exp_col, True)
    actual = column(act_path, act_col, header_actual)
    if len(expected) != len(actual):
        sys.exit(f"FAIL {name}: {len(expected)} expected rows, {len(actual)} actual rows")
    bad = 0
    for i, (e, x) in enumerate(zip(expected, actual)):
        if label:
            want = label[1] if float(e) > label[0] else label[2]
            ok = x == want
        else:
            ok = (e == "" and x == "") or (e != "" and x != "" and float(e) == float(x))
        if not ok:
            bad += 1
            if bad <= 5:
                print(f"  row {i + 1}: expected {e}, got {x}", file=sys.stderr)
    if bad:
        sys.exit(f"FAIL {name}: {bad} of {len(expected)} rows differ")
    print(f"ok   {name}: {len(expected)} rows identical")


main()
