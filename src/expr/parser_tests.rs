//! Parser tests: precedence, associativity, literals, slices, calls, keyword arguments,
//! attributes, methods and statements, written against an S-expression view of the tree so
//! each expectation shows the grouping it asserts.

use super::ast::{Expr, ExprKind, IndexItem, Program, Span};
use super::parse_syntax;

/// Fully parenthesised prefix form: `-2**2` is `(neg (** 2 2))`.
fn sexp(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::None => "None".into(),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Tuple(items) => format!("(tuple{})", list(items)),
        ExprKind::List(items) => format!("(list{})", list(items)),
        ExprKind::Unary { op, operand } => {
            let name = match op {
                super::ast::UnaryOp::Neg => "neg",
                super::ast::UnaryOp::Pos => "pos",
                super::ast::UnaryOp::Not => "not",
                super::ast::UnaryOp::Invert => "invert",
            };
            format!("({name} {})", sexp(operand))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs))
        }
        ExprKind::Call { function, args } => format!("(call {}{})", function.name, call_args(args)),
        ExprKind::MethodCall {
            receiver,
            method,
            args,
        } => format!(
            "(method {} {}{})",
            sexp(receiver),
            method.name,
            call_args(args)
        ),
        ExprKind::Attribute { value, attr } => format!("(attr {} {})", sexp(value), attr.name),
        ExprKind::Index { value, items } => {
            let items: Vec<String> = items
                .iter()
                .map(|item| match item {
                    IndexItem::Expr(e) => sexp(e),
                    IndexItem::Ellipsis(_) => "...".into(),
                    IndexItem::Slice {
                        start, stop, step, ..
                    } => {
                        let part =
                            |p: &Option<Box<Expr>>| p.as_ref().map_or("_".into(), |e| sexp(e));
                        format!("(slice {} {} {})", part(start), part(stop), part(step))
                    }
                })
                .collect();
            format!("(index {} {})", sexp(value), items.join(" "))
        }
    }
}

fn list(items: &[Expr]) -> String {
    items.iter().map(|e| format!(" {}", sexp(e))).collect()
}

fn call_args(args: &super::ast::CallArgs) -> String {
    let mut out = list(&args.positional);
    for keyword in &args.keywords {
        out.push_str(&format!(" {}={}", keyword.name.name, sexp(&keyword.value)));
    }
    out
}

fn program(src: &str) -> Program {
    match parse_syntax(src) {
        Ok(program) => program,
        Err(err) => panic!("{src:?} should parse:\n{}", err.render(src)),
    }
}

/// The result expression of `src` in S-expression form.
fn parse(src: &str) -> String {
    sexp(&program(src).result)
}

#[test]
fn arithmetic_precedence_follows_python() {
    assert_eq!(parse("1 + 2 * 3"), "(+ 1 (* 2 3))");
    assert_eq!(parse("1 * 2 + 3"), "(+ (* 1 2) 3)");
    assert_eq!(parse("a - b - c"), "(- (- a b) c)");
    assert_eq!(parse("a / b // c % d @ e"), "(@ (% (// (/ a b) c) d) e)");
    assert_eq!(parse("(1 + 2) * 3"), "(* (+ 1 2) 3)");
}

#[test]
fn power_is_right_associative_and_binds_tighter_than_unary_minus() {
    assert_eq!(parse("-2**2"), "(neg (** 2 2))");
    assert_eq!(parse("2**3**2"), "(** 2 (** 3 2))");
    assert_eq!(parse("2**-1"), "(** 2 (neg 1))");
    assert_eq!(parse("(-2)**2"), "(** (neg 2) 2)");
    assert_eq!(parse("-x.T**2"), "(neg (** (attr x T) 2))");
    assert_eq!(parse("2 * 3 ** 2"), "(* 2 (** 3 2))");
}

#[test]
fn unary_operators_nest_and_bind_tighter_than_multiplication() {
    assert_eq!(parse("--x"), "(neg (neg x))");
    assert_eq!(parse("-a * b"), "(* (neg a) b)");
    assert_eq!(parse("+a"), "(pos a)");
    assert_eq!(parse("~mask"), "(invert mask)");
    assert_eq!(parse("not mask"), "(not mask)");
    assert_eq!(parse("~a & b"), "(& (invert a) b)");
}

#[test]
fn logical_operators_bind_looser_than_comparisons() {
    assert_eq!(parse("x > 0 & x < 1"), "(& (> x 0) (< x 1))");
    assert_eq!(parse("a | b & c"), "(| a (& b c))");
    assert_eq!(parse("a or b and c"), "(| a (& b c))");
    assert_eq!(parse("a & b | c & d"), "(| (& a b) (& c d))");
    assert_eq!(parse("a + 1 == b * 2"), "(== (+ a 1) (* b 2))");
    assert_eq!(parse("a != b"), "(!= a b)");
    assert_eq!(parse("a <= b"), "(<= a b)");
    assert_eq!(parse("a >= b"), "(>= a b)");
}

