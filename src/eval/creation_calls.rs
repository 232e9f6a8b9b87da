//! The creation functions of the language (`zeros`, `ones`, `full`, `arange`, `linspace`,
//! `eye`, `random`, `uniform`, `randn`, `normal`) and the file readers (`h5`, `nc`: lazy
//! arrays read by the workers, labeled with the file's dimension names, coordinates and
//! attributes; feature `io`).
//!
//! Defaults: dtype float64 (int64 for integer `arange`/`full`), chunks `"auto"` (about
//! 128 MiB per chunk), seed 0. This module must not compute arrays.

use crate::array::{Array, ArrayError, ChunkSpec, DType, Scalar};
use crate::expr::{ErrorKind, ExprError};

use super::bind::BoundArgs;
use super::failure::array_error;
use super::value::Value;

/// Call the creation or input function bound in `args`.
pub fn call_creation(args: &BoundArgs) -> Result<Value, ExprError> {
    let built = match args.function() {
        "zeros" | "ones" => filled(args)?,
        "full" => full(args)?,
        "arange" => arange(args)?,
        "linspace" => linspace(args)?,
        "logspace" => logspace(args)?,
        "eye" => eye(args)?,
        "random" | "uniform" | "randn" | "normal" => random(args)?,
        "h5" | "nc" => return read_file(args),
        "zeros_like" | "ones_like" | "full_like" => {
            return super::manipulation_calls::call_manipulation(args)
        }
        other => {
            return Err(ExprError::new(
                ErrorKind::UnknownFunction,
                args.span(),
                format!("{other}() is not a creation function"),
            ))
        }
    };
    built
        .map(Value::Array)
        .map_err(|e| array_error(e, args.span(), &args.operation()))
}

/// `h5(path, dataset)` / `nc(path, variable)` (`"group/sub/var"` in a NetCDF-4 group): a
/// lazy labeled array read by the workers.
#[cfg(feature = "io")]
fn read_file(args: &BoundArgs) -> Result<Value, ExprError> {
    let path = args
        .required("path")?
        .to_str(&args.what("path"))?
        .to_string();
    let name_param = if args.function() == "h5" {
        "dataset"
    } else {
        "variable"
    };
    let name = args
        .required(name_param)?
        .to_str(&args.what(name_param))?
        .to_string();
    let mut opts = crate::io::ReadOptions::new();
    if let Some(c) = args.get("chunks") {
        // The rank is only known from the file: "auto", one size and explicit sizes all work.
        opts = opts.chunks(c.to_chunks(&args.what("chunks"), usize::MAX)?);
    }
    if let Some(raw) = args.get("raw") {
        if raw.to_bool(&args.what("raw"))? {
            opts = opts.raw();
        }
    }
    if let Some(dim) = args.get("concat_dim") {
        opts = opts.concat_dim(dim.to_str(&args.what("concat_dim"))?);
    }
    let read = if args.function() == "h5" {
        crate::io::from_hdf5_with(&path, &name, &opts)
    } else {
        crate::io::from_netcdf_with(&path, &name, &opts)
    };
    read.map(super::labels::wrap).map_err(|e| {
        use crate::io::IoError;
        // A file that cannot be opened is not a mistake in the program: one line naming it.
        let kind = match e {
            IoError::NotFound { .. }
            | IoError::PermissionDenied { .. }
            | IoError::Open { .. }
            | IoError::NoFiles { .. } => ErrorKind::InputFile,
            _ => ErrorKind::Value,
        };
        ExprError::new(kind, args.span(), format!("{}: {e}", args.operation()))
    })
}

#[cfg(not(feature = "io"))]
fn read_file(args: &BoundArgs) -> Result<Value, ExprError> {
    Err(ExprError::new(
        ErrorKind::Unsupported,
        args.span(),
        format!(
            "{} needs a tessera built with the `io` feature",
            args.operation()
        ),
    ))
}

fn chunks(args: &BoundArgs, ndim: usize) -> Result<ChunkSpec, ExprError> {
    match args.get("chunks") {
        Some(c) => c.to_chunks(&args.what("chunks"), ndim),
        None => Ok(ChunkSpec::Auto),
    }
}

