//! Whole programs evaluated in process and compared with the same computation written
//! directly against the array API or in plain Rust; evaluation errors and their spans.

use crate::array::{Array, DType, Scalar};
use crate::expr::ErrorKind;

use super::{evaluate, Value};

fn values(src: &str) -> Vec<f64> {
    match evaluate(src) {
        Ok(Value::Array(a)) => a.compute_local().expect("computes").to_f64_vec(),
        Ok(Value::Scalar(s)) => vec![s.as_f64()],
        Ok(other) => panic!("{src}: not an array: {}", other.describe()),
        Err(e) => panic!("{src}:\n{e}"),
    }
}

fn array(src: &str) -> Array {
    match evaluate(src) {
        Ok(Value::Array(a)) => a,
        Ok(other) => panic!("{src}: not an array: {}", other.describe()),
        Err(e) => panic!("{src}:\n{e}"),
    }
}

fn error(src: &str) -> crate::expr::ExprError {
    match evaluate(src) {
        Ok(v) => panic!("{src}: expected an error, got {}", v.describe()),
        Err(e) => e,
    }
}

#[test]
fn arithmetic_reductions_and_methods_match_the_array_api() {
    let x = Array::random_uniform(&[30, 20], 5, 0.0, 1.0, [7, 6]).expect("x");
    let direct = x
        .sub(x.mean(0).expect("mean"))
        .expect("anomaly")
        .std(1, 1.0)
        .expect("std")
        .compute_local()
        .expect("computed")
        .to_f64_vec();
    let got = values(
        "x = random((30, 20), chunks=(7, 6), seed=5); a = x - x.mean(axis=0); a.std(axis=1, ddof=1)",
    );
    assert_eq!(got, direct);
    assert_eq!(values("2 ** 10 + 7 // 2 - 7 % 3"), vec![1024.0 + 3.0 - 1.0]);
    assert_eq!(values("-2 ** 2"), vec![-4.0]);
    assert_eq!(values("sum(arange(5) ** 2)"), vec![30.0]);
}

#[test]
fn creation_functions_follow_numpy_defaults() {
    let a = array("arange(3)");
    assert_eq!(a.dtype(), DType::I64);
    assert_eq!(array("arange(0.5, 3)").dtype(), DType::F64);
    assert_eq!(values("arange(10, 0, -3)"), vec![10.0, 7.0, 4.0, 1.0]);
    assert_eq!(values("linspace(0, 1, 3)"), vec![0.0, 0.5, 1.0]);
    assert_eq!(array("full((2, 2), 7)").dtype(), DType::I64);
    assert_eq!(array("zeros(4, dtype='f32')").dtype(), DType::F32);
    assert_eq!(values("eye(3, k=1).sum()"), vec![2.0]);
    let chunks = array("ones((10, 7), chunks=(4, -1))");
    assert_eq!(chunks.chunks().blocks(0), &[4, 4, 2]);
    assert_eq!(chunks.chunks().blocks(1), &[7]);
    let n = array("normal(10, 2, (200, 200), seed=9, chunks=50)");
    let m = n.mean(crate::array::ReduceOptions::all()).expect("mean");
    let mean = m.compute_local().expect("mean computed").to_f64_vec()[0];
    assert!((mean - 10.0).abs() < 0.05, "{mean}");
}

#[test]
fn indexing_shapes_and_joins() {
    assert_eq!(
        values("x = arange(12, chunks=5).reshape((3, -1)); x[1:, ::-2]"),
        vec![7.0, 5.0, 11.0, 9.0]
    );
    assert_eq!(values("arange(10)[[1, -1, 3]]"), vec![1.0, 9.0, 3.0]);
    assert_eq!(
        values("x = arange(6).reshape((2, 3)); x[:, [true, false, true]]"),
        vec![0.0, 2.0, 3.0, 5.0]
    );
    assert_eq!(
        array("ones((2, 3))[None, ..., None]").shape(),
        &[1, 2, 3, 1]
    );
    assert_eq!(values("ones((2, 3)).shape[-1]"), vec![3.0]);
    assert_eq!(
        values("concatenate((arange(2), arange(3)), axis=0)"),
        vec![0.0, 1.0, 0.0, 1.0, 2.0]
    );
    assert_eq!(array("stack([ones(3), zeros(3)], axis=1)").shape(), &[3, 2]);
    assert_eq!(
        values("cumsum(arange(6).reshape((2, 3)))"),
        vec![0.0, 1.0, 3.0, 6.0, 10.0, 15.0]
    );
    assert_eq!(values("diff(arange(6) ** 2, n=2)"), vec![2.0; 4]);
    assert_eq!(
        values("clip(arange(5), 1, 3)"),
        vec![1.0, 1.0, 2.0, 3.0, 3.0]
    );
    assert_eq!(values("round(arange(3) * 0.126, 2)"), vec![0.0, 0.13, 0.25]);
    assert_eq!(
        values("tensordot(eye(2), arange(4).reshape((2, 2)) * 1.0, axes=1)"),
        vec![0.0, 1.0, 2.0, 3.0]
    );
    assert_eq!(
        array("transpose(ones((2, 3, 4)), (2, 0, 1))").shape(),
        &[4, 2, 3]
    );
    assert_eq!(array("squeeze(ones((1, 3, 1)))").shape(), &[3]);
}

