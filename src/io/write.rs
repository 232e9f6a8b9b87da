//! Writing labeled arrays to HDF5 and NetCDF-4 files from the workers: [`to_hdf5`],
//! [`to_netcdf`], and [`write_outputs`] for several outputs of one computation sharing its
//! work.
//!
//! The client lays out each file under a temporary name in the target directory (dataset,
//! dimensions, coordinates, attributes, `history`), submits one graph — the computation,
//! deduplicated across outputs by content-addressed keys, plus store tasks — and renames each
//! file to its final name only when every one of its chunks is written. A failed output
//! leaves no file under its final name and does not disturb the others. This module must not
//! encode or write chunks itself (see `store`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::array::{execute_graph_locally, Array, ChunkSpec};
use crate::core::{TaskKey, TaskSpec};
use crate::io::attrs::AttrValue;
use crate::io::error::IoError;
use crate::io::format::{Format, OutputTarget};
use crate::io::kernels::names;
use crate::io::labeled::LabeledArray;
use crate::io::output::{history_line, OutputPlan, WriteOptions, WriteStrategy};
use crate::io::store::{StoreArgs, WriterArgs};
use crate::io::{hdf5_file, netcdf_file};
use crate::runtime::{Client, KeyStatus};

/// One output of a computation: what to write and where.
#[derive(Clone, Debug)]
pub struct Output {
    /// The data and its labels.
    pub data: LabeledArray,
    /// The file and dataset/variable.
    pub target: OutputTarget,
}

/// A finished output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// The final file name.
    pub path: PathBuf,
    /// The dataset or variable written.
    pub name: String,
    /// Chunks written.
    pub chunks: usize,
    /// Encoded bytes written (compressed chunk bytes).
    pub bytes: u64,
    /// How many workers ran the store tasks (1 in this process).
    pub writers: usize,
}

/// Writes `data` to dataset `dataset` of the HDF5 file `path` (computed on `client`'s
/// cluster, or in this process when `client` is `None`).
///
/// ```no_run
/// use tessera::io::{from_hdf5, to_hdf5, WriteOptions};
/// use tessera::array::ReduceKind;
/// let t = from_hdf5("in.h5", "/t").unwrap();
/// let m = t.reduce_axes(ReduceKind::Mean, &[0]).unwrap();
/// to_hdf5(&m, "mean.h5", "/t_mean", &WriteOptions::new(), None).unwrap();
/// ```
pub fn to_hdf5(
    data: &LabeledArray,
    path: impl AsRef<Path>,
    dataset: &str,
    opts: &WriteOptions,
    client: Option<&Client>,
) -> Result<WrittenFile, IoError> {
    write_one(data, path.as_ref(), Format::Hdf5, dataset, opts, client)
}

/// Writes `data` to variable `variable` of the NetCDF-4 file `path`.
pub fn to_netcdf(
    data: &LabeledArray,
    path: impl AsRef<Path>,
    variable: &str,
    opts: &WriteOptions,
    client: Option<&Client>,
) -> Result<WrittenFile, IoError> {
    write_one(data, path.as_ref(), Format::NetCdf, variable, opts, client)
}

fn write_one(
    data: &LabeledArray,
    path: &Path,
    format: Format,
    name: &str,
    opts: &WriteOptions,
    client: Option<&Client>,
) -> Result<WrittenFile, IoError> {
    let out = Output {
        data: data.clone(),
        target: OutputTarget {
            path: path.to_path_buf(),
            format,
            name: Some(name.to_string()),
        },
    };
    write_outputs(&[out], opts, client)
        .pop()
        .unwrap_or_else(|| Err(IoError::Invalid("no output".into())))
}

/// Writes several outputs of one computation; shared parts of their graphs run once. Returns
/// one result per output, in order: a failed output does not stop the others.
pub fn write_outputs(
    outputs: &[Output],
    opts: &WriteOptions,
    client: Option<&Client>,
) -> Vec<Result<WrittenFile, IoError>> {
    let mut prepared: Vec<Result<Prepared, IoError>> =
        outputs.iter().map(|o| prepare(o, opts)).collect();
    match client {
        Some(c) => run_on_cluster(c, &mut prepared),
        None => {
            for p in prepared.iter_mut() {
                let Ok(prep) = p else { continue };
                match run_locally(prep) {
                    Ok(bytes) => prep.bytes = bytes,
                    Err(e) => {
                        discard(&prep.plan);
                        *p = Err(e);
                    }
                }
            }
        }
    }
    prepared
        .into_iter()
        .map(|p| p.and_then(|prep| commit(&prep)))
        .collect()
}

