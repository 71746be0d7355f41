//! The few statistics the reports need: Student-t confidence intervals (rank
//! correlations come from tlab-similarity).

/// Two-sided 97.5% quantiles of Student's t for 1–30 degrees of freedom
/// (scipy 1.17.1: `[round(scipy.stats.t.ppf(0.975, d), 6) for d in range(1, 31)]`).
const T975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
    2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.13145, 2.119905, 2.109816, 2.100922,
    2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
    2.048407, 2.04523, 2.042272,
];

/// `t_{0.975, df}`: the table up to 30, the Cornish–Fisher expansion beyond (error < 3e-6).
pub fn t975(df: usize) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return T975[df - 1];
    }
    let z: f64 = 1.959963984540054;
    let n = df as f64;
    z + (z.powi(3) + z) / (4.0 * n)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
        + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / (384.0 * n.powi(3))
}

/// Mean and the half-width of its 95% confidence interval (Student t over the values as
/// independent draws); the half-width is NaN for fewer than two values.
pub fn mean_ci95(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t975(n - 1) * (var / n as f64).sqrt())
}

pub use tlab_similarity::stats::{ranks, spearman};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_scipy() {
        // scipy.stats.t.ppf(0.975, df) for df = 4, 31, 40, 100.
        assert_eq!(t975(4), 2.776445);
        for (df, want) in [
            (31, 2.039513446396408),
            (40, 2.021075390306273),
            (100, 1.9839715185235518),
        ] {
            assert!((t975(df) - want).abs() < 3e-6, "{df}");
        }
        // scipy.stats.t.interval(0.95, 4, loc=mean, scale=sem) for [1, 2, 3, 4, 5]:
        // (1.0367568385224393, 4.963243161477561).
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((m - h - 1.0367568385224393).abs() < 1e-6);
        assert!((m + h - 4.963243161477561).abs() < 1e-6);
        assert!(mean_ci95(&[3.0]).1.is_nan());
    }
}
