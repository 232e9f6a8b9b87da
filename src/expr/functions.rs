//! The catalogue of functions, methods and attributes that `tessera eval` programs may use,
//! kept as data: each [`FunctionSpec`] names its parameters in positional order, which are
//! required, which are keyword-only, and whether it may be called as a method (`x.sum()`).
//!
//! The validator uses it for arity and keyword checks and "did you mean" suggestions; the
//! evaluator reuses it to bind arguments to parameters. This module must not evaluate anything.

use std::fmt;

pub use super::functions_labeled::{LABEL_ATTRIBUTES, LABEL_FUNCTIONS};

/// What a function does, for grouping in help texts and the docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Build a new array from a shape: `zeros`, `arange`, `random`, ...
    Creation,
    /// Read an array from a file: `h5`, `nc`.
    Input,
    /// Element by element: `sqrt`, `where`, `astype`, ...
    Elementwise,
    /// Reduce along axes: `sum`, `mean`, `argmax`, ...
    Reduction,
    /// Rearrange or combine: `transpose`, `concatenate`, `rechunk`, `cumsum`, ...
    Shape,
    /// Select and combine by labels: `sel`, `isel`, `slice` (see `functions_labeled`).
    Labels,
}

impl Category {
    /// Lower-case name used in docs and help.
    pub fn name(self) -> &'static str {
        match self {
            Category::Creation => "creation",
            Category::Input => "input",
            Category::Elementwise => "elementwise",
            Category::Reduction => "reduction",
            Category::Shape => "shape",
            Category::Labels => "labels",
        }
    }
}

/// One parameter of a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter name, usable as a keyword argument.
    pub name: &'static str,
    /// Whether a call must supply it.
    pub required: bool,
    /// Whether it can only be given as `name=value`.
    pub keyword_only: bool,
    /// Whether it collects every keyword no other parameter takes (`**name`: dimension
    /// names in `sel(x, time=...)`).
    pub var_keyword: bool,
}

/// A required parameter, positional or keyword.
pub(super) const fn req(name: &'static str) -> Param {
    Param {
        name,
        required: true,
        keyword_only: false,
        var_keyword: false,
    }
}

/// An optional parameter, positional or keyword.
pub(super) const fn opt(name: &'static str) -> Param {
    Param {
        name,
        required: false,
        keyword_only: false,
        var_keyword: false,
    }
}

/// An optional keyword-only parameter.
pub(super) const fn kw(name: &'static str) -> Param {
    Param {
        name,
        required: false,
        keyword_only: true,
        var_keyword: false,
    }
}

/// The parameter collecting the other keywords (`**name`).
pub(super) const fn var_kw(name: &'static str) -> Param {
    Param {
        name,
        required: false,
        keyword_only: true,
        var_keyword: true,
    }
}

/// A function the language knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The name it is called by.
    pub name: &'static str,
    /// What kind of function it is.
    pub category: Category,
    /// Parameters in positional order; keyword-only ones come last.
    pub params: &'static [Param],
    /// Whether `x.name(...)` is allowed, meaning `name(x, ...)`.
    pub method: bool,
    /// One line for help texts.
    pub summary: &'static str,
}

impl FunctionSpec {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// How many arguments may be given by position (receiver included for methods).
    pub fn max_positional(&self) -> usize {
        self.params.iter().filter(|p| !p.keyword_only).count()
    }

    /// The parameter collecting other keywords, if any.
    pub fn var_keyword(&self) -> Option<&'static Param> {
        self.params.iter().find(|p| p.var_keyword)
    }

    /// Python-style signature, `sum(x, axis?, *, keepdims?, split_every?)`: `?` marks
    /// optional parameters, those after `*` are keyword-only.
    pub fn signature(&self) -> String {
        let mut parts = Vec::new();
        let mut star_written = false;
        for param in self.params {
            if param.keyword_only && !star_written {
                parts.push("*".to_string());
                star_written = true;
            }
            if param.var_keyword {
                parts.push(format!("**{}", param.name));
                continue;
            }
            let mark = if param.required { "" } else { "?" };
            parts.push(format!("{}{mark}", param.name));
        }
        format!("{}({})", self.name, parts.join(", "))
    }
}