/// An output whose file is laid out, with its tasks.
struct Prepared {
    plan: OutputPlan,
    tasks: Vec<TaskSpec>,
    /// The keys whose completion means every chunk is written.
    done: Vec<TaskKey>,
    chunks: usize,
    /// Encoded bytes the store tasks reported.
    bytes: u64,
    /// Distinct workers holding store results.
    writers: usize,
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Storage chunks: the requested ones, or the array's first block on every axis; the array
/// is rechunked when its grid is not that regular grid.
fn storage_chunks(
    array: &Array,
    requested: Option<&[usize]>,
) -> Result<(Array, Vec<usize>), IoError> {
    if array.ndim() == 0 {
        return Ok((array.clone(), Vec::new()));
    }
    let grid = array.chunks();
    let chunk: Vec<usize> = match requested {
        Some(c) if c.len() == array.ndim() => c
            .iter()
            .zip(array.shape())
            .map(|(&c, &n)| c.clamp(1, n.max(1)))
            .collect(),
        Some(c) => {
            return Err(IoError::Invalid(format!(
                "{} chunk sizes for an array of {} dimensions",
                c.len(),
                array.ndim()
            )))
        }
        None => (0..array.ndim())
            .map(|a| grid.blocks(a).first().copied().unwrap_or(1).max(1))
            .collect(),
    };
    let regular = (0..array.ndim()).all(|a| {
        let b = grid.blocks(a);
        b.iter()
            .take(b.len().saturating_sub(1))
            .all(|&x| x == chunk[a])
            && b.last().is_some_and(|&l| l <= chunk[a])
    });
    if regular {
        Ok((array.clone(), chunk))
    } else {
        Ok((array.rechunk(ChunkSpec::from(chunk.clone()))?, chunk))
    }
}

fn prepare(out: &Output, opts: &WriteOptions) -> Result<Prepared, IoError> {
    let target = &out.target;
    let data = &out.data;
    let final_path = target.path.clone();
    let shown = final_path.display().to_string();
    let dir = match final_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = final_path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| IoError::Invalid(format!("{shown}: not a file name")))?;
    if !dir.is_dir() {
        return Err(IoError::NotFound {
            path: dir.display().to_string(),
        });
    }
    let tmp_path = dir.join(format!(".{file_name}.tessera-{}", random_suffix()));
    let lock_path = PathBuf::from(format!("{}.lock", tmp_path.display()));
    let name = target
        .name
        .clone()
        .unwrap_or_else(|| data.name().to_string());
    let name = match target.format {
        Format::Hdf5 => target.format.hdf5_path(&name),
        Format::NetCdf => name.trim_start_matches('/').to_string(),
    };
    let (array, chunk) = storage_chunks(data.array(), opts.chunks.as_deref())?;
    let command = opts
        .history
        .clone()
        .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
    let mut global_attrs = opts.global_attrs.clone();
    let previous = global_attrs
        .get("history")
        .and_then(AttrValue::as_text)
        .map(str::to_string);
    global_attrs.insert(
        "history".into(),
        AttrValue::Text(history_line(&command, previous.as_deref())),
    );
    let plan = OutputPlan {
        format: target.format,
        path: final_path,
        tmp_path,
        lock_path,
        name,
        dtype: array.dtype(),
        shape: array.shape().to_vec(),
        chunk,
        codec: opts.codec,
        dims: data.dims().to_vec(),
        coords: data
            .coords()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        attrs: data.attrs().clone(),
        global_attrs,
    };
    let created = match plan.format {
        Format::Hdf5 => hdf5_file::create(&plan.tmp_path, &plan),
        Format::NetCdf => netcdf_file::create(&plan.tmp_path, &plan),
    };
    if let Err(e) = created {
        discard(&plan);
        return Err(rename_in_error(e, &plan));
    }
    let built = build_tasks(&array, &plan, opts.strategy);
    match built {
        Ok((tasks, done, chunks)) => Ok(Prepared {
            plan,
            tasks,
            done,
            chunks,
            bytes: 0,
            writers: 1,
        }),
        Err(e) => {
            discard(&plan);
            Err(e)
        }
    }
}

fn build_tasks(
    array: &Array,
    plan: &OutputPlan,
    strategy: WriteStrategy,
) -> Result<(Vec<TaskSpec>, Vec<TaskKey>, usize), IoError> {
    let graph = array.graph()?;
    let mut tasks = graph.tasks;
    let file = plan.tmp_path.display().to_string();
    let tag = short_hash(&[&file, &plan.name]);
    let dataset = Format::Hdf5.hdf5_path(&plan.name);
    let grid = array.chunks();
    let store_args = |idx: &[usize]| StoreArgs {
        file: file.clone(),
        lock: plan.lock_path.display().to_string(),
        dataset: dataset.clone(),
        origin: grid.chunk_origin(idx),
        chunk: plan.chunk.clone(),
        codec: plan.codec,
    };
    let encode_args = |v: &StoreArgs| {
        postcard::to_allocvec(v)
            .map(Bytes::from)
            .map_err(|e| IoError::Invalid(format!("cannot encode write arguments: {e}")))
    };
    let suffix = |idx: &[usize]| idx.iter().map(|i| format!("-{i}")).collect::<String>();
    let mut done = Vec::new();
    let chunks = graph.outputs.len();
    let single = strategy == WriteStrategy::SingleWriter && !plan.chunk.is_empty();
    let mut origins = Vec::new();
    for (idx, key) in &graph.outputs {
        let args = store_args(idx);
        let (kernel, prefix) = match (single, strategy) {
            (true, _) => (names::ENCODE, "io-encode"),
            (false, WriteStrategy::LockedFilter) => (names::STORE_FILTERED, "io-store"),
            (false, _) => (names::STORE_LOCKED, "io-store"),
        };
        let k = TaskKey::new(format!("{prefix}-{tag}{}", suffix(idx)));
        tasks.push(TaskSpec::new(
            k.clone(),
            kernel,
            encode_args(&args)?,
            vec![key.clone()],
        ));
        origins.push(args.origin);
        done.push(k);
    }
    if single {
        let w = WriterArgs {
            file,
            dataset,
            origins,
        };
        let bytes = postcard::to_allocvec(&w)
            .map(Bytes::from)
            .map_err(|e| IoError::Invalid(format!("cannot encode write arguments: {e}")))?;
        let k = TaskKey::new(format!("io-write-all-{tag}"));
        tasks.push(TaskSpec::new(
            k.clone(),
            names::WRITE_ALL,
            bytes,
            done.clone(),
        ));
        done = vec![k];
    }
    Ok((tasks, done, chunks))
}