#[test]
fn parenthesised_comparisons_may_be_compared() {
    assert_eq!(parse("(a < b) == (c < d)"), "(== (< a b) (< c d))");
}

#[test]
fn literals() {
    assert_eq!(parse("1_000"), "1000");
    assert_eq!(parse("1.5"), "1.5");
    assert_eq!(parse("1e-3"), "0.001");
    assert_eq!(parse(".5"), "0.5");
    assert_eq!(parse("true"), "true");
    assert_eq!(parse("False"), "false");
    assert_eq!(parse("None"), "None");
    assert_eq!(parse("'a.h5'"), "\"a.h5\"");
    assert_eq!(parse("inf"), "inf");
    let ExprKind::Float(nan) = program("nan").result.kind else {
        panic!("nan should be a float literal");
    };
    assert!(nan.is_nan());
}

#[test]
fn tuples_and_lists() {
    assert_eq!(parse("(1, 2)"), "(tuple 1 2)");
    assert_eq!(parse("(1,)"), "(tuple 1)");
    assert_eq!(parse("()"), "(tuple)");
    assert_eq!(parse("(1, 2,)"), "(tuple 1 2)");
    assert_eq!(parse("(1)"), "1");
    assert_eq!(parse("[1, 2, 3]"), "(list 1 2 3)");
    assert_eq!(parse("[]"), "(list)");
    assert_eq!(parse("[1,]"), "(list 1)");
    assert_eq!(parse("[(1, 2), [3]]"), "(list (tuple 1 2) (list 3))");
}

#[test]
fn calls_with_positional_and_keyword_arguments() {
    assert_eq!(
        parse("sum(x, axis=(0,2), keepdims=true)"),
        "(call sum x axis=(tuple 0 2) keepdims=true)"
    );
    assert_eq!(parse("zeros((3, 4))"), "(call zeros (tuple 3 4))");
    assert_eq!(parse("f()"), "(call f)");
    assert_eq!(parse("f(a, b,)"), "(call f a b)");
    assert_eq!(
        parse("h5(\"a.h5\", \"/g/d\")"),
        "(call h5 \"a.h5\" \"/g/d\")"
    );
    assert_eq!(
        parse("nan_to_num(x, nan=0.0)"),
        "(call nan_to_num x nan=0.0)"
    );
    assert_eq!(parse("f(a == 1)"), "(call f (== a 1))");
}

#[test]
fn attributes_and_method_calls_chain() {
    assert_eq!(parse("x.T"), "(attr x T)");
    assert_eq!(parse("x.shape[0]"), "(index (attr x shape) 0)");
    assert_eq!(parse("x.sum(axis=0)"), "(method x sum axis=0)");
    assert_eq!(parse("x.astype(\"f32\")"), "(method x astype \"f32\")");
    assert_eq!(
        parse("(a + b).mean().round(2)"),
        "(method (method (+ a b) mean) round 2)"
    );
    assert_eq!(parse("1.T"), "(attr 1 T)");
    assert_eq!(parse("sum(x).T"), "(attr (call sum x) T)");
}

#[test]
fn indexing_and_slices() {
    assert_eq!(parse("x[0]"), "(index x 0)");
    assert_eq!(parse("x[1:10:2]"), "(index x (slice 1 10 2))");
    assert_eq!(parse("x[::-1]"), "(index x (slice _ _ (neg 1)))");
    assert_eq!(parse("x[:]"), "(index x (slice _ _ _))");
    assert_eq!(parse("x[1:]"), "(index x (slice 1 _ _))");
    assert_eq!(parse("x[:5]"), "(index x (slice _ 5 _))");
    assert_eq!(parse("x[1::]"), "(index x (slice 1 _ _))");
    assert_eq!(parse("x[..., 0]"), "(index x ... 0)");
    assert_eq!(parse("x[None, :]"), "(index x None (slice _ _ _))");
    assert_eq!(parse("x[:, idx]"), "(index x (slice _ _ _) idx)");
    assert_eq!(parse("x[x > 0]"), "(index x (> x 0))");
    assert_eq!(
        parse("x[i + 1 : n - 1]"),
        "(index x (slice (+ i 1) (- n 1) _))"
    );
    assert_eq!(parse("x[0][1]"), "(index (index x 0) 1)");
    assert_eq!(parse("x[(0, 1)]"), "(index x (tuple 0 1))");
    assert_eq!(parse("x[0,]"), "(index x 0)");
}

#[test]
fn slice_spans_cover_the_written_slice() {
    let result = program("x[1:10:2]").result;
    let ExprKind::Index { items, .. } = result.kind else {
        panic!("expected an index");
    };
    let IndexItem::Slice { span, .. } = &items[0] else {
        panic!("expected a slice");
    };
    assert_eq!(*span, Span::new(2, 8));
}

