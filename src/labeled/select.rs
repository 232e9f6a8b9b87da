//! Selection by label and by position (xarray's `sel` / `isel`), coordinates as arrays
//! (`x.lat`) and date components of a time coordinate (`x.time.month`).
//!
//! - A number selects the position whose coordinate equals it (with [`Method::Nearest`],
//!   the closest one); the dimension is dropped.
//! - A date text on a CF time coordinate (`"2003"`, `"2003-01"`, `"2003-01-15"`, ...) selects
//!   every step inside the period it names and keeps the dimension, as xarray's partial date
//!   strings do; with [`Method::Nearest`] the step closest to its start, dropping it.
//! - A range ([`Selector::Range`]) keeps the steps between its bounds, both included; on a
//!   decreasing coordinate the bounds are given in its order (`slice(30, -30)` on latitudes
//!   90…-90), as in xarray. A date bound covers its whole period (`slice("2003", "2005")`
//!   is 2003-01-01 to 2005-12-31). A non-monotonic coordinate cannot be sliced.
//! - Longitudes (a coordinate named `lon`/`longitude` or in `degrees_east`) are circular: a
//!   bound is moved by whole turns into the coordinate's span, and a range whose start
//!   comes after its stop crosses the seam (`slice(350, 10)` or `slice(-10, 10)` on 0…360
//!   gives 350…359 then 0…10). xarray would return an empty selection there.
//!
//! Contiguous selections are basic slices of the lazy data; others are a `take`. This module
//! must not open files.

use crate::array::{Array, ArrayData, IndexItem};

use super::array::LabeledArray;
use super::error::LabelError;
use super::time::{CfTime, Component, DateTime, SEASONS};

/// One bound of a range, or one label.
#[derive(Clone, Debug, PartialEq)]
pub enum Label {
    /// A coordinate value.
    Number(f64),
    /// A date text (on a CF time coordinate).
    Date(String),
}

/// What `sel` selects along one dimension.
#[derive(Clone, Debug, PartialEq)]
pub enum Selector {
    /// One label.
    One(Label),
    /// Several labels, in this order.
    Many(Vec<Label>),
    /// The steps between two bounds (both included; `None`: open).
    Range(Option<Label>, Option<Label>),
}

/// How a label that is not in the coordinate is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Only equal labels.
    Exact,
    /// The closest label.
    Nearest,
}

impl Method {
    /// `None`/`"exact"` or `"nearest"`.
    pub fn parse(name: Option<&str>) -> Result<Method, LabelError> {
        match name {
            None | Some("exact") => Ok(Method::Exact),
            Some("nearest") => Ok(Method::Nearest),
            Some(other) => Err(LabelError::Invalid(format!(
                "method {other:?} is not known; use \"nearest\" (or leave it out for exact matches)"
            ))),
        }
    }
}

/// Positions chosen along one axis.
enum Pick {
    /// One position: the dimension is dropped.
    One(usize),
    /// Positions in order: the dimension is kept.
    Many(Vec<usize>),
}

impl LabeledArray {
    /// The coordinate of `dim` as a 1-D labeled array (`x.lat`): named `dim`, along `dim`,
    /// with the coordinate's attributes.
    pub fn coordinate(&self, dim: &str) -> Result<LabeledArray, LabelError> {
        let c = self.coords().get(dim).ok_or_else(|| {
            let mut have: Vec<&str> = self.coords().keys().map(String::as_str).collect();
            if have.is_empty() {
                have.push("none");
            }
            LabelError::Invalid(format!(
                "{} has no coordinate {dim:?} (coordinates: {})",
                self.name(),
                have.join(", ")
            ))
        })?;
        let array = Array::from_data(&c.values, c.values.len().max(1))?;
        LabeledArray::new(array, dim)
            .with_dims(&[dim])?
            .with_coord(dim, c.values.clone(), c.attrs.clone())
            .map(|l| l.with_attrs(c.attrs.clone()))
    }

