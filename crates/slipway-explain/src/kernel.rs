//! Sampled KernelSHAP over a pipeline's input columns, for any number of columns: seeded,
//! additive by construction, with a standard error for every value.
//!
//! Same value function as [`crate::shapley`]: `v(S)` is the mean over the background rows of
//! the output with the columns in `S` taken from the row. KernelSHAP's Shapley values are the
//! solution of a least-squares problem over coalitions weighted by the Shapley kernel, with
//! the efficiency constraint `Σφ = v(all) − v(∅)`. Coalitions are drawn from the kernel
//! itself (a size `s` with probability ∝ `1 / (s (M − s))`, then `s` columns uniformly),
//! each with its complement (paired sampling), and the least-squares matrix
//! `A = E[z zᵀ]` is taken exactly rather than estimated (the unbiased estimator of Covert and
//! Lee, "Improving KernelSHAP", AISTATS 2021). `A` is `d I + c 11ᵀ`, so the constrained
//! solution has the closed form `φ_i = (b_i − mean(b)) / d + (v(all) − v(∅)) / M` with
//! `b = mean over samples of z (v(z) − v(∅))`: additivity holds exactly, the estimate is
//! unbiased, and its standard error is the sample standard deviation of the per-pair terms
//! over √pairs. Written here because no crate implements this estimator.
//!
//! The coalitions are drawn once from the seed (ChaCha8) and used for every row, so a seed
//! gives the same values whatever the batch or chunk size.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_data::Table;
use slipway_learn::pipeline::FittedPipeline;

use crate::agnostic::ModelOutput;
use crate::shapley::{coalition_values, mean_rows, same_types, select};
use crate::{Error, Result};

/// Most rows explained at once: their coalition values are held.
const ROWS_AT_ONCE: usize = 16;

/// Sampled KernelSHAP values and their standard errors.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelValues {
    /// Per row, per output, one value per column (row-major).
    pub values: Vec<f64>,
    /// The standard error of each value, in the same layout.
    pub standard_errors: Vec<f64>,
}

/// A sampled KernelSHAP explainer against a background sample.
#[derive(Debug, Clone)]
pub struct KernelShap {
    columns: Vec<String>,
    background: Table,
    base: Vec<f64>,
    seed: u64,
    /// Coalitions in pairs: `[z_0, not z_0, z_1, not z_1, ...]`, then the full coalition.
    coalitions: Vec<Vec<bool>>,
    /// `d = A_ii − A_ij` of the exact `A = E[z zᵀ]`.
    d: f64,
}

