//! Loss functions: gradients, hessians, the starting margin and the reported loss.

use scorekit_core::math;

use crate::model::Objective;

/// Smallest hessian used, so that leaves of confidently classified rows stay finite.
const MIN_HESS: f64 = 1e-16;

/// The constant margin that minimises the loss on `y`.
pub(crate) fn base_score(objective: Objective, y: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    match objective {
        Objective::Binary => {
            let p = mean.clamp(1e-6, 1.0 - 1e-6);
            math::ln(p / (1.0 - p))
        }
        Objective::Regression => mean,
    }
}

/// Writes the gradient and hessian of the loss at `margin` for each row.
pub(crate) fn gradients(objective: Objective, margin: &[f64], y: &[f64], grad: &mut [f64], hess: &mut [f64]) {
    for (((m, y), g), h) in margin.iter().zip(y).zip(grad.iter_mut()).zip(hess.iter_mut()) {
        match objective {
            Objective::Binary => {
                let p = math::sigmoid(*m);
                *g = p - y;
                *h = (p * (1.0 - p)).max(MIN_HESS);
            }
            Objective::Regression => {
                *g = m - y;
                *h = 1.0;
            }
        }
    }
}

/// Mean loss: log-loss (binary) or mean squared error (regression).
pub(crate) fn loss(objective: Objective, margin: &[f64], y: &[f64]) -> f64 {
    let n = y.len().max(1) as f64;
    match objective {
        Objective::Binary => {
            let p: std::vec::Vec<f64> = margin.iter().map(|&m| math::sigmoid(m)).collect();
            crate::metrics::log_loss(&p, y)
        }
        Objective::Regression => margin.iter().zip(y).map(|(m, y)| (m - y) * (m - y)).sum::<f64>() / n,
    }
}
