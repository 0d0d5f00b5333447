//! Small statistics helpers: percentiles and real-time factors.

/// Nearest-rank percentile (`p` in 0..=100) of unsorted values; None if empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// Latency summary in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Latency {
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn of(ms: &[f64]) -> Latency {
        if ms.is_empty() {
            return Latency::default();
        }
        Latency {
            n: ms.len(),
            p50_ms: percentile(ms, 50.0).unwrap_or_default(),
            p99_ms: percentile(ms, 99.0).unwrap_or_default(),
            max_ms: ms.iter().copied().fold(f64::MIN, f64::max),
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
        }
    }
}

/// `k / n`, or NaN for an empty cell.
pub fn ratio(k: usize, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        k as f64 / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[3.0], 99.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
    }

    #[test]
    fn latency_summary() {
        let l = Latency::of(&[4.0, 1.0, 2.0, 3.0]);
        assert_eq!(
            (l.n, l.p50_ms, l.p99_ms, l.max_ms, l.mean_ms),
            (4, 2.0, 4.0, 4.0, 2.5)
        );
        assert_eq!(Latency::of(&[]), Latency::default());
    }

    #[test]
    fn rates() {
        assert!(ratio(0, 0).is_nan());
        assert_eq!(ratio(1, 4), 0.25);
    }
}
