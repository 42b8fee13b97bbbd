//! The A/B readout: "is B better, and is that difference real?"
//!
//! [`readout`] takes one row per exposure (its arm, its outcome when known, optionally a
//! pre-experiment covariate and a segment) and computes a [`Readout`]: counts per arm, the
//! sample-ratio-mismatch check overall and per segment, the test that fits the outcome
//! (two-proportion z-test for 0/1 conversions, Welch for numeric values), CUPED when a
//! covariate is given, the mSPRT's always-valid p-value, the confidence interval of B − A,
//! the relative lift, the power to detect the minimum effect, and a [`Recommendation`].
//! [`readout_file`] does the same over the columns of a CSV / Parquet / JSON lines file.
//!
//! # Missing values
//!
//! A row with a missing outcome is an exposure whose feedback has not arrived: it counts in
//! the arm's exposures and the SRM check, and is left out of the outcome tests (reported as
//! `missing_outcome`), unless [`ReadoutOptions::missing_outcome_as_zero`] reads it as "no
//! conversion / zero value". A missing covariate is replaced by the pooled covariate mean
//! (that row is then not adjusted); a missing segment is the segment `(missing)`. A missing
//! or unknown arm is an error.
//!
//! # The recommendation rule
//!
//! 1. `stop: sample ratio mismatch` when the SRM p-value is below `srm_threshold` overall or
//!    in any segment: the split is broken and no other number can be trusted. (The
//!    per-segment checks are not corrected for their number: with hundreds of segments,
//!    lower the threshold.)
//! 2. The difference is *significant* when the fixed-horizon p-value (CUPED's when a
//!    covariate is given, else the z-test's or Welch's) is below `alpha` **and** the mSPRT
//!    always-valid p-value is too (on the CUPED-adjusted outcomes when a covariate is
//!    given): a readout is looked at again and again while an experiment runs, and only
//!    the always-valid p-value stays valid under such peeking.
//! 3. Significant and B − A > 0: `ship B`. Significant and B − A < 0: `keep A`.
//! 4. Not significant, the power to detect the minimum detectable effect is at least
//!    `power` (0.8) and the interval's upper end is below that effect: `keep A` (B is not
//!    better by an effect worth having, and the test could have seen one). A zero-width
//!    interval (no variation in the outcomes) never counts as power.
//! 5. Otherwise: `keep collecting`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::special::norm_isf;

use crate::assign::Arm;
use crate::stats::{
    Alternative, Cuped, Msprt, ProportionTest, Srm, Summary, WelchTest, cuped, power, srm,
    two_proportion, welch,
};
use crate::{Error, Result};

/// The knobs of a readout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadoutOptions {
    /// The configured share of traffic sent to B, in percent (strictly between 0 and 100).
    pub split_percent_b: f64,
    /// Significance level of the tests; the intervals are `1 - alpha`.
    pub alpha: f64,
    /// An SRM p-value below this stops the experiment.
    pub srm_threshold: f64,
    /// The smallest relative lift worth detecting (0.05 = 5 % of A's mean); it sets the
    /// power requirement of `keep A` and the mSPRT's mixing scale.
    pub min_detectable_effect: f64,
    /// The power needed to call "B is not better" (`keep A` without a significant loss).
    pub power: f64,
    /// The mSPRT mixing variance `tau²`; `None`: the square of the minimum detectable
    /// effect in outcome units (Johari et al. advise centring the mixture on the effects one
    /// hopes to see).
    pub tau2: Option<f64>,
    /// How many evenly spaced looks the mSPRT takes over the rows in file order (the order
    /// outcomes arrived in); capped at the number of rows.
    pub looks: usize,
    /// Read a missing outcome as 0 (no conversion) instead of leaving the row out.
    pub missing_outcome_as_zero: bool,
}

impl Default for ReadoutOptions {
    fn default() -> Self {
        ReadoutOptions {
            split_percent_b: 50.0,
            alpha: 0.05,
            srm_threshold: 0.001,
            min_detectable_effect: 0.05,
            power: 0.8,
            tau2: None,
            looks: 100,
            missing_outcome_as_zero: false,
        }
    }
}

