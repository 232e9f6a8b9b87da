//! The parser: tokens to a [`Program`] by recursive descent with precedence climbing.
//!
//! Precedence, loosest first: `|`/`or`, `&`/`and`, comparisons (not chainable), `+ -`,
//! `* / // % @`, prefix `- + ~ not`, `**` (right-associative; its left side is a postfix
//! expression, so `-2**2` is `-(2**2)`), then calls, attributes and indexing.
//!
//! This module checks only the shape of the program; names, functions and arities are the
//! validator's job. It must return an [`ExprError`] instead of panicking on any input, and it
//! bounds nesting so that neither it nor later tree walks can exhaust the stack.

use super::ast::{
    BinaryOp, Binding, CallArgs, Expr, ExprKind, Ident, IndexItem, KeywordArg, Program, Span,
    UnaryOp,
};
use super::diagnostic::{line_column, ErrorKind, ExprError};
use super::lexer::{tokenize, Token, TokenKind};

/// Deepest allowed syntax tree (counted in nodes from the root of a statement).
pub const MAX_TREE_DEPTH: usize = 200;

/// Deepest allowed nesting of brackets, prefix operators and `**` while parsing.
pub const MAX_NESTING: usize = 32;

/// Python keywords that are names here but never make sense where a parse fails after them.
const PYTHON_KEYWORDS: &[&str] = &[
    "for", "in", "if", "else", "elif", "lambda", "def", "import", "from", "return", "while", "is",
    "with", "as",
];

/// Words that are literals, not names.
pub const LITERAL_WORDS: &[&str] = &["true", "false", "True", "False", "None", "nan", "inf"];

/// Parse `src` into a [`Program`] without checking names or functions against the catalogue
/// (see [`crate::expr::parse_program`] for the checked version). Errors carry no source.
pub fn parse_syntax(src: &str) -> Result<Program, ExprError> {
    let tokens = tokenize(src)?;
    Parser {
        src,
        tokens,
        pos: 0,
        nesting: 0,
    }
    .program()
}

/// A parsed expression and the depth of its tree, so depth limits cost O(1) per node.
struct Parsed {
    expr: Expr,
    depth: usize,
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    nesting: usize,
}

/// What one statement turned out to be.
enum Statement {
    Binding(Binding),
    Expr(Expr),
}

