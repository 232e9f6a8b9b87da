//! Creating arrays: constants, ranges, identity matrices, seeded random numbers, in-memory
//! ndarrays, and registered generator kernels.
//!
//! Generated values are pure functions of the element's global position, so they never depend
//! on the chunking or on how many workers compute them. This module must not compute values.

use std::sync::Arc;

use bytes::Bytes;
use ndarray::{ArrayD, ArrayViewD, Slice as NdSlice};

use crate::array::array::Array;
use crate::array::chunk::encode_view;
use crate::array::data::{ArrayData, Element};
use crate::array::dtype::{DType, Scalar};
use crate::array::error::ArrayError;
use crate::array::grid::ChunkSpec;
use crate::array::node::{Node, Op};
use crate::array::program::Generator;

fn generated(
    gen: Generator,
    dtype: DType,
    shape: &[usize],
    chunks: ChunkSpec,
) -> Result<Array, ArrayError> {
    let grid = chunks.resolve(shape, dtype)?;
    Ok(Array::from_node(Node::new(
        Op::Generate(gen),
        dtype,
        shape.to_vec(),
        grid,
    )))
}

impl Array {
    /// An array of `shape` filled with `value` converted to `dtype`.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::full(&[3], 2.5, DType::F32, 2).unwrap();
    /// assert_eq!(a.compute_local_as::<f32>().unwrap().as_slice().unwrap(), &[2.5, 2.5, 2.5]);
    /// ```
    pub fn full(
        shape: &[usize],
        value: impl Into<Scalar>,
        dtype: DType,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        generated(Generator::Full(value.into()), dtype, shape, chunks.into())
    }

    /// An array of zeros.
    pub fn zeros(
        shape: &[usize],
        dtype: DType,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        Array::full(shape, Scalar::Int(0), dtype, chunks)
    }

    /// An array of ones.
    pub fn ones(
        shape: &[usize],
        dtype: DType,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        Array::full(shape, Scalar::Int(1), dtype, chunks)
    }

    /// A 0-d array holding one value (dtype from the value: bool, int64 or float64).
    pub fn scalar(value: impl Into<Scalar>) -> Array {
        let v = value.into();
        let node = Node::new(
            Op::Generate(Generator::Full(v)),
            v.default_dtype(),
            vec![],
            crate::array::ChunkGrid::single(&[]),
        );
        Array::from_node(node)
    }

    /// Values `start, start + step, ...` below `stop` (above, for a negative step), NumPy's
    /// `arange`; exact for integer dtypes when `start` and `step` are integers.
    ///
    /// ```
    /// use tessera::array::{Array, DType};
    /// let a = Array::arange(0, 10, 3, DType::I64, 2).unwrap();
    /// assert_eq!(a.compute_local_as::<i64>().unwrap().as_slice().unwrap(), &[0, 3, 6, 9]);
    /// ```
    pub fn arange(
        start: impl Into<Scalar>,
        stop: impl Into<Scalar>,
        step: impl Into<Scalar>,
        dtype: DType,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        let (start, stop, mut step) = (start.into(), stop.into(), step.into());
        let len = match (start, stop, step) {
            (Scalar::Int(a), Scalar::Int(b), Scalar::Int(s)) => {
                if s == 0 {
                    return Err(ArrayError::InvalidParameter {
                        name: "step",
                        reason: "0".into(),
                    });
                }
                let span = i128::from(b) - i128::from(a);
                let s = i128::from(s);
                let n = (span + s - s.signum()) / s;
                usize::try_from(n.max(0)).map_err(|_| ArrayError::SizeOverflow {
                    what: "arange length",
                    detail: format!("{n} values"),
                })?
            }
            _ => {
                let (a, b, s) = (start.as_f64(), stop.as_f64(), step.as_f64());
                if s == 0.0 || !s.is_finite() || !a.is_finite() || !b.is_finite() {
                    return Err(ArrayError::InvalidParameter {
                        name: "arange",
                        reason: format!("start {a}, stop {b}, step {s}"),
                    });
                }
                // NumPy fills `start + i * delta` with `delta = (start + step) - start`,
                // the step as the first two values see it (it can differ by an ulp).
                step = Scalar::Float((a + s) - a);
                let n = ((b - a) / s).ceil().max(0.0);
                if n >= usize::MAX as f64 {
                    return Err(ArrayError::SizeOverflow {
                        what: "arange length",
                        detail: format!("start {a}, stop {b}, step {s}"),
                    });
                }
                n as usize
            }
        };
        generated(
            Generator::Arange { start, step },
            dtype,
            &[len],
            chunks.into(),
        )
    }

