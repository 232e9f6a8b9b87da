//! Human quantities on the command line and in config files: sizes (`4GiB`, `4GB`, `4e9`),
//! durations (`30s`, `5m`, `1h`, `02:00:00`), memory limits (`4GiB`, `0.25`, `auto`, `none`),
//! memory thresholds (`0.6`, `60%`, `none`) and size caps (`200GiB`, `none`).
//!
//! Parsing and printing only: this module must not read the machine (the worker resolves `auto`
//! and fractions against the node it runs on, through [`MemoryLimit::resolve`]).
//!
//! Sizes follow Dask for the explicit units (`GB` = 10⁹ bytes, `GiB` = 2³⁰ bytes) and `sbatch
//! --mem` for the single letters (`G` = `GiB`, `M` = `MiB`, ...). Units are case-insensitive and
//! the trailing `B` is optional: `512mb`, `4 GiB`, `4G` and `1.5gib` are all sizes.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A quantity could not be parsed; the message names the input and shows valid examples.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

const SIZE_EXPECTED: &str = "expected a number with an optional unit, e.g. 4GiB, 4GB, 512MiB, 4e9";
const DURATION_EXPECTED: &str =
    "expected e.g. 30s, 5m, 1h30m, 2d, 250ms, 90 (seconds), 01:30:00 or 1-00:00:00";
const MEMORY_EXPECTED: &str = "expected a size (4GiB, 4GB, 4e9), a fraction of the node's memory \
     (0.5 or 50%), auto, or none";

fn size_error(input: &str, reason: &str) -> UnitError {
    UnitError(format!("invalid size {input:?}: {reason}; {SIZE_EXPECTED}"))
}

fn duration_error(input: &str, reason: &str) -> UnitError {
    UnitError(format!(
        "invalid duration {input:?}: {reason}; {DURATION_EXPECTED}"
    ))
}

fn memory_error(input: &str, reason: &str) -> UnitError {
    UnitError(format!(
        "invalid memory limit {input:?}: {reason}; {MEMORY_EXPECTED}"
    ))
}

/// Split `s` into its leading number (optional sign, digits, `.`, and an exponent when
/// `exponent` is allowed) and the rest.
fn split_number(s: &str, exponent: bool) -> (&str, &str) {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if exponent && i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    s.split_at(i)
}

/// A number as written: exact when it is a whole number of digits, floating otherwise.
enum Number {
    Whole(u128),
    Real(f64),
}

/// Parse the number part of a quantity; `Err` holds the reason.
fn parse_number(num: &str) -> Result<Number, String> {
    if num.starts_with('-') {
        return Err("must not be negative".into());
    }
    let digits = num.strip_prefix('+').unwrap_or(num);
    if digits.is_empty() || digits == "." {
        return Err("no number".into());
    }
    if digits.bytes().all(|c| c.is_ascii_digit()) {
        if let Ok(n) = digits.parse::<u128>() {
            return Ok(Number::Whole(n));
        }
    }
    match digits.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Number::Real(f)),
        Ok(_) => Err("too large".into()),
        Err(_) => Err(format!("{num:?} is not a number")),
    }
}

/// `number × unit`, exactly for whole numbers, rounded to the nearest integer otherwise;
/// `None` when it does not fit in `limit`.
fn scale(number: &Number, unit: u128, limit: u128) -> Option<u128> {
    match *number {
        Number::Whole(n) => n.checked_mul(unit).filter(|v| *v <= limit),
        Number::Real(f) => {
            let v = (f * unit as f64).round();
            // `limit as f64` may round up; compare with a strict bound below 2^128.
            (v.is_finite() && v >= 0.0 && v <= limit as f64 && v < 3.0e38)
                .then_some(v as u128)
                .filter(|v| *v <= limit)
        }
    }
}

