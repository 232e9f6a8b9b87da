//! Property tests: pretty-printing any syntax tree and parsing the text gives the same tree
//! back, and no input at all — random text or random token soup — makes the front end panic.

use proptest::prelude::*;

use super::ast::{
    BinaryOp, Binding, CallArgs, Expr, ExprKind, Ident, IndexItem, KeywordArg, Program, Span,
    UnaryOp,
};
use super::{parse_program, parse_syntax, validate_program, FUNCTIONS};

fn expr(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::default())
}

fn name_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["x", "y", "temp", "a_1", "_t", "T2m"]).prop_map(String::from)
}

fn function_name_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(FUNCTIONS.iter().map(|f| f.name).collect::<Vec<_>>())
        .prop_map(String::from)
}

fn float_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0.0f64..1e6),
        (0.0f64..1.0),
        prop::num::f64::POSITIVE | prop::num::f64::ZERO,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(1e-300),
        Just(f64::MAX),
    ]
}

fn leaf_strategy() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0i64..=i64::MAX).prop_map(|v| expr(ExprKind::Int(v))),
        float_strategy().prop_map(|v| expr(ExprKind::Float(v))),
        any::<bool>().prop_map(|b| expr(ExprKind::Bool(b))),
        Just(expr(ExprKind::None)),
        "[a-z0-9 /._\"'\\\\\n\t\r\0é]{0,8}".prop_map(|s| expr(ExprKind::Str(s))),
        name_strategy().prop_map(|n| expr(ExprKind::Name(n))),
    ]
}

fn binary_op_strategy() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Or,
        BinaryOp::And,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::FloorDiv,
        BinaryOp::Mod,
        BinaryOp::MatMul,
        BinaryOp::Pow,
    ])
}

fn call_args_strategy(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = CallArgs> {
    (
        prop::collection::vec(inner.clone(), 0..3),
        prop::sample::subsequence(vec!["axis", "keepdims", "dtype", "nan", "n"], 0..3),
        prop::collection::vec(inner, 3),
    )
        .prop_map(|(positional, names, values)| CallArgs {
            positional,
            keywords: names
                .into_iter()
                .zip(values)
                .map(|(name, value)| KeywordArg {
                    name: ident(name),
                    value,
                })
                .collect(),
        })
}

fn index_items_strategy(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Vec<IndexItem>> {
    let part = prop::option::of(inner.clone().prop_map(Box::new));
    let item = prop_oneof![
        inner.prop_map(IndexItem::Expr),
        (part.clone(), part.clone(), part).prop_map(|(start, stop, step)| IndexItem::Slice {
            start,
            stop,
            step,
            span: Span::default(),
        }),
    ];
    (
        prop::collection::vec(item, 1..4),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut items, with_ellipsis, at)| {
            if with_ellipsis {
                let position = at.index(items.len() + 1);
                items.insert(position, IndexItem::Ellipsis(Span::default()));
            }
            items
        })
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    leaf_strategy().prop_recursive(5, 48, 4, |inner| {
        let inner = inner.boxed();
        prop_oneof![
            (
                prop::sample::select(vec![
                    UnaryOp::Neg,
                    UnaryOp::Pos,
                    UnaryOp::Not,
                    UnaryOp::Invert
                ]),
                inner.clone()
            )
                .prop_map(|(op, operand)| expr(ExprKind::Unary {
                    op,
                    operand: Box::new(operand),
                })),
            (binary_op_strategy(), inner.clone(), inner.clone()).prop_map(|(op, lhs, rhs)| expr(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                }
            )),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| expr(ExprKind::Tuple(v))),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| expr(ExprKind::List(v))),
            (function_name_strategy(), call_args_strategy(inner.clone())).prop_map(
                |(name, args)| expr(ExprKind::Call {
                    function: ident(&name),
                    args,
                })
            ),
            (
                inner.clone(),
                function_name_strategy(),
                call_args_strategy(inner.clone())
            )
                .prop_map(|(receiver, name, args)| expr(ExprKind::MethodCall {
                    receiver: Box::new(receiver),
                    method: ident(&name),
                    args,
                })),
            (
                inner.clone(),
                prop::sample::select(vec!["T", "shape", "dtype"])
            )
                .prop_map(|(value, attr)| expr(ExprKind::Attribute {
                    value: Box::new(value),
                    attr: ident(attr),
                })),
            (inner.clone(), index_items_strategy(inner)).prop_map(|(value, items)| expr(
                ExprKind::Index {
                    value: Box::new(value),
                    items,
                }
            )),
        ]
    })
}

fn program_strategy() -> impl Strategy<Value = Program> {
    (
        prop::collection::vec((name_strategy(), expr_strategy()), 0..3),
        expr_strategy(),
    )
        .prop_map(|(bindings, result)| Program {
            bindings: bindings
                .into_iter()
                .map(|(name, value)| Binding {
                    name: ident(&name),
                    value,
                    span: Span::default(),
                })
                .collect(),
            result,
        })
}

/// Structural equality that also treats NaN literals as equal (`Debug` prints them alike).
fn same_tree(a: &Program, b: &Program) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Every span of an accepted program and of an error lies inside the source on character
/// boundaries, so carets can always be drawn.
fn assert_no_panic_and_sane(src: &str) {
    match parse_program(src) {
        Ok(program) => {
            let printed = program.to_string();
            let reparsed = parse_syntax(&printed)
                .unwrap_or_else(|e| panic!("printed {printed:?} of {src:?} fails: {e}"));
            assert!(
                same_tree(&program.clone().without_spans(), &reparsed.without_spans()),
                "{src:?} printed as {printed:?} parses differently"
            );
        }
        Err(err) => {
            assert!(err.span.start <= err.span.end, "{err:?}");
            assert!(err.span.end <= src.len(), "{src:?}: {err:?}");
            assert!(src.is_char_boundary(err.span.start), "{src:?}: {err:?}");
            let text = err.to_string();
            assert!(text.starts_with("error: "), "{text}");
            assert!(text.contains('^'), "{text}");
        }
    }
}

