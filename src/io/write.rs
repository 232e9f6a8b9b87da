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

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::array::{execute_graph_locally, Array, ArrayData, ArrayError, ChunkSpec};
use crate::core::{TaskKey, TaskSpec};
use crate::io::error::IoError;
use crate::io::format::{Format, OutputTarget};
use crate::io::kernels::names;
use crate::io::output::{history_line, OutputPlan, WriteOptions, WriteStrategy};
use crate::io::store::{StoreArgs, WriterArgs};
use crate::io::{hdf5_file, netcdf_file};
use crate::labeled::AttrValue;
use crate::labeled::LabeledArray;
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
/// one result per output, in order: a failed output does not stop the others. Outputs naming
/// the same file become variables (datasets) of that one file, which is written whole or not
/// at all.
pub fn write_outputs(
    outputs: &[Output],
    opts: &WriteOptions,
    client: Option<&Client>,
) -> Vec<Result<WrittenFile, IoError>> {
    write_and_gather(outputs, &[], opts, client).written
}

/// What [`write_and_gather`] did.
#[derive(Debug)]
pub struct WriteReport {
    /// One result per output, in order.
    pub written: Vec<Result<WrittenFile, IoError>>,
    /// One result per gathered array, in order.
    pub gathered: Vec<Result<ArrayData, ArrayError>>,
    /// Distinct tasks submitted: the work shared by several outputs is counted (and run)
    /// once. Without a client, the tasks run in this process, output by output.
    pub tasks: usize,
}