/// The multiplier of a size unit (lowercase), or `None` for an unknown unit.
fn size_unit(unit: &str) -> Option<u64> {
    const KI: u64 = 1 << 10;
    Some(match unit {
        "" | "b" | "byte" | "bytes" => 1,
        "k" | "ki" | "kib" => KI,
        "m" | "mi" | "mib" => KI.pow(2),
        "g" | "gi" | "gib" => KI.pow(3),
        "t" | "ti" | "tib" => KI.pow(4),
        "p" | "pi" | "pib" => KI.pow(5),
        "eib" => KI.pow(6),
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "pb" => 1_000_000_000_000_000,
        "eb" => 1_000_000_000_000_000_000,
        _ => return None,
    })
}

/// Parse a size into bytes; `Err` holds the reason (without the input or the examples).
fn parse_bytes(input: &str) -> Result<u64, String> {
    let t = input.trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    let (num, unit) = split_number(t, true);
    let unit = unit.trim();
    let number = parse_number(num)?;
    let multiplier =
        size_unit(&unit.to_ascii_lowercase()).ok_or_else(|| format!("unknown unit {unit:?}"))?;
    scale(&number, u128::from(multiplier), u128::from(u64::MAX))
        .map(|v| v as u64)
        .ok_or_else(|| "too large (the largest size is 16 EiB)".into())
}

/// A number of bytes.
///
/// Parses `4GiB`, `4 GiB`, `4GB` (10⁹-based), `4G` (= `4GiB`, as `sbatch --mem`), `4e9`,
/// `4096`, `1.5GiB`, `512mb`, `0`; prints binary units (`1.5 GiB`, `512 MiB`, `100 B`).
///
/// ```
/// use tessera::units::ByteSize;
/// assert_eq!("4GiB".parse::<ByteSize>().unwrap(), ByteSize(4 << 30));
/// assert_eq!("4GB".parse::<ByteSize>().unwrap(), ByteSize(4_000_000_000));
/// assert_eq!(ByteSize(1536 << 20).to_string(), "1.5 GiB");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_bytes(s)
            .map(ByteSize)
            .map_err(|reason| size_error(s, &reason))
    }
}

impl fmt::Display for ByteSize {
    /// Binary units with at most two decimals (so printing loses at most 0.5%); honours width
    /// and alignment (`{:>10}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let n = self.0;
        if n < 1024 {
            return f.pad(&format!("{n} B"));
        }
        let mut exp = ((63 - n.leading_zeros()) / 10) as usize;
        let unit = 1u64 << (10 * exp);
        // Hundredths of the unit, rounded to nearest, but never up past the largest size
        // (16 EiB would not parse back).
        let (n128, unit128) = (u128::from(n), u128::from(unit));
        let mut hundredths = (n128 * 100 + unit128 / 2) / unit128;
        if hundredths * unit128 > u128::from(u64::MAX) * 100 {
            hundredths = n128 * 100 / unit128;
        }
        if hundredths == 1024 * 100 && exp + 1 < UNITS.len() {
            exp += 1;
            hundredths = 100;
        }
        let text = match hundredths % 100 {
            0 => format!("{}", hundredths / 100),
            h if h % 10 == 0 => format!("{}.{}", hundredths / 100, h / 10),
            h => format!("{}.{h:02}", hundredths / 100),
        };
        f.pad(&format!("{text} {}", UNITS[exp]))
    }
}

/// Nanoseconds in a duration unit (lowercase), or `None` for an unknown unit.
fn duration_unit(unit: &str) -> Option<u128> {
    const S: u128 = 1_000_000_000;
    Some(match unit {
        "ns" | "nsec" | "nanosecond" | "nanoseconds" => 1,
        "us" | "µs" | "usec" | "microsecond" | "microseconds" => 1_000,
        "ms" | "msec" | "millisecond" | "milliseconds" => 1_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => S,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * S,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600 * S,
        "d" | "day" | "days" => 86_400 * S,
        "w" | "week" | "weeks" => 7 * 86_400 * S,
        _ => return None,
    })
}

const NANOS_PER_SEC: u128 = 1_000_000_000;
const MAX_DURATION_NANOS: u128 = (u64::MAX as u128) * NANOS_PER_SEC + (NANOS_PER_SEC - 1);

