//! Loss functions: gradients, hessians, starting scores and validation loss.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rayon::prelude::*;

use crate::{Error, Result, Target, Task};

/// Rows per parallel chunk when computing gradients.
const CHUNK: usize = 8192;

/// Raw scores that threads can add to in parallel, each to its own rows (relaxed atomic
/// loads and stores: plain moves, no read-modify-write).
#[derive(Debug)]
pub(crate) struct Scores(Vec<AtomicU64>);

impl Scores {
    /// `n` rows of the `init` scores.
    pub(crate) fn new(init: &[f64], n: usize) -> Scores {
        Scores(
            init.iter()
                .cycle()
                .take(n * init.len())
                .map(|v| AtomicU64::new(v.to_bits()))
                .collect(),
        )
    }

    /// Score `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> f64 {
        f64::from_bits(self.0[i].load(Relaxed))
    }

    /// Adds `v` to score `i`. Concurrent adds to the same score would lose one; callers give
    /// each thread its own rows.
    #[inline]
    pub(crate) fn add(&self, i: usize, v: f64) {
        self.0[i].store((self.get(i) + v).to_bits(), Relaxed);
    }
}

/// The labels as the objective uses them.
#[derive(Debug, Clone)]
pub(crate) enum Objective {
    /// Binary log loss; labels 0/1.
    Binary(Vec<f64>),
    /// Softmax over `k` classes; one tree per class per round.
    Multiclass { labels: Vec<u32>, k: usize },
    /// Squared error.
    Regression(Vec<f64>),
}

impl Objective {
    /// The objective for a target.
    pub(crate) fn new(y: &Target) -> Result<Objective> {
        match y {
            Target::Classes { labels, n_classes } => {
                if *n_classes < 2 {
                    return Err(Error::InvalidData(format!(
                        "classification needs at least 2 classes, got {n_classes}"
                    )));
                }
                if let Some(bad) = labels.iter().find(|&&l| l as usize >= *n_classes) {
                    return Err(Error::InvalidData(format!(
                        "class label {bad} is not below n_classes = {n_classes}"
                    )));
                }
                if *n_classes == 2 {
                    Ok(Objective::Binary(
                        labels.iter().map(|&l| f64::from(l)).collect(),
                    ))
                } else {
                    Ok(Objective::Multiclass {
                        labels: labels.clone(),
                        k: *n_classes,
                    })
                }
            }
            Target::Real(v) => {
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(Error::InvalidData(
                        "regression target has a non-finite value".into(),
                    ));
                }
                Ok(Objective::Regression(v.clone()))
            }
        }
    }

    /// The task.
    pub(crate) fn task(&self) -> Task {
        match self {
            Objective::Binary(_) => Task::Binary,
            Objective::Multiclass { k, .. } => Task::Multiclass { n_classes: *k },
            Objective::Regression(_) => Task::Regression,
        }
    }

    /// Raw scores (and trees) per row per round.
    pub(crate) fn n_scores(&self) -> usize {
        match self {
            Objective::Multiclass { k, .. } => *k,
            _ => 1,
        }
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Objective::Binary(y) | Objective::Regression(y) => y.len(),
            Objective::Multiclass { labels, .. } => labels.len(),
        }
    }

    /// The labels of `rows`.
    pub(crate) fn take(&self, rows: &[usize]) -> Objective {
        match self {
            Objective::Binary(y) => Objective::Binary(rows.iter().map(|&r| y[r]).collect()),
            Objective::Regression(y) => Objective::Regression(rows.iter().map(|&r| y[r]).collect()),
            Objective::Multiclass { labels, k } => Objective::Multiclass {
                labels: rows.iter().map(|&r| labels[r]).collect(),
                k: *k,
            },
        }
    }

    /// Starting raw scores (LightGBM's `boost_from_average`).
    pub(crate) fn init_scores(&self, w: Option<&[f64]>) -> Vec<f64> {
        let weight = |i: usize| w.map_or(1.0, |w| w[i]);
        let total_w: f64 = (0..self.len()).map(weight).sum();
        match self {
            Objective::Binary(y) => {
                let pos: f64 = y.iter().enumerate().map(|(i, &v)| v * weight(i)).sum();
                let p = (pos / total_w).clamp(1e-15, 1.0 - 1e-15);
                vec![(p / (1.0 - p)).ln()]
            }
            Objective::Regression(y) => {
                let s: f64 = y.iter().enumerate().map(|(i, &v)| v * weight(i)).sum();
                vec![s / total_w]
            }
            Objective::Multiclass { labels, k } => {
                let mut c = vec![0.0; *k];
                for (i, &l) in labels.iter().enumerate() {
                    c[l as usize] += weight(i);
                }
                c.iter()
                    .map(|&x| (x / total_w).clamp(1e-15, 1.0).ln())
                    .collect()
            }
        }
    }

    /// Gradient pairs for every row: `gh[c]` for score `c` (class), from the raw scores
    /// (row-major, `n_scores` per row). Must run inside the fit's thread pool.
    pub(crate) fn gradients(&self, scores: &Scores, w: Option<&[f64]>, gh: &mut [Vec<[f32; 2]>]) {
        match self {
            Objective::Binary(y) => {
                gh[0]
                    .par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(ci, out)| {
                        let r0 = ci * CHUNK;
                        let n = out.len();
                        // Scores into a plain buffer first, so that the arithmetic vectorizes.
                        let mut p: Vec<f64> = (r0..r0 + n).map(|r| scores.get(r)).collect();
                        for v in &mut p {
                            *v = 1.0 / (1.0 + fast_exp(-*v));
                        }
                        let ys = &y[r0..r0 + n];
                        match w {
                            None => {
                                for ((o, &p), &y) in out.iter_mut().zip(&p).zip(ys) {
                                    *o = [(p - y) as f32, (p * (1.0 - p)) as f32];
                                }
                            }
                            Some(w) => {
                                let ws = &w[r0..r0 + n];
                                for (((o, &p), &y), &w) in out.iter_mut().zip(&p).zip(ys).zip(ws) {
                                    *o = [((p - y) * w) as f32, (p * (1.0 - p) * w) as f32];
                                }
                            }
                        }
                    });
            }
            Objective::Regression(y) => {
                gh[0]
                    .par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(ci, out)| {
                        let r0 = ci * CHUNK;
                        for (i, o) in out.iter_mut().enumerate() {
                            let r = r0 + i;
                            let (mut g, mut h) = (scores.get(r) - y[r], 1.0);
                            if let Some(w) = w {
                                g *= w[r];
                                h *= w[r];
                            }
                            *o = [g as f32, h as f32];
                        }
                    });
            }
            Objective::Multiclass { labels, k } => {
                let k = *k;
                let factor = k as f64 / (k as f64 - 1.0);
                // Probabilities first (row-major), then one pass per class.
                let mut prob = vec![0.0f64; self.len() * k];
                prob.par_chunks_mut(CHUNK * k)
                    .enumerate()
                    .for_each(|(ci, p)| {
                        let mut s = vec![0.0; k];
                        for (i, pr) in p.chunks_exact_mut(k).enumerate() {
                            let r = ci * CHUNK + i;
                            for (c, sv) in s.iter_mut().enumerate() {
                                *sv = scores.get(r * k + c);
                            }
                            let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            let mut z = 0.0;
                            for (o, &v) in pr.iter_mut().zip(&s) {
                                *o = fast_exp(v - m);
                                z += *o;
                            }
                            for o in pr.iter_mut() {
                                *o /= z;
                            }
                        }
                    });
                for (c, g_c) in gh.iter_mut().enumerate() {
                    g_c.par_chunks_mut(CHUNK).enumerate().for_each(|(ci, out)| {
                        let r0 = ci * CHUNK;
                        for (i, o) in out.iter_mut().enumerate() {
                            let r = r0 + i;
                            let p = prob[r * k + c];
                            let y = if labels[r] as usize == c { 1.0 } else { 0.0 };
                            let (mut g, mut h) = (p - y, factor * p * (1.0 - p));
                            if let Some(w) = w {
                                g *= w[r];
                                h *= w[r];
                            }
                            *o = [g as f32, h as f32];
                        }
                    });
                }
            }
        }
    }

    /// Weighted mean loss at raw scores `scores` (log loss, multi-class log loss or mean
    /// squared error).
    pub(crate) fn loss(&self, scores: &[f64], w: Option<&[f64]>) -> f64 {
        let n = self.len();
        let weight = |i: usize| w.map_or(1.0, |w| w[i]);
        let mut total = 0.0;
        let mut total_w = 0.0;
        match self {
            Objective::Binary(y) => {
                for i in 0..n {
                    let p = sigmoid(scores[i]).clamp(1e-15, 1.0 - 1e-15);
                    let l = if y[i] > 0.5 { -p.ln() } else { -(1.0 - p).ln() };
                    total += weight(i) * l;
                    total_w += weight(i);
                }
            }
            Objective::Regression(y) => {
                for i in 0..n {
                    let d = scores[i] - y[i];
                    total += weight(i) * d * d;
                    total_w += weight(i);
                }
            }
            Objective::Multiclass { labels, k } => {
                let mut p = vec![0.0; *k];
                for i in 0..n {
                    softmax_into(&scores[i * k..(i + 1) * k], &mut p);
                    let l = -p[labels[i] as usize].clamp(1e-15, 1.0).ln();
                    total += weight(i) * l;
                    total_w += weight(i);
                }
            }
        }
        total / total_w
    }
}

