//! Coordinates and decoded time in `tessera eval`, against xarray (the test Python) on small
//! generated NetCDF files in every CF calendar: `x.time.month` and the other components,
//! `sel` by date, date range and value (`method="nearest"`), `isel`, a longitude box across
//! the 0/360 seam, `x.dims`/`x.sizes`, outputs whose time axis xarray decodes to the same
//! dates, and the one-line errors for bad selections.
#![cfg(feature = "io")]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{python, run, run_doc_examples, run_python, temp_dir};

const TIMEOUT: Duration = Duration::from_secs(120);

/// Writes `tas(time, lat, lon)` (daily, 2000-01-01 for 800 days, `days since 1999-12-01`
/// in the calendar given) to argv[1].
const MAKE: &str = r#"
import sys, numpy as np, netCDF4, cftime
path, cal = sys.argv[1], sys.argv[2]
with netCDF4.Dataset(path, "w") as ds:
    ds.createDimension("time", 800); ds.createDimension("lat", 6); ds.createDimension("lon", 12)
    t = ds.createVariable("time", "f8", ("time",)); t.units = "days since 1999-12-01 06:00"; t.calendar = cal
    start = cftime.date2num(cftime.datetime(2000, 1, 1, 12, calendar=cal), t.units, cal)
    t[:] = start + np.arange(800)
    la = ds.createVariable("lat", "f4", ("lat",)); la.units = "degrees_north"; la[:] = np.arange(-75, 76, 30)
    lo = ds.createVariable("lon", "f4", ("lon",)); lo.units = "degrees_east"; lo[:] = np.arange(0, 360, 30)
    v = ds.createVariable("tas", "f4", ("time", "lat", "lon")); v.units = "K"
    i, j, k = np.meshgrid(np.arange(800), np.arange(6), np.arange(12), indexing="ij")
    v[:] = (250 + 20 * np.sin(i / 58.0) + j * 3 + k * 0.25).astype("f4")
"#;

/// Evaluates each line of argv[2] (xarray expressions over `x`) on argv[1]; prints JSON.
const XARRAY: &str = r#"
import sys, json, numpy as np, xarray as xr
ds = xr.open_dataset(sys.argv[1], use_cftime=True)
x = ds.tas
out = []
for line in open(sys.argv[2]).read().splitlines():
    *setup, last = line.split("; ")
    for statement in setup:
        exec(statement)
    r = eval(last)
    out.append([None if np.isnan(v) else v for v in np.asarray(r, dtype="f8").ravel().tolist()])
print(json.dumps(out))
"#;

fn eval_json(program: &str) -> Output {
    run(&["eval", program, "--output", "json"], TIMEOUT)
}

fn numbers(out: &Output, what: &str) -> Vec<f64> {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let mut flat = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Number(n) => out.push(n.as_f64().expect("number")),
            serde_json::Value::String(s) if s == "nan" => out.push(f64::NAN),
            other => panic!("unexpected {other}"),
        }
    }
    let data = if v["data"].is_null() {
        &v["value"]
    } else {
        &v["data"]
    };
    walk(data, &mut flat);
    flat
}

fn make(py: &Path, dir: &Path, calendar: &str) -> std::path::PathBuf {
    let path = dir.join(format!("tas_{calendar}.nc"));
    let cal = Path::new(calendar);
    run_python(py, MAKE, &[&path, cal]);
    path
}

/// Pairs of (tessera program over `x`, xarray expression over `x`).
fn compare(py: &Path, dir: &Path, file: &Path, pairs: &[(&str, &str)]) {
    let lines = dir.join("xarray.txt");
    let text: Vec<&str> = pairs.iter().map(|(_, x)| *x).collect();
    std::fs::write(&lines, text.join("\n")).expect("write");
    let expected: Vec<Vec<Option<f64>>> =
        serde_json::from_str(run_python(py, XARRAY, &[file, &lines]).trim()).expect("json");
    for ((ours, theirs), want) in pairs.iter().zip(&expected) {
        let program = format!("x = nc('{}', 'tas'); {ours}", file.display());
        let got = numbers(&eval_json(&program), ours);
        assert_eq!(got.len(), want.len(), "{ours} vs xarray {theirs}");
        for (g, w) in got.iter().zip(want) {
            let w = w.unwrap_or(f64::NAN);
            assert!(
                (g - w).abs() <= 1e-5 * w.abs().max(1.0) || (g.is_nan() && w.is_nan()),
                "{ours} vs xarray {theirs}: {got:?} vs {want:?}"
            );
        }
    }
}

