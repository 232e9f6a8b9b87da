//! Dates with a time of day in a CF calendar, their text forms (ISO 8601 as CF and xarray
//! write them: `2003-01-15`, `2003-01-15 12:30:00.5`, `2003-01-15T12:30Z`, partial dates
//! `2003-01` and `2003` naming a period), and their components (`year`, `month`, `day`,
//! `hour`, `dayofyear`, `season`, ...).
//!
//! This module must not touch arrays.

use std::fmt;

use super::calendar::Calendar;
use super::TimeError;

/// Microseconds in a day.
pub const DAY_US: i64 = 86_400_000_000;

/// A date and time of day in a calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    /// Year (no year zero in real-world calendars: -1 is 1 BC).
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, from 1.
    pub day: u32,
    /// Microseconds since midnight.
    pub time_us: i64,
}

/// How much of a date a text gave: `2003` names a year, `2003-01` a month, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    /// `YYYY`
    Year,
    /// `YYYY-MM`
    Month,
    /// `YYYY-MM-DD`
    Day,
    /// `YYYY-MM-DD HH`
    Hour,
    /// `YYYY-MM-DD HH:MM`
    Minute,
    /// `YYYY-MM-DD HH:MM:SS[.f]`
    Second,
}

impl DateTime {
    /// Midnight of a date.
    pub fn date(year: i64, month: u32, day: u32) -> DateTime {
        DateTime {
            year,
            month,
            day,
            time_us: 0,
        }
    }

    /// Microseconds since the calendar's day zero, or why the date does not exist.
    pub fn instant(&self, cal: Calendar) -> Result<i64, TimeError> {
        Ok(cal.day_number(self.year, self.month, self.day)? * DAY_US + self.time_us)
    }

    /// The date and time of an instant (microseconds since the calendar's day zero).
    pub fn from_instant(us: i64, cal: Calendar) -> DateTime {
        let (year, month, day) = cal.date(us.div_euclid(DAY_US));
        DateTime {
            year,
            month,
            day,
            time_us: us.rem_euclid(DAY_US),
        }
    }

    /// Hour of the day.
    pub fn hour(&self) -> i64 {
        self.time_us / 3_600_000_000
    }

    /// Minute of the hour.
    pub fn minute(&self) -> i64 {
        self.time_us / 60_000_000 % 60
    }

    /// Second of the minute.
    pub fn second(&self) -> i64 {
        self.time_us / 1_000_000 % 60
    }

    /// Microsecond of the second.
    pub fn microsecond(&self) -> i64 {
        self.time_us % 1_000_000
    }

    /// Day of the year, from 1 (cftime's `dayofyr`: the days of the months before plus the
    /// day of the month, so the ten days of the 1582 reform count in `standard`).
    pub fn dayofyear(&self, cal: Calendar) -> i64 {
        (1..self.month)
            .map(|m| cal.days_in_month(self.year, m))
            .sum::<i64>()
            + i64::from(self.day)
    }

    /// The meteorological season: `DJF`, `MAM`, `JJA` or `SON`.
    pub fn season(&self) -> &'static str {
        SEASONS[season_index(self.month)]
    }

    /// Parses `YYYY[-MM[-DD[( |T)HH[:MM[:SS[.ffffff]]]]]]` with an optional time-zone
    /// suffix (`Z`, `UTC`, `+hh:mm`, `-hh`), giving the date at the start of the period the
    /// text names, the period's resolution and the time-zone offset in microseconds (to
    /// subtract to get UTC).
    pub fn parse(text: &str) -> Result<(DateTime, Resolution, i64), TimeError> {
        let bad = |why: &str| TimeError(format!("cannot read {text:?} as a date: {why}"));
        let t = text.trim();
        let (date, rest) = match t.find([' ', 'T']) {
            Some(i) => (&t[..i], t[i + 1..].trim()),
            None => (t, ""),
        };
        let (sign, date) = match date.strip_prefix('-') {
            Some(d) => (-1, d),
            None => (1, date),
        };
        let parts: Vec<&str> = date.split('-').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad("expected YYYY, YYYY-MM or YYYY-MM-DD"));
        }
        let num = |s: &str, what: &str| -> Result<i64, TimeError> {
            if !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad(&format!("{what} {s:?} is not a number")));
            }
            s.parse::<i64>()
                .map_err(|_| bad(&format!("{what} {s:?} is out of range")))
        };
        let year = sign * num(parts[0], "year")?;
        let month = parts.get(1).map(|m| num(m, "month")).transpose()?;
        let day = parts.get(2).map(|d| num(d, "day")).transpose()?;
        let mut res = match (month, day) {
            (None, _) => Resolution::Year,
            (Some(_), None) => Resolution::Month,
            _ => Resolution::Day,
        };
        let (clock, offset) = split_zone(rest).map_err(|w| bad(&w))?;
        let mut time_us = 0;
        if !clock.is_empty() {
            if res != Resolution::Day {
                return Err(bad("a time of day needs a full date"));
            }
            let fields: Vec<&str> = clock.split(':').collect();
            if fields.len() > 3 {
                return Err(bad("expected HH, HH:MM or HH:MM:SS"));
            }
            let h = num(fields[0], "hour")?;
            let m = fields
                .get(1)
                .map(|m| num(m, "minute"))
                .transpose()?
                .unwrap_or(0);
            let s_us = match fields.get(2) {
                Some(s) => {
                    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
                    let mut us = num(whole, "second")? * 1_000_000;
                    if !frac.is_empty() {
                        let digits: String = frac.chars().chain("000000".chars()).take(6).collect();
                        us += num(&digits, "fraction of a second")?;
                    }
                    us
                }
                None => 0,
            };
            if h > 24 || m > 59 || s_us >= 61_000_000 {
                return Err(bad("time of day out of range"));
            }
            time_us = (h * 60 + m) * 60_000_000 + s_us;
            res = [Resolution::Hour, Resolution::Minute, Resolution::Second][fields.len() - 1];
        }
        let month = u32::try_from(month.unwrap_or(1)).map_err(|_| bad("month out of range"))?;
        let day = u32::try_from(day.unwrap_or(1)).map_err(|_| bad("day out of range"))?;
        Ok((
            DateTime {
                year,
                month,
                day,
                time_us,
            },
            res,
            offset,
        ))
    }

    /// The first instant after the period of resolution `res` starting at this date.
    pub fn period_end(&self, res: Resolution, cal: Calendar) -> Result<i64, TimeError> {
        let next_year = |y: i64| {
            if y == -1 && !cal.has_year_zero() {
                1
            } else {
                y + 1
            }
        };
        Ok(match res {
            Resolution::Year => DateTime::date(next_year(self.year), 1, 1).instant(cal)?,
            Resolution::Month => {
                let (y, m) = if self.month == 12 {
                    (next_year(self.year), 1)
                } else {
                    (self.year, self.month + 1)
                };
                DateTime::date(y, m, 1).instant(cal)?
            }
            Resolution::Day => self.instant(cal)? - self.time_us + DAY_US,
            Resolution::Hour => self.instant(cal)? + 3_600_000_000,
            Resolution::Minute => self.instant(cal)? + 60_000_000,
            Resolution::Second => self.instant(cal)? + 1_000_000,
        })
    }
}

