//! Finding the best split of a leaf on one feature from its histogram (LightGBM's
//! `FeatureHistogram::FindBestThreshold*`).

use super::binning::BinMapper;
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
}

impl FeatInfo {
    pub(crate) fn new(m: &BinMapper) -> FeatInfo {
        FeatInfo {
            n_bins: m.n_bins(),
            nan_bin: m.nan_bin(),
            categorical: m.is_categorical(),
            zero_bin: m.bin(0.0) as usize,
        }
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
    let l2 = p.lambda_l2;
    let min_shift = leaf_gain(total.g, total.h, l2) + p.min_gain_to_split;
    let factor = count_factor(total);
    let (n_value_bins, nan) = match info.nan_bin {
        Some(b) => (info.n_bins - 1, hist[b]),
        None => (info.n_bins, HistBin::default()),
    };
    let nan_n = bin_count(nan, factor);
    if n_value_bins < 2 {
        return None;
    }
    let mdl = p.min_data_in_leaf;
    let msh = p.min_sum_hessian_in_leaf;
    let mut best_gain = min_shift;
    let mut best: Option<(usize, bool, Sums)> = None;
    let mut eval = |l: Sums, t: usize, default_left: bool| {
        if l.n < mdl || l.h < msh {
            return;
        }
        let rh = total.h - l.h;
        if total.n.saturating_sub(l.n) < mdl || rh < msh {
            return;
        }
        if let Some(gain) = gain_if_better(l.g, l.h, total.g - l.g, rh, l2, best_gain) {
            best_gain = gain;
            best = Some((t, default_left, l));
        }
    };
    let mut acc = Sums::default();
    let has_nan_bin = info.nan_bin.is_some();
    let nan_nonempty = nan.h != 0.0 || nan.g != 0.0;
    for (t, &b) in hist[..n_value_bins - 1].iter().enumerate() {
        if b.h == 0.0 && b.g == 0.0 {
            // Same split as the previous threshold.
            continue;
        }
        acc = acc.add_bin(b, bin_count(b, factor));
        if nan_nonempty {
            eval(acc, t, false);
            eval(acc.add_bin(nan, nan_n), t, true);
        } else {
            // No NaN here: send it where LightGBM would (left, or where 0 goes).
            let dl = if has_nan_bin {
                true
            } else {
                info.zero_bin <= t
            };
            eval(acc, t, dl);
        }
        if total.n.saturating_sub(acc.n) < mdl {
            break;
        }
    }
    let (mut t, mut default_left, left) = best?;
    if !has_nan_bin {
        // Bins empty in this leaf between the two sides give every threshold in the gap the
        // same gain. LightGBM (one reverse scan for a feature without NaN, keeping the first
        // best) takes the highest: just below the right side's smallest bin. Taking it too
        // changes no training row's side, only where unseen values in the gap go.
        if let Some(next) = hist[t + 1..n_value_bins]
            .iter()
            .position(|b| b.h != 0.0 || b.g != 0.0)
        {
            t += next;
            default_left = info.zero_bin <= t;
        }
    }
    let right = total.sub(left);
    Some(Split {
        feature,
        gain: best_gain - min_shift,
        rule: SplitRule::Numeric {
            threshold: t as u8,
            default_left,
        },
        left,
        right,
        left_value: leaf_output(left.g, left.h, l2),
        right_value: leaf_output(right.g, right.h, l2),
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
    if n_cat_bins <= p.max_cat_to_onehot {
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
