//! Fairness metrics from streamed counts: [`FairnessAccumulator`] takes the rows a batch at a
//! time ([`Batch`]) and keeps only counts and sums, so the data never has to fit in memory;
//! [`FairnessAccumulator::finish`] turns them into the same [`FairnessReport`] that
//! [`evaluate`](super::evaluate) returns (which is itself one push and a finish).
//!
//! # What is kept
//!
//! Per attribute (each protected column, and the intersection when asked), per group:
//!
//! - the confusion counts and, with scores, Σ score, Σ (score − label)² and the 10
//!   calibration bins' (rows, Σ score, Σ label), summed in row order: the point figures;
//! - a *score tally*: a sorted map from each distinct score (with its calibration bin) to a
//!   cell holding, for each (label, prediction) pair, the number of rows and their Σ score
//!   and Σ score². The point ROC AUC is the Mann–Whitney statistic over the tally's tie
//!   blocks, equal to scikit-learn's trapezoidal AUC.
//!
//! The tally is bounded: past [`MAX_DISTINCT_SCORES`] cells in a group, its scores are
//! truncated to fewer mantissa bits (36, 24, 16, 12, 8, 6, 4, 2, 0: relative error below
//! 2^-bits) and the cells re-merged, as often as needed. Truncation keeps the order of
//! scores, so rows that stay apart are still ranked exactly; pairs of a positive and a
//! negative merged into one cell become ties, so the AUC moves by at most Σ_cells
//! positives × negatives / (2 · P · N), which the group's notes give. Below the cap the AUC
//! is exact. Truncating truncated scores gives what truncating once would, so the final
//! precision depends only on the set of scores, not on the order or batching of rows.
//!
//! # The bootstrap
//!
//! A Poisson bootstrap: in replicate `b` every row has weight Poisson(1), independently.
//! Every figure depends on a row only through its group, label, prediction and score, so
//! the rows of one tally cell are interchangeable, and the sum of the Poisson(1) weights of
//! `k` rows is Poisson(k). [`FairnessAccumulator::finish`] therefore draws one Poisson(k)
//! weight per (cell, label, prediction) from replicate `b`'s own ChaCha stream (seeded with
//! [`FairnessOptions::seed`]), which gives exactly the distribution of per-row weights
//! without visiting a row again: the replicate's confusion counts, its score sums and its
//! ROC AUC (over the same tally, so as exact as the point value) come from those weights.
//! The draws depend only on the final counts, so any batching and any number of threads
//! give bit-identical intervals. (A cell merged by truncation contributes its mean score
//! times its weight to a replicate's score sums; exact cells hold one score.)
//!
//! Unlike the multinomial bootstrap it replaces (rows resampled within each group), a
//! replicate's group sizes vary; a group that gets no weight in a replicate is absent from
//! it (its figures skip that replicate, and the summaries compare the groups present).
//!
//! # Memory
//!
//! Streaming holds O(attributes × groups × cells) with cells ≤ [`MAX_DISTINCT_SCORES`]
//! per group (each about 130 bytes with the map's overhead), independent of the number of
//! rows; `finish` adds O(replicates × groups × 11) figures for the percentiles and, per
//! thread, one replicate's O(groups) counts.

use std::collections::{BTreeMap, HashMap};

use rand::SeedableRng;
use rand::distr::Distribution;
use rand_chacha::ChaCha8Rng;
use rand_distr::Poisson;
use rayon::prelude::*;

use super::{
    CALIBRATION_BINS, Counts, Error, FIGURES, FairnessOptions, FairnessReport, GroupPoint,
    MISSING_GROUP, Result, ScoreSums, attribute_report, calibration_bin, group_figures, summaries,
};

/// Distinct scores a group's tally holds before its scores are truncated (see the module
/// docs): below it, ROC AUC and its intervals are exact.
pub const MAX_DISTINCT_SCORES: usize = 1 << 16;

/// Mantissa bits kept, in the order a tally that outgrows its cap falls through them.
const PRECISIONS: [u32; 10] = [52, 36, 24, 16, 12, 8, 6, 4, 2, 0];

