//! Formatting shared by server rendering and the browser (no time-zone database needed: UTC).

/// Unix milliseconds as `YYYY-MM-DD HH:MM UTC` (one definition, in the domain).
pub use anomalyforge::time::utc_minute as utc;

/// A count with thousands separators: `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and the noun, singular or plural, with the number grouped: `1 flow`, `1,204 flows`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A size in binary units: `512 B`, `3.2 MiB`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 40 => format!("{:.1} TiB", n as f64 / (1u64 << 40) as f64),
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_says_one_or_many() {
        assert_eq!((count(1, "flow", "flows"), count(1204, "flow", "flows")), ("1 flow".into(), "1,204 flows".into()));
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_795_254_300_000), "2026-11-21 09:45 UTC");
        assert_eq!(utc(-60_000), "1969-12-31 23:59 UTC");
        assert_eq!(
            (grouped(0), grouped(999), grouped(1_000), grouped(1_234_567)),
            ("0".into(), "999".into(), "1,000".into(), "1,234,567".into())
        );
    }
}
