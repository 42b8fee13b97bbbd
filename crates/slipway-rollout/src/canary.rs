//! Canary analysis: is the canary healthy in this window, and what is the next traffic step?
//!
//! [`analyze`] is fail-safe: it answers [`Decision::Healthy`] only when the canary served at
//! least [`CanaryPolicy::min_requests`] requests, has latency samples, passes the absolute
//! limits (error rate ≤ 1 %, p95 ≤ 200 ms by default) and is not significantly worse than
//! the baseline arm (one-sided two-proportion z-test on the error rates, one-sided
//! Mann–Whitney U on the latencies, both at `alpha`). No data, too few requests, no usable
//! latency samples or a baseline too small to compare with is [`Decision::Inconclusive`];
//! a broken limit or a significant regression is [`Decision::Unhealthy`] (a window where
//! every request failed breaks the error-rate limit). Every decision carries the
//! [`Evidence`] it was made on.
//!
//! [`CanaryState::next`] is the step controller: start at 5 %, add 5 points after each
//! healthy window up to 50 %, promote after a healthy window at 50 %; roll back at once on an
//! unhealthy window, and after `max_inconclusive` inconclusive windows in a row (a canary
//! that never gets judged is not left running).

use serde::{Deserialize, Serialize};

use crate::stats::{
    Alternative, MannWhitney, ProportionTest, mann_whitney_greater, two_proportion,
};

/// What one arm served in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmWindow {
    /// Requests answered (successes and errors).
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Latency samples in milliseconds (non-finite or negative samples are ignored and
    /// counted in [`Evidence`]).
    pub latencies_ms: Vec<f64>,
    /// One number per answered row (a regression's value, a classifier's probability of its
    /// last class, a cluster's index), kept only when the prediction-drift criterion is on.
    #[serde(default)]
    pub predictions: Vec<f64>,
}

/// The limits a canary window is held to (the seed's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CanaryPolicy {
    /// Highest acceptable error rate (0.01 = 1 %).
    pub max_error_rate: f64,
    /// Highest acceptable 95th percentile latency in milliseconds.
    pub max_p95_ms: f64,
    /// Fewer canary (or baseline) requests than this: inconclusive.
    pub min_requests: u64,
    /// Significance level of the comparisons with the baseline.
    pub alpha: f64,
    /// Highest acceptable two-sample Kolmogorov–Smirnov statistic between the canary's and
    /// the baseline's predictions in the window (`None`: the criterion is off).
    #[serde(default)]
    pub max_prediction_drift: Option<f64>,
}

impl Default for CanaryPolicy {
    fn default() -> Self {
        CanaryPolicy {
            max_error_rate: 0.01,
            max_p95_ms: 200.0,
            min_requests: 100,
            alpha: 0.05,
            max_prediction_drift: None,
        }
    }
}

/// The values a decision was made on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The canary's window.
    pub canary: ArmSummary,
    /// The baseline's window.
    pub baseline: ArmSummary,
    /// Canary error rate above the baseline's (`None`: not computed).
    pub error_test: Option<ProportionTest>,
    /// Canary latencies above the baseline's (`None`: not computed).
    pub latency_test: Option<MannWhitney>,
    /// The canary's predictions against the baseline's (`None`: the criterion is off or
    /// there was nothing to compare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_drift: Option<PredictionDrift>,
    /// The policy applied.
    pub policy: CanaryPolicy,
}

/// The prediction-drift criterion's measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionDrift {
    /// The statistic (`ks`: two-sample Kolmogorov–Smirnov, `scipy.stats.ks_2samp`'s).
    pub statistic: String,
    /// Its value.
    pub value: f64,
    /// The limit it is held to.
    pub max: f64,
    /// Canary predictions compared.
    pub canary_n: u64,
    /// Baseline predictions compared.
    pub baseline_n: u64,
}

/// One arm's window in numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// Requests answered.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// `errors / requests` (`None` without requests).
    pub error_rate: Option<f64>,
    /// Usable latency samples.
    pub latency_samples: u64,
    /// Samples ignored (non-finite or negative).
    pub ignored_samples: u64,
    /// 95th percentile latency (linear interpolation, numpy's default), `None` without
    /// samples.
    pub p95_ms: Option<f64>,
}