/// `30s`, `1h30m`, `1.5h`, `90`: terms of a number and a unit; a lone number is seconds.
fn parse_duration_terms(t: &str) -> Result<u128, String> {
    let mut rest = t;
    let mut total: u128 = 0;
    let mut terms = 0;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (num, after) = split_number(rest, false);
        if num.is_empty() {
            return Err(format!("expected a number at {rest:?}"));
        }
        let number = parse_number(num)?;
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !(c.is_alphabetic()))
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit = if unit.is_empty() {
            if terms == 0 && after.trim().is_empty() {
                NANOS_PER_SEC
            } else {
                return Err(format!("missing unit after {num:?}"));
            }
        } else {
            duration_unit(&unit.to_lowercase()).ok_or_else(|| format!("unknown unit {unit:?}"))?
        };
        let nanos =
            scale(&number, nanos_per_unit, MAX_DURATION_NANOS).ok_or("too long".to_string())?;
        total = total
            .checked_add(nanos)
            .filter(|v| *v <= MAX_DURATION_NANOS)
            .ok_or("too long".to_string())?;
        terms += 1;
        rest = after;
    }
    Ok(total)
}

/// One field of a clock time: digits, with a fraction allowed in the seconds.
fn clock_field(field: &str, name: &str, fraction: bool) -> Result<Number, String> {
    let ok = !field.is_empty()
        && field
            .bytes()
            .all(|c| c.is_ascii_digit() || (fraction && c == b'.'))
        && field.bytes().filter(|c| *c == b'.').count() <= 1
        && field != ".";
    if !ok {
        return Err(format!("{name} {field:?} is not a number"));
    }
    parse_number(field)
}

/// `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` (the SLURM forms).
fn parse_duration_clock(t: &str) -> Result<u128, String> {
    const S: u128 = NANOS_PER_SEC;
    let (days, clock) = match t.split_once('-') {
        Some((d, c)) => (Some(d), c),
        None => (None, t),
    };
    let fields: Vec<&str> = clock.split(':').collect();
    // (field names, nanoseconds per unit) from the first field on.
    let layout: &[(&str, u128)] = match (days.is_some(), fields.len()) {
        (true, 1) => &[("hours", 3600 * S)],
        (true, 2) => &[("hours", 3600 * S), ("minutes", 60 * S)],
        (true, 3) | (false, 3) => &[("hours", 3600 * S), ("minutes", 60 * S), ("seconds", S)],
        (false, 2) => &[("minutes", 60 * S), ("seconds", S)],
        _ => return Err("too many ':' fields".into()),
    };
    let mut total: u128 = 0;
    if let Some(d) = days {
        let n = clock_field(d, "days", false)?;
        total = scale(&n, 86_400 * S, MAX_DURATION_NANOS).ok_or("too long".to_string())?;
    }
    for (i, (field, (name, unit))) in fields.iter().zip(layout).enumerate() {
        let last = i + 1 == fields.len();
        let n = clock_field(field, name, last && *name == "seconds")?;
        let leading = i == 0 && days.is_none();
        let bound = if *name == "hours" { 24.0 } else { 60.0 };
        let value = match n {
            Number::Whole(v) => v as f64,
            Number::Real(v) => v,
        };
        if !leading && value >= bound {
            return Err(format!("{name} {field:?} must be below {bound}"));
        }
        let nanos = scale(&n, *unit, MAX_DURATION_NANOS).ok_or("too long".to_string())?;
        total = total
            .checked_add(nanos)
            .filter(|v| *v <= MAX_DURATION_NANOS)
            .ok_or("too long".to_string())?;
    }
    Ok(total)
}

