"""W1 on dask.distributed, side by side with benches/runtime_e2e.rs.

LocalCluster(2 workers x 1 thread, processes): map of 20,000 `inc` tasks + gather, a chain of
2,000 dependent `inc` tasks, a binary tree reduction of 2^14 leaves. Prints one JSON line per
workload with the median of --repeat runs, in the same format as runtime_e2e.

Usage: python benches/peers/dask_w1_tasks.py [--workers 2] [--repeat 5] [--saturation inf]
"""
import argparse
import json
import statistics
import time

import dask
from dask.distributed import Client, LocalCluster


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--nthreads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--map", type=int, default=20_000)
    p.add_argument("--chain", type=int, default=2_000)
    p.add_argument("--leaves", type=int, default=1 << 14)
    p.add_argument("--saturation", default="1.1", help="distributed.scheduler.worker-saturation")
    a = p.parse_args()
    dask.config.set({"distributed.scheduler.worker-saturation": float(a.saturation)})
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=a.workers, threads_per_worker=a.nthreads, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    print(json.dumps({"workload": "startup", "workers": a.workers,
                      "seconds": round(time.perf_counter() - t, 4)}))

    def map_run(n):
        t = time.perf_counter()
        fs = client.map(inc, range(n), pure=False)
        vs = client.gather(fs)
        el = time.perf_counter() - t
        assert vs[-1] == n
        del fs
        return el

    map_run(1000)
    m = statistics.median(map_run(a.map) for _ in range(a.repeat))
    print(json.dumps({"workload": "map", "tasks": a.map, "median_seconds": round(m, 4),
                      "tasks_per_second": round(a.map / m)}))

    def chain_run(n):
        t = time.perf_counter()
        x = client.submit(inc, 0, pure=False)
        for _ in range(n - 1):
            x = client.submit(inc, x, pure=False)
        v = x.result()
        el = time.perf_counter() - t
        assert v == n
        return el

    c = statistics.median(chain_run(a.chain) for _ in range(a.repeat))
    print(json.dumps({"workload": "chain", "tasks": a.chain, "median_seconds": round(c, 4),
                      "us_per_step": round(c / a.chain * 1e6, 1)}))

    def tree_run(leaves):
        t = time.perf_counter()
        level = client.map(inc, range(leaves), pure=False)
        ntasks = leaves
        while len(level) > 1:
            level = [client.submit(add, level[i], level[i + 1], pure=False)
                     for i in range(0, len(level), 2)]
            ntasks += len(level)
        v = level[0].result()
        el = time.perf_counter() - t
        assert v == leaves * (leaves + 1) // 2
        return el, ntasks

    runs = [tree_run(a.leaves) for _ in range(a.repeat)]
    tr = statistics.median(r[0] for r in runs)
    ntasks = runs[0][1]
    print(json.dumps({"workload": "tree", "tasks": ntasks, "median_seconds": round(tr, 4),
                      "tasks_per_second": round(ntasks / tr)}))
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