#[test]
fn time_components_and_date_selections_agree_with_xarray_in_every_calendar() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    for calendar in [
        "standard",
        "proleptic_gregorian",
        "julian",
        "noleap",
        "all_leap",
        "360_day",
    ] {
        let file = make(&py, dir.path(), calendar);
        compare(
            &py,
            dir.path(),
            &file,
            &[
                ("x.time.month", "x.time.dt.month"),
                ("x.time.year", "x.time.dt.year"),
                ("x.time.day", "x.time.dt.day"),
                ("x.time.hour", "x.time.dt.hour"),
                ("x.time.dayofyear", "x.time.dt.dayofyear"),
                (
                    "x.time.season",
                    "[['DJF','MAM','JJA','SON'].index(s) for s in x.time.dt.season.values]",
                ),
                (
                    "sel(x, time=slice('2000-02-27', '2000-03-02'), lat=slice(-30, 30)).mean('time')",
                    "x.sel(time=slice('2000-02-27', '2000-03-02'), lat=slice(-30, 30)).mean('time')",
                ),
                (
                    "sel(x, time='2001-02')[:, 0, 0]",
                    "x.sel(time='2001-02')[:, 0, 0]",
                ),
                ("sel(x, time='2001').shape", "x.sel(time='2001').shape"),
                (
                    "sel(x, time=slice('2000-12', '2001-01')).time.day",
                    "x.sel(time=slice('2000-12', '2001-01')).time.dt.day",
                ),
            ],
        );
    }
}

#[test]
fn values_nearest_positions_and_the_longitude_seam_agree_with_xarray() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    let file = make(&py, dir.path(), "standard");
    compare(
        &py,
        dir.path(),
        &file,
        &[
            ("sel(x, lat=15, lon=60)[:3]", "x.sel(lat=15, lon=60)[:3]"),
            (
                "sel(x, lat=20, lon=70, method='nearest')[:3]",
                "x.sel(lat=20, lon=70, method='nearest')[:3]",
            ),
            ("isel(x, time=0)", "x.isel(time=0)"),
            (
                "isel(x, time=slice(2, 10, 3), lon=-1)",
                "x.isel(time=slice(2, 10, 3), lon=-1)",
            ),
            ("x.lat", "x.lat"),
            (
                "sel(x, lon=slice(300, 60)).lon",
                "xr.concat([x.lon.sel(lon=slice(300, None)), x.lon.sel(lon=slice(None, 60))], 'lon')",
            ),
            (
                "sel(x, lon=slice(-60, 60))[0, 0]",
                "xr.concat([x.sel(lon=slice(300, None)), x.sel(lon=slice(None, 60))], 'lon')[0, 0]",
            ),
            (
                "sel(x, lat=(45, -15))[0, :, 0]",
                "x.sel(lat=[45, -15])[0, :, 0]",
            ),
        ],
    );
    let program = format!("x = nc('{}', 'tas'); x.sizes", file.display());
    let out = run(&["eval", &program], TIMEOUT);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"time\": 800, \"lat\": 6, \"lon\": 12}\n"
    );
    let program = format!("x = nc('{}', 'tas'); x.dims, x.attrs", file.display());
    let out = run(&["eval", &program], TIMEOUT);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "((\"time\", \"lat\", \"lon\"), {\"units\": \"K\"})\n"
    );
}

