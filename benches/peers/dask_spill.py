"""W4 on dask.distributed, side by side with benches/spill_e2e.rs.

LocalCluster(2 worker processes x 1 thread, memory_limit='1GiB' each, local_directory on local
disk): persist `da.random.random((25000, 20000), chunks=(1000, 20000))` (4 GB, 25 chunks of
160 MB), wait, then `.sum().compute()`. Prints one JSON line in the same format as spill_e2e:
seconds of each phase, the sum, bytes on disk per worker after the persist, peak RSS per worker, and whether a
worker died (restarted by its nanny) on the way.

Usage: python benches/peers/dask_spill.py [--workers 2] [--memory-limit 1GiB]
       [--rows 25000] [--cols 20000] [--chunk-rows 1000] [--local-directory DIR]
"""
import argparse
import json
import os
import resource
import tempfile
import time

import dask.array as da
from dask.distributed import Client, LocalCluster, wait


def worker_figures(dask_worker):
    """Bytes of spilled chunks on disk now, peak RSS of this worker process."""
    try:
        on_disk = int(dask_worker.data.spilled_total.disk)
    except AttributeError:
        on_disk = -1
    return {
        "spilled_on_disk": on_disk,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--nthreads", type=int, default=1)
    p.add_argument("--memory-limit", default="1GiB")
    p.add_argument("--rows", type=int, default=25_000)
    p.add_argument("--cols", type=int, default=20_000)
    p.add_argument("--chunk-rows", type=int, default=1_000)
    p.add_argument("--local-directory", default=tempfile.gettempdir())
    a = p.parse_args()
    local = os.path.join(a.local_directory, f"dask-spill-bench-{os.getpid()}")
    os.makedirs(local, exist_ok=True)
    cluster = LocalCluster(n_workers=a.workers, threads_per_worker=a.nthreads, processes=True,
                           memory_limit=a.memory_limit, local_directory=local,
                           dashboard_address=None)
    client = Client(cluster)
    pids_before = sorted(client.run(os.getpid).values())
    x = da.random.random((a.rows, a.cols), chunks=(a.chunk_rows, a.cols))
    t = time.perf_counter()
    x = x.persist()
    wait(x)
    persist_s = time.perf_counter() - t
    after_persist = client.run(worker_figures)
    t = time.perf_counter()
    total = float(x.sum().compute())
    sum_s = time.perf_counter() - t
    figures = client.run(worker_figures)
    pids_after = sorted(client.run(os.getpid).values())
    client.close()
    cluster.close()
    print(json.dumps({
        "workload": "persist_then_sum",
        "peer": "dask.distributed",
        "workers": a.workers,
        "memory_limit": a.memory_limit,
        "array_bytes": a.rows * a.cols * 8,
        "persist_seconds": round(persist_s, 3),
        "sum_seconds": round(sum_s, 3),
        "total_seconds": round(persist_s + sum_s, 3),
        "sum": total,
        "spilled_on_disk_after_persist": [f["spilled_on_disk"] for f in after_persist.values()],
        "peak_rss_per_worker": [f["peak_rss"] for f in figures.values()],
        "workers_restarted": pids_before != pids_after,
    }))


if __name__ == "__main__":
    main()