const TOKEN_SOUP: &[&str] = &[
    "x", "y", "sum", "mean", "h5", "zeros", "axis", "keepdims", "T", "shape", "true", "None",
    "nan", "inf", "and", "or", "not", "1", "2.5", ".5", "1e3", "'s'", "\"a.h5\"", "+", "-", "*",
    "**", "/", "//", "%", "@", "~", "&", "|", "<", "<=", ">", ">=", "==", "!=", "=", "(", ")", "[",
    "]", ",", ":", ";", "\n", ".", "...", "#c\n", " ",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printing_then_parsing_gives_the_same_tree(program in program_strategy()) {
        let printed = program.to_string();
        let reparsed = parse_syntax(&printed);
        prop_assert!(reparsed.is_ok(), "{:?} does not parse: {}", printed,
            reparsed.as_ref().err().map(|e| e.render(&printed)).unwrap_or_default());
        let reparsed = reparsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(same_tree(&program, &reparsed.clone().without_spans()),
            "{:?}\nreparsed as\n{:?}", printed, reparsed.clone().without_spans());
        // The validator copes with every shape of tree and points inside the text.
        let names = ["x", "y", "temp", "a_1", "_t", "T2m"];
        if let Err(err) = validate_program(&reparsed, &names, &printed) {
            prop_assert!(err.span.end <= printed.len() && err.span.start <= err.span.end);
            prop_assert!(err.render(&printed).contains('^'));
        }
    }

    #[test]
    fn random_text_never_panics(src in prop_oneof!["\\PC{0,40}", "[ -~\n\t]{0,60}"]) {
        assert_no_panic_and_sane(&src);
    }

    #[test]
    fn random_bytes_as_text_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        assert_no_panic_and_sane(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_soup_never_panics(
        tokens in prop::collection::vec(prop::sample::select(TOKEN_SOUP), 0..24),
        spaced in any::<bool>(),
    ) {
        let src = tokens.join(if spaced { " " } else { "" });
        assert_no_panic_and_sane(&src);
    }
}

#[test]
fn round_trip_keeps_tricky_groupings() {
    for src in [
        "-2 ** 2",
        "(-2) ** 2",
        "2 ** 3 ** 2",
        "(2 ** 3) ** 2",
        "2 ** -x",
        "(a < b) < c",
        "a - (b - c)",
        "(a + b) * c",
        "~(a & b)",
        "(1).T",
        "(1.5).T",
        "(1, 2)[0]",
        "x[(0, 1)]",
        "x[0, 1]",
        "(x,)",
        "-(x.T)",
        "'\\n\\t\"\\\\'",
        "1e300 + 1e-300 + nan + inf",
        "not not x",
        "a or b and c",
    ] {
        let first = parse_syntax(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let printed = first.to_string();
        let second = parse_syntax(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        assert!(
            same_tree(&first.clone().without_spans(), &second.without_spans()),
            "{src} printed as {printed}"
        );
    }
}

#[test]
fn printer_adds_only_needed_parentheses() {
    for (src, printed) in [
        ("-2**2", "-2 ** 2"),
        ("(a+b)*c", "(a + b) * c"),
        ("a+(b*c)", "a + b * c"),
        ("x > 0 and not (y < 1)", "x > 0 & not (y < 1)"),
        ("x[::-1, ..., None]", "x[::-1, ..., None]"),
        ("x[1:]", "x[1:]"),
        ("f(a, k=1)", "f(a, k=1)"),
        ("t = 1; t", "t = 1\nt"),
        ("1.0", "1.0"),
        ("1e20", "1e20"),
    ] {
        let program = parse_syntax(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(program.to_string(), printed, "for {src}");
    }
}

/// The deepest programs the parser accepts, and ones just past its limits.
fn deepest_programs() -> Vec<String> {
    use super::parser::{MAX_NESTING, MAX_TREE_DEPTH};
    let calls = format!(
        "x = 1\n{}x{}",
        "sum(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    let indexes = format!(
        "x = 1\n{}0{}",
        "x[".repeat(MAX_NESTING),
        "]".repeat(MAX_NESTING)
    );
    let unary = format!(
        "x = 1\n{}x{}",
        "-(".repeat(MAX_NESTING / 2),
        ")".repeat(MAX_NESTING / 2)
    );
    let chain = format!("x = 1\n{}", vec!["x"; MAX_TREE_DEPTH].join(" + "));
    vec![calls, indexes, unary, chain]
}

#[test]
fn deepest_accepted_programs_validate_and_print_within_a_small_stack() {
    // Debug build, half the default 2 MiB test-thread stack (the worst case measured 640 KiB):
    // the depth limits leave headroom for the tree walks that come after parsing.
    let worker = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| {
            for src in deepest_programs() {
                let program = parse_program(&src).unwrap_or_else(|e| panic!("{e}"));
                let printed = program.to_string();
                let reparsed = parse_syntax(&printed).unwrap_or_else(|e| panic!("{e}"));
                assert!(same_tree(
                    &program.without_spans(),
                    &reparsed.without_spans()
                ));
                // One level deeper is refused, not overflowed.
                let deeper = src.replacen("x = 1\n", "x = 1\n-(", 1) + ")";
                let err = parse_program(&deeper).expect_err("one level too deep");
                assert_eq!(err.kind, super::ErrorKind::TooDeep, "{err}");
            }
        })
        .expect("spawn test thread");
    assert!(
        worker.join().is_ok(),
        "parsing ran out of stack or panicked"
    );
}
