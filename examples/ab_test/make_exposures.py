"""Writes exposures.csv: a simulated A/B test of a new ranking model, one row per user.

Users are assigned by Slipway's rule (md5("checkout-v2:" + user) as a 128-bit integer, mod
100, below 50 -> B). `pre_spend` is each user's spend in the month before the test (the
CUPED covariate), `spend` their spend during it (B adds about 2 %), `converted` whether they
bought; feedback has not arrived for about 8 % of users yet (empty `converted` and `spend`).
Only the Python standard library is needed.
"""
import hashlib
import random

rng = random.Random(2026)
countries = ["US"] * 5 + ["DE"] * 2 + ["FR", "BR", "IN"]
with open("exposures.csv", "w") as f:
    f.write("user,arm,country,pre_spend,converted,spend\n")
    for i in range(12_000):
        user = f"u{i:05d}"
        bucket = int(hashlib.md5(f"checkout-v2:{user}".encode()).hexdigest(), 16) % 100
        arm = "B" if bucket < 50 else "A"
        pre = round(rng.lognormvariate(3.5, 0.6), 2)
        converted = rng.random() < (0.118 if arm == "B" else 0.10)
        spend = round(max(0.0, pre * (1.02 if arm == "B" else 1.0) + rng.gauss(0, 6)), 2)
        if rng.random() < 0.08:
            f.write(f"{user},{arm},{rng.choice(countries)},{pre},,\n")
        else:
            f.write(f"{user},{arm},{rng.choice(countries)},{pre},{int(converted)},{spend}\n")