/// The verdict on one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Within every limit and not worse than the baseline.
    Healthy {
        /// What it was decided on.
        evidence: Box<Evidence>,
    },
    /// A limit broken or a significant regression: roll back.
    Unhealthy {
        /// Every broken rule, with the values.
        reasons: Vec<String>,
        /// What it was decided on.
        evidence: Box<Evidence>,
    },
    /// Not enough to judge: hold the traffic step.
    Inconclusive {
        /// Why.
        reason: String,
        /// What it was decided on.
        evidence: Box<Evidence>,
    },
}

impl Decision {
    /// The evidence of any decision.
    pub fn evidence(&self) -> &Evidence {
        match self {
            Decision::Healthy { evidence }
            | Decision::Unhealthy { evidence, .. }
            | Decision::Inconclusive { evidence, .. } => evidence,
        }
    }
}

/// numpy's `np.percentile(values, q)` (linear interpolation) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

fn usable(latencies: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = latencies
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn summarize(w: &ArmWindow, samples: &[f64]) -> ArmSummary {
    ArmSummary {
        requests: w.requests,
        errors: w.errors,
        error_rate: (w.requests > 0).then(|| w.errors as f64 / w.requests as f64),
        latency_samples: samples.len() as u64,
        ignored_samples: (w.latencies_ms.len() - samples.len()) as u64,
        p95_ms: (!samples.is_empty()).then(|| percentile(samples, 95.0)),
    }
}

/// Judges one window of the canary against the policy and the baseline arm.
pub fn analyze(canary: &ArmWindow, baseline: &ArmWindow, policy: &CanaryPolicy) -> Decision {
    let c_lat = usable(&canary.latencies_ms);
    let b_lat = usable(&baseline.latencies_ms);
    let mut evidence = Box::new(Evidence {
        canary: summarize(canary, &c_lat),
        baseline: summarize(baseline, &b_lat),
        error_test: None,
        latency_test: None,
        prediction_drift: None,
        policy: *policy,
    });
    let inconclusive =
        |reason: String, evidence: Box<Evidence>| Decision::Inconclusive { reason, evidence };
    for (name, w) in [("canary", canary), ("baseline", baseline)] {
        if w.errors > w.requests {
            return inconclusive(
                format!(
                    "{name} counts are inconsistent: {} errors out of {} requests",
                    w.errors, w.requests
                ),
                evidence,
            );
        }
    }
    if canary.requests == 0 {
        return inconclusive("the canary served no requests".into(), evidence);
    }
    if canary.requests < policy.min_requests {
        return inconclusive(
            format!(
                "the canary served {} requests, fewer than the {} needed",
                canary.requests, policy.min_requests
            ),
            evidence,
        );
    }
    let mut reasons = Vec::new();
    let c_rate = canary.errors as f64 / canary.requests as f64;
    if c_rate > policy.max_error_rate {
        reasons.push(format!(
            "error rate {:.2} % ({} of {}) is above the {:.2} % limit",
            100.0 * c_rate,
            canary.errors,
            canary.requests,
            100.0 * policy.max_error_rate
        ));
    }
    if let Some(p95) = evidence.canary.p95_ms
        && p95 > policy.max_p95_ms
    {
        reasons.push(format!(
            "p95 latency {p95:.1} ms is above the {:.1} ms limit",
            policy.max_p95_ms
        ));
    }
    let baseline_ok = baseline.requests >= policy.min_requests;
    if baseline_ok {
        let t = two_proportion(
            baseline.errors,
            baseline.requests,
            canary.errors,
            canary.requests,
            policy.alpha,
            Alternative::Larger,
        );
        if t.p_value < policy.alpha {
            reasons.push(format!(
                "error rate {:.2} % is significantly above the baseline's {:.2} % (one-sided z-test p = {:.3e})",
                100.0 * t.rate_b,
                100.0 * t.rate_a,
                t.p_value
            ));
        }
        evidence.error_test = Some(t);
        if !c_lat.is_empty() && !b_lat.is_empty() {
            let m = mann_whitney_greater(&c_lat, &b_lat);
            if m.p_value < policy.alpha {
                reasons.push(format!(
                    "latencies are significantly above the baseline's (one-sided Mann-Whitney p = {:.3e})",
                    m.p_value
                ));
            }
            evidence.latency_test = Some(m);
        }
        if let Some(max) = policy.max_prediction_drift {
            let c = finite_sorted(&canary.predictions);
            let b = finite_sorted(&baseline.predictions);
            if !c.is_empty() && !b.is_empty() {
                let value = ks_statistic(&c, &b);
                if value > max {
                    reasons.push(format!(
                        "prediction drift against the baseline: KS statistic {value:.4} is                          above the {max} limit ({} canary and {} baseline predictions)",
                        c.len(),
                        b.len()
                    ));
                }
                evidence.prediction_drift = Some(PredictionDrift {
                    statistic: "ks".into(),
                    value,
                    max,
                    canary_n: c.len() as u64,
                    baseline_n: b.len() as u64,
                });
            }
        }
    }
    if !reasons.is_empty() {
        return Decision::Unhealthy { reasons, evidence };
    }
    if c_lat.is_empty() {
        return inconclusive("the canary has no usable latency samples".into(), evidence);
    }
    if !baseline_ok {
        return inconclusive(
            format!(
                "the baseline served {} requests, fewer than the {} needed to compare with",
                baseline.requests, policy.min_requests
            ),
            evidence,
        );
    }
    if b_lat.is_empty() {
        return inconclusive(
            "the baseline has no usable latency samples to compare with".into(),
            evidence,
        );
    }
    if policy.max_prediction_drift.is_some() && evidence.prediction_drift.is_none() {
        return inconclusive(
            "the prediction-drift criterion is on but the canary or the baseline has no              finite predictions to compare"
                .into(),
            evidence,
        );
    }
    Decision::Healthy { evidence }
}

fn finite_sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The two-sample Kolmogorov–Smirnov statistic of two sorted, finite samples: the largest
/// distance between their empirical distribution functions (`scipy.stats.ks_2samp(a,
/// b).statistic`). Both must be non-empty.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut d = 0.0f64;
    while i < a.len() && j < b.len() {
        let v = a[i].min(b[j]);
        while i < a.len() && a[i] <= v {
            i += 1;
        }
        while j < b.len() && b[j] <= v {
            j += 1;
        }
        d = d.max((i as f64 / n1 - j as f64 / n2).abs());
    }
    d
}

