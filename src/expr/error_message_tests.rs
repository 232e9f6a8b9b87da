//! Error-message tests: the exact rendered diagnostics users see, caret positions included,
//! and the "did you mean" suggestions for functions, methods, attributes, keywords and names.

use super::{parse_program, parse_program_with, ErrorKind, ExprError};

fn error(src: &str) -> ExprError {
    match parse_program(src) {
        Ok(program) => panic!("{src:?} should be rejected, parsed as {program}"),
        Err(err) => err,
    }
}

fn rendered(src: &str) -> String {
    error(src).to_string()
}

#[test]
fn missing_keyword_value_points_at_the_parenthesis() {
    assert_eq!(
        rendered("sum(x, axis=)"),
        "error: unexpected token ')'\n  |\n1 | sum(x, axis=)\n  |             ^ expected an expression"
    );
}

#[test]
fn errors_in_later_statements_show_their_own_line() {
    let src = "t = h5('a.h5', '/t')\nm = t.mean(axis=0)\nt - m +* 2";
    assert_eq!(
        rendered(src),
        "error: unexpected token '*'\n  |\n3 | t - m +* 2\n  |        ^ expected an expression"
    );
}

#[test]
fn unknown_function_suggests_close_names() {
    assert_eq!(
        rendered("sume(1)"),
        "error: unknown function \"sume\"; did you mean \"sum\"?\n  |\n1 | sume(1)\n  | ^^^^ not a known function\n  |\n  = help: docs/eval.md lists the functions"
    );
    assert_eq!(
        error("nanmaen(1)").message,
        "unknown function \"nanmaen\"; did you mean \"nanmean\"?"
    );
    assert_eq!(
        error("man(1)").message,
        "unknown function \"man\"; did you mean \"max\", \"mean\" or \"min\"?"
    );
    assert_eq!(
        error("frobnicate(1)").message,
        "unknown function \"frobnicate\""
    );
    assert_eq!(error("sume(1)").kind, ErrorKind::UnknownFunction);
}

#[test]
fn numpy_names_get_specific_advice() {
    let err = error("amax(1)");
    assert_eq!(
        err.message,
        "unknown function \"amax\"; did you mean \"max\"?"
    );
    let err = error("len(2)");
    assert_eq!(err.message, "unknown function \"len\"");
    assert_eq!(
        err.help.as_deref(),
        Some("use x.shape[0] for the length of the first axis")
    );
    let err = error("x = zeros(3)\nnp.sum(x)");
    assert_eq!(
        err.to_string(),
        "error: unknown name \"np\"\n  |\n2 | np.sum(x)\n  | ^^ no module prefix is needed\n  |\n  = help: functions are called directly: write sum(...), not np.sum(...)"
    );
}

#[test]
fn unknown_keyword_lists_valid_keywords() {
    assert_eq!(
        rendered("x = ones((2, 3))\nsum(x, axes=0)"),
        "error: sum() has no parameter \"axes\"; did you mean \"axis\"?\n  |\n2 | sum(x, axes=0)\n  |        ^^^^ unknown keyword\n  |\n  = help: valid keywords for sum(): x, axis, keepdims, split_every, skipna"
    );
    let err = error("x = ones(3)\nx.std(dof=1)");
    assert_eq!(
        err.message,
        ".std() has no parameter \"dof\"; did you mean \"ddof\"?"
    );
    assert_eq!(
        err.help.as_deref(),
        Some("valid keywords for .std(): axis, ddof, keepdims, split_every, skipna")
    );
    assert_eq!(err.kind, ErrorKind::UnknownKeyword);
}

#[test]
fn arguments_given_twice_are_rejected() {
    let err = error("x = ones(3)\nsum(x, 0, axis=1)");
    assert_eq!(err.message, "sum() got two values for \"axis\"");
    assert_eq!(err.kind, ErrorKind::DuplicateArgument);
    assert_eq!(
        err.line_column(err.source_text().unwrap_or_default()),
        (2, 11)
    );
    let err = error("x = ones(3)\nx.sum(x=x)");
    assert_eq!(err.message, ".sum() got two values for \"x\"");
}