/// One batch of rows: their outcomes, scores and protected values, and where they start in
/// the whole stream.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The global index of the batch's first row (0 for the first batch): batches must come
    /// in order, each starting where the previous one ended.
    pub offset: u64,
    /// Whether each row is the positive class.
    pub y_true: &'a [bool],
    /// Whether each row is predicted the positive class.
    pub y_pred: &'a [bool],
    /// Each row's positive-class score (every batch has scores, or none does).
    pub scores: Option<&'a [f64]>,
    /// Each protected column's values (`None`: missing), in the order of the columns given
    /// to [`FairnessAccumulator::new`].
    pub protected: &'a [&'a [Option<String>]],
}

/// The rows of one tally cell by (label, prediction): index `2 · label + prediction`.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    n: [u64; 4],
    /// Σ score of those rows.
    s: [f64; 4],
    /// Σ score² of those rows.
    s2: [f64; 4],
}

impl Cell {
    fn add(&mut self, other: &Cell) {
        for j in 0..4 {
            self.n[j] += other.n[j];
            self.s[j] += other.s[j];
            self.s2[j] += other.s2[j];
        }
    }
    fn positives(&self) -> u64 {
        self.n[2] + self.n[3]
    }
    fn negatives(&self) -> u64 {
        self.n[0] + self.n[1]
    }
}

/// A score truncated to `bits` mantissa bits (toward zero, so order is kept), `-0` as `0`.
fn truncate(score: f64, bits: u32) -> f64 {
    let s = if bits >= 52 {
        score
    } else {
        f64::from_bits(score.to_bits() & !((1u64 << (52 - bits)) - 1))
    };
    if s == 0.0 { 0.0 } else { s }
}