    /// `num` evenly spaced float64 values from `start` to `stop` (NumPy's `linspace`).
    pub fn linspace(
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        generated(
            Generator::Linspace {
                start,
                stop,
                num: num as u64,
                endpoint,
            },
            DType::F64,
            &[num],
            chunks.into(),
        )
    }

    /// An `n × m` matrix with ones on the `k`-th diagonal.
    pub fn eye(
        n: usize,
        m: usize,
        k: i64,
        dtype: DType,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        generated(
            Generator::Eye { k, ncols: m as u64 },
            dtype,
            &[n, m],
            chunks.into(),
        )
    }

    /// Uniform random float64 values on `[low, high)`. Element `i` (row-major flat index) of
    /// the stream `seed` has the same value whatever the chunking.
    pub fn random_uniform(
        shape: &[usize],
        seed: u64,
        low: f64,
        high: f64,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        generated(
            Generator::Uniform { seed, low, high },
            DType::F64,
            shape,
            chunks.into(),
        )
    }

    /// Normal random float64 values. Chunking-independent like [`Array::random_uniform`].
    pub fn random_normal(
        shape: &[usize],
        seed: u64,
        mean: f64,
        std: f64,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        generated(
            Generator::Normal { seed, mean, std },
            DType::F64,
            shape,
            chunks.into(),
        )
    }

    /// An array from in-memory data; every chunk becomes a constant task.
    ///
    /// ```
    /// use tessera::array::Array;
    /// let x = ndarray::Array::from_shape_fn((4, 4), |(i, j)| (i * 4 + j) as i32).into_dyn();
    /// let a = Array::from_ndarray(&x, 2).unwrap();
    /// assert_eq!(a.compute_local_as::<i32>().unwrap(), x);
    /// ```
    pub fn from_ndarray<T: Element>(
        data: &ArrayD<T>,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        from_view(data.view(), chunks.into())
    }

    /// An array from untyped in-memory data.
    pub fn from_data(data: &ArrayData, chunks: impl Into<ChunkSpec>) -> Result<Array, ArrayError> {
        let spec = chunks.into();
        crate::with_array_data!(data, a => from_view(a.view(), spec))
    }

    /// An array whose chunks are made by the registered kernel `kernel`. The kernel receives
    /// [`BlockArgs`](crate::array::BlockArgs) (your `args`, the block index, origin and shape)
    /// and must return an encoded chunk of that shape and `dtype`.
    pub fn from_kernel(
        kernel: &str,
        args: impl Into<Bytes>,
        shape: &[usize],
        dtype: DType,
        chunks: impl Into<ChunkSpec>,
    ) -> Result<Array, ArrayError> {
        let grid = chunks.into().resolve(shape, dtype)?;
        Ok(Array::from_node(Node::new(
            Op::Kernel {
                name: kernel.to_string(),
                args: args.into(),
            },
            dtype,
            shape.to_vec(),
            grid,
        )))
    }
}

fn from_view<T: Element>(data: ArrayViewD<'_, T>, spec: ChunkSpec) -> Result<Array, ArrayError> {
    let shape = data.shape().to_vec();
    let grid = spec.resolve(&shape, T::DTYPE)?;
    let mut chunks = Vec::with_capacity(grid.num_chunks());
    for idx in grid.chunk_indices() {
        let origin = grid.chunk_origin(&idx);
        let cs = grid.chunk_shape(&idx);
        let part = data.slice_each_axis(|ax| {
            let a = ax.axis.index();
            NdSlice::from(origin[a]..origin[a] + cs[a])
        });
        chunks.push(encode_view(&part)?);
    }
    Ok(Array::from_node(Node::new(
        Op::Chunks(Arc::new(chunks)),
        T::DTYPE,
        shape,
        grid,
    )))
}
