//! `tessera eval` end to end: the real binary on a local cluster and against a scheduler file
//! (`tessera local` in another process), JSON values checked against direct computations,
//! `.npy` output read back (in Rust, and by NumPy when a Python is available), exit codes and
//! rendered errors, and every example of docs/eval.md run and compared with what it shows.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;
use tessera::array::{Array, IndexItem, ReduceOptions};

const TIMEOUT: Duration = Duration::from_secs(120);

fn eval(args: &[&str]) -> Output {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    run(&all, TIMEOUT)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "tessera eval failed: {}", stderr(out));
    serde_json::from_str(stdout(out).trim()).expect("stdout is one JSON document")
}

/// The numbers of a JSON `data` field, flattened; "nan"/"inf"/"-inf" become floats.
fn flat_numbers(data: &serde_json::Value, out: &mut Vec<f64>) {
    match data {
        serde_json::Value::Array(items) => items.iter().for_each(|i| flat_numbers(i, out)),
        serde_json::Value::Number(n) => out.push(n.as_f64().expect("a number")),
        serde_json::Value::String(s) => out.push(match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("unexpected string {other:?} in data"),
        }),
        other => panic!("unexpected {other} in data"),
    }
}

#[test]
fn json_on_a_local_cluster_matches_a_direct_computation() {
    let program = "x = random((60, 40), chunks=(16, 16), seed=3); y = x * 2 - 1; \
                   mean(y, axis=0, keepdims=true)[:, 5:9]";
    let out = eval(&[program, "--local", "2", "--output", "json"]);
    let doc = json_of(&out);
    assert_eq!(doc["shape"], serde_json::json!([1, 4]));
    assert_eq!(doc["dtype"], "f64");
    let mut got = Vec::new();
    flat_numbers(&doc["data"], &mut got);

    // The same expression through the array API, computed in this process: bit-identical.
    let x = Array::random_uniform(&[60, 40], 3, 0.0, 1.0, [16, 16]).expect("x");
    let y = ((&x * 2.0).expect("2x") - 1.0).expect("2x - 1");
    let direct = y
        .mean(ReduceOptions::axes([0]).keepdims(true))
        .expect("mean")
        .index(&[IndexItem::full(), IndexItem::slice(Some(5), Some(9), 1)])
        .expect("slice")
        .compute_local()
        .expect("computed")
        .to_f64_vec();
    // Compare the printed text (serde_json's parser may round the last bit; its printer is
    // exact), so equal text means bit-identical values.
    let printed = serde_json::json!({ "data": [direct.clone()] })["data"].to_string();
    assert!(
        stdout(&out).contains(&format!("\"data\":{printed}")),
        "{} lacks {printed}",
        stdout(&out)
    );

    // And against a plain loop over the random values.
    let values = x.compute_local_as::<f64>().expect("x values");
    for (k, col) in (5..9).enumerate() {
        let naive: f64 = (0..60).map(|r| values[[r, col]] * 2.0 - 1.0).sum::<f64>() / 60.0;
        assert!(
            (got[k] - naive).abs() <= 1e-12 * naive.abs().max(1.0),
            "column {col}: {} vs {naive}",
            got[k]
        );
    }
}

#[test]
fn json_writes_nan_and_infinities_as_strings() {
    let doc = json_of(&eval(&[
        "x = arange(-2, 3, chunks=2) * 1.0; x / 0",
        "--output",
        "json",
    ]));
    assert_eq!(
        doc["data"],
        serde_json::json!(["-inf", "-inf", "nan", "inf", "inf"])
    );
    let scalar = json_of(&eval(&["log(0)", "--output", "json"]));
    assert_eq!(scalar["shape"], serde_json::json!([]));
    assert_eq!(scalar["data"], "-inf");
}