/// An integer that orders as `f64::total_cmp` does.
fn ordered(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// Tally key: the truncated score's order, then its calibration bin.
type Key = (i64, u8);

#[derive(Debug, Clone)]
struct GroupAcc {
    /// Value ids in each column of the attribute.
    ids: Vec<u32>,
    counts: [u64; 4],
    sums: ScoreSums,
    tally: BTreeMap<Key, Cell>,
    bits: u32,
}

impl GroupAcc {
    fn new(ids: Vec<u32>) -> Self {
        GroupAcc {
            ids,
            counts: [0; 4],
            sums: ScoreSums::default(),
            tally: BTreeMap::new(),
            bits: 52,
        }
    }

    fn push(&mut self, y: bool, p: bool, score: Option<f64>, cap: usize) {
        let j = 2 * usize::from(y) + usize::from(p);
        self.counts[j] += 1;
        let key = match score {
            Some(v) => {
                let yf = if y { 1.0 } else { 0.0 };
                self.sums.score += v;
                self.sums.brier += (v - yf) * (v - yf);
                let bin = calibration_bin(v);
                let b = &mut self.sums.bins[bin];
                b[0] += 1.0;
                b[1] += v;
                b[2] += yf;
                (ordered(truncate(v, self.bits)), bin as u8)
            }
            None => (0, 0),
        };
        let cell = self.tally.entry(key).or_default();
        let v = score.unwrap_or(0.0);
        cell.n[j] += 1;
        cell.s[j] += v;
        cell.s2[j] += v * v;
        if self.tally.len() > cap {
            self.coarsen(cap);
        }
    }

    /// Truncates the tally's scores to fewer bits until it holds at most `cap` cells (or
    /// no bits are left).
    fn coarsen(&mut self, cap: usize) {
        let from = self.bits;
        for &bits in PRECISIONS.iter().filter(|&&b| b < from) {
            let mut merged: BTreeMap<Key, Cell> = BTreeMap::new();
            for (&(k, bin), cell) in &self.tally {
                let score = f64::from_bits(unordered(k));
                merged
                    .entry((ordered(truncate(score, bits)), bin))
                    .or_default()
                    .add(cell);
            }
            self.tally = merged;
            self.bits = bits;
            if self.tally.len() <= cap {
                return;
            }
        }
    }

    /// Confusion counts as [`Counts`].
    fn point_counts(&self) -> Counts {
        let c = &self.counts;
        Counts {
            tn: c[0] as f64,
            fp: c[1] as f64,
            fn_: c[2] as f64,
            tp: c[3] as f64,
        }
    }

    /// The point ROC AUC over the tally and, for a truncated tally, the bound on its error.
    fn point_auc(&self) -> (Option<f64>, f64) {
        let (mut num, mut neg_below, mut tied) = (0.0, 0.0, 0.0);
        let (mut bp, mut bn) = (0.0, 0.0);
        let mut prev: Option<i64> = None;
        for (&(k, _), cell) in &self.tally {
            if prev != Some(k) {
                num += bp * (neg_below + 0.5 * bn);
                tied += bp * bn;
                neg_below += bn;
                bp = 0.0;
                bn = 0.0;
                prev = Some(k);
            }
            bp += cell.positives() as f64;
            bn += cell.negatives() as f64;
        }
        num += bp * (neg_below + 0.5 * bn);
        tied += bp * bn;
        let c = self.point_counts();
        let (p, q) = (c.tp + c.fn_, c.fp + c.tn);
        if p > 0.0 && q > 0.0 {
            (Some(num / (p * q)), tied / (2.0 * p * q))
        } else {
            (None, 0.0)
        }
    }
}

/// The inverse of [`ordered`].
fn unordered(k: i64) -> u64 {
    (k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64
}

#[derive(Debug, Clone)]
struct AttributeAcc {
    /// The columns it combines (indices into the accumulator's columns).
    cols: Vec<usize>,
    index: HashMap<Vec<u32>, usize>,
    groups: Vec<GroupAcc>,
}

/// Fairness metrics accumulated over a stream of batches; see the module docs.
#[derive(Debug, Clone)]
pub struct FairnessAccumulator {
    columns: Vec<String>,
    opts: FairnessOptions,
    cap: usize,
    rows: u64,
    scored: Option<bool>,
    /// Every score so far lies in [0, 1].
    probabilities: bool,
    /// Per column: value → id, and the values by id.
    ids: Vec<HashMap<String, u32>>,
    names: Vec<Vec<String>>,
    attributes: Vec<AttributeAcc>,
    key: Vec<u32>,
}

impl FairnessAccumulator {
    /// An accumulator for the protected `columns` (one attribute each, and their
    /// intersection when `opts.intersect` and there are several).
    pub fn new(columns: &[&str], opts: &FairnessOptions) -> Result<Self> {
        if columns.is_empty() {
            return Err(Error("no protected attribute column given".into()));
        }
        if !(opts.confidence > 0.0 && opts.confidence < 1.0) {
            return Err(Error(format!(
                "confidence {} must lie strictly between 0 and 1",
                opts.confidence
            )));
        }
        let mut sets: Vec<Vec<usize>> = (0..columns.len()).map(|c| vec![c]).collect();
        if opts.intersect && columns.len() > 1 {
            sets.push((0..columns.len()).collect());
        }
        Ok(FairnessAccumulator {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            opts: opts.clone(),
            cap: MAX_DISTINCT_SCORES,
            rows: 0,
            scored: None,
            probabilities: true,
            ids: vec![HashMap::new(); columns.len()],
            names: vec![Vec::new(); columns.len()],
            attributes: sets
                .into_iter()
                .map(|cols| AttributeAcc {
                    cols,
                    index: HashMap::new(),
                    groups: Vec::new(),
                })
                .collect(),
            key: Vec::new(),
        })
    }

    /// The same accumulator with another cap on a group's distinct scores (at least 1;
    /// [`MAX_DISTINCT_SCORES`] by default). A smaller cap bounds memory further at the
    /// cost of ROC AUC precision; the report says by how much.
    pub fn with_max_distinct_scores(mut self, cap: usize) -> Self {
        self.cap = cap.max(1);
        self
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds a batch of rows. Errors name the input whose length or value is wrong (rows
    /// numbered from 1 over the whole stream); a failed push adds nothing.
    pub fn push(&mut self, batch: &Batch<'_>) -> Result<()> {
        let n = batch.y_true.len();
        if batch.offset != self.rows {
            return Err(Error(format!(
                "a batch starting at row {} follows {} rows: batches must come in order",
                batch.offset + 1,
                self.rows
            )));
        }
        if batch.y_pred.len() != n {
            return Err(Error(format!(
                "{} predictions for {n} labels: one prediction per row is needed",
                batch.y_pred.len()
            )));
        }
        if let Some(s) = batch.scores {
            if s.len() != n {
                return Err(Error(format!(
                    "{} scores for {n} labels: one score per row is needed",
                    s.len()
                )));
            }
            if let Some(i) = s.iter().position(|v| !v.is_finite()) {
                return Err(Error(format!(
                    "score of row {} is {}: scores must be finite numbers",
                    batch.offset + i as u64 + 1,
                    s[i]
                )));
            }
        }
        if batch.protected.len() != self.columns.len() {
            return Err(Error(format!(
                "{} protected columns in a batch for {} declared ({})",
                batch.protected.len(),
                self.columns.len(),
                self.columns.join(", ")
            )));
        }
        for (name, values) in self.columns.iter().zip(batch.protected) {
            if values.len() != n {
                return Err(Error(format!(
                    "protected column \"{name}\" has {} values for {n} rows",
                    values.len()
                )));
            }
        }
        if n == 0 {
            return Ok(());
        }
        match self.scored {
            None => self.scored = Some(batch.scores.is_some()),
            Some(had) if had != batch.scores.is_some() => {
                return Err(Error(format!(
                    "the batch starting at row {} {} scores where the rows before it {}: every batch has scores or none does",
                    batch.offset + 1,
                    if had { "has no" } else { "has" },
                    if had { "had them" } else { "had none" }
                )));
            }
            Some(_) => {}
        }
        if let Some(s) = batch.scores {
            self.probabilities &= s.iter().all(|v| (0.0..=1.0).contains(v));
        }
        let cap = self.cap;
        let mut row_ids = vec![0u32; self.columns.len()];
        for i in 0..n {
            for (c, values) in batch.protected.iter().enumerate() {
                let v = values[i].as_deref().unwrap_or(MISSING_GROUP);
                row_ids[c] = match self.ids[c].get(v) {
                    Some(&id) => id,
                    None => {
                        let id = self.names[c].len() as u32;
                        self.ids[c].insert(v.to_string(), id);
                        self.names[c].push(v.to_string());
                        id
                    }
                };
            }
            let (y, p) = (batch.y_true[i], batch.y_pred[i]);
            let s = batch.scores.map(|s| s[i]);
            for a in &mut self.attributes {
                self.key.clear();
                self.key.extend(a.cols.iter().map(|&c| row_ids[c]));
                let g = match a.index.get(self.key.as_slice()) {
                    Some(&g) => g,
                    None => {
                        a.index.insert(self.key.clone(), a.groups.len());
                        a.groups.push(GroupAcc::new(self.key.clone()));
                        a.groups.len() - 1
                    }
                };
                a.groups[g].push(y, p, s, cap);
            }
        }
        self.rows += n as u64;
        Ok(())
    }

    /// The report of every row pushed.
    pub fn finish(mut self) -> Result<FairnessReport> {
        if self.rows == 0 {
            return Err(Error("no rows to evaluate".into()));
        }
        let scored = self.scored == Some(true);
        let probabilities = scored && self.probabilities;
        let names = std::mem::take(&mut self.names);
        // Groups in order of their values' names.
        for a in &mut self.attributes {
            a.groups.sort_by(|x, y| {
                let nx = x
                    .ids
                    .iter()
                    .zip(&a.cols)
                    .map(|(&i, &c)| &names[c][i as usize]);
                let ny = y
                    .ids
                    .iter()
                    .zip(&a.cols)
                    .map(|(&i, &c)| &names[c][i as usize]);
                nx.cmp(ny)
            });
        }
        let opts = &self.opts;
        // Replicate b: one Poisson(k) weight per (cell, label, prediction), drawn in order
        // from stream b.
        let boots: Vec<Vec<Vec<[f64; FIGURES]>>> = (0..opts.bootstrap)
            .into_par_iter()
            .map(|b| {
                let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
                rng.set_stream(b as u64);
                self.attributes
                    .iter()
                    .map(|a| {
                        a.groups
                            .iter()
                            .map(|g| replicate(g, &mut rng, scored, probabilities))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let attributes = self
            .attributes
            .iter()
            .enumerate()
            .map(|(ai, a)| {
                let points: Vec<GroupPoint> = a
                    .groups
                    .iter()
                    .map(|g| {
                        let counts = g.point_counts();
                        let (auc, bound) = if scored { g.point_auc() } else { (None, 0.0) };
                        let mut notes = Vec::new();
                        if g.bits < 52 {
                            notes.push(format!(
                                "more than {} distinct scores: scores truncated to {} mantissa bits (relative error below 2^-{}), so ROC AUC is within {:.2e} of its exact value",
                                self.cap, g.bits, g.bits, bound
                            ));
                        }
                        GroupPoint {
                            values: g
                                .ids
                                .iter()
                                .zip(&a.cols)
                                .map(|(&i, &c)| names[c][i as usize].clone())
                                .collect(),
                            count: (counts.n()) as usize,
                            figures: group_figures(&counts, auc, &g.sums, probabilities),
                            counts,
                            notes,
                        }
                    })
                    .collect();
                let point_sum = summaries(&points.iter().map(|p| p.figures).collect::<Vec<_>>());
                let reps: Vec<(Vec<[f64; FIGURES]>, [f64; 5])> = boots
                    .iter()
                    .map(|r| {
                        let figs = r[ai].clone();
                        let s = summaries(&figs);
                        (figs, s)
                    })
                    .collect();
                let columns: Vec<String> =
                    a.cols.iter().map(|&c| self.columns[c].clone()).collect();
                attribute_report(
                    columns,
                    points,
                    point_sum,
                    &reps,
                    opts,
                    scored,
                    probabilities,
                )
            })
            .collect::<Vec<_>>();
        Ok(FairnessReport {
            rows: self.rows as usize,
            has_scores: scored,
            options: self.opts.clone(),
            passed: attributes.iter().all(|a| a.passed),
            attributes,
        })
    }
}

/// One Poisson draw of mean `k` (k ≥ 1).
fn poisson(k: u64, rng: &mut ChaCha8Rng) -> f64 {
    match Poisson::new(k as f64) {
        Ok(d) => d.sample(rng),
        // Means beyond rand_distr's range (2^64-ish) cannot occur for counts of rows held
        // in memory; keep the mean rather than fail.
        Err(_) => k as f64,
    }
}

/// A group's figures in one replicate (every figure NaN when the group drew no weight).
fn replicate(
    g: &GroupAcc,
    rng: &mut ChaCha8Rng,
    scored: bool,
    probabilities: bool,
) -> [f64; FIGURES] {
    let mut w = [0.0f64; 4];
    let mut sums = ScoreSums::default();
    let (mut num, mut neg_below) = (0.0, 0.0);
    let (mut bp, mut bn) = (0.0, 0.0);
    let mut prev: Option<i64> = None;
    for (&(k, bin), cell) in &g.tally {
        if prev != Some(k) {
            num += bp * (neg_below + 0.5 * bn);
            neg_below += bn;
            bp = 0.0;
            bn = 0.0;
            prev = Some(k);
        }
        for (j, (&n, wj)) in cell.n.iter().zip(&mut w).enumerate() {
            if n == 0 {
                continue;
            }
            let wt = poisson(n, rng);
            if wt == 0.0 {
                continue;
            }
            *wj += wt;
            let y = if j >= 2 { 1.0 } else { 0.0 };
            if j >= 2 {
                bp += wt;
            } else {
                bn += wt;
            }
            if scored {
                let per = wt / n as f64;
                sums.score += per * cell.s[j];
                sums.brier += per * (cell.s2[j] - 2.0 * y * cell.s[j] + y * n as f64);
                let b = &mut sums.bins[usize::from(bin).min(CALIBRATION_BINS - 1)];
                b[0] += wt;
                b[1] += per * cell.s[j];
                b[2] += wt * y;
            }
        }
    }
    num += bp * (neg_below + 0.5 * bn);
    let c = Counts {
        tn: w[0],
        fp: w[1],
        fn_: w[2],
        tp: w[3],
    };
    if c.n() == 0.0 {
        return [f64::NAN; FIGURES];
    }
    let (p, q) = (c.tp + c.fn_, c.fp + c.tn);
    let auc = (scored && p > 0.0 && q > 0.0).then(|| num / (p * q));
    group_figures(&c, auc, &sums, probabilities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_order_and_composes() {
        let xs = [
            -3.5,
            -1e-9,
            -0.0,
            0.0,
            1e-300,
            0.1,
            0.1 + 1e-12,
            0.5,
            0.99,
            7.0,
        ];
        for bits in PRECISIONS {
            for w in xs.windows(2) {
                assert!(ordered(truncate(w[0], bits)) <= ordered(truncate(w[1], bits)));
            }
            for &x in &xs {
                assert_eq!(ordered(x), ordered(f64::from_bits(unordered(ordered(x)))));
                for &fewer in PRECISIONS.iter().filter(|&&b| b < bits) {
                    assert_eq!(
                        truncate(truncate(x, bits), fewer).to_bits(),
                        truncate(x, fewer).to_bits()
                    );
                }
            }
        }
        assert_eq!(truncate(-0.0, 52).to_bits(), 0.0f64.to_bits());
    }
}
