//! Decoded CF time: `"<unit> since <date>"` in every CF calendar, following cftime.
//!
//! A time coordinate keeps its stored numbers and its `units`/`calendar` attributes; dates
//! are computed from them when asked for ([`CfTime::decode`]) and new times are encoded in
//! the same units ([`CfTime::encode`]), so an output written from a result carries the
//! input's time encoding unchanged. Calendars are written here rather than taken from a
//! crate (docs/labeled.md says why).
//!
//! This module must not touch arrays or files.

mod calendar;
mod datetime;

pub use calendar::Calendar;
pub use datetime::{season_index, DateTime, Resolution, DAY_US, SEASONS};

/// A time value, unit, date or calendar that cannot be used, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(pub String);

/// The encoding of a CF time coordinate: unit, reference date and calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct CfTime {
    /// The `units` attribute as written.
    pub units: String,
    /// The calendar.
    pub calendar: Calendar,
    /// Microseconds per unit.
    unit_us: i64,
    /// Whether the unit is finer than a second (cftime's rounding rule differs).
    sub_second: bool,
    /// The reference date as an instant (microseconds since the calendar's day zero).
    origin: i64,
}

/// Units cftime accepts, with microseconds per unit.
const UNITS: &[(&[&str], i64)] = &[
    (&["microseconds", "microsecond", "microsec", "microsecs"], 1),
    (
        &[
            "milliseconds",
            "millisecond",
            "millisec",
            "millisecs",
            "msec",
            "msecs",
            "ms",
        ],
        1_000,
    ),
    (&["second", "seconds", "sec", "secs", "s"], 1_000_000),
    (&["minute", "minutes", "min", "mins"], 60_000_000),
    (&["hour", "hours", "hr", "hrs", "h"], 3_600_000_000),
    (&["day", "days", "d"], DAY_US),
];

impl CfTime {
    /// The encoding given by a `units` attribute and a `calendar` attribute (`None`:
    /// `standard`, as CF says).
    ///
    /// ```
    /// use tessera::labeled::time::{CfTime, DateTime};
    /// let t = CfTime::parse("days since 2000-01-01", Some("noleap")).unwrap();
    /// assert_eq!(t.decode(59.5).unwrap().to_string(), "2000-03-01 12:00:00");
    /// assert_eq!(t.encode(&DateTime::date(2001, 1, 1)).unwrap(), 365.0);
    /// ```
    pub fn parse(units: &str, calendar: Option<&str>) -> Result<CfTime, TimeError> {
        let calendar = Calendar::parse(calendar.unwrap_or("standard"))?;
        let bad = |why: String| TimeError(format!("time units {units:?}: {why}"));
        let mut words = units.trim().splitn(3, char::is_whitespace);
        let unit = words.next().unwrap_or("").to_ascii_lowercase();
        if !words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("since"))
        {
            return Err(bad("expected \"<unit> since <date>\"".into()));
        }
        let date = words.next().unwrap_or("").trim();
        let unit_us = match unit.as_str() {
            "month" | "months" if calendar == Calendar::Day360 => 30 * DAY_US,
            "month" | "months" => {
                return Err(bad("months are a unit only of the 360_day calendar".into()))
            }
            "common_year" | "common_years" if calendar == Calendar::NoLeap => 365 * DAY_US,
            "common_year" | "common_years" => {
                return Err(bad(
                    "common_years are a unit only of the noleap calendar".into()
                ))
            }
            u => UNITS
                .iter()
                .find(|(names, _)| names.contains(&u))
                .map(|(_, us)| *us)
                .ok_or_else(|| {
                    bad(format!(
                        "unknown unit {u:?} (CF time units: days, hours, minutes, seconds, \
                         milliseconds, microseconds; months in 360_day, common_years in noleap)"
                    ))
                })?,
        };
        let (start, _, offset) = DateTime::parse(date).map_err(|e| bad(e.0))?;
        let origin = start.instant(calendar).map_err(|e| bad(e.0))? - offset;
        Ok(CfTime {
            units: units.to_string(),
            calendar,
            unit_us,
            sub_second: unit_us < 1_000_000,
            origin,
        })
    }

    /// Microseconds per unit.
    pub fn unit_microseconds(&self) -> i64 {
        self.unit_us
    }

    /// The instant (microseconds since the calendar's day zero) of a stored value, rounded
    /// to the microsecond as cftime rounds.
    pub fn instant(&self, value: f64) -> Result<i64, TimeError> {
        if !value.is_finite() {
            return Err(TimeError(format!(
                "time value {value} (in {}) is not a date",
                self.units
            )));
        }
        // Whole units exactly, the fraction in microseconds (cftime scales in extended
        // precision, then rounds half to even, snapping x.000001 s and x.999999 s to whole
        // seconds for units of a second and more).
        let whole = value.trunc();
        let (nearest, down, up) = rounded_product(value - whole, self.unit_us as f64);
        let out_of_range = || {
            TimeError(format!(
                "time value {value} (in {}) is out of range",
                self.units
            ))
        };
        let total = (whole as i128)
            .checked_mul(i128::from(self.unit_us))
            .ok_or_else(out_of_range)?;
        let frac = match (total + nearest).rem_euclid(1_000_000) {
            1 if !self.sub_second => down,
            999_999 if !self.sub_second => up,
            _ => nearest,
        };
        i64::try_from(total + frac + i128::from(self.origin))
            .ok()
            .filter(|us| us.unsigned_abs() < (1 << 62))
            .ok_or_else(out_of_range)
    }

    /// The date of a stored value.
    pub fn decode(&self, value: f64) -> Result<DateTime, TimeError> {
        Ok(DateTime::from_instant(self.instant(value)?, self.calendar))
    }

    /// The stored value of a date, in these units.
    pub fn encode(&self, date: &DateTime) -> Result<f64, TimeError> {
        Ok(self.encode_instant(date.instant(self.calendar)?))
    }

    /// The stored value of an instant, in these units.
    pub fn encode_instant(&self, instant: i64) -> f64 {
        let delta = instant - self.origin;
        let whole = delta.div_euclid(self.unit_us);
        let rest = delta.rem_euclid(self.unit_us);
        whole as f64 + rest as f64 / self.unit_us as f64
    }

    /// The half-open range of instants `[start, end)` a date text names (`"2003"`,
    /// `"2003-01"`, `"2003-01-15"`, ... as xarray's partial date strings).
    pub fn period(&self, text: &str) -> Result<(i64, i64), TimeError> {
        let (start, res, offset) = DateTime::parse(text)?;
        let end = start.period_end(res, self.calendar)?;
        Ok((start.instant(self.calendar)? - offset, end - offset))
    }
}