fn dtype_or(args: &BoundArgs, default: DType) -> Result<DType, ExprError> {
    match args.get("dtype") {
        Some(d) => d.to_dtype(&args.what("dtype")),
        None => Ok(default),
    }
}

fn shape(args: &BoundArgs) -> Result<Vec<usize>, ExprError> {
    args.required("shape")?.to_shape(&args.what("shape"))
}

fn filled(args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let shape = shape(args)?;
    let dtype = dtype_or(args, DType::F64)?;
    let chunks = chunks(args, shape.len())?;
    Ok(if args.function() == "zeros" {
        Array::zeros(&shape, dtype, chunks)
    } else {
        Array::ones(&shape, dtype, chunks)
    })
}

fn full(args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let shape = shape(args)?;
    let value = args
        .required("fill_value")?
        .to_scalar(&args.what("fill_value"))?;
    let dtype = dtype_or(args, value.default_dtype())?;
    let chunks = chunks(args, shape.len())?;
    Ok(Array::full(&shape, value, dtype, chunks))
}

fn arange(args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let first = args.required("start")?.to_scalar(&args.what("start"))?;
    let (start, stop) = match args.get("stop") {
        Some(stop) => (first, stop.to_scalar(&args.what("stop"))?),
        None => (Scalar::Int(0), first),
    };
    let step = match args.get("step") {
        Some(s) => s.to_scalar(&args.what("step"))?,
        None => Scalar::Int(1),
    };
    let all_int = [start, stop, step]
        .iter()
        .all(|s| matches!(s, Scalar::Int(_)));
    let dtype = dtype_or(args, if all_int { DType::I64 } else { DType::F64 })?;
    let chunks = chunks(args, 1)?;
    Ok(Array::arange(start, stop, step, dtype, chunks))
}

fn linspace(args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let start = args.required("start")?.to_f64(&args.what("start"))?;
    let stop = args.required("stop")?.to_f64(&args.what("stop"))?;
    let num = match args.get("num") {
        Some(n) => n.to_usize(&args.what("num"))?,
        None => 50,
    };
    let endpoint = match args.get("endpoint") {
        Some(e) => e.to_bool(&args.what("endpoint"))?,
        None => true,
    };
    let dtype = dtype_or(args, DType::F64)?;
    let chunks = chunks(args, 1)?;
    Ok(Array::linspace(start, stop, num, endpoint, chunks).map(|a| a.astype(dtype)))
}

/// `logspace(start, stop, num, endpoint, base)`: `base ** linspace(start, stop, ...)`.
fn logspace(args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let lin = linspace(args)?;
    let base = match args.get("base") {
        Some(b) => b.to_f64(&args.what("base"))?,
        None => 10.0,
    };
    Ok(lin.and_then(|y| Array::scalar(base).pow(&y)))
}

fn eye(args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let n = args.required("n")?.to_usize(&args.what("n"))?;
    let m = match args.get("m") {
        Some(m) => m.to_usize(&args.what("m"))?,
        None => n,
    };
    let k = match args.get("k") {
        Some(k) => k.to_i64(&args.what("k"))?,
        None => 0,
    };
    let dtype = dtype_or(args, DType::F64)?;
    let chunks = chunks(args, 2)?;
    Ok(Array::eye(n, m, k, dtype, chunks))
}

fn random(args: &BoundArgs) -> Result<Result<Array, ArrayError>, ExprError> {
    let shape = shape(args)?;
    let seed = match args.get("seed") {
        Some(s) => {
            let seed = s.to_i64(&args.what("seed"))?;
            u64::try_from(seed).map_err(|_| {
                s.value_error(format!(
                    "{} must not be negative, got {seed}",
                    args.what("seed")
                ))
            })?
        }
        None => 0,
    };
    let chunks = chunks(args, shape.len())?;
    let number =
        |name: &str| -> Result<f64, ExprError> { args.required(name)?.to_f64(&args.what(name)) };
    Ok(match args.function() {
        "random" => Array::random_uniform(&shape, seed, 0.0, 1.0, chunks),
        "uniform" => Array::random_uniform(&shape, seed, number("low")?, number("high")?, chunks),
        "randn" => Array::random_normal(&shape, seed, 0.0, 1.0, chunks),
        _ => Array::random_normal(&shape, seed, number("loc")?, number("scale")?, chunks),
    })
}
