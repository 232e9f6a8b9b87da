//! Grouped reductions (`groupby(x, "time.month").mean()`), resampling
//! (`resample(x, time="MS").mean()`) and group-wise arithmetic that broadcasts back
//! (`groupby(x, "time.month") - clim`).
//!
//! The chunked algorithm is map-reduce, as flox does for dask: the group of every step along
//! the grouped dimension is known on the client (it comes from the coordinate), so a group
//! sum is the product of a one-hot matrix `G × T` (chunked along `T` like the data) with the
//! data seen as `T × rest`. The matrix product of `array/linalg.rs` computes one partial
//! `G × rest` block per chunk of steps and adds the partials in a tree: 36,500 daily steps
//! in 365-step chunks are 100 partial products and a tree of additions, never a task per
//! group per chunk. A mean is a group sum over a group count of the values that are not
//! missing; a variance sums the squared deviations from the broadcast group means (two
//! passes, stable). Missing values are skipped (the labeled rule, docs/labeled.md).
//! Broadcasting back takes, for every step, its group's entry of the per-group array.
//!
//! Cost: the product does `G` multiply-adds per value, cheap for months, seasons and years,
//! dear for `dayofyear` (366 groups). Minimum and maximum per group need another kernel and
//! are not offered yet. This module must not open files.

use crate::array::{Array, ArrayData, BinaryOp, ChunkSpec, DType, Operand, Scalar};

use super::array::LabeledArray;
use super::attrs::{AttrValue, Attributes};
use super::error::LabelError;
use super::time::{CfTime, Component, DateTime, SEASONS};

/// An array split into groups along one dimension.
#[derive(Clone, Debug)]
pub struct GroupBy {
    array: LabeledArray,
    /// The grouped dimension (`time`).
    dim: String,
    /// The name of the result's dimension (`month`, or `time` when resampling).
    name: String,
    /// The group of each step, an index into `labels`.
    codes: Vec<usize>,
    /// One label per group, in order.
    labels: Vec<f64>,
    /// Attributes of the result's coordinate.
    label_attrs: Attributes,
}

/// What a grouped reduction computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GroupReduce {
    /// Sum of the values that are not missing.
    Sum,
    /// Mean of the values that are not missing.
    Mean,
    /// Number of values that are not missing.
    Count,
    /// Variance with `ddof`.
    Var(f64),
    /// Standard deviation with `ddof`.
    Std(f64),
}

impl LabeledArray {
    /// Groups by `key`: a date component of a time coordinate (`"time.month"`, `.year`,
    /// `.season`, `.dayofyear`, `.hour`, ...) or a 1-D coordinate's values (`"lat"`).
    pub fn groupby(&self, key: &str) -> Result<GroupBy, LabelError> {
        let (dim, part) = match key.split_once('.') {
            Some((d, p)) => (d, Some(p)),
            None => (key, None),
        };
        if !self.dims().iter().any(|d| d == dim) {
            return Err(LabelError::Invalid(format!(
                "group key {key:?}: {} has no dimension {dim} (it has {})",
                self.name(),
                self.dims().join(", ")
            )));
        }
        let (keys, name, label_attrs): (Vec<f64>, String, Attributes) = match part {
            Some(p) => {
                let component = Component::parse(p).ok_or_else(|| {
                    LabelError::Invalid(format!(
                        "group key {key:?}: {p} is not a date component ({})",
                        Component::NAMES.join(", ")
                    ))
                })?;
                let (t, dates) = self.dates(dim)?;
                let keys = dates
                    .iter()
                    .map(|d| component.of(d, t.calendar) as f64)
                    .collect();
                let mut attrs = Attributes::new();
                if component == Component::Season {
                    attrs.insert("flag_values".into(), AttrValue::Int(vec![0, 1, 2, 3]));
                    attrs.insert("flag_meanings".into(), AttrValue::from(SEASONS.join(" ")));
                }
                (keys, p.to_string(), attrs)
            }
            None => {
                let c = self.coords().get(dim).ok_or_else(|| {
                    LabelError::Invalid(format!(
                        "group key {key:?}: dimension {dim} has no coordinate"
                    ))
                })?;
                (c.values.to_f64_vec(), dim.to_string(), c.attrs.clone())
            }
        };
        if keys.iter().any(|k| k.is_nan()) {
            return Err(LabelError::Invalid(format!(
                "group key {key:?}: the coordinate has missing values"
            )));
        }
        let (codes, labels) = group_codes(&keys);
        Ok(GroupBy {
            array: self.clone(),
            dim: dim.to_string(),
            name,
            codes,
            labels,
            label_attrs,
        })
    }

