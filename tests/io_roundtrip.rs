//! HDF5 and NetCDF round trips for every dtype, CF decoding, multi-file concatenation,
//! metadata following the data, and bad inputs (missing files and variables, unsupported
//! types, disagreeing files, corrupt files, failed writes leaving no partial output).
#![cfg(feature = "io")]

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use tessera::array::{Array, ArrayData, DType, Element, IndexItem, ReduceKind};
use tessera::io::{
    from_hdf5, from_hdf5_with, from_netcdf, from_netcdf_with, open_files, to_hdf5, to_netcdf,
    write_outputs, AttrValue, Attributes, Format, IoError, LabeledArray, Output, OutputTarget,
    ReadOptions, WriteOptions, WriteStrategy,
};

fn sample<T: Element>(shape: &[usize], f: impl Fn(usize) -> T) -> ArrayD<T> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).expect("shape")
}

fn data_for(dtype: DType, shape: &[usize]) -> ArrayData {
    match dtype {
        DType::Bool => sample(shape, |i| i % 3 == 0).into(),
        DType::U8 => sample(shape, |i| (i * 7 % 256) as u8).into(),
        DType::I32 => sample(shape, |i| i as i32 * 37 - 5000).into(),
        DType::I64 => sample(shape, |i| (i as i64 - 300) * 1_000_000_007).into(),
        DType::F32 => sample(shape, |i| (i as f32 * 0.37).sin() * 1e3).into(),
        DType::F64 => sample(shape, |i| (i as f64).sqrt() - 7.25).into(),
    }
}

