//! Finding the best split of a leaf on one feature from its histogram (LightGBM's
//! `FeatureHistogram::FindBestThreshold*`).

use super::binning::{BinMapper, BinnedData};
use super::hist::HistBin;

/// Sums over a leaf's (or a split side's) rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sums {
    /// Sum of gradients.
    pub g: f64,
    /// Sum of hessians.
    pub h: f64,
    /// Number of rows (estimated from the hessian for a split side, exact for a leaf).
    pub n: u32,
}

impl Sums {
    fn sub(self, o: Sums) -> Sums {
        Sums {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n.saturating_sub(o.n),
        }
    }

    fn add_bin(self, b: HistBin, n: u32) -> Sums {
        Sums {
            g: self.g + b.g,
            h: self.h + b.h,
            n: self.n + n,
        }
    }
}

/// Estimated rows per unit of hessian in a leaf (LightGBM's `cnt_factor`).
#[inline]
fn count_factor(total: Sums) -> f64 {
    if total.h > 0.0 {
        f64::from(total.n) / total.h
    } else {
        0.0
    }
}

/// Estimated rows in a bin.
#[inline(always)]
fn bin_count(b: HistBin, factor: f64) -> u32 {
    // LightGBM's RoundInt; `as` saturates a slightly negative value to 0.
    (b.h * factor + 0.5) as u32
}

/// Added to hessian sums so that an empty-hessian side does not divide by zero.
const EPS: f64 = 1e-15;

/// The split-finding hyperparameters.
#[derive(Debug, Clone)]
pub(crate) struct SplitParams {
    pub min_data_in_leaf: u32,
    pub min_sum_hessian_in_leaf: f64,
    pub lambda_l2: f64,
    pub min_gain_to_split: f64,
    pub cat_smooth: f64,
    pub cat_l2: f64,
    pub max_cat_threshold: usize,
    pub min_data_per_group: u32,
    pub max_cat_to_onehot: usize,
}

/// What the split finder needs to know about a feature.
#[derive(Debug, Clone)]
pub(crate) struct FeatInfo {
    /// Bins, including the NaN / other bin.
    pub n_bins: usize,
    /// The NaN bin of a numeric feature that has one; the "other" bin of a categorical one.
    pub nan_bin: Option<usize>,
    /// Categorical feature.
    pub categorical: bool,
    /// The bin 0.0 falls in (where NaN goes on a numeric feature without NaN in training).
    pub zero_bin: usize,
    /// Whether bin 0 is the feature's most frequent bin by LightGBM's rule, which keeps such a
    /// bin out of its histograms and so counts its rows as the leaf's rows less the others'.
    /// Only the NaN-right scan of a numeric feature with a NaN bin reads it; `false` elsewhere.
    pub bin0_implicit: bool,
}

impl FeatInfo {
    /// Every feature's facts.
    pub(crate) fn all(data: &BinnedData) -> Vec<FeatInfo> {
        (0..data.n_features)
            .map(|j| FeatInfo::new(&data.mappers[j], data.col(j)))
            .collect()
    }

    /// The feature's facts from its mapper and its binned training column.
    pub(crate) fn new(m: &BinMapper, bins: &[u8]) -> FeatInfo {
        let zero_bin = m.bin(0.0) as usize;
        let (categorical, nan_bin) = (m.is_categorical(), m.nan_bin());
        FeatInfo {
            n_bins: m.n_bins(),
            nan_bin,
            categorical,
            zero_bin,
            // Counting the column's bins is a pass over every training value: only where used.
            bin0_implicit: !categorical
                && nan_bin.is_some()
                && most_frequent_bin(bins, m.n_bins(), zero_bin) == 0,
        }
    }
}

/// LightGBM's most frequent bin of a feature: the bin with the most rows (the first of
/// several), unless it holds under 70% of them and is not the bin of 0.0, when the bin of 0.0
/// is taken instead (`BinMapper::FindBin`, `kSparseThreshold`). LightGBM counts the rows of
/// its binning sample; this counts every training row, the same when there are at most
/// [`super::binning::SAMPLE_ROWS`].
fn most_frequent_bin(bins: &[u8], n_bins: usize, zero_bin: usize) -> usize {
    let mut counts = vec![0usize; n_bins.max(1)];
    for &b in bins {
        counts[b as usize] += 1;
    }
    let (mut most, mut max) = (0, counts[0]);
    for (b, &c) in counts.iter().enumerate().skip(1) {
        if c > max {
            (most, max) = (b, c);
        }
    }
    if most != zero_bin && (max as f64) < 0.7 * bins.len() as f64 {
        zero_bin
    } else {
        most
    }
}

