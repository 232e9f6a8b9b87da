//! Decoded CF time against cftime (the test Python): stored values in every CF calendar and
//! unit decode to the dates cftime gives (leap days, the 1582 Gregorian reform, fractions of
//! a second, time-zone offsets in the reference date), dates encode back to the values
//! cftime's `date2num` gives, and date components (`dayofyr`) agree.

mod common;

use common::{python, run_python};
use tessera::labeled::time::{CfTime, Component, DateTime};

const CALENDARS: &[&str] = &[
    "standard",
    "gregorian",
    "proleptic_gregorian",
    "julian",
    "noleap",
    "365_day",
    "all_leap",
    "366_day",
    "360_day",
];

/// Units per calendar, reference dates chosen around leap days and the 1582 reform.
fn units_for(calendar: &str) -> Vec<String> {
    let mut u = vec![
        "days since 2000-01-01".to_string(),
        "hours since 1999-12-30 18:00:00".to_string(),
        "seconds since 1970-01-01T00:00:00Z".to_string(),
        "minutes since 1850-02-28 12:30".to_string(),
        "days since 1582-10-01".to_string(),
        "hours since 2000-01-01 00:00:00 +05:30".to_string(),
        "d since 1-1-1".to_string(),
    ];
    if calendar != "noleap" && calendar != "365_day" {
        u.push("milliseconds since 2004-02-29 00:00:00.5".into());
    }
    if calendar == "360_day" {
        u.push("months since 2000-01-01".into());
    }
    if calendar == "noleap" || calendar == "365_day" {
        u.push("common_years since 2000-01-01".into());
    }
    if calendar.contains("leap") || calendar.contains("day") {
        u.push("days since 0000-01-01".into());
    }
    u
}

/// Deterministic values: whole days across several leap years, fractions, negatives.
fn values() -> Vec<f64> {
    let mut v: Vec<f64> = (-400..1900).step_by(7).map(f64::from).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let r = (x >> 11) as f64 / (1u64 << 53) as f64;
        v.push((r - 0.3) * 60_000.0);
    }
    v.extend([0.5, 1.5, 59.0, 60.0, 365.25, 1e-6, 2.5e-6, 0.1234567891]);
    v
}

const DECODE: &str = r#"
import sys, json, cftime, numpy as np
cases = json.load(open(sys.argv[1]))
out = []
for units, cal, vals in cases:
    ds = cftime.num2date(np.array(vals, dtype="f8"), units, cal)
    out.append([[d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond, d.dayofyr] for d in ds])
    nums = cftime.date2num(list(ds), units, cal)
    out[-1] = [row + [float(n)] for row, n in zip(out[-1], nums)]
print(json.dumps(out))
"#;

#[test]
fn decoding_and_encoding_agree_with_cftime_in_every_calendar() {
    let Some(py) = python() else { return };
    let vals = values();
    let mut cases = Vec::new();
    for cal in CALENDARS {
        for units in units_for(cal) {
            // Values a calendar has no date for (before year 1 in real-world calendars) are
            // left out of the comparison set by cftime's own range: keep them positive there.
            let v: Vec<f64> = if units.contains("1-1-1") {
                vals.iter().map(|x| x.abs()).collect()
            } else {
                vals.clone()
            };
            cases.push((units, cal.to_string(), v));
        }
    }
    let dir = common::temp_dir();
    let input = dir.path().join("cases.json");
    std::fs::write(&input, serde_json::to_string(&cases).expect("json")).expect("write");
    let out = run_python(&py, DECODE, &[&input]);
    let expected: Vec<Vec<Vec<f64>>> = serde_json::from_str(out.trim()).expect("cftime json");
    let mut checked = 0;
    for ((units, cal, vals), want) in cases.iter().zip(&expected) {
        let t = CfTime::parse(units, Some(cal)).expect("units");
        for (v, w) in vals.iter().zip(want) {
            let d = t.decode(*v).expect("decode");
            let theirs = DateTime {
                year: w[0] as i64,
                month: w[1] as u32,
                day: w[2] as u32,
                time_us: ((w[3] * 60.0 + w[4]) * 60.0 + w[5]) as i64 * 1_000_000 + w[6] as i64,
            };
            // cftime scales in x87 extended precision (64-bit mantissa): past 2^63 ns of
            // offset its product can be a microsecond off the exact one, which we give.
            let exact_range = (v.abs() * t.unit_microseconds() as f64) < 2f64.powi(55);
            let diff = t.instant(*v).expect("instant") - theirs.instant(t.calendar).expect("date");
            assert!(
                diff == 0 || (!exact_range && diff.abs() <= 1),
                "{v} {units} ({cal}): {d} vs cftime {theirs}"
            );
            if diff == 0 {
                assert_eq!(
                    Component::DayOfYear.of(&d, t.calendar) as f64,
                    w[7],
                    "{v} {units} ({cal}): {d}"
                );
            }
            let back = t.encode(&d).expect("encode");
            let tol = 1e-9 * w[8].abs().max(1.0);
            assert!(
                (back - w[8]).abs() <= tol,
                "{d} in {units} ({cal}): {back} vs {}",
                w[8]
            );
            checked += 1;
        }
    }
    assert!(checked > 20_000, "only {checked} values checked");
}

#[test]
fn dates_that_do_not_exist_are_refused_as_cftime_refuses_them() {
    for (cal, date) in [
        ("noleap", (2000, 2, 29)),
        ("360_day", (2000, 1, 31)),
        ("standard", (1582, 10, 10)),
        ("proleptic_gregorian", (1900, 2, 29)),
    ] {
        let t = CfTime::parse("days since 2000-01-01", Some(cal)).expect("units");
        let err = t
            .encode(&DateTime::date(date.0, date.1, date.2))
            .expect_err("no such date");
        assert!(err.to_string().contains(cal), "{err}");
    }
    for (units, cal) in [
        ("days since 0000-01-01", "standard"),
        ("months since 2000-01-01", "noleap"),
        ("weeks since 2000-01-01", "standard"),
        ("days since 2000-01-01", "mars"),
        ("days since 2000-13-01", "standard"),
    ] {
        assert!(CfTime::parse(units, Some(cal)).is_err(), "{units} {cal}");
    }
}
