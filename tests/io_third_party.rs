//! Files Tessera writes open correctly in third-party tools — h5py, netCDF4-python, xarray,
//! ncdump, h5dump — and files those tools write open in Tessera. Needs
//! `TESSERA_TEST_PYTHON` (scripts/install.sh --with-python; scripts/test-env.sh) and the
//! hdf5-tools / netcdf-bin packages; without them each test prints `skipped: <why>`, or fails
//! under `TESSERA_TEST_STRICT`.
#![cfg(feature = "io")]

mod common;

use std::path::Path;
use std::process::Command;

use common::{python, run_python, skip};
use ndarray::{ArrayD, IxDyn};
use tessera::array::{Array, ArrayData, DType};
use tessera::io::{
    from_hdf5, from_netcdf, to_hdf5, to_netcdf, AttrValue, Attributes, LabeledArray, WriteOptions,
};

fn tool(name: &str) -> bool {
    let ok = Command::new(name).arg("--help").output().is_ok();
    if !ok {
        skip(&format!(
            "{name} is not installed (Debian packages hdf5-tools, netcdf-bin)"
        ));
    }
    ok
}

/// t[i, j, k] = 100 i + 10 j + k (exact in float32), dims (time, lat, lon) with coordinates.
fn field() -> LabeledArray {
    let shape = [6, 5, 4];
    let v = ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        (100 * ix[0] + 10 * ix[1] + ix[2]) as f32
    });
    let a = Array::from_ndarray(&v, [4, 5, 3]).expect("array");
    let time =
        ArrayData::from(ndarray::Array1::from_iter((0..6).map(|i| i as f64 * 0.5)).into_dyn());
    let lat = ArrayData::from(ndarray::arr1(&[-20.0f32, -10.0, 0.0, 10.0, 20.0]).into_dyn());
    let mut tattrs = Attributes::new();
    tattrs.insert("units".into(), AttrValue::from("days since 2000-01-01"));
    let mut lattrs = Attributes::new();
    lattrs.insert("units".into(), AttrValue::from("degrees_north"));
    LabeledArray::new(a, "t")
        .with_dims(&["time", "lat", "lon"])
        .and_then(|l| l.with_coord("time", time, tattrs))
        .and_then(|l| l.with_coord("lat", lat, lattrs))
        .expect("labels")
        .with_attr("units", "K")
        .with_attr("valid_max", AttrValue::Float32(vec![1000.0]))
}

const CHECK_NC: &str = r#"
import sys, numpy as np, netCDF4, xarray as xr
path = sys.argv[1]
i, j, k = np.meshgrid(np.arange(6), np.arange(5), np.arange(4), indexing="ij")
want = (100 * i + 10 * j + k).astype("float32")
with netCDF4.Dataset(path) as d:
    v = d.variables["t"]
    assert v.dimensions == ("time", "lat", "lon"), v.dimensions
    assert v.dtype == np.float32, v.dtype
    assert np.array_equal(v[:], want)
    assert v.units == "K"
    f = v.filters()
    assert f["zlib"] and f["shuffle"] and f["complevel"] == 4, f
    assert v.chunking() == [4, 5, 3], v.chunking()
    assert "tessera" in d.history or "io_third_party" in d.history, d.history
    assert list(d.variables["lat"][:]) == [-20, -10, 0, 10, 20]
    b = d.variables["b"]
ds = xr.open_dataset(path)
assert ds["t"].dims == ("time", "lat", "lon")
assert np.array_equal(ds["t"].values, want)
assert list(ds["lat"].values) == [-20, -10, 0, 10, 20]
assert ds["lat"].attrs["units"] == "degrees_north"
assert str(ds["time"].values[1]).startswith("2000-01-01T12"), ds["time"].values[1]
assert ds["b"].dtype == bool and ds["b"].values.tolist() == [True, False, False, True], ds["b"].values
assert ds["i"].dtype == np.int64 and ds["i"].values.tolist() == [-5, 2**40, 7]
print("ok")
"#;