/// Parse a duration: `30s`, `5m`, `1h`, `1h30m`, `2d`, `1.5h`, `250ms`, `90` (seconds),
/// `MM:SS`, `HH:MM:SS`, and the SLURM forms `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
///
/// Units: `ns`, `us`, `ms`, `s`, `m`, `h`, `d`, `w` (and their long names), case-insensitive.
/// A plain number is seconds (as in Dask; note that SLURM's `--time=90` means minutes).
///
/// ```
/// use std::time::Duration;
/// use tessera::units::parse_duration;
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("1-00:00:00").unwrap(), Duration::from_secs(86_400));
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(duration_error(s, "empty"));
    }
    if t.starts_with('-') {
        return Err(duration_error(s, "must not be negative"));
    }
    let slurm_days = t
        .split_once('-')
        .is_some_and(|(d, _)| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()));
    let nanos = if t.contains(':') || slurm_days {
        parse_duration_clock(t)
    } else {
        parse_duration_terms(t)
    }
    .map_err(|reason| duration_error(s, &reason))?;
    Ok(Duration::new(
        (nanos / NANOS_PER_SEC) as u64,
        (nanos % NANOS_PER_SEC) as u32,
    ))
}

/// Print a duration compactly so that [`parse_duration`] reads it back exactly:
/// `1h30m`, `45s`, `2d3h`, `1m30.5s`, `250ms`, `0s`.
///
/// ```
/// use std::time::Duration;
/// use tessera::units::format_duration;
/// assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
/// assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
/// ```
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if secs == 0 {
        return if nanos.is_multiple_of(1_000_000) {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{}us", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        };
    }
    let mut out = String::new();
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    for (value, unit) in [(days, "d"), (hours, "h"), (minutes, "m")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if seconds > 0 || nanos > 0 {
        out.push_str(&seconds.to_string());
        if nanos > 0 {
            let fraction = format!("{nanos:09}");
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        out.push('s');
    }
    out
}

/// A worker's memory limit as given by the user.
///
/// Parses a size (`4GiB`, `4GB`, `4e9`; a plain number above 1 is bytes), a fraction of the
/// node's memory (`0.5`, i.e. a plain number in (0, 1], or `50%`), `auto`, and `none` /
/// `unlimited` / `0` (any size of zero means no limit, as in Dask).
///
/// ```
/// use tessera::units::MemoryLimit;
/// assert_eq!("4GiB".parse::<MemoryLimit>().unwrap(), MemoryLimit::Bytes(4 << 30));
/// assert_eq!("0.25".parse::<MemoryLimit>().unwrap(), MemoryLimit::Fraction(0.25));
/// assert_eq!("auto".parse::<MemoryLimit>().unwrap().resolve(64 << 30, 4), Some(16 << 30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MemoryLimit {
    /// Exactly this many bytes.
    Bytes(u64),
    /// This fraction (0 < f ≤ 1) of the node's memory.
    Fraction(f64),
    /// The node's memory divided by the workers on the node.
    Auto,
    /// No limit.
    Unlimited,
}

impl MemoryLimit {
    /// The limit in bytes for one worker on a node with `node_memory` bytes shared by
    /// `workers_on_node` workers; `None` means no limit.
    ///
    /// `Bytes` is taken as given (the caller warns when it exceeds the node); a `Fraction` is of
    /// the whole node's memory, per worker (as in Dask); `Auto` divides the node's memory
    /// evenly between the workers on it (zero workers counts as one).
    pub fn resolve(self, node_memory: u64, workers_on_node: u32) -> Option<u64> {
        match self {
            MemoryLimit::Bytes(b) => Some(b),
            MemoryLimit::Fraction(f) => Some((node_memory as f64 * f.clamp(0.0, 1.0)) as u64),
            MemoryLimit::Auto => Some(node_memory / u64::from(workers_on_node.max(1))),
            MemoryLimit::Unlimited => None,
        }
    }
}

impl FromStr for MemoryLimit {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "" => return Err(memory_error(s, "empty")),
            "auto" => return Ok(MemoryLimit::Auto),
            "none" | "unlimited" => return Ok(MemoryLimit::Unlimited),
            _ => {}
        }
        if let Some(percent) = t.strip_suffix('%') {
            let p = match parse_number(percent.trim()).map_err(|r| memory_error(s, &r))? {
                Number::Whole(n) => n as f64,
                Number::Real(f) => f,
            };
            return if p > 0.0 && p <= 100.0 {
                Ok(MemoryLimit::Fraction(p / 100.0))
            } else if p == 0.0 {
                Ok(MemoryLimit::Unlimited)
            } else {
                Err(memory_error(s, "a percentage must be at most 100%"))
            };
        }
        let (num, unit) = split_number(t, true);
        if unit.is_empty() {
            let value = match parse_number(num).map_err(|r| memory_error(s, &r))? {
                Number::Whole(n) => n as f64,
                Number::Real(f) => f,
            };
            if value > 0.0 && value <= 1.0 {
                return Ok(MemoryLimit::Fraction(value));
            }
            if value.fract() != 0.0 {
                return Err(memory_error(
                    s,
                    "a number without a unit is a fraction of the node (at most 1) or whole \
                     bytes; write a unit for a size (example: 1.5GiB)",
                ));
            }
        }
        match parse_bytes(t).map_err(|r| memory_error(s, &r))? {
            0 => Ok(MemoryLimit::Unlimited),
            b => Ok(MemoryLimit::Bytes(b)),
        }
    }
}