/// Season names in the order of [`season_index`].
pub const SEASONS: [&str; 4] = ["DJF", "MAM", "JJA", "SON"];

/// 0 for December–February, 1 for March–May, 2 for June–August, 3 for September–November.
pub fn season_index(month: u32) -> usize {
    (month as usize % 12) / 3
}

/// Splits a time of day from its time-zone suffix; the offset in microseconds.
fn split_zone(rest: &str) -> Result<(&str, i64), String> {
    let rest = rest.trim();
    for suffix in ["UTC", "Z"] {
        if let Some(clock) = rest.strip_suffix(suffix) {
            return Ok((clock.trim(), 0));
        }
    }
    let Some(i) = rest.rfind(['+', '-']) else {
        return Ok((rest, 0));
    };
    let (clock, zone) = (rest[..i].trim(), &rest[i..]);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("time zone {zone:?} is not ±hh[:mm]"));
    }
    let (h, m) = digits.split_at(digits.len().min(2));
    let h: i64 = h.parse().map_err(|_| format!("time zone {zone:?}"))?;
    let m: i64 = if m.is_empty() {
        0
    } else {
        m.parse().map_err(|_| format!("time zone {zone:?}"))?
    };
    Ok((clock, sign * (h * 60 + m) * 60_000_000))
}

impl fmt::Display for DateTime {
    /// `YYYY-MM-DD HH:MM:SS` (with `.ffffff` when there are microseconds), as cftime prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            self.hour(),
            self.minute(),
            self.second()
        )?;
        if self.microsecond() != 0 {
            write!(f, ".{:06}", self.microsecond())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_periods_and_zones_shift_the_clock() {
        let (d, r, z) = DateTime::parse("2003").expect("year");
        assert_eq!((d, r, z), (DateTime::date(2003, 1, 1), Resolution::Year, 0));
        let (d, r, _) = DateTime::parse("2003-02").expect("month");
        assert_eq!((d.month, r), (2, Resolution::Month));
        let end = d.period_end(r, Calendar::NoLeap).expect("end");
        assert_eq!(
            DateTime::from_instant(end, Calendar::NoLeap),
            DateTime::date(2003, 3, 1)
        );
        let (d, r, z) = DateTime::parse("1970-01-01T06:30:15.25+02:00").expect("full");
        assert_eq!(r, Resolution::Second);
        assert_eq!(d.time_us, ((6 * 60 + 30) * 60 + 15) * 1_000_000 + 250_000);
        assert_eq!(z, 2 * 3_600_000_000);
        assert_eq!(
            DateTime::parse("1-1-1 0:0:0 UTC").expect("short").0,
            DateTime::date(1, 1, 1)
        );
        assert!(DateTime::parse("2003-1x").is_err());
        assert!(DateTime::parse("2003 12:00").is_err());
        assert_eq!(DateTime::date(2003, 12, 1).season(), "DJF");
        assert_eq!(DateTime::date(2003, 5, 1).season(), "MAM");
    }
}
