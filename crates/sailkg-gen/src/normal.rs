//! The standard normal distribution to full double precision, truncated normal draws, and the
//! small dense linear algebra the copula needs (Cholesky with shrinkage, conditional normals).

use rand::{Rng, RngExt};

/// Φ(x), the standard normal CDF.
pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Φ(-x) = 1 - Φ(x), accurate in the upper tail.
pub fn survival(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by one Halley step.
pub fn quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let low = 0.024_25;
    let x = if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step on Φ(x) - p.
    let e = if p < 0.5 { cdf(x) - p } else { (1.0 - p) - survival(x) };
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// A standard normal draw truncated to [lo, hi] (either may be infinite), by inversion on the
/// side of the tail that keeps precision.
pub fn truncated(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    if lo == f64::NEG_INFINITY && hi == f64::INFINITY {
        return quantile(open_unit(rng));
    }
    if lo >= 0.0 {
        // Upper side: work with survival probabilities, which stay precise far out.
        let (a, b) = (survival(hi), survival(lo));
        let u = a + (b - a) * open_unit(rng);
        return (-quantile(u)).clamp(lo, hi);
    }
    let (a, b) = (cdf(lo), cdf(hi));
    let u = a + (b - a) * open_unit(rng);
    quantile(u).clamp(lo, hi)
}

/// A uniform draw in (0, 1).
pub fn open_unit(rng: &mut impl Rng) -> f64 {
    loop {
        let u: f64 = rng.random();
        if u > 0.0 {
            return u;
        }
    }
}

/// A symmetric matrix, row-major.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Matrix {
    pub n: usize,
    pub values: Vec<f64>,
}

impl Matrix {
    pub fn identity(n: usize) -> Self {
        let mut values = vec![0.0; n * n];
        for i in 0..n {
            values[i * n + i] = 1.0;
        }
        Self { n, values }
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.n + j]
    }

    /// The lower Cholesky factor; where the matrix is not positive definite (collinear or
    /// constant columns), it is shrunk toward the identity until it is.
    pub fn cholesky_shrunk(&self) -> (Matrix, f64) {
        let mut shrink = 0.0;
        loop {
            let shrunk = Matrix {
                n: self.n,
                values: self
                    .values
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        let diagonal = k / self.n == k % self.n;
                        (1.0 - shrink) * v + if diagonal { shrink } else { 0.0 }
                    })
                    .collect(),
            };
            if let Some(l) = shrunk.cholesky() {
                return (l, shrink);
            }
            shrink = if shrink == 0.0 { 1e-6 } else { (shrink * 4.0).min(1.0) };
        }
    }

    fn cholesky(&self) -> Option<Matrix> {
        let n = self.n;
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut sum = self.get(i, j);
                for k in 0..j {
                    sum -= l[i * n + k] * l[j * n + k];
                }
                if i == j {
                    if sum <= 1e-12 {
                        return None;
                    }
                    l[i * n + i] = sum.sqrt();
                } else {
                    l[i * n + j] = sum / l[j * n + j];
                }
            }
        }
        Some(Matrix { n, values: l })
    }
}

/// Solves `a x = b` for a small dense symmetric positive definite `a` (Gaussian elimination
/// with partial pivoting).
pub fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(row, &v)| {
            let mut row = row.clone();
            row.push(v);
            row
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))?;
        if m[pivot][col].abs() < 1e-14 {
            return None;
        }
        m.swap(col, pivot);
        let (top, bottom) = m.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for row in bottom.iter_mut() {
            let factor = row[col] / pivot_row[col];
            for (value, pivot) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *value -= factor * pivot;
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let mut sum = m[row][n];
        for k in row + 1..n {
            sum -= m[row][k] * x[k];
        }
        x[row] = sum / m[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn cdf_and_quantile_are_inverse_to_double_precision() {
        for p in [1e-300, 1e-20, 1e-8, 0.001, 0.024, 0.3, 0.5, 0.77, 0.975, 0.999_999] {
            let x = quantile(p);
            let back = if p < 0.5 { cdf(x) } else { 1.0 - survival(x) };
            assert!((back - p).abs() <= 1e-12 * p.max(1e-300) + 1e-15, "{p} -> {x} -> {back}");
        }
        assert!((quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
    }

    #[test]
    fn truncated_draws_stay_inside_and_match_the_tail_mean() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
        // E[Z | Z > 4] = φ(4) / (1 - Φ(4)) ≈ 4.2256.
        let n = 50_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let z = truncated(&mut rng, 4.0, f64::INFINITY);
            assert!(z >= 4.0);
            sum += z;
        }
        assert!((sum / n as f64 - 4.2256).abs() < 0.01, "{}", sum / n as f64);
        for _ in 0..1000 {
            let z = truncated(&mut rng, -1.0, -0.5);
            assert!((-1.0..=-0.5).contains(&z));
        }
        // Far out in the tail, still no infinities.
        assert!(truncated(&mut rng, 30.0, f64::INFINITY).is_finite());
    }

    #[test]
    fn cholesky_shrinks_singular_matrices() {
        let singular = Matrix { n: 2, values: vec![1.0, 1.0, 1.0, 1.0] };
        let (l, shrink) = singular.cholesky_shrunk();
        assert!(shrink > 0.0 && l.get(1, 1) > 0.0);
        let (l, shrink) = Matrix::identity(3).cholesky_shrunk();
        assert_eq!((l, shrink), (Matrix::identity(3), 0.0));
        let x = solve(&[vec![4.0, 1.0], vec![1.0, 3.0]], &[1.0, 2.0]).unwrap();
        assert!((x[0] - 1.0 / 11.0).abs() < 1e-12 && (x[1] - 7.0 / 11.0).abs() < 1e-12);
    }
}
