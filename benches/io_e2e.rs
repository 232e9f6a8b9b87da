//! End-to-end file I/O benchmark (issue 4): `mean(x, axis=0)` of a 1.6 GB float32 array of
//! shape (400, 1000, 1000) stored in chunks (40, 250, 250) (deflate 4 + shuffle), as HDF5 and
//! as NetCDF-4, written to a new file of the same format. Side by side in one run, with the
//! page cache warm and cold (`echo 3 > /proc/sys/vm/drop_caches`, root only):
//!
//! - Tessera: a local cluster of worker processes (default 2 × 1 thread);
//! - the decode limit: a plain single-process chunk-by-chunk loop over libhdf5 (and libnetcdf)
//!   that decodes the same chunks, sums them and writes the mean;
//! - dask, threaded scheduler, same chunks (benches/peers/dask_io.py, h5py / xarray);
//! - `cdo timmean` on the NetCDF file, when cdo is installed.
//!
//! Then the parallel-write strategies (docs/architecture.md, "Parallel writes"): the whole
//! array `x + 1` written to HDF5 with each strategy.
//!
//! Usage: cargo bench --bench io_e2e -- [--dir /tmp/tessera-io-bench] [--repeat 1]
//!        [--workers 2] [--python .venv-test/bin/python] [--no-cold] [--no-strategies]
//!        [--small] (a 16× smaller array, to check the bench runs)
//!        [--pieces] (per-chunk cost of each step in one process, including the time each
//!        write strategy holds the output lock) [--strategies-only]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tessera::array::{Array, DType, ReduceKind};
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::io::{
    from_hdf5_with, from_netcdf_with, write_outputs, LabeledArray, Output, OutputTarget,
    ReadOptions, WriteOptions, WriteStrategy,
};
use tessera::runtime::Client;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Setup {
    shape: [usize; 3],
    chunks: [usize; 3],
    dir: PathBuf,
}

impl Setup {
    fn input(&self, ext: &str) -> PathBuf {
        self.dir.join(format!(
            "x_{}x{}x{}.{ext}",
            self.shape[0], self.shape[1], self.shape[2]
        ))
    }
    fn output(&self, tool: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("mean_{tool}.{ext}"))
    }
}

fn drop_caches() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// Writes the input files with Tessera (timed: this is also a 1.6 GB parallel write).
fn generate(setup: &Setup, client: &Client) {
    let field = Array::random_uniform(&setup.shape, 42, -1.0, 1.0, setup.chunks)
        .and_then(|r| &r * 8.0)
        .and_then(|r| r.round())
        .and_then(|r| &r / 4.0)
        .and_then(|r| &r + 280.0)
        .map(|r| r.astype(DType::F32))
        .expect("field");
    let [nt, ny, nx] = setup.shape;
    let axis = |n: usize, step: f64| {
        tessera::array::ArrayData::from(
            ndarray::Array1::from_iter((0..n).map(|i| i as f64 * step)).into_dyn(),
        )
    };
    let mut time_attrs = tessera::io::Attributes::new();
    time_attrs.insert("units".into(), "days since 2000-01-01".into());
    time_attrs.insert("calendar".into(), "standard".into());
    time_attrs.insert("standard_name".into(), "time".into());
    let data = LabeledArray::new(field, "x")
        .with_dims(&["time", "lat", "lon"])
        .and_then(|l| l.with_coord("time", axis(nt, 1.0), time_attrs))
        .and_then(|l| l.with_coord("lat", axis(ny, 180.0 / ny as f64), Default::default()))
        .and_then(|l| l.with_coord("lon", axis(nx, 360.0 / nx as f64), Default::default()))
        .expect("labels")
        .with_attr("units", "K");
    for ext in ["h5", "nc"] {
        let path = setup.input(ext);
        if path.exists() {
            continue;
        }
        let name = if ext == "h5" { "/x" } else { "x" };
        let target = OutputTarget::parse(&format!("{}:{name}", path.display())).expect("target");
        let t = Instant::now();
        let r = write_outputs(
            &[Output {
                data: data.clone(),
                target,
            }],
            &WriteOptions::new().history("benches/io_e2e.rs input"),
            Some(client),
        );
        let w = r.into_iter().next().expect("one").expect("generate input");
        let s = t.elapsed().as_secs_f64();
        let raw = setup.shape.iter().product::<usize>() as f64 * 4.0;
        println!(
            "{{\"step\":\"generate\",\"format\":\"{ext}\",\"seconds\":{s:.2},\"stored_bytes\":{},\"raw_gb_per_s\":{:.2},\"writers\":{}}}",
            w.bytes,
            raw / s / 1e9,
            w.writers
        );
    }
}

