//! The syntax tree of a `tessera eval` program: bindings, expressions, call arguments and index
//! items, every node carrying the byte [`Span`] it came from so errors can point at it.
//!
//! This module is plain data plus a few structural helpers; it must not know the function
//! catalogue, evaluate anything, or decide what is valid beyond what the grammar shapes.

use std::ops::Range;

/// A half-open range of byte offsets `[start, end)` into the program source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The span as a range, for slicing the source.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// A name as written in the source (a binding target, function, keyword or attribute name).
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name itself.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

impl Ident {
    /// An identifier with the given name and span.
    pub fn new(name: impl Into<String>, span: Span) -> Ident {
        Ident {
            name: name.into(),
            span,
        }
    }
}

/// A whole program: bindings evaluated in order, then the result expression.
///
/// `x = h5("a.h5", "/t"); x.mean(axis=0)` has one binding and the result `x.mean(axis=0)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// `name = expr` statements, in source order.
    pub bindings: Vec<Binding>,
    /// The last statement: the value the program computes.
    pub result: Expr,
}

/// One `name = expr` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// The bound name.
    pub name: Ident,
    /// The bound value.
    pub value: Expr,
    /// The whole statement.
    pub span: Span,
}

/// An expression node and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// The source text it was parsed from (for parenthesised expressions, including the
    /// parentheses).
    pub span: Span,
}

impl Expr {
    /// An expression of `kind` covering `span`.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal, `1_000`. Literals are never negative: `-1` is a [`UnaryOp::Neg`].
    Int(i64),
    /// A float literal, `1.5`, `1e-3`, `.5`, `nan`, `inf`.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// A string literal, `"a.h5"` or `'a.h5'`, with escapes resolved.
    Str(String),
    /// `None` (in an index: a new axis).
    None,
    /// A reference to a bound name.
    Name(String),
    /// `(a, b)`, `(a,)`, `()`.
    Tuple(Vec<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `-x`, `+x`, `~x` / `not x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// `lhs op rhs`, including comparisons and `**`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `name(args)`: a call of a catalogue function.
    Call {
        /// The function name.
        function: Ident,
        /// The arguments.
        args: CallArgs,
    },
    /// `receiver.name(args)`: a method call, equivalent to `name(receiver, args)`.
    MethodCall {
        /// The value the method is called on.
        receiver: Box<Expr>,
        /// The method name.
        method: Ident,
        /// The arguments after the receiver.
        args: CallArgs,
    },
    /// `value.name` without a call: `x.T`, `x.shape`.
    Attribute {
        /// The value whose attribute is read.
        value: Box<Expr>,
        /// The attribute name.
        attr: Ident,
    },
    /// `value[items]`.
    Index {
        /// The indexed value.
        value: Box<Expr>,
        /// The comma-separated index items (never empty).
        items: Vec<IndexItem>,
    },
}

/// The arguments of a call: positional ones first, then keywords.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallArgs {
    /// Positional arguments in order.
    pub positional: Vec<Expr>,
    /// `name=value` arguments in order (names are distinct).
    pub keywords: Vec<KeywordArg>,
}

/// One `name=value` argument.
#[derive(Clone, Debug, PartialEq)]
pub struct KeywordArg {
    /// The parameter name.
    pub name: Ident,
    /// The value.
    pub value: Expr,
}

/// One item between the brackets of an index.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexItem {
    /// An expression: an integer, `None` (new axis), an integer array or a boolean mask.
    Expr(Expr),
    /// `start:stop:step`, each part optional.
    Slice {
        /// The start, if written.
        start: Option<Box<Expr>>,
        /// The stop, if written.
        stop: Option<Box<Expr>>,
        /// The step, if written.
        step: Option<Box<Expr>>,
        /// The whole slice.
        span: Span,
    },
    /// `...`: as many full slices as needed.
    Ellipsis(Span),
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Pos,
    /// `not x`: logical not (NumPy's `logical_not`: true where x is false or zero).
    Not,
    /// `~x`: bitwise not on integers, logical on bool (NumPy's `invert`).
    Invert,
}

/// Infix operators, from loosest to tightest binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `|` or `or`.
    Or,
    /// `&` or `and`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `//`.
    FloorDiv,
    /// `%`.
    Mod,
    /// `@`.
    MatMul,
    /// `**`.
    Pow,
}

/// Binding strength of infix operators (higher binds tighter). Unary operators sit at
/// [`Precedence::UNARY`], between `*` and `**`.
pub struct Precedence;

impl Precedence {
    /// `|`, `or`.
    pub const OR: u8 = 1;
    /// `&`, `and`.
    pub const AND: u8 = 2;
    /// `< <= > >= == !=` (not chainable).
    pub const COMPARE: u8 = 3;
    /// `+ -`.
    pub const ADD: u8 = 4;
    /// `* / // % @`.
    pub const MUL: u8 = 5;
    /// Prefix `- + ~ not`.
    pub const UNARY: u8 = 6;
    /// `**` (right-associative).
    pub const POWER: u8 = 7;
    /// Calls, attributes, indexing.
    pub const POSTFIX: u8 = 8;
    /// Literals, names, parenthesised groups.
    pub const ATOM: u8 = 9;
}

impl BinaryOp {
    /// The operator as the pretty-printer writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "|",
            BinaryOp::And => "&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::FloorDiv => "//",
            BinaryOp::Mod => "%",
            BinaryOp::MatMul => "@",
            BinaryOp::Pow => "**",
        }
    }

    /// How tightly the operator binds (see [`Precedence`]).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => Precedence::OR,
            BinaryOp::And => Precedence::AND,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => Precedence::COMPARE,
            BinaryOp::Add | BinaryOp::Sub => Precedence::ADD,
            BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::FloorDiv
            | BinaryOp::Mod
            | BinaryOp::MatMul => Precedence::MUL,
            BinaryOp::Pow => Precedence::POWER,
        }
    }

    /// Whether this is one of the (non-chainable) comparison operators.
    pub fn is_comparison(self) -> bool {
        self.precedence() == Precedence::COMPARE
    }
}

