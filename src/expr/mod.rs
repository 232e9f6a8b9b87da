//! The `tessera eval` expression language, front end: text to a validated syntax tree.
//!
//! A program is a few `name = expr` bindings and a final expression, NumPy-flavoured:
//!
//! ```
//! use tessera::expr::parse_program;
//!
//! let program = parse_program(
//!     "t = h5('era5.h5', '/t2m')\n\
//!      anomaly = t - t.mean(axis=0, keepdims=true)\n\
//!      anomaly[:, ::2].std(axis=(1, 2))",
//! )?;
//! assert_eq!(program.bindings.len(), 2);
//! # Ok::<(), tessera::expr::ExprError>(())
//! ```
//!
//! Mistakes come back as one [`ExprError`] whose `Display` shows the source line with a caret
//! and, where something close exists, a "did you mean" suggestion:
//!
//! ```
//! let err = tessera::expr::parse_program("sume(1)").unwrap_err();
//! assert!(err.to_string().starts_with("error: unknown function \"sume\"; did you mean \"sum\"?"));
//! ```
//!
//! Pipeline: [`lexer`] → [`parser`] (syntax only) → [`validate`] (names, functions, arities
//! against the [`functions`] catalogue). [`pretty`] prints trees back to source. The grammar
//! is documented in `docs/eval.md`. Evaluating a program against arrays lives elsewhere; this
//! module must not touch files or arrays.

pub mod ast;
pub mod diagnostic;
pub mod functions;
mod functions_labeled;
pub mod lexer;
pub mod parser;
pub mod pretty;
pub mod suggest;
pub mod validate;

#[cfg(test)]
mod error_message_tests;
#[cfg(test)]
mod parser_tests;
#[cfg(test)]
mod roundtrip_tests;

pub use ast::{
    BinaryOp, Binding, CallArgs, Expr, ExprKind, Ident, IndexItem, KeywordArg, Program, Span,
    UnaryOp,
};
pub use diagnostic::{ErrorKind, ExprError};
pub use functions::{
    lookup_attribute, lookup_function, AttributeSpec, Category, FunctionSpec, Param, ATTRIBUTES,
    FUNCTIONS, LABEL_ATTRIBUTES, LABEL_FUNCTIONS,
};
pub use parser::parse_syntax;
pub use validate::validate_program;

/// Parse and validate a program in which no names are bound in advance.
///
/// Errors carry `src`, so `err.to_string()` is the full rendered diagnostic.
pub fn parse_program(src: &str) -> Result<Program, ExprError> {
    parse_program_with(src, &[])
}

/// Parse and validate a program in which `predefined` names (inputs bound by the caller, e.g.
/// from the command line) may be used without a binding.
pub fn parse_program_with(src: &str, predefined: &[&str]) -> Result<Program, ExprError> {
    let program = parse_syntax(src).map_err(|e| e.with_source(src))?;
    validate_program(&program, predefined, src).map_err(|e| e.with_source(src))?;
    Ok(program)
}

/// The value of a predefined constant name (`pi`, `e`, as NumPy's `np.pi`, `np.e`); a
/// program may bind the name to something else.
pub fn constant(name: &str) -> Option<f64> {
    match name {
        "pi" => Some(std::f64::consts::PI),
        "e" => Some(std::f64::consts::E),
        _ => None,
    }
}
