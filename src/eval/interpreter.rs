//! The tree walker: evaluates a validated [`Program`] binding by binding into [`Value`]s,
//! dispatching calls to the catalogue functions, operators to [`super::operators`], indexing
//! to [`super::indexing`] and attributes (`x.T`, `x.shape`, ...) here.
//!
//! Arrays stay lazy: evaluating builds the graph, computing it is the caller's business. The
//! recursion is bounded by the parser's nesting limits. This module must not print or
//! compute arrays (except index arrays, through the [`Materialise`] function).

use std::collections::HashMap;

use crate::array::{Array, Scalar};
use crate::expr::functions::Category;
use crate::expr::{
    lookup_function, CallArgs, ErrorKind, Expr, ExprError, ExprKind, Ident, IndexItem, Program,
    Span,
};

use super::bind::BoundArgs;
use super::convert::Spanned;
use super::creation_calls::call_creation;
use super::elementwise_calls::call_elementwise;
use super::indexing::{apply_index, ItemValue, Materialise};
use super::label_calls::{call_labels, labeled_attribute, unknown_attribute};
use super::labels;
use super::operators::{apply_binary, apply_unary, operator_span};
use super::reduction_calls::call_reduction;
use super::shape_calls::call_shape;
use super::value::Value;

/// Evaluates programs against a set of bound names.
///
/// ```
/// use tessera::eval::{Evaluator, Value};
/// use tessera::expr::parse_program;
///
/// let src = "x = ones((4, 6), chunks=2); (x * 2).sum(axis=0)";
/// let program = parse_program(src)?;
/// let Value::Array(a) = Evaluator::new(src).run(&program)? else { panic!() };
/// assert_eq!(a.shape(), &[6]);
/// assert_eq!(a.compute_local().unwrap().to_f64_vec(), vec![8.0; 6]);
/// # Ok::<(), tessera::expr::ExprError>(())
/// ```
pub struct Evaluator<'a> {
    src: &'a str,
    names: HashMap<String, Value>,
    materialise: Box<Materialise<'a>>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator for programs parsed from `src` (used to place carets). Index arrays are
    /// computed in this process unless [`Evaluator::with_materialise`] says otherwise.
    pub fn new(src: &'a str) -> Evaluator<'a> {
        Evaluator {
            src,
            names: HashMap::new(),
            materialise: Box::new(|a: &Array| a.compute_local()),
        }
    }

    /// Compute index arrays and masks with `materialise` (e.g. on a cluster).
    pub fn with_materialise(
        mut self,
        materialise: impl Fn(&Array) -> Result<crate::array::ArrayData, crate::array::ArrayError> + 'a,
    ) -> Evaluator<'a> {
        self.materialise = Box::new(materialise);
        self
    }

    /// Bind `name` before the program runs (an input given by the caller).
    pub fn bind(&mut self, name: impl Into<String>, value: Value) {
        self.names.insert(name.into(), value);
    }

    /// Evaluate the bindings in order, then the result. Errors carry the source, so
    /// `err.to_string()` is the rendered diagnostic.
    pub fn run(&mut self, program: &Program) -> Result<Value, ExprError> {
        self.run_inner(program).map_err(|e| e.with_source(self.src))
    }

    fn run_inner(&mut self, program: &Program) -> Result<Value, ExprError> {
        for binding in &program.bindings {
            let value = self.eval(&binding.value)?;
            self.names.insert(binding.name.name.clone(), value);
        }
        self.eval(&program.result)
    }

    fn eval(&self, expr: &Expr) -> Result<Value, ExprError> {
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Scalar(Scalar::Int(*i))),
            ExprKind::Float(x) => Ok(Value::Scalar(Scalar::Float(*x))),
            ExprKind::Bool(b) => Ok(Value::Scalar(Scalar::Bool(*b))),
            ExprKind::Str(s) => Ok(Value::Str(s.clone())),
            ExprKind::None => Ok(Value::None),
            ExprKind::Name(name) => self.lookup(name, expr.span),
            ExprKind::Tuple(items) | ExprKind::List(items) => items
                .iter()
                .map(|e| self.eval(e))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Tuple),
            ExprKind::Unary { op, operand } => {
                let value = self.spanned(operand)?;
                apply_unary(*op, &value, expr.span)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.spanned(lhs)?, self.spanned(rhs)?);
                apply_binary(*op, &l, &r, operator_span(self.src, lhs.span, rhs.span))
            }
            ExprKind::Call { function, args } => self.call(function, None, args, expr.span),
            ExprKind::MethodCall {
                receiver,
                method,
                args,
            } => {
                let receiver = self.spanned(receiver)?;
                self.call(method, Some(receiver), args, expr.span)
            }
            ExprKind::Attribute { value, attr } => {
                let value = self.spanned(value)?;
                attribute(&value, attr)
            }
            ExprKind::Index { value, items } => {
                let target = self.spanned(value)?;
                let items = items
                    .iter()
                    .map(|item| self.index_item(item))
                    .collect::<Result<Vec<_>, _>>()?;
                apply_index(&target, &items, expr.span, self.materialise.as_ref())
            }
        }
    }

    fn spanned(&self, expr: &Expr) -> Result<Spanned, ExprError> {
        Ok(Spanned {
            value: self.eval(expr)?,
            span: expr.span,
        })
    }

    fn lookup(&self, name: &str, span: Span) -> Result<Value, ExprError> {
        if let (None, Some(c)) = (self.names.get(name), crate::expr::constant(name)) {
            return Ok(Value::Scalar(crate::array::Scalar::Float(c)));
        }
        self.names.get(name).cloned().ok_or_else(|| {
            ExprError::new(
                ErrorKind::UnknownName,
                span,
                format!("unknown name \"{name}\""),
            )
            .with_label("not bound")
        })
    }

    fn index_item(&self, item: &IndexItem) -> Result<ItemValue, ExprError> {
        Ok(match item {
            IndexItem::Expr(e) => ItemValue::Value(self.spanned(e)?),
            IndexItem::Ellipsis(span) => ItemValue::Ellipsis(*span),
            IndexItem::Slice {
                start,
                stop,
                step,
                span,
            } => {
                let part = |p: &Option<Box<Expr>>| -> Result<Option<Spanned>, ExprError> {
                    p.as_deref().map(|e| self.spanned(e)).transpose()
                };
                ItemValue::Slice {
                    start: part(start)?,
                    stop: part(stop)?,
                    step: part(step)?,
                    span: *span,
                }
            }
        })
    }

    fn call(
        &self,
        function: &Ident,
        receiver: Option<Spanned>,
        args: &CallArgs,
        span: Span,
    ) -> Result<Value, ExprError> {
        let Some(spec) = lookup_function(&function.name) else {
            return Err(ExprError::new(
                ErrorKind::UnknownFunction,
                function.span,
                format!("unknown function \"{}\"", function.name),
            ));
        };
        let mut positional = Vec::with_capacity(args.positional.len() + 1);
        positional.extend(receiver);
        for arg in &args.positional {
            positional.push(self.spanned(arg)?);
        }
        let keywords = args
            .keywords
            .iter()
            .map(|k| Ok((k.name.name.clone(), self.spanned(&k.value)?)))
            .collect::<Result<Vec<_>, ExprError>>()?;
        let bound = BoundArgs::bind(spec, positional, keywords, span)?;
        match spec.category {
            Category::Creation | Category::Input => call_creation(&bound),
            Category::Elementwise => call_elementwise(&bound),
            Category::Reduction => call_reduction(&bound),
            Category::Shape => call_shape(&bound),
            Category::Labels => call_labels(&bound),
        }
    }
}

