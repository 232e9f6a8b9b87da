//! A 64 MiB chunk moved between two MPI ranks: raw MPI ping-pong vs a Tessera chunk fetch over
//! the MPI data transport vs the same fetch over TCP.
//!
//! `cargo bench --bench mpi_transfer` starts three jobs of this same program with
//! `mpirun -np 3` (the OpenMPI test environment of scripts/test-env.sh is set for them):
//!
//! - `raw`: ranks 1 and 2 ping-pong a 64 MiB buffer with blocking `MPI_Send`/`MPI_Recv`
//!   (buffers reused, the usual benchmark); one-way bandwidth = 2 × 64 MiB / round trip.
//! - `mpi` / `tcp`: `tessera::mpi::run` batch mode (rank 0 scheduler, rank 1 client, rank 2
//!   worker). A task makes a 64 MiB chunk on the worker; the client gathers it again and again
//!   (`GetData` → `Data` with the chunk as payload), over the MPI transport or over TCP.
//!
//! Each prints the median of its timed repetitions; the launcher prints a table and the
//! ratio MPI transport / raw MPI. `TESSERA_BENCH_REPS` (default 20) sets the repetitions.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera::mpi::{DataTransport, MpiConfig};
use tessera::runtime::{register_kernel, Task};

const CHUNK: usize = 64 << 20;
const ROLE: &str = "TESSERA_BENCH_ROLE";

fn reps() -> usize {
    std::env::var("TESSERA_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

fn report(name: &str, one_way_seconds: f64) {
    let gbps = CHUNK as f64 / one_way_seconds / 1e9;
    println!("RESULT {name} {gbps:.3} {:.3}", one_way_seconds * 1e3);
}

/// Ranks 1 and 2 ping-pong with plain rsmpi.
fn raw_ping_pong() -> ExitCode {
    use mpi::traits::*;
    let Some(universe) = mpi::initialize() else {
        eprintln!("MPI already initialised");
        return ExitCode::FAILURE;
    };
    let world = universe.world();
    let rank = world.rank();
    let mut buffer = vec![rank as u8; CHUNK];
    let (a, b) = (1, 2);
    let mut times = Vec::new();
    for i in 0..reps() + 2 {
        world.barrier();
        let start = Instant::now();
        if rank == a {
            world.process_at_rank(b).send(&buffer[..]);
            world.process_at_rank(b).receive_into(&mut buffer[..]);
        } else if rank == b {
            world.process_at_rank(a).receive_into(&mut buffer[..]);
            world.process_at_rank(a).send(&buffer[..]);
        }
        if i >= 2 {
            times.push(start.elapsed().as_secs_f64() / 2.0);
        }
    }
    if rank == a {
        report("raw-mpi-ping-pong", median(times));
    }
    ExitCode::SUCCESS
}

/// Batch mode: the client (rank 1) fetches a chunk the worker (rank 2) holds.
fn tessera_fetch(transport: DataTransport) -> ExitCode {
    register_kernel("bench.chunk", |_ctx, _inputs| {
        Ok(Bytes::from(vec![7u8; CHUNK]))
    });
    let config = MpiConfig {
        transport,
        ..MpiConfig::default()
    };
    let name = match transport {
        DataTransport::Mpi => "tessera-fetch-mpi",
        DataTransport::Tcp => "tessera-fetch-tcp",
    };
    tessera::mpi::run(config, |client| {
        let chunk = client.submit::<Bytes>(Task::new("bench.chunk"))?;
        let first = chunk.result()?;
        assert_eq!(first.len(), CHUNK);
        let mut times = Vec::new();
        for i in 0..reps() + 2 {
            let start = Instant::now();
            let got = client.gather(std::slice::from_ref(&chunk))?;
            let elapsed = start.elapsed().as_secs_f64();
            assert_eq!(got[0].len(), CHUNK);
            drop(got);
            if i >= 2 {
                times.push(elapsed);
            }
        }
        report(name, median(times));
        Ok::<(), tessera::runtime::ClientError>(())
    })
}

/// Start one role under `mpirun -np 3` and return its RESULT line.
fn launch(role: &str) -> Result<(String, f64, f64), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new("mpirun")
        .args(["-np", "3"])
        .arg(&me)
        .env(ROLE, role)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .output()
        .map_err(|e| format!("cannot run mpirun: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .ok_or_else(|| {
            format!(
                "{role}: no result ({})\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        [_, name, gbps, ms] => Ok((
            name.to_string(),
            gbps.parse().unwrap_or(0.0),
            ms.parse().unwrap_or(0.0),
        )),
        _ => Err(format!("bad result line {line:?}")),
    }
}

fn main() -> ExitCode {
    match std::env::var(ROLE).as_deref() {
        Ok("raw") => return raw_ping_pong(),
        Ok("mpi") => return tessera_fetch(DataTransport::Mpi),
        Ok("tcp") => return tessera_fetch(DataTransport::Tcp),
        _ => {}
    }
    // `cargo bench` passes --bench; a `cargo test` build run passes nothing useful: only
    // measure when asked to bench.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return ExitCode::SUCCESS; // test runners list tests: there are none
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("mpi_transfer: run with `cargo bench --bench mpi_transfer`");
        return ExitCode::SUCCESS;
    }
    let rounds: usize = std::env::var("TESSERA_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!(
        "64 MiB chunk between two ranks of one node, {} repetitions per job, {rounds} rounds",
        reps()
    );
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let mut results = Vec::new();
        for role in ["raw", "mpi", "tcp"] {
            match launch(role) {
                Ok(r) => results.push(r),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        println!("round {}:", round + 1);
        for (name, gbps, ms) in &results {
            println!("  {name:<20} {gbps:>7.2} GB/s  {ms:>8.2} ms one way");
        }
        let raw = results[0].1;
        let mpi = results[1].1;
        let tcp = results[2].1;
        println!(
            "  MPI transport / raw MPI = {:.0} %   TCP transport / raw MPI = {:.0} %",
            100.0 * mpi / raw,
            100.0 * tcp / raw
        );
        ratios.push(mpi / raw);
    }
    println!(
        "median MPI transport / raw MPI over {rounds} rounds: {:.0} %",
        100.0 * median(ratios)
    );
    ExitCode::SUCCESS
}