    /// The CF time encoding of the coordinate of `dim`, when its `units` are
    /// `"<unit> since <date>"`.
    pub fn cf_time(&self, dim: &str) -> Result<Option<CfTime>, LabelError> {
        let Some(c) = self.coords().get(dim) else {
            return Ok(None);
        };
        let Some(units) = c.attrs.get("units").and_then(|u| u.as_text()) else {
            return Ok(None);
        };
        if !units.to_ascii_lowercase().contains(" since ") {
            return Ok(None);
        }
        let calendar = c.attrs.get("calendar").and_then(|u| u.as_text());
        CfTime::parse(units, calendar)
            .map(Some)
            .map_err(|e| LabelError::Invalid(format!("coordinate {dim}: {e}")))
    }

    /// The dates of the time coordinate of `dim`.
    pub fn dates(&self, dim: &str) -> Result<(CfTime, Vec<DateTime>), LabelError> {
        let t = self.cf_time(dim)?.ok_or_else(|| {
            LabelError::Invalid(format!(
                "coordinate {dim} is not a CF time coordinate (its units are not \"<unit> since <date>\")"
            ))
        })?;
        let values = self.coords()[dim].values.to_f64_vec();
        let dates = values
            .iter()
            .map(|&v| t.decode(v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LabelError::Invalid(format!("coordinate {dim}: {e}")))?;
        Ok((t, dates))
    }

    /// A date component of this 1-D array's time coordinate (`x.time.month`): integers along
    /// the same dimension (season: 0 DJF, 1 MAM, 2 JJA, 3 SON).
    pub fn time_component(&self, component: Component) -> Result<LabeledArray, LabelError> {
        let [dim] = self.dims() else {
            return Err(LabelError::Invalid(format!(
                "date components belong to a time coordinate such as x.time; {} has dimensions {}",
                self.name(),
                self.dims().join(", ")
            )));
        };
        let (t, dates) = self.dates(dim)?;
        let values: Vec<i64> = dates.iter().map(|d| component.of(d, t.calendar)).collect();
        let data = ArrayData::from(ndarray::Array1::from(values).into_dyn());
        let array = Array::from_data(&data, data.len().max(1))?;
        let c = &self.coords()[dim];
        let name = Component::NAMES
            .iter()
            .find(|n| Component::parse(n) == Some(component))
            .copied()
            .unwrap_or("component");
        let mut out = LabeledArray::new(array, name)
            .with_dims(&[dim])?
            .with_coord(dim, c.values.clone(), c.attrs.clone())?;
        if component == Component::Season {
            out = out.with_attr("flag_meanings", SEASONS.join(" "));
        }
        Ok(out)
    }

    /// Selection by position along named dimensions (`isel`).
    pub fn isel(&self, items: &[(&str, IndexItem)]) -> Result<LabeledArray, LabelError> {
        let mut per_axis = vec![IndexItem::full(); self.dims().len()];
        for (dim, item) in items {
            per_axis[self.axis_of(dim)?] = *item;
        }
        self.index(&per_axis)
    }

    /// Selection by label along named dimensions (`sel`; see the module documentation).
    pub fn sel(
        &self,
        selectors: &[(&str, Selector)],
        method: Method,
    ) -> Result<LabeledArray, LabelError> {
        let mut picks = Vec::new();
        for (dim, selector) in selectors {
            let axis = self.axis_of(dim)?;
            picks.push((axis, self.pick(dim, selector, method)?));
        }
        // Lists of positions first (a take per axis keeps the others' numbering), then one
        // basic index for slices and single positions.
        let mut out = self.clone();
        let mut items = vec![IndexItem::full(); self.dims().len()];
        for (axis, pick) in picks {
            match pick {
                Pick::One(i) => items[axis] = IndexItem::Int(i as i64),
                Pick::Many(p) => match contiguous(&p) {
                    Some((start, stop)) => {
                        items[axis] = IndexItem::slice(Some(start as i64), Some(stop as i64), 1)
                    }
                    None => {
                        let idx: Vec<i64> = p.iter().map(|&i| i as i64).collect();
                        let taken = out.array().take(&idx, axis as isize)?;
                        out = out.after_take(taken, axis, &idx)?;
                    }
                },
            }
        }
        out.index(&items)
    }

    fn pick(&self, dim: &str, selector: &Selector, method: Method) -> Result<Pick, LabelError> {
        let coord = self.coords().get(dim).ok_or_else(|| {
            LabelError::Invalid(format!(
                "{} has no coordinate for dimension {dim}; select by position with isel",
                self.name()
            ))
        })?;
        let time = self.cf_time(dim)?;
        // Times are compared as microseconds from the first step: exact in a double for
        // 285 years either side (absolute day numbers in microseconds are not).
        let instants: Vec<i64> = match &time {
            Some(t) => coord
                .values
                .to_f64_vec()
                .iter()
                .map(|&v| t.instant(v))
                .collect::<Result<_, _>>()
                .map_err(|e| LabelError::Invalid(format!("coordinate {dim}: {e}")))?,
            None => Vec::new(),
        };
        let anchor = instants.first().copied().unwrap_or(0);
        let rel = |us: i64| (us - anchor) as f64;
        let values: Vec<f64> = match &time {
            Some(_) => instants.iter().map(|&us| rel(us)).collect(),
            None => coord.values.to_f64_vec(),
        };
        let circular = is_longitude(dim, coord);
        let find = |label: &Label| -> Result<Pick, LabelError> {
            match (label, &time) {
                (Label::Date(text), Some(t)) => {
                    let (a, b) = t.period(text).map_err(|e| invalid(dim, e))?;
                    if method == Method::Nearest {
                        return Ok(Pick::One(nearest(&values, rel(a))));
                    }
                    let p: Vec<usize> = (0..values.len())
                        .filter(|&i| values[i] >= rel(a) && values[i] < rel(b))
                        .collect();
                    if p.is_empty() {
                        return Err(LabelError::Invalid(format!(
                            "{dim}: no step in {text:?} (the data cover {})",
                            span_text(t, &instants)
                        )));
                    }
                    Ok(Pick::Many(p))
                }
                (Label::Date(text), None) => Err(LabelError::Invalid(format!(
                    "{dim}: the date {text:?} needs a CF time coordinate (units \"<unit> since <date>\")"
                ))),
                (Label::Number(x), _) => {
                    let x = if circular { wrap_into(*x, &values) } else { *x };
                    let x = match &time {
                        Some(t) => rel(t.instant(x).map_err(|e| invalid(dim, e))?),
                        None => x,
                    };
                    let i = nearest(&values, x);
                    if method == Method::Exact && values.get(i) != Some(&x) {
                        return Err(LabelError::Invalid(format!(
                            "{dim}: no coordinate equals {label}; use method=\"nearest\" or a slice",
                            label = fmt_label(label)
                        )));
                    }
                    Ok(Pick::One(i))
                }
            }
        };
        match selector {
            Selector::One(label) => find(label),
            Selector::Many(labels) => {
                let mut out = Vec::new();
                for l in labels {
                    match find(l)? {
                        Pick::One(i) => out.push(i),
                        Pick::Many(p) => out.extend(p),
                    }
                }
                Ok(Pick::Many(out))
            }
            Selector::Range(lo, hi) => {
                let bound = |l: &Label, end: bool| -> Result<f64, LabelError> {
                    match (l, &time) {
                        (Label::Date(text), Some(t)) => {
                            let (a, b) = t.period(text).map_err(|e| invalid(dim, e))?;
                            // The end of a period is exclusive: the last microsecond in it.
                            Ok(if end { rel(b - 1) } else { rel(a) })
                        }
                        (Label::Date(text), None) => Err(LabelError::Invalid(format!(
                            "{dim}: the date {text:?} needs a CF time coordinate"
                        ))),
                        (Label::Number(x), Some(t)) => {
                            Ok(rel(t.instant(*x).map_err(|e| invalid(dim, e))?))
                        }
                        (Label::Number(x), None) if circular => Ok(wrap_into(*x, &values)),
                        (Label::Number(x), None) => Ok(*x),
                    }
                };
                let lo = lo.as_ref().map(|l| bound(l, false)).transpose()?;
                let hi = hi.as_ref().map(|l| bound(l, true)).transpose()?;
                range(dim, &values, lo, hi, circular).map(Pick::Many)
            }
        }
    }
}

fn invalid(dim: &str, e: super::time::TimeError) -> LabelError {
    LabelError::Invalid(format!("{dim}: {e}"))
}

fn fmt_label(l: &Label) -> String {
    match l {
        Label::Number(x) => x.to_string(),
        Label::Date(s) => format!("{s:?}"),
    }
}

fn span_text(t: &CfTime, instants: &[i64]) -> String {
    match (instants.iter().min(), instants.iter().max()) {
        (Some(&lo), Some(&hi)) => {
            let d = |x: i64| DateTime::from_instant(x, t.calendar).to_string();
            format!("{} to {}", d(lo), d(hi))
        }
        _ => "nothing".into(),
    }
}

/// Whether a coordinate is a longitude (by name or CF units).
fn is_longitude(dim: &str, c: &super::Coordinate) -> bool {
    let units = c.attrs.get("units").and_then(|u| u.as_text()).unwrap_or("");
    matches!(dim, "lon" | "longitude")
        || units.starts_with("degrees_east")
        || units == "degree_east"
        || units == "degreeE"
}

/// `x` moved by whole turns into `[min, min + 360)` of the coordinate.
fn wrap_into(x: f64, values: &[f64]) -> f64 {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return x;
    }
    min + (x - min).rem_euclid(360.0)
}