fn labeled(data: &ArrayData, chunks: &[usize], name: &str) -> LabeledArray {
    let a = Array::from_data(data, chunks.to_vec()).expect("array");
    let dims: Vec<String> = ["time", "lat", "lon"][..data.shape().len()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let dims: Vec<&str> = dims.iter().map(String::as_str).collect();
    LabeledArray::new(a, name)
        .with_dims(&dims)
        .expect("dims")
        .with_attr("long_name", "a test field")
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Files in `dir` other than `keep` (temporary or partial outputs would show up here).
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_dtype_round_trips_through_hdf5_and_netcdf() {
    let dir = tmp();
    let shape = [7, 5, 6];
    for dtype in DType::ALL {
        let data = data_for(dtype, &shape);
        let src = labeled(&data, &[3, 2, 4], "v");
        let h5 = dir.path().join(format!("{}.h5", dtype.name()));
        let nc = dir.path().join(format!("{}.nc", dtype.name()));
        to_hdf5(&src, &h5, "/g/v", &WriteOptions::new(), None).expect("to_hdf5");
        to_netcdf(&src, &nc, "v", &WriteOptions::new(), None).expect("to_netcdf");
        let back_h5 = from_hdf5(&h5, "/g/v").expect("from_hdf5");
        assert_eq!(back_h5.array().dtype(), dtype, "hdf5 {dtype}");
        assert_eq!(
            back_h5.array().compute_local().expect("read"),
            data,
            "hdf5 {dtype}"
        );
        assert_eq!(back_h5.dims(), ["time", "lat", "lon"]);
        let back_nc = from_netcdf(&nc, "v").expect("from_netcdf");
        assert_eq!(back_nc.array().dtype(), dtype, "netcdf {dtype}");
        assert_eq!(
            back_nc.array().compute_local().expect("read"),
            data,
            "netcdf {dtype}"
        );
        assert_eq!(back_nc.dims(), ["time", "lat", "lon"]);
        assert_eq!(
            back_nc.attrs().get("long_name"),
            Some(&AttrValue::from("a test field"))
        );
    }
    assert_eq!(
        others(dir.path(), &[])
            .iter()
            .filter(|n| n.starts_with('.'))
            .count(),
        0
    );
}

#[test]
fn write_options_and_strategies_give_the_same_values() {
    let dir = tmp();
    let data = data_for(DType::F64, &[9, 10, 11]);
    let src = labeled(&data, &[4, 5, 3], "x");
    for (i, strategy) in [
        WriteStrategy::LockedChunks,
        WriteStrategy::SingleWriter,
        WriteStrategy::LockedFilter,
    ]
    .into_iter()
    .enumerate()
    {
        for (j, opts) in [
            WriteOptions::new(),
            WriteOptions::new().deflate(None).shuffle(false),
            WriteOptions::new().deflate(Some(9)).shuffle(false),
            WriteOptions::new().deflate(None).shuffle(true),
            WriteOptions::new().chunks(vec![3, 10, 11]),
        ]
        .into_iter()
        .enumerate()
        {
            let opts = opts.strategy(strategy);
            for format in [Format::Hdf5, Format::NetCdf] {
                let ext = if format == Format::Hdf5 { "h5" } else { "nc" };
                let p = dir.path().join(format!("o{i}{j}.{ext}"));
                let w = match format {
                    Format::Hdf5 => to_hdf5(&src, &p, "x", &opts, None),
                    Format::NetCdf => to_netcdf(&src, &p, "x", &opts, None),
                }
                .expect("write");
                assert!(w.chunks > 0);
                let back = match format {
                    Format::Hdf5 => from_hdf5(&p, "/x"),
                    Format::NetCdf => from_netcdf(&p, "x"),
                }
                .expect("read");
                assert_eq!(
                    back.array().compute_local().expect("compute"),
                    data,
                    "{strategy:?} options {j} {format}"
                );
            }
        }
    }
}

#[test]
fn zero_dimensional_and_irregular_outputs() {
    let dir = tmp();
    let data = data_for(DType::F64, &[10, 7]);
    let a = Array::from_data(&data, vec![3, 7]).expect("array");
    let total = LabeledArray::new(
        a.sum(tessera::array::ReduceOptions::all()).expect("sum"),
        "s",
    );
    for ext in ["h5", "nc"] {
        let p = dir.path().join(format!("s.{ext}"));
        let r = if ext == "h5" {
            to_hdf5(&total, &p, "s", &WriteOptions::new(), None)
        } else {
            to_netcdf(&total, &p, "s", &WriteOptions::new(), None)
        };
        r.expect("write scalar");
        let back = if ext == "h5" {
            from_hdf5(&p, "s")
        } else {
            from_netcdf(&p, "s")
        };
        let got = back
            .expect("read")
            .array()
            .compute_local()
            .expect("compute")
            .to_f64_vec();
        let want: f64 = data.to_f64_vec().iter().sum();
        assert!((got[0] - want).abs() < 1e-9 * want.abs().max(1.0));
    }
    // A slice with a step gives irregular chunks: written rechunked, values exact.
    let sliced = LabeledArray::new(
        a.index(&[IndexItem::slice(Some(1), None, 3), IndexItem::full()])
            .expect("index"),
        "t",
    );
    let p = dir.path().join("t.h5");
    to_hdf5(&sliced, &p, "t", &WriteOptions::new(), None).expect("write");
    let back = from_hdf5(&p, "t")
        .expect("read")
        .array()
        .compute_local()
        .expect("compute");
    assert_eq!(back, sliced.array().compute_local().expect("compute"));
}

fn write_cf_file(path: &Path, times: std::ops::Range<i32>, lat: usize) {
    let mut f = netcdf::create(path).expect("create");
    f.add_dimension("time", times.len()).expect("dim");
    f.add_dimension("lat", lat).expect("dim");
    {
        let mut t = f.add_variable::<f64>("time", &["time"]).expect("var");
        t.put_attribute("units", "days since 2000-01-01")
            .expect("attr");
        let v: Vec<f64> = times.clone().map(f64::from).collect();
        t.put_values(&v, ..).expect("put");
    }
    {
        let mut l = f.add_variable::<f32>("lat", &["lat"]).expect("var");
        let v: Vec<f32> = (0..lat).map(|i| i as f32 * 10.0).collect();
        l.put_values(&v, ..).expect("put");
    }
    let mut p = f
        .add_variable::<i16>("packed", &["time", "lat"])
        .expect("var");
    p.set_fill_value(-32767i16).expect("fill");
    p.put_attribute("scale_factor", 0.5f32).expect("attr");
    p.put_attribute("add_offset", 100.0f32).expect("attr");
    p.put_attribute("units", "K").expect("attr");
    let vals: Vec<i16> = times
        .clone()
        .flat_map(|t| {
            (0..lat).map(move |j| {
                if (t + j as i32) % 5 == 0 {
                    -32767
                } else {
                    (t * 10 + j as i32) as i16
                }
            })
        })
        .collect();
    p.put_values(&vals, ..).expect("put");
    let mut m = f
        .add_variable::<f32>("masked", &["time", "lat"])
        .expect("var");
    m.put_attribute("missing_value", -999.0f32).expect("attr");
    let vals: Vec<f32> = times
        .flat_map(|t| {
            (0..lat).map(move |j| {
                if j == 1 {
                    -999.0
                } else {
                    t as f32 + j as f32 / 10.0
                }
            })
        })
        .collect();
    m.put_values(&vals, ..).expect("put");
}

#[test]
fn cf_decoding_masks_and_unpacks_and_raw_reads_do_not() {
    let dir = tmp();
    let p = dir.path().join("cf.nc");
    write_cf_file(&p, 0..6, 4);
    let x = from_netcdf(&p, "packed").expect("open");
    assert_eq!(x.array().dtype(), DType::F32);
    assert!(!x.attrs().contains_key("scale_factor"));
    assert_eq!(x.attrs().get("units"), Some(&AttrValue::from("K")));
    let v = x.array().compute_local_as::<f32>().expect("read");
    for t in 0..6usize {
        for j in 0..4usize {
            let got = v[[t, j]];
            if (t + j) % 5 == 0 {
                assert!(got.is_nan(), "({t},{j}) = {got}");
            } else {
                assert_eq!(got, (t * 10 + j) as f32 * 0.5 + 100.0);
            }
        }
    }
    let raw = from_netcdf_with(&p, "packed", &ReadOptions::new().raw()).expect("raw");
    assert_eq!(raw.array().dtype(), DType::I32);
    assert!(raw.attrs().contains_key("scale_factor"));
    let r = raw.array().compute_local_as::<i32>().expect("read");
    assert_eq!(r[[0, 0]], -32767);
    assert_eq!(r[[1, 2]], 12);
    let m = from_netcdf(&p, "masked").expect("masked");
    assert_eq!(m.array().dtype(), DType::F32);
    let mv = m.array().compute_local_as::<f32>().expect("read");
    assert!(mv[[3, 1]].is_nan());
    assert_eq!(mv[[3, 2]], 3.2);
    // Coordinates came along, with their attributes.
    assert_eq!(
        m.coords()["time"].values.to_f64_vec(),
        vec![0., 1., 2., 3., 4., 5.]
    );
    assert_eq!(
        m.coords()["time"].attrs.get("units"),
        Some(&AttrValue::from("days since 2000-01-01"))
    );
}

#[test]
fn many_files_concatenate_along_time_with_coordinates() {
    let dir = tmp();
    for (i, r) in [0..3, 3..5, 5..9].into_iter().enumerate() {
        write_cf_file(&dir.path().join(format!("day_{i}.nc")), r, 4);
    }
    std::fs::write(dir.path().join("notes.txt"), "not data").expect("write");
    let pat = format!("{}/day_*.nc", dir.path().display());
    let x = from_netcdf_with(&pat, "masked", &ReadOptions::new().chunks([2, 4])).expect("glob");
    assert_eq!(x.array().shape(), &[9, 4]);
    // Blocks never straddle files: 2,1 | 2 | 2,2.
    assert_eq!(x.array().chunks().blocks(0), &[2, 1, 2, 2, 2]);
    assert_eq!(
        x.coords()["time"].values.to_f64_vec(),
        (0..9).map(f64::from).collect::<Vec<_>>()
    );
    let v = x.array().compute_local_as::<f32>().expect("read");
    for t in 0..9usize {
        assert_eq!(v[[t, 0]], t as f32);
    }
    // A reduction over time drops time and its coordinate, keeps lat.
    let m = x.reduce_dims(ReduceKind::NanMean, &["time"]).expect("mean");
    assert_eq!(m.dims(), ["lat"]);
    assert!(m.coords().contains_key("lat") && !m.coords().contains_key("time"));
    let mv = m.array().compute_local_as::<f32>().expect("mean");
    assert!((mv[[0]] - 4.0).abs() < 1e-5);
    // The same through a list, and written out with the metadata.
    let files: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("day_{i}.nc")))
        .collect();
    let y = open_files(Format::NetCdf, &files, "packed", &ReadOptions::new()).expect("list");
    assert_eq!(y.array().shape(), &[9, 4]);
    let out = dir.path().join("mean.nc");
    to_netcdf(&m, &out, "masked_mean", &WriteOptions::new(), None).expect("write");
    let back = from_netcdf(&out, "masked_mean").expect("read back");
    assert_eq!(back.dims(), ["lat"]);
    assert_eq!(
        back.coords()["lat"].values.to_f64_vec(),
        vec![0., 10., 20., 30.]
    );
}

