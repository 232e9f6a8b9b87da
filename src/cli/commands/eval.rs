//! `tessera eval 'PROGRAM'` (or `-f FILE`): parse and evaluate a program (docs/eval.md) on a local cluster
//! (default: 2 thread workers in this process) or the cluster of a scheduler file, compute the
//! result with a progress bar and print it (human or JSON) or write it to `.npy` files or,
//! with its dimensions, coordinates and attributes, to HDF5 or NetCDF files.
//!
//! Several `-o` targets take the items of a program ending with several results (`m, s`), in
//! order; they are computed in one submission so the work they share runs once. This module
//! must not lay out files or encode chunks (that is `io` and `eval::npy`).

use crate::cli::stdout::outln;
use std::path::Path;

use anyhow::Context;
use serde_json::json;

use crate::array::Array;
use crate::cli::args::{EvalArgs, OutputFormat};
use crate::cli::array_compute::{compute_with_progress, progress_bar};
use crate::cli::commands::eval_outputs::{bind_results, write_results};
use crate::cli::commands::eval_source::ProgramSource;
use crate::cli::signals::ShutdownSignal;
use crate::cli::UsageError;
use crate::deploy::{LocalCluster, LocalClusterConfig};
use crate::eval::render::scalar_data;
use crate::eval::{render_human, render_json, shape_text, Evaluator, Value};
use crate::expr::parse_program;
use crate::runtime::Client;

/// Workers of the local cluster when neither --local nor a scheduler file is given.
const DEFAULT_LOCAL_WORKERS: usize = 2;

pub fn run(args: EvalArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let source = ProgramSource::of(&args)?;
    run_source(&args, &source, signal).map_err(|e| source.locate(e))
}

fn run_source(
    args: &EvalArgs,
    source: &ProgramSource,
    signal: &ShutdownSignal,
) -> anyhow::Result<()> {
    let program = parse_program(&source.text)?;
    for out in &args.out {
        check_output_path(out)?;
        if !args.overwrite {
            refuse_existing(out)?;
        }
    }
    if let Some(report) = &args.report {
        check_report_path(report)?;
    }
    #[cfg(feature = "mpi")]
    if args.scheduler_file.is_none() && args.local.is_none() {
        let env = |name: &str| std::env::var(name).ok();
        if crate::mpi::launcher::launcher_size(env).is_some_and(|n| n > 1) {
            return run_under_mpi(args, source, &program, signal);
        }
    }
    let (cluster, client) = connect(args)?;
    // Connected: a signal now cancels the work and removes partial outputs.
    signal.watch();
    let result = evaluate_and_write(args, &source.text, &program, &client, signal)
        .and_then(|()| write_report(args, &source.text, &client));
    client.close();
    if let Some(cluster) = cluster {
        cluster.shutdown();
    }
    result
}

/// `mpirun -np N tessera eval ...`: MPI batch mode — rank 0 scheduler, rank 1 evaluates
/// the program, ranks 2.. workers; every rank exits with the evaluation's exit code.
#[cfg(feature = "mpi")]
fn run_under_mpi(
    args: &EvalArgs,
    source: &ProgramSource,
    program: &crate::expr::Program,
    signal: &ShutdownSignal,
) -> anyhow::Result<()> {
    let config = crate::mpi::MpiConfig::from_env()?;
    let code = crate::mpi::run(config, |client| {
        evaluate_and_write(args, &source.text, program, client, signal)
            .and_then(|()| write_report(args, &source.text, client))
            .map_err(|e| format!("{:#}", source.locate(e)))
    });
    if code == std::process::ExitCode::SUCCESS {
        Ok(())
    } else {
        // The error was printed once, on the evaluating rank; MPI is finalised.
        std::process::exit(1)
    }
}

/// `--report FILE` must be writable where it is: its directory exists.
fn check_report_path(report: &Path) -> Result<(), UsageError> {
    let dir = match report.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "--report {}: directory {} does not exist",
            report.display(),
            dir.display()
        )));
    }
    if cfg!(not(feature = "dashboard")) {
        return Err(UsageError(
            "--report needs a tessera built with the `dashboard` feature".into(),
        ));
    }
    Ok(())
}

/// The performance report of `--report`, if asked for.
fn write_report(args: &EvalArgs, program: &str, client: &Client) -> anyhow::Result<()> {
    let Some(path) = &args.report else {
        return Ok(());
    };
    #[cfg(feature = "dashboard")]
    {
        client.performance_report_of(path, Some(program))?;
        if !args.quiet {
            eprintln!("tessera: performance report written to {}", path.display());
        }
        Ok(())
    }
    #[cfg(not(feature = "dashboard"))]
    {
        let _ = (path, client);
        unreachable!("check_report_path refuses --report without the dashboard feature")
    }
}

fn check_output_path(out: &Path) -> Result<(), UsageError> {
    if is_npy(out) {
        return Ok(());
    }
    #[cfg(feature = "io")]
    if let Err(e) = crate::io::OutputTarget::parse(&out.to_string_lossy()) {
        return Err(UsageError(format!(
            "{e}; examples: -o out.nc:tas, -o out.h5:/mean, -o out.npy"
        )));
    } else {
        return Ok(());
    }
    #[allow(unreachable_code)]
    Err(UsageError(format!(
        "-o {}: this tessera writes only NumPy .npy files (built without the `io` feature); \
         example: -o result.npy",
        out.display()
    )))
}

