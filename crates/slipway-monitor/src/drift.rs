//! Comparing current data with a [`ReferenceSummary`]: one [`ColumnSample`] per column and
//! chunk, compared by [`compare_column`] into a [`FeatureDrift`]; [`decide`] then applies the
//! thresholds of [`DriftOptions`] across the features of a chunk (p-values corrected for the
//! number of tests).
//!
//! Default thresholds (effect sizes, so that a large sample does not flag every feature):
//!
//! | statistic | drifted when |
//! |---|---|
//! | `ks` | adjusted p-value < `alpha` **and** the KS statistic ≥ 0.1 |
//! | `chi2` | adjusted p-value < `alpha` **and** Cramér's V (`√(χ²/N)`) ≥ 0.1 |
//! | `psi` | PSI ≥ 0.2 |
//! | `wasserstein` | Wasserstein distance ÷ the reference's standard deviation ≥ 0.1 |
//! | `js` | Jensen–Shannon distance (base 2) ≥ 0.1 |
//! | `hellinger` | Hellinger distance ≥ 0.1 |
//! | `linf` | L-infinity distance ≥ 0.1 |
//!
//! A threshold given for `ks` or `chi2` replaces the effect-size floor (0 makes them pure
//! p-value tests). A column whose current chunk has fewer than `min_rows` values is
//! "small sample": its statistics are reported, never alarmed on. The missing rate is
//! compared on its own: a change of at least `missing_rate_change` (absolute) is drift.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::stats::{self, Ecdf, KsMethod};
use crate::summary::{ColumnKind, ColumnReference, OTHER_CATEGORY};

/// A drift statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// Two-sample Kolmogorov–Smirnov (numeric).
    Ks,
    /// Chi-square test of the 2×k table (categorical).
    Chi2,
    /// Population stability index (both).
    Psi,
    /// Wasserstein distance (numeric).
    Wasserstein,
    /// Jensen–Shannon distance, base 2 (both).
    Js,
    /// Hellinger distance (both).
    Hellinger,
    /// L-infinity distance (categorical).
    Linf,
}

impl Stat {
    /// Every statistic.
    pub const ALL: [Stat; 7] = [
        Stat::Ks,
        Stat::Chi2,
        Stat::Psi,
        Stat::Wasserstein,
        Stat::Js,
        Stat::Hellinger,
        Stat::Linf,
    ];

    /// Its name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Ks => "ks",
            Stat::Chi2 => "chi2",
            Stat::Psi => "psi",
            Stat::Wasserstein => "wasserstein",
            Stat::Js => "js",
            Stat::Hellinger => "hellinger",
            Stat::Linf => "linf",
        }
    }

    /// The statistic named `name`.
    pub fn parse(name: &str) -> Option<Stat> {
        Stat::ALL.into_iter().find(|s| s.name() == name.trim())
    }

    /// Whether it applies to columns of `kind`.
    pub fn applies_to(self, kind: ColumnKind) -> bool {
        match self {
            Stat::Ks | Stat::Wasserstein => kind == ColumnKind::Numeric,
            Stat::Chi2 | Stat::Linf => kind == ColumnKind::Categorical,
            Stat::Psi | Stat::Js | Stat::Hellinger => true,
        }
    }

    /// Whether drift is decided on a p-value (plus an effect-size floor).
    pub fn is_test(self) -> bool {
        matches!(self, Stat::Ks | Stat::Chi2)
    }

    /// The default threshold (see the module docs).
    pub fn default_threshold(self) -> f64 {
        match self {
            Stat::Psi => 0.2,
            _ => 0.1,
        }
    }
}

/// How p-values are adjusted for testing many features in one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Benjamini–Hochberg (false discovery rate).
    #[default]
    Bh,
    /// Bonferroni (family-wise error).
    Bonferroni,
    /// None.
    None,
}