#[test]
fn keepdims_axes_tuples_and_slicing() {
    let doc = json_of(&eval(&[
        "x = arange(60, chunks=7).reshape((3, 4, 5)); sum(x, axis=(0, 2), keepdims=true)",
        "--output",
        "json",
    ]));
    assert_eq!(doc["shape"], serde_json::json!([1, 4, 1]));
    assert_eq!(doc["dtype"], "i64");
    let expected: Vec<i64> = (0..4)
        .map(|j| {
            (0..3)
                .flat_map(|i| (0..5).map(move |k| (i * 20 + j * 5 + k) as i64))
                .sum()
        })
        .collect();
    assert_eq!(
        doc["data"],
        serde_json::json!([expected.iter().map(|v| vec![*v]).collect::<Vec<_>>()])
    );

    let doc = json_of(&eval(&["arange(20, chunks=6)[::-3]", "--output", "json"]));
    let expected: Vec<i64> = (0..20).rev().step_by(3).collect();
    assert_eq!(doc["data"], serde_json::json!(expected));

    let doc = json_of(&eval(&[
        "x = arange(12, chunks=5).reshape((3, 4)); x.T[1:, -1]",
        "--output",
        "json",
    ]));
    assert_eq!(doc["data"], serde_json::json!([9, 10, 11]));
}

#[test]
fn eval_against_a_scheduler_file() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let mut cluster = tessera()
        .args(["local", "--workers", "2", "--scheduler-file"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera local");
    wait_for_file(&file, Duration::from_secs(30));
    let file_arg = file.to_str().expect("utf-8 path");
    let doc = json_of(&eval(&[
        "--scheduler-file",
        file_arg,
        "--output",
        "json",
        "x = ones((100, 80), chunks=(30, 30)) * 3; (x.sum(axis=1) / 80)[:3]",
    ]));
    assert_eq!(doc["data"], serde_json::json!([3.0, 3.0, 3.0]));

    let shutdown = run(&["shutdown", "--scheduler-file", file_arg], TIMEOUT);
    assert!(shutdown.status.success(), "{}", stderr(&shutdown));
    assert!(wait_status(&mut cluster, Duration::from_secs(30)).success());
}

/// Header dict, shape and data offset of a `.npy` 1.0 file.
fn parse_npy(bytes: &[u8]) -> (String, usize) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "magic and version 1.0");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8(bytes[10..10 + len].to_vec()).expect("ASCII header");
    assert_eq!((10 + len) % 64, 0, "data is 64-byte aligned");
    (header, 10 + len)
}

#[test]
fn output_file_is_npy_that_numpy_reads() {
    let dir = temp_dir();
    let path: PathBuf = path_in(&dir, "x.npy");
    let path_arg = path.to_str().expect("utf-8 path");
    let out = eval(&[
        "arange(24, chunks=5).reshape((2, 3, 4)) * 1.5",
        "-o",
        path_arg,
        "--output",
        "json",
    ]);
    let summary = json_of(&out);
    assert_eq!(summary["shape"], serde_json::json!([2, 3, 4]));
    let bytes = std::fs::read(&path).expect("the .npy file");
    assert_eq!(summary["bytes"], serde_json::json!(bytes.len()));
    let (header, offset) = parse_npy(&bytes);
    assert!(
        header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }"),
        "{header}"
    );
    let values: Vec<f64> = bytes[offset..]
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    let expected: Vec<f64> = (0..24).map(|i| i as f64 * 1.5).collect();
    assert_eq!(values, expected);

    let bools = path_in(&dir, "b.npy");
    let out = eval(&["arange(5) > 2", "-o", bools.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&bools).expect("the bool .npy");
    let (header, offset) = parse_npy(&bytes);
    assert!(header.contains("'descr': '|b1'") && header.contains("(5,)"));
    assert_eq!(&bytes[offset..], &[0, 0, 0, 1, 1]);

    if let Some(python) = python() {
        let check = std::process::Command::new(python)
            .arg("-c")
            .arg(
                "import sys, numpy as np\n\
                 a = np.load(sys.argv[1]); b = np.load(sys.argv[2])\n\
                 assert a.dtype == np.float64 and a.shape == (2, 3, 4), (a.dtype, a.shape)\n\
                 assert (a == np.arange(24).reshape(2, 3, 4) * 1.5).all()\n\
                 assert b.dtype == np.bool_ and b.tolist() == [False, False, False, True, True]\n\
                 print('numpy-ok')",
            )
            .arg(&path)
            .arg(&bools)
            .output()
            .expect("run python");
        assert!(
            stdout(&check).contains("numpy-ok"),
            "numpy check failed: {}",
            stderr(&check)
        );
    }
}