#[test]
fn selections_written_out_keep_the_time_encoding_xarray_decodes() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    for calendar in ["noleap", "360_day", "standard"] {
        let file = make(&py, dir.path(), calendar);
        let out_nc = dir.path().join(format!("feb_{calendar}.nc"));
        let program = format!(
            "x = nc('{}', 'tas'); sel(x, time=slice('2000-02-20', '2000-03-03'))",
            file.display()
        );
        // Without `:VAR` the variable keeps its input's name.
        let target = out_nc.display().to_string();
        let out = run(&["eval", &program, "-o", &target], TIMEOUT);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let check = r#"
import sys, xarray as xr
a = xr.open_dataset(sys.argv[1], use_cftime=True)
b = xr.open_dataset(sys.argv[2], use_cftime=True).tas.sel(time=slice('2000-02-20', '2000-03-03'))
assert list(a.time.values) == list(b.time.values), (a.time.values, b.time.values)
assert a.time.encoding["units"] == "days since 1999-12-01 06:00", a.time.encoding
assert a.time.encoding["calendar"] == sys.argv[3], a.time.encoding
assert (a.tas.values == b.values).all()
print(len(a.time))
"#;
        let n = run_python(&py, check, &[&out_nc, &file, Path::new(calendar)]);
        let expected = match calendar {
            "noleap" => 12,
            "360_day" => 14,
            _ => 13,
        };
        assert_eq!(n.trim(), expected.to_string(), "{calendar}");
    }
}

#[test]
fn bad_selections_are_one_line_errors_naming_the_dimension() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    let file = make(&py, dir.path(), "noleap");
    for (program, words) in [
        ("sel(x, time='2000-02-29')", "2000-02-29"),
        ("sel(x, time='1990')", "no step in \"1990\""),
        ("sel(x, depth=3)", "no dimension depth"),
        ("sel(x, lat=16)", "lat: no coordinate equals 16"),
        ("sel(x, lat=0, method='closest')", "method \"closest\""),
        ("x.time.monthh", "did you mean \"month\"?"),
        ("x.lat.month", "lat is not a CF time coordinate"),
        ("isel(x, lat=slice(0, 2, 0))", "step cannot be zero"),
        ("sel(ones(3), time=0)", "dimension names"),
    ] {
        let full = format!("x = nc('{}', 'tas'); {program}", file.display());
        let out = run(&["eval", &full], TIMEOUT);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{program}: {err}");
        assert!(err.contains(words), "{program}: {err}");
    }
}

#[test]
fn every_example_in_docs_labeled_md_prints_what_it_shows() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    let file = dir.path().join("tas.nc");
    run_python(&py, MAKE, &[&file, Path::new("noleap")]);
    let docs = include_str!("../docs/labeled.md");
    let examples = run_doc_examples(docs, "docs/labeled.md", Some(dir.path()), TIMEOUT);
    assert!(examples >= 8, "only {examples} examples found");
}

/// `tas` with `_FillValue = 1e20`, an outage (days 10–40 at two grid points, all days at a
/// third) and `tv` with `valid_range = [0, 300]` and values outside it.
const MAKE_MISSING: &str = r#"
import sys, numpy as np, netCDF4
path = sys.argv[1]
with netCDF4.Dataset(path, "w") as ds:
    ds.createDimension("time", 60); ds.createDimension("lat", 3); ds.createDimension("lon", 4)
    t = ds.createVariable("time", "f8", ("time",)); t.units = "days since 2000-01-01"; t.calendar = "standard"
    t[:] = np.arange(60)
    la = ds.createVariable("lat", "f4", ("lat",)); la[:] = [-30, 0, 30]
    lo = ds.createVariable("lon", "f4", ("lon",)); lo[:] = [0, 90, 180, 270]
    v = ds.createVariable("tas", "f4", ("time", "lat", "lon"), fill_value=np.float32(1e20)); v.units = "K"
    i, j, k = np.meshgrid(np.arange(60), np.arange(3), np.arange(4), indexing="ij")
    data = (280 + 10 * np.sin(i / 7.0) + j - k * 0.5).astype("f4")
    data[10:41, 1, 0:2] = 1e20
    data[:, 2, 3] = 1e20
    v[:] = np.ma.masked_equal(data, np.float32(1e20))
    w = ds.createVariable("tv", "f4", ("time", "lat", "lon")); w.valid_range = np.array([0, 300], "f4")
    w.set_auto_mask(False)
    w[:] = data + (i % 9 == 0) * 50
"#;

