//! The A/B and canary statistics, each equal to the library users trust to 1e-9
//! (`tests/reference/ab_reference.py` computes the reference numbers):
//!
//! - [`srm`] — sample-ratio mismatch, `scipy.stats.chisquare(f_obs, f_exp)`;
//! - [`two_proportion`] — `statsmodels.stats.proportion.proportions_ztest` (pooled variance)
//!   with the Wald interval of `confint_proportions_2indep(compare="diff", method="wald")`;
//! - [`welch`] — `scipy.stats.ttest_ind(b, a, equal_var=False)` with its confidence interval;
//! - [`cuped`] — CUPED (Deng et al. 2013) then Welch on the adjusted outcomes;
//! - [`Msprt`] — the mixture sequential probability ratio test (Johari, Pekelis, Walsh 2017),
//!   always-valid p-values;
//! - [`mann_whitney_greater`] — `scipy.stats.mannwhitneyu(x, y, alternative="greater",
//!   method="asymptotic")` with the continuity and tie corrections.
//!
//! Differences are always B minus A (canary minus baseline).

use serde::{Deserialize, Serialize};
use slipway_data::special::{chi2_sf, norm_cdf, norm_isf, norm_sf, t_isf, t_sf};

/// Count, mean and sample variance (`ddof = 1`) of one arm's numeric outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values.
    pub n: u64,
    /// Their mean.
    pub mean: f64,
    /// Their sample variance (divisor `n - 1`; NaN below two values).
    pub variance: f64,
}

impl Summary {
    /// The summary of `values`, by two passes (mean, then squared deviations) as numpy does.
    pub fn of(values: &[f64]) -> Summary {
        let n = values.len();
        if n == 0 {
            return Summary {
                n: 0,
                mean: f64::NAN,
                variance: f64::NAN,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        Summary {
            n: n as u64,
            mean,
            variance: if n > 1 { ss / (n - 1) as f64 } else { f64::NAN },
        }
    }
}

/// Which difference a test looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alternative {
    /// B differs from A either way.
    TwoSided,
    /// B is larger than A (a canary's error rate above the baseline's).
    Larger,
}

/// A sample-ratio-mismatch check: the arm counts against the configured split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Srm {
    /// Rows in A and B.
    pub observed: [u64; 2],
    /// Rows expected in A and B under the configured split.
    pub expected: [f64; 2],
    /// Pearson's chi-square statistic.
    pub statistic: f64,
    /// Its p-value (1 degree of freedom).
    pub p_value: f64,
    /// `p_value < threshold`: the assignment or the logging is broken and no other number
    /// of the experiment can be trusted.
    pub alarm: bool,
}

/// The chi-square goodness-of-fit test of `[count_a, count_b]` against a split sending
/// `split_percent_b` % of the traffic to B (`scipy.stats.chisquare`); alarm below
/// `threshold` (0.001 by default in the readout). `split_percent_b` must lie strictly
/// between 0 and 100.
pub fn srm(count_a: u64, count_b: u64, split_percent_b: f64, threshold: f64) -> Srm {
    let n = (count_a + count_b) as f64;
    let share_b = split_percent_b / 100.0;
    let expected = [n * (1.0 - share_b), n * share_b];
    let observed = [count_a, count_b];
    let statistic: f64 = observed
        .iter()
        .zip(expected)
        .map(|(&o, e)| (o as f64 - e) * (o as f64 - e) / e)
        .sum();
    let p_value = chi2_sf(statistic, 1.0);
    Srm {
        observed,
        expected,
        statistic,
        p_value,
        alarm: p_value < threshold,
    }
}

/// The difference of two conversion rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProportionTest {
    /// Conversions and rows in A.
    pub a: [u64; 2],
    /// Conversions and rows in B.
    pub b: [u64; 2],
    /// A's conversion rate.
    pub rate_a: f64,
    /// B's conversion rate.
    pub rate_b: f64,
    /// `rate_b - rate_a`.
    pub difference: f64,
    /// The z statistic with the pooled variance (NaN when nobody or everybody converted).
    pub z: f64,
    /// Its p-value for the chosen alternative.
    pub p_value: f64,
    /// The Wald confidence interval of the difference (unpooled variance), two-sided at the
    /// given alpha.
    pub ci: [f64; 2],
    /// `difference / rate_a`; `None` when A never converted.
    pub relative_lift: Option<f64>,
}