#[test]
fn too_many_positional_arguments() {
    assert_eq!(
        rendered("x = ones(3)\nsum(x, 0, true)"),
        "error: sum() takes at most 2 positional arguments (x, axis) but 3 were given\n  |\n2 | sum(x, 0, true)\n  |           ^^^^ extra argument\n  |\n  = help: pass the others by keyword (keepdims=..., split_every=..., skipna=...); the signature is sum(x, axis?, *, keepdims?, split_every?, skipna?)"
    );
    let err = error("x = ones(3)\nx.astype('f4', 1)");
    assert_eq!(
        err.message,
        ".astype() takes 1 positional argument (dtype) but 2 were given"
    );
    assert_eq!(err.kind, ErrorKind::Arity);
}

#[test]
fn missing_required_arguments_point_at_the_closing_parenthesis() {
    assert_eq!(
        rendered("x = ones(3)\nwhere(x > 0, x)"),
        "error: where() is missing required argument \"y\"\n  |\n2 | where(x > 0, x)\n  |               ^ y needed\n  |\n  = help: the signature is where(condition, x, y)"
    );
    assert_eq!(
        error("h5()").message,
        "h5() is missing required arguments \"path\" and \"dataset\""
    );
    assert!(parse_program("where(condition=true, y=2, x=1)").is_ok());
}

#[test]
fn unknown_name_lists_bound_names() {
    assert_eq!(
        rendered("temp = ones(3)\npres = zeros(3)\ntemp + prse"),
        "error: unknown name \"prse\"; did you mean \"pres\"?\n  |\n3 | temp + prse\n  |        ^^^^ not bound\n  |\n  = help: bound names: temp, pres"
    );
    let err = error("x + 1");
    assert_eq!(err.message, "unknown name \"x\"");
    assert_eq!(
        err.help.as_deref(),
        Some("no names are bound; bind one first, e.g. t = h5(\"data.h5\", \"/temperature\")")
    );
    assert_eq!(err.kind, ErrorKind::UnknownName);
}

#[test]
fn predefined_names_count_as_bound() {
    assert!(parse_program_with("t.mean(axis=0)", &["t"]).is_ok());
    let err = parse_program_with("tt", &["t"]).expect_err("tt is not bound");
    assert_eq!(err.message, "unknown name \"tt\"; did you mean \"t\"?");
}

#[test]
fn names_used_before_their_binding() {
    let err = error("a = b + 1\nb = 2\na");
    assert_eq!(err.message, "\"b\" is used before it is bound");
    assert_eq!(
        err.help.as_deref(),
        Some("it is bound on line 2, column 1; move that binding above this use")
    );
}

#[test]
fn functions_variables_and_attributes_are_not_confused() {
    assert_eq!(
        error("sum + 1").message,
        "\"sum\" is a function, not a value"
    );
    assert_eq!(
        error("x = ones(3)\nx(0)").message,
        "\"x\" is a variable, not a function"
    );
    assert_eq!(
        error("shape(1)").message,
        "\"shape\" is an attribute, not a function"
    );
    assert_eq!(
        error("x = ones(3)\nx.shape()").message,
        "\"shape\" is an attribute, not a method"
    );
    assert_eq!(
        error("x = ones(3)\nx.sum").message,
        "\"sum\" is a function, not an attribute"
    );
    assert_eq!(
        error("x = ones(3)\nx.zeros()").message,
        "zeros() cannot be called as a method"
    );
}

#[test]
fn unknown_methods_and_attributes_suggest_close_names() {
    let err = error("x = ones(3)\nx.maen()");
    assert_eq!(
        err.message,
        "unknown method \"maen\"; did you mean \"mean\"?"
    );
    assert_eq!(err.kind, ErrorKind::UnknownMethod);
    // An unknown attribute may name a coordinate (`x.lat`): the evaluator decides
    // (eval::program_tests), only a function used as an attribute is refused here.
    assert_eq!(
        error("x = ones(3)\nx.mean").message,
        "\"mean\" is a function, not an attribute"
    );
}

