//! The CF calendars as day arithmetic: a calendar date ↔ a day number, following cftime.
//!
//! Real-world calendars (`standard`/`gregorian`, `proleptic_gregorian`, `julian`) count days
//! as Julian day numbers and have no year zero (year -1 is followed by year 1, as cftime's
//! default `has_year_zero=False`); `standard` is Julian up to 1582-10-04 and Gregorian from
//! 1582-10-15, and the ten days between do not exist. The idealised calendars (`noleap` /
//! `365_day`, `all_leap` / `366_day`, `360_day`) count days from year 0, which exists.
//!
//! This module must not parse text or touch arrays.

use super::TimeError;

/// A CF calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Calendar {
    /// `standard` / `gregorian`: Julian before 1582-10-15, Gregorian from then on.
    Standard,
    /// `proleptic_gregorian`: Gregorian rules at all times.
    ProlepticGregorian,
    /// `julian`: a leap year every four years.
    Julian,
    /// `noleap` / `365_day`: no leap years.
    NoLeap,
    /// `all_leap` / `366_day`: every year a leap year.
    AllLeap,
    /// `360_day`: twelve months of 30 days.
    Day360,
}

/// Day number of 1582-10-15 (Gregorian), the first day of the Gregorian calendar.
const GREGORIAN_START_JDN: i64 = 2_299_161;

const MONTH_DAYS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl Calendar {
    /// The calendar named by a CF `calendar` attribute (case-insensitive; a missing
    /// attribute means `standard`).
    pub fn parse(name: &str) -> Result<Calendar, TimeError> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "standard" | "gregorian" | "" => Calendar::Standard,
            "proleptic_gregorian" => Calendar::ProlepticGregorian,
            "julian" => Calendar::Julian,
            "noleap" | "365_day" => Calendar::NoLeap,
            "all_leap" | "366_day" => Calendar::AllLeap,
            "360_day" => Calendar::Day360,
            _ => {
                return Err(TimeError(format!(
                    "unknown calendar {name:?} (CF calendars: standard, gregorian, \
                     proleptic_gregorian, julian, noleap, 365_day, all_leap, 366_day, 360_day)"
                )))
            }
        })
    }

    /// The CF name (`standard`, `noleap`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Calendar::Standard => "standard",
            Calendar::ProlepticGregorian => "proleptic_gregorian",
            Calendar::Julian => "julian",
            Calendar::NoLeap => "noleap",
            Calendar::AllLeap => "all_leap",
            Calendar::Day360 => "360_day",
        }
    }

    /// Whether the calendar has a year zero (the idealised ones).
    pub fn has_year_zero(self) -> bool {
        matches!(
            self,
            Calendar::NoLeap | Calendar::AllLeap | Calendar::Day360
        )
    }

    /// Whether `year` is a leap year.
    pub fn is_leap(self, year: i64) -> bool {
        let y = self.astronomical(year);
        match self {
            Calendar::ProlepticGregorian => gregorian_leap(y),
            Calendar::Julian => y.rem_euclid(4) == 0,
            Calendar::Standard => {
                if year < 1582 {
                    y.rem_euclid(4) == 0
                } else {
                    gregorian_leap(y)
                }
            }
            Calendar::NoLeap | Calendar::Day360 => false,
            Calendar::AllLeap => true,
        }
    }

    /// Days in `month` (1–12) of `year`.
    pub fn days_in_month(self, year: i64, month: u32) -> i64 {
        if self == Calendar::Day360 {
            return 30;
        }
        let m = (month as usize).clamp(1, 12) - 1;
        if m == 1 && self.is_leap(year) {
            29
        } else {
            MONTH_DAYS[m]
        }
    }

    /// The day number of a date, or why the date does not exist in this calendar.
    pub fn day_number(self, year: i64, month: u32, day: u32) -> Result<i64, TimeError> {
        let bad = |why: &str| {
            Err(TimeError(format!(
                "{year:04}-{month:02}-{day:02} {why} in the {} calendar",
                self.name()
            )))
        };
        if !(1..=12).contains(&month) {
            return bad("has no such month");
        }
        if year == 0 && !self.has_year_zero() {
            return bad("does not exist (there is no year zero)");
        }
        if day < 1 || i64::from(day) > self.days_in_month(year, month) {
            return bad("has no such day");
        }
        let (m, d) = (i64::from(month), i64::from(day));
        Ok(match self {
            Calendar::ProlepticGregorian => gregorian_jdn(self.astronomical(year), m, d),
            Calendar::Julian => julian_jdn(self.astronomical(year), m, d),
            Calendar::Standard => {
                if (year, month, day) >= (1582, 10, 15) {
                    gregorian_jdn(year, m, d)
                } else if (year, month, day) <= (1582, 10, 4) {
                    julian_jdn(self.astronomical(year), m, d)
                } else {
                    return bad("does not exist (the Gregorian reform skipped it)");
                }
            }
            Calendar::Day360 => year * 360 + (m - 1) * 30 + d - 1,
            Calendar::NoLeap | Calendar::AllLeap => {
                let per_year = if self == Calendar::AllLeap { 366 } else { 365 };
                let before: i64 = (1..month).map(|k| self.days_in_month(year, k)).sum();
                year * per_year + before + d - 1
            }
        })
    }

    /// The date `(year, month, day)` of a day number.
    pub fn date(self, n: i64) -> (i64, u32, u32) {
        match self {
            Calendar::ProlepticGregorian => self.civil(gregorian_date(n)),
            Calendar::Julian => self.civil(julian_date(n)),
            Calendar::Standard => {
                if n >= GREGORIAN_START_JDN {
                    gregorian_date(n)
                } else {
                    self.civil(julian_date(n))
                }
            }
            Calendar::Day360 => {
                let year = n.div_euclid(360);
                let r = n.rem_euclid(360);
                (year, (r / 30 + 1) as u32, (r % 30 + 1) as u32)
            }
            Calendar::NoLeap | Calendar::AllLeap => {
                let per_year = if self == Calendar::AllLeap { 366 } else { 365 };
                let year = n.div_euclid(per_year);
                let mut r = n.rem_euclid(per_year);
                let mut month = 1;
                while r >= self.days_in_month(year, month) {
                    r -= self.days_in_month(year, month);
                    month += 1;
                }
                (year, month, (r + 1) as u32)
            }
        }
    }

    /// Astronomical year numbering (year 0 = 1 BC) of a calendar year.
    fn astronomical(self, year: i64) -> i64 {
        if year < 0 && !self.has_year_zero() {
            year + 1
        } else {
            year
        }
    }

    /// The calendar year of an astronomical `(year, month, day)`.
    fn civil(self, (year, month, day): (i64, u32, u32)) -> (i64, u32, u32) {
        if year <= 0 && !self.has_year_zero() {
            (year - 1, month, day)
        } else {
            (year, month, day)
        }
    }
}