/// The position of the value closest to `x` (the first of equals).
fn nearest(values: &[f64], x: f64) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if (v - x).abs() < (values[best] - x).abs() {
            best = i;
        }
    }
    best
}

/// Positions within `[lo, hi]` (in the coordinate's order), crossing a longitude seam when
/// `lo > hi` on an increasing circular coordinate.
fn range(
    dim: &str,
    values: &[f64],
    lo: Option<f64>,
    hi: Option<f64>,
    circular: bool,
) -> Result<Vec<usize>, LabelError> {
    let increasing = values.windows(2).all(|w| w[0] < w[1]);
    let decreasing = values.windows(2).all(|w| w[0] > w[1]);
    if !increasing && !decreasing {
        return Err(LabelError::Invalid(format!(
            "{dim}: the coordinate is not monotonic, so it cannot be sliced by value; \
             select labels one by one or by position with isel"
        )));
    }
    let n = values.len();
    let all: Vec<usize> = (0..n).collect();
    if increasing {
        let lo = lo.unwrap_or(f64::NEG_INFINITY);
        let hi = hi.unwrap_or(f64::INFINITY);
        if circular && lo > hi {
            let mut p: Vec<usize> = all.iter().copied().filter(|&i| values[i] >= lo).collect();
            p.extend(all.iter().copied().filter(|&i| values[i] <= hi));
            return Ok(p);
        }
        Ok(all
            .into_iter()
            .filter(|&i| values[i] >= lo && values[i] <= hi)
            .collect())
    } else {
        let lo = lo.unwrap_or(f64::INFINITY);
        let hi = hi.unwrap_or(f64::NEG_INFINITY);
        Ok(all
            .into_iter()
            .filter(|&i| values[i] <= lo && values[i] >= hi)
            .collect())
    }
}

/// `(start, stop)` when the positions are `start, start + 1, ..., stop - 1`.
fn contiguous(p: &[usize]) -> Option<(usize, usize)> {
    let first = *p.first()?;
    p.iter()
        .enumerate()
        .all(|(k, &i)| i == first + k)
        .then_some((first, first + p.len()))
}

/// A 1-D `f64` coordinate from values (for tests and generated data).
pub fn coordinate_data(values: &[f64]) -> ArrayData {
    ArrayData::from(ndarray::Array1::from(values.to_vec()).into_dyn())
}