fn tessera_mean(setup: &Setup, client: &Client, ext: &str) -> f64 {
    let out = setup.output("tessera", ext);
    let _ = std::fs::remove_file(&out);
    let t = Instant::now();
    let opts = ReadOptions::new().chunks(setup.chunks);
    let x = if ext == "h5" {
        from_hdf5_with(setup.input(ext), "/x", &opts)
    } else {
        from_netcdf_with(setup.input(ext), "x", &opts)
    }
    .expect("open");
    let m = x.reduce_axes(ReduceKind::Mean, &[0]).expect("mean");
    let name = if ext == "h5" { "/x_mean" } else { "x_mean" };
    let target = OutputTarget::parse(&format!("{}:{name}", out.display())).expect("target");
    let r = write_outputs(
        &[Output { data: m, target }],
        &WriteOptions::new().history("benches/io_e2e.rs"),
        Some(client),
    );
    r.into_iter().next().expect("one").expect("tessera mean");
    t.elapsed().as_secs_f64()
}

/// The decode limit: one process, one thread, chunk by chunk through libhdf5 / libnetcdf.
fn plain_loop(setup: &Setup, ext: &str) -> f64 {
    let [nt, ny, nx] = setup.shape;
    let [ct, cy, cx] = setup.chunks;
    let out = setup.output("loop", ext);
    let _ = std::fs::remove_file(&out);
    let t = Instant::now();
    let mut acc = ndarray::Array2::<f64>::zeros((ny, nx));
    let mut add = |t0: usize, y0: usize, x0: usize, block: ndarray::ArrayView3<'_, f32>| {
        let mut region = acc.slice_mut(ndarray::s![
            y0..y0 + block.shape()[1],
            x0..x0 + block.shape()[2]
        ]);
        for plane in block.outer_iter() {
            region.zip_mut_with(&plane, |a, &v| *a += f64::from(v));
        }
        let _ = t0;
    };
    if ext == "h5" {
        let f = hdf5::File::open(setup.input(ext)).expect("open");
        let d = f.dataset("/x").expect("dataset");
        for t0 in (0..nt).step_by(ct) {
            for y0 in (0..ny).step_by(cy) {
                for x0 in (0..nx).step_by(cx) {
                    let b: ndarray::Array3<f32> = d
                        .read_slice(ndarray::s![
                            t0..(t0 + ct).min(nt),
                            y0..(y0 + cy).min(ny),
                            x0..(x0 + cx).min(nx)
                        ])
                        .expect("read");
                    add(t0, y0, x0, b.view());
                }
            }
        }
    } else {
        let f = netcdf::open(setup.input(ext)).expect("open");
        let v = f.variable("x").expect("variable");
        for t0 in (0..nt).step_by(ct) {
            for y0 in (0..ny).step_by(cy) {
                for x0 in (0..nx).step_by(cx) {
                    let (lt, ly, lx) = (
                        (t0 + ct).min(nt) - t0,
                        (y0 + cy).min(ny) - y0,
                        (x0 + cx).min(nx) - x0,
                    );
                    let vals: Vec<f32> = v
                        .get_values((&[t0, y0, x0][..], &[lt, ly, lx][..]))
                        .expect("read");
                    let b = ndarray::ArrayView3::from_shape((lt, ly, lx), &vals).expect("shape");
                    add(t0, y0, x0, b);
                }
            }
        }
    }
    let mean = acc.mapv(|s| (s / nt as f64) as f32);
    if ext == "h5" {
        let f = hdf5::File::create(&out).expect("create");
        f.new_dataset_builder()
            .with_data(&mean)
            .chunk((cy, cx))
            .shuffle()
            .deflate(4)
            .create("/x_mean")
            .expect("write");
    } else {
        let mut f = netcdf::create(&out).expect("create");
        f.add_dimension("lat", ny).expect("dim");
        f.add_dimension("lon", nx).expect("dim");
        let mut v = f
            .add_variable::<f32>("x_mean", &["lat", "lon"])
            .expect("var");
        v.set_chunking(&[cy, cx]).expect("chunking");
        v.set_compression(4, true).expect("compression");
        v.put(mean.view(), ..).expect("put");
    }
    t.elapsed().as_secs_f64()
}