impl fmt::Display for MemoryLimit {
    /// The form [`MemoryLimit::from_str`] reads (sizes rounded as [`ByteSize`] prints them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryLimit::Bytes(b) => f.pad(&ByteSize(*b).to_string()),
            MemoryLimit::Fraction(x) => f.pad(&x.to_string()),
            MemoryLimit::Auto => f.pad("auto"),
            MemoryLimit::Unlimited => f.pad("none"),
        }
    }
}

/// A memory threshold as a fraction of the memory limit, or disabled.
///
/// Parses a fraction in (0, 1] (`0.6`), a percentage (`60%`), or `none` / `false` / `off`
/// (disabled).
///
/// ```
/// use tessera::units::Threshold;
/// assert_eq!("0.6".parse::<Threshold>().unwrap(), Threshold(Some(0.6)));
/// assert_eq!("95%".parse::<Threshold>().unwrap(), Threshold(Some(0.95)));
/// assert_eq!("none".parse::<Threshold>().unwrap(), Threshold(None));
/// assert!("1.5".parse::<Threshold>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold(pub Option<f64>);

impl FromStr for Threshold {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = |reason: &str| {
            UnitError(format!(
                "invalid threshold {s:?}: {reason}; expected a fraction of the memory limit in \
                 (0, 1] such as 0.6 or 60%, or none to disable it"
            ))
        };
        if matches!(
            t.to_ascii_lowercase().as_str(),
            "none" | "false" | "off" | "disabled"
        ) {
            return Ok(Threshold(None));
        }
        let (text, scale) = match t.strip_suffix('%') {
            Some(p) => (p.trim(), 100.0),
            None => (t, 1.0),
        };
        let value = match parse_number(text).map_err(|r| bad(&r))? {
            Number::Whole(n) => n as f64,
            Number::Real(f) => f,
        } / scale;
        if value > 0.0 && value <= 1.0 {
            Ok(Threshold(Some(value)))
        } else {
            Err(bad("out of range"))
        }
    }
}

impl fmt::Display for Threshold {
    /// The form [`Threshold::from_str`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(x) => f.pad(&x.to_string()),
            None => f.pad("none"),
        }
    }
}

/// An upper bound in bytes, or none.
///
/// Parses a size (see [`ByteSize`]) or `none` / `unlimited`.
///
/// ```
/// use tessera::units::SizeCap;
/// assert_eq!("200GiB".parse::<SizeCap>().unwrap(), SizeCap(Some(200 << 30)));
/// assert_eq!("none".parse::<SizeCap>().unwrap(), SizeCap(None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeCap(pub Option<u64>);

impl FromStr for SizeCap {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "unlimited" => Ok(SizeCap(None)),
            _ => s.parse::<ByteSize>().map(|b| SizeCap(Some(b.0))),
        }
    }
}