/// The two-proportion z-test of B against A (`proportions_ztest([cb, ca], [nb, na])`) and
/// the Wald interval of `rate_b - rate_a` at level `1 - alpha`.
pub fn two_proportion(
    conversions_a: u64,
    n_a: u64,
    conversions_b: u64,
    n_b: u64,
    alpha: f64,
    alternative: Alternative,
) -> ProportionTest {
    let (na, nb) = (n_a as f64, n_b as f64);
    let (pa, pb) = (conversions_a as f64 / na, conversions_b as f64 / nb);
    let difference = pb - pa;
    let pooled = (conversions_a + conversions_b) as f64 / (na + nb);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    let z = difference / se_pooled;
    let p_value = match alternative {
        Alternative::TwoSided => 2.0 * norm_sf(z.abs()),
        Alternative::Larger => norm_sf(z),
    };
    let se = (pa * (1.0 - pa) / na + pb * (1.0 - pb) / nb).sqrt();
    let q = norm_isf(alpha / 2.0);
    ProportionTest {
        a: [conversions_a, n_a],
        b: [conversions_b, n_b],
        rate_a: pa,
        rate_b: pb,
        difference,
        z,
        p_value,
        ci: [difference - q * se, difference + q * se],
        relative_lift: (pa > 0.0).then(|| difference / pa),
    }
}

/// Welch's unequal-variances t-test of B against A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WelchTest {
    /// A's outcomes.
    pub a: Summary,
    /// B's outcomes.
    pub b: Summary,
    /// `mean_b - mean_a`.
    pub difference: f64,
    /// The t statistic.
    pub statistic: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The confidence interval of the difference at level `1 - alpha`.
    pub ci: [f64; 2],
    /// `difference / mean_a`; `None` when A's mean is 0.
    pub relative_lift: Option<f64>,
    /// The standard error of the difference.
    pub std_error: f64,
}

/// Welch's t-test from each arm's summary (`scipy.stats.ttest_ind_from_stats(...,
/// equal_var=False)`); NaN results when an arm has fewer than two values or both arms are
/// constant.
pub fn welch(a: &Summary, b: &Summary, alpha: f64) -> WelchTest {
    let va = a.variance / a.n as f64;
    let vb = b.variance / b.n as f64;
    let se2 = va + vb;
    let std_error = se2.sqrt();
    let difference = b.mean - a.mean;
    let statistic = difference / std_error;
    let df = se2 * se2 / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0));
    let p_value = 2.0 * t_sf(statistic.abs(), df);
    let q = t_isf(alpha / 2.0, df);
    WelchTest {
        a: *a,
        b: *b,
        difference,
        statistic,
        df,
        p_value,
        ci: [difference - q * std_error, difference + q * std_error],
        relative_lift: (a.mean != 0.0).then(|| difference / a.mean),
        std_error,
    }
}

/// CUPED: outcomes adjusted by a pre-experiment covariate, then compared by Welch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cuped {
    /// `cov(Y, X) / var(X)` on both arms pooled (0 when the covariate is constant).
    pub theta: f64,
    /// `1 - var(Y_adj) / var(Y)` on both arms pooled: the share of the outcome's variance
    /// the covariate explained away.
    pub variance_reduction: f64,
    /// Welch's test on `Y_adj = Y - theta (X - mean X)`.
    pub test: WelchTest,
}

/// CUPED over outcomes `y_*` and covariates `x_*` of each arm (pairs of equal length).
pub fn cuped(y_a: &[f64], x_a: &[f64], y_b: &[f64], x_b: &[f64], alpha: f64) -> Cuped {
    let y: Vec<f64> = y_a.iter().chain(y_b).copied().collect();
    let x: Vec<f64> = x_a.iter().chain(x_b).copied().collect();
    let n = y.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(&y).map(|(xv, yv)| (xv - mx) * (yv - my)).sum();
    let theta = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let adjust = |ys: &[f64], xs: &[f64]| -> Vec<f64> {
        ys.iter()
            .zip(xs)
            .map(|(yv, xv)| yv - theta * (xv - mx))
            .collect()
    };
    let adj_a = adjust(y_a, x_a);
    let adj_b = adjust(y_b, x_b);
    let pooled_adj: Vec<f64> = adj_a.iter().chain(&adj_b).copied().collect();
    let variance_reduction = 1.0 - Summary::of(&pooled_adj).variance / Summary::of(&y).variance;
    Cuped {
        theta,
        variance_reduction,
        test: welch(&Summary::of(&adj_a), &Summary::of(&adj_b), alpha),
    }
}

