//! Transfer entropy from a source series X to a target Y, TE = I(Y_{t+1}; X_{t+1−lag} | Y_t):
//! how much X's past tells about Y's next value beyond Y's own past. Two estimators — binned
//! (equal-frequency bins, in bits) and k-nearest-neighbour (Frenzel–Pompe's conditional form of
//! the Kraskov–Stögbauer–Grassberger estimator, in nats) — and a permutation test: the source
//! is shuffled, which keeps its distribution and breaks its timing, and the p-value is the share
//! of shuffles whose estimate reaches the observed one.

use crate::stream;
use rand::RngExt;
use rayon::prelude::*;

/// Points the k-NN estimator uses at most (its cost is quadratic): the latest ones.
pub const KNN_MAX_POINTS: usize = 4000;

/// Which estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    /// Equal-frequency bins (bits).
    Binned { bins: usize },
    /// k nearest neighbours in the max norm (nats).
    Knn { k: usize },
}

/// An estimate with its permutation test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Estimate {
    pub estimator: Estimator,
    pub lag: usize,
    /// Triples (Y_{t+1}, Y_t, X_{t+1−lag}) used.
    pub samples: usize,
    pub transfer_entropy: f64,
    /// Mean estimate over shuffled sources: the estimator's bias at this sample size.
    pub shuffled_mean: f64,
    pub permutations: usize,
    /// (1 + #shuffles ≥ observed) / (1 + permutations).
    pub p_value: f64,
}

/// Transfer entropy from `source` to `target` (aligned, same length) with its permutation test.
pub fn transfer_entropy(
    source: &[f64],
    target: &[f64],
    estimator: Estimator,
    lag: usize,
    permutations: usize,
    seed: u64,
) -> Result<Estimate, crate::GenError> {
    let lag = lag.max(1);
    let n = source.len().min(target.len());
    if n < lag + 10 {
        return Err(crate::GenError::Input(format!(
            "{n} aligned values: too few for transfer entropy at lag {lag} (at least {})",
            lag + 10
        )));
    }
    let (source, target) = match estimator {
        Estimator::Knn { .. } if n > KNN_MAX_POINTS + lag => {
            (&source[n - KNN_MAX_POINTS - lag..n], &target[n - KNN_MAX_POINTS - lag..n])
        }
        _ => (&source[..n], &target[..n]),
    };
    let estimate = |x: &[f64]| match estimator {
        Estimator::Binned { bins } => binned(x, target, lag, bins.max(2)),
        Estimator::Knn { k } => knn(x, target, lag, k.max(1)),
    };
    let observed = estimate(source);
    let shuffled: Vec<f64> = (0..permutations)
        .into_par_iter()
        .map(|p| {
            let mut rng = stream(seed, p);
            let mut x = source.to_vec();
            for i in (1..x.len()).rev() {
                x.swap(i, rng.random_range(0..=i));
            }
            estimate(&x)
        })
        .collect();
    let reached = shuffled.iter().filter(|s| **s >= observed).count();
    Ok(Estimate {
        estimator,
        lag,
        samples: source.len() - lag,
        transfer_entropy: observed,
        shuffled_mean: if shuffled.is_empty() {
            f64::NAN
        } else {
            shuffled.iter().sum::<f64>() / shuffled.len() as f64
        },
        permutations,
        p_value: (1 + reached) as f64 / (1 + permutations) as f64,
    })
}

/// The triples (y_next, y_now, x_then) for t from lag−1 on.
fn triples(x: &[f64], y: &[f64], lag: usize) -> Vec<[f64; 3]> {
    (lag.max(1) - 1..y.len() - 1).map(|t| [y[t + 1], y[t], x[t + 1 - lag]]).collect()
}

/// Equal-frequency bin of every value (ties share a bin).
fn bin(values: &[f64], bins: usize) -> Vec<usize> {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let edges: Vec<f64> = (1..bins).map(|b| sorted[b * sorted.len() / bins]).collect();
    values.iter().map(|v| edges.partition_point(|e| e <= v)).collect()
}

fn binned(x: &[f64], y: &[f64], lag: usize, bins: usize) -> f64 {
    let points = triples(x, y, lag);
    let column = |k: usize| bin(&points.iter().map(|p| p[k]).collect::<Vec<_>>(), bins);
    let (a, b, c) = (column(0), column(1), column(2));
    let m = points.len() as f64;
    let mut joint = std::collections::HashMap::<(usize, usize, usize), f64>::new();
    let mut yx = std::collections::HashMap::<(usize, usize), f64>::new();
    let mut yy = std::collections::HashMap::<(usize, usize), f64>::new();
    let mut now = vec![0.0; bins + 1];
    for i in 0..points.len() {
        *joint.entry((a[i], b[i], c[i])).or_default() += 1.0;
        *yx.entry((b[i], c[i])).or_default() += 1.0;
        *yy.entry((a[i], b[i])).or_default() += 1.0;
        now[b[i]] += 1.0;
    }
    joint
        .iter()
        .map(|(&(a, b, c), &count)| count / m * (count * now[b] / (yx[&(b, c)] * yy[&(a, b)])).log2())
        .sum()
}

fn knn(x: &[f64], y: &[f64], lag: usize, k: usize) -> f64 {
    let mut points = triples(x, y, lag);
    // Standardise, and break ties with a tiny deterministic jitter.
    let mut rng = stream(0x7465, 0);
    for d in 0..3 {
        let m = points.len() as f64;
        let mean = points.iter().map(|p| p[d]).sum::<f64>() / m;
        let sd = (points.iter().map(|p| (p[d] - mean).powi(2)).sum::<f64>() / m).sqrt();
        let sd = if sd > 0.0 { sd } else { 1.0 };
        for p in &mut points {
            p[d] = (p[d] - mean) / sd + 1e-10 * (rng.random::<f64>() - 0.5);
        }
    }
    let n = points.len();
    let k = k.min(n - 1);
    let sum: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let p = points[i];
            let mut distances: Vec<f64> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let q = points[j];
                    (p[0] - q[0]).abs().max((p[1] - q[1]).abs()).max((p[2] - q[2]).abs())
                })
                .collect();
            let (_, eps, _) = distances.select_nth_unstable_by(k - 1, f64::total_cmp);
            let eps = *eps;
            let (mut n_next_now, mut n_now_then, mut n_now) = (0usize, 0usize, 0usize);
            for (j, q) in points.iter().enumerate() {
                if j == i {
                    continue;
                }
                let now = (p[1] - q[1]).abs() < eps;
                if now {
                    n_now += 1;
                    if (p[0] - q[0]).abs() < eps {
                        n_next_now += 1;
                    }
                    if (p[2] - q[2]).abs() < eps {
                        n_now_then += 1;
                    }
                }
            }
            digamma(n_now as f64 + 1.0) - digamma(n_next_now as f64 + 1.0) - digamma(n_now_then as f64 + 1.0)
        })
        .sum();
    digamma(k as f64) + sum / n as f64
}

/// ψ(x) for x > 0: recurrence up to 6, then the asymptotic series.
pub(crate) fn digamma(mut x: f64) -> f64 {
    let mut result = 0.0;
    while x < 6.0 {
        result -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    result + x.ln()
        - 0.5 / x
        - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))))
}
