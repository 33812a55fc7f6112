//! Ridge normal equations with many right-hand sides, solved by a hand-written Cholesky
//! factorisation (the system is at most a few hundred unknowns; no BLAS needed).

use std::vec;
use std::vec::Vec;

/// Accumulates `XᵀX` (upper triangle) and `XᵀY` over rows.
pub(crate) struct Normal {
    pub p: usize,
    pub k: usize,
    pub rows: usize,
    pub gram: Vec<f64>,
    pub rhs: Vec<f64>,
}

impl Normal {
    pub fn new(p: usize, k: usize) -> Self {
        Normal { p, k, rows: 0, gram: vec![0.0; p * p], rhs: vec![0.0; p * k] }
    }

    pub fn add(&mut self, x: &[f64], y: &[f64]) {
        let p = self.p;
        for i in 0..p {
            let xi = x[i];
            if xi == 0.0 {
                continue;
            }
            let g = &mut self.gram[i * p..(i + 1) * p];
            for j in i..p {
                g[j] += xi * x[j];
            }
            for (r, yv) in self.rhs[i * self.k..(i + 1) * self.k].iter_mut().zip(y) {
                *r += xi * yv;
            }
        }
        self.rows += 1;
    }

    pub fn merged(&self, other: &Normal) -> Normal {
        let add = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x + y).collect();
        Normal {
            p: self.p,
            k: self.k,
            rows: self.rows + other.rows,
            gram: add(&self.gram, &other.gram),
            rhs: add(&self.rhs, &other.rhs),
        }
    }

    /// Solves `(XᵀX + λ·rows·D) W = XᵀY` with `D` = identity except 0 for column 0 (the
    /// unpenalised intercept). Returns `W` as `k × p` (one weight row per right-hand side).
    pub fn solve(&self, lambda: f64) -> Option<Vec<f64>> {
        let p = self.p;
        let mut a = vec![0.0; p * p];
        for i in 0..p {
            for j in i..p {
                a[i * p + j] = self.gram[i * p + j];
                a[j * p + i] = self.gram[i * p + j];
            }
            if i > 0 {
                a[i * p + i] += lambda * self.rows as f64;
            }
        }
        let l = cholesky(&mut a, p)?;
        let mut w = vec![0.0; self.k * p];
        let mut col = vec![0.0; p];
        for c in 0..self.k {
            for (i, v) in col.iter_mut().enumerate() {
                *v = self.rhs[i * self.k + c];
            }
            solve_in_place(l, p, &mut col);
            w[c * p..(c + 1) * p].copy_from_slice(&col);
        }
        Some(w)
    }
}

/// In-place lower Cholesky factor of the symmetric positive-definite `a` (row-major `p × p`).
fn cholesky(a: &mut [f64], p: usize) -> Option<&[f64]> {
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= a[j * p + k] * a[j * p + k];
        }
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = s / d;
        }
    }
    Some(a)
}

/// Solves `L Lᵀ x = b` in place.
fn solve_in_place(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in i + 1..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
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
        assert!((w[0] - 2.0).abs() < 1e-9 && (w[1] - 3.0).abs() < 1e-9, "{w:?}");
        // A large ridge shrinks the slope toward 0; the intercept moves to compensate.
        let w = n.solve(1e6).unwrap();
        assert!(w[1].abs() < 1e-3 && (w[0] - 8.0).abs() < 1e-2, "{w:?}");
    }
}
