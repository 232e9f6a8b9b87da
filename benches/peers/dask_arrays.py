"""Array workloads on dask, side by side with benches/array_e2e.rs.

The same four workloads, each on dask's threaded scheduler (2 threads) and on
dask.distributed LocalCluster(2 workers x 1 thread, processes), a fresh cluster per workload
so each worker's peak RSS (ru_maxrss) belongs to that workload:

- w2_std:          x = random((20000, 20000), chunks=(2000, 2000)); std(x)
- w2_mean_slice:   mean(x + x.T, axis=0)[:10]
- fused_sum:       sum(ones((40000, 40000), chunks=(4000, 4000)) * 2 + 1)
- w6_rechunk_sum:  random((8000, 8000), chunks=(8000, 100)).rechunk((100, 8000)).sum()

Prints one JSON line per workload and scheduler with the median and best of --repeat runs.

Usage: .venv-dask/bin/python benches/peers/dask_arrays.py [--repeat 3] [--only w2_std]
       [--schedulers threads,distributed]
"""
import argparse
import json
import os
import statistics
import time

import dask
import dask.array as da
from dask.distributed import Client, LocalCluster


def w2_x():
    return da.random.default_rng(1).random((20_000, 20_000), chunks=(2000, 2000))


def w2_std():
    return w2_x().std()


def w2_mean_slice():
    x = w2_x()
    return (x + x.T).mean(axis=0)[:10]


def fused_sum():
    return (da.ones((40_000, 40_000), chunks=(4000, 4000)) * 2 + 1).sum()


def w6_rechunk_sum():
    x = da.random.default_rng(2).random((8000, 8000), chunks=(8000, 100))
    return x.rechunk((100, 8000)).sum()


WORKLOADS = {
    "w2_std": (w2_std, 20_000 * 20_000 * 8, lambda v: abs(v - (1 / 12) ** 0.5) < 1e-3),
    "w2_mean_slice": (w2_mean_slice, 2 * 2000 * 20_000 * 8, lambda v: abs(v[0] - 1) < 0.05),
    "fused_sum": (fused_sum, 40_000 * 40_000 * 8, lambda v: v == 3 * 40_000 * 40_000),
    "w6_rechunk_sum": (w6_rechunk_sum, 8000 * 8000 * 8,
                       lambda v: abs(v / 8000 ** 2 - 0.5) < 1e-3),
}


def proc_status(pid, field):
    """A memory field of /proc/PID/status in bytes (VmHWM: peak RSS since exec; VmRSS: now)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def run(name, scheduler, repeat, workers):
    build, nbytes, check = WORKLOADS[name]
    client = cluster = None
    extra = {}
    if scheduler == "distributed":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        pids = list(client.run(os.getpid).values())
        extra["idle_worker_rss_mib"] = max(proc_status(p, "VmRSS") for p in pids) // (1 << 20)
        compute = lambda a: a.compute()
    else:
        compute = lambda a: a.compute(scheduler="threads", num_workers=workers)
    tasks = len(dict(build().__dask_graph__()))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        v = compute(build())
        times.append(time.perf_counter() - t)
        assert check(v), (name, v)
    m = statistics.median(times)
    if client is not None:
        extra["peak_worker_rss_mib"] = max(proc_status(p, "VmHWM") for p in pids) // (1 << 20)
        client.close()
        cluster.close()
    print(json.dumps({"workload": name, "scheduler": scheduler, "workers": workers,
                      "tasks": tasks, "median_seconds": round(m, 4),
                      "best_seconds": round(min(times), 4),
                      "gb_per_second": round(nbytes / m / 1e9, 2), **extra}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--only", default=None)
    p.add_argument("--schedulers", default="threads,distributed")
    a = p.parse_args()
    print(json.dumps({"dask": dask.__version__}), flush=True)
    for name in WORKLOADS:
        if a.only and a.only != name:
            continue
        for scheduler in a.schedulers.split(","):
            run(name, scheduler, a.repeat, a.workers)


if __name__ == "__main__":
    main()