fn gregorian_leap(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

/// Julian day number of a proleptic Gregorian date (astronomical years).
fn gregorian_jdn(y: i64, m: i64, d: i64) -> i64 {
    let a = (14 - m) / 12;
    let y = y + 4800 - a;
    let m = m + 12 * a - 3;
    d + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
        - 32045
}

/// Julian day number of a Julian-calendar date (astronomical years).
fn julian_jdn(y: i64, m: i64, d: i64) -> i64 {
    let a = (14 - m) / 12;
    let y = y + 4800 - a;
    let m = m + 12 * a - 3;
    d + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - 32083
}

/// The proleptic Gregorian date of a Julian day number (Richards' algorithm).
fn gregorian_date(n: i64) -> (i64, u32, u32) {
    let a = n + 32044;
    let b = (4 * a + 3).div_euclid(146_097);
    let c = a - (146_097 * b).div_euclid(4);
    let d = (4 * c + 3).div_euclid(1461);
    let e = c - (1461 * d).div_euclid(4);
    let m = (5 * e + 2).div_euclid(153);
    let day = e - (153 * m + 2).div_euclid(5) + 1;
    let month = m + 3 - 12 * (m / 10);
    let year = 100 * b + d - 4800 + m / 10;
    (year, month as u32, day as u32)
}

/// The Julian-calendar date of a Julian day number.
fn julian_date(n: i64) -> (i64, u32, u32) {
    let c = n + 32082;
    let d = (4 * c + 3).div_euclid(1461);
    let e = c - (1461 * d).div_euclid(4);
    let m = (5 * e + 2).div_euclid(153);
    let day = e - (153 * m + 2).div_euclid(5) + 1;
    let month = m + 3 - 12 * (m / 10);
    let year = d - 4800 + m / 10;
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Calendar; 6] = [
        Calendar::Standard,
        Calendar::ProlepticGregorian,
        Calendar::Julian,
        Calendar::NoLeap,
        Calendar::AllLeap,
        Calendar::Day360,
    ];

    #[test]
    fn every_day_round_trips_and_days_are_consecutive() {
        for cal in ALL {
            let start = cal.day_number(1, 1, 1).expect("start");
            let mut prev = cal.date(start);
            for n in start + 1..start + 800 * 366 {
                let date = cal.date(n);
                assert_eq!(
                    cal.day_number(date.0, date.1, date.2).expect("exists"),
                    n,
                    "{cal:?} {date:?}"
                );
                assert!(date > prev, "{cal:?} {prev:?} then {date:?}");
                prev = date;
            }
        }
    }

    #[test]
    fn known_days_and_the_gregorian_reform() {
        let s = Calendar::Standard;
        let oct4 = s.day_number(1582, 10, 4).expect("exists");
        assert_eq!(s.day_number(1582, 10, 15).expect("exists"), oct4 + 1);
        assert!(s.day_number(1582, 10, 10).is_err());
        assert_eq!(s.day_number(1970, 1, 1).expect("epoch"), 2_440_588);
        assert!(Calendar::NoLeap.day_number(2000, 2, 29).is_err());
        assert!(Calendar::Day360.day_number(2001, 2, 30).is_ok());
        assert!(Calendar::Julian.day_number(1900, 2, 29).is_ok());
        assert!(Calendar::ProlepticGregorian
            .day_number(1900, 2, 29)
            .is_err());
        assert!(Calendar::Standard.day_number(0, 1, 1).is_err());
        assert_eq!(
            Calendar::Julian.date(Calendar::Julian.day_number(-1, 12, 31).unwrap() + 1),
            (1, 1, 1)
        );
        assert!(Calendar::parse("gregorian_ish").is_err());
        assert_eq!(Calendar::parse("365_DAY").expect("known"), Calendar::NoLeap);
    }
}
