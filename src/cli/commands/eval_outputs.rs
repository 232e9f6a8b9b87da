//! The `-o` targets of `tessera eval`: binding the program's results to them (a program
//! ending with N results, `m, s` or `[m, s]`, fills N targets in order), computing every
//! result in one submission — the work they share runs once — and writing `.npy`, NetCDF and
//! HDF5 files, with one summary line per target (JSON: one document per line).
//!
//! A failing target leaves the others written and no file under its own final name. This
//! module must not parse or evaluate programs, nor lay out HDF5/NetCDF files itself.

use crate::cli::stdout::outln;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::array::{Array, ArrayData};
use crate::cli::args::{EvalArgs, OutputFormat};
use crate::cli::array_compute::{compute_all_with_progress, progress_bar};
use crate::cli::commands::eval::is_npy;
use crate::cli::signals::ShutdownSignal;
use crate::cli::UsageError;
use crate::eval::render::scalar_data;
use crate::eval::{shape_text, write_npy, Value};

/// The results of the program, one per `-o` target: the items of a tuple or list result,
/// or the one result. A different count is a usage error naming both counts.
pub(crate) fn bind_results(outs: &[PathBuf], value: Value) -> Result<Vec<Value>, UsageError> {
    let (items, tuple) = match value {
        Value::Tuple(items) => (items, true),
        other => (vec![other], false),
    };
    if items.len() == outs.len() {
        return Ok(items);
    }
    let results = match items.len() {
        1 => "1 result".to_string(),
        n => format!("{n} results"),
    };
    let targets = match outs.len() {
        1 => "1 -o target was".to_string(),
        n => format!("{n} -o targets were"),
    };
    let hint = if tuple {
        "give one -o per result, in order"
    } else {
        "end the program with one result per -o, separated by commas (e.g. 'm, s')"
    };
    Err(UsageError(format!(
        "the program has {results} but {targets} given; {hint}"
    )))
}

/// One result to write: its array and, for results read from files, its labels.
struct Writable {
    array: Array,
    #[cfg(feature = "io")]
    labels: Option<crate::labeled::LabeledArray>,
}

fn writable(out: &Path, value: &Value, position: usize, count: usize) -> anyhow::Result<Writable> {
    let array = match value {
        Value::Scalar(s) => Array::from_data(&scalar_data(*s), 1)?,
        other => match other.array() {
            Some(a) => a.clone(),
            None => {
                let which = if count > 1 {
                    format!("result {} of the program", position + 1)
                } else {
                    "the result".to_string()
                };
                return Err(UsageError(format!(
                    "-o {}: -o writes arrays and numbers; {which} is {}",
                    out.display(),
                    other.describe()
                ))
                .into());
            }
        },
    };
    Ok(Writable {
        array,
        #[cfg(feature = "io")]
        labels: value.labels().cloned(),
    })
}

/// What was written to one target.
enum Written {
    Npy {
        path: PathBuf,
        shape: Vec<usize>,
        dtype: crate::array::DType,
        bytes: u64,
    },
    #[cfg(feature = "io")]
    File(crate::io::WrittenFile),
}

/// Writes each result to its `-o` target, computing all of them in one submission.
pub(crate) fn write_results(
    args: &EvalArgs,
    results: &[Value],
    client: &crate::runtime::Client,
    signal: &ShutdownSignal,
) -> anyhow::Result<()> {
    let count = results.len();
    let items = args
        .out
        .iter()
        .zip(results)
        .enumerate()
        .map(|(i, (out, v))| writable(out, v, i, count))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (written, tasks) = if args.out.iter().all(|o| is_npy(o)) {
        let arrays: Vec<Array> = items.iter().map(|w| w.array.clone()).collect();
        let bar = progress_bar(0, !args.quiet);
        let (data, stats) = compute_all_with_progress(client, &arrays, &bar, signal)?;
        let written = args
            .out
            .iter()
            .zip(&data)
            .map(|(out, d)| write_npy_target(out, d))
            .collect();
        (written, stats.tasks as usize)
    } else {
        write_with_files(args, items, client)?
    };
    report(args, written, tasks)
}

fn write_npy_target(out: &Path, data: &ArrayData) -> anyhow::Result<Written> {
    let bytes = write_npy(out, data)?;
    Ok(Written::Npy {
        path: out.to_path_buf(),
        shape: data.shape().to_vec(),
        dtype: data.dtype(),
        bytes,
    })
}

