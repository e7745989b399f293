//! Timestamps of the sources, normalised to UTC `YYYY-MM-DD HH:MM:SS.ffffff`.
//!
//! Zeek writes epoch seconds (`1601998366.785668`, or ISO 8601 in JSON when so configured), Suricata
//! writes local time with an offset (`2021-06-06T15:59:46.457984+0200`). Everything is carried as
//! microseconds since the Unix epoch (UTC) and written back in one layout, so timestamps of different
//! sources compare as strings. Years outside 0000–9999 are refused.

/// Microseconds since 1970-01-01T00:00:00Z of 0000-01-01T00:00:00Z.
const MIN_MICROS: i64 = -62_167_219_200_000_000;
/// Microseconds since the epoch of 9999-12-31T23:59:59.999999Z.
const MAX_MICROS: i64 = 253_402_300_799_999_999;
const MICROS_PER_DAY: i64 = 86_400_000_000;

use crate::time::{civil_from_days, days_from_civil, days_in_month};

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of epoch microseconds, or `None` outside years 0000–9999.
pub fn format_micros(us: i64) -> Option<String> {
    if !(MIN_MICROS..=MAX_MICROS).contains(&us) {
        return None;
    }
    let days = us.div_euclid(MICROS_PER_DAY);
    let rem = us.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    Some(format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}", secs / 3600, secs / 60 % 60, secs % 60))
}

/// Epoch microseconds of epoch seconds written as a decimal (`1601998366.785668`, `928.9`, `-1.5`).
/// Digits beyond microseconds are truncated. Falls back to a float parse for exponent forms.
pub fn epoch_str_to_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || int.len() > 12 {
        return s.parse::<f64>().ok().and_then(epoch_f64_to_micros);
    }
    let whole: i64 = int.parse().ok()?;
    let mut micros = 0i64;
    for (i, b) in frac.bytes().take(6).enumerate() {
        micros += i64::from(b - b'0') * 10i64.pow(5 - i as u32);
    }
    let v = whole.checked_mul(1_000_000)?.checked_add(micros)?;
    let v = if neg { -v } else { v };
    (MIN_MICROS..=MAX_MICROS).contains(&v).then_some(v)
}

/// Epoch microseconds of epoch seconds as a float (Zeek JSON), rounded to the microsecond.
pub fn epoch_f64_to_micros(x: f64) -> Option<i64> {
    let us = (x * 1e6).round();
    // The bounds are far inside f64's exact-integer range, so the cast below cannot saturate.
    (us.is_finite() && us >= MIN_MICROS as f64 && us <= MAX_MICROS as f64).then_some(us as i64)
}

/// Unix milliseconds of a flow's normalised timestamp, when it has one (what the behaviour
/// detectors, the ML gate and the network evaluation order and window flows by).
pub fn flow_ms(flow: &crate::flow::Flow) -> Option<i64> {
    iso_to_micros(flow.timestamp.as_deref()?).map(|us| us.div_euclid(1000))
}

/// Epoch microseconds of an ISO 8601 / RFC 3339 date-time: `YYYY-MM-DD[T ]HH:MM:SS[.f+][Z|±HH[:]MM]`.
/// Without an offset the time is taken as UTC.
pub fn iso_to_micros(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 6 {
                micros += i64::from(b[i] - b'0') * 10i64.pow(5 - (i - start) as u32);
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = match b.len().checked_sub(i + 3)? {
                0 => 0,
                2 => num(i + 3..i + 5)?,
                3 if b[i + 3] == b':' => num(i + 4..i + 6)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    // A leap second (:60) is folded into the next second.
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    let v = secs.checked_mul(1_000_000)?.checked_add(micros)?;
    (MIN_MICROS..=MAX_MICROS).contains(&v).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_round_trips_through_the_calendar() {
        assert_eq!(format_micros(0).as_deref(), Some("1970-01-01 00:00:00.000000"));
        let us = epoch_str_to_micros("1601998366.785668").unwrap();
        assert_eq!(us, 1_601_998_366_785_668);
        assert_eq!(format_micros(us).as_deref(), Some("2020-10-06 15:32:46.785668"));
        assert_eq!(
            format_micros(epoch_str_to_micros("928.943457").unwrap()).as_deref(),
            Some("1970-01-01 00:15:28.943457")
        );
        assert_eq!(epoch_str_to_micros("1.5e3"), Some(1_500_000_000));
        assert_eq!(epoch_str_to_micros("1.1234567"), Some(1_123_456));
        assert_eq!(epoch_str_to_micros("-1.5"), Some(-1_500_000));
        assert_eq!(epoch_str_to_micros("abc"), None);
        assert_eq!(epoch_str_to_micros(""), None);
        assert_eq!(epoch_str_to_micros("."), None);
        assert_eq!(epoch_str_to_micros("99999999999999999999"), None);
        assert_eq!(epoch_f64_to_micros(f64::NAN), None);
        assert_eq!(epoch_f64_to_micros(1e300), None);
        assert_eq!(epoch_f64_to_micros(1700828217.314165), Some(1_700_828_217_314_165));
    }

    #[test]
    fn iso_with_offsets_becomes_utc() {
        let us = iso_to_micros("2021-06-06T15:59:46.457984+0200").unwrap();
        assert_eq!(format_micros(us).as_deref(), Some("2021-06-06 13:59:46.457984"));
        assert_eq!(iso_to_micros("2021-06-06T13:59:46.457984Z"), Some(us));
        assert_eq!(iso_to_micros("2021-06-06 13:59:46.457984"), Some(us));
        assert_eq!(iso_to_micros("2021-06-06T10:29:46.457984-03:30"), Some(us));
        assert_eq!(iso_to_micros("2021-06-06T15:59:46+02"), Some(us - 457_984));
        assert_eq!(
            format_micros(iso_to_micros("2000-02-29T23:59:59.9999999Z").unwrap()).as_deref(),
            Some("2000-02-29 23:59:59.999999")
        );
        for bad in [
            "",
            "2021-06-06",
            "2021-13-01T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "2021-06-06T24:00:00",
            "2021-06-06T10:00:00.Z",
            "2021-06-06T10:00:00+2",
            "2021-06-06T10:00:00Zjunk",
            "２０21-06-06T10:00:00",
        ] {
            assert_eq!(iso_to_micros(bad), None, "{bad}");
        }
    }

    #[test]
    fn calendar_is_exact_across_eras() {
        for days in [-719_468, -1, 0, 1, 10_957, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(format_micros(MAX_MICROS).as_deref(), Some("9999-12-31 23:59:59.999999"));
        assert_eq!(format_micros(MIN_MICROS).as_deref(), Some("0000-01-01 00:00:00.000000"));
        assert_eq!(format_micros(MAX_MICROS + 1), None);
    }
}
