"""Peer side of benches/io_e2e.rs: mean(x, axis=0) of a chunked file, written to a new file of
the same format, with dask's threaded scheduler -- the way the dask and xarray docs do it.

  HDF5:   h5py dataset -> da.from_array(chunks=storage chunks) -> .mean(axis=0) -> da.to_hdf5
  NetCDF: xr.open_dataset(chunks=storage chunks)['x'].mean('time') -> .to_netcdf (netCDF4)

The output is compressed like Tessera's (deflate 4 + shuffle, chunks 250x250). Prints one JSON
line: {"tool": "dask", "format": ..., "seconds": ...}.

Usage: python benches/peers/dask_io.py --format h5|nc --input IN --output OUT [--workers 2]
"""
import argparse
import json
import os
import time

import dask
import dask.array as da


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--format", choices=["h5", "nc"], required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--chunks", default="40,250,250")
    a = p.parse_args()
    chunks = tuple(int(c) for c in a.chunks.split(","))
    if os.path.exists(a.output):
        os.remove(a.output)
    t = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=a.workers):
        if a.format == "h5":
            import h5py

            with h5py.File(a.input, "r") as f:
                x = da.from_array(f["/x"], chunks=chunks)
                m = x.mean(axis=0)
                da.to_hdf5(a.output, "/x_mean", m, chunks=(250, 250), compression="gzip",
                           compression_opts=4, shuffle=True)
        else:
            import xarray as xr

            ds = xr.open_dataset(a.input, engine="netcdf4",
                                 chunks=dict(zip(("time", "lat", "lon"), chunks)))
            m = ds["x"].mean("time")
            m.to_netcdf(a.output, engine="netcdf4", encoding={
                "x": {"zlib": True, "complevel": 4, "shuffle": True, "chunksizes": (250, 250)}})
            ds.close()
    print(json.dumps({"tool": "dask", "format": a.format,
                      "seconds": round(time.perf_counter() - t, 3)}))


if __name__ == "__main__":
    main()
