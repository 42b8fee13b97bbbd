//! Probabilities from decision values, as libsvm computes them for `probability=True`.
//!
//! - [`sigmoid_train`]: Platt's sigmoid `P(y=+1|f) = 1 / (1 + exp(Af + B))` fitted with the
//!   improved algorithm of Lin, Lin & Weng (2007): Newton's method with a backtracking line
//!   search on the regularized targets `(N₊+1)/(N₊+2)` and `1/(N₋+2)`.
//! - [`sigmoid_predict`]: the sigmoid, written to avoid cancellation.
//! - [`multiclass_probability`]: pairwise coupling, method 2 of Wu, Lin & Weng (2004).

/// Fits `(A, B)` to decision values `dec` with labels `positive[i]` (true = class +1).
pub(crate) fn sigmoid_train(dec: &[f64], positive: &[bool]) -> (f64, f64) {
    let prior1 = positive.iter().filter(|&&p| p).count() as f64;
    let prior0 = positive.len() as f64 - prior1;
    let max_iter = 100;
    let min_step = 1e-10;
    let sigma = 1e-12;
    let eps = 1e-5;
    let hi = (prior1 + 1.0) / (prior1 + 2.0);
    let lo = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = positive.iter().map(|&p| if p { hi } else { lo }).collect();
    let objective = |a: f64, b: f64| -> f64 {
        dec.iter()
            .zip(&t)
            .map(|(&f, &ti)| {
                let fapb = f * a + b;
                if fapb >= 0.0 {
                    ti * fapb + (-fapb).exp().ln_1p()
                } else {
                    (ti - 1.0) * fapb + fapb.exp().ln_1p()
                }
            })
            .sum()
    };
    let mut a = 0.0;
    let mut b = ((prior0 + 1.0) / (prior1 + 1.0)).ln();
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&f, &ti) in dec.iter().zip(&t) {
            let fapb = f * a + b;
            let (p, q) = if fapb >= 0.0 {
                let e = (-fapb).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = fapb.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += f * f * d2;
            h22 += d2;
            h21 += f * d2;
            let d1 = ti - p;
            g1 += f * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 0.0001 * step * gd {
                a = na;
                b = nb;
                fval = nf;
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            break;
        }
    }
    (a, b)
}

/// `1 / (1 + exp(A·f + B))`.
pub(crate) fn sigmoid_predict(f: f64, a: f64, b: f64) -> f64 {
    let fapb = f * a + b;
    if fapb >= 0.0 {
        let e = (-fapb).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + fapb.exp())
    }
}

/// Class probabilities from pairwise probabilities `r[i][j] = P(i | i or j)`.
pub(crate) fn multiclass_probability(r: &[Vec<f64>]) -> Vec<f64> {
    let k = r.len();
    let max_iter = 100.max(k);
    let eps = 0.005 / k as f64;
    let mut p = vec![1.0 / k as f64; k];
    let mut q = vec![vec![0.0; k]; k];
    for t in 0..k {
        for j in 0..t {
            q[t][t] += r[j][t] * r[j][t];
            q[t][j] = q[j][t];
        }
        for j in t + 1..k {
            q[t][t] += r[j][t] * r[j][t];
            q[t][j] = -r[j][t] * r[t][j];
        }
    }
    let mut qp = vec![0.0; k];
    for _ in 0..max_iter {
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t][j] * p[j]).sum();
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0.0, f64::max);
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t][t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t][t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t][j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_fits_separated_scores() {
        let dec: Vec<f64> = (0..100).map(|i| (i as f64 - 50.0) / 10.0).collect();
        let pos: Vec<bool> = dec.iter().map(|&d| d > 0.3).collect();
        let (a, b) = sigmoid_train(&dec, &pos);
        assert!(a < 0.0, "A = {a}");
        assert!(sigmoid_predict(3.0, a, b) > 0.9);
        assert!(sigmoid_predict(-3.0, a, b) < 0.1);
    }

    #[test]
    fn coupling_sums_to_one_and_orders_classes() {
        let r = vec![
            vec![0.0, 0.8, 0.9],
            vec![0.2, 0.0, 0.6],
            vec![0.1, 0.4, 0.0],
        ];
        let p = multiclass_probability(&r);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(p[0] > p[1] && p[1] > p[2], "{p:?}");
    }
}