impl KernelShap {
    /// Prepares the explainer: `pairs` coalitions (each with its complement) drawn from
    /// `seed`, the pipeline's input columns of `background` (every row), the base values.
    pub fn new(
        p: &FittedPipeline,
        background: &Table,
        pairs: usize,
        seed: u64,
    ) -> Result<KernelShap> {
        let columns: Vec<String> = p.input_schema().into_iter().map(|(c, _)| c).collect();
        let m = columns.len();
        if m < 2 {
            return Err(Error::Input(format!(
                "KernelSHAP needs at least 2 input columns, the model has {m}; with one column its whole contribution is the prediction minus the base value"
            )));
        }
        if pairs < 2 {
            return Err(Error::Input(format!(
                "KernelSHAP needs at least 2 sampled coalition pairs to estimate its error, {pairs} asked"
            )));
        }
        if background.n_rows() == 0 {
            return Err(Error::Input("the background sample has no rows".into()));
        }
        let background = select(background, &columns, "background")?;
        let base = mean_rows(
            &ModelOutput::new(p).predict(&background)?,
            background.n_rows(),
        );
        let (sizes, d) = kernel(m);
        let mut cdf = Vec::with_capacity(sizes.len());
        let mut acc = 0.0;
        for w in &sizes {
            acc += w;
            cdf.push(acc);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut coalitions = Vec::with_capacity(2 * pairs + 1);
        let mut order: Vec<usize> = (0..m).collect();
        for _ in 0..pairs {
            let u: f64 = rng.random();
            let size = 1 + cdf.partition_point(|&c| c <= u).min(m - 2);
            // A uniform subset of `size` columns: a partial Fisher–Yates shuffle.
            for i in 0..size {
                let j = rng.random_range(i..m);
                order.swap(i, j);
            }
            let mut z = vec![false; m];
            for &j in &order[..size] {
                z[j] = true;
            }
            let complement = z.iter().map(|b| !b).collect();
            coalitions.push(z);
            coalitions.push(complement);
        }
        coalitions.push(vec![true; m]);
        Ok(KernelShap {
            seed,
            columns,
            background,
            base,
            coalitions,
            d,
        })
    }

    /// The players: the pipeline's input columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Base value per output: the mean output over the background.
    pub fn base_values(&self) -> &[f64] {
        &self.base
    }

    /// The seed the coalitions were drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Sampled coalition pairs.
    pub fn pairs(&self) -> usize {
        (self.coalitions.len() - 1) / 2
    }

    /// Values and standard errors of every row of `rows`.
    pub fn explain(&self, p: &FittedPipeline, rows: &Table) -> Result<KernelValues> {
        let x = select(rows, &self.columns, "input")?;
        same_types(&x, &self.background)?;
        let model = ModelOutput::new(p);
        let k = model.outputs().len();
        let m = self.columns.len();
        let nc = self.coalitions.len();
        let pairs = self.pairs();
        let mut values = Vec::with_capacity(x.n_rows() * k * m);
        let mut standard_errors = Vec::with_capacity(x.n_rows() * k * m);
        let mut h = vec![0.0; pairs * m];
        for start in (0..x.n_rows()).step_by(ROWS_AT_ONCE) {
            let end = (start + ROWS_AT_ONCE).min(x.n_rows());
            let v = coalition_values(&model, &self.background, &x, start..end, &self.coalitions)?;
            for vr in v.chunks_exact(nc * k) {
                for c in 0..k {
                    let v0 = self.base[c];
                    let delta = vr[(nc - 1) * k + c] - v0;
                    // Per pair: g = mean of z (v(z) − v0) over the pair, centred over the
                    // columns and divided by d.
                    for q in 0..pairs {
                        let row = &mut h[q * m..(q + 1) * m];
                        for (i, hi) in row.iter_mut().enumerate() {
                            let mut g = 0.0;
                            for z in [2 * q, 2 * q + 1] {
                                if self.coalitions[z][i] {
                                    g += vr[z * k + c] - v0;
                                }
                            }
                            *hi = g / 2.0;
                        }
                        let mean = row.iter().sum::<f64>() / m as f64;
                        for hi in row.iter_mut() {
                            *hi = (*hi - mean) / self.d;
                        }
                    }
                    let mut phi = vec![0.0; m];
                    for row in h.chunks_exact(m) {
                        for (f, hi) in phi.iter_mut().zip(row) {
                            *f += hi;
                        }
                    }
                    let n = pairs as f64;
                    for (i, f) in phi.iter_mut().enumerate() {
                        let mean = *f / n;
                        let var = h
                            .chunks_exact(m)
                            .map(|row| (row[i] - mean) * (row[i] - mean))
                            .sum::<f64>()
                            / (n - 1.0);
                        standard_errors.push((var / n).sqrt());
                        *f = mean;
                    }
                    // The centring makes Σ mean = 0 up to rounding; spread the efficiency
                    // gap evenly so the values add up to v(all) − v(∅).
                    let gap = (delta - phi.iter().sum::<f64>()) / m as f64;
                    values.extend(phi.iter().map(|f| f + gap));
                }
            }
        }
        Ok(KernelValues {
            values,
            standard_errors,
        })
    }
}

/// The Shapley kernel over coalition sizes `1..M` (`p(s) ∝ 1 / (s (M − s))`, index `s − 1`)
/// and `d = A_ii − A_ij` of `A = E[z zᵀ]` under it (`A_ii = 1/2`,
/// `A_ij = Σ_s p(s) s (s − 1) / (M (M − 1))`).
fn kernel(m: usize) -> (Vec<f64>, f64) {
    let mf = m as f64;
    let weight: Vec<f64> = (1..m).map(|s| 1.0 / (s as f64 * (mf - s as f64))).collect();
    let total: f64 = weight.iter().sum();
    let p: Vec<f64> = weight.iter().map(|w| w / total).collect();
    let cross: f64 = p
        .iter()
        .enumerate()
        .map(|(i, ps)| {
            let s = (i + 1) as f64;
            ps * s * (s - 1.0) / (mf * (mf - 1.0))
        })
        .sum();
    (p, 0.5 - cross)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With `b` taken exactly (every coalition weighted by the kernel), the closed form is
    /// the Shapley value of any set function.
    #[test]
    fn closed_form_on_exact_expectations_is_the_shapley_value() {
        let m = 5usize;
        let mut state = 99u64;
        let v: Vec<f64> = (0..1usize << m)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                (state >> 11) as f64 / (1u64 << 53) as f64 * 10.0 - 5.0
            })
            .collect();
        let (p, d) = kernel(m);
        let binom = |n: usize, k: usize| -> f64 {
            (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
        };
        let mut b = vec![0.0; m];
        for s in 1..(1usize << m) - 1 {
            let size = s.count_ones() as usize;
            let pz = p[size - 1] / binom(m, size);
            for (i, bi) in b.iter_mut().enumerate() {
                if s >> i & 1 == 1 {
                    *bi += pz * (v[s] - v[0]);
                }
            }
        }
        let mean = b.iter().sum::<f64>() / m as f64;
        let delta = v[(1 << m) - 1] - v[0];
        let fact = |n: usize| (1..=n).fold(1.0, |a, i| a * i as f64);
        for i in 0..m {
            let phi = (b[i] - mean) / d + delta / m as f64;
            let mut shapley = 0.0;
            for s in 0..1usize << m {
                if s >> i & 1 == 0 {
                    let k = s.count_ones() as usize;
                    shapley += fact(k) * fact(m - k - 1) / fact(m) * (v[s | 1 << i] - v[s]);
                }
            }
            assert!((phi - shapley).abs() < 1e-12, "{i}: {phi} vs {shapley}");
        }
    }
}