impl fmt::Display for FunctionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.signature())
    }
}

/// An attribute arrays have: `x.T`, `x.shape`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeSpec {
    /// The attribute name.
    pub name: &'static str,
    /// One line for help texts.
    pub summary: &'static str,
}

/// A name from NumPy or elsewhere that the catalogue spells differently, and what to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AliasHint {
    /// The foreign name.
    pub name: &'static str,
    /// The catalogue function to use instead, when there is one.
    pub use_function: Option<&'static str>,
    /// Advice shown as help.
    pub advice: &'static str,
}

const ELEMENTWISE_X: &[Param] = &[req("x")];
const BINARY_XY: &[Param] = &[req("x"), req("y")];
const REDUCTION: &[Param] = &[req("x"), opt("axis"), kw("keepdims"), kw("split_every")];
// Reductions that skip missing values of labeled data (docs/labeled.md, "Missing values").
const NAN_REDUCTION: &[Param] = &[
    req("x"),
    opt("axis"),
    kw("keepdims"),
    kw("split_every"),
    kw("skipna"),
];
const REDUCTION_DDOF: &[Param] = &[
    req("x"),
    opt("axis"),
    kw("ddof"),
    kw("keepdims"),
    kw("split_every"),
    kw("skipna"),
];
// nanvar/nanstd (issue 12 statistics family).
const NAN_DDOF: &[Param] = &[
    req("x"),
    opt("axis"),
    kw("ddof"),
    kw("keepdims"),
    kw("split_every"),
];
const QUANTILE: &[Param] = &[req("x"), req("q"), opt("axis")];
const MEDIAN: &[Param] = &[req("x"), opt("axis")];
const FILLED: &[Param] = &[req("shape"), opt("dtype"), kw("chunks")];
const SCAN: &[Param] = &[req("x"), opt("axis"), opt("dtype")];
const JOIN: &[Param] = &[req("arrays"), opt("axis")];

macro_rules! function {
    ($name:literal, $category:ident, $params:expr, method: $method:literal, $summary:literal) => {
        FunctionSpec {
            name: $name,
            category: Category::$category,
            params: $params,
            method: $method,
            summary: $summary,
        }
    };
}