/// How a split sends rows left.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SplitRule {
    /// Bins `<= threshold` go left; NaN goes left when `default_left`.
    Numeric {
        /// Last bin that goes left.
        threshold: u8,
        /// Where NaN goes.
        default_left: bool,
    },
    /// These category bins go left, every other one right.
    Categorical {
        /// Left bins, ascending.
        left_bins: Vec<u8>,
    },
}

/// A candidate split of a leaf.
#[derive(Debug, Clone)]
pub(crate) struct Split {
    /// Feature column.
    pub feature: usize,
    /// Gain over not splitting (minus `min_gain_to_split`); positive.
    pub gain: f64,
    /// The rule.
    pub rule: SplitRule,
    /// Sums of the left child.
    pub left: Sums,
    /// Sums of the right child.
    pub right: Sums,
    /// Output of the left child (before shrinkage).
    pub left_value: f64,
    /// Output of the right child (before shrinkage).
    pub right_value: f64,
}

impl Split {
    /// Whether `self` beats `other` (higher gain; ties go to the lower feature).
    pub(crate) fn better_than(&self, other: &Split) -> bool {
        self.gain > other.gain || (self.gain == other.gain && self.feature < other.feature)
    }

    /// For every bin, whether a row in that bin goes left.
    pub(crate) fn go_left_table(&self, info: &FeatInfo) -> [bool; 256] {
        let mut t = [false; 256];
        match &self.rule {
            SplitRule::Numeric {
                threshold,
                default_left,
            } => {
                for v in t.iter_mut().take(*threshold as usize + 1) {
                    *v = true;
                }
                if let (Some(nb), false) = (info.nan_bin, info.categorical) {
                    t[nb] = *default_left;
                }
            }
            SplitRule::Categorical { left_bins } => {
                for &b in left_bins {
                    t[b as usize] = true;
                }
            }
        }
        t
    }
}

/// `G² / (H + λ)`.
#[inline(always)]
fn leaf_gain(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2 + EPS)
}

/// The gain of a split with sides `(lg, lh)` and `(rg, rh)` when it beats `best`.
///
/// `lg²/a + rg²/b > best` is tested as `lg²·b + rg²·a > best·a·b` (a, b > 0): no division for
/// the many candidates that lose; a winner's gain is then computed and checked as usual.
#[inline(always)]
fn gain_if_better(lg: f64, lh: f64, rg: f64, rh: f64, l2: f64, best: f64) -> Option<f64> {
    let a = lh + l2 + EPS;
    let b = rh + l2 + EPS;
    if lg * lg * b + rg * rg * a > best * (a * b) {
        let gain = leaf_gain(lg, lh, l2) + leaf_gain(rg, rh, l2);
        if gain > best {
            return Some(gain);
        }
    }
    None
}

/// The output of a leaf, `-G / (H + λ)`.
#[inline(always)]
pub(crate) fn leaf_output(g: f64, h: f64, l2: f64) -> f64 {
    -g / (h + l2 + EPS)
}

/// Best split of a leaf with sums `total` on feature `feature`, whose histogram is `hist`.
pub(crate) fn best_split(
    feature: usize,
    hist: &[HistBin],
    total: Sums,
    info: &FeatInfo,
    p: &SplitParams,
) -> Option<Split> {
    if info.categorical {
        best_categorical(feature, hist, total, info, p)
    } else {
        best_numeric(feature, hist, total, info, p)
    }
}