    /// Groups the time steps of `dim` into periods (pandas' frequencies: `"D"` days,
    /// `"MS"` months, `"QS-DEC"` quarters starting in December, `"YS"` years); each group is
    /// labeled with its period's start, encoded in the coordinate's units.
    pub fn resample(&self, dim: &str, freq: &str) -> Result<GroupBy, LabelError> {
        let (t, dates) = self.dates(dim)?;
        let start = |d: &DateTime| -> Result<DateTime, LabelError> {
            Ok(match freq {
                "D" | "1D" => DateTime::date(d.year, d.month, d.day),
                "MS" | "1MS" => DateTime::date(d.year, d.month, 1),
                "YS" | "AS" | "1YS" | "YS-JAN" => DateTime::date(d.year, 1, 1),
                "QS-DEC" => {
                    let m = (d.month % 12) / 3 * 3; // 0 Dec, 3 Mar, 6 Jun, 9 Sep
                    if m == 0 {
                        let year = if d.month == 12 {
                            d.year
                        } else {
                            previous_year(d.year, &t)
                        };
                        DateTime::date(year, 12, 1)
                    } else {
                        DateTime::date(d.year, m, 1)
                    }
                }
                other => {
                    return Err(LabelError::Invalid(format!(
                        "resample frequency {other:?} is not supported (use \"D\", \"MS\", \
                         \"QS-DEC\" or \"YS\")"
                    )))
                }
            })
        };
        let keys: Vec<f64> = dates
            .iter()
            .map(|d| {
                start(d).and_then(|s| {
                    t.encode(&s)
                        .map_err(|e| LabelError::Invalid(format!("{dim}: {e}")))
                })
            })
            .collect::<Result<_, _>>()?;
        let (codes, labels) = group_codes(&keys);
        Ok(GroupBy {
            label_attrs: self.coords()[dim].attrs.clone(),
            array: self.clone(),
            dim: dim.to_string(),
            name: dim.to_string(),
            codes,
            labels,
        })
    }
}

/// The sorted distinct keys, and the position of each step's key among them.
fn group_codes(keys: &[f64]) -> (Vec<usize>, Vec<f64>) {
    let mut labels = keys.to_vec();
    labels.sort_by(f64::total_cmp);
    labels.dedup();
    let codes = keys
        .iter()
        .map(|k| labels.partition_point(|l| l < k))
        .collect();
    (codes, labels)
}

fn previous_year(year: i64, t: &CfTime) -> i64 {
    if year == 1 && !t.calendar.has_year_zero() {
        -1
    } else {
        year - 1
    }
}

impl GroupBy {
    /// The grouped array.
    pub fn array(&self) -> &LabeledArray {
        &self.array
    }

    /// The name of the result's group dimension.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group labels, in order.
    pub fn labels(&self) -> &[f64] {
        &self.labels
    }

    /// The reduction `how` within each group: the grouped dimension is replaced by the
    /// group dimension (at the same position) with the labels as its coordinate.
    pub fn reduce(&self, how: GroupReduce) -> Result<LabeledArray, LabelError> {
        let x = self.array.array();
        let float = if x.dtype().is_float() {
            x.clone()
        } else {
            x.astype(DType::F64)
        };
        let valid = Array::binary_op(
            BinaryOp::Eq,
            Operand::from(float.clone()),
            Operand::from(float.clone()),
        )?;
        let zeroed = Array::where_(&valid, Operand::from(float.clone()), zero())?;
        let counts = self.group_sums(&valid.astype(DType::F64))?;
        let result = match how {
            GroupReduce::Sum => self.group_sums(&zeroed)?,
            GroupReduce::Count => counts.astype(DType::I64),
            GroupReduce::Mean => (&self.group_sums(&zeroed)? / &counts)?,
            GroupReduce::Var(ddof) | GroupReduce::Std(ddof) => {
                let mean = (&self.group_sums(&zeroed)? / &counts)?;
                let back = self.take_groups(&mean)?;
                let dev = (&float - &back)?;
                let sq = (&dev * &dev)?;
                let sq = Array::where_(&valid, Operand::from(sq), zero())?;
                let dof = (&counts - ddof)?;
                let dof = Array::where_(
                    &dof.binary(BinaryOp::Gt, Scalar::Float(0.0))?,
                    Operand::from(dof),
                    Operand::Scalar(Scalar::Float(f64::NAN)),
                )?;
                let var = (&self.group_sums(&sq)? / &dof)?;
                if matches!(how, GroupReduce::Std(_)) {
                    var.sqrt()?
                } else {
                    var
                }
            }
        };
        let result = match how {
            GroupReduce::Count => result,
            _ if x.dtype() == DType::F32 => result.astype(DType::F32),
            _ => result,
        };
        self.label_result(result, how)
    }

