//! Ridge normal equations with many right-hand sides, solved by a hand-written Cholesky
//! factorisation (the system is at most a few hundred unknowns; no BLAS needed).

use std::vec;
use std::vec::Vec;

/// Accumulates `XᵀX` (upper triangle) and `XᵀY` over rows.
#[derive(Clone)]
pub(crate) struct Normal {
    pub p: usize,
    pub k: usize,
    /// Sum of the row weights (the ridge penalty scales with it).
    pub weight: f64,
    pub gram: Vec<f64>,
    pub rhs: Vec<f64>,
}

impl Normal {
    pub fn new(p: usize, k: usize) -> Self {
        Normal { p, k, weight: 0.0, gram: vec![0.0; p * p], rhs: vec![0.0; p * k] }
    }

    pub fn add(&mut self, x: &[f64], y: &[f64]) {
        self.add_weighted(x, y, 1.0);
    }

    /// Adds one row with weight `w` (the row counts `w` times in the least-squares sum).
    pub fn add_weighted(&mut self, x: &[f64], y: &[f64], w: f64) {
        let p = self.p;
        for i in 0..p {
            let xi = x[i] * w;
            if xi == 0.0 {
                continue;
            }
            for (g, xj) in self.gram[i * p + i..(i + 1) * p].iter_mut().zip(&x[i..]) {
                *g += xi * xj;
            }
            for (r, yv) in self.rhs[i * self.k..(i + 1) * self.k].iter_mut().zip(y) {
                *r += xi * yv;
            }
        }
        self.weight += w;
    }

    /// Solves `(XᵀWX + λ·Σw·D) W = XᵀY` with `D` = identity except 0 for column 0 (the
    /// unpenalised intercept). Returns `W` as `p × k` (row-major by feature).
    pub fn solve(&self, lambda: f64) -> Option<Vec<f64>> {
        let p = self.p;
        let mut a = vec![0.0; p * p];
        for i in 0..p {
            for j in i..p {
                a[i * p + j] = self.gram[i * p + j];
                a[j * p + i] = self.gram[i * p + j];
            }
            if i > 0 {
                a[i * p + i] += lambda * self.weight;
            }
        }
        let l = cholesky(&mut a, p)?;
        // All right-hand sides at once, row-major `p × k`, so the inner loops run along rows.
        let k = self.k;
        let mut b = self.rhs.clone();
        for i in 0..p {
            for j in 0..i {
                let f = l[i * p + j];
                if f != 0.0 {
                    let (done, rest) = b.split_at_mut(i * k);
                    for (x, y) in rest[..k].iter_mut().zip(&done[j * k..(j + 1) * k]) {
                        *x -= f * y;
                    }
                }
            }
            let d = l[i * p + i];
            b[i * k..(i + 1) * k].iter_mut().for_each(|x| *x /= d);
        }
        for i in (0..p).rev() {
            for j in i + 1..p {
                let f = l[j * p + i];
                if f != 0.0 {
                    let (head, tail) = b.split_at_mut(j * k);
                    for (x, y) in head[i * k..(i + 1) * k].iter_mut().zip(&tail[..k]) {
                        *x -= f * y;
                    }
                }
            }
            let d = l[i * p + i];
            b[i * k..(i + 1) * k].iter_mut().for_each(|x| *x /= d);
        }
        Some(b)
    }
}

/// Turns `p × k` weights (as [`Normal::solve`] returns them) into `k × p` (one row per output).
pub(crate) fn transpose(w: &[f64], p: usize, k: usize) -> Vec<f64> {
    let mut out = vec![0.0; k * p];
    for i in 0..p {
        for c in 0..k {
            out[c * p + i] = w[i * k + c];
        }
    }
    out
}

/// Dot product with four independent accumulators (lets the compiler vectorise the reduction).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// In-place lower Cholesky factor of the symmetric positive-definite `a` (row-major `p × p`).
fn cholesky(a: &mut [f64], p: usize) -> Option<&[f64]> {
    for j in 0..p {
        let rj = &a[j * p..j * p + j];
        let d = a[j * p + j] - dot(rj, rj);
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            let (upper, lower) = a.split_at_mut(i * p);
            let s = lower[j] - dot(&lower[..j], &upper[j * p..j * p + j]);
            lower[j] = s / d;
        }
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_fit_without_penalty_on_intercept() {
        // y = 2 + 3x on x = 0..4; tiny ridge barely moves the slope, intercept is free.
        let mut n = Normal::new(2, 1);
        for x in 0..5 {
            let x = x as f64;
            n.add(&[1.0, x], &[2.0 + 3.0 * x]);
        }
        let w = n.solve(1e-12).unwrap();
        assert_eq!(w.len(), 2);
        let w = transpose(&w, 2, 1);
        assert!((w[0] - 2.0).abs() < 1e-9 && (w[1] - 3.0).abs() < 1e-9, "{w:?}");
        // A large ridge shrinks the slope toward 0; the intercept moves to compensate.
        let w = n.solve(1e6).unwrap();
        assert!(w[1].abs() < 1e-3 && (w[0] - 8.0).abs() < 1e-2, "{w:?}");
    }
}