const CHECK_H5: &str = r#"
import sys, numpy as np, h5py
path = sys.argv[1]
i, j, k = np.meshgrid(np.arange(6), np.arange(5), np.arange(4), indexing="ij")
want = (100 * i + 10 * j + k).astype("float32")
with h5py.File(path, "r") as f:
    d = f["/grp/t"]
    assert d.dtype == np.float32
    assert np.array_equal(d[...], want)
    assert d.chunks == (4, 5, 3), d.chunks
    assert d.compression == "gzip" and d.compression_opts == 4 and d.shuffle
    assert [x.label for x in d.dims] == ["time", "lat", "lon"], [x.label for x in d.dims]
    u = d.attrs["units"]
    assert (u.decode() if isinstance(u, bytes) else u) == "K"
    assert list(f["/lat"][...]) == [-20, -10, 0, 10, 20]
    assert "history" in f.attrs
    b = f["/b"]
    assert b.dtype == bool and b[...].tolist() == [True, False, False, True], b[...]
    assert f["/i"].dtype == np.int64 and f["/i"][...].tolist() == [-5, 2**40, 7]
print("ok")
"#;

fn extras() -> (LabeledArray, LabeledArray) {
    let b = ArrayD::from_shape_vec(IxDyn(&[4]), vec![true, false, false, true]).expect("b");
    let i = ArrayD::from_shape_vec(IxDyn(&[3]), vec![-5i64, 1 << 40, 7]).expect("i");
    (
        LabeledArray::new(Array::from_ndarray(&b, 2).expect("b"), "b")
            .with_dims(&["n"])
            .expect("dims"),
        LabeledArray::new(Array::from_ndarray(&i, 2).expect("i"), "i")
            .with_dims(&["m"])
            .expect("dims"),
    )
}

/// Writes a second variable into an existing file through the same library (test setup only).
fn add_nc_var(path: &Path, x: &LabeledArray) {
    let mut f = netcdf::append(path).expect("append");
    let dim = &x.dims()[0];
    f.add_dimension(dim, x.array().shape()[0]).expect("dim");
    match x.array().compute_local().expect("compute") {
        ArrayData::Bool(a) => {
            let mut v = f.add_variable::<i8>(x.name(), &[dim]).expect("var");
            v.put_attribute("dtype", "bool").expect("attr");
            let vals: Vec<i8> = a.iter().map(|&b| i8::from(b)).collect();
            v.put_values(&vals, ..).expect("put");
        }
        ArrayData::I64(a) => {
            let mut v = f.add_variable::<i64>(x.name(), &[dim]).expect("var");
            v.put_values(&a.iter().copied().collect::<Vec<_>>(), ..)
                .expect("put");
        }
        other => panic!("unexpected {:?}", other.dtype()),
    }
}

#[test]
fn python_readers_open_our_netcdf_and_hdf5_files() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let nc = dir.path().join("t.nc");
    to_netcdf(&field(), &nc, "t", &WriteOptions::new(), None).expect("nc");
    // bool and int64 variables written by Tessera too, in their own files, then checked by
    // reading them back here and by the Python script in one file.
    let (b, i) = extras();
    for x in [&b, &i] {
        let p = dir.path().join(format!("{}.nc", x.name()));
        to_netcdf(x, &p, x.name(), &WriteOptions::new(), None).expect("extra nc");
        let back = from_netcdf(&p, x.name()).expect("read extra");
        assert_eq!(
            back.array().compute_local().expect("c"),
            x.array().compute_local().expect("c")
        );
        add_nc_var(&nc, x);
    }
    assert_eq!(run_python(&py, CHECK_NC, &[&nc]).trim(), "ok");

    let h5 = dir.path().join("t.h5");
    to_hdf5(&field(), &h5, "/grp/t", &WriteOptions::new(), None).expect("h5");
    for x in [&b, &i] {
        let p = dir.path().join(format!("{}.h5", x.name()));
        to_hdf5(x, &p, x.name(), &WriteOptions::new(), None).expect("extra h5");
        let script = format!(
            "import sys, h5py\nsrc = h5py.File(sys.argv[1], 'r')\ndst = h5py.File(sys.argv[2], 'a')\nsrc.copy('/{}', dst)\n",
            x.name()
        );
        run_python(&py, &script, &[&p, &h5]);
    }
    assert_eq!(run_python(&py, CHECK_H5, &[&h5]).trim(), "ok");
}