fn best_numeric(
    feature: usize,
    hist: &[HistBin],
    total: Sums,
    info: &FeatInfo,
    p: &SplitParams,
) -> Option<Split> {
    let n_value_bins = info.n_bins - usize::from(info.nan_bin.is_some());
    if n_value_bins < 2 {
        return None;
    }
    // LightGBM's arithmetic, step for step, so that splits whose gains tie in exact
    // arithmetic (two features cutting the same rows, say) break the same way: the leaf's
    // hessian sum gets 2·EPS, the side that is summed starts at EPS and the other side is
    // the difference; gains are `g² / (h + λ)`.
    let l2 = p.lambda_l2;
    let sum_h = total.h + 2.0 * EPS;
    let min_shift = total.g * total.g / (sum_h + l2) + p.min_gain_to_split;
    let factor = if sum_h > 0.0 {
        f64::from(total.n) / sum_h
    } else {
        0.0
    };
    let mdl = p.min_data_in_leaf;
    let msh = p.min_sum_hessian_in_leaf;
    let has_nan_bin = info.nan_bin.is_some();
    let mut best_gain = min_shift;
    // (last bin that goes left, NaN goes left, left gradient, left hessian (with EPS), left rows)
    let mut best: Option<(usize, bool, f64, f64, u32)> = None;
    // The gain when it beats `best`. Most candidates lose by far: a test without division
    // rules them out, with slack so that a near tie still gets the exact comparison.
    let gain_if_above = |lg: f64, lh: f64, rg: f64, rh: f64, best: f64| {
        let (a, b) = (lh + l2, rh + l2);
        if lg * lg * b + rg * rg * a < best * (a * b) * (1.0 - 1e-9) {
            return None;
        }
        let gain = lg * lg / a + rg * rg / b;
        (gain > best).then_some(gain)
    };

    // LightGBM's scans, in its order and with its row counts: a side's rows are estimated
    // bin by bin from the hessian (`bin_count`) and the other side gets the rest of the leaf's
    // rows, so `min_data_in_leaf` is checked on the same estimates. Ties keep the first
    // candidate found.
    //
    // 1. From the highest value bin down: the right side is the value bins above `t`, the
    //    left side the rest (NaN included). Among thresholds that split the leaf's rows alike
    //    (empty bins between the sides) this keeps the highest, as LightGBM does.
    let (mut rg, mut rh, mut rn) = (0.0, EPS, 0u32);
    for t in (0..n_value_bins - 1).rev() {
        let b = hist[t + 1];
        if b.h == 0.0 && b.g == 0.0 {
            // Same split as threshold `t + 1`, already looked at.
            continue;
        }
        rg += b.g;
        rh += b.h;
        rn += bin_count(b, factor);
        if rn < mdl || rh < msh {
            continue;
        }
        let ln = total.n.saturating_sub(rn);
        let lh = sum_h - rh;
        if ln < mdl || lh < msh {
            break;
        }
        let lg = total.g - rg;
        if let Some(gain) = gain_if_above(lg, lh, rg, rh, best_gain) {
            best_gain = gain;
            // Without NaN in training, NaN is predicted where 0.0 goes.
            let default_left = has_nan_bin || info.zero_bin <= t;
            best = Some((t, default_left, lg, lh, ln));
        }
    }
    // 2. With NaN in training, from the lowest bin up with NaN on the right; it replaces the
    //    first scan's split only when strictly better. The left side's rows are the estimates
    //    of its bins, or, when LightGBM leaves bin 0 out of its histograms (its most frequent
    //    bin), the leaf's rows less the estimates of every other bin.
    if has_nan_bin {
        let (mut lg, mut lh, mut ln) = (0.0, EPS, 0u32);
        if info.bin0_implicit {
            // LightGBM starts from the whole leaf less every stored bin.
            (lg, lh, ln) = (total.g, sum_h - EPS, total.n);
            for &b in &hist[1..info.n_bins] {
                lg -= b.g;
                lh -= b.h;
                ln = ln.saturating_sub(bin_count(b, factor));
            }
        }
        for (t, &b) in hist[..n_value_bins].iter().enumerate() {
            if t > 0 || !info.bin0_implicit {
                lg += b.g;
                lh += b.h;
                ln += bin_count(b, factor);
            }
            if ln < mdl || lh < msh {
                continue;
            }
            let rh = sum_h - lh;
            if total.n.saturating_sub(ln) < mdl || rh < msh {
                break;
            }
            if let Some(gain) = gain_if_above(lg, lh, total.g - lg, rh, best_gain) {
                best_gain = gain;
                best = Some((t, false, lg, lh, ln));
            }
        }
    }
    let (t, default_left, lg, lh, ln) = best?;
    // The children's sums as LightGBM keeps them (EPS taken back off).
    let left = Sums {
        g: lg,
        h: lh - EPS,
        n: ln,
    };
    let right = Sums {
        g: total.g - lg,
        h: sum_h - lh - EPS,
        n: total.n.saturating_sub(ln),
    };
    Some(Split {
        feature,
        gain: best_gain - min_shift,
        rule: SplitRule::Numeric {
            threshold: t as u8,
            default_left,
        },
        left,
        right,
        left_value: -lg / (lh + l2),
        right_value: -right.g / (sum_h - lh + l2),
    })
}