#[test]
fn missing_values_are_skipped_on_labeled_data_counted_and_written_back_as_fill() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    let file = dir.path().join("outage.nc");
    run_python(&py, MAKE_MISSING, &[&file]);
    compare(
        &py,
        dir.path(),
        &file,
        &[
            ("x.mean('time')", "x.mean('time')"),
            ("mean(x, 'time')", "x.mean('time')"),
            ("x.std('time')", "x.std('time')"),
            ("x.var('time', ddof=1)", "x.var('time', ddof=1)"),
            ("x.min(('lat', 'lon'))", "x.min(('lat', 'lon'))"),
            ("x.max('lon')[12]", "x.max('lon')[12]"),
            ("x.sum('time')", "x.sum('time')"),
            ("count(x, 'time')", "x.count('time')"),
            ("x.count()", "x.count()"),
            (
                "x.mean('time', skipna=false)",
                "x.mean('time', skipna=False)",
            ),
            (
                "y = x.astype('f8'); (y - y.mean('time')).mean(('lat', 'lon'))",
                "(x.astype('f8') - x.astype('f8').mean('time')).mean(('lat', 'lon'))",
            ),
        ],
    );
    // Unlabeled arrays keep NumPy's rule: NaN propagates unless asked otherwise.
    let plain = numbers(
        &eval_json("x = where(arange(4) > 1, nan, 1.0); stack([mean(x), mean(x, skipna=true)])"),
        "plain",
    );
    assert!(plain[0].is_nan() && plain[1] == 1.0, "{plain:?}");
    // valid_range masks as CF and netCDF4-python do.
    let program = format!("nc('{}', 'tv').max('time')", file.display());
    let ours: Vec<f64> = numbers(&eval_json(&program), "valid_range")
        .into_iter()
        .map(|v| if v.is_nan() { -1.0 } else { v })
        .collect();
    let theirs: Vec<f64> = serde_json::from_str(
        run_python(
            &py,
            "import sys, json, netCDF4\nv = netCDF4.Dataset(sys.argv[1])['tv'][:]\nprint(json.dumps(v.max(axis=0).astype('f8').filled(-1.0).ravel().tolist()))",
            &[&file],
        )
        .trim(),
    )
    .expect("json");
    assert_eq!(ours, theirs);
    // Written back: NaN stored as the fill value, read as missing by netCDF4 and xarray.
    let out_nc = dir.path().join("outage_out.nc");
    let program = format!(
        "x = nc('{}', 'tas'); sel(x, time=slice('2000-01-05', '2000-02-20'))",
        file.display()
    );
    let target = format!("{}:tas", out_nc.display());
    let out = run(&["eval", &program, "-o", &target], TIMEOUT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = r#"
import sys, numpy as np, netCDF4, xarray as xr
raw = netCDF4.Dataset(sys.argv[1])["tas"]; raw.set_auto_mask(False)
assert raw._FillValue == np.float32(1e20), raw._FillValue
stored = raw[:]
assert not np.isnan(stored).any()
a = xr.open_dataset(sys.argv[1]).tas
b = xr.open_dataset(sys.argv[2]).tas.sel(time=slice("2000-01-05", "2000-02-20"))
assert np.array_equal(np.isnan(a.values), np.isnan(b.values))
assert (stored == np.float32(1e20)).sum() == np.isnan(b.values).sum() > 0
print("ok")
"#;
    assert_eq!(run_python(&py, check, &[&out_nc, &file]).trim(), "ok");
}

