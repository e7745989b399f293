//! Formatting shared by server rendering and the browser (no time-zone database needed: UTC).

/// Unix milliseconds as `YYYY-MM-DD HH:MM UTC` (one definition, in the domain).
pub use anomalyforge::calendar::utc_minute as utc;

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