impl Parser<'_> {
    // ----- token access -------------------------------------------------------------------

    fn peek(&self) -> &Token {
        // The lexer always ends the stream with Eof, and `advance` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_kind(&self) -> &TokenKind {
        &self.peek().kind
    }

    fn peek_kind_at(&self, ahead: usize) -> &TokenKind {
        let index = (self.pos + ahead).min(self.tokens.len() - 1);
        &self.tokens[index].kind
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.peek_kind() == kind
    }

    fn unexpected(&self, expected: &str) -> ExprError {
        let token = self.peek();
        let err = ExprError::syntax(token.span, format!("unexpected {}", token.kind.describe()))
            .with_label(expected);
        let previous = self.pos.checked_sub(1).map(|i| &self.tokens[i].kind);
        let python_word = [Some(&token.kind), previous]
            .into_iter()
            .flatten()
            .find_map(|kind| match kind {
                TokenKind::Ident(word) if PYTHON_KEYWORDS.contains(&word.as_str()) => Some(word),
                _ => None,
            });
        if token.kind == TokenKind::Assign {
            err.with_help(
                "'=' binds a name at the start of a statement (name = expr) or passes a \
                 keyword argument; to compare values use '=='",
            )
        } else if let Some(word) = python_word {
            err.with_help(format!(
                "'{word}' is Python syntax; this language has expressions, 'name = expr' \
                 bindings, function and method calls, and indexing"
            ))
        } else {
            err
        }
    }

    /// Consume the `close` bracket matching the one at `open`, or explain what is wrong.
    fn expect_closing(
        &mut self,
        close: TokenKind,
        open: Span,
        expected: &str,
    ) -> Result<Span, ExprError> {
        if self.at(&close) {
            return Ok(self.advance().span);
        }
        let mut err = self.unexpected(expected);
        let ran_out = matches!(self.peek_kind(), TokenKind::Eof | TokenKind::Semicolon);
        if err.help.is_none() && ran_out {
            let (line, column) = line_column(self.src, open.start);
            err = err.with_help(format!(
                "the '{}' on line {line}, column {column} is not closed",
                if close == TokenKind::RParen { '(' } else { '[' },
            ));
        }
        Err(err)
    }

    /// Run `f` one nesting level deeper, refusing to go past [`MAX_NESTING`].
    fn nested<T>(
        &mut self,
        at: Span,
        f: impl FnOnce(&mut Self) -> Result<T, ExprError>,
    ) -> Result<T, ExprError> {
        if self.nesting >= MAX_NESTING {
            return Err(too_deep(at, "expression is nested too deeply"));
        }
        self.nesting += 1;
        let result = f(self);
        self.nesting -= 1;
        result
    }

    // ----- statements ---------------------------------------------------------------------

    fn skip_separators(&mut self) {
        while matches!(self.peek_kind(), TokenKind::Semicolon | TokenKind::Newline) {
            self.advance();
        }
    }

    fn program(mut self) -> Result<Program, ExprError> {
        self.skip_separators();
        if self.at(&TokenKind::Eof) {
            return Err(ExprError::syntax(self.peek().span, "empty program")
                .with_label("expected an expression")
                .with_help("write an expression such as mean(h5(\"data.h5\", \"/t\"), axis=0)"));
        }
        let mut statements = Vec::new();
        loop {
            statements.push(self.statement()?);
            match self.peek_kind() {
                TokenKind::Semicolon | TokenKind::Newline => {
                    self.skip_separators();
                    if self.at(&TokenKind::Eof) {
                        break;
                    }
                }
                TokenKind::Eof => break,
                _ => return Err(self.unexpected("expected an operator, ';' or a new line")),
            }
        }
        let last = statements.pop();
        let mut bindings = Vec::with_capacity(statements.len());
        for statement in statements {
            match statement {
                Statement::Binding(binding) => bindings.push(binding),
                Statement::Expr(expr) => {
                    return Err(ExprError::syntax(expr.span, "this value is never used")
                        .with_label("not bound to a name and not the last statement")
                        .with_help(
                            "only the last statement is the result; bind this one with \
                             'name = ...' or remove it",
                        ))
                }
            }
        }
        match last {
            Some(Statement::Expr(result)) => Ok(Program { bindings, result }),
            Some(Statement::Binding(binding)) => Err(ExprError::syntax(
                binding.span,
                "the program ends with a binding, so it has no result",
            )
            .with_label(format!("binds \"{}\"", binding.name.name))
            .with_help(format!(
                "end the program with the expression to compute, e.g. '; {}'",
                binding.name.name
            ))),
            None => Err(self.unexpected("expected an expression")),
        }
    }

    fn statement(&mut self) -> Result<Statement, ExprError> {
        if let (TokenKind::Ident(name), TokenKind::Assign) =
            (self.peek_kind(), self.peek_kind_at(1))
        {
            let name = name.clone();
            let name_token = self.advance();
            if LITERAL_WORDS.contains(&name.as_str()) {
                return Err(ExprError::syntax(
                    name_token.span,
                    format!("cannot bind \"{name}\": it is a literal"),
                )
                .with_label("a literal, not a name")
                .with_help("choose another name"));
            }
            self.advance(); // '='
            if matches!(
                self.peek_kind(),
                TokenKind::Semicolon | TokenKind::Newline | TokenKind::Eof
            ) {
                return Err(self.unexpected("expected an expression after '='"));
            }
            let value = self.expression()?.expr;
            let span = name_token.span.to(value.span);
            return Ok(Statement::Binding(Binding {
                name: Ident::new(name, name_token.span),
                value,
                span,
            }));
        }
        let first = self.expression()?;
        let expr = if self.at(&TokenKind::Comma) {
            self.bare_tuple(first)?
        } else {
            first.expr
        };
        if self.at(&TokenKind::Assign) {
            return Err(
                ExprError::syntax(expr.span, "cannot assign to this expression")
                    .with_label("only a plain name can be bound")
                    .with_help("bindings look like 'name = expr'; to compare values use '=='"),
            );
        }
        Ok(Statement::Expr(expr))
    }

    /// `a, b` (or `a, b,`) without brackets, as a statement: the tuple `(a, b)`. This is how a
    /// program ends with several results (`m, s`), one per `-o` of `tessera eval`.
    fn bare_tuple(&mut self, first: Parsed) -> Result<Expr, ExprError> {
        let start = first.expr.span;
        let mut end = start;
        let mut depth = first.depth;
        let mut items = vec![first.expr];
        while self.at(&TokenKind::Comma) {
            end = end.to(self.advance().span);
            if matches!(
                self.peek_kind(),
                TokenKind::Semicolon | TokenKind::Newline | TokenKind::Eof
            ) {
                break;
            }
            let item = self.expression()?;
            depth = depth.max(item.depth);
            end = item.expr.span;
            items.push(item.expr);
        }
        Ok(node(ExprKind::Tuple(items), depth, Some(start.to(end)))?.expr)
    }

    // ----- expressions --------------------------------------------------------------------

    fn expression(&mut self) -> Result<Parsed, ExprError> {
        self.binary(0)
    }

    fn binary_operator(kind: &TokenKind) -> Option<BinaryOp> {
        Some(match kind {
            TokenKind::Pipe | TokenKind::Or => BinaryOp::Or,
            TokenKind::Amp | TokenKind::And => BinaryOp::And,
            TokenKind::EqEq => BinaryOp::Eq,
            TokenKind::NotEq => BinaryOp::Ne,
            TokenKind::Lt => BinaryOp::Lt,
            TokenKind::Le => BinaryOp::Le,
            TokenKind::Gt => BinaryOp::Gt,
            TokenKind::Ge => BinaryOp::Ge,
            TokenKind::Plus => BinaryOp::Add,
            TokenKind::Minus => BinaryOp::Sub,
            TokenKind::Star => BinaryOp::Mul,
            TokenKind::Slash => BinaryOp::Div,
            TokenKind::DoubleSlash => BinaryOp::FloorDiv,
            TokenKind::Percent => BinaryOp::Mod,
            TokenKind::At => BinaryOp::MatMul,
            _ => return None,
        })
    }

    /// Left-associative infix operators binding at least as tightly as `min_precedence`.
    fn binary(&mut self, min_precedence: u8) -> Result<Parsed, ExprError> {
        let mut lhs = self.unary()?;
        let mut lhs_is_comparison = false;
        while let Some(op) = Self::binary_operator(self.peek_kind()) {
            let precedence = op.precedence();
            if precedence < min_precedence {
                break;
            }
            let op_token = self.advance();
            if op.is_comparison() && lhs_is_comparison {
                return Err(ExprError::syntax(
                    op_token.span,
                    "comparison operators cannot be chained",
                )
                .with_label("second comparison")
                .with_help("combine comparisons explicitly, e.g. (a < b) & (b < c)"));
            }
            let rhs = self.binary(precedence + 1)?;
            lhs_is_comparison = op.is_comparison();
            lhs = node(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs.expr),
                    rhs: Box::new(rhs.expr),
                },
                lhs.depth.max(rhs.depth),
                None,
            )?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Parsed, ExprError> {
        let op = match self.peek_kind() {
            TokenKind::Minus => UnaryOp::Neg,
            TokenKind::Plus => UnaryOp::Pos,
            TokenKind::Tilde => UnaryOp::Invert,
            TokenKind::Not => UnaryOp::Not,
            _ => return self.power(),
        };
        let op_token = self.advance();
        let operand = self.nested(op_token.span, Self::unary)?;
        let span = op_token.span.to(operand.expr.span);
        node(
            ExprKind::Unary {
                op,
                operand: Box::new(operand.expr),
            },
            operand.depth,
            Some(span),
        )
    }

    fn power(&mut self) -> Result<Parsed, ExprError> {
        let base = self.postfix()?;
        if !self.at(&TokenKind::DoubleStar) {
            return Ok(base);
        }
        let op_token = self.advance();
        let exponent = self.nested(op_token.span, Self::unary)?;
        node(
            ExprKind::Binary {
                op: BinaryOp::Pow,
                lhs: Box::new(base.expr),
                rhs: Box::new(exponent.expr),
            },
            base.depth.max(exponent.depth),
            None,
        )
    }

    fn postfix(&mut self) -> Result<Parsed, ExprError> {
        // Each suffix is built in its own function so that only the active one's locals sit
        // on the stack while its arguments recurse.
        let mut current = self.primary()?;
        loop {
            current = match self.peek_kind() {
                TokenKind::Dot => self.member(current)?,
                TokenKind::LBracket => self.index(current)?,
                TokenKind::LParen => self.call(current)?,
                _ => return Ok(current),
            };
        }
    }

    /// `.name` or `.name(args)` after `receiver`.
    fn member(&mut self, receiver: Parsed) -> Result<Parsed, ExprError> {
        self.advance(); // '.'
        let name = match self.peek_kind() {
            TokenKind::Ident(name) => name.clone(),
            _ => return Err(self.unexpected("expected an attribute or method name")),
        };
        let ident = Ident::new(name, self.advance().span);
        if !self.at(&TokenKind::LParen) {
            let span = receiver.expr.span.to(ident.span);
            let kind = ExprKind::Attribute {
                value: Box::new(receiver.expr),
                attr: ident,
            };
            return node(kind, receiver.depth, Some(span));
        }
        let (args, args_depth, close) = self.call_arguments()?;
        let span = receiver.expr.span.to(close);
        let kind = ExprKind::MethodCall {
            receiver: Box::new(receiver.expr),
            method: ident,
            args,
        };
        node(kind, receiver.depth.max(args_depth), Some(span))
    }

    /// `[items]` after `value`.
    fn index(&mut self, value: Parsed) -> Result<Parsed, ExprError> {
        let (items, items_depth, close) = self.index_items()?;
        let span = value.expr.span.to(close);
        let kind = ExprKind::Index {
            value: Box::new(value.expr),
            items,
        };
        node(kind, value.depth.max(items_depth), Some(span))
    }

    /// `(args)` after `callee`, which must be a plain function name.
    fn call(&mut self, callee: Parsed) -> Result<Parsed, ExprError> {
        let ExprKind::Name(name) = &callee.expr.kind else {
            return Err(not_callable(self.peek().span));
        };
        let function = Ident::new(name.clone(), callee.expr.span);
        let (args, args_depth, close) = self.call_arguments()?;
        let span = callee.expr.span.to(close);
        node(ExprKind::Call { function, args }, args_depth, Some(span))
    }

    fn primary(&mut self) -> Result<Parsed, ExprError> {
        let token = self.peek().clone();
        let kind = match &token.kind {
            TokenKind::Int(v) => ExprKind::Int(*v),
            TokenKind::Float(v) => ExprKind::Float(*v),
            TokenKind::Str(s) => ExprKind::Str(s.clone()),
            TokenKind::Ident(name) => match name.as_str() {
                "true" | "True" => ExprKind::Bool(true),
                "false" | "False" => ExprKind::Bool(false),
                "None" => ExprKind::None,
                "nan" => ExprKind::Float(f64::NAN),
                "inf" => ExprKind::Float(f64::INFINITY),
                _ => ExprKind::Name(name.clone()),
            },
            TokenKind::LParen => return self.nested(token.span, Self::parenthesised),
            TokenKind::LBracket => return self.nested(token.span, Self::list),
            TokenKind::Ellipsis => {
                return Err(ExprError::syntax(token.span, "'...' outside an index")
                    .with_label("only allowed inside [ ]")
                    .with_help("'...' stands for all remaining axes, e.g. x[..., 0]"))
            }
            _ => return Err(self.unexpected("expected an expression")),
        };
        self.advance();
        Ok(Parsed {
            expr: Expr::new(kind, token.span),
            depth: 1,
        })
    }

    /// `(expr)`, `()`, `(a,)`, `(a, b)`.
    fn parenthesised(&mut self) -> Result<Parsed, ExprError> {
        let open = self.advance().span;
        if self.at(&TokenKind::RParen) {
            let close = self.advance().span;
            return node(ExprKind::Tuple(Vec::new()), 0, Some(open.to(close)));
        }
        let first = self.expression()?;
        if self.at(&TokenKind::RParen) {
            let close = self.advance().span;
            return Ok(Parsed {
                expr: Expr::new(first.expr.kind, open.to(close)),
                depth: first.depth,
            });
        }
        if !self.at(&TokenKind::Comma) {
            self.expect_closing(TokenKind::RParen, open, "expected ',' or ')'")?;
        }
        let (items, depth, close) = self.sequence_after_first(first, TokenKind::RParen, open)?;
        node(ExprKind::Tuple(items), depth, Some(open.to(close)))
    }

    /// `[a, b, ...]`.
    fn list(&mut self) -> Result<Parsed, ExprError> {
        let open = self.advance().span;
        if self.at(&TokenKind::RBracket) {
            let close = self.advance().span;
            return node(ExprKind::List(Vec::new()), 0, Some(open.to(close)));
        }
        let first = self.expression()?;
        let (items, depth, close) = self.sequence_after_first(first, TokenKind::RBracket, open)?;
        node(ExprKind::List(items), depth, Some(open.to(close)))
    }

    /// The rest of a comma-separated sequence whose first element is parsed; allows a
    /// trailing comma. Returns the items, their greatest depth and the closing span.
    fn sequence_after_first(
        &mut self,
        first: Parsed,
        close: TokenKind,
        open: Span,
    ) -> Result<(Vec<Expr>, usize, Span), ExprError> {
        let expected = format!("expected ',' or '{}'", close.symbol());
        let mut depth = first.depth;
        let mut items = vec![first.expr];
        loop {
            if self.at(&close) {
                return Ok((items, depth, self.advance().span));
            }
            if !self.at(&TokenKind::Comma) {
                self.expect_closing(close.clone(), open, &expected)?;
            }
            self.advance(); // ','
            if self.at(&close) {
                return Ok((items, depth, self.advance().span));
            }
            let item = self.expression()?;
            depth = depth.max(item.depth);
            items.push(item.expr);
        }
    }

    /// `(args)` after a function or method name: positional arguments, then `name=value`.
    fn call_arguments(&mut self) -> Result<(CallArgs, usize, Span), ExprError> {
        let open = self.peek().span;
        self.nested(open, |p| {
            p.advance(); // '('
            let mut args = CallArgs::default();
            let mut depth = 0;
            loop {
                if p.at(&TokenKind::RParen) {
                    return Ok((args, depth, p.advance().span));
                }
                depth = depth.max(p.argument(&mut args)?);
                if p.at(&TokenKind::Comma) {
                    p.advance();
                } else {
                    let close = p.expect_closing(TokenKind::RParen, open, "expected ',' or ')'")?;
                    return Ok((args, depth, close));
                }
            }
        })
    }

    /// One argument, added to `args`; returns its depth.
    fn argument(&mut self, args: &mut CallArgs) -> Result<usize, ExprError> {
        if let (TokenKind::Ident(name), TokenKind::Assign) =
            (self.peek_kind(), self.peek_kind_at(1))
        {
            let name = Ident::new(name.clone(), self.peek().span);
            self.advance();
            self.advance(); // '='
            if let Some(earlier) = args.keywords.iter().find(|k| k.name.name == name.name) {
                return Err(repeated_keyword(self.src, &name, earlier.name.span));
            }
            let value = self.expression()?;
            args.keywords.push(KeywordArg {
                name,
                value: value.expr,
            });
            return Ok(value.depth);
        }
        let value = self.expression()?;
        if let Some(keyword) = args.keywords.last() {
            return Err(positional_after_keyword(
                value.expr.span,
                &keyword.name.name,
            ));
        }
        args.positional.push(value.expr);
        Ok(value.depth)
    }

    /// `[items]` after an expression. Returns the items, their greatest depth and the span
    /// of the closing bracket.
    fn index_items(&mut self) -> Result<(Vec<IndexItem>, usize, Span), ExprError> {
        let open = self.peek().span;
        self.nested(open, |p| {
            p.advance(); // '['
            if p.at(&TokenKind::RBracket) {
                return Err(empty_index(p.peek().span));
            }
            let mut items = Vec::new();
            let mut depth = 0;
            loop {
                let (item, item_depth) = p.index_item()?;
                if matches!(item, IndexItem::Slice { step: Some(_), .. }) && p.at(&TokenKind::Colon)
                {
                    return Err(p
                        .unexpected("expected ',' or ']'")
                        .with_help("a slice has at most three parts: start:stop:step"));
                }
                if let IndexItem::Ellipsis(span) = item {
                    if items.iter().any(|i| matches!(i, IndexItem::Ellipsis(_))) {
                        return Err(second_ellipsis(span));
                    }
                }
                depth = depth.max(item_depth);
                items.push(item);
                if p.at(&TokenKind::Comma) {
                    p.advance();
                    if p.at(&TokenKind::RBracket) {
                        return Ok((items, depth, p.advance().span));
                    }
                } else {
                    let close =
                        p.expect_closing(TokenKind::RBracket, open, "expected ',' or ']'")?;
                    return Ok((items, depth, close));
                }
            }
        })
    }

    fn slice_part_ends(&self) -> bool {
        matches!(
            self.peek_kind(),
            TokenKind::Colon | TokenKind::Comma | TokenKind::RBracket
        )
    }

    /// The stop or step of a slice, if written; widens `end` and `depth` to cover it.
    fn slice_part(
        &mut self,
        end: &mut Span,
        depth: &mut usize,
    ) -> Result<Option<Box<Expr>>, ExprError> {
        if self.slice_part_ends() {
            return Ok(None);
        }
        let parsed = self.expression()?;
        *depth = (*depth).max(parsed.depth);
        *end = parsed.expr.span;
        Ok(Some(Box::new(parsed.expr)))
    }

    fn index_item(&mut self) -> Result<(IndexItem, usize), ExprError> {
        if self.at(&TokenKind::Ellipsis) {
            return Ok((IndexItem::Ellipsis(self.advance().span), 0));
        }
        let start_span = self.peek().span;
        let start = if self.slice_part_ends() {
            None
        } else {
            Some(self.expression()?)
        };
        if !self.at(&TokenKind::Colon) {
            return match start {
                Some(parsed) => Ok((IndexItem::Expr(parsed.expr), parsed.depth)),
                None => Err(self.unexpected("expected an index")),
            };
        }
        let mut end = self.advance().span;
        let mut depth = start.as_ref().map_or(0, |p| p.depth);
        let stop = self.slice_part(&mut end, &mut depth)?;
        let step = if self.at(&TokenKind::Colon) {
            end = self.advance().span;
            self.slice_part(&mut end, &mut depth)?
        } else {
            None
        };
        let span = start.as_ref().map_or(start_span, |s| s.expr.span).to(end);
        Ok((
            IndexItem::Slice {
                start: start.map(|s| Box::new(s.expr)),
                stop,
                step,
                span,
            },
            depth,
        ))
    }
}

