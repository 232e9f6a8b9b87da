//! An MPI batch-mode program: `mpirun -np 4 ./mpi_sum [--chunks K] [--chunk-bytes N]
//! [--fail error|panic]`, or a client of a running cluster:
//! `./mpi_sum --scheduler-file ~/s.json [--workers N]` (what the job scripts run).
//!
//! Rank 0 runs the scheduler, rank 1 this program's closure, ranks 2.. are workers (see
//! `tessera::mpi::run`). The closure makes K chunks of N pseudo-random bytes on the workers,
//! combines neighbouring chunks (so workers fetch chunks from each other), gathers chunks and
//! checksums back to rank 1 and checks every byte against a local recomputation. With
//! `TESSERA_TRANSPORT=mpi` the chunks travel as MPI messages. `--fail` makes the closure fail
//! or panic, to show how errors end the job.

use std::process::ExitCode;

use bytes::Bytes;
use tessera::mpi::{run, MpiConfig};
use tessera::runtime::kernels_builtin::names;
use tessera::runtime::{register_kernel, Client, KernelError, Task, Value};

/// Deterministic bytes of chunk `index` (xorshift; any `len`).
fn chunk_bytes(index: u64, len: usize) -> Vec<u8> {
    let mut state = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Order-sensitive checksum of two chunks.
fn pair_checksum(a: &[u8], b: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, byte) in a.iter().chain(b.iter()).enumerate() {
        if i % 997 == 0 || i + 1 == a.len() + b.len() {
            h = (h ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
        }
        h = h.wrapping_add(u64::from(*byte));
    }
    h as i64
}

fn register_kernels() {
    register_kernel("mpi_sum.chunk", |ctx, _inputs| {
        let args = Bytes::copy_from_slice(ctx.args);
        let v = Vec::<i64>::decode(&args).map_err(|e| KernelError::new(e.to_string()))?;
        let (index, len) = match v.as_slice() {
            [i, l] if *i >= 0 && *l >= 0 => (*i as u64, *l as usize),
            _ => return Err(KernelError::new("mpi_sum.chunk takes [index, len]")),
        };
        Ok(Bytes::from(chunk_bytes(index, len)))
    });
    register_kernel("mpi_sum.pair", |_ctx, inputs| match inputs {
        [a, b] => Ok(pair_checksum(a, b).encode()),
        _ => Err(KernelError::new("mpi_sum.pair takes two chunks")),
    });
}

struct Options {
    chunks: usize,
    chunk_bytes: usize,
    fail: Option<String>,
    scheduler_file: Option<std::path::PathBuf>,
    workers: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        chunks: 6,
        chunk_bytes: 1 << 20,
        fail: None,
        scheduler_file: None,
        workers: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--chunks" => o.chunks = value()?.parse().map_err(|e| format!("--chunks: {e}"))?,
            "--chunk-bytes" => {
                o.chunk_bytes = value()?
                    .parse()
                    .map_err(|e| format!("--chunk-bytes: {e}"))?
            }
            "--fail" => o.fail = Some(value()?),
            "--scheduler-file" => o.scheduler_file = Some(value()?.into()),
            "--workers" => o.workers = value()?.parse().map_err(|e| format!("--workers: {e}"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// The kernels an analysis may use: this program's own (batch mode: every rank runs this
/// program, so its workers have them) or only Tessera's built-ins (a client of a cluster of
/// `tessera mpi`/`tessera worker` processes).
#[derive(Clone, Copy, PartialEq)]
enum Kernels {
    Own,
    BuiltIn,
}

impl Kernels {
    fn chunk(self, index: usize, len: usize) -> Task {
        match self {
            Kernels::Own => Task::new("mpi_sum.chunk").arg(vec![index as i64, len as i64]),
            Kernels::BuiltIn => Task::new(names::ZEROS).arg(len as i64),
        }
    }

    fn expected_chunk(self, index: usize, len: usize) -> Vec<u8> {
        match self {
            Kernels::Own => chunk_bytes(index as u64, len),
            Kernels::BuiltIn => vec![0; len],
        }
    }

    fn pair_kernel(self) -> &'static str {
        match self {
            Kernels::Own => "mpi_sum.pair",
            Kernels::BuiltIn => names::TOTAL_LEN,
        }
    }

    fn expected_pair(self, a: &[u8], b: &[u8]) -> i64 {
        match self {
            Kernels::Own => pair_checksum(a, b),
            Kernels::BuiltIn => (a.len() + b.len()) as i64,
        }
    }
}

fn analysis(client: &Client, o: &Options, kernels: Kernels) -> Result<(), String> {
    match o.fail.as_deref() {
        Some("error") => return Err("deliberate failure requested with --fail error".into()),
        Some("panic") => panic!("deliberate panic requested with --fail panic"),
        Some(other) => return Err(format!("--fail {other:?}: expected error or panic")),
        None => {}
    }
    let e = |e: tessera::runtime::ClientError| e.to_string();
    let chunks: Vec<_> = (0..o.chunks)
        .map(|i| client.submit::<Bytes>(kernels.chunk(i, o.chunk_bytes)))
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let pairs: Vec<_> = (0..o.chunks)
        .map(|i| {
            let next = &chunks[(i + 1) % o.chunks];
            client.submit::<i64>(
                Task::new(kernels.pair_kernel())
                    .input(&chunks[i])
                    .input(next),
            )
        })
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let sums = client.gather(&pairs).map_err(e)?;
    let gathered = client.gather(&chunks).map_err(e)?;
    let expected: Vec<Vec<u8>> = (0..o.chunks)
        .map(|i| kernels.expected_chunk(i, o.chunk_bytes))
        .collect();
    for (i, bytes) in gathered.iter().enumerate() {
        if bytes[..] != expected[i][..] {
            return Err(format!("chunk {i} came back different"));
        }
    }
    for (i, sum) in sums.iter().enumerate() {
        let want = kernels.expected_pair(&expected[i], &expected[(i + 1) % o.chunks]);
        if *sum != want {
            return Err(format!("pair {i}: got {sum} but expected {want}"));
        }
    }
    let workers = client.info().map_err(e)?.workers.len();
    println!(
        "mpi_sum ok: {} chunks of {} bytes on {workers} workers, all bytes and {} checksums \
         exact; received over MPI: {} bytes",
        o.chunks,
        o.chunk_bytes,
        sums.len(),
        tessera::transport::mpi_payload_bytes_received()
    );
    Ok(())
}

fn main() -> ExitCode {
    register_kernels();
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mpi_sum: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(file) = &options.scheduler_file {
        return client_of_running_cluster(file, &options);
    }
    let config = match MpiConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mpi_sum: {e}");
            return ExitCode::from(2);
        }
    };
    run(config, |client| analysis(client, &options, Kernels::Own))
}

/// Client mode: connect through the scheduler file, wait for the workers, run the analysis.
fn client_of_running_cluster(file: &std::path::Path, options: &Options) -> ExitCode {
    let timeout = std::time::Duration::from_secs(120);
    let result = Client::from_scheduler_file(file, timeout)
        .and_then(|client| {
            client.wait_for_workers(options.workers, timeout)?;
            Ok(client)
        })
        .map_err(|e| e.to_string())
        .and_then(|client| analysis(&client, options, Kernels::BuiltIn));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mpi_sum: {e}");
            ExitCode::FAILURE
        }
    }
}
