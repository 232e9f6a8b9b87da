//! Evaluating `tessera eval` programs: a validated [`Program`](crate::expr::Program) becomes
//! lazy [`Array`](crate::array::Array)s, numbers, strings or tuples ([`Value`]), and a computed
//! result is written out as text, JSON or a NumPy `.npy` file.
//!
//! ```
//! use tessera::eval::{evaluate, Value};
//!
//! let value = evaluate("x = arange(10, chunks=4); x[::3].sum()")?;
//! let Value::Array(total) = value else { panic!("an array") };
//! assert_eq!(total.compute_local().unwrap().to_f64_vec(), vec![18.0]);
//! # Ok::<(), tessera::expr::ExprError>(())
//! ```
//!
//! Pipeline: [`crate::expr`] parses and validates; [`Evaluator`] walks the tree
//! ([`interpreter`]), binding call arguments ([`bind`], [`convert`]) and calling the array API
//! per catalogue category; errors of the array layer become [`ExprError`]s with a caret
//! ([`failure`]). [`render`] and [`npy`] write computed results. This module must not start
//! clusters or print; the CLI (`tessera eval`) does.

pub mod bind;
pub mod convert;
mod creation_calls;
mod elementwise_calls;
pub mod failure;
pub mod indexing;
pub mod interpreter;
mod label_calls;
pub mod labels;
mod manipulation_calls;
pub mod npy;
pub mod operators;
mod reduction_calls;
pub mod render;
mod shape_calls;
mod statistics_calls;
pub mod value;

#[cfg(test)]
mod program_tests;

pub use convert::{parse_dtype, short_dtype_name, Spanned};
pub use indexing::Materialise;
pub use interpreter::Evaluator;
pub use npy::{write_npy, NpyError};
pub use render::{render_human, render_json};
pub use value::{shape_text, Value};

use crate::expr::{parse_program, ExprError};

/// Parse, validate and evaluate `src` with nothing bound in advance; index arrays are
/// computed in this process.
pub fn evaluate(src: &str) -> Result<Value, ExprError> {
    let program = parse_program(src)?;
    Evaluator::new(src).run(&program)
}
