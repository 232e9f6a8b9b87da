//! Reading and writing files on a local cluster of worker *processes*: several processes
//! write chunks into one HDF5 file and one NetCDF file at once (under the output lock, or
//! through the single writer), and the files hold exactly the values computed in-process.
#![cfg(feature = "io")]

use std::path::PathBuf;

use tessera::array::{Array, ReduceKind};
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::io::{
    from_hdf5, from_netcdf, write_outputs, LabeledArray, Output, OutputTarget, WriteOptions,
    WriteStrategy,
};

fn process_cluster(workers: usize) -> LocalCluster {
    let cfg =
        LocalClusterConfig::new(workers, 2).processes(PathBuf::from(env!("CARGO_BIN_EXE_tessera")));
    LocalCluster::start(cfg).expect("local cluster of worker processes")
}

#[test]
fn worker_processes_write_one_file_concurrently_with_exact_results() {
    let cluster = process_cluster(3);
    let client = cluster.client().expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let x = Array::random_uniform(&[48, 40, 36], 7, -1.0, 1.0, [6, 10, 9]).expect("array");
    let y = ((&x * 3.0).expect("mul") + 1.0).expect("add");
    let data = LabeledArray::new(y.clone(), "y")
        .with_dims(&["time", "lat", "lon"])
        .expect("dims");
    let mean = data.reduce_dims(ReduceKind::Mean, &["time"]).expect("mean");
    let want = y.compute_local().expect("local");
    let want_mean = mean.array().compute_local().expect("local mean");
    for strategy in [
        WriteStrategy::LockedChunks,
        WriteStrategy::SingleWriter,
        WriteStrategy::LockedFilter,
    ] {
        let tag = format!("{strategy:?}");
        let target = |spec: &str| {
            OutputTarget::parse(&format!("{}/{tag}_{spec}", dir.path().display())).expect("target")
        };
        let outputs = vec![
            Output {
                data: data.clone(),
                target: target("y.h5:/fields/y"),
            },
            Output {
                data: data.clone(),
                target: target("y.nc:y"),
            },
            Output {
                data: mean.clone(),
                target: target("mean.nc:y_mean"),
            },
        ];
        let results = write_outputs(
            &outputs,
            &WriteOptions::new().strategy(strategy),
            Some(&client),
        );
        for r in &results {
            let w = r.as_ref().expect("written");
            assert!(w.chunks > 0);
            if strategy != WriteStrategy::SingleWriter && w.chunks > 10 {
                assert!(
                    w.writers > 1,
                    "{tag}: one worker wrote every chunk of {:?}",
                    w.path
                );
            }
        }
        let h = from_hdf5(dir.path().join(format!("{tag}_y.h5")), "/fields/y").expect("h5");
        assert_eq!(
            h.array().compute_local().expect("read h5"),
            want,
            "{tag} h5"
        );
        let n = from_netcdf(dir.path().join(format!("{tag}_y.nc")), "y").expect("nc");
        assert_eq!(
            n.array().compute_local().expect("read nc"),
            want,
            "{tag} nc"
        );
        // Reading back on the cluster gives the same values too.
        assert_eq!(n.array().compute(&client).expect("cluster read"), want);
        let m = from_netcdf(dir.path().join(format!("{tag}_mean.nc")), "y_mean").expect("mean");
        assert_eq!(m.dims(), ["lat", "lon"]);
        assert_eq!(m.array().compute_local().expect("read mean"), want_mean);
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    drop(client);
    cluster.shutdown();
}