/// Wrap `kind` in an expression one level deeper than its deepest child, checking the depth
/// limit. `span` defaults to the union of the binary operands' spans.
fn node(kind: ExprKind, child_depth: usize, span: Option<Span>) -> Result<Parsed, ExprError> {
    let span = span.unwrap_or_else(|| match &kind {
        ExprKind::Binary { lhs, rhs, .. } => lhs.span.to(rhs.span),
        _ => Span::default(),
    });
    let depth = child_depth + 1;
    if depth > MAX_TREE_DEPTH {
        return Err(too_deep(span, "expression is too deep"));
    }
    Ok(Parsed {
        expr: Expr::new(kind, span),
        depth,
    })
}

fn too_deep(span: Span, message: &str) -> ExprError {
    ExprError::new(ErrorKind::TooDeep, span, message)
        .with_label("limit reached here")
        .with_help(format!(
            "split it into bindings (name = ...); expressions may nest up to {MAX_NESTING} \
         brackets or prefix operators and {MAX_TREE_DEPTH} operations deep"
        ))
}

fn not_callable(at: Span) -> ExprError {
    ExprError::syntax(at, "only functions and methods can be called")
        .with_label("call of something that is not a function name")
        .with_help("call a function by name, e.g. sum(x), or a method, e.g. x.sum()")
}

fn repeated_keyword(src: &str, name: &Ident, first: Span) -> ExprError {
    let (line, column) = line_column(src, first.start);
    ExprError::new(
        ErrorKind::DuplicateArgument,
        name.span,
        format!("keyword argument \"{}\" is given twice", name.name),
    )
    .with_label("repeated here")
    .with_help(format!(
        "it is first given on line {line}, column {column}; remove one of them"
    ))
}

fn positional_after_keyword(at: Span, keyword: &str) -> ExprError {
    ExprError::syntax(at, "positional argument after a keyword argument")
        .with_label("positional argument")
        .with_help(format!(
            "put positional arguments before keyword arguments such as \"{keyword}=\""
        ))
}

fn empty_index(at: Span) -> ExprError {
    ExprError::syntax(at, "empty index")
        .with_label("expected an index")
        .with_help("write x[0], x[1:10], x[..., 0] or x[:] for everything")
}

fn second_ellipsis(at: Span) -> ExprError {
    ExprError::syntax(at, "an index can only have one '...'")
        .with_label("second '...'")
        .with_help("'...' already stands for all the axes it does not name")
}