#[test]
fn lexer_errors_render_with_carets() {
    assert_eq!(
        rendered("x = h5('a.h5, '/t')"),
        "error: unterminated string\n  |\n1 | x = h5('a.h5, '/t')\n  |                  ^ this string is never closed\n  |\n  = help: end the string with ' on the same line"
    );
    assert_eq!(
        rendered("x ^ 2"),
        "error: unsupported operator '^'\n  |\n1 | x ^ 2\n  |   ^ not an operator here\n  |\n  = help: use '**' for powers, e.g. x ** 2"
    );
    assert_eq!(
        rendered("x = h5('a.h5', '/t'"),
        "error: unexpected end of input\n  |\n1 | x = h5('a.h5', '/t'\n  |                    ^ expected ',' or ')'\n  |\n  = help: the '(' on line 1, column 7 is not closed"
    );
}

#[test]
fn unclosed_brackets_say_where_they_opened() {
    assert_eq!(
        rendered("x = ones(3)\nsum(x,\n  axis=0"),
        "error: unexpected end of input\n  |\n3 |   axis=0\n  |         ^ expected ',' or ')'\n  |\n  = help: the '(' on line 2, column 4 is not closed"
    );
}

#[test]
fn chained_comparisons_explain_the_fix() {
    assert_eq!(
        rendered("x = ones(3)\n0 < x < 1"),
        "error: comparison operators cannot be chained\n  |\n2 | 0 < x < 1\n  |       ^ second comparison\n  |\n  = help: combine comparisons explicitly, e.g. (a < b) & (b < c)"
    );
}

#[test]
fn single_equals_in_an_expression_hints_at_comparison() {
    let err = error("x = ones(3)\n(x = 1)");
    assert_eq!(err.message, "unexpected token '='");
    assert!(err
        .help
        .as_deref()
        .is_some_and(|h| h.contains("to compare values use '=='")));
}

#[test]
fn well_formed_programs_validate() {
    for src in [
        "x = h5(\"a.h5\", \"/g/d\"); sum(x, axis=(0,2), keepdims=true)",
        "x = nc('f.nc', 'tas')\nx.astype(\"f32\").mean(axis=0)[::-1]",
        "x = randn((100, 100), seed=1)\nwhere(isnan(x), 0, x).std(axis=0, ddof=1)",
        "x = arange(10)\ny = x ** 2\n(y[x > 3] - 1).sum()",
        "a = ones((3, 3)); b = eye(3); (a @ b).T.shape",
        "x = zeros((4, 4)); x.map_overlap('laplace', 1, boundary='reflect')",
        "concatenate((ones(3), zeros(3)), axis=0)[None, :]",
        "x = linspace(0, 1, 11); clip(x, min=0.2, max=0.8).round(1)",
    ] {
        if let Err(err) = parse_program(src) {
            panic!("{src:?} should validate:\n{err}");
        }
    }
}

#[test]
fn python_syntax_and_overlong_slices_get_hints() {
    let err = error("x = ones(3)\nsum(v for v in x)");
    assert_eq!(err.message, "unexpected name \"for\"");
    assert!(err
        .help
        .as_deref()
        .is_some_and(|h| h.starts_with("'for' is Python syntax")));
    assert_eq!(
        rendered("x = ones(3)\nx[1:2:3:4]"),
        "error: unexpected token ':'\n  |\n2 | x[1:2:3:4]\n  |        ^ expected ',' or ']'\n  |\n  = help: a slice has at most three parts: start:stop:step"
    );
    // A stray token inside brackets is not reported as an unclosed bracket.
    assert_eq!(error("x = ones(3)\nsum(x x)").help, None);
}

#[test]
fn docs_examples_parse_and_show_real_messages() {
    let docs = include_str!("../../docs/eval.md");
    let example = docs
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/eval.md opens with an example program");
    if let Err(err) = parse_program(example) {
        panic!("the docs example does not parse:\n{err}");
    }
    let shown = rendered("sum(x, axis=)");
    assert!(docs.contains(&shown), "docs/eval.md should show:\n{shown}");
    let shown = rendered("x = ones((2, 3))\nsum(x, axes=0)").replace("x = ones((2, 3))\n", "");
    assert!(docs.contains(&shown), "docs/eval.md should show:\n{shown}");
}