#[test]
fn groupby_and_resample_agree_with_xarray_in_every_calendar() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    let seasons = ".sel(season=['DJF', 'MAM', 'JJA', 'SON'])";
    for calendar in ["standard", "noleap", "360_day", "julian", "all_leap"] {
        let file = make(&py, dir.path(), calendar);
        compare(
            &py,
            dir.path(),
            &file,
            &[
                (
                    "groupby(x, 'time.month').mean()",
                    "x.groupby('time.month').mean()",
                ),
                (
                    "groupby(x, 'time.month').mean().month",
                    "x.groupby('time.month').mean().month",
                ),
                (
                    "groupby(x, 'time.season').std()",
                    &format!("x.groupby('time.season').std(){seasons}"),
                ),
                (
                    "groupby(x, 'time.year').sum()",
                    "x.groupby('time.year').sum()",
                ),
                (
                    "groupby(x, 'time.dayofyear').var(ddof=1)[:, 0, 0]",
                    "x.groupby('time.dayofyear').var(ddof=1)[:, 0, 0]",
                ),
                (
                    "groupby(x[:30], 'lat').mean()",
                    "x[:30].groupby('lat').mean()",
                ),
                (
                    "y = x.astype('f8'); (groupby(y, 'time.month') - groupby(y, 'time.month').mean()).mean(('lat', 'lon'))",
                    "y = x.astype('f8'); (y.groupby('time.month') - y.groupby('time.month').mean()).mean(('lat', 'lon'))",
                ),
                (
                    "resample(x, time='MS').mean()",
                    "x.resample(time='MS').mean()",
                ),
                (
                    "resample(x, time='MS').mean().time.month",
                    "x.resample(time='MS').mean().time.dt.month",
                ),
                (
                    "resample(x, time='QS-DEC').mean()",
                    "x.resample(time='QS-DEC').mean()",
                ),
                (
                    "resample(x, time='QS-DEC').mean().time.year",
                    "x.resample(time='QS-DEC').mean().time.dt.year",
                ),
                (
                    "resample(x, time='YS').count()[:, 0, 0]",
                    "x.resample(time='YS').count()[:, 0, 0]",
                ),
            ],
        );
    }
}

#[test]
fn grouped_reductions_skip_missing_values_and_count_them() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    let file = dir.path().join("outage.nc");
    run_python(&py, MAKE_MISSING, &[&file]);
    compare(
        &py,
        dir.path(),
        &file,
        &[
            (
                "groupby(x, 'time.month').mean()",
                "x.groupby('time.month').mean()",
            ),
            (
                "groupby(x, 'time.month').count()",
                "x.groupby('time.month').count()",
            ),
            (
                "groupby(x, 'time.month').std()",
                "x.groupby('time.month').std()",
            ),
            (
                "resample(x, time='D').sum()[:20]",
                "x.resample(time='D').sum()[:20]",
            ),
        ],
    );
    let program = format!(
        "x = nc('{}', 'tas'); groupby(x, 'time.month').min()",
        file.display()
    );
    let out = run(&["eval", &program], TIMEOUT);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not available yet"));
}

/// One file per year (argv[2], argv[3], ...) with its own time units, `days since <year>-01-01`.
const MAKE_YEARS: &str = r#"
import sys, numpy as np, netCDF4
for k, path in enumerate(sys.argv[1:]):
    year = 2000 + k
    n = 366 if year % 4 == 0 else 365
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", None); ds.createDimension("lat", 2)
        t = ds.createVariable("time", "f8", ("time",)); t.units = f"days since {year}-01-01"; t.calendar = "standard"
        t[:] = np.arange(n) + 0.5
        la = ds.createVariable("lat", "f4", ("lat",)); la[:] = [-10, 10]
        v = ds.createVariable("tas", "f4", ("time", "lat")); v[:] = np.arange(2 * n).reshape(n, 2) + 1000 * k
        o = ds.createVariable("orog", "f4", ("lat",)); o[:] = [100, 200]
"#;

#[test]
fn files_with_their_own_time_units_concatenate_on_one_axis_and_shared_coordinates_are_refused() {
    let Some(py) = python() else { return };
    let dir = temp_dir();
    let files: Vec<std::path::PathBuf> = (0..3)
        .map(|k| dir.path().join(format!("tas_{}.nc", 2000 + k)))
        .collect();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    run_python(&py, MAKE_YEARS, &refs);
    let pattern = dir.path().join("tas_*.nc");
    let read = format!("nc('{}', 'tas')", pattern.display());
    let expect = r#"
import sys, json, xarray as xr
x = xr.concat([xr.open_dataset(f).tas for f in sys.argv[1:]], "time")
print(json.dumps([x.time.dt.year.values.tolist(), x.time.dt.dayofyear.values.tolist(), x.sel(time="2001-03").values.ravel().tolist()]))
"#;
    let want: Vec<Vec<f64>> =
        serde_json::from_str(run_python(&py, expect, &refs).trim()).expect("json");
    for (program, w) in [
        (format!("{read}.time.year"), &want[0]),
        (format!("{read}.time.dayofyear"), &want[1]),
        (format!("sel({read}, time='2001-03')"), &want[2]),
    ] {
        let full = format!("{program} + 0");
        let got = numbers(
            &run(
                &["eval", &full, "--output", "json", "--max-print", "5000"],
                TIMEOUT,
            ),
            &program,
        );
        assert_eq!(&got, w, "{program}");
    }
    // A variable without the dimension the files split (orography in every yearly file).
    let orog = format!("nc('{}', 'orog')", pattern.display());
    let out = run(&["eval", &orog], TIMEOUT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("same lat coordinate as the first file"),
        "{err}"
    );
}