#[test]
fn statements_separated_by_semicolons_and_newlines() {
    let p = program("a = 1; b = a + 1\n\nc = b * 2;\n a + c;");
    let names: Vec<&str> = p.bindings.iter().map(|b| b.name.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b", "c"]);
    assert_eq!(sexp(&p.bindings[1].value), "(+ a 1)");
    assert_eq!(sexp(&p.result), "(+ a c)");
}

#[test]
fn newlines_inside_brackets_continue_the_statement() {
    let p = program("x = sum(\n  y,\n  axis=0,\n)\nx[\n 0\n]");
    assert_eq!(sexp(&p.bindings[0].value), "(call sum y axis=0)");
    assert_eq!(sexp(&p.result), "(index x 0)");
}

#[test]
fn comments_are_ignored() {
    let p = program("# input\nt = h5('a.h5', '/t')  # kelvin\nt - 273.15 # celsius");
    assert_eq!(p.bindings.len(), 1);
    assert_eq!(sexp(&p.result), "(- t 273.15)");
}

#[test]
fn spans_are_byte_ranges_of_the_source() {
    let src = "y = 1\nsum(y, axis=0) + (2)";
    let p = program(src);
    assert_eq!(&src[p.bindings[0].span.range()], "y = 1");
    assert_eq!(&src[p.result.span.range()], "sum(y, axis=0) + (2)");
    let ExprKind::Binary { lhs, rhs, .. } = &p.result.kind else {
        panic!("expected a binary expression");
    };
    assert_eq!(&src[lhs.span.range()], "sum(y, axis=0)");
    assert_eq!(&src[rhs.span.range()], "(2)");
    let ExprKind::Call { function, args } = &lhs.kind else {
        panic!("expected a call");
    };
    assert_eq!(&src[function.span.range()], "sum");
    assert_eq!(&src[args.keywords[0].name.span.range()], "axis");
}

#[test]
fn syntax_errors_are_reported_not_panicked() {
    for (src, message) in [
        ("", "empty program"),
        (";;\n", "empty program"),
        ("1 +", "unexpected end of input"),
        ("a < b < c", "comparison operators cannot be chained"),
        ("a == b != c", "comparison operators cannot be chained"),
        ("x[]", "empty index"),
        ("x[..., ...]", "an index can only have one '...'"),
        ("...", "'...' outside an index"),
        ("'a'(1)", "only functions and methods can be called"),
        ("f(1)(2)", "only functions and methods can be called"),
        ("f(a=1, 2)", "positional argument after a keyword argument"),
        ("f(a=1, a=2)", "keyword argument \"a\" is given twice"),
        ("x.(1)", "unexpected token '('"),
        (
            "x = 1",
            "the program ends with a binding, so it has no result",
        ),
        ("x + 1; 2", "this value is never used"),
        ("x.T = 1", "cannot assign to this expression"),
        ("true = 1", "cannot bind \"true\": it is a literal"),
        ("x = ; 1", "unexpected token ';'"),
        ("a b", "unexpected name \"b\""),
        ("(1, 2", "unexpected end of input"),
        ("x +\n1", "unexpected end of line"),
    ] {
        let err = parse_syntax(src).expect_err(src);
        assert_eq!(err.message, message, "for {src:?}");
    }
}

#[test]
fn nesting_is_bounded() {
    let deep_parens = format!("{}1{}", "(".repeat(1000), ")".repeat(1000));
    assert_eq!(
        parse_syntax(&deep_parens).expect_err("too deep").message,
        "expression is nested too deeply"
    );
    let long_chain = vec!["x"; 1000].join(" + ");
    assert_eq!(
        parse_syntax(&long_chain).expect_err("too deep").message,
        "expression is too deep"
    );
    let minus = format!("{}x", "-".repeat(100_000));
    assert!(parse_syntax(&minus).is_err());
    let attributes = format!("x{}", ".T".repeat(100_000));
    assert!(parse_syntax(&attributes).is_err());
    // Moderate nesting is fine.
    let fine = format!("{}1{}", "(".repeat(30), ")".repeat(30));
    assert_eq!(parse(&fine), "1");
    assert!(parse_syntax(&vec!["x"; 150].join(" + ")).is_ok());
}

#[test]
fn a_result_of_several_expressions_is_a_tuple() {
    assert_eq!(parse("m = mean(x); s = std(x); m, s"), "(tuple m s)");
    assert_eq!(parse("a, b,"), "(tuple a b)");
    assert_eq!(
        parse("a + 1, b[0], c.T"),
        "(tuple (+ a 1) (index b 0) (attr c T))"
    );
    let p = program("x = 1\nx, x * 2\n");
    assert_eq!(sexp(&p.result), "(tuple x (* x 2))");
    assert_eq!(p.result.span, Span::new(6, 14));
    assert!(
        parse_syntax("a, b; c").is_err(),
        "only the result may be a bare tuple"
    );
    assert!(
        parse_syntax("x = a, b; x").is_err(),
        "bindings take one expression"
    );
}