fn dask(setup: &Setup, python: &Path, workers: usize, ext: &str) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/dask_io.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--format", ext, "--workers", &workers.to_string()])
        .arg("--input")
        .arg(setup.input(ext))
        .arg("--output")
        .arg(setup.output("dask", ext))
        .arg("--chunks")
        .arg(format!(
            "{},{},{}",
            setup.chunks[0], setup.chunks[1], setup.chunks[2]
        ))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("dask failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.lines().last()?).ok()?;
    v["seconds"].as_f64()
}

fn cdo(setup: &Setup) -> Option<f64> {
    let out = setup.output("cdo", "nc");
    let _ = std::fs::remove_file(&out);
    let t = Instant::now();
    let s = Command::new("cdo")
        .args(["-s", "timmean"])
        .arg(setup.input("nc"))
        .arg(&out)
        .status()
        .ok()?;
    s.success().then(|| t.elapsed().as_secs_f64())
}

fn strategies(setup: &Setup, client: &Client) {
    let x = from_hdf5_with(
        setup.input("h5"),
        "/x",
        &ReadOptions::new().chunks(setup.chunks),
    )
    .expect("open");
    let y = x.map(|a| a + 1.0).expect("x + 1");
    let raw = setup.shape.iter().product::<usize>() as f64 * 4.0;
    for s in [
        WriteStrategy::LockedChunks,
        WriteStrategy::SingleWriter,
        WriteStrategy::LockedFilter,
    ] {
        let out = setup.dir.join(format!("plus1_{s:?}.h5"));
        let _ = std::fs::remove_file(&out);
        let target = OutputTarget::parse(&format!("{}:/y", out.display())).expect("target");
        let t = Instant::now();
        let r = write_outputs(
            &[Output {
                data: y.clone(),
                target,
            }],
            &WriteOptions::new().strategy(s),
            Some(client),
        );
        let w = r.into_iter().next().expect("one").expect("write");
        let sec = t.elapsed().as_secs_f64();
        println!(
            "{{\"step\":\"write-strategy\",\"strategy\":\"{s:?}\",\"seconds\":{sec:.2},\"raw_gb_per_s\":{:.2},\"writers\":{}}}",
            raw / sec / 1e9,
            w.writers
        );
        let _ = std::fs::remove_file(&out);
    }
}