/// Thresholds and choices of a drift run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftOptions {
    /// The statistics to compute (each where it applies).
    pub stats: Vec<Stat>,
    /// Per-statistic thresholds replacing [`Stat::default_threshold`].
    pub thresholds: BTreeMap<Stat, f64>,
    /// Significance level of the tests, after correction.
    pub alpha: f64,
    /// The correction across the chunk's tests.
    pub correction: Correction,
    /// Fewer current values than this in a column: "small sample", never drift.
    pub min_rows: u64,
    /// An absolute change of the missing rate at least this large is drift.
    pub missing_rate_change: f64,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            stats: Stat::ALL.to_vec(),
            thresholds: BTreeMap::new(),
            alpha: 0.05,
            correction: Correction::Bh,
            min_rows: 100,
            missing_rate_change: 0.05,
        }
    }
}

impl DriftOptions {
    /// The threshold in force for `stat`.
    pub fn threshold(&self, stat: Stat) -> f64 {
        self.thresholds
            .get(&stat)
            .copied()
            .unwrap_or(stat.default_threshold())
    }
}

/// A column's current values in one chunk.
#[derive(Debug, Clone, Default)]
pub struct ColumnSample {
    /// Rows seen.
    pub rows: u64,
    /// Missing values among them.
    pub missing: u64,
    /// Non-missing numeric values, in file order.
    pub values: Vec<f64>,
    /// Category counts.
    pub categories: HashMap<String, u64>,
}

/// One statistic of one column in one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatValue {
    /// Which.
    pub stat: Stat,
    /// Its value (`None`: not computable, see `reason`).
    pub value: Option<f64>,
    /// For tests: the p-value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// For tests: the p-value after the correction across the chunk's tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjusted_p_value: Option<f64>,
    /// For tests: the effect size compared with the threshold (KS: the statistic; chi2:
    /// Cramér's V). For Wasserstein: the distance ÷ the reference's standard deviation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<f64>,
    /// KS: how the p-value was computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<KsMethod>,
    /// The threshold applied.
    pub threshold: f64,
    /// Whether it signals drift.
    pub drifted: bool,
    /// Why there is no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One column's comparison in one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// The column.
    pub column: String,
    /// How it was compared.
    pub kind: ColumnKind,
    /// Non-missing current values.
    pub count: u64,
    /// Missing rate in the reference.
    pub reference_missing_rate: f64,
    /// Missing rate in the chunk.
    pub missing_rate: f64,
    /// Whether the missing rate changed by at least the threshold.
    pub missing_drifted: bool,
    /// Fewer values than `min_rows`: reported, never drift.
    pub small_sample: bool,
    /// The statistics.
    pub stats: Vec<StatValue>,
    /// Any statistic or the missing rate drifted (never for a small sample).
    pub drifted: bool,
    /// Current counts over the reference's histogram bins (numeric) or categories, for
    /// plots: numeric bins then one count of values outside them; categories sorted, the
    /// current-only ones last.
    pub histogram: Histogram,
}

/// Reference and current counts over the same bins or categories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Histogram {
    /// Numeric bin edges (empty for categories).
    pub edges: Vec<f64>,
    /// Category labels (empty for numeric).
    pub labels: Vec<String>,
    /// Reference counts.
    pub reference: Vec<u64>,
    /// Current counts (numeric: one more, the values outside the reference's range).
    pub current: Vec<u64>,
}

fn not_computable(stat: Stat, threshold: f64, reason: &str) -> StatValue {
    StatValue {
        stat,
        value: None,
        p_value: None,
        adjusted_p_value: None,
        effect: None,
        method: None,
        threshold,
        drifted: false,
        reason: Some(reason.to_string()),
    }
}

/// Jensen–Shannon distance (base 2) or Hellinger distance on NannyML's proportions of the
/// reference's bins (or categories) plus a leftover bin.
fn js_or_hellinger(
    stat: Stat,
    reference: &[u64],
    n_reference: u64,
    current: &[u64],
    n_current: u64,
) -> f64 {
    let (p, q) = stats::nannyml_proportions(reference, n_reference, current, n_current);
    if stat == Stat::Js {
        stats::js_distance(&p, &q, Some(2.0))
    } else {
        stats::hellinger(&p, &q)
    }
}