#[test]
fn files_that_disagree_are_named() {
    let dir = tmp();
    write_cf_file(&dir.path().join("a_0.nc"), 0..3, 4);
    write_cf_file(&dir.path().join("a_1.nc"), 3..5, 4);
    write_cf_file(&dir.path().join("a_2.nc"), 5..7, 5);
    let pat = format!("{}/a_*.nc", dir.path().display());
    let e = from_netcdf(&pat, "masked").expect_err("mismatch");
    let msg = e.to_string();
    assert!(matches!(e, IoError::Mismatch { .. }), "{msg}");
    assert!(
        msg.contains("a_2.nc") && msg.contains("lat = 5") && msg.contains("a_0.nc"),
        "{msg}"
    );
    let none = format!("{}/zzz_*.nc", dir.path().display());
    assert!(matches!(
        from_netcdf(&none, "x"),
        Err(IoError::NoFiles { .. })
    ));
}

#[test]
fn missing_files_variables_and_unsupported_types_are_clear_errors() {
    let dir = tmp();
    let missing = dir.path().join("nope.h5");
    let e = from_hdf5(&missing, "/x").expect_err("missing file");
    assert!(matches!(e, IoError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("nope.h5"));
    let p = dir.path().join("cf.nc");
    write_cf_file(&p, 0..2, 3);
    let e = from_netcdf(&p, "temperature").expect_err("missing variable");
    let msg = e.to_string();
    assert!(
        msg.contains("temperature") && msg.contains("packed") && msg.contains("masked"),
        "{msg}"
    );
    let h = dir.path().join("x.h5");
    let src = labeled(&data_for(DType::F32, &[4, 4]), &[2, 2], "x");
    to_hdf5(&src, &h, "/grp/x", &WriteOptions::new(), None).expect("write");
    let e = from_hdf5(&h, "/grp/y").expect_err("missing dataset");
    assert!(e.to_string().contains("/grp/x"), "{e}");
    // uint64 and strings are refused, naming the type.
    let u = dir.path().join("u64.nc");
    {
        let mut f = netcdf::create(&u).expect("create");
        f.add_dimension("n", 3).expect("dim");
        let mut v = f.add_variable::<u64>("big", &["n"]).expect("var");
        v.put_values(&[1u64, 2, 3], ..).expect("put");
        f.add_string_variable("names", &["n"]).expect("var");
    }
    let e = from_netcdf(&u, "big").expect_err("uint64");
    assert!(
        matches!(e, IoError::UnsupportedType { .. }) && e.to_string().contains("uint64"),
        "{e}"
    );
    let e = from_netcdf(&u, "names").expect_err("string");
    assert!(e.to_string().contains("string"), "{e}");
}

#[test]
fn truncated_and_corrupt_files_are_refused_or_fail_on_read() {
    let dir = tmp();
    let h = dir.path().join("whole.h5");
    let src = labeled(&data_for(DType::F64, &[40, 50]), &[10, 50], "x");
    to_hdf5(&src, &h, "x", &WriteOptions::new(), None).expect("write");
    let bytes = std::fs::read(&h).expect("read");
    // Cut in the middle: either the open fails or reading the data does, never silently.
    let cut = dir.path().join("cut.h5");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let r = from_hdf5(&cut, "x").and_then(|a| Ok(a.array().compute_local()?));
    assert!(r.is_err(), "a truncated file must not read");
    let junk = dir.path().join("junk.nc");
    std::fs::write(&junk, b"this is not a netcdf file at all").expect("write");
    let e = from_netcdf(&junk, "x").expect_err("junk");
    assert!(
        matches!(e, IoError::Open { .. }) && e.to_string().contains("junk.nc"),
        "{e}"
    );
}

#[test]
fn a_failed_output_leaves_nothing_under_its_name_and_the_others_are_written() {
    let dir = tmp();
    let data = data_for(DType::F64, &[6, 8]);
    let good = labeled(&data, &[3, 4], "good");
    // A computation that fails in its tasks: indexing a file that vanishes before the run.
    let victim = dir.path().join("victim.h5");
    to_hdf5(&good, &victim, "v", &WriteOptions::new(), None).expect("write");
    let doomed = from_hdf5(&victim, "v").expect("open");
    std::fs::remove_file(&victim).expect("remove");
    let outputs = vec![
        Output {
            data: good.clone(),
            target: OutputTarget::parse(&format!("{}/a.nc:good", dir.path().display())).expect("t"),
        },
        Output {
            data: doomed,
            target: OutputTarget::parse(&format!("{}/b.h5:/bad", dir.path().display())).expect("t"),
        },
        Output {
            data: good,
            target: OutputTarget::parse(&format!("{}/c.h5", dir.path().display())).expect("t"),
        },
        Output {
            data: labeled(&data, &[3, 4], "x"),
            target: OutputTarget::parse(&format!("{}/no/such/dir/d.nc", dir.path().display()))
                .expect("t"),
        },
    ];
    let results = write_outputs(&outputs, &WriteOptions::new(), None);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    let e = results[1].as_ref().expect_err("b fails");
    assert!(
        e.to_string().contains("b.h5") && e.to_string().contains("victim.h5"),
        "{e}"
    );
    assert!(results[2].is_ok());
    assert!(results[3].is_err());
    assert_eq!(others(dir.path(), &[]), ["a.nc", "c.h5"]);
    let c = from_hdf5(dir.path().join("c.h5"), "/good").expect("c");
    assert_eq!(c.array().compute_local().expect("c"), data);
}

#[test]
fn history_dims_and_coordinates_are_written() {
    let dir = tmp();
    let data = data_for(DType::F32, &[4, 3]);
    let lat = ArrayData::from(ndarray::arr1(&[-10.0f64, 0.0, 10.0]).into_dyn());
    let mut attrs = Attributes::new();
    attrs.insert("units".into(), AttrValue::from("degrees_north"));
    let x = labeled(&data, &[2, 3], "t")
        .with_coord("lat", lat.clone(), attrs)
        .expect("coord");
    let opts = WriteOptions::new().history("tessera eval 't.mean()' -o out.nc:t");
    for ext in ["h5", "nc"] {
        let p = dir.path().join(format!("m.{ext}"));
        let back = if ext == "h5" {
            to_hdf5(&x, &p, "t", &opts, None).expect("write");
            from_hdf5(&p, "t").expect("read")
        } else {
            to_netcdf(&x, &p, "t", &opts, None).expect("write");
            from_netcdf(&p, "t").expect("read")
        };
        assert_eq!(back.dims(), ["time", "lat"], "{ext}");
        assert_eq!(back.coords()["lat"].values, lat, "{ext}");
        assert_eq!(
            back.coords()["lat"].attrs.get("units"),
            Some(&AttrValue::from("degrees_north"))
        );
        let s = back
            .index(&[IndexItem::full(), IndexItem::slice(Some(1), None, 1)])
            .expect("slice");
        assert_eq!(s.coords()["lat"].values.to_f64_vec(), vec![0.0, 10.0]);
    }
    let f = netcdf::open(dir.path().join("m.nc")).expect("open");
    let h = f
        .attribute("history")
        .expect("history")
        .value()
        .expect("value");
    match h {
        netcdf::AttributeValue::Str(s) => {
            assert!(s.ends_with(": tessera eval 't.mean()' -o out.nc:t"), "{s}")
        }
        other => panic!("history is {other:?}"),
    }
}

#[test]
fn reading_hdf5_with_explicit_chunks_and_cf_opt_in() {
    let dir = tmp();
    let data = data_for(DType::F64, &[12, 10]);
    let x = labeled(&data, &[5, 5], "x").with_attr("_FillValue", AttrValue::Float64(vec![0.0]));
    let p = dir.path().join("x.h5");
    to_hdf5(&x, &p, "x", &WriteOptions::new(), None).expect("write");
    let a = from_hdf5_with(&p, "x", &ReadOptions::new().chunks([4, 10])).expect("open");
    assert_eq!(a.array().chunks().blocks(0), &[4, 4, 4]);
    assert_eq!(a.array().compute_local().expect("read"), data);
    // Default chunks grow from the storage chunks (5×5) while under the target: here the
    // whole (small) array is one chunk.
    let d = from_hdf5(&p, "x").expect("open");
    assert_eq!(d.array().chunks().blocks(0), &[12]);
    assert_eq!(d.array().chunks().blocks(1), &[10]);
    let cf = from_hdf5_with(&p, "x", &ReadOptions::new().decode_cf(true)).expect("cf");
    let v = cf.array().compute_local_as::<f64>().expect("read");
    let raw = data.to_f64_vec();
    for (got, want) in v.iter().zip(&raw) {
        if *want == 0.0 {
            assert!(got.is_nan());
        } else {
            assert_eq!(got, want);
        }
    }
}

/// Outputs naming one file become variables (datasets) of it: dimensions and coordinates are
/// shared, a generated `dim_N` of another length is renamed, a named dimension of another
/// length or a name written twice fails the whole file and leaves the other files written.
#[test]
fn outputs_into_one_file_share_it() {
    let dir = tmp();
    let a = data_for(DType::F64, &[4, 3]);
    let b = data_for(DType::F32, &[4, 3]);
    let lat = ArrayData::from(ndarray::arr1(&[-10.0f64, 0.0, 10.0]).into_dyn());
    let with_lat = |d: &ArrayData, name: &str| {
        labeled(d, &[2, 3], name)
            .with_coord("lat", lat.clone(), Attributes::new())
            .expect("coord")
    };
    let plain =
        |d: &ArrayData, name: &str| LabeledArray::new(Array::from_data(d, 2).expect("array"), name);
    let long = data_for(DType::F64, &[7]);
    let target = |spec: &str| {
        OutputTarget::parse(&format!("{}/{spec}", dir.path().display())).expect("target")
    };
    for ext in ["nc", "h5"] {
        let outputs = vec![
            Output {
                data: with_lat(&a, "a"),
                target: target(&format!("both.{ext}:a")),
            },
            Output {
                data: with_lat(&b, "b"),
                target: target(&format!("both.{ext}:/grp/b")),
            },
            Output {
                data: plain(&a.clone(), "p"),
                target: target(&format!("both.{ext}:p")),
            },
            Output {
                data: plain(&long, "q"),
                target: target(&format!("both.{ext}:q")),
            },
        ];
        let results = write_outputs(&outputs, &WriteOptions::new(), None);
        for r in &results {
            assert!(r.is_ok(), "{ext}: {r:?}");
        }
        let path = dir.path().join(format!("both.{ext}"));
        let read = |name: &str| match ext {
            "nc" => from_netcdf(&path, name).expect("read"),
            _ => from_hdf5(&path, name).expect("read"),
        };
        let ra = read("a");
        assert_eq!(ra.array().compute_local().expect("a"), a, "{ext}");
        assert_eq!(ra.coords()["lat"].values, lat, "{ext}");
        let rb = read("grp/b");
        assert_eq!(rb.array().compute_local().expect("b"), b, "{ext}");
        assert_eq!(rb.dims(), ["time", "lat"], "{ext}");
        assert_eq!(read("p").array().compute_local().expect("p"), a, "{ext}");
        let rq = read("q");
        assert_eq!(rq.array().compute_local().expect("q"), long, "{ext}");
        if ext == "nc" {
            assert_eq!(read("p").dims(), ["dim_0", "dim_1"]);
            assert_eq!(
                rq.dims(),
                ["q_dim_0"],
                "dim_0 of length 7 clashes with dim_0 of p"
            );
        }
    }
    // A named dimension of another length, and a name given twice: those files are not
    // written at all; the file next to them is.
    let short_lat = labeled(&data_for(DType::F64, &[4, 5]), &[2, 5], "c");
    let outputs = vec![
        Output {
            data: with_lat(&a, "a"),
            target: target("clash.nc:a"),
        },
        Output {
            data: short_lat,
            target: target("clash.nc:c"),
        },
        Output {
            data: with_lat(&a, "a"),
            target: target("twice.h5:/a"),
        },
        Output {
            data: with_lat(&b, "b"),
            target: target("twice.h5:/a"),
        },
        Output {
            data: with_lat(&a, "a"),
            target: target("fine.nc:a"),
        },
    ];
    let results = write_outputs(&outputs, &WriteOptions::new(), None);
    let errors: Vec<String> = results[..4]
        .iter()
        .map(|r| r.as_ref().expect_err("clashing file").to_string())
        .collect();
    assert!(
        errors[1].contains("dimension lat has length 3 in this file but 5 for c"),
        "{errors:?}"
    );
    assert!(
        errors[0].contains("another output of this file failed"),
        "{errors:?}"
    );
    assert!(
        errors[3].contains("dataset /a is written twice"),
        "{errors:?}"
    );
    assert!(results[4].is_ok());
    assert_eq!(others(dir.path(), &[]), ["both.h5", "both.nc", "fine.nc"]);
}