/// Per-chunk cost of each piece in this process (`--pieces`): where the time goes.
fn pieces(setup: &Setup) {
    let opts = ReadOptions::new().chunks(setup.chunks);
    let x = from_hdf5_with(setup.input("h5"), "/x", &opts).expect("open");
    let n = 8;
    let time = |name: &str, f: &mut dyn FnMut(usize)| {
        let t = Instant::now();
        for i in 0..n {
            f(i);
        }
        println!(
            "{{\"step\":\"piece\",\"piece\":\"{name}\",\"ms_per_chunk\":{:.1}}}",
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    };
    let g = x.array().graph().expect("graph");
    let read = tessera::runtime::lookup_kernel("tessera.io.read").expect("kernel");
    let mut blocks = Vec::new();
    time("read task (raw chunks, libdeflate)", &mut |i| {
        let t = &g.tasks[i];
        let ctx = tessera::runtime::KernelContext::new(&t.key, &t.args);
        blocks.push(read(&ctx, &[]).expect("read"));
    });
    let f = hdf5::File::open(setup.input("h5")).expect("open");
    let d = f.dataset("/x").expect("dataset");
    let [ct, cy, cx] = setup.chunks;
    time("libhdf5 read_slice only", &mut |i| {
        let _: ndarray::Array3<f32> = d
            .read_slice(ndarray::s![
                0..ct,
                (i / 4) * cy..(i / 4 + 1) * cy,
                (i % 4) * cx..(i % 4 + 1) * cx
            ])
            .expect("read");
    });
    let m = x.reduce_axes(ReduceKind::Mean, &[0]).expect("mean");
    let mg = m.array().graph().expect("graph");
    let partial = mg
        .tasks
        .iter()
        .find(|t| t.kernel.to_string().contains("reduce-partial"))
        .expect("partial task")
        .clone();
    let pk = tessera::runtime::lookup_kernel(&partial.kernel.to_string()).expect("kernel");
    time("mean partial", &mut |i| {
        let ctx = tessera::runtime::KernelContext::new(&partial.key, &partial.args);
        pk(&ctx, &blocks[i..i + 1]).expect("partial");
    });
    let raw: Vec<u8> = blocks[0][64..].to_vec();
    let mut shuffled = Vec::new();
    time("shuffle", &mut |_| shuffled = tessera::io::shuffle(&raw, 4));
    time("deflate 4", &mut |_| {
        tessera::io::deflate(&shuffled, 4).expect("deflate");
    });
    time("deflate 1", &mut |_| {
        tessera::io::deflate(&shuffled, 1).expect("deflate");
    });
    // What each write strategy does while holding the output lock, per chunk.
    let out = setup.dir.join("pieces_lock.h5");
    {
        let f = hdf5::File::create(&out).expect("create");
        f.new_dataset::<f32>()
            .shape(setup.shape.to_vec())
            .chunk(setup.chunks.to_vec())
            .shuffle()
            .deflate(4)
            .create("/y")
            .expect("dataset");
    }
    let encoded: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            tessera::io::deflate(&tessera::io::shuffle(&blocks[i][64..], 4), 4).expect("encode")
        })
        .collect();
    time(
        "lock held: open + H5Dwrite_chunk + close (LockedChunks)",
        &mut |i| {
            let f = hdf5::File::open_rw(&out).expect("open");
            let d = f.dataset("/y").expect("dataset");
            let off = [0u64, (i / 4 * cy) as u64, (i % 4 * cx) as u64];
            let rc = hdf5::sync::sync(|| unsafe {
                hdf5_sys::h5d::H5Dwrite_chunk(
                    d.id(),
                    hdf5_sys::h5p::H5P_DEFAULT,
                    0,
                    off.as_ptr(),
                    encoded[i].len(),
                    encoded[i].as_ptr().cast(),
                )
            });
            assert!(rc >= 0);
            drop(d);
            f.close().expect("close");
        },
    );
    time(
        "lock held: open + H5Dwrite through filters + close (LockedFilter)",
        &mut |i| {
            let f = hdf5::File::open_rw(&out).expect("open");
            let d = f.dataset("/y").expect("dataset");
            let v = tessera::array::decode_chunk(&blocks[i]).expect("chunk");
            let a = v.array_view::<f32>().expect("view");
            d.write_slice(
                &a,
                ndarray::s![
                    0..ct,
                    i / 4 * cy..(i / 4 + 1) * cy,
                    i % 4 * cx..(i % 4 + 1) * cx
                ],
            )
            .expect("write");
            drop(d);
            f.close().expect("close");
        },
    );
    let _ = std::fs::remove_file(&out);
    let y = x.map(|a| a + 1.0).expect("x + 1");
    let yg = y.array().graph().expect("graph");
    let fused = yg
        .tasks
        .iter()
        .find(|t| t.kernel.to_string().contains("fused"))
        .expect("fused task")
        .clone();
    let fk = tessera::runtime::lookup_kernel(&fused.kernel.to_string()).expect("kernel");
    time("fused x + 1", &mut |i| {
        let ctx = tessera::runtime::KernelContext::new(&fused.key, &fused.args);
        fk(&ctx, &blocks[i..i + 1]).expect("fused");
    });
}