fn run_locally(p: &Prepared) -> Result<u64, IoError> {
    let results =
        execute_graph_locally(&p.tasks, &p.done).map_err(|e| failed(&p.plan, &e.to_string()))?;
    Ok(results.values().map(written).sum())
}

fn written(b: &Bytes) -> u64 {
    let mut a = [0u8; 8];
    if b.len() == 8 {
        a.copy_from_slice(b);
    }
    u64::from_le_bytes(a)
}

fn run_on_cluster(client: &Client, prepared: &mut [Result<Prepared, IoError>]) {
    let mut tasks = Vec::new();
    let mut seen = HashSet::new();
    let mut wanted = Vec::new();
    for p in prepared.iter().flatten() {
        for t in &p.tasks {
            if seen.insert(t.key.clone()) {
                tasks.push(t.clone());
            }
        }
        wanted.extend(p.done.iter().cloned());
    }
    if wanted.is_empty() {
        return;
    }
    let futures = match client.submit_graph(tasks, &wanted) {
        Ok(f) => f,
        Err(e) => {
            let msg = e.to_string();
            for p in prepared.iter_mut() {
                if let Ok(prep) = p {
                    discard(&prep.plan);
                    *p = Err(IoError::Write {
                        path: prep.plan.path.display().to_string(),
                        name: prep.plan.name.clone(),
                        reason: msg.clone(),
                    });
                }
            }
            return;
        }
    };
    let mut at = 0;
    for p in prepared.iter_mut() {
        let Ok(prep) = p else { continue };
        let mine = &futures[at..at + prep.done.len()];
        at += prep.done.len();
        match client.gather(mine) {
            Ok(values) => {
                prep.bytes = values.iter().map(written).sum();
                let holders: HashSet<String> = mine
                    .iter()
                    .filter_map(|f| match f.status() {
                        KeyStatus::Ready { holders, .. } => Some(holders),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                prep.writers = holders.len().max(1);
            }
            Err(e) => {
                client.cancel(mine);
                let err = failed(&prep.plan, &e.to_string());
                discard(&prep.plan);
                *p = Err(err);
            }
        }
    }
}

/// The error of an output whose tasks failed with `message`, naming the final file.
fn failed(plan: &OutputPlan, message: &str) -> IoError {
    let tmp = plan.tmp_path.display().to_string();
    let fin = plan.path.display().to_string();
    IoError::Write {
        path: fin.clone(),
        name: plan.name.clone(),
        reason: message.replace(&format!("{tmp}: "), "").replace(&tmp, &fin),
    }
}

/// Errors name the final file, not the temporary one.
fn rename_in_error(e: IoError, plan: &OutputPlan) -> IoError {
    let tmp = plan.tmp_path.display().to_string();
    let fin = plan.path.display().to_string();
    let msg = e.to_string();
    if !msg.contains(&tmp) {
        return e;
    }
    IoError::Write {
        path: fin.clone(),
        name: plan.name.clone(),
        reason: msg.replace(&format!("{tmp}: "), "").replace(&tmp, &fin),
    }
}

/// Removes the temporary file and its lock.
fn discard(plan: &OutputPlan) {
    let _ = std::fs::remove_file(&plan.tmp_path);
    let _ = std::fs::remove_file(&plan.lock_path);
}

/// Makes the finished temporary file durable and gives it its final name.
fn commit(p: &Prepared) -> Result<WrittenFile, IoError> {
    let plan = &p.plan;
    let shown = plan.path.display().to_string();
    let synced = std::fs::File::open(&plan.tmp_path).and_then(|f| f.sync_all());
    let renamed = synced.and_then(|_| std::fs::rename(&plan.tmp_path, &plan.path));
    let _ = std::fs::remove_file(&plan.lock_path);
    if let Err(e) = renamed {
        discard(plan);
        return Err(IoError::from_os(&shown, &e, "rename into place"));
    }
    Ok(WrittenFile {
        path: plan.path.clone(),
        name: plan.name.clone(),
        chunks: p.chunks,
        bytes: p.bytes,
        writers: p.writers,
    })
}