/// `value.attr` for the attributes of the catalogue.
fn attribute(value: &Spanned, attr: &Ident) -> Result<Value, ExprError> {
    let int = |n: usize| Value::Scalar(Scalar::Int(n as i64));
    let ints = |v: &[usize]| Value::Tuple(v.iter().map(|&n| int(n)).collect());
    if let Some(l) = value.value.labels() {
        if let Some(result) = labeled_attribute(l, attr) {
            return result;
        }
    }
    if let Some(a) = value.value.array() {
        return Ok(match attr.name.as_str() {
            "T" => {
                let reversed: Vec<usize> = (0..a.ndim()).rev().collect();
                labels::permute(a.t(), &value.value, &reversed)
            }
            "shape" => ints(a.shape()),
            "dtype" => Value::Str(a.dtype().name().to_string()),
            "ndim" => int(a.ndim()),
            "size" => int(a.size()),
            "chunks" => Value::Tuple(a.chunks().all_blocks().iter().map(|b| ints(b)).collect()),
            other => return Err(unknown_attribute(other, attr.span, value.value.labels())),
        });
    }
    match &value.value {
        Value::Scalar(s) => Ok(match attr.name.as_str() {
            "T" => value.value.clone(),
            "shape" | "chunks" => Value::Tuple(Vec::new()),
            "dtype" => Value::Str(s.default_dtype().name().to_string()),
            "ndim" => int(0),
            "size" => int(1),
            other => return Err(unknown_attribute(other, attr.span, None)),
        }),
        other => Err(ExprError::new(
            ErrorKind::Type,
            attr.span,
            format!("{} has no attribute \"{}\"", other.describe(), attr.name),
        )
        .with_label("attributes belong to arrays")),
    }
}