fn main() {
    if flag("--list") {
        return;
    }
    if flag("--pieces") {
        let small = flag("--small");
        let setup = Setup {
            shape: if small {
                [100, 500, 500]
            } else {
                [400, 1000, 1000]
            },
            chunks: if small {
                [20, 125, 125]
            } else {
                [40, 250, 250]
            },
            dir: PathBuf::from(arg("--dir", "/tmp/tessera-io-bench".to_string())),
        };
        pieces(&setup);
        return;
    }
    let small = flag("--small");
    let setup = Setup {
        shape: if small {
            [100, 500, 500]
        } else {
            [400, 1000, 1000]
        },
        chunks: if small {
            [20, 125, 125]
        } else {
            [40, 250, 250]
        },
        dir: PathBuf::from(arg("--dir", "/tmp/tessera-io-bench".to_string())),
    };
    std::fs::create_dir_all(&setup.dir).expect("bench directory");
    let repeat: usize = arg("--repeat", 1);
    let workers: usize = arg("--workers", 2);
    let default_py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python");
    let python = PathBuf::from(arg(
        "--python",
        std::env::var("TESSERA_TEST_PYTHON").unwrap_or(default_py.display().to_string()),
    ));
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tessera"));
    let cluster =
        LocalCluster::start(LocalClusterConfig::new(workers, 1).processes(exe)).expect("cluster");
    let client = cluster.client().expect("client");
    generate(&setup, &client);
    if flag("--strategies-only") {
        strategies(&setup, &client);
        drop(client);
        cluster.shutdown();
        return;
    }
    let cold_ok = !flag("--no-cold") && drop_caches();
    if !flag("--no-cold") && !cold_ok {
        eprintln!("cold runs skipped: cannot write /proc/sys/vm/drop_caches (needs root)");
    }
    let has_cdo = Command::new("cdo").arg("-V").output().is_ok();
    let has_dask = python.exists();
    for cache in ["warm", "cold"] {
        if cache == "cold" && !cold_ok {
            continue;
        }
        for ext in ["h5", "nc"] {
            let run = |tool: &str, f: &mut dyn FnMut() -> Option<f64>| {
                let mut times = Vec::new();
                for _ in 0..repeat {
                    if cache == "warm" {
                        // Read the file once so it is in the page cache.
                        let _ = std::fs::read(setup.input(ext));
                    } else {
                        drop_caches();
                    }
                    match f() {
                        Some(s) => times.push(s),
                        None => return None,
                    }
                }
                let m = median(times);
                println!(
                    "{{\"step\":\"mean\",\"cache\":\"{cache}\",\"format\":\"{ext}\",\"tool\":\"{tool}\",\"seconds\":{m:.3}}}"
                );
                Some(m)
            };
            let ours = run("tessera", &mut || Some(tessera_mean(&setup, &client, ext)));
            let plain = run("decode-loop", &mut || Some(plain_loop(&setup, ext)));
            let peer = if has_dask {
                run("dask", &mut || dask(&setup, &python, workers, ext))
            } else {
                None
            };
            let c = if ext == "nc" && has_cdo {
                run("cdo", &mut || cdo(&setup))
            } else {
                None
            };
            if let Some(o) = ours {
                println!(
                    "{{\"step\":\"ratios\",\"cache\":\"{cache}\",\"format\":\"{ext}\",\"dask_over_tessera\":{},\"tessera_over_loop\":{},\"cdo_over_tessera\":{}}}",
                    peer.map_or("null".into(), |p| format!("{:.2}", p / o)),
                    plain.map_or("null".into(), |p| format!("{:.2}", o / p)),
                    c.map_or("null".into(), |p| format!("{:.2}", p / o)),
                );
            }
        }
    }
    if !flag("--no-strategies") {
        strategies(&setup, &client);
    }
    drop(client);
    cluster.shutdown();
}
