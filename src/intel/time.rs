//! The timestamps of threat-intel files and hunt filters: RFC 3339 (`2026-03-01T12:00:00.250Z`,
//! `…+02:00`) and plain dates (`2026-03-01`, midnight UTC), as unix milliseconds.

use crate::time::{civil_from_days, days_from_civil, days_in_month};

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (years 0000–9999).
pub fn parse_date_days(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then(|| days_from_civil(y, m, d))
}

/// Unix ms of an RFC 3339 date-time: `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|z|±HH:MM)`. Digits of
/// the fraction beyond milliseconds are dropped; a time without an offset is taken as UTC.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = parse_date_days(s.get(..10)?)?;
    let (h, mi, sec) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 18 {
            return None;
        }
        for (i, c) in frac[..n.min(3)].iter().enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
        rest = &frac[n..];
    }
    let offset_min = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] | [sign @ (b'+' | b'-'), oh1, oh2, om1, om2] => {
            let (oh, om) = (digits(&[*oh1, *oh2])?, digits(&[*om1, *om2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            if *sign == b'+' {
                oh * 60 + om
            } else {
                -(oh * 60 + om)
            }
        }
        _ => return None,
    };
    Some((((days * 24 + h) * 60 + mi - offset_min) * 60 + sec) * 1000 + millis)
}

/// Unix ms of an RFC 3339 date-time or of a `YYYY-MM-DD` date (its midnight, UTC).
pub fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    match parse_date_days(s) {
        Some(days) => Some(days * 86_400_000),
        None => parse_rfc3339_ms(s),
    }
}

/// `YYYY-MM-DD` of a day number.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 in UTC of unix ms: `2026-03-01T12:00:00Z`, with `.mmm` when there are milliseconds.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let rem = secs.rem_euclid(86_400);
    let date = format_date(secs.div_euclid(86_400));
    let time = format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60);
    if millis == 0 {
        format!("{date}T{time}Z")
    } else {
        format!("{date}T{time}.{millis:03}Z")
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_fractions_and_offsets() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("2016-05-12T08:17:27.000Z"), Some(1_463_041_047_000));
        assert_eq!(parse_rfc3339_ms("2016-05-12T08:17:27.123456Z"), Some(1_463_041_047_123));
        assert_eq!(parse_rfc3339_ms("2016-05-12T10:17:27+02:00"), Some(1_463_041_047_000));
        assert_eq!(parse_rfc3339_ms("2016-05-12T03:17:27-0500"), Some(1_463_041_047_000));
        assert_eq!(parse_rfc3339_ms("2016-05-12 08:17:27"), Some(1_463_041_047_000));
        for bad in [
            "2016-13-12T08:17:27Z",
            "2016-02-30T08:17:27Z",
            "2016-05-12T24:00:00Z",
            "2016-05-12T08:17:27.Z",
            "2016-05-12",
            "2016-05-12T08:17:27+2",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
        assert_eq!(parse_timestamp_ms("2026-03-01"), Some(parse_rfc3339_ms("2026-03-01T00:00:00Z").unwrap()));
        assert_eq!(format_rfc3339_ms(1_463_041_047_123), "2016-05-12T08:17:27.123Z");
        assert_eq!(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_date(0), "1970-01-01");
    }
}