/// HDF5/NetCDF targets (and `.npy` ones next to them): one `write_and_gather` call.
#[cfg(feature = "io")]
fn write_with_files(
    args: &EvalArgs,
    items: Vec<Writable>,
    client: &crate::runtime::Client,
) -> anyhow::Result<(Vec<anyhow::Result<Written>>, usize)> {
    use crate::io::{write_and_gather, LabeledArray, Output, OutputTarget, WriteOptions};
    enum Slot {
        File(usize),
        Npy(usize),
    }
    let mut outputs = Vec::new();
    let mut gather = Vec::new();
    let mut slots = Vec::new();
    for (out, item) in args.out.iter().zip(items) {
        if is_npy(out) {
            slots.push(Slot::Npy(gather.len()));
            gather.push(item.array);
            continue;
        }
        let target = OutputTarget::parse(&out.to_string_lossy())?;
        // Without `:VAR` a labeled result keeps its input's variable name (`tas`), a
        // plain one is called `data`.
        let data = match (target.name.as_deref(), item.labels) {
            (Some(name), Some(l)) => l.renamed(name.rsplit('/').next().unwrap_or(name)),
            (Some(name), None) => {
                LabeledArray::new(item.array, name.rsplit('/').next().unwrap_or(name))
            }
            (None, Some(l)) => l,
            (None, None) => LabeledArray::new(item.array, "data"),
        };
        slots.push(Slot::File(outputs.len()));
        outputs.push(Output { data, target });
    }
    let command: Vec<String> = std::env::args().collect();
    let opts = WriteOptions::new().history(&command.join(" "));
    let report = write_and_gather(&outputs, &gather, &opts, Some(client));
    let mut files: Vec<Option<_>> = report.written.into_iter().map(Some).collect();
    let mut arrays: Vec<Option<_>> = report.gathered.into_iter().map(Some).collect();
    let written = args
        .out
        .iter()
        .zip(slots)
        .map(|(out, slot)| match slot {
            Slot::File(i) => match files[i].take() {
                Some(Ok(w)) => Ok(Written::File(w)),
                Some(Err(e)) => Err(e.into()),
                None => Err(anyhow::anyhow!("{}: not written", out.display())),
            },
            Slot::Npy(i) => match arrays[i].take() {
                Some(Ok(data)) => write_npy_target(out, &data),
                Some(Err(e)) => Err(crate::cli::array_compute::unwrap_client_error(e)),
                None => Err(anyhow::anyhow!("{}: not written", out.display())),
            },
        })
        .collect();
    Ok((written, report.tasks))
}

/// Without the `io` feature every target is a `.npy` file (checked before evaluating).
#[cfg(not(feature = "io"))]
fn write_with_files(
    _args: &EvalArgs,
    _items: Vec<Writable>,
    _client: &crate::runtime::Client,
) -> anyhow::Result<(Vec<anyhow::Result<Written>>, usize)> {
    Err(UsageError("this tessera writes only NumPy .npy files".into()).into())
}

/// Prints one line per target written (JSON: one document per line, with the tasks of the
/// whole computation), then returns the first failure, printing the others.
fn report(
    args: &EvalArgs,
    written: Vec<anyhow::Result<Written>>,
    tasks: usize,
) -> anyhow::Result<()> {
    let targets = written.len();
    let mut failures = Vec::new();
    for w in written {
        match w {
            Ok(w) => print_written(args, &w, tasks),
            Err(e) => failures.push(e),
        }
    }
    if targets > 1 && args.output == OutputFormat::Human && failures.is_empty() {
        outln!("{targets} outputs from one computation of {tasks} tasks");
    }
    let mut failures = failures.into_iter();
    match failures.next() {
        None => Ok(()),
        Some(first) => {
            for other in failures {
                eprintln!("error: {other:#}");
            }
            Err(first)
        }
    }
}

fn print_written(args: &EvalArgs, w: &Written, tasks: usize) {
    match (w, args.output) {
        (
            Written::Npy {
                path,
                shape,
                dtype,
                bytes,
            },
            OutputFormat::Json,
        ) => outln!(
            "{}",
            json!({
                "path": path.display().to_string(),
                "shape": shape,
                "dtype": crate::eval::short_dtype_name(*dtype),
                "bytes": bytes,
                "tasks": tasks,
            })
        ),
        (
            Written::Npy {
                path,
                shape,
                dtype,
                bytes,
            },
            OutputFormat::Human,
        ) => outln!(
            "wrote {}: shape {}, dtype {dtype}, {bytes} bytes",
            path.display(),
            shape_text(shape),
        ),
        #[cfg(feature = "io")]
        (Written::File(f), OutputFormat::Json) => outln!(
            "{}",
            json!({
                "path": f.path.display().to_string(),
                "name": f.name,
                "chunks": f.chunks,
                "bytes": f.bytes,
                "tasks": tasks,
            })
        ),
        #[cfg(feature = "io")]
        (Written::File(f), OutputFormat::Human) => outln!(
            "wrote {}:{} ({} chunks, {} bytes encoded)",
            f.path.display(),
            f.name,
            f.chunks,
            f.bytes
        ),
    }
}
