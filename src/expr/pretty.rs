//! Pretty-printing: `Display` for [`Program`] and [`Expr`] that writes source text which parses
//! back to the same tree (spans aside), adding only the parentheses precedence requires.
//!
//! `x > 0 and not (y < 1)` prints as `x > 0 & ~(y < 1)`: `and`/`or`/`not` print as their
//! symbols. Programs print one statement per line. This module must not change meaning; the
//! round-trip property test in `roundtrip_tests` holds it to that.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{BinaryOp, CallArgs, Expr, ExprKind, IndexItem, Precedence, Program};

impl Display for Program {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for binding in &self.bindings {
            writeln!(f, "{} = {}", binding.name.name, binding.value)?;
        }
        write!(f, "{}", self.result)
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 0)
    }
}

/// How tightly `expr` holds together when printed without parentheses.
fn precedence(expr: &Expr) -> u8 {
    match &expr.kind {
        ExprKind::Int(v) if *v < 0 => Precedence::UNARY,
        ExprKind::Float(v) if v.is_sign_negative() && !v.is_nan() => Precedence::UNARY,
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::None
        | ExprKind::Name(_)
        | ExprKind::Tuple(_)
        | ExprKind::List(_) => Precedence::ATOM,
        ExprKind::Unary { .. } => Precedence::UNARY,
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Call { .. }
        | ExprKind::MethodCall { .. }
        | ExprKind::Attribute { .. }
        | ExprKind::Index { .. } => Precedence::POSTFIX,
    }
}

/// Write `expr`, parenthesised if it binds less tightly than `min_precedence`.
fn write_expr(f: &mut Formatter<'_>, expr: &Expr, min_precedence: u8) -> fmt::Result {
    if precedence(expr) < min_precedence {
        f.write_char('(')?;
        write_bare(f, expr)?;
        f.write_char(')')
    } else {
        write_bare(f, expr)
    }
}

/// Write a postfix receiver: numbers are parenthesised so `(1).T` does not lex as `1.` `T`.
fn write_receiver(f: &mut Formatter<'_>, expr: &Expr) -> fmt::Result {
    if matches!(expr.kind, ExprKind::Int(_) | ExprKind::Float(_)) {
        f.write_char('(')?;
        write_bare(f, expr)?;
        f.write_char(')')
    } else {
        write_expr(f, expr, Precedence::POSTFIX)
    }
}

fn write_bare(f: &mut Formatter<'_>, expr: &Expr) -> fmt::Result {
    match &expr.kind {
        ExprKind::Int(v) => write!(f, "{v}"),
        ExprKind::Float(v) => write_float(f, *v),
        ExprKind::Bool(true) => f.write_str("true"),
        ExprKind::Bool(false) => f.write_str("false"),
        ExprKind::Str(s) => write_string(f, s),
        ExprKind::None => f.write_str("None"),
        ExprKind::Name(name) => f.write_str(name),
        ExprKind::Tuple(items) => {
            f.write_char('(')?;
            write_list(f, items)?;
            if items.len() == 1 {
                f.write_char(',')?;
            }
            f.write_char(')')
        }
        ExprKind::List(items) => {
            f.write_char('[')?;
            write_list(f, items)?;
            f.write_char(']')
        }
        ExprKind::Unary { op, operand } => {
            f.write_str(op.symbol())?;
            write_expr(f, operand, Precedence::UNARY)
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let p = op.precedence();
            let (left_min, right_min) = match op {
                BinaryOp::Pow => (Precedence::POSTFIX, Precedence::UNARY),
                op if op.is_comparison() => (p + 1, p + 1),
                _ => (p, p + 1),
            };
            write_expr(f, lhs, left_min)?;
            write!(f, " {} ", op.symbol())?;
            write_expr(f, rhs, right_min)
        }
        ExprKind::Call { function, args } => {
            f.write_str(&function.name)?;
            write_args(f, args)
        }
        ExprKind::MethodCall {
            receiver,
            method,
            args,
        } => {
            write_receiver(f, receiver)?;
            write!(f, ".{}", method.name)?;
            write_args(f, args)
        }
        ExprKind::Attribute { value, attr } => {
            write_receiver(f, value)?;
            write!(f, ".{}", attr.name)
        }
        ExprKind::Index { value, items } => {
            write_receiver(f, value)?;
            f.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_index_item(f, item)?;
            }
            f.write_char(']')
        }
    }
}

fn write_list(f: &mut Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_expr(f, item, 0)?;
    }
    Ok(())
}

fn write_args(f: &mut Formatter<'_>, args: &CallArgs) -> fmt::Result {
    f.write_char('(')?;
    write_list(f, &args.positional)?;
    for (i, keyword) in args.keywords.iter().enumerate() {
        if i > 0 || !args.positional.is_empty() {
            f.write_str(", ")?;
        }
        write!(f, "{}=", keyword.name.name)?;
        write_expr(f, &keyword.value, 0)?;
    }
    f.write_char(')')
}

fn write_index_item(f: &mut Formatter<'_>, item: &IndexItem) -> fmt::Result {
    match item {
        IndexItem::Expr(e) => write_expr(f, e, 0),
        IndexItem::Ellipsis(_) => f.write_str("..."),
        IndexItem::Slice {
            start, stop, step, ..
        } => {
            if let Some(start) = start {
                write_expr(f, start, 0)?;
            }
            f.write_char(':')?;
            if let Some(stop) = stop {
                write_expr(f, stop, 0)?;
            }
            if let Some(step) = step {
                f.write_char(':')?;
                write_expr(f, step, 0)?;
            }
            Ok(())
        }
    }
}

/// Floats always print with a `.` or an exponent so they re-lex as floats.
fn write_float(f: &mut Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_nan() {
        f.write_str("nan")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        // `{:?}` is the shortest text that parses back to the same bits: `1.0`, `1e-7`.
        write!(f, "{v:?}")
    }
}

fn write_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\0' => f.write_str("\\0")?,
            other => f.write_char(other)?,
        }
    }
    f.write_char('"')
}
