//! Formatting shared by server rendering and the browser (no time-zone database needed: UTC).

/// Unix milliseconds as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = anomalyforge::calendar::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_795_254_300_000), "2026-11-21 09:45 UTC");
        assert_eq!(utc(-60_000), "1969-12-31 23:59 UTC");
    }
}