impl UnaryOp {
    /// The operator as the pretty-printer writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Pos => "+",
            UnaryOp::Not => "not ",
            UnaryOp::Invert => "~",
        }
    }
}

impl Program {
    /// The same program with every span set to `Span::default()`, so programs parsed from
    /// differently formatted sources compare equal when their structure is equal.
    pub fn without_spans(mut self) -> Program {
        for binding in &mut self.bindings {
            binding.span = Span::default();
            binding.name.span = Span::default();
            binding.value.erase_spans();
        }
        self.result.erase_spans();
        self
    }
}

impl Expr {
    /// Set every span in this expression to `Span::default()` (see [`Program::without_spans`]).
    pub fn erase_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_)
            | ExprKind::None
            | ExprKind::Name(_) => {}
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                items.iter_mut().for_each(Expr::erase_spans);
            }
            ExprKind::Unary { operand, .. } => operand.erase_spans(),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.erase_spans();
                rhs.erase_spans();
            }
            ExprKind::Call { function, args } => {
                function.span = Span::default();
                args.erase_spans();
            }
            ExprKind::MethodCall {
                receiver,
                method,
                args,
            } => {
                receiver.erase_spans();
                method.span = Span::default();
                args.erase_spans();
            }
            ExprKind::Attribute { value, attr } => {
                value.erase_spans();
                attr.span = Span::default();
            }
            ExprKind::Index { value, items } => {
                value.erase_spans();
                for item in items {
                    match item {
                        IndexItem::Expr(e) => e.erase_spans(),
                        IndexItem::Slice {
                            start,
                            stop,
                            step,
                            span,
                        } => {
                            *span = Span::default();
                            for part in [start, stop, step].into_iter().flatten() {
                                part.erase_spans();
                            }
                        }
                        IndexItem::Ellipsis(span) => *span = Span::default(),
                    }
                }
            }
        }
    }
}

impl CallArgs {
    fn erase_spans(&mut self) {
        self.positional.iter_mut().for_each(Expr::erase_spans);
        for keyword in &mut self.keywords {
            keyword.name.span = Span::default();
            keyword.value.erase_spans();
        }
    }
}