fn plain(stat: Stat, value: f64, threshold: f64) -> StatValue {
    StatValue {
        stat,
        value: Some(value),
        p_value: None,
        adjusted_p_value: None,
        effect: None,
        method: None,
        threshold,
        drifted: false,
        reason: None,
    }
}

/// Compares one column's chunk with its reference (decisions are left to [`decide`]).
/// `lumped`: the reference came from a profile, whose unlisted categories are one
/// [`OTHER_CATEGORY`]; current categories it does not list are counted there too.
pub fn compare_column(
    reference: &ColumnReference,
    sample: ColumnSample,
    opts: &DriftOptions,
    lumped: bool,
) -> FeatureDrift {
    let rate = |missing: u64, rows: u64| {
        if rows == 0 {
            0.0
        } else {
            missing as f64 / rows as f64
        }
    };
    let count = sample.rows - sample.missing;
    let stats_wanted: Vec<Stat> = opts
        .stats
        .iter()
        .copied()
        .filter(|s| s.applies_to(reference.kind))
        .collect();
    let mut out = FeatureDrift {
        column: reference.name.clone(),
        kind: reference.kind,
        count,
        reference_missing_rate: rate(reference.missing, reference.rows),
        missing_rate: rate(sample.missing, sample.rows),
        missing_drifted: false,
        small_sample: count < opts.min_rows,
        stats: Vec::new(),
        drifted: false,
        histogram: Histogram::default(),
    };
    let reason = if reference.count() == 0 {
        Some("the reference has no values in this column")
    } else if count == 0 {
        Some("this chunk has no values in this column")
    } else {
        None
    };
    if let Some(reason) = reason {
        out.stats = stats_wanted
            .iter()
            .map(|s| not_computable(*s, opts.threshold(*s), reason))
            .collect();
        return out;
    }
    match reference.kind {
        ColumnKind::Numeric => {
            let num = reference.numeric.as_ref().expect("values present");
            let ecdf = Ecdf::from_values(sample.values);
            let cur_bins = ecdf.histogram(&num.bin_edges);
            let inside: u64 = cur_bins.iter().sum();
            out.histogram = Histogram {
                edges: num.bin_edges.clone(),
                labels: Vec::new(),
                reference: num.bin_counts.clone(),
                current: cur_bins.iter().copied().chain([count - inside]).collect(),
            };
            for stat in stats_wanted {
                let t = opts.threshold(stat);
                let v = match stat {
                    Stat::Ks => match &num.ecdf {
                        Some(r) => {
                            let ks = stats::ks_2samp(r, &ecdf);
                            StatValue {
                                p_value: Some(ks.p_value),
                                effect: Some(ks.statistic),
                                method: Some(ks.method),
                                ..plain(stat, ks.statistic, t)
                            }
                        }
                        None => not_computable(stat, t, "needs the raw reference values"),
                    },
                    Stat::Wasserstein => match &num.ecdf {
                        Some(r) => {
                            let w = stats::wasserstein(r, &ecdf);
                            StatValue {
                                effect: (num.std > 0.0).then(|| w / num.std),
                                reason: (num.std == 0.0).then(|| {
                                    "the reference is constant: the distance cannot be normalized"
                                        .to_string()
                                }),
                                ..plain(stat, w, t)
                            }
                        }
                        None => not_computable(stat, t, "needs the raw reference values"),
                    },
                    Stat::Psi => match (&num.psi_edges, &num.psi_counts) {
                        (Some(edges), Some(counts)) => {
                            plain(stat, stats::psi(counts, &ecdf.cut_counts(edges)), t)
                        }
                        _ => {
                            // From a profile: the histogram bins, with the values outside
                            // them as one more bin.
                            let mut r = num.bin_counts.clone();
                            r.push(0);
                            plain(stat, stats::psi(&r, &out.histogram.current), t)
                        }
                    },
                    Stat::Js | Stat::Hellinger => {
                        let value = js_or_hellinger(
                            stat,
                            &num.bin_counts,
                            reference.count(),
                            &cur_bins,
                            count,
                        );
                        plain(stat, value, t)
                    }
                    Stat::Chi2 | Stat::Linf => unreachable!("numeric"),
                };
                out.stats.push(v);
            }
        }
        ColumnKind::Categorical => {
            let refc = reference.categories.as_ref().expect("values present");
            let known: HashMap<&str, usize> = refc
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.as_str(), i))
                .collect();
            let has_other = lumped && known.contains_key(OTHER_CATEGORY);
            let mut cur_on_ref = vec![0u64; refc.len()];
            let mut unseen: BTreeMap<String, u64> = BTreeMap::new();
            for (k, c) in &sample.categories {
                match known.get(k.as_str()) {
                    Some(&i) => cur_on_ref[i] += c,
                    None if has_other => cur_on_ref[known[OTHER_CATEGORY]] += c,
                    None => *unseen.entry(k.clone()).or_default() += c,
                }
            }
            let ref_counts: Vec<u64> = refc.iter().map(|(_, c)| *c).collect();
            // The union of categories: the reference's, then those only the chunk has.
            let mut union_ref: Vec<f64> = ref_counts.iter().map(|c| *c as f64).collect();
            let mut union_cur: Vec<f64> = cur_on_ref.iter().map(|c| *c as f64).collect();
            let mut labels: Vec<String> = refc.iter().map(|(k, _)| k.clone()).collect();
            for (k, c) in &unseen {
                union_ref.push(0.0);
                union_cur.push(*c as f64);
                labels.push(k.clone());
            }
            out.histogram = Histogram {
                edges: Vec::new(),
                labels,
                reference: union_ref.iter().map(|c| *c as u64).collect(),
                current: union_cur.iter().map(|c| *c as u64).collect(),
            };
            let nr = reference.count() as f64;
            let nc = count as f64;
            for stat in stats_wanted {
                let t = opts.threshold(stat);
                let v = match stat {
                    Stat::Chi2 => {
                        let r = stats::chi2_contingency(&union_ref, &union_cur);
                        let v = (r.statistic / (nr + nc)).sqrt();
                        StatValue {
                            p_value: Some(r.p_value),
                            effect: Some(v),
                            ..plain(stat, r.statistic, t)
                        }
                    }
                    Stat::Linf => {
                        let p: Vec<f64> = union_ref.iter().map(|c| c / nr).collect();
                        let q: Vec<f64> = union_cur.iter().map(|c| c / nc).collect();
                        plain(stat, stats::linf(&p, &q), t)
                    }
                    Stat::Psi => {
                        let r: Vec<u64> = union_ref.iter().map(|c| *c as u64).collect();
                        let c: Vec<u64> = union_cur.iter().map(|c| *c as u64).collect();
                        plain(stat, stats::psi(&r, &c), t)
                    }
                    Stat::Js | Stat::Hellinger => {
                        // NannyML: the reference's categories, the unseen ones as one
                        // leftover bin.
                        let value = js_or_hellinger(
                            stat,
                            &ref_counts,
                            reference.count(),
                            &cur_on_ref,
                            count,
                        );
                        plain(stat, value, t)
                    }
                    Stat::Ks | Stat::Wasserstein => unreachable!("categorical"),
                };
                out.stats.push(v);
            }
        }
    }
    out
}