/// An existing output file is replaced only with `--overwrite` (checked before anything is
/// computed, so nothing is written).
fn refuse_existing(out: &Path) -> Result<(), UsageError> {
    #[cfg(feature = "io")]
    let file = if is_npy(out) {
        out.to_path_buf()
    } else {
        crate::io::OutputTarget::parse(&out.to_string_lossy())
            .map(|t| t.path)
            .unwrap_or_else(|_| out.to_path_buf())
    };
    #[cfg(not(feature = "io"))]
    let file = out.to_path_buf();
    if file.exists() {
        return Err(UsageError(format!(
            "-o {}: {} exists; give --overwrite to replace it (nothing was written)",
            out.display(),
            file.display()
        )));
    }
    Ok(())
}

pub(crate) fn is_npy(out: &Path) -> bool {
    out.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

fn connect(args: &EvalArgs) -> anyhow::Result<(Option<LocalCluster>, Client)> {
    match (&args.scheduler_file, args.local) {
        (Some(file), None) => {
            let client = Client::from_scheduler_file(file, args.timeout)
                .with_context(|| format!("cannot use scheduler file {}", file.display()))?;
            Ok((None, client))
        }
        (_, local) => {
            let workers = local.unwrap_or(DEFAULT_LOCAL_WORKERS);
            let cluster = LocalCluster::start(LocalClusterConfig::new(workers, args.nthreads))
                .context("cannot start the local cluster")?;
            let client = cluster.client()?;
            Ok((Some(cluster), client))
        }
    }
}

fn evaluate_and_write(
    args: &EvalArgs,
    text: &str,
    program: &crate::expr::Program,
    client: &Client,
    signal: &ShutdownSignal,
) -> anyhow::Result<()> {
    let value = Evaluator::new(text)
        .with_materialise(|a: &Array| a.compute(client))
        .run(program)?;
    if !args.out.is_empty() {
        let results = bind_results(&args.out, value)?;
        return write_results(args, &results, client, signal);
    }
    let data = match value.array() {
        Some(array) => {
            if array.size() > args.max_print {
                return Err(UsageError(format!(
                    "the result has {} elements (shape {}), more than --max-print {}: write it \
                     to a file with -o result.npy, or raise --max-print",
                    array.size(),
                    shape_text(array.shape()),
                    args.max_print
                ))
                .into());
            }
            let bar = progress_bar(0, !args.quiet);
            let (data, _stats) = compute_with_progress(client, array, &bar, signal)?;
            data
        }
        None => match value {
            Value::Scalar(s) => scalar_data(s),
            other => return print_plain(args, &other),
        },
    };
    match args.output {
        OutputFormat::Json => outln!("{}", render_json(&data)),
        OutputFormat::Human => crate::cli::stdout::print_text(&render_human(&data)),
    }
    Ok(())
}

/// Strings, None, tuples (e.g. `x.shape`), mappings (`x.sizes`) and slices are printed as
/// Python would.
fn print_plain(args: &EvalArgs, value: &Value) -> anyhow::Result<()> {
    match args.output {
        OutputFormat::Json => outln!("{}", json!({ "value": plain_json(value)? })),
        OutputFormat::Human => outln!("{}", plain_text(value)?),
    }
    Ok(())
}

fn plain_json(value: &Value) -> anyhow::Result<serde_json::Value> {
    if let Some(a) = value.array() {
        return Err(tuple_of_arrays(a));
    }
    Ok(match value {
        Value::Scalar(s) => render_json(&scalar_data(*s))["data"].clone(),
        Value::Str(s) => json!(s),
        Value::None => serde_json::Value::Null,
        Value::Tuple(items) => serde_json::Value::Array(
            items
                .iter()
                .map(plain_json)
                .collect::<anyhow::Result<_>>()?,
        ),
        Value::Dict(items) => serde_json::Value::Object(
            items
                .iter()
                .map(|(k, v)| Ok((k.clone(), plain_json(v)?)))
                .collect::<anyhow::Result<_>>()?,
        ),
        Value::Slice(parts) => serde_json::Value::Array(
            parts
                .iter()
                .map(plain_json)
                .collect::<anyhow::Result<_>>()?,
        ),
        _ => serde_json::Value::Null,
    })
}

fn plain_text(value: &Value) -> anyhow::Result<String> {
    if let Some(a) = value.array() {
        return Err(tuple_of_arrays(a));
    }
    Ok(match value {
        Value::Scalar(s) => render_human(&scalar_data(*s))
            .lines()
            .last()
            .unwrap_or_default()
            .to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::None => "None".to_string(),
        Value::Tuple(items) => {
            let parts = items
                .iter()
                .map(plain_text)
                .collect::<anyhow::Result<Vec<_>>>()?;
            match parts.len() {
                1 => format!("({},)", parts[0]),
                _ => format!("({})", parts.join(", ")),
            }
        }
        Value::Dict(items) => {
            let parts = items
                .iter()
                .map(|(k, v)| Ok(format!("{k:?}: {}", plain_text(v)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            format!("{{{}}}", parts.join(", "))
        }
        Value::Slice(parts) => {
            let parts = parts
                .iter()
                .map(plain_text)
                .collect::<anyhow::Result<Vec<_>>>()?;
            format!("slice({})", parts.join(", "))
        }
        _ => "None".to_string(),
    })
}

fn tuple_of_arrays(a: &Array) -> anyhow::Error {
    UsageError(format!(
        "the result is a tuple holding an array (shape {}); make the result one array, or \
         write the items to files with one -o per item",
        shape_text(a.shape())
    ))
    .into()
}
