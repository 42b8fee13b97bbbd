"""Simulated users for the rollout walk-through (standard library only).

Sends one /predict request per user of the Adult test rows (the `fnlwgt` and `income`
columns dropped), with the user's key in the `x-user-id` header, and, with --feedback, posts
a simulated conversion for 90 % of the predictions (the rest "have not converted yet"). The
conversion rate depends on the version that answered (10 % for version 1, 14 % for version
2) and rises with `hours_per_week`, so a pre-period covariate helps CUPED. Seeded.

Usage: python3 traffic.py URL --users N [--offset K] [--feedback] [--seconds S]
With --seconds it loops over the users until S seconds have passed (canary traffic).
"""

import argparse
import csv
import json
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("--users", type=int, default=1000)
p.add_argument("--offset", type=int, default=0)
p.add_argument("--feedback", action="store_true")
p.add_argument("--seconds", type=float)
a = p.parse_args()

test = Path(__file__).resolve().parents[1] / "adult" / "adult_test.csv"
rows = []
with open(test) as f:
    for r in csv.DictReader(f):
        row = {}
        for k, v in r.items():
            if k in ("income", "fnlwgt"):
                continue
            if v == "":
                row[k] = None
            else:
                try:
                    row[k] = float(v) if "." in v else int(v)
                except ValueError:
                    row[k] = v
        rows.append(row)
        if len(rows) >= 5000:
            break

rng = random.Random(7)
versions, statuses, feedback = Counter(), Counter(), []
start = time.time()
i = 0
while True:
    if a.seconds is None and i >= a.users:
        break
    if a.seconds is not None and time.time() - start >= a.seconds:
        break
    user = a.offset + i % a.users
    row = rows[user % len(rows)]
    req = urllib.request.Request(
        a.url + "/predict",
        data=json.dumps(row).encode(),
        headers={"content-type": "application/json", "x-user-id": f"user-{user}"},
    )
    try:
        with urllib.request.urlopen(req) as resp:
            body = json.load(resp)
            statuses[resp.status] += 1
    except urllib.error.HTTPError as e:
        statuses[e.code] += 1
        i += 1
        continue
    versions[body["version"]] += 1
    if a.feedback and rng.random() < 0.9:
        base = 0.10 if body["version"] == "1" else 0.14
        rate = min(max(base + 0.004 * ((row["hours_per_week"] or 40) - 40), 0.0), 1.0)
        feedback.append({"prediction_id": body["prediction_id"], "label": int(rng.random() < rate)})
    i += 1

accepted = 0
for k in range(0, len(feedback), 1000):
    req = urllib.request.Request(
        a.url + "/feedback",
        data=json.dumps({"feedback": feedback[k : k + 1000]}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        accepted += json.load(resp)["accepted"]
print(
    f"{sum(statuses.values())} requests ("
    + ", ".join(f"{n} answered {s}" for s, n in sorted(statuses.items()))
    + "); by version: "
    + ", ".join(f"{v}: {n}" for v, n in sorted(versions.items()))
    + (f"; feedback accepted for {accepted}" if a.feedback else "")
)
