#!/usr/bin/env python3
"""Joins the two sides of the model-quality run into one table (see `bench/quality/run.sh`).

    python bench/quality/table.py OUT_DIR

Reads OUT_DIR/settings.json, OUT_DIR/sklearn.txt and OUT_DIR/slipway.txt (`name: value unit`
lines) and prints:

- a markdown table, one row per (model, data set, metric): Slipway, scikit-learn (LightGBM for
  gbdt), the difference, the relative difference (slipway - reference) / |reference|, the
  seed noise of the difference (for cells averaged over seeds: sqrt(sem_slipway² +
  sem_reference²), the standard error of the difference of the two means), with every cell
  outside 1% relative flagged (and marked "within noise" when |diff| <= 2 × that noise), plus
  the notes on settings;
- `quality_<set>_<model>_<metric>_diff: X abs` and `..._rel_diff: X rel` lines, and
  `quality_cells_outside_1pct: N cells`.
"""

import json
import os
import sys

LIMIT = 0.01


def read_lines(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                try:
                    out[parts[0][:-1]] = float(parts[1])
                except ValueError:
                    pass
    return out


def main():
    out_dir = sys.argv[1]
    with open(os.path.join(out_dir, "settings.json")) as f:
        settings = json.load(f)
    sk = read_lines(os.path.join(out_dir, "sklearn.txt"))
    sw = read_lines(os.path.join(out_dir, "slipway.txt"))
    rows, lines, flagged = [], [], []
    for c in settings["cells"]:
        ds, model = c["dataset"], c["model"]
        metrics = ("accuracy", "auc") if f"sklearn_{ds}_{model}_accuracy" in sk else ("r2", "rmse")
        for m in metrics:
            key = f"{ds}_{model}_{m}"
            a, b = sw.get(f"slipway_{key}"), sk.get(f"sklearn_{key}")
            if a is None or b is None:
                rows.append((model, ds, m, a, b, None, None, None, "missing"))
                flagged.append(key)
                continue
            diff = a - b
            rel = diff / abs(b) if b != 0 else float("inf")
            sa, sb = sw.get(f"slipway_{key}_sem"), sk.get(f"sklearn_{key}_sem")
            noise = (sa ** 2 + sb ** 2) ** 0.5 if sa is not None and sb is not None else None
            flag = ""
            if abs(rel) > LIMIT:
                flagged.append(key)
                flag = "**outside 1%**"
                if noise is not None and abs(diff) <= 2 * noise:
                    flag += " (within noise)"
            rows.append((model, ds, m, a, b, diff, rel, noise, flag))
            lines.append(f"quality_{key}_diff: {diff:+.6f} abs")
            lines.append(f"quality_{key}_rel_diff: {rel:+.6f} rel")
    ref = f"scikit-learn {settings['sklearn_version']} (gbdt: LightGBM {settings['lightgbm_version']})"
    print("| model | data set | metric | Slipway | reference | diff | relative | seed noise | flag |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")

    def fmt(v, spec):
        return "–" if v is None else format(v, spec)

    for model, ds, m, a, b, diff, rel, noise, flag in rows:
        print(f"| {model} | {ds} | {m} | {fmt(a, '.4f')} | {fmt(b, '.4f')} | {fmt(diff, '+.4f')} | "
              f"{fmt(None if rel is None else 100 * rel, '+.2f')}% | {fmt(noise, '.4f')} | {flag} |")
    print()
    print(f"Reference: {ref}. Relative = (Slipway - reference) / |reference|; flagged when above "
          f"{100 * LIMIT:.0f}% in absolute value (for RMSE, positive is worse). Seed noise: "
          "standard error of the difference of the two means over seeds (– for deterministic "
          "cells); \"within noise\" = |diff| <= 2 × seed noise.")
    print()
    print("Settings (equal on both sides; full list in settings.json):")
    seen = set()
    for c in settings["cells"]:
        note = c.get("note")
        if note and (c["model"], c["dataset"]) not in seen:
            seen.add((c["model"], c["dataset"]))
            print(f"- {c['model']} on {c['dataset']}: {note}; seeds {c['seeds']}")
    print()
    for line in lines:
        print(line)
    print(f"quality_cells_outside_1pct: {len(flagged)} cells")
    for key in flagged:
        print(f"# outside 1%: {key}")


if __name__ == "__main__":
    main()