#[test]
fn ncdump_and_h5dump_read_our_files() {
    if !tool("ncdump") || !tool("h5dump") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let nc = dir.path().join("t.nc");
    let h5 = dir.path().join("t.h5");
    to_netcdf(
        &field(),
        &nc,
        "t",
        &WriteOptions::new().deflate(Some(6)),
        None,
    )
    .expect("nc");
    to_hdf5(&field(), &h5, "/t", &WriteOptions::new(), None).expect("h5");
    let out = Command::new("ncdump")
        .arg("-s")
        .arg(&nc)
        .output()
        .expect("ncdump");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("float t(time, lat, lon)"), "{text}");
    assert!(text.contains("t:_DeflateLevel = 6"), "{text}");
    assert!(text.contains("t:_Shuffle = \"true\""), "{text}");
    assert!(text.contains("t:_ChunkSizes = 4, 5, 3"), "{text}");
    // The last values of the data section: 543 is t[5, 4, 3].
    assert!(text.contains("540, 541, 542, 543 ;"), "{text}");
    let out = Command::new("h5dump")
        .arg("-p")
        .arg("-d")
        .arg("/t")
        .arg(&h5)
        .output()
        .expect("h5dump");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("CHUNKED ( 4, 5, 3 )"), "{text}");
    assert!(
        text.contains("DEFLATE { LEVEL 4 }") && text.contains("SHUFFLE"),
        "{text}"
    );
    assert!(text.contains("(5,4,0): 540, 541, 542, 543"), "{text}");
}

const WRITE_FOREIGN: &str = r#"
import sys, numpy as np, netCDF4, h5py
nc, h5 = sys.argv[1], sys.argv[2]
with netCDF4.Dataset(nc, "w") as d:
    d.createDimension("time", None)
    d.createDimension("x", 3)
    v = d.createVariable("p", "i2", ("time", "x"), zlib=True, fill_value=-1)
    v.scale_factor = np.float32(0.25)
    v.add_offset = np.float32(-1.0)
    v.set_auto_maskandscale(False)
    v[0:4, :] = np.array([[0, 4, -1], [8, 12, 16], [-1, -1, 20], [24, 28, 32]], dtype="i2")
with h5py.File(h5, "w") as f:
    f.create_dataset("/a/b", data=np.arange(30, dtype="u2").reshape(5, 6), chunks=(2, 3), compression="gzip", shuffle=True)
    f["/a/rows"] = np.arange(5) * 0.5
    f["/a/rows"].make_scale("rows")
    f["/a/b"].dims[0].attach_scale(f["/a/rows"])
    f["/cols"] = np.arange(6) + 100
    f["/cols"].make_scale("cols")
    f["/a/b"].dims[1].attach_scale(f["/cols"])
"#;

#[test]
fn files_written_by_python_tools_open_in_tessera() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let nc = dir.path().join("p.nc");
    let h5 = dir.path().join("p.h5");
    run_python(&py, WRITE_FOREIGN, &[&nc, &h5]);
    let p = from_netcdf(&nc, "p").expect("nc");
    assert_eq!(p.array().dtype(), DType::F32);
    let v = p.array().compute_local_as::<f32>().expect("read");
    assert_eq!(v[[0, 1]], 0.0);
    assert!(v[[0, 2]].is_nan() && v[[2, 0]].is_nan());
    assert_eq!(v[[3, 2]], 7.0);
    let a = from_hdf5(&h5, "/a/b").expect("h5");
    assert_eq!(a.array().dtype(), DType::I32);
    let w = a.array().compute_local_as::<i32>().expect("read");
    assert_eq!(w[[4, 5]], 29);
    // Without DIMENSION_LABELS, the attached dimension scales name the dimensions and give
    // the coordinates, wherever they are in the file.
    assert_eq!(a.dims(), ["rows", "cols"]);
    assert_eq!(
        a.coords()["rows"].values.to_f64_vec(),
        vec![0.0, 0.5, 1.0, 1.5, 2.0]
    );
    assert_eq!(a.coords()["cols"].values.to_f64_vec()[5], 105.0);
    // A NetCDF-4 file read as HDF5: its dimensions are scales; netCDF's placeholder datasets
    // for dimensions without a coordinate variable are not coordinates.
    let q = from_hdf5(&nc, "/p").expect("netCDF-4 as HDF5");
    assert_eq!(q.dims(), ["time", "x"]);
    assert!(q.coords().is_empty(), "{:?}", q.coords().keys());
}

const CHECK_SCALES: &str = r#"
import sys, numpy as np, h5py
with h5py.File(sys.argv[1], "r") as f:
    d = f["/grp/t"]
    assert [x.label for x in d.dims] == ["time", "lat", "lon"], [x.label for x in d.dims]
    assert d.dims[0][0].name == "/time", d.dims[0][0].name
    assert d.dims[1][0].name == "/lat", d.dims[1][0].name
    assert list(d.dims[1][0][...]) == [-20, -10, 0, 10, 20]
    assert len(d.dims[2]) == 0, "lon has no coordinate, so no scale"
    assert h5py.h5ds.is_scale(f["/lat"].id) and h5py.h5ds.is_scale(f["/time"].id)
    assert f["/lat"].attrs["units"] in ("degrees_north", b"degrees_north")