/// The exact product `a * b` rounded to an integer three ways (half to even, down, up),
/// through an error-free product (a fused multiply-add gives the rounding error of `a * b`):
/// `2.5e-6 s` is 3 µs, as cftime's extended-precision product gives, not the
/// 2.4999999999999996 of a plain double product.
fn rounded_product(a: f64, b: f64) -> (i128, i128, i128) {
    let p = a * b;
    let err = a.mul_add(b, -p);
    let r = p.round_ties_even();
    let off = (p - r) + err;
    let even = (r / 2.0).fract() == 0.0;
    let step = if off > 0.5 || (off == 0.5 && !even) {
        1.0
    } else if off < -0.5 || (off == -0.5 && !even) {
        -1.0
    } else {
        0.0
    };
    let floor = if p == p.floor() && err < 0.0 {
        p - 1.0
    } else {
        p.floor()
    };
    let ceil = if p == p.ceil() && err > 0.0 {
        p + 1.0
    } else {
        p.ceil()
    };
    ((r + step) as i128, floor as i128, ceil as i128)
}

/// A part of a date that can be computed per time step (`t.time.month`, `groupby` keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    /// The year.
    Year,
    /// The month, 1–12.
    Month,
    /// The day of the month.
    Day,
    /// The hour of the day.
    Hour,
    /// The minute of the hour.
    Minute,
    /// The second of the minute.
    Second,
    /// The day of the year, from 1.
    DayOfYear,
    /// The season index (0 DJF, 1 MAM, 2 JJA, 3 SON; names in [`SEASONS`]).
    Season,
}

impl Component {
    /// The component named as xarray's `.dt` accessor names it.
    pub fn parse(name: &str) -> Option<Component> {
        Some(match name {
            "year" => Component::Year,
            "month" => Component::Month,
            "day" => Component::Day,
            "hour" => Component::Hour,
            "minute" => Component::Minute,
            "second" => Component::Second,
            "dayofyear" => Component::DayOfYear,
            "season" => Component::Season,
            _ => return None,
        })
    }

    /// Every name [`Component::parse`] knows.
    pub const NAMES: &'static [&'static str] = &[
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "dayofyear",
        "season",
    ];

    /// The component of a date.
    pub fn of(self, d: &DateTime, cal: Calendar) -> i64 {
        match self {
            Component::Year => d.year,
            Component::Month => i64::from(d.month),
            Component::Day => i64::from(d.day),
            Component::Hour => d.hour(),
            Component::Minute => d.minute(),
            Component::Second => d.second(),
            Component::DayOfYear => d.dayofyear(cal),
            Component::Season => season_index(d.month) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_references_and_rounding() {
        let t = CfTime::parse("hours since 1970-01-01 00:00:00 +01:00", None).expect("units");
        assert_eq!(t.decode(1.0).expect("date"), DateTime::date(1970, 1, 1));
        let s = CfTime::parse("seconds since 2000-01-01", Some("standard")).expect("units");
        assert_eq!(s.decode(0.1234567891).expect("date").time_us, 123_457);
        assert_eq!(s.decode(1.5e-6).expect("date").time_us, 2);
        assert_eq!(s.decode(2.5e-6).expect("date").time_us, 3);
        assert!(CfTime::parse("months since 2000-01-01", None).is_err());
        assert!(CfTime::parse("days since 0000-01-01", None).is_err());
        assert!(CfTime::parse("days after 2000-01-01", None).is_err());
        assert!(CfTime::parse("fortnights since 2000-01-01", None).is_err());
        assert!(CfTime::parse("days since 2000-01-01", Some("martian")).is_err());
        let m = CfTime::parse("months since 2000-01-01", Some("360_day")).expect("360");
        assert_eq!(m.decode(1.5).expect("date"), DateTime::date(2000, 2, 16));
        assert!(s.decode(f64::NAN).is_err());
        assert!(s.decode(1e300).is_err());
        let (a, b) = s.period("2000-02").expect("period");
        assert_eq!((b - a) / DAY_US, 29);
    }
}