impl fmt::Display for SizeCap {
    /// The form [`SizeCap::from_str`] reads (exact bytes, so it parses back unchanged).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(b) => f.pad(&b.to_string()),
            None => f.pad("none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn thresholds_and_caps() {
        assert_eq!("1".parse::<Threshold>().unwrap(), Threshold(Some(1.0)));
        assert_eq!("OFF".parse::<Threshold>().unwrap(), Threshold(None));
        for bad in ["0", "-0.5", "101%", "abc", ""] {
            let err = bad.parse::<Threshold>().unwrap_err().to_string();
            assert!(err.contains("invalid threshold"), "{bad}: {err}");
        }
        for t in [Threshold(Some(0.65)), Threshold(None)] {
            assert_eq!(t.to_string().parse::<Threshold>().unwrap(), t);
        }
        assert_eq!("4MiB".parse::<SizeCap>().unwrap(), SizeCap(Some(4 << 20)));
        assert!("4 parsecs".parse::<SizeCap>().is_err());
        for c in [SizeCap(Some(12345)), SizeCap(None)] {
            assert_eq!(c.to_string().parse::<SizeCap>().unwrap(), c);
        }
    }

    const KI: u64 = 1024;

    fn size(s: &str) -> u64 {
        match s.parse::<ByteSize>() {
            Ok(b) => b.0,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn size_err(s: &str) -> String {
        match s.parse::<ByteSize>() {
            Ok(b) => panic!("{s:?} should not parse, got {b:?}"),
            Err(e) => e.0,
        }
    }

    fn dur(s: &str) -> Duration {
        match parse_duration(s) {
            Ok(d) => d,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn dur_err(s: &str) -> String {
        match parse_duration(s) {
            Ok(d) => panic!("{s:?} should not parse, got {d:?}"),
            Err(e) => e.0,
        }
    }

    fn mem(s: &str) -> MemoryLimit {
        match s.parse::<MemoryLimit>() {
            Ok(m) => m,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    #[test]
    fn sizes_binary_decimal_and_plain() {
        assert_eq!(size("4GiB"), 4 * KI.pow(3));
        assert_eq!(size("4 GiB"), 4 * KI.pow(3));
        assert_eq!(size("4GB"), 4_000_000_000);
        assert_eq!(size("4G"), 4 * KI.pow(3));
        assert_eq!(size("4g"), 4 * KI.pow(3));
        assert_eq!(size("4e9"), 4_000_000_000);
        assert_eq!(size("4E9"), 4_000_000_000);
        assert_eq!(size("4096"), 4096);
        assert_eq!(size("1.5GiB"), 3 * KI.pow(3) / 2);
        assert_eq!(size("512mb"), 512_000_000);
        assert_eq!(size("512MiB"), 512 * KI.pow(2));
        assert_eq!(size("512mi"), 512 * KI.pow(2));
        assert_eq!(size("0"), 0);
        assert_eq!(size("  7 kb "), 7000);
        assert_eq!(size("1k"), KI);
        assert_eq!(size("100B"), 100);
        assert_eq!(size("2TiB"), 2 * KI.pow(4));
        assert_eq!(size("1PB"), 1_000_000_000_000_000);
        assert_eq!(size("1EiB"), KI.pow(6));
        assert_eq!(size(".5KiB"), 512);
        assert_eq!(size("18446744073709551615"), u64::MAX);
    }

    #[test]
    fn size_errors_quote_input_and_give_examples() {
        let e = size_err("4XB");
        assert_eq!(
            e,
            "invalid size \"4XB\": unknown unit \"XB\"; expected a number with an optional \
             unit, e.g. 4GiB, 4GB, 512MiB, 4e9"
        );
        for bad in [
            "", "  ", "-4GiB", "NaN", "inf", "GiB", "4 G B", "1e", ".", "4..5",
        ] {
            let e = size_err(bad);
            assert!(e.contains(&format!("{bad:?}")), "{e}");
            assert!(e.contains("e.g. 4GiB"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(size_err("-1").contains("negative"));
        assert!(size_err("16EiB").contains("too large"));
        assert!(size_err("18446744073709551616").contains("too large"));
        assert!(size_err("1e300").contains("too large"));
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(ByteSize(100).to_string(), "100 B");
        assert_eq!(ByteSize(0).to_string(), "0 B");
        assert_eq!(ByteSize(1023).to_string(), "1023 B");
        assert_eq!(ByteSize(KI).to_string(), "1 KiB");
        assert_eq!(ByteSize(512 * KI.pow(2)).to_string(), "512 MiB");
        assert_eq!(ByteSize(3 * KI.pow(3) / 2).to_string(), "1.5 GiB");
        assert_eq!(ByteSize(4_000_000_000).to_string(), "3.73 GiB");
        assert_eq!(ByteSize(KI.pow(2) - 1).to_string(), "1 MiB");
        assert_eq!(ByteSize(u64::MAX).to_string(), "15.99 EiB");
        assert_eq!(format!("{:>8}", ByteSize(KI)), "   1 KiB");
    }

    #[test]
    fn durations_with_units() {
        assert_eq!(dur("30s"), Duration::from_secs(30));
        assert_eq!(dur("5m"), Duration::from_secs(300));
        assert_eq!(dur("1h"), Duration::from_secs(3600));
        assert_eq!(dur("1h30m"), Duration::from_secs(5400));
        assert_eq!(dur("1h 30m"), Duration::from_secs(5400));
        assert_eq!(dur("2d"), Duration::from_secs(2 * 86_400));
        assert_eq!(dur("1.5h"), Duration::from_secs(5400));
        assert_eq!(dur("250ms"), Duration::from_millis(250));
        assert_eq!(dur("90"), Duration::from_secs(90));
        assert_eq!(dur("0.5"), Duration::from_millis(500));
        assert_eq!(dur("1H"), Duration::from_secs(3600));
        assert_eq!(dur("3 minutes"), Duration::from_secs(180));
        assert_eq!(dur("1w"), Duration::from_secs(7 * 86_400));
        assert_eq!(dur("10us"), Duration::from_micros(10));
        assert_eq!(dur("10µs"), Duration::from_micros(10));
        assert_eq!(dur("7ns"), Duration::from_nanos(7));
        assert_eq!(dur("0"), Duration::ZERO);
    }

    #[test]
    fn durations_as_clock_times() {
        assert_eq!(dur("02:00:00"), Duration::from_secs(7200));
        assert_eq!(dur("1:30:15"), Duration::from_secs(5415));
        assert_eq!(dur("05:30"), Duration::from_secs(330));
        assert_eq!(dur("90:00"), Duration::from_secs(5400));
        assert_eq!(dur("1-00:00:00"), Duration::from_secs(86_400));
        assert_eq!(
            dur("2-12:30:00"),
            Duration::from_secs(2 * 86_400 + 12 * 3600 + 1800)
        );
        assert_eq!(dur("1-12"), Duration::from_secs(86_400 + 12 * 3600));
        assert_eq!(
            dur("1-12:30"),
            Duration::from_secs(86_400 + 12 * 3600 + 1800)
        );
        assert_eq!(dur("00:00:01.5"), Duration::from_millis(1500));
    }

    #[test]
    fn duration_errors_quote_input_and_give_examples() {
        for bad in [
            "",
            "-5s",
            "5x",
            "1h30",
            "h",
            "1:2:3:4",
            "00:60",
            "1-24:00:00",
            "a:b",
            "1-",
            "::",
            "1e3s",
            "NaN",
        ] {
            let e = dur_err(bad);
            assert!(e.starts_with(&format!("invalid duration {bad:?}: ")), "{e}");
            assert!(e.contains("e.g. 30s"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(dur_err("5x").contains("unknown unit \"x\""));
        assert!(dur_err("1h30").contains("missing unit"));
        assert!(dur_err("-5s").contains("negative"));
        assert!(dur_err("99999999999999999999999d").contains("too long"));
    }

    #[test]
    fn durations_print_compactly() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_micros(3)), "3us");
        assert_eq!(format_duration(Duration::from_nanos(3)), "3ns");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(
            format_duration(Duration::from_secs(2 * 86_400 + 3600)),
            "2d1h"
        );
        assert_eq!(format_duration(Duration::from_millis(90_500)), "1m30.5s");
    }

    #[test]
    fn memory_limits() {
        assert_eq!(mem("4GiB"), MemoryLimit::Bytes(4 * KI.pow(3)));
        assert_eq!(mem("4e9"), MemoryLimit::Bytes(4_000_000_000));
        assert_eq!(mem("0.25"), MemoryLimit::Fraction(0.25));
        assert_eq!(mem("1"), MemoryLimit::Fraction(1.0));
        assert_eq!(mem("50%"), MemoryLimit::Fraction(0.5));
        assert_eq!(mem("4096"), MemoryLimit::Bytes(4096));
        assert_eq!(mem("AUTO"), MemoryLimit::Auto);
        assert_eq!(mem("none"), MemoryLimit::Unlimited);
        assert_eq!(mem("unlimited"), MemoryLimit::Unlimited);
        assert_eq!(mem("0"), MemoryLimit::Unlimited);
        assert_eq!(mem("0GiB"), MemoryLimit::Unlimited);
        for bad in ["", "-0.5", "150%", "lots", "4XB"] {
            let e = match bad.parse::<MemoryLimit>() {
                Ok(m) => panic!("{bad:?} should not parse, got {m:?}"),
                Err(e) => e.0,
            };
            assert!(
                e.starts_with(&format!("invalid memory limit {bad:?}: ")),
                "{e}"
            );
            assert!(e.contains("auto, or none"), "{e}");
        }
    }

    #[test]
    fn memory_limits_resolve_against_the_node() {
        let node = 64 * KI.pow(3);
        assert_eq!(MemoryLimit::Bytes(1000).resolve(node, 4), Some(1000));
        assert_eq!(MemoryLimit::Fraction(0.5).resolve(node, 4), Some(node / 2));
        assert_eq!(MemoryLimit::Auto.resolve(node, 4), Some(node / 4));
        assert_eq!(MemoryLimit::Auto.resolve(node, 0), Some(node));
        assert_eq!(MemoryLimit::Unlimited.resolve(node, 4), None);
    }

    #[test]
    fn memory_limits_print_as_they_parse() {
        for m in [
            MemoryLimit::Bytes(4 * KI.pow(3)),
            MemoryLimit::Fraction(0.25),
            MemoryLimit::Auto,
            MemoryLimit::Unlimited,
        ] {
            assert_eq!(mem(&m.to_string()), m);
        }
    }

    proptest! {
        #[test]
        fn size_display_parses_back_within_rounding(n in any::<u64>()) {
            let printed = ByteSize(n).to_string();
            let back = size(&printed);
            let error = (back as f64 - n as f64).abs();
            prop_assert!(error <= n as f64 * 0.005 + 1.0, "{n} -> {printed} -> {back}");
        }

        #[test]
        fn size_parse_of_whole_units_is_exact(n in 0u64..1_000_000, unit in 0usize..5) {
            let (suffix, factor) = [("B", 1), ("KiB", KI), ("MiB", KI.pow(2)), ("kB", 1000), ("GB", 1_000_000_000)][unit];
            prop_assert_eq!(size(&format!("{n}{suffix}")), n * factor);
        }

        #[test]
        fn duration_format_parses_back_exactly(secs in 0u64..10_000_000_000, nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            let printed = format_duration(d);
            prop_assert_eq!(dur(&printed), d, "{}", printed);
        }

        #[test]
        fn garbage_gives_one_line_errors_quoting_the_input(s in "\\PC{0,12}") {
            let quoted = format!("{s:?}");
            let errors = [
                s.parse::<ByteSize>().err(),
                parse_duration(&s).err(),
                s.parse::<MemoryLimit>().err(),
            ];
            for e in errors.into_iter().flatten() {
                prop_assert!(e.0.contains(&quoted) && !e.0.contains('\n'), "{}", e.0);
            }
        }
    }
}
