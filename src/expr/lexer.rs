//! The lexer: program text to [`Token`]s, each with its byte [`Span`].
//!
//! Handles numbers (`1_000`, `1.5`, `1e-3`, `.5`), strings in either quote with escapes,
//! names, operators, `#` comments and statement separators (`;` and newlines outside brackets;
//! newlines inside `(...)` or `[...]` are whitespace). Literal words such as `true` and `nan`
//! stay names here; the parser gives them meaning. It must not build syntax trees, and must
//! return an [`ExprError`] rather than panic on any input.

use super::ast::Span;
use super::diagnostic::ExprError;

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// An integer literal (underscores removed).
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal with escapes resolved.
    Str(String),
    /// A name (including the literal words `true`, `false`, `None`, `nan`, `inf`).
    Ident(String),
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `not`.
    Not,
    /// `+`.
    Plus,
    /// `-`.
    Minus,
    /// `*`.
    Star,
    /// `**`.
    DoubleStar,
    /// `/`.
    Slash,
    /// `//`.
    DoubleSlash,
    /// `%`.
    Percent,
    /// `@`.
    At,
    /// `~`.
    Tilde,
    /// `&`.
    Amp,
    /// `|`.
    Pipe,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `==`.
    EqEq,
    /// `!=`.
    NotEq,
    /// `=`.
    Assign,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `,`.
    Comma,
    /// `:`.
    Colon,
    /// `;`.
    Semicolon,
    /// A line break outside brackets.
    Newline,
    /// `.`.
    Dot,
    /// `...`.
    Ellipsis,
    /// End of input (always the last token).
    Eof,
}

impl TokenKind {
    /// How an error message names this token: `token ')'`, `name "x"`, `end of input`.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Int(v) => format!("number {v}"),
            TokenKind::Float(v) => format!("number {v}"),
            TokenKind::Str(s) => format!("string {s:?}"),
            TokenKind::Ident(name) => format!("name \"{name}\""),
            TokenKind::Newline => "end of line".to_string(),
            TokenKind::Eof => "end of input".to_string(),
            other => format!("token '{}'", other.symbol()),
        }
    }

    /// The source spelling of an operator or punctuation token (empty for literals and names).
    pub fn symbol(&self) -> &'static str {
        match self {
            TokenKind::And => "and",
            TokenKind::Or => "or",
            TokenKind::Not => "not",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Star => "*",
            TokenKind::DoubleStar => "**",
            TokenKind::Slash => "/",
            TokenKind::DoubleSlash => "//",
            TokenKind::Percent => "%",
            TokenKind::At => "@",
            TokenKind::Tilde => "~",
            TokenKind::Amp => "&",
            TokenKind::Pipe => "|",
            TokenKind::Lt => "<",
            TokenKind::Le => "<=",
            TokenKind::Gt => ">",
            TokenKind::Ge => ">=",
            TokenKind::EqEq => "==",
            TokenKind::NotEq => "!=",
            TokenKind::Assign => "=",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBracket => "[",
            TokenKind::RBracket => "]",
            TokenKind::Comma => ",",
            TokenKind::Colon => ":",
            TokenKind::Semicolon => ";",
            TokenKind::Newline => "\\n",
            TokenKind::Dot => ".",
            TokenKind::Ellipsis => "...",
            TokenKind::Int(_)
            | TokenKind::Float(_)
            | TokenKind::Str(_)
            | TokenKind::Ident(_)
            | TokenKind::Eof => "",
        }
    }
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is.
    pub span: Span,
}