    /// `values`, an array along the group dimension, taken back to the grouped dimension:
    /// every step gets its group's entry (`groupby(x, "time.month") - clim`).
    pub fn broadcast(&self, values: &LabeledArray) -> Result<LabeledArray, LabelError> {
        let axis = values.axis_of(&self.name).map_err(|_| {
            LabelError::Invalid(format!(
                "the array combined with the groups of {} has no dimension {} (it has {})",
                self.array.name(),
                self.name,
                values.dims().join(", ")
            ))
        })?;
        let positions: Vec<i64> = match values.coords().get(&self.name) {
            Some(c) => {
                let have = c.values.to_f64_vec();
                self.labels
                    .iter()
                    .map(|l| {
                        have.iter()
                            .position(|h| h == l)
                            .map(|p| p as i64)
                            .ok_or_else(|| {
                                LabelError::Invalid(format!(
                                    "{}: group {l} has no entry in the combined array",
                                    self.name
                                ))
                            })
                    })
                    .collect::<Result<_, _>>()?
            }
            None if values.array().shape()[axis] == self.labels.len() => {
                (0..self.labels.len() as i64).collect()
            }
            None => {
                return Err(LabelError::Invalid(format!(
                    "{}: {} groups, but the combined array has {} entries",
                    self.name,
                    self.labels.len(),
                    values.array().shape()[axis]
                )))
            }
        };
        let per_step: Vec<i64> = self.codes.iter().map(|&c| positions[c]).collect();
        let taken = values.array().take(&per_step, axis as isize)?;
        let mut dims: Vec<&str> = values.dims().iter().map(String::as_str).collect();
        dims[axis] = &self.dim;
        let mut out = LabeledArray::new(taken, values.name()).with_dims(&dims)?;
        for (d, c) in values.coords() {
            if d != &self.name {
                out = out.with_coord(d, c.values.clone(), c.attrs.clone())?;
            }
        }
        if let Some(c) = self.array.coords().get(&self.dim) {
            out = out.with_coord(&self.dim, c.values.clone(), c.attrs.clone())?;
        }
        Ok(out)
    }

    /// Per-group sums of `data` (shaped like the grouped array, no missing values) along
    /// the grouped dimension: one-hot matrix product, map-reduce over the chunks.
    fn group_sums(&self, data: &Array) -> Result<Array, LabelError> {
        let axis = self.array.axis_of(&self.dim)?;
        let shape = data.shape().to_vec();
        let t = shape[axis];
        let g = self.labels.len();
        let mut perm: Vec<usize> = vec![axis];
        perm.extend((0..shape.len()).filter(|&a| a != axis));
        let front = if axis == 0 {
            data.clone()
        } else {
            data.permute(&perm)?
        };
        let rest: Vec<usize> = perm[1..].iter().map(|&a| shape[a]).collect();
        let r: usize = rest.iter().product();
        let two_d = front.reshape(&[t, r])?;
        let mut onehot = ndarray::Array2::<f64>::zeros((g, t));
        for (i, &c) in self.codes.iter().enumerate() {
            onehot[[c, i]] = 1.0;
        }
        let steps = data.chunks().all_blocks()[axis].clone();
        let onehot = Array::from_data(
            &ArrayData::from(onehot.into_dyn()),
            ChunkSpec::Blocks(vec![vec![g], steps]),
        )?
        .astype(data.dtype());
        let sums = onehot.matmul(&two_d)?;
        let mut out_shape = vec![g];
        out_shape.extend(&rest);
        let sums = sums.reshape(&out_shape)?;
        if axis == 0 {
            return Ok(sums);
        }
        // Back to the original order, the group axis where the grouped one was.
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(sums.permute(&inverse)?)
    }

    /// A per-group array (group axis where the grouped one is) taken back to every step.
    fn take_groups(&self, per_group: &Array) -> Result<Array, LabelError> {
        let axis = self.array.axis_of(&self.dim)?;
        let codes: Vec<i64> = self.codes.iter().map(|&c| c as i64).collect();
        Ok(per_group.take(&codes, axis as isize)?)
    }

