//! Robust statistics of a few dozen values, as RITA scores beacons with them: quartiles, Bowley's
//! quartile skewness and the median absolute deviation.

/// Quartiles (q1, median, q3) by linear interpolation; `values` is sorted in place.
pub fn quartiles(values: &mut [f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let k = (values.len() - 1) as f64 * p;
        let (lo, hi) = (k.floor() as usize, k.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (k - lo as f64)
    };
    Some((q(0.25), q(0.5), q(0.75)))
}

/// Bowley skewness (q3 + q1 − 2·median) / (q3 − q1), in −1..1; 0 when the quartiles coincide.
pub fn bowley_skew(q1: f64, q2: f64, q3: f64) -> f64 {
    let iqr = q3 - q1;
    if iqr <= f64::EPSILON * q2.abs().max(1.0) {
        0.0
    } else {
        ((q3 + q1 - 2.0 * q2) / iqr).clamp(-1.0, 1.0)
    }
}

/// Median absolute deviation from `median`.
pub fn mad(values: &[f64], median: f64) -> f64 {
    let mut dev: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    quartiles(&mut dev).map_or(0.0, |(_, m, _)| m)
}

/// Regularity of a series, 0–1, as RITA scores it: the mean of (1 − |skew|) and
/// (1 − MAD / `scale`), where `scale` is the median for gaps and a fixed size for byte counts.
/// Returns (score, median, MAD).
pub fn regularity(values: &[f64], scale: Option<f64>) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    let Some((q1, q2, q3)) = quartiles(&mut v) else { return (0.0, 0.0, 0.0) };
    let m = mad(&v, q2);
    let skew_score = 1.0 - bowley_skew(q1, q2, q3).abs();
    let scale = scale.unwrap_or(q2);
    let mad_score = if scale > 0.0 { (1.0 - m / scale).clamp(0.0, 1.0) } else { 0.0 };
    ((skew_score + mad_score) / 2.0, q2, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_and_skew_of_known_series() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quartiles(&mut v), Some((2.0, 3.0, 4.0)));
        assert_eq!(bowley_skew(2.0, 3.0, 4.0), 0.0);
        assert!((bowley_skew(1.0, 1.5, 4.0) - 0.6666).abs() < 1e-3);
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0], 3.0), 1.0);
    }

    #[test]
    fn a_metronome_is_perfectly_regular_and_noise_is_not() {
        let (s, m, d) = regularity(&[10.0; 20], None);
        assert_eq!((s, m, d), (1.0, 10.0, 0.0));
        let noisy: Vec<f64> = (0..40).map(|i| 1.6f64.powi((i * 7) % 13)).collect();
        assert!(regularity(&noisy, None).0 < 0.7);
    }
}