/// Adjusts `p` (in any order) for `correction`: Bonferroni `min(1, p·m)`, Benjamini–Hochberg
/// the step-up adjusted p-values (as `statsmodels.stats.multitest.multipletests(method='fdr_bh')`).
pub fn adjust_p_values(p: &[f64], correction: Correction) -> Vec<f64> {
    let m = p.len() as f64;
    match correction {
        Correction::None => p.to_vec(),
        Correction::Bonferroni => p.iter().map(|x| (x * m).min(1.0)).collect(),
        Correction::Bh => {
            let mut order: Vec<usize> = (0..p.len()).collect();
            order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
            let mut out = vec![0.0; p.len()];
            let mut running = 1.0f64;
            for (rank, &i) in order.iter().enumerate().rev() {
                let adj = p[i] * m / (rank + 1) as f64;
                running = running.min(adj);
                out[i] = running.min(1.0);
            }
            out
        }
    }
}

/// Applies the thresholds to every feature of one chunk: corrects the chunk's p-values
/// together, then decides each statistic, each feature's missing rate and each feature.
pub fn decide(features: &mut [FeatureDrift], opts: &DriftOptions) {
    let mut slots = Vec::new();
    let mut ps = Vec::new();
    for (fi, f) in features.iter().enumerate() {
        for (si, s) in f.stats.iter().enumerate() {
            if let Some(p) = s.p_value {
                slots.push((fi, si));
                ps.push(p);
            }
        }
    }
    let adjusted = adjust_p_values(&ps, opts.correction);
    for ((fi, si), adj) in slots.into_iter().zip(adjusted) {
        features[fi].stats[si].adjusted_p_value = Some(adj);
    }
    for f in features.iter_mut() {
        f.missing_drifted =
            (f.missing_rate - f.reference_missing_rate).abs() >= opts.missing_rate_change;
        for s in &mut f.stats {
            s.drifted = match (s.stat, s.value) {
                (_, None) => false,
                (stat, Some(_)) if stat.is_test() => {
                    s.adjusted_p_value.is_some_and(|p| p < opts.alpha)
                        && s.effect.is_some_and(|e| e >= s.threshold)
                }
                (Stat::Wasserstein, Some(_)) => s.effect.is_some_and(|e| e >= s.threshold),
                (_, Some(v)) => v >= s.threshold,
            };
        }
        f.drifted = !f.small_sample && (f.missing_drifted || f.stats.iter().any(|s| s.drifted));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(stats: Vec<StatValue>, count: u64) -> FeatureDrift {
        FeatureDrift {
            column: "c".into(),
            kind: ColumnKind::Numeric,
            count,
            reference_missing_rate: 0.0,
            missing_rate: 0.0,
            missing_drifted: false,
            small_sample: count < 100,
            stats,
            drifted: false,
            histogram: Histogram::default(),
        }
    }

    fn ks(p: f64, d: f64, threshold: f64) -> StatValue {
        StatValue {
            p_value: Some(p),
            effect: Some(d),
            ..plain(Stat::Ks, d, threshold)
        }
    }

    #[test]
    fn tests_need_both_significance_and_effect_and_corrections_apply() {
        let opts = DriftOptions::default();
        // Significant but tiny (a million rows): not drift by default.
        let mut f = vec![feature(vec![ks(1e-30, 0.02, 0.1)], 1_000_000)];
        decide(&mut f, &opts);
        assert!(!f[0].drifted);
        // With the effect floor removed it is.
        let mut f = vec![feature(vec![ks(1e-30, 0.02, 0.0)], 1_000_000)];
        decide(&mut f, &opts);
        assert!(f[0].drifted);
        // p = 0.03 in each of two features: drift uncorrected, not after Bonferroni.
        let two = || {
            vec![
                feature(vec![ks(0.03, 0.5, 0.1)], 1000),
                feature(vec![ks(0.04, 0.5, 0.1)], 1000),
            ]
        };
        let mut f = two();
        decide(
            &mut f,
            &DriftOptions {
                correction: Correction::None,
                ..opts.clone()
            },
        );
        assert!(f.iter().all(|f| f.drifted));
        let mut f = two();
        decide(
            &mut f,
            &DriftOptions {
                correction: Correction::Bonferroni,
                ..opts.clone()
            },
        );
        assert!(f.iter().all(|f| !f.drifted));
        // Benjamini–Hochberg: 0.03·2/1 = 0.06 → min(0.06, 0.04) = 0.04 < 0.05: both drift.
        let mut f = two();
        decide(&mut f, &opts);
        assert!(f.iter().all(|f| f.drifted));
        // A small sample never drifts.
        let mut f = vec![feature(vec![ks(1e-9, 0.9, 0.1)], 20)];
        decide(&mut f, &opts);
        assert!(f[0].stats[0].drifted && !f[0].drifted);
    }
}