#[test]
fn numbers_stay_numbers_and_attributes_describe_arrays() {
    assert!(matches!(
        evaluate("sqrt(16) + 1"),
        Ok(Value::Scalar(Scalar::Float(x))) if x == 5.0
    ));
    assert!(matches!(
        evaluate("ones((3, 4)).ndim"),
        Ok(Value::Scalar(Scalar::Int(2)))
    ));
    assert!(matches!(evaluate("ones((3, 4)).dtype"), Ok(Value::Str(s)) if s == "float64"));
    let err = evaluate("ones(3).shap").expect_err("no such attribute");
    assert_eq!(
        err.message,
        "unknown attribute \"shap\"; did you mean \"shape\"?"
    );
    assert!(err
        .help
        .iter()
        .any(|h| h.contains("attributes are: T, shape")));
    assert!(matches!(evaluate("ones(3, chunks=2).chunks"), Ok(Value::Tuple(t)) if t.len() == 1));
    assert!(matches!(evaluate("ones((3, 4)).T.shape"), Ok(Value::Tuple(t)) if t.len() == 2));
}

#[test]
fn evaluation_errors_point_at_the_culprit() {
    let src = "x = ones((2, 3)); y = ones((3, 2)); x - y";
    let e = error(src);
    assert_eq!(e.kind, ErrorKind::Shape);
    assert_eq!(&src[e.span.range()], "-");
    assert!(e.message.contains("(2, 3)") && e.message.contains("(3, 2)"));

    let src = "random('big')";
    let e = error(src);
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(&src[e.span.range()], "'big'");
    assert!(e.message.contains("shape of random()"), "{}", e.message);

    let src = "h5('/nonexistent/a.h5', '/t')";
    let e = error(src);
    assert_eq!(e.kind, ErrorKind::InputFile);
    assert_eq!(&src[e.span.range()], src, "the call is the culprit");
    assert!(e.message.contains("/nonexistent/a.h5"), "{}", e.message);
    // Not a mistake in the program: one line, no snippet.
    assert_eq!(e.to_string(), format!("error: {}", e.message));

    let e = error("ones(3).astype('complex')");
    assert_eq!(e.kind, ErrorKind::Value);
    assert!(e.to_string().contains("unknown dtype \"complex\""), "{e}");

    let e = error("sum(ones((2, 2)), axis=5)");
    assert!(e.message.contains("axis 5"), "{}", e.message);

    let e = error("ones(4)[1, 2]");
    assert_eq!(e.kind, ErrorKind::Shape);

    let e = error("ones(4)['a']");
    assert_eq!(e.kind, ErrorKind::Type);

    let e = error("'a' + 1");
    assert!(e.message.contains("left operand of `+`"), "{}", e.message);
    // The rendered error carries its source and a caret.
    assert!(e.to_string().contains("1 | 'a' + 1\n  | ^^^"), "{e}");
}

#[test]
fn deeply_nested_programs_evaluate_without_overflowing() {
    let depth = 30;
    let src = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(values(&src), vec![1.0]);
    let long_sum = vec!["1"; 150].join(" + ");
    assert_eq!(values(&long_sum), vec![150.0]);
}

#[test]
fn not_is_logical_and_tilde_is_bitwise_as_in_python_and_numpy() {
    // Python: `not 5` is False, `~5` is -6; NumPy: logical_not / invert elementwise.
    assert_eq!(values("not 5"), vec![0.0]);
    assert_eq!(values("not 0"), vec![1.0]);
    assert_eq!(values("not 0.5"), vec![0.0]);
    assert_eq!(values("~5"), vec![-6.0]);
    assert_eq!(values("not arange(3)"), vec![1.0, 0.0, 0.0]);
    assert_eq!(values("~arange(3)"), vec![-1.0, -2.0, -3.0]);
    assert_eq!(values("~(arange(3) > 0)"), vec![1.0, 0.0, 0.0]);
}

#[test]
fn python_integer_remainder_by_minus_one_is_zero_even_at_the_extreme() {
    // i64::MIN % -1 == 0 in Python; only i64::MIN // -1 overflows.
    assert_eq!(values("(-9223372036854775807 - 1) % -1"), vec![0.0]);
    let e = error("(-9223372036854775807 - 1) // -1");
    assert!(e.to_string().contains("does not fit in 64 bits"), "{e}");
}