/// [`compare`] with `setup` (`"y = ...; "`) before each of our programs.
fn compare_after(py: &Path, dir: &Path, file: &Path, setup: &str, pairs: &[(&str, &str)]) {
    let ours: Vec<String> = pairs.iter().map(|(o, _)| format!("{setup}{o}")).collect();
    let pairs: Vec<(&str, &str)> = ours
        .iter()
        .zip(pairs)
        .map(|(o, (_, theirs))| (o.as_str(), *theirs))
        .collect();
    compare(py, dir, file, &pairs);
}

/// The test Python, a directory and `outage.nc` ([`MAKE_MISSING`]) in it; `None` without
/// the test Python.
fn outage() -> Option<(std::path::PathBuf, tempfile::TempDir, std::path::PathBuf)> {
    let py = python()?;
    let dir = temp_dir();
    let file = dir.path().join("outage.nc");
    run_python(&py, MAKE_MISSING, &[&file]);
    Some((py, dir, file))
}

/// `program` over `x = nc(file, 'tas')` fails with exit code 2, one message containing
/// `needle` and no panic.
fn usage_error(file: &Path, program: &str, needle: &str) {
    let out = eval_json(&format!("x = nc('{}', 'tas'); {program}", file.display()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{program}: {err}");
    assert!(err.contains(needle), "{program}: {err}");
    assert!(!err.contains("panicked"), "{program}: {err}");
}

#[test]
fn rolling_windows_agree_with_xarray_across_uneven_chunks_and_the_outage() {
    let Some((py, dir, file)) = outage() else {
        return;
    };
    // Chunks of 7 steps (the last one 4): windows of 5 cross chunk borders and are longer
    // than the last chunk, windows of 30 and 100 are longer than every chunk, and the outage
    // (days 10-40) spans chunks; lat and lon are cut unevenly too.
    let y = "y = x.rechunk((7, 2, 3)); ";
    let pairs = [
        ("rolling(y, time=5).mean()", "x.rolling(time=5).mean()"),
        ("rolling(y, time=5).sum()", "x.rolling(time=5).sum()"),
        ("rolling(y, time=5).min()", "x.rolling(time=5).min()"),
        ("rolling(y, time=5).max()", "x.rolling(time=5).max()"),
        ("rolling(y, time=5).std()", "x.rolling(time=5).std()"),
        ("y.rolling(time=30).mean()", "x.rolling(time=30).mean()"),
        (
            "rolling(y, time=30, center=True).mean()",
            "x.rolling(time=30, center=True).mean()",
        ),
        (
            "rolling(y, time=4, center=True, min_periods=1).sum()",
            "x.rolling(time=4, center=True, min_periods=1).sum()",
        ),
        (
            "rolling(y, time=7, min_periods=3).mean()",
            "x.rolling(time=7, min_periods=3).mean()",
        ),
        (
            "rolling(y, time=100, min_periods=1).max()",
            "x.rolling(time=100, min_periods=1).max()",
        ),
        (
            "rolling(y, lon=3, center=True).mean()",
            "x.rolling(lon=3, center=True).mean()",
        ),
        ("rolling(y, lat=2).sum()", "x.rolling(lat=2).sum()"),
        ("rolling(y, time=1).mean()", "x.rolling(time=1).mean()"),
    ];
    compare_after(&py, dir.path(), &file, y, &pairs);
    // Labels and descriptive attributes stay, as xarray keeps them.
    let program = format!(
        "x = nc('{}', 'tas'); m = rolling(x, time=3).mean(); (m.dims, m.attrs)",
        file.display()
    );
    let out = eval_json(&program);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("\"time\"") && text.contains("\"K\""),
        "{text}"
    );
}

#[test]
fn bad_rolling_windows_are_one_line_errors() {
    let Some((_py, _dir, file)) = outage() else {
        return;
    };
    for (program, needle) in [
        ("rolling(x, depth=3).mean()", "depth"),
        ("rolling(x, time=0).mean()", "at least 1"),
        ("rolling(x, time=3, min_periods=5).mean()", "min_periods"),
        ("rolling(x, time=3, lat=2).mean()", "one dimension"),
        ("rolling(x, time=3).median()", "median"),
    ] {
        usage_error(&file, program, needle);
    }
}

#[test]
fn coarsen_agrees_with_xarray_values_coordinates_and_the_outage() {
    let Some((py, dir, file)) = outage() else {
        return;
    };
    // Time chunks of 7 (blocks of 4 and 7 straddle them); the outage makes blocks partly
    // and wholly missing.
    let y = "y = x.rechunk((7, 2, 3)); ";
    let pairs = [
        (
            "coarsen(y, lat=3, lon=2).mean()",
            "x.coarsen(lat=3, lon=2).mean()",
        ),
        ("coarsen(y, time=4).sum()", "x.coarsen(time=4).sum()"),
        ("coarsen(y, time=4).min()", "x.coarsen(time=4).min()"),
        (
            "coarsen(y, time=4, lon=2).max()",
            "x.coarsen(time=4, lon=2).max()",
        ),
        (
            "coarsen(y, time=7, lat=2, boundary='trim').mean()",
            "x.coarsen(time=7, lat=2, boundary='trim').mean()",
        ),
        (
            "coarsen(y, lat=2, lon=3, boundary='trim').mean().lat",
            "x.coarsen(lat=2, lon=3, boundary='trim').mean().lat",
        ),
        ("y.coarsen(lon=2).mean().lon", "x.coarsen(lon=2).mean().lon"),
    ];
    compare_after(&py, dir.path(), &file, y, &pairs);
    for (program, needle) in [
        ("coarsen(x, lat=2).mean()", "not a multiple of 2"),
        ("coarsen(x, lat=3, boundary='pad').mean()", "boundary"),
        ("coarsen(x, depth=3).mean()", "depth"),
        ("coarsen(x, lat=3).std()", "std"),
    ] {
        usage_error(&file, program, needle);
    }
}

#[test]
fn weighted_means_and_sums_agree_with_xarray_with_the_outage_left_out_of_the_weights() {
    let Some((py, dir, file)) = outage() else {
        return;
    };
    let w = "w = cos(deg2rad(x.lat)); ";
    let pairs = [
        (
            "weighted(x, w).mean(('lat', 'lon'))",
            "x.weighted(np.cos(np.deg2rad(x.lat))).mean(('lat', 'lon'))",
        ),
        (
            "weighted(x, w).sum(('lat', 'lon'))",
            "x.weighted(np.cos(np.deg2rad(x.lat))).sum(('lat', 'lon'))",
        ),
        (
            "x.weighted(w).mean('lat')",
            "x.weighted(np.cos(np.deg2rad(x.lat))).mean('lat')",
        ),
        (
            "weighted(x, w * (x.lon + 1)).mean()",
            "x.weighted(np.cos(np.deg2rad(x.lat)) * (x.lon + 1)).mean()",
        ),
        (
            "weighted(x, x.time * 0 + 1).mean('time')",
            "x.weighted(x.time.dt.day * 0 + 1).mean('time')",
        ),
    ];
    compare_after(&py, dir.path(), &file, w, &pairs);
    for (program, needle) in [
        (
            "weighted(x, 2.0).mean()",
            "weights must be an array with dimension names",
        ),
        ("weighted(x, cos(x.lat)).std('lat')", "std"),
        ("weighted(x, cos(x.lat)).mean('height')", "height"),
    ] {
        usage_error(&file, program, needle);
    }
}