/// The traffic schedule of a canary rollout, in percent of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryPlan {
    /// The first step.
    pub initial_percent: u8,
    /// Added after each healthy window.
    pub step_percent: u8,
    /// The last step; a healthy window there promotes the canary.
    pub max_percent: u8,
    /// Inconclusive windows in a row that roll the canary back.
    pub max_inconclusive: u32,
}

impl Default for CanaryPlan {
    fn default() -> Self {
        CanaryPlan {
            initial_percent: 5,
            step_percent: 5,
            max_percent: 50,
            max_inconclusive: 3,
        }
    }
}

/// Where a canary rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CanaryState {
    /// Serving `percent` % of the traffic.
    Running {
        /// The canary's share of requests.
        percent: u8,
        /// Inconclusive windows in a row at this step.
        inconclusive_streak: u32,
    },
    /// The canary takes all traffic.
    Promoted,
    /// The canary was withdrawn.
    RolledBack {
        /// The share it had.
        at_percent: u8,
        /// Why.
        reasons: Vec<String>,
    },
}

impl CanaryState {
    /// The first state of `plan`.
    pub fn start(plan: &CanaryPlan) -> CanaryState {
        CanaryState::Running {
            percent: plan.initial_percent,
            inconclusive_streak: 0,
        }
    }

    /// The state after a window judged `decision`. `Promoted` and `RolledBack` are final.
    pub fn next(&self, plan: &CanaryPlan, decision: &Decision) -> CanaryState {
        let CanaryState::Running {
            percent,
            inconclusive_streak,
        } = *self
        else {
            return self.clone();
        };
        match decision {
            Decision::Healthy { .. } if percent >= plan.max_percent => CanaryState::Promoted,
            Decision::Healthy { .. } => CanaryState::Running {
                percent: percent
                    .saturating_add(plan.step_percent)
                    .min(plan.max_percent),
                inconclusive_streak: 0,
            },
            Decision::Unhealthy { reasons, .. } => CanaryState::RolledBack {
                at_percent: percent,
                reasons: reasons.clone(),
            },
            Decision::Inconclusive { reason, .. } => {
                let streak = inconclusive_streak + 1;
                if streak >= plan.max_inconclusive {
                    CanaryState::RolledBack {
                        at_percent: percent,
                        reasons: vec![format!(
                            "{streak} inconclusive windows in a row (last: {reason})"
                        )],
                    }
                } else {
                    CanaryState::Running {
                        percent,
                        inconclusive_streak: streak,
                    }
                }
            }
        }
    }
}