impl ReadoutOptions {
    /// Checks every option's range.
    pub fn check(&self) -> Result<()> {
        let open01 = |v: f64| v > 0.0 && v < 1.0;
        if !(self.split_percent_b > 0.0 && self.split_percent_b < 100.0) {
            return invalid(format!(
                "split {}: the share of B must be between 0 and 100 percent, exclusive",
                self.split_percent_b
            ));
        }
        for (name, v) in [
            ("alpha", self.alpha),
            ("srm threshold", self.srm_threshold),
            ("power", self.power),
        ] {
            if !open01(v) {
                return invalid(format!("{name} {v}: must be between 0 and 1, exclusive"));
            }
        }
        if !(self.min_detectable_effect > 0.0 && self.min_detectable_effect.is_finite()) {
            return invalid(format!(
                "minimum detectable effect {}: must be a positive relative lift",
                self.min_detectable_effect
            ));
        }
        if let Some(t) = self.tau2
            && !(t > 0.0 && t.is_finite())
        {
            return invalid(format!("tau² {t}: must be positive"));
        }
        if self.looks == 0 {
            return invalid("looks: at least one look is needed".into());
        }
        Ok(())
    }
}

fn invalid<T>(message: String) -> Result<T> {
    Err(Error::Invalid(message))
}

/// One exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// Its arm.
    pub arm: Arm,
    /// Its outcome (0/1 for conversions), `None` while unknown.
    pub outcome: Option<f64>,
    /// The pre-experiment covariate, when one is used.
    pub covariate: Option<f64>,
    /// The segment, when segments are checked.
    pub segment: Option<String>,
}

/// What the outcome is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// 0/1 conversions: compared as proportions.
    Conversion,
    /// Any number: compared by Welch's t-test.
    Numeric,
}

/// One arm's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmCounts {
    /// `A` or `B`.
    pub arm: Arm,
    /// The label the input used for it.
    pub label: String,
    /// Rows assigned to the arm.
    pub exposures: u64,
    /// Rows with a known outcome.
    pub with_outcome: u64,
    /// Rows whose outcome is missing (left out of the tests, or read as 0).
    pub missing_outcome: u64,
    /// Mean outcome (the conversion rate) over the rows with one.
    pub mean: f64,
}

/// The SRM check of one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSrm {
    /// The segment's value.
    pub segment: String,
    /// Its check.
    pub srm: Srm,
}

/// The recommendation of a readout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recommendation {
    /// The split is broken: fix the assignment or logging before reading anything else.
    #[serde(rename = "stop: sample ratio mismatch")]
    StopSampleRatioMismatch,
    /// B is significantly better.
    #[serde(rename = "ship B")]
    ShipB,
    /// B is significantly worse, or not better with enough power to have seen it.
    #[serde(rename = "keep A")]
    KeepA,
    /// Not enough evidence either way yet.
    #[serde(rename = "keep collecting")]
    KeepCollecting,
}

impl std::fmt::Display for Recommendation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Recommendation::StopSampleRatioMismatch => "stop: sample ratio mismatch",
            Recommendation::ShipB => "ship B",
            Recommendation::KeepA => "keep A",
            Recommendation::KeepCollecting => "keep collecting",
        })
    }
}

/// Everything a readout found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readout {
    /// Conversion or numeric.
    pub outcome_kind: OutcomeKind,
    /// A's and B's counts.
    pub arms: [ArmCounts; 2],
    /// The SRM check over all rows.
    pub srm: Srm,
    /// The SRM check of each segment (empty without a segment column).
    pub segments: Vec<SegmentSrm>,
    /// The two-proportion test (conversions).
    pub conversion: Option<ProportionTest>,
    /// Welch's test (numeric outcomes).
    pub welch: Option<WelchTest>,
    /// CUPED (with a covariate).
    pub cuped: Option<Cuped>,
    /// Rows whose missing covariate was replaced by the mean.
    pub covariate_missing: u64,
    /// The mSPRT over the looks.
    pub msprt: Msprt,
    /// B − A (CUPED-adjusted when a covariate is given).
    pub difference: f64,
    /// Its `1 - alpha` confidence interval.
    pub ci: [f64; 2],
    /// `difference / mean_a` (`None` when A's mean is 0).
    pub relative_lift: Option<f64>,
    /// The fixed-horizon p-value the decision used.
    pub p_value: f64,
    /// The minimum detectable effect in outcome units.
    pub min_effect: f64,
    /// The power to detect `min_effect` at `alpha` with this standard error.
    pub power: f64,
    /// The recommendation.
    pub recommendation: Recommendation,
    /// Why, in a sentence with the numbers.
    pub reason: String,
    /// The options used.
    pub options: ReadoutOptions,
}

