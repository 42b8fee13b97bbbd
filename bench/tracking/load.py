"""Tracking load with the official mlflow client against one running server.

Operations (the same for every server):
  1. create run + log_batch of 10 params and 20 metrics, RUNS times, from THREADS threads;
  2. search_runs over those runs with a metric filter and an order, REPEAT times;
  3. a STEPS-step metric history: log_metric per step, then get_metric_history.
It samples the server process tree (psutil) for CPU seconds per phase and peak RSS.
Prints `name: value unit` lines prefixed with --label.
"""

import argparse
import random
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def tree(pid):
    """The server process and its children (mlflow server runs worker processes)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(pid):
    total = 0.0
    for p in tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def peak_rss_bytes(pid):
    """Sum of each process's high-water RSS (VmHWM) in the server's tree."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
        except (FileNotFoundError, psutil.NoSuchProcess):
            pass
    return total


def one_run(client, exp_id, i):
    rng = random.Random(i)
    run = client.create_run(exp_id)
    now = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(f"m{j}", rng.random(), now, 0) for j in range(20)],
        params=[Param(f"p{j}", str(rng.randint(0, 1000))) for j in range(10)],
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True, help="server process id")
    ap.add_argument("--label", required=True)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=1000)
    a = ap.parse_args()
    out = lambda name, value, unit: print(f"{a.label}_{name}: {value} {unit}", flush=True)

    local = threading.local()

    def client():
        if not hasattr(local, "c"):
            local.c = MlflowClient(tracking_uri=a.url)
        return local.c

    exp_id = client().create_experiment(f"bench-{uuid.uuid4().hex[:8]}")

    # 1. runs
    cpu0, t0 = cpu_seconds(a.pid), time.perf_counter()
    with ThreadPoolExecutor(a.threads) as pool:
        list(pool.map(lambda i: one_run(client(), exp_id, i), range(a.runs)))
    wall, cpu = time.perf_counter() - t0, cpu_seconds(a.pid) - cpu0
    out("runs_per_s", f"{a.runs / wall:.1f}", "runs/s")
    out("runs_wall_s", f"{wall:.2f}", "s")
    out("server_cpu_ms_per_run", f"{cpu * 1000 / a.runs:.3f}", "ms")

    # 2. search
    c = client()
    times, found = [], 0
    cpu0 = cpu_seconds(a.pid)
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        res = c.search_runs(
            [exp_id], filter_string="metrics.m0 > 0.5", order_by=["metrics.m1 DESC"],
            max_results=1000,
        )
        times.append(time.perf_counter() - t0)
        found = len(res)
    cpu = cpu_seconds(a.pid) - cpu0
    # Every returned run matches and the order holds: the servers do the same work.
    assert found > 0 and all(r.data.metrics["m0"] > 0.5 for r in res)
    m1 = [r.data.metrics["m1"] for r in res]
    assert m1 == sorted(m1, reverse=True), "search order broken"
    out("search_ms", f"{statistics.median(times) * 1000:.1f}", "ms")
    out("search_results", found, "runs")
    out("server_cpu_ms_per_search", f"{cpu * 1000 / a.repeat:.2f}", "ms")

    # 3. history
    run_id = c.create_run(exp_id).info.run_id
    cpu0, t0 = cpu_seconds(a.pid), time.perf_counter()
    for step in range(a.steps):
        c.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    log_s = time.perf_counter() - t0
    log_cpu = cpu_seconds(a.pid) - cpu0
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        hist = c.get_metric_history(run_id, "loss")
        times.append(time.perf_counter() - t0)
    assert sorted(m.step for m in hist) == list(range(a.steps))
    out("history_log_s", f"{log_s:.2f}", "s")
    out("server_cpu_ms_per_log_metric", f"{log_cpu * 1000 / a.steps:.3f}", "ms")
    out("history_get_ms", f"{statistics.median(times) * 1000:.1f}", "ms")
    out("server_peak_rss_mb", f"{peak_rss_bytes(a.pid) / 2**20:.1f}", "MiB")
    out("server_processes", len(tree(a.pid)), "processes")


if __name__ == "__main__":
    main()