print("ok")
"#;

#[test]
fn hdf5_outputs_attach_coordinates_as_dimension_scales() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let h5 = dir.path().join("t.h5");
    to_hdf5(&field(), &h5, "/grp/t", &WriteOptions::new(), None).expect("h5");
    assert_eq!(run_python(&py, CHECK_SCALES, &[&h5]).trim(), "ok");
    // Tessera reads its own output with the dimension names and coordinates.
    let back = from_hdf5(&h5, "/grp/t").expect("read back");
    assert_eq!(back.dims(), ["time", "lat", "lon"]);
    assert_eq!(
        back.coords()["lat"].values.to_f64_vec(),
        vec![-20.0, -10.0, 0.0, 10.0, 20.0]
    );
}

const WRITE_GROUPS: &str = r#"
import sys, numpy as np, netCDF4
with netCDF4.Dataset(sys.argv[1], "w") as d:
    d.createDimension("time", 2)
    t = d.createVariable("time", "f8", ("time",))
    t[:] = [10.0, 20.0]
    t.units = "days since 2000-01-01"
    g = d.createGroup("model").createGroup("run1")
    g.createDimension("lat", 3)
    lat = g.createVariable("lat", "f4", ("lat",))
    lat[:] = [-1.0, 0.0, 1.0]
    lat.units = "degrees_north"
    v = g.createVariable("tas", "f4", ("time", "lat"), zlib=True)
    v[:] = np.arange(6, dtype="f4").reshape(2, 3) + 270
    v.units = "K"
"#;

const CHECK_GROUPS: &str = r#"
import sys, numpy as np, netCDF4
with netCDF4.Dataset(sys.argv[1]) as d:
    g = d["/out/run2"]
    v = g.variables["tas"]
    assert v.dimensions == ("time", "lat"), v.dimensions
    assert np.array_equal(v[:], np.arange(6, dtype="f4").reshape(2, 3) + 270)
    assert v.units == "K"
    assert list(g.variables["lat"][:]) == [-1.0, 0.0, 1.0]
    assert list(g.variables["time"][:]) == [10.0, 20.0]
    assert "history" in d.ncattrs()
print("ok")
"#;

#[test]
fn netcdf_variables_in_groups_read_and_write() {
    let Some(py) = python() else { return };
    if !tool("ncdump") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("groups.nc");
    run_python(&py, WRITE_GROUPS, &[&src]);
    // Dimensions and coordinates are found in the variable's group and the enclosing ones.
    let x = from_netcdf(&src, "model/run1/tas").expect("group variable");
    assert_eq!(x.name(), "tas");
    assert_eq!(x.dims(), ["time", "lat"]);
    assert_eq!(x.coords()["time"].values.to_f64_vec(), vec![10.0, 20.0]);
    assert_eq!(x.coords()["lat"].values.to_f64_vec(), vec![-1.0, 0.0, 1.0]);
    let v = x.array().compute_local_as::<f32>().expect("read");
    assert_eq!(v[[1, 2]], 275.0);
    assert_eq!(
        from_netcdf(&src, "/model/run1/tas")
            .expect("leading /")
            .dims(),
        x.dims()
    );
    // A missing group names the groups the file has; a missing variable the group's variables.
    let err = from_netcdf(&src, "model/run9/tas").expect_err("no such group");
    let msg = err.to_string();
    assert!(
        msg.contains("no group 'model/run9'")
            && msg.contains("the file has groups: model, model/run1"),
        "{msg}"
    );
    let err = from_netcdf(&src, "model/run1/pr").expect_err("no such variable");
    assert!(err.to_string().contains("model/run1/tas"), "{err}");
    // Written into a group: netCDF4-python and ncdump see it there.
    let out = dir.path().join("out.nc");
    to_netcdf(&x, &out, "/out/run2/tas", &WriteOptions::new(), None).expect("write group");
    assert_eq!(run_python(&py, CHECK_GROUPS, &[&out]).trim(), "ok");
    let dump = Command::new("ncdump").arg(&out).output().expect("ncdump");
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(
        text.contains("group: out {") && text.contains("group: run2 {"),
        "{text}"
    );
    assert!(text.contains("float tas(time, lat)"), "{text}");
    assert!(text.contains("270, 271, 272"), "{text}");
    let back = from_netcdf(&out, "out/run2/tas").expect("read back");
    assert_eq!(back.array().compute_local_as::<f32>().expect("read"), v);
}