/// Which columns of a file hold what, and the arm labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadoutColumns {
    /// The arm column.
    pub arm: String,
    /// The outcome column.
    pub outcome: String,
    /// The pre-experiment covariate column.
    pub covariate: Option<String>,
    /// The segment column.
    pub segment: Option<String>,
    /// The labels of A and B in the arm column.
    pub labels: [String; 2],
}

impl Default for ReadoutColumns {
    fn default() -> Self {
        ReadoutColumns {
            arm: "arm".into(),
            outcome: "converted".into(),
            covariate: None,
            segment: None,
            labels: ["A".into(), "B".into()],
        }
    }
}

/// Reads the exposures in `path` (CSV, Parquet, JSON lines) and computes their readout.
/// Errors name the column and the 1-based data row.
pub fn readout_file(
    path: &Path,
    columns: &ReadoutColumns,
    options: &ReadoutOptions,
) -> Result<Readout> {
    options.check()?;
    let table = read_table(path, &ReadOptions::default())?;
    let (exposures, kind) = exposures_of(&table, columns, &path.display().to_string())?;
    let mut r = readout(&exposures, kind, options)?;
    for (counts, label) in r.arms.iter_mut().zip(&columns.labels) {
        counts.label = label.clone();
    }
    Ok(r)
}

fn column_values(table: &Table, name: &str, role: &str, file: &str) -> Result<Vec<Option<String>>> {
    if table.schema().field(name).is_none() {
        let names = table.schema().names();
        let hint = slipway_data::closest(name, names.iter().copied())
            .map(|c| format!("; did you mean \"{c}\"?"))
            .unwrap_or_default();
        return invalid(format!(
            "{role} column \"{name}\" is not in {file} (columns: {}){hint}",
            names.join(", ")
        ));
    }
    (0..table.n_rows())
        .map(|r| Ok(table.display_value(name, r)?))
        .collect()
}