/// Split `src` into tokens, ending with [`TokenKind::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    Lexer {
        src,
        pos: 0,
        bracket_depth: 0,
        tokens: Vec::new(),
    }
    .run()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Open `(` / `[` count: newlines inside brackets are whitespace.
    bracket_depth: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn run(mut self) -> Result<Vec<Token>, ExprError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                ' ' | '\t' | '\r' => self.bump(),
                '\n' => {
                    self.bump();
                    if self.bracket_depth == 0 {
                        self.push(TokenKind::Newline, start);
                    }
                }
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '0'..='9' => self.number()?,
                '.' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => self.number()?,
                '.' if self.rest().starts_with("...") => {
                    self.pos += 3;
                    self.push(TokenKind::Ellipsis, start);
                }
                '"' | '\'' => self.string(c)?,
                c if c.is_ascii_alphabetic() || c == '_' => self.word(),
                _ => self.punctuation(c)?,
            }
        }
        self.push(TokenKind::Eof, self.pos);
        Ok(self.tokens)
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    fn word(&mut self) {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let kind = match &self.src[start..self.pos] {
            "and" => TokenKind::And,
            "or" => TokenKind::Or,
            "not" => TokenKind::Not,
            word => TokenKind::Ident(word.to_string()),
        };
        self.push(kind, start);
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
            self.bump();
        }
    }

    fn number(&mut self) -> Result<(), ExprError> {
        let start = self.pos;
        let mut is_float = false;
        self.digits();
        if self.peek() == Some('.') && self.peek_at(1) != Some('.') {
            // `1.` and `1.5` are floats; `1.T` is an attribute of the integer 1.
            let after = self.peek_at(1);
            let exponent_follows = matches!(after, Some('e' | 'E'))
                && self
                    .peek_at(2)
                    .is_some_and(|c| c.is_ascii_digit() || c == '+' || c == '-');
            let attribute_follows =
                after.is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && !exponent_follows;
            if !attribute_follows {
                is_float = true;
                self.bump();
                self.digits();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some('+' | '-')));
            if self.peek_at(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                self.bump();
                if sign == 1 {
                    self.bump();
                }
                self.digits();
            }
        }
        // A number running straight into letters (`1abc`, `2e`) is one bad literal.
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let text = &self.src[start..self.pos];
        let span = Span::new(start, self.pos);
        let invalid = || {
            ExprError::syntax(span, format!("invalid number literal '{text}'"))
                .with_label("not a number")
                .with_help("numbers look like 42, 1_000, 1.5, .5 or 1e-3")
        };
        let underscores_ok = text
            .split(['.', 'e', 'E', '+', '-'])
            .all(|part| !part.starts_with('_') && !part.ends_with('_') && !part.contains("__"));
        let allowed = |c: char| {
            c.is_ascii_digit() || c == '_' || (is_float && matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        };
        if !underscores_ok || !text.chars().all(allowed) {
            return Err(invalid());
        }
        let cleaned: String = text.chars().filter(|&c| c != '_').collect();
        let kind = if is_float {
            TokenKind::Float(cleaned.parse::<f64>().map_err(|_| invalid())?)
        } else {
            let value = cleaned.parse::<i64>().map_err(|_| {
                ExprError::syntax(span, format!("integer literal {text} is too large"))
                    .with_label("does not fit in 64 bits")
                    .with_help(format!(
                        "integers go up to {}; write a float such as {cleaned}.0 for larger values",
                        i64::MAX
                    ))
            })?;
            TokenKind::Int(value)
        };
        self.push(kind, start);
        Ok(())
    }

    fn string(&mut self, quote: char) -> Result<(), ExprError> {
        let start = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.unterminated(start, quote));
            };
            match c {
                '\n' => return Err(self.unterminated(start, quote)),
                c if c == quote => {
                    self.bump();
                    break;
                }
                '\\' => {
                    let escape_start = self.pos;
                    self.bump();
                    let Some(escaped) = self.peek() else {
                        return Err(self.unterminated(start, quote));
                    };
                    self.bump();
                    value.push(match escaped {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        '\\' => '\\',
                        '\'' => '\'',
                        '"' => '"',
                        other => {
                            return Err(ExprError::syntax(
                                Span::new(escape_start, self.pos),
                                format!("unknown escape '\\{other}' in string"),
                            )
                            .with_label("unknown escape")
                            .with_help(
                                "known escapes are \\n \\t \\r \\0 \\\\ \\' \\\"; write \\\\ for a backslash",
                            ))
                        }
                    });
                }
                other => {
                    value.push(other);
                    self.bump();
                }
            }
        }
        self.push(TokenKind::Str(value), start);
        Ok(())
    }

    fn unterminated(&self, start: usize, quote: char) -> ExprError {
        ExprError::syntax(Span::new(start, start + 1), "unterminated string")
            .with_label("this string is never closed")
            .with_help(format!("end the string with {quote} on the same line"))
    }

    fn punctuation(&mut self, c: char) -> Result<(), ExprError> {
        let start = self.pos;
        let next = self.peek_at(1);
        let (kind, len) = match (c, next) {
            ('*', Some('*')) => (TokenKind::DoubleStar, 2),
            ('/', Some('/')) => (TokenKind::DoubleSlash, 2),
            ('<', Some('=')) => (TokenKind::Le, 2),
            ('>', Some('=')) => (TokenKind::Ge, 2),
            ('=', Some('=')) => (TokenKind::EqEq, 2),
            ('!', Some('=')) => (TokenKind::NotEq, 2),
            ('&', Some('&')) => return Err(self.misspelled(2, "'&&'", "use '&' or 'and'")),
            ('|', Some('|')) => return Err(self.misspelled(2, "'||'", "use '|' or 'or'")),
            ('!', _) => return Err(self.misspelled(1, "'!'", "use '~' or 'not' to negate")),
            ('^', _) => return Err(self.misspelled(1, "'^'", "use '**' for powers, e.g. x ** 2")),
            ('+', _) => (TokenKind::Plus, 1),
            ('-', _) => (TokenKind::Minus, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('/', _) => (TokenKind::Slash, 1),
            ('%', _) => (TokenKind::Percent, 1),
            ('@', _) => (TokenKind::At, 1),
            ('~', _) => (TokenKind::Tilde, 1),
            ('&', _) => (TokenKind::Amp, 1),
            ('|', _) => (TokenKind::Pipe, 1),
            ('<', _) => (TokenKind::Lt, 1),
            ('>', _) => (TokenKind::Gt, 1),
            ('=', _) => (TokenKind::Assign, 1),
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            ('[', _) => (TokenKind::LBracket, 1),
            (']', _) => (TokenKind::RBracket, 1),
            (',', _) => (TokenKind::Comma, 1),
            (':', _) => (TokenKind::Colon, 1),
            (';', _) => (TokenKind::Semicolon, 1),
            ('.', _) => (TokenKind::Dot, 1),
            _ => {
                return Err(ExprError::syntax(
                    Span::new(start, start + c.len_utf8()),
                    format!("unexpected character {c:?}"),
                )
                .with_label("not part of the expression language"))
            }
        };
        match kind {
            TokenKind::LParen | TokenKind::LBracket => self.bracket_depth += 1,
            TokenKind::RParen | TokenKind::RBracket => {
                self.bracket_depth = self.bracket_depth.saturating_sub(1)
            }
            _ => {}
        }
        self.pos += len;
        self.push(kind, start);
        Ok(())
    }

    fn misspelled(&self, len: usize, what: &str, help: &str) -> ExprError {
        ExprError::syntax(
            Span::new(self.pos, self.pos + len),
            format!("unsupported operator {what}"),
        )
        .with_label("not an operator here")
        .with_help(help)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src)
            .expect("source should lex")
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn lex_error(src: &str) -> ExprError {
        tokenize(src).expect_err("source should not lex")
    }

    #[test]
    fn integers_with_underscores() {
        assert_eq!(
            kinds("1_000 42"),
            vec![TokenKind::Int(1000), TokenKind::Int(42), TokenKind::Eof]
        );
    }

    #[test]
    fn float_forms() {
        assert_eq!(
            kinds("1.5 1e-3 .5 1. 2E+2 1_0.2_5 1.e2"),
            vec![
                TokenKind::Float(1.5),
                TokenKind::Float(1e-3),
                TokenKind::Float(0.5),
                TokenKind::Float(1.0),
                TokenKind::Float(200.0),
                TokenKind::Float(10.25),
                TokenKind::Float(100.0),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn integer_followed_by_attribute_is_not_a_float() {
        assert_eq!(
            kinds("1.T"),
            vec![
                TokenKind::Int(1),
                TokenKind::Dot,
                TokenKind::Ident("T".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn slices_and_ellipsis() {
        assert_eq!(
            kinds("x[..., ::-1]"),
            vec![
                TokenKind::Ident("x".into()),
                TokenKind::LBracket,
                TokenKind::Ellipsis,
                TokenKind::Comma,
                TokenKind::Colon,
                TokenKind::Colon,
                TokenKind::Minus,
                TokenKind::Int(1),
                TokenKind::RBracket,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn two_character_operators() {
        assert_eq!(
            kinds("** // <= >= == != = < >"),
            vec![
                TokenKind::DoubleStar,
                TokenKind::DoubleSlash,
                TokenKind::Le,
                TokenKind::Ge,
                TokenKind::EqEq,
                TokenKind::NotEq,
                TokenKind::Assign,
                TokenKind::Lt,
                TokenKind::Gt,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn strings_in_both_quotes_with_escapes() {
        assert_eq!(
            kinds(r#""a.h5" '/g/d' "q\"\n\\" 'it\'s'"#),
            vec![
                TokenKind::Str("a.h5".into()),
                TokenKind::Str("/g/d".into()),
                TokenKind::Str("q\"\n\\".into()),
                TokenKind::Str("it's".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn word_operators_are_keywords_and_literal_words_are_names() {
        assert_eq!(
            kinds("and or not true nan"),
            vec![
                TokenKind::And,
                TokenKind::Or,
                TokenKind::Not,
                TokenKind::Ident("true".into()),
                TokenKind::Ident("nan".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn newlines_separate_only_outside_brackets_and_comments_are_skipped() {
        assert_eq!(
            kinds("a # note\n(b\n)"),
            vec![
                TokenKind::Ident("a".into()),
                TokenKind::Newline,
                TokenKind::LParen,
                TokenKind::Ident("b".into()),
                TokenKind::RParen,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn spans_are_byte_offsets() {
        let tokens = tokenize("ab + 'é'").expect("lexes");
        let spans: Vec<_> = tokens.iter().map(|t| (t.span.start, t.span.end)).collect();
        assert_eq!(spans, vec![(0, 2), (3, 4), (5, 9), (9, 9)]);
    }

    #[test]
    fn bad_literals_are_errors() {
        assert_eq!(lex_error("1abc").message, "invalid number literal '1abc'");
        assert_eq!(lex_error("1__0").message, "invalid number literal '1__0'");
        assert_eq!(lex_error("10_").message, "invalid number literal '10_'");
        assert_eq!(lex_error("2e").message, "invalid number literal '2e'");
        let too_big = lex_error("99999999999999999999");
        assert_eq!(
            too_big.message,
            "integer literal 99999999999999999999 is too large"
        );
        assert_eq!(too_big.span, Span::new(0, 20));
    }

    #[test]
    fn bad_strings_are_errors() {
        let unterminated = lex_error("h5('a.h5)");
        assert_eq!(unterminated.message, "unterminated string");
        assert_eq!(unterminated.span, Span::new(3, 4));
        assert_eq!(lex_error("'a\nb'").message, "unterminated string");
        assert_eq!(lex_error(r"'\q'").message, "unknown escape '\\q' in string");
    }

    #[test]
    fn foreign_operators_get_hints() {
        let caret = lex_error("x ^ 2");
        assert_eq!(caret.message, "unsupported operator '^'");
        assert_eq!(
            caret.help.as_deref(),
            Some("use '**' for powers, e.g. x ** 2")
        );
        assert_eq!(lex_error("a && b").span, Span::new(2, 4));
        assert_eq!(lex_error("!a").message, "unsupported operator '!'");
        assert_eq!(lex_error("a € b").message, "unexpected character '€'");
    }
}