fn best_categorical(
    feature: usize,
    hist: &[HistBin],
    total: Sums,
    info: &FeatInfo,
    p: &SplitParams,
) -> Option<Split> {
    let n_cat_bins = info.n_bins - 1;
    let mdl = p.min_data_in_leaf;
    let msh = p.min_sum_hessian_in_leaf;
    let min_shift = leaf_gain(total.g, total.h, p.lambda_l2) + p.min_gain_to_split;
    let mut best_gain = min_shift;
    let factor = count_factor(total);
    // LightGBM counts its NaN bin too (`num_bin <= max_cat_to_onehot`): with the default 4,
    // three categories are split one against the rest and four are searched many against many.
    if info.n_bins <= p.max_cat_to_onehot {
        // One category against the rest.
        let l2 = p.lambda_l2;
        let mut best: Option<(usize, Sums)> = None;
        for (b, &x) in hist[..n_cat_bins].iter().enumerate() {
            let l = Sums::default().add_bin(x, bin_count(x, factor));
            if l.n < mdl || l.h < msh {
                continue;
            }
            let r = total.sub(l);
            if r.n < mdl || r.h < msh {
                continue;
            }
            if let Some(gain) = gain_if_better(l.g, l.h, r.g, r.h, l2, best_gain) {
                best_gain = gain;
                best = Some((b, l));
            }
        }
        let (b, left) = best?;
        let right = total.sub(left);
        return Some(Split {
            feature,
            gain: best_gain - min_shift,
            rule: SplitRule::Categorical {
                left_bins: vec![b as u8],
            },
            left,
            right,
            left_value: leaf_output(left.g, left.h, l2),
            right_value: leaf_output(right.g, right.h, l2),
        });
    }
    // Many against many: categories sorted by their smoothed mean gradient, scanned from
    // both ends.
    let mut used: Vec<usize> = (0..n_cat_bins)
        .filter(|&b| {
            let n = bin_count(hist[b], factor);
            f64::from(n) >= p.cat_smooth && n > 0
        })
        .collect();
    if used.is_empty() {
        return None;
    }
    let ctr = |b: usize| hist[b].g / (hist[b].h + p.cat_smooth);
    used.sort_by(|&a, &b| ctr(a).total_cmp(&ctr(b)));
    let l2 = p.lambda_l2 + p.cat_l2;
    let max_num_cat = p.max_cat_threshold.min(used.len().div_ceil(2)).max(1);
    let n_used = used.len();
    let mut best: Option<(bool, usize, Sums)> = None;
    for reverse in [false, true] {
        let mut acc = Sums::default();
        let mut group = 0u32;
        for i in 0..n_used.min(max_num_cat) {
            let b = if reverse {
                used[n_used - 1 - i]
            } else {
                used[i]
            };
            let x = hist[b];
            let xn = bin_count(x, factor);
            acc = acc.add_bin(x, xn);
            group += xn;
            if acc.n < mdl || acc.h < msh {
                continue;
            }
            let r = total.sub(acc);
            if r.n < mdl || r.n < p.min_data_per_group || r.h < msh {
                break;
            }
            if group < p.min_data_per_group {
                continue;
            }
            group = 0;
            if let Some(gain) = gain_if_better(acc.g, acc.h, r.g, r.h, l2, best_gain) {
                best_gain = gain;
                best = Some((reverse, i, acc));
            }
        }
    }
    let (reverse, i, left) = best?;
    let mut left_bins: Vec<u8> = if reverse {
        used[n_used - 1 - i..].iter().map(|&b| b as u8).collect()
    } else {
        used[..=i].iter().map(|&b| b as u8).collect()
    };
    left_bins.sort_unstable();
    let right = total.sub(left);
    Some(Split {
        feature,
        gain: best_gain - min_shift,
        rule: SplitRule::Categorical { left_bins },
        left,
        right,
        left_value: leaf_output(left.g, left.h, l2),
        right_value: leaf_output(right.g, right.h, l2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SplitParams {
        SplitParams {
            min_data_in_leaf: 1,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            cat_smooth: 10.0,
            cat_l2: 10.0,
            max_cat_threshold: 32,
            min_data_per_group: 100,
            max_cat_to_onehot: 4,
        }
    }

    /// Bins 0-1 hold negative gradients, 2-4 are empty in the leaf, 5-7 hold positive ones:
    /// thresholds 1 to 4 split the leaf's rows alike, and LightGBM takes 4.
    #[test]
    fn a_gap_of_empty_bins_goes_left_like_lightgbm() {
        let bin = |g: f64| HistBin { g, h: 5.0 };
        let empty = HistBin { g: 0.0, h: 0.0 };
        let hist = [
            bin(-5.0),
            bin(-5.0),
            empty,
            empty,
            empty,
            bin(5.0),
            bin(5.0),
            bin(5.0),
        ];
        let total = Sums {
            g: 5.0,
            h: 25.0,
            n: 25,
        };
        let info = |zero_bin| FeatInfo {
            n_bins: 8,
            nan_bin: None,
            categorical: false,
            zero_bin,
            bin0_implicit: false,
        };
        for (zero_bin, left) in [(0, true), (6, false)] {
            let s = best_split(3, &hist, total, &info(zero_bin), &params()).unwrap();
            assert_eq!(
                s.rule,
                SplitRule::Numeric {
                    threshold: 4,
                    default_left: left
                }
            );
            assert_eq!((s.left.n, s.right.n), (10, 15));
        }
    }
}
