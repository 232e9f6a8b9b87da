//! The `tessera` binary binds libhdf5, libhdf5_hl and libnetcdf on first use (src/lazy_libraries): an idle
//! worker process maps neither, and the same worker, once asked to read HDF5 and NetCDF files,
//! loads what it needs and gets the same numbers as the data they were written from. Real processes, real
//! files. Where build.rs could not set the lazy binding up, the binary links the libraries at
//! start and this test checks that instead.
#![cfg(feature = "io")]

mod common;

use std::process::Output;
use std::time::Duration;

use common::*;
use tessera::runtime::Client;

/// The shared objects a process has mapped whose file name contains `needle`.
fn mapped(pid: u32, needle: &str) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read /proc/PID/maps");
    let mut found: Vec<String> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.contains(needle))
        .map(str::to_owned)
        .collect();
    found.dedup();
    found
}

/// `tessera eval PROGRAM ARGS --output json`, which must succeed; its "data" field.
fn eval_json(program: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["eval", program, "--output", "json"];
    all.extend_from_slice(args);
    let out: Output = run(&all, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "tessera eval {program:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("eval prints JSON");
    doc["data"].clone()
}

#[test]
fn an_idle_worker_loads_hdf5_and_netcdf_only_when_it_reads_a_file() {
    let dir = temp_dir();
    let file = path_in(&dir, "s.json");
    let h5 = path_in(&dir, "x.h5");
    let nc = path_in(&dir, "x.nc");
    let data = "random((300, 400), chunks=(100, 200), seed=7) * 3";

    // The files, written by a separate local run of the binary.
    let expected = eval_json(&format!("sum({data})"), &["--local", "1"]);
    for target in [
        format!("{}:/g/x", h5.display()),
        format!("{}:x", nc.display()),
    ] {
        let out = run(
            &["eval", data, "--local", "1", "-o", &target],
            Duration::from_secs(120),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let mut scheduler = start_scheduler(&file);
    let mut worker = start_worker(&file, "idle");
    let client = Client::from_scheduler_file(&file, Duration::from_secs(20)).unwrap();
    client.wait_for_workers(1, Duration::from_secs(20)).unwrap();

    let lazy = cfg!(tessera_lazy_libraries);
    for library in ["libhdf5", "libnetcdf"] {
        let maps = mapped(worker.id(), library);
        assert_eq!(
            maps.is_empty(),
            lazy,
            "idle worker, {library}: mapped {maps:?} (lazy binding built: {lazy}); if the code \
             now calls an HDF5/NetCDF function the symbol lists lack, the binary links the \
             libraries again: run scripts/lazy-library-symbols.sh"
        );
    }

    let scheduler_file = file.to_str().unwrap();
    let from_hdf5 = eval_json(
        &format!("sum(h5({:?}, \"/g/x\"))", h5.display().to_string()),
        &["--scheduler-file", scheduler_file],
    );
    assert_eq!(from_hdf5, expected, "sum read back from HDF5");
    assert!(
        !mapped(worker.id(), "libhdf5").is_empty(),
        "the worker read HDF5"
    );
    let from_netcdf = eval_json(
        &format!("sum(nc({:?}, \"x\"))", nc.display().to_string()),
        &["--scheduler-file", scheduler_file],
    );
    assert_eq!(from_netcdf, expected, "sum read back from NetCDF");
    // Workers read NetCDF-4 chunks through libhdf5 directly (src/io/source.rs), so libnetcdf
    // may stay unloaded; the client's eval process opened it for the metadata.

    client.shutdown_cluster();
    assert!(wait_status(&mut worker, Duration::from_secs(20)).success());
    assert!(wait_status(&mut scheduler, Duration::from_secs(20)).success());
}

#[test]
fn hdf5_ids_copied_after_h5open_are_usable_for_every_dtype() {
    // Every dtype goes through an H5T_NATIVE_* id the binary copies after H5open: write and read
    // back each through the binary itself.
    let dir = temp_dir();
    for dtype in ["f32", "f64", "i32", "i64", "u8"] {
        let path = dir.path().join(format!("{dtype}.h5"));
        let data = format!("astype(arange(24, chunks=7), \"{dtype}\")");
        let target = format!("{}:/v", path.display());
        let out = run(
            &["eval", &data, "--local", "1", "-o", &target],
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "{dtype}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let back = eval_json(
            &format!("sum(h5({:?}, \"/v\"))", path.display().to_string()),
            &["--local", "1"],
        );
        let expected = (0..24).sum::<i64>() as f64;
        assert_eq!(
            back.as_f64(),
            Some(expected),
            "{dtype}: sum of 0..24 read back"
        );
    }
}