/// Every function the language knows, grouped by category.
pub static FUNCTIONS: &[FunctionSpec] = &[
    // Creation.
    function!("zeros", Creation, FILLED, method: false, "array of zeros"),
    function!("ones", Creation, FILLED, method: false, "array of ones"),
    function!(
        "full",
        Creation,
        &[req("shape"), req("fill_value"), opt("dtype"), kw("chunks")],
        method: false,
        "array filled with one value"
    ),
    function!(
        "arange",
        Creation,
        &[req("start"), opt("stop"), opt("step"), opt("dtype"), kw("chunks")],
        method: false,
        "evenly spaced values by step; arange(n) is 0..n"
    ),
    function!(
        "linspace",
        Creation,
        &[req("start"), req("stop"), opt("num"), kw("endpoint"), kw("dtype"), kw("chunks")],
        method: false,
        "num evenly spaced values from start to stop"
    ),
    function!(
        "eye",
        Creation,
        &[req("n"), opt("m"), opt("k"), opt("dtype"), kw("chunks")],
        method: false,
        "identity matrix (ones on diagonal k)"
    ),
    function!(
        "random",
        Creation,
        &[req("shape"), kw("seed"), kw("chunks")],
        method: false,
        "uniform random values in [0, 1)"
    ),
    function!(
        "uniform",
        Creation,
        &[req("low"), req("high"), req("shape"), kw("seed"), kw("chunks")],
        method: false,
        "uniform random values in [low, high)"
    ),
    function!(
        "randn",
        Creation,
        &[req("shape"), kw("seed"), kw("chunks")],
        method: false,
        "standard normal random values"
    ),
    function!(
        "normal",
        Creation,
        &[req("loc"), req("scale"), req("shape"), kw("seed"), kw("chunks")],
        method: false,
        "normal random values with mean loc and standard deviation scale"
    ),
    // Input.
    function!(
        "h5",
        Input,
        &[req("path"), req("dataset"), kw("chunks"), kw("raw"), kw("concat_dim")],
        method: false,
        "a dataset of an HDF5 file (a glob: files concatenated along concat_dim)"
    ),
    function!(
        "nc",
        Input,
        &[req("path"), req("variable"), kw("chunks"), kw("raw"), kw("concat_dim")],
        method: false,
        "a variable of a NetCDF file, CF-decoded unless raw=true (a glob: files concatenated)"
    ),
    // Elementwise.
    function!("abs", Elementwise, ELEMENTWISE_X, method: false, "absolute value"),
    function!("sqrt", Elementwise, ELEMENTWISE_X, method: false, "square root"),
    function!("exp", Elementwise, ELEMENTWISE_X, method: false, "e to the power x"),
    function!("log", Elementwise, ELEMENTWISE_X, method: false, "natural logarithm"),
    function!("log10", Elementwise, ELEMENTWISE_X, method: false, "base-10 logarithm"),
    function!("sin", Elementwise, ELEMENTWISE_X, method: false, "sine (radians)"),
    function!("cos", Elementwise, ELEMENTWISE_X, method: false, "cosine (radians)"),
    function!("tan", Elementwise, ELEMENTWISE_X, method: false, "tangent (radians)"),
    function!("tanh", Elementwise, ELEMENTWISE_X, method: false, "hyperbolic tangent"),
    function!("floor", Elementwise, ELEMENTWISE_X, method: false, "round down"),
    function!("ceil", Elementwise, ELEMENTWISE_X, method: false, "round up"),
    function!(
        "round",
        Elementwise,
        &[req("x"), opt("decimals")],
        method: true,
        "round half to even, to a number of decimals"
    ),
    function!(
        "clip",
        Elementwise,
        &[req("x"), opt("min"), opt("max")],
        method: true,
        "limit values to [min, max]"
    ),
    function!("sign", Elementwise, ELEMENTWISE_X, method: false, "sign: -1, 0 or 1"),
    function!("square", Elementwise, ELEMENTWISE_X, method: false, "x * x"),
    function!("cbrt", Elementwise, ELEMENTWISE_X, method: false, "cube root"),
    function!("log1p", Elementwise, ELEMENTWISE_X, method: false, "log(1 + x), accurate near 0"),
    function!("expm1", Elementwise, ELEMENTWISE_X, method: false, "exp(x) - 1, accurate near 0"),
    function!("log2", Elementwise, ELEMENTWISE_X, method: false, "base-2 logarithm"),
    function!("exp2", Elementwise, ELEMENTWISE_X, method: false, "2 to the power x"),
    function!("arcsin", Elementwise, ELEMENTWISE_X, method: false, "inverse sine"),
    function!("arccos", Elementwise, ELEMENTWISE_X, method: false, "inverse cosine"),
    function!("arctan", Elementwise, ELEMENTWISE_X, method: false, "inverse tangent"),
    function!("sinh", Elementwise, ELEMENTWISE_X, method: false, "hyperbolic sine"),
    function!("cosh", Elementwise, ELEMENTWISE_X, method: false, "hyperbolic cosine"),
    function!("arcsinh", Elementwise, ELEMENTWISE_X, method: false, "inverse hyperbolic sine"),
    function!("arccosh", Elementwise, ELEMENTWISE_X, method: false, "inverse hyperbolic cosine"),
    function!("arctanh", Elementwise, ELEMENTWISE_X, method: false, "inverse hyperbolic tangent"),
    function!("trunc", Elementwise, ELEMENTWISE_X, method: false, "round toward zero"),
    function!("deg2rad", Elementwise, ELEMENTWISE_X, method: false, "degrees to radians"),
    function!("rad2deg", Elementwise, ELEMENTWISE_X, method: false, "radians to degrees"),
    function!("isinf", Elementwise, ELEMENTWISE_X, method: false, "true where x is +inf or -inf"),
    function!("arctan2", Elementwise, BINARY_XY, method: false, "arctan(x / y) in the quadrant of the point (y, x)"),
    function!("hypot", Elementwise, BINARY_XY, method: false, "sqrt(x**2 + y**2) without overflow"),
    function!("fmod", Elementwise, BINARY_XY, method: false, "remainder with the sign of x (C fmod)"),
    function!("remainder", Elementwise, BINARY_XY, method: false, "remainder with the sign of y (also x % y)"),
    function!("power", Elementwise, BINARY_XY, method: false, "x to the power y (also x ** y)"),
    function!("float_power", Elementwise, BINARY_XY, method: false, "x to the power y in float64"),
    function!(
        "isclose",
        Elementwise,
        &[req("x"), req("y"), opt("rtol"), opt("atol"), kw("equal_nan")],
        method: false,
        "true where |x - y| <= atol + rtol * |y| (NumPy's defaults 1e-05, 1e-08)"
    ),
    function!(
        "allclose",
        Elementwise,
        &[req("x"), req("y"), opt("rtol"), opt("atol"), kw("equal_nan")],
        method: false,
        "true when isclose holds everywhere"
    ),
    function!("minimum", Elementwise, BINARY_XY, method: false, "elementwise smaller value"),
    function!("maximum", Elementwise, BINARY_XY, method: false, "elementwise larger value"),
    function!("isnan", Elementwise, ELEMENTWISE_X, method: false, "true where x is NaN"),
    function!("isfinite", Elementwise, ELEMENTWISE_X, method: false, "true where x is finite"),
    function!(
        "nan_to_num",
        Elementwise,
        &[req("x"), kw("nan"), kw("posinf"), kw("neginf")],
        method: false,
        "replace NaN and infinities by numbers"
    ),
    function!(
        "where",
        Elementwise,
        &[req("condition"), req("x"), req("y")],
        method: false,
        "x where condition holds, else y"
    ),
    function!(
        "astype",
        Elementwise,
        &[req("x"), req("dtype")],
        method: true,
        "convert to another dtype (\"f32\", \"f64\", \"i32\", \"i64\", \"bool\", ...)"
    ),
    // Reductions.
    function!("sum", Reduction, NAN_REDUCTION, method: true, "sum"),
    function!("mean", Reduction, NAN_REDUCTION, method: true, "arithmetic mean"),
    function!("min", Reduction, NAN_REDUCTION, method: true, "minimum"),
    function!("max", Reduction, NAN_REDUCTION, method: true, "maximum"),
    function!("prod", Reduction, REDUCTION, method: true, "product"),
    function!("var", Reduction, REDUCTION_DDOF, method: true, "variance"),
    function!("std", Reduction, REDUCTION_DDOF, method: true, "standard deviation"),
    function!("any", Reduction, REDUCTION, method: true, "true if any element is true"),
    function!("all", Reduction, REDUCTION, method: true, "true if all elements are true"),
    function!("argmin", Reduction, REDUCTION, method: true, "index of the minimum"),
    function!("argmax", Reduction, REDUCTION, method: true, "index of the maximum"),
    function!("nansum", Reduction, REDUCTION, method: false, "sum ignoring NaN"),
    function!("nanmean", Reduction, REDUCTION, method: false, "mean ignoring NaN"),
    function!("nanmin", Reduction, REDUCTION, method: false, "minimum ignoring NaN"),
    function!("nanmax", Reduction, REDUCTION, method: false, "maximum ignoring NaN"),
    function!("nanprod", Reduction, REDUCTION, method: false, "product ignoring NaN"),
    function!("ptp", Reduction, REDUCTION, method: false, "peak to peak: max - min"),
    function!("median", Reduction, MEDIAN, method: false, "median (exact; the axis in one chunk)"),
    function!("nanmedian", Reduction, MEDIAN, method: false, "median ignoring NaN"),
    function!(
        "quantile",
        Reduction,
        QUANTILE,
        method: false,
        "quantiles q in [0, 1], linear interpolation (exact; the axis in one chunk)"
    ),
    function!("nanquantile", Reduction, QUANTILE, method: false, "quantiles ignoring NaN"),
    function!("percentile", Reduction, QUANTILE, method: false, "quantiles q in percent"),
    function!(
        "nanpercentile",
        Reduction,
        QUANTILE,
        method: false,
        "quantiles q in percent ignoring NaN"
    ),
    function!(
        "count_nonzero",
        Reduction,
        REDUCTION,
        method: false,
        "number of non-zero (true) elements"
    ),
    // Shape operations.
    function!(
        "transpose",
        Shape,
        &[req("x"), opt("axes")],
        method: true,
        "permute axes (reverse them by default)"
    ),
    function!(
        "reshape",
        Shape,
        &[req("x"), req("shape")],
        method: true,
        "same elements, new shape"
    ),
    function!(
        "squeeze",
        Shape,
        &[req("x"), opt("axis")],
        method: true,
        "drop axes of length one"
    ),
    function!(
        "expand_dims",
        Shape,
        &[req("x"), req("axis")],
        method: false,
        "insert an axis of length one"
    ),
    function!(
        "concatenate",
        Shape,
        JOIN,
        method: false,
        "join arrays along an existing axis"
    ),
    function!("stack", Shape, JOIN, method: false, "join arrays along a new axis"),
    function!(
        "broadcast_to",
        Shape,
        &[req("x"), req("shape")],
        method: false,
        "repeat along axes to reach a shape"
    ),
    function!(
        "rechunk",
        Shape,
        &[req("x"), req("chunks")],
        method: true,
        "change the chunk layout"
    ),
    function!("cumsum", Shape, SCAN, method: true, "cumulative sum along an axis"),
    function!("cumprod", Shape, SCAN, method: true, "cumulative product along an axis"),
    function!(
        "diff",
        Shape,
        &[req("x"), opt("n"), opt("axis")],
        method: false,
        "n-th discrete difference along an axis"
    ),
    function!(
        "sort",
        Shape,
        &[req("x"), opt("axis")],
        method: false,
        "values sorted along an axis (default the last), NaN last"
    ),
    function!(
        "argsort",
        Shape,
        &[req("x"), opt("axis")],
        method: false,
        "positions that sort each lane along an axis (stable)"
    ),
    function!("matmul", Shape, BINARY_XY, method: false, "matrix product (also x @ y)"),
    function!(
        "tensordot",
        Shape,
        &[req("x"), req("y"), opt("axes")],
        method: false,
        "sum of products over the given axes"
    ),
    function!(
        "map_overlap",
        Shape,
        &[req("x"), req("function"), req("depth"), kw("boundary"), kw("trim")],
        method: true,
        "apply a registered kernel to chunks extended by depth neighbouring cells"
    ),
    // ---- Issue 12, manipulation family (branch wt2/funcs): begin ----
    function!(
        "flip",
        Shape,
        &[req("x"), opt("axis")],
        method: false,
        "elements in reverse order along axes (all by default)"
    ),
    function!(
        "roll",
        Shape,
        &[req("x"), req("shift"), opt("axis")],
        method: false,
        "elements shifted along an axis (the flattened array by default), wrapping around"
    ),
    function!(
        "swapaxes",
        Shape,
        &[req("x"), req("axis1"), req("axis2")],
        method: true,
        "two axes exchanged"
    ),
    function!(
        "moveaxis",
        Shape,
        &[req("x"), req("source"), req("destination")],
        method: false,
        "axes moved to new positions, the others keeping their order"
    ),
    function!(
        "repeat",
        Shape,
        &[req("x"), req("repeats"), opt("axis")],
        method: true,
        "each element repeated along an axis (the flattened array by default)"
    ),
    function!(
        "tile",
        Shape,
        &[req("x"), req("reps")],
        method: false,
        "the whole array repeated along each axis"
    ),
    function!(
        "pad",
        Shape,
        &[req("x"), req("pad_width"), opt("mode"), kw("constant_values")],
        method: false,
        "extended by cells on each axis: constant, edge, reflect or wrap"
    ),
    function!(
        "triu",
        Shape,
        &[req("x"), opt("k")],
        method: false,
        "upper triangle of the last two axes (on and above diagonal k), zeros elsewhere"
    ),
    function!(
        "tril",
        Shape,
        &[req("x"), opt("k")],
        method: false,
        "lower triangle of the last two axes (on and below diagonal k), zeros elsewhere"
    ),
    function!("ravel", Shape, &[req("x")], method: true, "the array as 1-d, row-major"),
    function!(
        "vstack",
        Shape,
        &[req("arrays")],
        method: false,
        "join arrays along the first axis, 1-d ones as rows"
    ),
    function!(
        "hstack",
        Shape,
        &[req("arrays")],
        method: false,
        "join arrays along the second axis (the first when all are 1-d)"
    ),
    function!(
        "zeros_like",
        Creation,
        &[req("x"), opt("dtype")],
        method: false,
        "zeros of the shape and chunks of x"
    ),
    function!(
        "ones_like",
        Creation,
        &[req("x"), opt("dtype")],
        method: false,
        "ones of the shape and chunks of x"
    ),
    function!(
        "full_like",
        Creation,
        &[req("x"), req("fill_value"), opt("dtype")],
        method: false,
        "a value in the shape and chunks of x"
    ),
    function!(
        "take",
        Shape,
        &[req("x"), req("indices"), opt("axis")],
        method: true,
        "elements at the given positions along an axis (the flattened array by default)"
    ),
    function!(
        "logspace",
        Creation,
        &[
            req("start"),
            req("stop"),
            opt("num"),
            kw("endpoint"),
            kw("base"),
            kw("dtype"),
            kw("chunks")
        ],
        method: false,
        "num values evenly spaced on a log scale: base ** linspace(start, stop, num)"
    ),
    function!(
        "meshgrid",
        Shape,
        &[req("x"), opt("y"), opt("z"), kw("indexing")],
        method: false,
        "a tuple of coordinate arrays from up to three 1-d vectors (indexing \"xy\" or \"ij\")"
    ),
    // ---- Issue 12, manipulation family: end ----
    // ---- Issue 12, sorting and searching family (branch wt2/funcs): begin ----
    function!(
        "digitize",
        Shape,
        &[req("x"), req("bins"), opt("right")],
        method: false,
        "bin index of each element for increasing bins written in the program"
    ),
    function!(
        "searchsorted",
        Shape,
        &[req("a"), req("v"), opt("side")],
        method: false,
        "insertion positions of v into the increasing values a written in the program"
    ),
    function!(
        "isin",
        Shape,
        &[req("x"), req("test_elements")],
        method: false,
        "whether each element is one of the values written in the program"
    ),
    // ---- Issue 12, sorting and searching family: end ----
    // ---- Issue 12, statistics family (branch wt2/funcs): begin ----
    function!(
        "nanvar",
        Reduction,
        NAN_DDOF,
        method: false,
        "variance ignoring NaN"
    ),
    function!(
        "nanstd",
        Reduction,
        NAN_DDOF,
        method: false,
        "standard deviation ignoring NaN"
    ),
    function!(
        "nancumsum",
        Shape,
        SCAN,
        method: false,
        "cumulative sum along an axis, NaN counted as 0"
    ),
    function!(
        "nancumprod",
        Shape,
        SCAN,
        method: false,
        "cumulative product along an axis, NaN counted as 1"
    ),
    function!(
        "average",
        Reduction,
        &[req("x"), opt("axis"), opt("weights")],
        method: false,
        "weighted mean: sum(x * weights) / sum(weights) (the mean without weights)"
    ),
    function!(
        "cov",
        Reduction,
        &[req("x"), opt("rowvar"), opt("ddof")],
        method: false,
        "covariance matrix of the rows (or columns: rowvar=False), normalised by N - ddof"
    ),
    function!(
        "corrcoef",
        Reduction,
        &[req("x"), opt("rowvar")],
        method: false,
        "Pearson correlation coefficients of the rows (or columns: rowvar=False)"
    ),
    // ---- Issue 12, statistics family: end ----
];