/// Writes `outputs` and brings the arrays `gather` back to this process, in one submission
/// to `client`'s cluster: work shared between them (content-addressed task keys) runs once.
/// This is how `tessera eval -o a.nc:m -o m.npy` computes a program's results together.
///
/// ```no_run
/// use tessera::io::{from_netcdf, write_and_gather, Output, OutputTarget, WriteOptions};
/// use tessera::array::ReduceKind;
/// let t = from_netcdf("in.nc", "t").unwrap();
/// let m = t.reduce_axes(ReduceKind::Mean, &[0]).unwrap();
/// let out = Output { data: m.clone(), target: OutputTarget::parse("out.nc:t_mean").unwrap() };
/// let report = write_and_gather(&[out], &[m.array().clone()], &WriteOptions::new(), None);
/// assert_eq!(report.written.len(), 1);
/// ```
pub fn write_and_gather(
    outputs: &[Output],
    gather: &[Array],
    opts: &WriteOptions,
    client: Option<&Client>,
) -> WriteReport {
    let mut files: Vec<FileState> = Vec::new();
    let mut file_of = Vec::with_capacity(outputs.len());
    let mut prepared: Vec<Result<Prepared, IoError>> = Vec::with_capacity(outputs.len());
    for out in outputs {
        let key = file_key(&out.target.path);
        let at = match files.iter().position(|f| f.key == key) {
            Some(at) => at,
            None => {
                files.push(FileState::new(key));
                files.len() - 1
            }
        };
        file_of.push(at);
        let file = &mut files[at];
        let p = match &file.failed {
            Some(reason) => Err(sibling_failed(&out.target, reason)),
            None => prepare(out, opts, file),
        };
        if let (Err(e), None) = (&p, &file.failed) {
            file.failed = Some(e.to_string());
        }
        prepared.push(p);
    }
    fail_siblings(&mut prepared, &file_of, &files);
    let (gathered, tasks) = match client {
        Some(c) => run_on_cluster(c, &mut prepared, gather),
        None => {
            let mut tasks = 0;
            for p in prepared.iter_mut() {
                let Ok(prep) = p else { continue };
                tasks += prep.tasks.len();
                match run_locally(prep) {
                    Ok(bytes) => prep.bytes = bytes,
                    Err(e) => {
                        discard(&prep.plan);
                        *p = Err(e);
                    }
                }
            }
            let mut gathered = Vec::with_capacity(gather.len());
            for a in gather {
                tasks += a.graph().map_or(0, |g| g.tasks.len());
                gathered.push(a.compute_local());
            }
            (gathered, tasks)
        }
    };
    for (i, p) in prepared.iter().enumerate() {
        if let Err(e) = p {
            let file = &mut files[file_of[i]];
            if file.failed.is_none() {
                file.failed = Some(e.to_string());
            }
        }
    }
    fail_siblings(&mut prepared, &file_of, &files);
    let mut results: Vec<Option<Result<WrittenFile, IoError>>> =
        (0..prepared.len()).map(|_| None).collect();
    let mut members: Vec<Vec<(usize, Prepared)>> = (0..files.len()).map(|_| Vec::new()).collect();
    for (i, p) in prepared.into_iter().enumerate() {
        match p {
            Ok(prep) => members[file_of[i]].push((i, prep)),
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    for group in members.into_iter().filter(|g| !g.is_empty()) {
        let (indices, preps): (Vec<usize>, Vec<Prepared>) = group.into_iter().unzip();
        for (i, r) in indices.into_iter().zip(commit(&preps)) {
            results[i] = Some(r);
        }
    }
    WriteReport {
        written: results
            .into_iter()
            .map(|w| w.unwrap_or_else(|| Err(IoError::Invalid("output not written".into()))))
            .collect(),
        gathered,
        tasks,
    }
}

/// Outputs into the same file are recognised by this key (the absolute path, lexically).
fn file_key(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// One output file shared by one or more outputs, while it is laid out.
struct FileState {
    key: PathBuf,
    /// The temporary name and its lock, once the first output created the file.
    tmp: Option<(PathBuf, PathBuf)>,
    /// Variables (datasets) laid out in it.
    names: Vec<String>,
    /// NetCDF dimensions (group-qualified) and their lengths.
    dims: BTreeMap<String, usize>,
    /// Coordinates (group-qualified) and their values.
    coords: BTreeMap<String, ArrayData>,
    /// Why an output of this file failed: the whole file is then not written.
    failed: Option<String>,
}

impl FileState {
    fn new(key: PathBuf) -> FileState {
        FileState {
            key,
            tmp: None,
            names: Vec::new(),
            dims: BTreeMap::new(),
            coords: BTreeMap::new(),
            failed: None,
        }
    }
}

/// The error of an output not written because another output of its file failed.
fn sibling_failed(target: &OutputTarget, reason: &str) -> IoError {
    IoError::Write {
        path: target.path.display().to_string(),
        name: target.name.clone().unwrap_or_else(|| "(default)".into()),
        reason: format!("not written because another output of this file failed: {reason}"),
    }
}

/// Turns the prepared outputs of every failed file into errors (removing the file).
fn fail_siblings(
    prepared: &mut [Result<Prepared, IoError>],
    file_of: &[usize],
    files: &[FileState],
) {
    for (i, p) in prepared.iter_mut().enumerate() {
        let Some(reason) = &files[file_of[i]].failed else {
            continue;
        };
        if let Ok(prep) = p {
            discard(&prep.plan);
            *p = Err(IoError::Write {
                path: prep.plan.path.display().to_string(),
                name: prep.plan.name.clone(),
                reason: format!("not written because another output of this file failed: {reason}"),
            });
        }
    }
}

/// `dim_0`, `dim_1`, ...: the names a plain array's dimensions get.
fn is_generated_dim(dim: &str) -> bool {
    dim.strip_prefix("dim_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Settles the dimensions of `plan` against those other outputs of the same file laid out:
/// a shared name must have the same length (a generated `dim_N` that clashes is renamed
/// `<variable>_dim_N`) and a shared coordinate the same values.
fn share_dimensions(plan: &mut OutputPlan, file: &FileState) -> Result<(), IoError> {
    let shown = plan.path.display().to_string();
    let (group, short) = match plan.format {
        Format::NetCdf => match plan.name.rsplit_once('/') {
            Some((g, n)) => (format!("{g}/"), n.to_string()),
            None => (String::new(), plan.name.clone()),
        },
        Format::Hdf5 => (
            String::new(),
            plan.name
                .rsplit('/')
                .next()
                .unwrap_or(&plan.name)
                .to_string(),
        ),
    };
    for axis in 0..plan.dims.len() {
        let dim = plan.dims[axis].clone();
        let len = plan.shape[axis];
        let coord = plan.coords.iter().find(|(d, _)| *d == dim).map(|(_, c)| c);
        let qualified = format!("{group}{dim}");
        if let Some(values) = coord.and_then(|c| file.coords.get(&qualified).map(|v| (c, v))) {
            if values.0.values != *values.1 {
                return Err(IoError::Invalid(format!(
                    "{shown}: {short} has other {dim} coordinates than the variables written \
                     to this file before it; write it to another file"
                )));
            }
        }
        if plan.format != Format::NetCdf {
            continue;
        }
        match file.dims.get(&qualified) {
            Some(&have) if have != len => {
                if coord.is_none() && is_generated_dim(&dim) {
                    let renamed = format!("{short}_{dim}");
                    if file.dims.contains_key(&format!("{group}{renamed}")) {
                        return Err(dimension_clash(&shown, &short, &renamed, have, len));
                    }
                    plan.dims[axis] = renamed;
                } else {
                    return Err(dimension_clash(&shown, &short, &dim, have, len));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn dimension_clash(shown: &str, name: &str, dim: &str, have: usize, len: usize) -> IoError {
    IoError::Invalid(format!(
        "{shown}: dimension {dim} has length {have} in this file but {len} for {name}; \
         write it to another file"
    ))
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

fn prepare(out: &Output, opts: &WriteOptions, file: &mut FileState) -> Result<Prepared, IoError> {
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
    let fresh = file.tmp.is_none();
    let (tmp_path, lock_path) = file.tmp.clone().unwrap_or_else(|| {
        let tmp_path = dir.join(format!(".{file_name}.tessera-{}", random_suffix()));
        let lock_path = PathBuf::from(format!("{}.lock", tmp_path.display()));
        (tmp_path, lock_path)
    });
    let name = target
        .name
        .clone()
        .unwrap_or_else(|| data.name().to_string());
    let name = match target.format {
        Format::Hdf5 => target.format.hdf5_path(&name),
        Format::NetCdf => name.trim_start_matches('/').to_string(),
    };
    if file.names.contains(&name) {
        return Err(IoError::Invalid(format!(
            "{shown}: {} {name} is written twice; give each output its own name",
            target.format.item()
        )));
    }
    let (array, chunk) = storage_chunks(&fill_missing(data)?, opts.chunks.as_deref())?;
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
    let mut plan = OutputPlan {
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
    share_dimensions(&mut plan, file)?;
    let created = match plan.format {
        Format::Hdf5 => hdf5_file::create(&plan.tmp_path, &plan, fresh),
        Format::NetCdf => netcdf_file::create(&plan.tmp_path, &plan, fresh),
    };
    if let Err(e) = created {
        discard(&plan);
        return Err(rename_in_error(e, &plan));
    }
    file.tmp = Some((plan.tmp_path.clone(), plan.lock_path.clone()));
    file.names.push(plan.name.clone());
    let group = match (plan.format, plan.name.rsplit_once('/')) {
        (Format::NetCdf, Some((g, _))) => format!("{g}/"),
        _ => String::new(),
    };
    for (dim, len) in plan.dims.iter().zip(&plan.shape) {
        file.dims.insert(format!("{group}{dim}"), *len);
    }
    for (dim, c) in &plan.coords {
        if plan.dims.contains(dim) {
            file.coords
                .entry(format!("{group}{dim}"))
                .or_insert_with(|| c.values.clone());
        }
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

/// The data to store: NaN replaced by the variable's `_FillValue` when that is a number
/// (CF readers such as CDO then see the missing values as missing); floats without one get
/// `_FillValue = NaN` when the file is laid out.
fn fill_missing(data: &LabeledArray) -> Result<Array, IoError> {
    let a = data.array();
    let fill = data
        .attrs()
        .get("_FillValue")
        .and_then(|v| v.as_f64s().first().copied())
        .filter(|f| !f.is_nan());
    match fill {
        Some(f) if a.dtype().is_float() => Ok(Array::where_(
            &a.isnan()?,
            crate::array::Operand::Scalar(crate::array::Scalar::Float(f)),
            crate::array::Operand::from(a.clone()),
        )?
        .astype(a.dtype())),
        _ => Ok(a.clone()),
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

fn run_on_cluster(
    client: &Client,
    prepared: &mut [Result<Prepared, IoError>],
    gather: &[Array],
) -> (Vec<Result<ArrayData, ArrayError>>, usize) {
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
    let mut graphs = Vec::with_capacity(gather.len());
    for a in gather {
        let g = a.graph();
        if let Ok(g) = &g {
            for t in &g.tasks {
                if seen.insert(t.key.clone()) {
                    tasks.push(t.clone());
                }
            }
            wanted.extend(g.outputs.iter().map(|(_, k)| k.clone()));
        }
        graphs.push(g);
    }
    let total = tasks.len();
    if wanted.is_empty() {
        let gathered = graphs
            .into_iter()
            .zip(gather)
            .map(|(g, a)| g.and_then(|_| a.assemble(&[])))
            .collect();
        return (gathered, 0);
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
            let mut first = Some(e);
            let gathered = graphs
                .into_iter()
                .map(|g| {
                    g.and_then(|_| {
                        Err(match first.take() {
                            Some(e) => ArrayError::Client(e),
                            None => ArrayError::Compute(msg.clone()),
                        })
                    })
                })
                .collect();
            return (gathered, total);
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
    let mut gathered = Vec::with_capacity(gather.len());
    for (g, a) in graphs.into_iter().zip(gather) {
        let g = match g {
            Ok(g) => g,
            Err(e) => {
                gathered.push(Err(e));
                continue;
            }
        };
        let mine = &futures[at..at + g.outputs.len()];
        at += g.outputs.len();
        let result = match client.gather(mine) {
            Ok(values) => {
                let chunks: Vec<(Vec<usize>, Bytes)> =
                    g.outputs.into_iter().map(|(i, _)| i).zip(values).collect();
                a.assemble(&chunks)
            }
            Err(e) => {
                client.cancel(mine);
                Err(ArrayError::Client(e))
            }
        };
        gathered.push(result);
    }
    (gathered, total)
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

/// Makes the finished temporary file of `outputs` (all of one file) durable and gives it its
/// final name.
fn commit(outputs: &[Prepared]) -> Vec<Result<WrittenFile, IoError>> {
    let Some(first) = outputs.first() else {
        return Vec::new();
    };
    let plan = &first.plan;
    let shown = plan.path.display().to_string();
    let synced = std::fs::File::open(&plan.tmp_path).and_then(|f| f.sync_all());
    let renamed = synced.and_then(|_| std::fs::rename(&plan.tmp_path, &plan.path));
    let _ = std::fs::remove_file(&plan.lock_path);
    if let Err(e) = renamed {
        discard(plan);
        return outputs
            .iter()
            .map(|_| Err(IoError::from_os(&shown, &e, "rename into place")))
            .collect();
    }
    outputs
        .iter()
        .map(|p| {
            Ok(WrittenFile {
                path: p.plan.path.clone(),
                name: p.plan.name.clone(),
                chunks: p.chunks,
                bytes: p.bytes,
                writers: p.writers,
            })
        })
        .collect()
}