/// `e^x` within about 1e-14 (relative) for `|x| <= 700` (clamped beyond), without branches or
/// calls so that loops over it vectorize: `x = k·ln 2 + r` with `|r| <= ln 2 / 2`, `e^r` by its
/// Taylor series to `r^11`, `2^k` built in the exponent bits. Gradients are stored as `f32`,
/// far coarser than this.
#[inline(always)]
pub(crate) fn fast_exp(x: f64) -> f64 {
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // 1.5 · 2^52: adding it rounds to an integer, which then sits in the low mantissa bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-700.0, 700.0);
    let t = x * std::f64::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = 1.0 / 39_916_800.0;
    for c in [
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // The low bits of `t` hold k (two's complement); shifted into the exponent field with the
    // bias, they make 2^k.
    p * f64::from_bits(t.to_bits().wrapping_add(1023) << 52)
}

/// The logistic function.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Softmax of `s` into `out`.
#[inline]
pub(crate) fn softmax_into(s: &[f64], out: &mut [f64]) {
    let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for (o, &v) in out.iter_mut().zip(s) {
        *o = (v - m).exp();
        z += *o;
    }
    for o in out.iter_mut() {
        *o /= z;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate() {
        let mut x = -700.0;
        while x <= 700.0 {
            let (a, b) = (fast_exp(x), x.exp());
            assert!(((a - b) / b).abs() < 1e-13, "{x}: {a} vs {b}");
            x += 0.137;
        }
        assert_eq!(fast_exp(0.0), 1.0);
        assert!(fast_exp(-1e9) > 0.0 && fast_exp(1e9).is_finite());
    }
}