/// Every attribute arrays have.
pub static ATTRIBUTES: &[AttributeSpec] = &[
    AttributeSpec {
        name: "T",
        summary: "the transpose",
    },
    AttributeSpec {
        name: "shape",
        summary: "the shape, a tuple of lengths",
    },
    AttributeSpec {
        name: "dtype",
        summary: "the element type",
    },
    AttributeSpec {
        name: "ndim",
        summary: "the number of axes",
    },
    AttributeSpec {
        name: "size",
        summary: "the number of elements",
    },
    AttributeSpec {
        name: "chunks",
        summary: "the chunk lengths along each axis",
    },
];

/// NumPy (and other) names people reach for that are spelled differently here.
pub static ALIAS_HINTS: &[AliasHint] = &[
    AliasHint {
        name: "amin",
        use_function: Some("min"),
        advice: "min(x, axis=...) is the minimum",
    },
    AliasHint {
        name: "amax",
        use_function: Some("max"),
        advice: "max(x, axis=...) is the maximum",
    },
    AliasHint {
        name: "absolute",
        use_function: Some("abs"),
        advice: "abs(x) is the absolute value",
    },
    AliasHint {
        name: "dot",
        use_function: Some("matmul"),
        advice: "use matmul(x, y) or x @ y",
    },
    AliasHint {
        name: "concat",
        use_function: Some("concatenate"),
        advice: "concatenate((a, b), axis=0) joins arrays",
    },
    AliasHint {
        name: "pow",
        use_function: Some("power"),
        advice: "use power(x, y) or the ** operator: x ** 2",
    },
    AliasHint {
        name: "len",
        use_function: None,
        advice: "use x.shape[0] for the length of the first axis",
    },
    AliasHint {
        name: "logical_and",
        use_function: None,
        advice: "use the & operator (or `and`): (a > 0) & (b > 0)",
    },
    AliasHint {
        name: "logical_or",
        use_function: None,
        advice: "use the | operator (or `or`): (a > 0) | (b > 0)",
    },
    AliasHint {
        name: "logical_not",
        use_function: None,
        advice: "use the ~ operator (or `not`): ~mask",
    },
    AliasHint {
        name: "array",
        use_function: None,
        advice: "write a list literal such as [1, 2, 3]",
    },
    AliasHint {
        name: "asarray",
        use_function: None,
        advice: "write a list literal such as [1, 2, 3]",
    },
];

