//! The array kernels every Tessera process has: fused elementwise programs, reduction
//! partials and combines, slicing, assembling and permuting chunks, and in-memory chunks.
//!
//! Installed into the kernel registry by [`install`], next to the runtime's built-ins. This
//! module only adapts kernel signatures; the work happens in the modules it calls.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::array::block::{with_slice, Slice};
use crate::array::chunk::{decode_chunk, decode_header, ChunkWriter};
use crate::array::error::ArrayError;
use crate::array::lower::FusedArgs;
use crate::array::pod::AlignedBuf;
use crate::array::program::{Evaluator, BLOCK_ELEMS};
use crate::array::{
    index, linalg, overlap, quantile, reduce, reshape, scan, shape_ops, sort, take,
};
use crate::runtime::kernel::{Kernel, KernelContext, KernelError};

/// Kernel names of the array layer.
pub mod names {
    /// An in-memory chunk (argument bytes, copied into aligned memory).
    pub const CHUNK: &str = "tessera.array.chunk";
    /// A fused elementwise program over one output chunk.
    pub const FUSED: &str = "tessera.array.fused";
    /// A reduction partial of one input chunk.
    pub const REDUCE_PARTIAL: &str = "tessera.array.reduce-partial";
    /// Merging reduction partials (and producing the output chunk at the root).
    pub const REDUCE_COMBINE: &str = "tessera.array.reduce-combine";
    /// Basic indexing of one chunk.
    pub const SLICE: &str = "tessera.array.slice";
    /// An output chunk assembled from pieces of input chunks.
    pub const ASSEMBLE: &str = "tessera.array.assemble";
    /// Axes of a chunk permuted, added, removed or broadcast.
    pub const PERMUTE: &str = "tessera.array.permute";
    /// Positions along one axis gathered from input chunks.
    pub const TAKE: &str = "tessera.array.take";
    /// An output chunk copied from flat ranges of input chunks (reshape).
    pub const FLAT_ASSEMBLE: &str = "tessera.array.flat-assemble";
    /// A cumulative scan of one chunk, or a carry between chunks.
    pub const SCAN: &str = "tessera.array.scan";
    /// A matrix block product, or a sum of block products.
    pub const MATMUL: &str = "tessera.array.matmul";
    /// A chunk extended with elements of its neighbours.
    pub const OVERLAP: &str = "tessera.array.overlap";
    /// Every lane of a chunk sorted along one axis (or its sorting positions).
    pub const SORT: &str = "tessera.array.sort";
    /// Quantiles of every lane of a chunk along one axis.
    pub const QUANTILE: &str = "tessera.array.quantile";
}

fn fused(args: &[u8], inputs: &[Bytes]) -> Result<Bytes, ArrayError> {
    let args: FusedArgs = postcard::from_bytes(args)
        .map_err(|e| ArrayError::Decode(format!("fused arguments: {e}")))?;
    let views = inputs
        .iter()
        .map(|b| decode_chunk(b))
        .collect::<Result<Vec<_>, _>>()?;
    let slices: Vec<Slice<'_>> = views.iter().map(|v| Slice::of_values(&v.values)).collect();
    let dtype = args
        .program
        .dtype()
        .ok_or_else(|| ArrayError::Compute("empty program".into()))?;
    let mut ev = Evaluator::new(&args.program, &args.shape, &args.maps, slices)
        .map_err(ArrayError::Compute)?;
    let mut w = ChunkWriter::new(dtype, &args.shape)?;
    let total = ev.total();
    let mut p = 0;
    while p < total {
        let n = BLOCK_ELEMS.min(total - p);
        let vals = ev.eval(p, n).map_err(ArrayError::Compute)?;
        with_slice!(vals, s => w.write(p, s))?;
        p += n;
    }
    Ok(w.finish())
}

fn chunk(args: &[u8]) -> Result<Bytes, ArrayError> {
    let (_, _, total) = decode_header(args)?;
    if total != args.len() {
        return Err(ArrayError::Decode(format!(
            "chunk of {} bytes, header says {total}",
            args.len()
        )));
    }
    let mut buf = AlignedBuf::zeroed(args.len());
    buf.as_bytes_mut().copy_from_slice(args);
    Ok(buf.freeze())
}

fn adapt(f: fn(&[u8], &[Bytes]) -> Result<Bytes, ArrayError>) -> Kernel {
    Arc::new(move |ctx: &KernelContext<'_>, inputs: &[Bytes]| {
        f(ctx.args, inputs).map_err(|e| KernelError::new(format!("{}: {e}", ctx.key)))
    })
}

/// Adds the array kernels to a kernel registry map.
pub(crate) fn install(map: &mut HashMap<String, Kernel>) {
    map.insert(names::CHUNK.into(), adapt(|a, _| chunk(a)));
    map.insert(names::FUSED.into(), adapt(fused));
    map.insert(names::REDUCE_PARTIAL.into(), adapt(reduce::partial_kernel));
    map.insert(names::REDUCE_COMBINE.into(), adapt(reduce::combine_kernel));
    map.insert(names::SLICE.into(), adapt(index::slice_kernel));
    map.insert(names::ASSEMBLE.into(), adapt(shape_ops::assemble_kernel));
    map.insert(names::PERMUTE.into(), adapt(shape_ops::permute_kernel));
    map.insert(names::TAKE.into(), adapt(take::take_kernel));
    map.insert(
        names::FLAT_ASSEMBLE.into(),
        adapt(reshape::flat_assemble_kernel),
    );
    map.insert(names::SCAN.into(), adapt(scan::scan_kernel));
    map.insert(names::MATMUL.into(), adapt(linalg::matmul_kernel));
    map.insert(names::OVERLAP.into(), adapt(overlap::overlap_kernel));
    map.insert(names::QUANTILE.into(), adapt(quantile::quantile_kernel));
    map.insert(names::SORT.into(), adapt(sort::sort_kernel));
}