/// A value of an outcome or covariate column as a number: `true`/`false` as 1/0.
pub(crate) fn number(v: &str, column: &str, row: usize, role: &str) -> Result<f64> {
    let t = v.trim();
    let x = match t.to_ascii_lowercase().as_str() {
        "true" => 1.0,
        "false" => 0.0,
        _ => t.parse::<f64>().map_err(|_| {
            Error::Invalid(format!(
                "{role} column \"{column}\": value \"{}\" at row {} is not a number (nor true/false)",
                shorten(t),
                row + 1
            ))
        })?,
    };
    if !x.is_finite() {
        return invalid(format!(
            "{role} column \"{column}\": value \"{}\" at row {} is not a finite number",
            shorten(t),
            row + 1
        ));
    }
    Ok(x)
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The exposures of a table, and whether the outcome is a conversion (every known value 0
/// or 1) or numeric.
pub fn exposures_of(
    table: &Table,
    columns: &ReadoutColumns,
    file: &str,
) -> Result<(Vec<Exposure>, OutcomeKind)> {
    let arms = column_values(table, &columns.arm, "arm", file)?;
    let outcomes = column_values(table, &columns.outcome, "outcome", file)?;
    let covariates = match &columns.covariate {
        Some(c) => Some(column_values(table, c, "covariate", file)?),
        None => None,
    };
    let segments = match &columns.segment {
        Some(c) => Some(column_values(table, c, "segment", file)?),
        None => None,
    };
    let [la, lb] = &columns.labels;
    let mut out = Vec::with_capacity(arms.len());
    let mut binary = true;
    for (row, arm) in arms.iter().enumerate() {
        let arm = match arm.as_deref().map(str::trim) {
            Some(a) if a == la => Arm::A,
            Some(a) if a == lb => Arm::B,
            Some(a) => {
                return invalid(format!(
                    "arm column \"{}\": value \"{}\" at row {} is neither \"{la}\" (A) nor \"{lb}\" (B); an A/B readout compares exactly two arms",
                    columns.arm,
                    shorten(a),
                    row + 1
                ));
            }
            None => {
                return invalid(format!(
                    "arm column \"{}\": row {} has no arm (missing value)",
                    columns.arm,
                    row + 1
                ));
            }
        };
        let outcome = match &outcomes[row] {
            Some(v) => Some(number(v, &columns.outcome, row, "outcome")?),
            None => None,
        };
        binary &= outcome.is_none_or(|x| x == 0.0 || x == 1.0);
        let covariate = match (&covariates, &columns.covariate) {
            (Some(c), Some(name)) => match &c[row] {
                Some(v) => Some(number(v, name, row, "covariate")?),
                None => None,
            },
            _ => None,
        };
        let segment = segments
            .as_ref()
            .map(|s| s[row].clone().unwrap_or_else(|| "(missing)".into()));
        out.push(Exposure {
            arm,
            outcome,
            covariate,
            segment,
        });
    }
    let kind = if binary {
        OutcomeKind::Conversion
    } else {
        OutcomeKind::Numeric
    };
    Ok((out, kind))
}

/// The readout of `exposures` (see the module documentation for the rule).
pub fn readout(
    exposures: &[Exposure],
    kind: OutcomeKind,
    options: &ReadoutOptions,
) -> Result<Readout> {
    options.check()?;
    let alpha = options.alpha;
    let has_covariate = exposures.iter().any(|e| e.covariate.is_some());
    let has_segment = exposures.iter().any(|e| e.segment.is_some());
    // Rows with a usable outcome, in input order.
    let outcome_of = |e: &Exposure| e.outcome.or(options.missing_outcome_as_zero.then_some(0.0));
    let mut counts = [Arm::A, Arm::B].map(|arm| ArmCounts {
        arm,
        label: arm.name().into(),
        exposures: 0,
        with_outcome: 0,
        missing_outcome: 0,
        mean: f64::NAN,
    });
    let mut values: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut segment_counts: BTreeMap<&str, [u64; 2]> = BTreeMap::new();
    for e in exposures {
        let i = e.arm as usize;
        counts[i].exposures += 1;
        if e.outcome.is_none() {
            counts[i].missing_outcome += 1;
        }
        if let Some(y) = outcome_of(e) {
            counts[i].with_outcome += 1;
            values[i].push(y);
        }
        if let Some(s) = &e.segment {
            segment_counts.entry(s.as_str()).or_default()[i] += 1;
        }
    }
    for arm in [Arm::A, Arm::B] {
        let c = &counts[arm as usize];
        if c.exposures == 0 {
            return invalid(format!("arm {} has no rows", arm.name()));
        }
        if c.with_outcome == 0 {
            return invalid(format!(
                "arm {} has {} rows but no outcome values (all missing)",
                arm.name(),
                c.exposures
            ));
        }
    }
    for (i, v) in values.iter().enumerate() {
        counts[i].mean = Summary::of(v).mean;
    }
    let srm_all = srm(
        counts[0].exposures,
        counts[1].exposures,
        options.split_percent_b,
        options.srm_threshold,
    );
    let segments: Vec<SegmentSrm> = if has_segment {
        segment_counts
            .iter()
            .map(|(s, c)| SegmentSrm {
                segment: (*s).to_string(),
                srm: srm(c[0], c[1], options.split_percent_b, options.srm_threshold),
            })
            .collect()
    } else {
        Vec::new()
    };

    let (sa, sb) = (Summary::of(&values[0]), Summary::of(&values[1]));
    let (conversion, welch_test) = match kind {
        OutcomeKind::Conversion => {
            let conv = |v: &[f64]| v.iter().filter(|&&y| y == 1.0).count() as u64;
            let t = two_proportion(
                conv(&values[0]),
                sa.n,
                conv(&values[1]),
                sb.n,
                alpha,
                Alternative::TwoSided,
            );
            (Some(t), None)
        }
        OutcomeKind::Numeric => (None, Some(welch(&sa, &sb, alpha))),
    };

    // CUPED over the rows with an outcome; a missing covariate becomes the pooled mean.
    let mut covariate_missing = 0;
    let mut adjustment = None;
    let cuped_result = if has_covariate {
        let with_y: Vec<&Exposure> = exposures
            .iter()
            .filter(|e| outcome_of(e).is_some())
            .collect();
        let known: Vec<f64> = with_y.iter().filter_map(|e| e.covariate).collect();
        let mean_x = known.iter().sum::<f64>() / known.len().max(1) as f64;
        let mut ys: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut xs: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for e in with_y {
            let i = e.arm as usize;
            ys[i].push(outcome_of(e).unwrap_or_default());
            xs[i].push(e.covariate.unwrap_or_else(|| {
                covariate_missing += 1;
                mean_x
            }));
        }
        let c = cuped(&ys[0], &xs[0], &ys[1], &xs[1], alpha);
        adjustment = Some((c.theta, mean_x));
        Some(c)
    } else {
        None
    };

    // The primary test: CUPED's when there is a covariate, else the one the outcome takes.
    let (difference, ci, p_value, std_error) = match (&cuped_result, &conversion, &welch_test) {
        (Some(c), _, _) => (
            c.test.difference,
            c.test.ci,
            c.test.p_value,
            c.test.std_error,
        ),
        (None, Some(t), _) => (
            t.difference,
            t.ci,
            t.p_value,
            (t.ci[1] - t.ci[0]) / (2.0 * norm_isf(alpha / 2.0)),
        ),
        (None, None, Some(t)) => (t.difference, t.ci, t.p_value, t.std_error),
        (None, None, None) => {
            return Err(Error::Invalid(
                "no test fits the outcome (neither conversions nor numbers)".into(),
            ));
        }
    };
    let mean_a = counts[0].mean;
    let relative_lift = (mean_a != 0.0).then(|| difference / mean_a);
    // The minimum effect in outcome units: relative to A's mean, or a tenth of the pooled
    // standard deviation when A's mean is 0.
    let pooled: Vec<f64> = values[0].iter().chain(&values[1]).copied().collect();
    let min_effect = if mean_a != 0.0 {
        options.min_detectable_effect * mean_a.abs()
    } else {
        0.1 * Summary::of(&pooled).variance.sqrt()
    };
    let achieved_power = power(min_effect, std_error, alpha);

    let tau2 = options
        .tau2
        .unwrap_or_else(|| (min_effect * min_effect).max(f64::MIN_POSITIVE));
    // With a covariate the mSPRT watches the CUPED-adjusted outcomes (theta and the mean
    // from all rows), as the fixed-horizon test does; its variance is then the sample
    // variance of the adjusted values.
    let msprt = match adjustment {
        Some((theta, mean_x)) => {
            let adjusted = |e: &Exposure| {
                outcome_of(e).map(|y| y - theta * (e.covariate.unwrap_or(mean_x) - mean_x))
            };
            msprt_over_rows(
                exposures,
                &adjusted,
                OutcomeKind::Numeric,
                tau2,
                options.looks,
            )
        }
        None => msprt_over_rows(exposures, &outcome_of, kind, tau2, options.looks),
    };

    let (recommendation, reason) = decide(
        &srm_all,
        &segments,
        difference,
        ci,
        p_value,
        msprt.p_value,
        achieved_power,
        min_effect,
        options,
    );
    Ok(Readout {
        outcome_kind: kind,
        arms: counts,
        srm: srm_all,
        segments,
        conversion,
        welch: welch_test,
        cuped: cuped_result,
        covariate_missing,
        msprt,
        difference,
        ci,
        relative_lift,
        p_value,
        min_effect,
        power: achieved_power,
        recommendation,
        reason,
        options: options.clone(),
    })
}

/// The mSPRT over evenly spaced prefixes of the rows with an outcome, in input order.
fn msprt_over_rows(
    exposures: &[Exposure],
    outcome_of: &dyn Fn(&Exposure) -> Option<f64>,
    kind: OutcomeKind,
    tau2: f64,
    looks: usize,
) -> Msprt {
    let rows: Vec<(usize, f64)> = exposures
        .iter()
        .filter_map(|e| outcome_of(e).map(|y| (e.arm as usize, y)))
        .collect();
    let looks = looks.min(rows.len()).max(1);
    let mut m = Msprt::new(tau2);
    // Welford's running mean and sum of squared deviations per arm.
    let mut n = [0u64; 2];
    let mut mean = [0.0f64; 2];
    let mut m2 = [0.0f64; 2];
    let mut next_look = 1;
    for (k, (i, y)) in rows.iter().enumerate() {
        n[*i] += 1;
        let d = y - mean[*i];
        mean[*i] += d / n[*i] as f64;
        m2[*i] += d * (y - mean[*i]);
        // Look after row k when k + 1 reaches the next of `looks` evenly spaced ends.
        if (k + 1) * looks >= next_look * rows.len() {
            next_look += 1;
            if n[0] < 2 || n[1] < 2 {
                continue;
            }
            let var = |j: usize| match kind {
                OutcomeKind::Conversion => mean[j] * (1.0 - mean[j]),
                OutcomeKind::Numeric => m2[j] / (n[j] - 1) as f64,
            };
            let v = var(0) / n[0] as f64 + var(1) / n[1] as f64;
            m.look(mean[1] - mean[0], v);
        }
    }
    m
}

#[allow(clippy::too_many_arguments)]
fn decide(
    srm_all: &Srm,
    segments: &[SegmentSrm],
    difference: f64,
    ci: [f64; 2],
    p_value: f64,
    always_valid_p: f64,
    achieved_power: f64,
    min_effect: f64,
    o: &ReadoutOptions,
) -> (Recommendation, String) {
    if srm_all.alarm {
        return (
            Recommendation::StopSampleRatioMismatch,
            format!(
                "the arms hold {} and {} rows where a {}/{} split expects {:.0} and {:.0} (chi-square p = {:.2e} < {})",
                srm_all.observed[0],
                srm_all.observed[1],
                100.0 - o.split_percent_b,
                o.split_percent_b,
                srm_all.expected[0],
                srm_all.expected[1],
                srm_all.p_value,
                o.srm_threshold
            ),
        );
    }
    if let Some(s) = segments.iter().find(|s| s.srm.alarm) {
        return (
            Recommendation::StopSampleRatioMismatch,
            format!(
                "segment \"{}\" holds {} A and {} B rows (chi-square p = {:.2e} < {})",
                s.segment, s.srm.observed[0], s.srm.observed[1], s.srm.p_value, o.srm_threshold
            ),
        );
    }
    let fixed = p_value < o.alpha;
    let always = always_valid_p < o.alpha;
    if fixed && always && difference > 0.0 {
        return (
            Recommendation::ShipB,
            format!(
                "B − A = {difference:.4} (CI {:.4} to {:.4}), p = {p_value:.2e}, always-valid p = {always_valid_p:.2e}: B is better",
                ci[0], ci[1]
            ),
        );
    }
    if fixed && always && difference < 0.0 {
        return (
            Recommendation::KeepA,
            format!(
                "B − A = {difference:.4} (CI {:.4} to {:.4}), p = {p_value:.2e}, always-valid p = {always_valid_p:.2e}: B is worse",
                ci[0], ci[1]
            ),
        );
    }
    // A zero-width interval (every outcome equal in both arms, e.g. all converted) says
    // nothing about power: the Wald variance is 0, not small.
    let degenerate = ci[1] - ci[0] <= 0.0;
    if !fixed && !degenerate && achieved_power >= o.power && ci[1] < min_effect {
        return (
            Recommendation::KeepA,
            format!(
                "no significant difference (p = {p_value:.3}) and the test had {:.0} % power to see an effect of {min_effect:.4}; the CI's upper end {:.4} rules it out",
                100.0 * achieved_power,
                ci[1]
            ),
        );
    }
    let why = if degenerate {
        "the outcomes do not vary within the arms: the interval has no width and says nothing yet"
            .to_string()
    } else if fixed {
        format!(
            "p = {p_value:.2e} but the always-valid p-value is {always_valid_p:.3}: not yet safe under repeated looks"
        )
    } else if achieved_power.is_nan() {
        format!("p = {p_value:.3}; power cannot be computed yet")
    } else {
        format!(
            "no significant difference (p = {p_value:.3}) and only {:.0} % power to see an effect of {min_effect:.4}",
            100.0 * achieved_power
        )
    };
    (Recommendation::KeepCollecting, why)
}