    fn label_result(&self, result: Array, how: GroupReduce) -> Result<LabeledArray, LabelError> {
        let axis = self.array.axis_of(&self.dim)?;
        let mut dims: Vec<&str> = self.array.dims().iter().map(String::as_str).collect();
        dims[axis] = &self.name;
        // Date components label their groups with integers (month 1-12, ...); coordinates
        // and resampled periods keep the coordinate's values.
        let labels = if self.name != self.dim {
            let ints: Vec<i64> = self.labels.iter().map(|&l| l as i64).collect();
            ArrayData::from(ndarray::Array1::from(ints).into_dyn())
        } else {
            super::coordinate_data(&self.labels)
        };
        let mut out = LabeledArray::new(result, self.array.name()).with_dims(&dims)?;
        out = out.with_coord(&self.name, labels, self.label_attrs.clone())?;
        for (d, c) in self.array.coords() {
            if d != &self.dim {
                out = out.with_coord(d, c.values.clone(), c.attrs.clone())?;
            }
        }
        let kind = match how {
            GroupReduce::Sum => Some(crate::array::ReduceKind::NanSum),
            GroupReduce::Mean => Some(crate::array::ReduceKind::NanMean),
            GroupReduce::Var(ddof) => Some(crate::array::ReduceKind::NanVar { ddof }),
            GroupReduce::Std(ddof) => Some(crate::array::ReduceKind::NanStd { ddof }),
            GroupReduce::Count => None,
        };
        if let Some(kind) = kind {
            let attrs =
                super::after_reduction(kind, self.array.attrs(), std::slice::from_ref(&self.dim));
            out = out.with_attrs(attrs);
        }
        Ok(out)
    }
}

fn zero() -> Operand {
    Operand::Scalar(Scalar::Float(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labeled::coordinate_data;

    /// `days` daily steps (noleap, from 2000-01-01) × 2 × 3, chunked `chunk` steps at a time.
    fn daily(days: usize, chunk: usize) -> LabeledArray {
        let a = Array::arange(0, (days * 6) as i64, 1, DType::F64, chunk * 6)
            .and_then(|a| a.reshape(&[days, 2, 3]))
            .and_then(|a| a.rechunk(vec![chunk, 2, 3]))
            .expect("array");
        let mut time_attrs = Attributes::new();
        time_attrs.insert("units".into(), AttrValue::from("days since 2000-01-01"));
        time_attrs.insert("calendar".into(), AttrValue::from("noleap"));
        let steps: Vec<f64> = (0..days).map(|d| d as f64).collect();
        LabeledArray::new(a, "tas")
            .with_dims(&["time", "lat", "lon"])
            .and_then(|l| l.with_coord("time", coordinate_data(&steps), time_attrs))
            .expect("labels")
    }

    #[test]
    fn group_tasks_do_not_grow_with_the_number_of_groups() {
        // 100 years of days in 365-day chunks: the graph is per chunk, not per group.
        let x = daily(36_500, 365);
        let tasks = |key: &str| {
            let m = x
                .groupby(key)
                .expect("groups")
                .reduce(GroupReduce::Mean)
                .expect("mean");
            m.array().graph().expect("graph").tasks.len()
        };
        let months = tasks("time.month");
        assert_eq!(months, tasks("time.dayofyear"));
        assert!(
            months < 1_200,
            "{months} tasks for 100 chunks and 12 groups"
        );
    }

    #[test]
    fn group_means_and_anomalies_match_a_direct_computation() {
        let x = daily(730, 100);
        let g = x.groupby("time.month").expect("groups");
        let mean = g.reduce(GroupReduce::Mean).expect("mean");
        assert_eq!(mean.dims(), ["month", "lat", "lon"]);
        let got = mean.array().compute_local().expect("compute").to_f64_vec();
        let t = CfTime::parse("days since 2000-01-01", Some("noleap")).expect("units");
        for month in 1..=12u32 {
            let steps: Vec<usize> = (0..730)
                .filter(|&d| t.decode(d as f64).expect("date").month == month)
                .collect();
            let want = steps.iter().map(|&d| (d * 6) as f64).sum::<f64>() / steps.len() as f64;
            assert_eq!(got[(month as usize - 1) * 6], want, "month {month}");
        }
        let anomaly = g.broadcast(&mean).expect("back");
        assert_eq!(anomaly.dims(), ["time", "lat", "lon"]);
        assert_eq!(anomaly.array().shape(), &[730, 2, 3]);
        assert!(x.groupby("time.fortnight").is_err());
        assert!(x.groupby("depth").is_err());
        assert!(x.resample("time", "W").is_err());
    }
}