#[test]
fn syntax_error_exits_2_with_a_caret_under_the_column() {
    let out = eval(&["x = ones((3, 4)); sum(x, axis=)"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("error: unexpected token ')'"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let source = lines
        .iter()
        .position(|l| l.starts_with("1 | "))
        .expect("the source line");
    let caret_column = lines[source + 1].find('^').expect("a caret");
    let paren_column = lines[source].rfind(')').expect("the closing parenthesis");
    assert_eq!(caret_column, paren_column, "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn shape_mismatch_names_both_shapes_and_the_operation() {
    let out = eval(&["a = ones((3, 4), chunks=2); b = ones((5,)); a * b"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "error: shape mismatch in `*`: shapes (3, 4) and (5,) cannot be broadcast together"
        ),
        "{err}"
    );
    let caret_line = err.lines().nth(3).expect("caret line");
    let source_line = err.lines().nth(2).expect("source line");
    let caret = caret_line.find('^').expect("caret");
    assert_eq!(&source_line[caret..=caret], "*", "{err}");

    let out = eval(&["matmul(ones((3, 4)), ones((3, 4)))"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("matmul") && err.contains("[3, 4]"), "{err}");
}

#[test]
fn unknown_function_lists_close_matches_and_big_results_need_a_file() {
    let out = eval(&["x = ones((3, 3)); meen(x)"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: unknown function \"meen\"; did you mean"),
        "{err}"
    );
    assert!(err.contains("\"mean\""), "{err}");

    let out = eval(&["ones((200, 200))", "--max-print", "1000"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("40000 elements") && err.contains("-o"),
        "{err}"
    );

    let out = eval(&["ones(3)", "-o", "x.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(".npy"));
}

/// `$ tessera eval ...` split into arguments (single quotes group, as in the docs).

#[test]
fn every_example_in_docs_eval_md_prints_what_it_shows() {
    let docs = include_str!("../docs/eval.md");
    let section = docs
        .split("## Evaluating")
        .nth(1)
        .expect("docs/eval.md has an Evaluating section");
    let examples = run_doc_examples(section, "docs/eval.md", None, TIMEOUT);
    assert!(examples >= 10, "only {examples} examples found");
    // Sanity check of the word splitter on the doc's quoting.
    assert_eq!(
        shell_words("tessera eval 'a b' --output json"),
        vec!["tessera", "eval", "a b", "--output", "json"]
    );
}

#[test]
fn a_failing_task_exits_4_and_names_it() {
    // A real kernel given arguments it cannot decode: the program is valid, a task fails.
    let out = eval(&[
        "map_overlap(ones((10, 10), chunks=5), 'tessera.array.permute', 1)",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("task") && err.contains("failed"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[cfg(feature = "io")]
#[test]
fn netcdf_and_hdf5_outputs_read_back_through_eval_and_ncdump() {
    let dir = temp_dir();
    let nc = dir.path().join("field.nc");
    let h5 = dir.path().join("colmean.h5");
    let program = "x = random((120,90), chunks=(40,30), seed=5); x * 2 + 1";
    let out = eval(&[program, "-o", &format!("{}:tas", nc.display())]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Read the file back with eval and compare with the same computation done directly.
    let read = json_of(&eval(&[
        &format!("mean(nc('{}', 'tas'), axis=0)", nc.display()),
        "--output",
        "json",
    ]));
    let direct = json_of(&eval(&[
        &format!("{program}; mean(x * 2 + 1, axis=0)").replace("; x * 2 + 1;", ";"),
        "--output",
        "json",
    ]));
    assert_eq!(read["shape"], serde_json::json!([90]));
    // Same values; the column means may be summed in another chunk order (files keep their
    // own storage chunks), so allow floating-point reassociation (docs/arrays.md).
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flat_numbers(&read["data"], &mut a);
    flat_numbers(&direct["data"], &mut b);
    assert_eq!(a.len(), 90);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{x} vs {y}");
    }
    // HDF5 output from a file input.
    let out = eval(&[
        &format!("mean(nc('{}', 'tas'), axis=0)", nc.display()),
        "-o",
        &format!("{}:/colmean", h5.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dump = std::process::Command::new("h5dump")
        .args(["-H", &h5.display().to_string()])
        .output()
        .expect("h5dump (hdf5-tools) is installed by scripts/install.sh");
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        text.contains("colmean") && text.contains("history"),
        "{text}"
    );
    let ncdump = std::process::Command::new("ncdump")
        .args(["-h", &nc.display().to_string()])
        .output()
        .expect("ncdump (netcdf-bin) is installed by scripts/install.sh");
    let header = String::from_utf8_lossy(&ncdump.stdout);
    assert!(header.contains("double tas(dim_0, dim_1)"), "{header}");
    // A missing variable names what the file has.
    let bad = eval(&[&format!("nc('{}', 'tos')", nc.display())]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("the file has: tas"),
        "{}",
        stderr(&bad)
    );
}

/// Writes in.nc with xarray: t2m(time=4, lat=3, lon=5) = 100 time + 10 lat + lon, float32,
/// coordinates with units, `units`/`long_name` on t2m, and the same variable in group g/sub.
#[cfg(feature = "io")]
const WRITE_LABELED: &str = r#"
import sys, numpy as np, xarray as xr, netCDF4
i, j, k = np.meshgrid(np.arange(4), np.arange(3), np.arange(5), indexing="ij")
t = (100 * i + 10 * j + k).astype("f4")
ds = xr.Dataset(
    {"t2m": (("time", "lat", "lon"), t, {"units": "K", "long_name": "2 metre temperature"})},
    coords={
        "time": ("time", np.arange(4) * 6.0, {"units": "hours since 2000-01-01"}),
        "lat": ("lat", [10.0, 20.0, 30.0], {"units": "degrees_north"}),
        "lon": ("lon", np.arange(5) * 2.5, {"units": "degrees_east"}),
    },
)
ds.to_netcdf(sys.argv[1])
with netCDF4.Dataset(sys.argv[1], "a") as d:
    g = d.createGroup("g").createGroup("sub")
    v = g.createVariable("t2m", "f4", ("time", "lat", "lon"))
    v[:] = t + 1000
"#;

/// Checks what `tessera eval` wrote: the mean over time, a slice, an HDF5 output with
/// dimension scales and a NetCDF output in a group.
#[cfg(feature = "io")]
const CHECK_LABELED: &str = r#"
import sys, numpy as np, xarray as xr, h5py, netCDF4
mean_nc, slice_nc, anom_h5, group_nc = sys.argv[1:5]
i, j, k = np.meshgrid(np.arange(4), np.arange(3), np.arange(5), indexing="ij")
t = (100 * i + 10 * j + k).astype("f4")
m = xr.open_dataset(mean_nc)["t2m"]
assert m.dims == ("lat", "lon"), m.dims
assert m["lat"].values.tolist() == [10.0, 20.0, 30.0], m["lat"].values
assert m["lon"].values.tolist() == [0.0, 2.5, 5.0, 7.5, 10.0], m["lon"].values
assert m["lat"].attrs["units"] == "degrees_north" and m["lon"].attrs["units"] == "degrees_east"
assert m.attrs["units"] == "K" and m.attrs["long_name"] == "2 metre temperature", m.attrs
assert m.attrs["cell_methods"] == "time: mean", m.attrs
assert np.allclose(m.values, t.mean(axis=0))
s = xr.open_dataset(slice_nc)["t2m"]
assert s.dims == ("time", "lat"), s.dims
assert [str(v)[:13] for v in s["time"].values] == ["2000-01-01T06", "2000-01-01T12"], s["time"].values
assert s["lat"].values.tolist() == [10.0, 30.0], s["lat"].values
assert np.array_equal(s.values, t[1:3, ::2, 2])
assert s.attrs["units"] == "K"
with h5py.File(anom_h5, "r") as f:
    d = f["/anom"]
    assert [x.label for x in d.dims] == ["lon", "lat", "time"], [x.label for x in d.dims]
    assert d.dims[0][0].name == "/lon" and d.dims[2][0].name == "/time"
    assert d.dims[1][0][...].tolist() == [10.0, 20.0, 30.0]
    assert np.allclose(d[...], (t - t.mean(axis=0, keepdims=True)).T)
    assert "units" not in d.attrs
with netCDF4.Dataset(group_nc) as d:
    v = d["/out/x"].variables["t2m"]
    assert v.dimensions == ("lat", "lon"), v.dimensions
    assert np.allclose(v[:], t.max(axis=0) + 1000)
    assert d["/out/x"].variables["lon"][:].tolist() == [0.0, 2.5, 5.0, 7.5, 10.0]
print("labels-ok")
"#;

#[cfg(feature = "io")]
#[test]
fn file_outputs_carry_dimensions_coordinates_and_attributes() {
    let Some(python) = python() else {
        return;
    };
    let dir = temp_dir();
    let input = path_in(&dir, "in.nc");
    let run_python = |script: &str, args: &[&Path]| {
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("run python");
        assert!(out.status.success(), "python failed: {}", stderr(&out));
        stdout(&out)
    };
    run_python(WRITE_LABELED, &[&input]);
    let src = input.display().to_string();
    let mean_nc = path_in(&dir, "mean.nc");
    let slice_nc = path_in(&dir, "slice.nc");
    let anom_h5 = path_in(&dir, "anom.h5");
    let group_nc = path_in(&dir, "group.nc");
    let runs = [
        (
            format!("mean(nc('{src}', 't2m'), 0)"),
            format!("{}:t2m", mean_nc.display()),
        ),
        (
            format!("x = nc('{src}', 't2m'); x[1:3, ::2, 2]"),
            format!("{}:t2m", slice_nc.display()),
        ),
        (
            format!("x = nc('{src}', 't2m'); (x - x.mean(axis='time', keepdims=true)).T"),
            format!("{}:/anom", anom_h5.display()),
        ),
        (
            format!("nc('{src}', 'g/sub/t2m').max(axis='time')"),
            format!("{}:/out/x/t2m", group_nc.display()),
        ),
    ];
    for (program, target) in &runs {
        let out = eval(&[program, "-o", target]);
        assert!(out.status.success(), "{program}: {}", stderr(&out));
    }
    assert_eq!(
        run_python(CHECK_LABELED, &[&mean_nc, &slice_nc, &anom_h5, &group_nc]).trim(),
        "labels-ok"
    );
    // A group that does not exist is named, with the groups that do.
    let bad = eval(&[&format!("nc('{src}', 'g/nope/t2m')")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("no group 'g/nope'; the file has groups: g, g/sub"),
        "{}",
        stderr(&bad)
    );
}

/// `tasks` of every JSON line of a successful `tessera eval -o ... --output json` (one line per
/// target, all reporting the same computation).
#[cfg(feature = "io")]
fn tasks_of(out: &Output) -> u64 {
    assert!(out.status.success(), "tessera eval failed: {}", stderr(out));
    let tasks: Vec<u64> = stdout(out)
        .lines()
        .map(|l| {
            let doc: serde_json::Value = serde_json::from_str(l).expect("one JSON document a line");
            doc["tasks"].as_u64().expect("a task count")
        })
        .collect();
    assert!(!tasks.is_empty());
    assert!(tasks.iter().all(|&t| t == tasks[0]), "{tasks:?}");
    tasks[0]
}

/// The values of a float64 `.npy` file written by `tessera eval`.
#[cfg(feature = "io")]
fn npy_values(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).expect("the .npy file");
    let (header, offset) = parse_npy(&bytes);
    assert!(header.contains("'descr': '<f8'"), "{header}");
    bytes[offset..]
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

/// The values `tessera eval PROGRAM` computes, bit for bit (through a `.npy` file: JSON
/// parsing may round the last digit).
#[cfg(feature = "io")]
fn values_of(program: &str) -> Vec<f64> {
    let dir = temp_dir();
    let path = path_in(&dir, "values.npy");
    let out = eval(&[program, "-o", &path.display().to_string()]);
    assert!(out.status.success(), "{program}: {}", stderr(&out));
    npy_values(&path)
}

/// Several results of one program: `m, s` with two -o targets in one NetCDF file, checked by
/// netCDF4/xarray against the same results written one by one and against NumPy.
#[cfg(feature = "io")]
#[test]
fn two_results_go_to_two_variables_of_one_netcdf_file() {
    let Some(python) = python() else {
        return;
    };
    let dir = temp_dir();
    let input = path_in(&dir, "in.nc");
    let made = std::process::Command::new(&python)
        .arg("-c")
        .arg(WRITE_LABELED)
        .arg(&input)
        .output()
        .expect("run python");
    assert!(made.status.success(), "{}", stderr(&made));
    let src = input.display().to_string();
    let stats = path_in(&dir, "stats.nc");
    let (m_npy, s_npy) = (path_in(&dir, "m.npy"), path_in(&dir, "s.npy"));
    let head = format!("x = nc('{src}', 't2m'); m = x.mean(axis='time'); s = x.std(axis='time')");
    let out = eval(&[
        &format!("{head}; m, s"),
        "-o",
        &format!("{}:t2m_mean", stats.display()),
        "-o",
        &format!("{}:t2m_std", stats.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains("stats.nc:t2m_mean ("), "{lines:?}");
    assert!(lines[1].contains("stats.nc:t2m_std ("), "{lines:?}");
    assert!(
        lines[2].starts_with("2 outputs from one computation of "),
        "{lines:?}"
    );
    // The same results, one program each.
    for (result, npy) in [("m", &m_npy), ("s", &s_npy)] {
        let one = eval(&[
            &format!("{head}; {result}"),
            "-o",
            &npy.display().to_string(),
        ]);
        assert!(one.status.success(), "{}", stderr(&one));
    }
    let check = r#"
import sys, numpy as np, xarray as xr, netCDF4
stats, m_npy, s_npy = sys.argv[1:4]
ds = xr.open_dataset(stats)
assert sorted(ds.data_vars) == ["t2m_mean", "t2m_std"], list(ds.data_vars)
assert ds["t2m_mean"].dims == ("lat", "lon") and ds["t2m_std"].dims == ("lat", "lon")
assert ds["lat"].values.tolist() == [10.0, 20.0, 30.0]
assert np.array_equal(ds["t2m_mean"].values, np.load(m_npy))
assert np.array_equal(ds["t2m_std"].values, np.load(s_npy))
i, j, k = np.meshgrid(np.arange(4), np.arange(3), np.arange(5), indexing="ij")
t = (100 * i + 10 * j + k).astype("f4")
assert np.allclose(ds["t2m_mean"].values, t.mean(axis=0), rtol=1e-6)
assert np.allclose(ds["t2m_std"].values, t.std(axis=0), rtol=1e-5)
assert ds["t2m_mean"].attrs["cell_methods"] == "time: mean"
assert ds["t2m_std"].attrs["cell_methods"] == "time: standard_deviation"
with netCDF4.Dataset(stats) as d:
    assert list(d.dimensions) == ["lat", "lon"], list(d.dimensions)
    assert "tessera eval" in d.history
print("two-ok")
"#;
    let checked = std::process::Command::new(&python)
        .arg("-c")
        .arg(check)
        .args([&stats, &m_npy, &s_npy])
        .output()
        .expect("run python");
    assert_eq!(stdout(&checked).trim(), "two-ok", "{}", stderr(&checked));
}

/// NetCDF, HDF5 and .npy targets of one program, read back and compared with the results
/// computed one program each.
#[cfg(feature = "io")]
#[test]
fn mixed_targets_hold_the_results_computed_alone() {
    let dir = temp_dir();
    let head = "x = randn((60, 24), chunks=(20, 8), seed=9); m = x.mean(axis=0); \
                s = x.std(axis=0); t = x.sum(axis=1)";
    let (nc, h5, npy) = (
        path_in(&dir, "mix.nc"),
        path_in(&dir, "mix.h5"),
        path_in(&dir, "t.npy"),
    );
    let out = eval(&[
        &format!("{head}; [m, s, t, m * 2]"),
        "-o",
        &format!("{}:m", nc.display()),
        "-o",
        &format!("{}:/stats/s", h5.display()),
        "-o",
        &npy.display().to_string(),
        "-o",
        &format!("{}:m2", nc.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = values_of(&format!("{head}; m"));
    let s = values_of(&format!("{head}; s"));
    let t = values_of(&format!("{head}; t"));
    assert_eq!(values_of(&format!("nc('{}', 'm')", nc.display())), m);
    assert_eq!(
        values_of(&format!("nc('{}', 'm2')", nc.display())),
        values_of(&format!("{head}; m * 2"))
    );
    assert_eq!(values_of(&format!("h5('{}', '/stats/s')", h5.display())), s);
    assert_eq!(t.len(), 60);
    assert_eq!(npy_values(&npy), t);
}

/// The work shared by several results runs once: one submission, whose task count (in the
/// JSON summary) is what the results take apart minus the tasks they share — here the 16
/// chunk reads of the input file, read once for both results.
#[cfg(feature = "io")]
#[test]
fn several_targets_share_the_work() {
    let dir = temp_dir();
    let target = |name: &str| path_in(&dir, name).display().to_string();
    let input = target("in.nc");
    let made = eval(&[
        "random((40, 30, 20), chunks=(10, 15, 10), seed=2)",
        "-o",
        &format!("{input}:t"),
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    let head = format!(
        "x = nc('{input}', 't', chunks=(10, 15, 10)); m = x.mean(axis=0); s = x.std(axis=0)"
    );
    let json = |program: &str, targets: &[String]| {
        let mut args = vec![program];
        for t in targets {
            args.extend(["-o", t.as_str()]);
        }
        args.extend(["--output", "json", "--overwrite"]);
        tasks_of(&eval(&args))
    };
    let reads = json(&format!("{head}; x"), &[target("x.npy")]);
    assert_eq!(reads, 16, "one task per chunk read");
    for (a, b) in [
        (
            format!("{}:m", target("ab.nc")),
            format!("{}:s", target("ab.nc")),
        ),
        (target("a.npy"), target("b.npy")),
        (format!("{}:/m", target("a.h5")), target("c.npy")),
    ] {
        let both = json(&format!("{head}; m, s"), &[a.clone(), b.clone()]);
        let m = json(&format!("{head}; m"), &[a.replace("ab.nc", "m.nc")]);
        let s = json(&format!("{head}; s"), &[b.replace("ab.nc", "s.nc")]);
        assert_eq!(
            both,
            m + s - reads,
            "{a} {b}: {both} together, {m} + {s} apart"
        );
    }
}

#[test]
fn an_existing_output_is_replaced_only_with_overwrite() {
    let dir = temp_dir();
    let target = path_in(&dir, "t.npy").display().to_string();
    let first = eval(&["arange(3)", "-o", &target]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = std::fs::read(&target).expect("written");
    let again = eval(&["arange(5)", "-o", &target]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists; give --overwrite to replace it (nothing was written)"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(&target).expect("kept"), before);
    let replaced = eval(&["arange(5)", "-o", &target, "--overwrite"]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert_ne!(std::fs::read(&target).expect("replaced"), before);
}

#[test]
fn result_and_target_counts_must_match() {
    let dir = temp_dir();
    let a = path_in(&dir, "a.npy").display().to_string();
    let b = path_in(&dir, "b.npy").display().to_string();
    let c = path_in(&dir, "c.npy").display().to_string();
    let cases = [
        (
            vec!["x = ones(4); x, x * 2", "-o", &a, "-o", &b, "-o", &c],
            "the program has 2 results but 3 -o targets were given; give one -o per result, in order",
        ),
        (
            vec!["ones(4)", "-o", &a, "-o", &b],
            "the program has 1 result but 2 -o targets were given; end the program with one \
             result per -o, separated by commas (e.g. 'm, s')",
        ),
        (
            vec!["x = ones(4); [x, x]", "-o", &a],
            "the program has 2 results but 1 -o target was given; give one -o per result, in order",
        ),
    ];
    for (args, message) in cases {
        let out = eval(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim(), format!("tessera: error: {message}"));
        assert!(stdout(&out).is_empty());
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

/// A target that fails leaves the others written, and nothing under its own name (nor, for
/// a file shared by several targets, under that file's name).
#[cfg(feature = "io")]
#[test]
fn a_failing_target_leaves_the_others_written() {
    let dir = temp_dir();
    let good_nc = path_in(&dir, "good.nc");
    let good_h5 = path_in(&dir, "good.h5");
    let twice = path_in(&dir, "twice.nc");
    let missing = dir.path().join("no/such/dir/lost.nc");
    let out = eval(&[
        "x = arange(12, chunks=5) * 1.5; x, x + 1, x * 2, x - 1, x",
        "-o",
        &format!("{}:x", good_nc.display()),
        "-o",
        &format!("{}:y", missing.display()),
        "-o",
        &format!("{}:/z", good_h5.display()),
        "-o",
        &format!("{}:v", twice.display()),
        "-o",
        &format!("{}:v", twice.display()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no/such/dir"), "{err}");
    assert!(err.contains("variable v is written twice"), "{err}");
    let expected: Vec<f64> = (0..12).map(|i| f64::from(i) * 1.5).collect();
    assert_eq!(
        values_of(&format!("nc('{}', 'x')", good_nc.display())),
        expected
    );
    assert_eq!(
        values_of(&format!("h5('{}', '/z')", good_h5.display())),
        expected.iter().map(|v| v * 2.0).collect::<Vec<_>>()
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["good.h5", "good.nc"]);
}

#[test]
fn a_reader_that_stops_early_ends_eval_quietly() {
    // `tessera eval … | head -c 100`: the result is far larger than a pipe's buffer, so the
    // write fails once the reader is gone; eval must exit 0 without a panic message.
    use std::io::Read;
    let mut child = tessera()
        .args(["eval", "arange(400000, chunks=100000)", "--local", "1"])
        .args(["--max-print", "1000000", "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tessera eval");
    let mut first = [0u8; 100];
    let mut stdout = child.stdout.take().expect("stdout");
    stdout
        .read_exact(&mut first)
        .expect("the first bytes of the result");
    drop(stdout);
    let out = wait_output(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}; stderr: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(
        String::from_utf8_lossy(&first).starts_with('{'),
        "JSON result expected"
    );
}