/// The mixture sequential probability ratio test: an always-valid p-value that may be
/// looked at after every new observation without inflating the false-positive rate.
///
/// At each look the difference estimate `d = mean_b - mean_a` has variance
/// `V = var_a / n_a + var_b / n_b` (plug-in variances: `p (1 - p)` for conversions, the
/// sample variance for numeric outcomes). With a normal mixture `N(0, tau²)` over the true
/// difference, the mixture likelihood ratio against "no difference" is
///
/// ```text
/// Lambda = sqrt(V / (V + tau²)) · exp(tau² d² / (2 V (V + tau²)))
/// ```
///
/// (Johari, Pekelis, Walsh 2017, eq. for the two-sample normal case with `V` in place of
/// `2 sigma² / n`), and the always-valid p-value is `p_n = min(1, p_{n-1}, 1 / Lambda_n)`.
/// By Ville's inequality `P(exists n: p_n <= alpha) <= alpha` under the null.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Msprt {
    /// The mixing variance `tau²` (outcome units squared).
    pub tau2: f64,
    /// The always-valid p-value so far.
    pub p_value: f64,
    /// How many looks have been taken (looks with `V = 0` are skipped).
    pub looks: u64,
}

impl Msprt {
    /// A test with mixing variance `tau2 > 0` and no looks yet (p-value 1).
    pub fn new(tau2: f64) -> Msprt {
        Msprt {
            tau2,
            p_value: 1.0,
            looks: 0,
        }
    }

    /// `ln Lambda` for a difference `d` with variance `v`.
    pub fn log_lambda(&self, d: f64, v: f64) -> f64 {
        let t2 = self.tau2;
        0.5 * (v / (v + t2)).ln() + t2 * d * d / (2.0 * v * (v + t2))
    }

    /// Takes a look at difference `d` with variance `v`; returns the always-valid p-value.
    pub fn look(&mut self, d: f64, v: f64) -> f64 {
        if v > 0.0 && v.is_finite() && d.is_finite() {
            let p = (-self.log_lambda(d, v)).exp();
            self.p_value = self.p_value.min(p);
            self.looks += 1;
        }
        self.p_value
    }
}

/// The Mann–Whitney U test of "x tends to be larger than y".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// `U` of `x` (scipy's statistic).
    pub u: f64,
    /// The normal approximation's z, with continuity and tie corrections.
    pub z: f64,
    /// One-sided p-value.
    pub p_value: f64,
}

/// `scipy.stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic")`: average
/// ranks for ties, the tie-corrected variance and the 0.5 continuity correction.
pub fn mann_whitney_greater(x: &[f64], y: &[f64]) -> MannWhitney {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // Rows i..j share the average of ranks i+1..=j.
        let avg = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        rank_sum_x += avg * all[i..j].iter().filter(|e| e.1).count() as f64;
        i = j;
    }
    let u = rank_sum_x - n1 * (n1 + 1.0) / 2.0;
    let nf = n as f64;
    let mu = n1 * n2 / 2.0;
    let s = (n1 * n2 / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)))).sqrt();
    let z = (u - mu - 0.5) / s;
    MannWhitney {
        u,
        z,
        p_value: norm_sf(z).clamp(0.0, 1.0),
    }
}

/// The power of a two-sided level-`alpha` z-test to detect a true difference `effect` when
/// the estimate's standard error is `std_error` (the far tail ignored).
pub fn power(effect: f64, std_error: f64, alpha: f64) -> f64 {
    norm_cdf(effect.abs() / std_error - norm_isf(alpha / 2.0))
}
