//! The label part of the catalogue (kept apart from the NumPy-like functions of
//! `functions.rs`): selection by label and position, slices as values, and the attributes
//! of labeled arrays (`x.dims`, `x.time.month`). An attribute that is neither here nor in
//! the NumPy-like catalogue may name a coordinate (`x.lat`); the evaluator checks it.
//!
//! This module is data; it must not evaluate anything.

use super::functions::{kw, opt, req, var_kw, AttributeSpec, Category, FunctionSpec};

/// Functions that work with labels.
pub static LABEL_FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "sel",
        category: Category::Labels,
        params: &[req("x"), kw("method"), var_kw("indexers")],
        method: true,
        summary: "select by coordinate value or date: sel(x, time=slice(\"2003\", \"2005\"), lat=0, method=\"nearest\")",
    },
    FunctionSpec {
        name: "isel",
        category: Category::Labels,
        params: &[req("x"), var_kw("indexers")],
        method: true,
        summary: "select by position along named dimensions: isel(x, time=0, lat=slice(0, 10))",
    },
    FunctionSpec {
        name: "groupby",
        category: Category::Labels,
        params: &[req("x"), req("group")],
        method: true,
        summary: "split along a dimension by a date component or coordinate: groupby(x, \"time.month\").mean()",
    },
    FunctionSpec {
        name: "resample",
        category: Category::Labels,
        params: &[req("x"), var_kw("indexers")],
        method: true,
        summary: "split time into periods: resample(x, time=\"MS\").mean() (\"D\", \"MS\", \"QS-DEC\", \"YS\")",
    },
    FunctionSpec {
        name: "rolling",
        category: Category::Labels,
        params: &[req("x"), kw("center"), kw("min_periods"), var_kw("indexers")],
        method: true,
        summary: "moving windows along a dimension: rolling(x, time=30, center=True, min_periods=10).mean() (sum, mean, min, max, std, var)",
    },
    FunctionSpec {
        name: "coarsen",
        category: Category::Labels,
        params: &[req("x"), kw("boundary"), var_kw("indexers")],
        method: true,
        summary: "blocks along dimensions: coarsen(x, lat=2, lon=2, boundary=\"trim\").mean() (sum, mean, min, max; boundary \"exact\" or \"trim\")",
    },
    FunctionSpec {
        name: "weighted",
        category: Category::Labels,
        params: &[req("x"), req("weights")],
        method: true,
        summary: "weights lined up by dimension name: weighted(x, cos(deg2rad(x.lat))).mean((\"lat\", \"lon\")) (sum, mean; missing values excluded from the weight sum)",
    },
    FunctionSpec {
        name: "count",
        category: Category::Reduction,
        params: &[req("x"), opt("axis"), kw("keepdims")],
        method: true,
        summary: "the number of values that are not missing (not NaN), along axes or dimensions",
    },
    FunctionSpec {
        name: "slice",
        category: Category::Labels,
        params: &[opt("start"), opt("stop"), opt("step")],
        method: false,
        summary: "a range for sel/isel: slice(start, stop[, step]); None leaves a side open",
    },
];

/// Attributes of labeled arrays and time coordinates.
pub static LABEL_ATTRIBUTES: &[AttributeSpec] = &[
    AttributeSpec {
        name: "dims",
        summary: "the dimension names, a tuple",
    },
    AttributeSpec {
        name: "sizes",
        summary: "the length of each dimension, by name",
    },
    AttributeSpec {
        name: "attrs",
        summary: "the attributes, by name",
    },
    AttributeSpec {
        name: "name",
        summary: "the variable name",
    },
    AttributeSpec {
        name: "year",
        summary: "of a time coordinate: the year of each step",
    },
    AttributeSpec {
        name: "month",
        summary: "of a time coordinate: the month (1-12)",
    },
    AttributeSpec {
        name: "day",
        summary: "of a time coordinate: the day of the month",
    },
    AttributeSpec {
        name: "hour",
        summary: "of a time coordinate: the hour",
    },
    AttributeSpec {
        name: "minute",
        summary: "of a time coordinate: the minute",
    },
    AttributeSpec {
        name: "second",
        summary: "of a time coordinate: the second",
    },
    AttributeSpec {
        name: "dayofyear",
        summary: "of a time coordinate: the day of the year (from 1)",
    },
    AttributeSpec {
        name: "season",
        summary: "of a time coordinate: 0 DJF, 1 MAM, 2 JJA, 3 SON",
    },
];