/// Every function: the NumPy-like catalogue, then the label functions.
fn all_functions() -> impl Iterator<Item = &'static FunctionSpec> {
    FUNCTIONS.iter().chain(LABEL_FUNCTIONS)
}

/// The function called `name`.
pub fn lookup_function(name: &str) -> Option<&'static FunctionSpec> {
    all_functions().find(|f| f.name == name)
}

/// The attribute called `name`.
pub fn lookup_attribute(name: &str) -> Option<&'static AttributeSpec> {
    ATTRIBUTES
        .iter()
        .chain(LABEL_ATTRIBUTES)
        .find(|a| a.name == name)
}

/// The alias hint for `name`.
pub fn lookup_alias(name: &str) -> Option<&'static AliasHint> {
    ALIAS_HINTS.iter().find(|a| a.name == name)
}

/// Names of all functions.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    all_functions().map(|f| f.name)
}

/// Names of the functions that may be called as methods.
pub fn method_names() -> impl Iterator<Item = &'static str> {
    all_functions().filter(|f| f.method).map(|f| f.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_parameters_well_formed() {
        let mut names = HashSet::new();
        for spec in FUNCTIONS {
            assert!(names.insert(spec.name), "duplicate function {}", spec.name);
            let mut params = HashSet::new();
            let mut seen_keyword_only = false;
            let mut seen_optional = false;
            for param in spec.params {
                assert!(
                    params.insert(param.name),
                    "{}: repeated {}",
                    spec.name,
                    param.name
                );
                assert!(
                    !seen_keyword_only || param.keyword_only,
                    "{}: positional {} after keyword-only",
                    spec.name,
                    param.name
                );
                if !param.keyword_only {
                    assert!(
                        !(seen_optional && param.required),
                        "{}: required {} after an optional parameter",
                        spec.name,
                        param.name
                    );
                }
                seen_keyword_only |= param.keyword_only;
                seen_optional |= !param.required;
            }
            if spec.method {
                let first = spec.params.first().expect("methods have a receiver");
                assert!(first.required && !first.keyword_only, "{}", spec.name);
            }
        }
        for attribute in ATTRIBUTES {
            assert!(
                lookup_function(attribute.name).is_none(),
                "{}",
                attribute.name
            );
        }
        for alias in ALIAS_HINTS {
            assert!(lookup_function(alias.name).is_none(), "{}", alias.name);
            if let Some(target) = alias.use_function {
                assert!(lookup_function(target).is_some(), "{target}");
            }
        }
    }

    #[test]
    fn the_brief_s_functions_are_all_present() {
        let wanted = "zeros ones full arange linspace eye random uniform randn normal h5 nc abs \
            sqrt exp log log10 sin cos tan tanh floor ceil round clip minimum maximum isnan \
            isfinite nan_to_num where astype sum mean min max prod var std any all argmin argmax \
            nansum nanmean nanmin nanmax count_nonzero transpose reshape squeeze expand_dims \
            concatenate stack broadcast_to rechunk cumsum cumprod diff matmul tensordot \
            map_overlap sign square cbrt log1p expm1 log2 exp2 arcsin arccos arctan sinh cosh \
            arcsinh arccosh arctanh trunc deg2rad rad2deg isinf arctan2 hypot fmod remainder power \
            float_power isclose allclose median nanmedian quantile nanquantile percentile \
            nanpercentile sort argsort nanprod ptp flip roll swapaxes moveaxis repeat tile pad \
            triu tril ravel vstack hstack zeros_like ones_like full_like nanvar nanstd nancumsum \
            nancumprod average cov corrcoef take logspace digitize searchsorted isin \
            meshgrid";
        for name in wanted.split_whitespace() {
            assert!(lookup_function(name).is_some(), "missing {name}");
        }
        assert_eq!(FUNCTIONS.len(), wanted.split_whitespace().count());
    }

    #[test]
    fn signatures_mark_optional_and_keyword_only_parameters() {
        let sum = lookup_function("sum").expect("sum exists");
        assert_eq!(
            sum.signature(),
            "sum(x, axis?, *, keepdims?, split_every?, skipna?)"
        );
        assert_eq!(sum.max_positional(), 2);
        let std = lookup_function("std").expect("std exists");
        assert!(std.param("ddof").is_some_and(|p| p.keyword_only));
        assert_eq!(
            lookup_function("where").map(FunctionSpec::signature),
            Some("where(condition, x, y)".to_string())
        );
    }

    /// docs/eval.md's function table as the catalogue gives it.
    fn docs_table() -> String {
        let mut table =
            String::from("| category | signature | method | what it does |\n|---|---|---|---|\n");
        for spec in all_functions() {
            let method = if spec.method { "yes" } else { "" };
            table.push_str(&format!(
                "| {} | `{}` | {method} | {} |\n",
                spec.category.name(),
                spec.signature(),
                spec.summary
            ));
        }
        table
    }

    #[test]
    fn docs_function_table_is_the_catalogue() {
        let docs = include_str!("../../docs/eval.md");
        let table = docs_table();
        assert!(
            docs.contains(&table),
            "docs/eval.md's function table differs from the catalogue; it should read:\n{table}"
        );
    }

    #[test]
    fn docs_list_every_signature_and_attribute() {
        let docs = include_str!("../../docs/eval.md");
        for spec in all_functions() {
            let row = format!("| {} | `{}` |", spec.category.name(), spec.signature());
            assert!(docs.contains(&row), "docs/eval.md lacks the row {row}");
        }
        for attribute in ATTRIBUTES.iter().chain(LABEL_ATTRIBUTES) {
            assert!(
                docs.contains(&format!("`{}`", attribute.name)),
                "{}",
                attribute.name
            );
        }
    }

    #[test]
    fn methods_and_attributes() {
        let methods: Vec<_> = method_names().collect();
        assert!(methods.contains(&"sum") && methods.contains(&"astype"));
        assert!(!methods.contains(&"zeros"));
        assert!(lookup_attribute("T").is_some());
        assert!(lookup_attribute("sum").is_none());
        assert_eq!(
            function_names().count(),
            FUNCTIONS.len() + LABEL_FUNCTIONS.len()
        );
    }
}
