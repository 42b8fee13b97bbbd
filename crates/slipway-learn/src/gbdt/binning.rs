//! Feature binning, as LightGBM does it.
//!
//! Numeric features get at most `max_bin` bins whose upper bounds come from LightGBM's greedy
//! quantile binning (`GreedyFindBin`, with zero in a bin of its own) over a seeded sample of at
//! most [`SAMPLE_ROWS`] rows. A feature with NaN in the training data gets one more bin, the
//! last, for NaN. Categorical features get one bin per category seen in the sample (the 254
//! most frequent ones when there are more) plus a last "other" bin for NaN, unseen and
//! out-of-range codes; the other bin never goes left of a split.
//!
//! The binned data is kept twice, as `u8`: row-major (histogram construction reads a row's
//! bins at once) and column-major (partitioning a leaf reads one feature).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::{FeatureKind, FeatureMeta, Matrix};

/// Rows sampled to find the bin bounds (LightGBM's `bin_construct_sample_cnt`).
pub(crate) const SAMPLE_ROWS: usize = 200_000;
/// LightGBM's `min_data_in_bin`.
const MIN_DATA_IN_BIN: usize = 3;
/// LightGBM's `kZeroThreshold`: values within it of zero are zero.
const ZERO_THRESHOLD: f64 = 1e-35;
/// Most categories one feature can have bins for (plus the "other" bin: 255 bins).
const MAX_CATEGORY_BINS: usize = 254;

/// How one feature's values map to bins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BinMapper {
    /// Value bin `i` holds `upper[i-1] < v <= upper[i]`; the last upper bound is `+inf`.
    Numeric {
        /// Upper bound of each value bin.
        upper: Vec<f64>,
        /// Whether NaN was seen in training; its bin is then `upper.len()`.
        has_nan: bool,
    },
    /// Bin `i < bin_to_cat.len()` holds category `bin_to_cat[i]`; the last bin holds the rest.
    Categorical {
        /// Bin of each category code (`other_bin` for categories without their own bin).
        cat_to_bin: Vec<u8>,
        /// Category code of each category bin, ascending.
        bin_to_cat: Vec<u32>,
    },
}

impl BinMapper {
    /// Total number of bins, including the NaN / other bin.
    pub(crate) fn n_bins(&self) -> usize {
        match self {
            BinMapper::Numeric { upper, has_nan } => upper.len() + usize::from(*has_nan),
            BinMapper::Categorical { bin_to_cat, .. } => bin_to_cat.len() + 1,
        }
    }

    /// The bin NaN falls in, if it has one of its own.
    pub(crate) fn nan_bin(&self) -> Option<usize> {
        match self {
            BinMapper::Numeric { upper, has_nan } => has_nan.then_some(upper.len()),
            BinMapper::Categorical { bin_to_cat, .. } => Some(bin_to_cat.len()),
        }
    }

    /// Whether this is a categorical feature.
    pub(crate) fn is_categorical(&self) -> bool {
        matches!(self, BinMapper::Categorical { .. })
    }

    /// The bin of value `v`.
    #[inline]
    pub(crate) fn bin(&self, v: f64) -> u8 {
        match self {
            BinMapper::Numeric { upper, has_nan } => {
                if v.is_nan() {
                    if *has_nan {
                        return upper.len() as u8;
                    }
                    // Like LightGBM without missing values in training: NaN is zero.
                    return upper.partition_point(|&u| u < 0.0) as u8;
                }
                upper.partition_point(|&u| u < v) as u8
            }
            BinMapper::Categorical {
                cat_to_bin,
                bin_to_cat,
            } => {
                category_code(v, cat_to_bin.len()).map_or(bin_to_cat.len() as u8, |c| cat_to_bin[c])
            }
        }
    }

    /// The bins of a whole column (what [`BinMapper::bin`] gives, faster: eight values at a
    /// time go through a branch-free binary search in lock step).
    pub(crate) fn bin_column(&self, col: &[f64]) -> Vec<u8> {
        let BinMapper::Numeric { upper, .. } = self else {
            return col.iter().map(|&v| self.bin(v)).collect();
        };
        // Bounds padded to 256 with +inf: the bin is the number of bounds below the value.
        let mut padded = [f64::INFINITY; 256];
        padded[..upper.len()].copy_from_slice(upper);
        let mut out = vec![0u8; col.len()];
        let mut chunks = col.chunks_exact(8);
        let mut outs = out.chunks_exact_mut(8);
        for (c, o) in (&mut chunks).zip(&mut outs) {
            let mut pos = [0usize; 8];
            for step in [128, 64, 32, 16, 8, 4, 2, 1] {
                for (p, &v) in pos.iter_mut().zip(c) {
                    *p += usize::from(padded[*p + step - 1] < v) * step;
                }
            }
            for ((o, &p), &v) in o.iter_mut().zip(&pos).zip(c) {
                *o = if v.is_nan() { self.bin(v) } else { p as u8 };
            }
        }
        for (o, &v) in outs.into_remainder().iter_mut().zip(chunks.remainder()) {
            *o = self.bin(v);
        }
        out
    }

    /// Finds the bins of one feature from its sampled values.
    #[cfg(test)]
    fn fit(sample: &[f64], kind: &FeatureKind, max_bin: usize, has_nan: bool) -> BinMapper {
        Self::fit_with(sample, kind, max_bin, has_nan, MIN_DATA_IN_BIN)
    }

    /// [`BinMapper::fit`] with fewest rows per bin `min_data_in_bin` instead of LightGBM's 3.
    fn fit_with(
        sample: &[f64],
        kind: &FeatureKind,
        max_bin: usize,
        has_nan: bool,
        min_data_in_bin: usize,
    ) -> BinMapper {
        match kind {
            FeatureKind::Numeric => {
                let max_value_bins = if has_nan { max_bin - 1 } else { max_bin }.max(1);
                // Infinities need no bound of their own: they fall in the first and last bins.
                // Sorted as integers that order like the floats (faster than comparing floats);
                // -0.0 becomes 0.0 first so that they are one value.
                let mut keys: Vec<u64> = sample
                    .iter()
                    .filter(|x| x.is_finite())
                    .map(|&x| order_key(x + 0.0))
                    .collect();
                keys.sort_unstable();
                let mut distinct: Vec<f64> = Vec::new();
                let mut counts: Vec<usize> = Vec::new();
                for x in keys.into_iter().map(from_order_key) {
                    // -0.0 and 0.0 are one value.
                    if distinct.last() == Some(&x) {
                        *counts.last_mut().expect("non-empty") += 1;
                    } else {
                        distinct.push(x);
                        counts.push(1);
                    }
                }
                let upper = if distinct.is_empty() {
                    vec![f64::INFINITY]
                } else {
                    let total = counts.iter().sum();
                    find_bins_zero_as_one(
                        &distinct,
                        &counts,
                        max_value_bins,
                        total,
                        min_data_in_bin,
                    )
                };
                BinMapper::Numeric { upper, has_nan }
            }
            FeatureKind::Categorical { n_categories } => {
                let n = *n_categories;
                let mut counts = vec![0usize; n];
                for &x in sample {
                    if let Some(c) = category_code(x, n) {
                        counts[c] += 1;
                    }
                }
                let mut kept: Vec<usize> = (0..n).filter(|&c| counts[c] > 0).collect();
                if kept.len() > MAX_CATEGORY_BINS {
                    kept.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
                    kept.truncate(MAX_CATEGORY_BINS);
                    kept.sort_unstable();
                }
                let other = kept.len() as u8;
                let mut cat_to_bin = vec![other; n];
                for (b, &c) in kept.iter().enumerate() {
                    cat_to_bin[c] = b as u8;
                }
                BinMapper::Categorical {
                    cat_to_bin,
                    bin_to_cat: kept.iter().map(|&c| c as u32).collect(),
                }
            }
        }
    }
}

/// A key whose unsigned order is the order of the (non-NaN) floats.
#[inline]
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The float of an [`order_key`].
#[inline]
fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The category code a value stands for, if it is a valid one.
#[inline]
pub(crate) fn category_code(v: f64, n_categories: usize) -> Option<usize> {
    // NaN fails both comparisons.
    if v >= 0.0 && v < n_categories as f64 {
        Some(v as usize)
    } else {
        None
    }
}

/// LightGBM's `FindBinWithZeroAsOneBin`: negative and positive values are binned separately
/// and zero gets its own bin.
fn find_bins_zero_as_one(
    distinct: &[f64],
    counts: &[usize],
    max_bin: usize,
    total: usize,
    min_data_in_bin: usize,
) -> Vec<f64> {
    let mut left_cnt_data = 0usize;
    let mut cnt_zero = 0usize;
    for (&v, &c) in distinct.iter().zip(counts) {
        if v <= -ZERO_THRESHOLD {
            left_cnt_data += c;
        } else if v <= ZERO_THRESHOLD {
            cnt_zero += c;
        }
    }
    let left_cnt = distinct
        .iter()
        .position(|&v| v > -ZERO_THRESHOLD)
        .unwrap_or(distinct.len());
    let mut bounds: Vec<f64> = Vec::new();
    if left_cnt > 0 && max_bin > 1 {
        let non_zero = (total - cnt_zero).max(1);
        let left_max_bin =
            ((left_cnt_data as f64 / non_zero as f64) * (max_bin - 1) as f64) as usize;
        bounds = greedy_find_bin(
            &distinct[..left_cnt],
            &counts[..left_cnt],
            left_max_bin.max(1),
            left_cnt_data,
            min_data_in_bin,
        );
        if let Some(last) = bounds.last_mut() {
            *last = -ZERO_THRESHOLD;
        }
    }
    let right_start = distinct[left_cnt..]
        .iter()
        .position(|&v| v > ZERO_THRESHOLD)
        .map(|p| p + left_cnt);
    let right_max_bin = (max_bin as isize) - 1 - bounds.len() as isize;
    match right_start {
        Some(rs) if right_max_bin > 0 => {
            let right_cnt: usize = counts[rs..].iter().sum();
            let right = greedy_find_bin(
                &distinct[rs..],
                &counts[rs..],
                right_max_bin as usize,
                right_cnt,
                min_data_in_bin,
            );
            bounds.push(ZERO_THRESHOLD);
            bounds.extend(right);
        }
        _ => bounds.push(f64::INFINITY),
    }
    // A bound of -ZERO_THRESHOLD or ZERO_THRESHOLD may repeat when a side is empty.
    bounds.dedup();
    if bounds.last() != Some(&f64::INFINITY) {
        bounds.push(f64::INFINITY);
    }
    bounds
}

/// LightGBM's bin bound between `a < b`: the next float above their midpoint
/// (`Common::GetDoubleUpperBound((a + b) / 2.0)`), so that a value exactly at the midpoint
/// goes to the lower bin as in LightGBM.
fn upper_bound(a: f64, b: f64) -> f64 {
    let m = (a + b) / 2.0;
    // `a + b` overflows only beyond ±f64::MAX / 2.
    let m = if m.is_finite() { m } else { a / 2.0 + b / 2.0 };
    next_up(m)
}

/// The next float towards +∞ (`f64::next_up`, which is newer than the crate's MSRV).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        x
    } else if x == 0.0 {
        f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(x.to_bits() + 1)
    } else {
        f64::from_bits(x.to_bits() - 1)
    }
}

/// Whether bound `val` is new after `bounds` (LightGBM keeps a bound only when it is more
/// than one float above the previous one: `!CheckDoubleEqualOrdered`).
fn is_new_bound(bounds: &[f64], val: f64) -> bool {
    bounds.last().is_none_or(|&last| val > next_up(last))
}

/// LightGBM's `GreedyFindBin`: bins of about equal counts, values with a count of at least a
/// bin's worth in a bin of their own. Returns upper bounds, the last one `+inf`.
fn greedy_find_bin(
    distinct: &[f64],
    counts: &[usize],
    max_bin: usize,
    total: usize,
    min_data_in_bin: usize,
) -> Vec<f64> {
    let n = distinct.len();
    let mut bounds = Vec::new();
    if n == 0 || max_bin <= 1 {
        bounds.push(f64::INFINITY);
        return bounds;
    }
    if n <= max_bin {
        let mut cur = 0usize;
        for i in 0..n - 1 {
            cur += counts[i];
            if cur >= min_data_in_bin {
                let val = upper_bound(distinct[i], distinct[i + 1]);
                if is_new_bound(&bounds, val) {
                    bounds.push(val);
                    cur = 0;
                }
            }
        }
        bounds.push(f64::INFINITY);
        return bounds;
    }
    let max_bin = max_bin.min(total / min_data_in_bin).max(1);
    let mut mean_bin_size = total as f64 / max_bin as f64;
    let mut rest_bin_cnt = max_bin as isize;
    let mut rest_sample_cnt = total as isize;
    let big: Vec<bool> = counts.iter().map(|&c| c as f64 >= mean_bin_size).collect();
    for (i, &b) in big.iter().enumerate() {
        if b {
            rest_bin_cnt -= 1;
            rest_sample_cnt -= counts[i] as isize;
        }
    }
    mean_bin_size = rest_sample_cnt as f64 / rest_bin_cnt.max(1) as f64;
    let mut upper_bounds = vec![f64::INFINITY; max_bin];
    let mut lower_bounds = vec![f64::INFINITY; max_bin];
    let mut bin_cnt = 0usize;
    lower_bounds[0] = distinct[0];
    let mut cur = 0usize;
    for i in 0..n - 1 {
        if !big[i] {
            rest_sample_cnt -= counts[i] as isize;
        }
        cur += counts[i];
        if big[i]
            || cur as f64 >= mean_bin_size
            || (big[i + 1] && cur as f64 >= (mean_bin_size * 0.5).max(1.0))
        {
            upper_bounds[bin_cnt] = distinct[i];
            bin_cnt += 1;
            lower_bounds[bin_cnt] = distinct[i + 1];
            if bin_cnt >= max_bin - 1 {
                break;
            }
            cur = 0;
            if !big[i] {
                rest_bin_cnt -= 1;
                mean_bin_size = rest_sample_cnt as f64 / rest_bin_cnt.max(1) as f64;
            }
        }
    }
    bin_cnt += 1;
    for i in 0..bin_cnt - 1 {
        let val = upper_bound(upper_bounds[i], lower_bounds[i + 1]);
        if is_new_bound(&bounds, val) {
            bounds.push(val);
        }
    }
    bounds.push(f64::INFINITY);
    bounds
}

/// The training data as bins.
#[derive(Debug)]
pub(crate) struct BinnedData {
    /// Number of rows.
    pub n_rows: usize,
    /// Number of features.
    pub n_features: usize,
    /// Bins, row-major (`n_rows × n_features`).
    pub rows: Vec<u8>,
    /// Bins, column-major.
    pub cols: Vec<u8>,
    /// One mapper per feature.
    pub mappers: Vec<BinMapper>,
    /// Start of each feature's bins in a histogram (`n_features + 1` entries).
    pub offsets: Vec<usize>,
}

impl BinnedData {
    /// Bins `x`. Must run inside the fit's thread pool.
    pub(crate) fn new(x: &Matrix, features: &[FeatureMeta], max_bin: usize, seed: u64) -> Self {
        Self::with_min_data_in_bin(x, features, max_bin, MIN_DATA_IN_BIN, seed)
    }

    /// [`BinnedData::new`] with fewest rows per bin `min_data_in_bin` (trees use 1, so that a
    /// feature with fewer distinct values than bins gets one bin per value).
    pub(crate) fn with_min_data_in_bin(
        x: &Matrix,
        features: &[FeatureMeta],
        max_bin: usize,
        min_data_in_bin: usize,
        seed: u64,
    ) -> Self {
        let n = x.n_rows();
        let nf = x.n_cols();
        let sample: Option<Vec<usize>> = (n > SAMPLE_ROWS).then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(1);
            let mut s = rand::seq::index::sample(&mut rng, n, SAMPLE_ROWS).into_vec();
            s.sort_unstable();
            s
        });
        let per_feature: Vec<(BinMapper, Vec<u8>)> = (0..nf)
            .into_par_iter()
            .map(|j| {
                let col = x.col(j);
                let has_nan = matches!(features[j].kind, FeatureKind::Numeric)
                    && col.iter().any(|v| v.is_nan());
                let mapper = match &sample {
                    Some(s) => {
                        let vals: Vec<f64> = s.iter().map(|&i| col[i]).collect();
                        BinMapper::fit_with(
                            &vals,
                            &features[j].kind,
                            max_bin,
                            has_nan,
                            min_data_in_bin,
                        )
                    }
                    None => BinMapper::fit_with(
                        col,
                        &features[j].kind,
                        max_bin,
                        has_nan,
                        min_data_in_bin,
                    ),
                };
                let bins = mapper.bin_column(col);
                // Histogram building relies on this (it indexes without bounds checks).
                let nb = mapper.n_bins();
                assert!(bins.iter().all(|&b| (b as usize) < nb), "bin out of range");
                (mapper, bins)
            })
            .collect();
        let mut cols = Vec::with_capacity(n * nf);
        let mut mappers = Vec::with_capacity(nf);
        for (m, b) in per_feature {
            mappers.push(m);
            cols.extend_from_slice(&b);
        }
        let mut rows = vec![0u8; n * nf];
        if nf > 0 {
            const CHUNK: usize = 4096;
            rows.par_chunks_mut(CHUNK * nf)
                .enumerate()
                .for_each(|(ci, out)| {
                    let r0 = ci * CHUNK;
                    let len = out.len() / nf;
                    for j in 0..nf {
                        let c = &cols[j * n + r0..j * n + r0 + len];
                        for (i, &b) in c.iter().enumerate() {
                            out[i * nf + j] = b;
                        }
                    }
                });
        }
        let mut offsets = Vec::with_capacity(nf + 1);
        let mut acc = 0;
        offsets.push(0);
        for m in &mappers {
            acc += m.n_bins();
            offsets.push(acc);
        }
        BinnedData {
            n_rows: n,
            n_features: nf,
            rows,
            cols,
            mappers,
            offsets,
        }
    }

    /// Column `j` of the bins.
    #[inline]
    pub(crate) fn col(&self, j: usize) -> &[u8] {
        &self.cols[j * self.n_rows..(j + 1) * self.n_rows]
    }

    /// Total bins over all features (a histogram's length).
    pub(crate) fn total_bins(&self) -> usize {
        *self.offsets.last().unwrap_or(&0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_up_steps_one_float() {
        for x in [-2.5, -1e-300, -0.0, 0.0, 1e-300, 0.1, 20.19, 1e300] {
            let y = next_up(x);
            assert!(y > x, "{x}");
            assert_eq!(y, x.next_up(), "{x}");
        }
        assert_eq!(next_up(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn few_distinct_values_get_midpoints() {
        let vals: Vec<f64> = (0..100).map(|i| f64::from(i % 5)).collect();
        let m = BinMapper::fit(&vals, &FeatureKind::Numeric, 255, false);
        let BinMapper::Numeric { upper, .. } = &m else {
            panic!()
        };
        // 0 alone, then 1..4 each in a bin.
        assert_eq!(upper.len(), 5);
        for v in 0..5 {
            assert_eq!(m.bin(f64::from(v)), v as u8);
        }
    }

    #[test]
    fn many_values_respect_max_bin_and_order() {
        let vals: Vec<f64> = (0..10_000).map(|i| (f64::from(i) * 0.37).sin()).collect();
        let m = BinMapper::fit(&vals, &FeatureKind::Numeric, 63, true);
        assert!(m.n_bins() <= 63, "{}", m.n_bins());
        let mut prev = 0;
        let mut sorted = vals.clone();
        sorted.sort_by(f64::total_cmp);
        for v in sorted {
            let b = m.bin(v);
            assert!(b >= prev);
            prev = b;
        }
        assert_eq!(m.bin(f64::NAN) as usize, m.n_bins() - 1);
    }

    #[test]
    fn column_binning_matches_one_by_one() {
        let vals: Vec<f64> = (0..5000)
            .map(|i| match i % 97 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => (f64::from(i) * 0.7).sin() * 100.0,
            })
            .collect();
        for max_bin in [2, 16, 255] {
            for has_nan in [false, true] {
                let m = BinMapper::fit(&vals, &FeatureKind::Numeric, max_bin, has_nan);
                let one: Vec<u8> = vals.iter().map(|&v| m.bin(v)).collect();
                assert_eq!(m.bin_column(&vals), one);
            }
        }
    }

    #[test]
    fn order_keys_sort_like_floats() {
        let mut v = [3.5, -0.0, -2.0, 1e-300, -1e300, 0.0, 7.0, -1e-300];
        let mut k: Vec<u64> = v.iter().map(|&x| order_key(x + 0.0)).collect();
        k.sort_unstable();
        v.sort_by(f64::total_cmp);
        let back: Vec<f64> = k.into_iter().map(from_order_key).collect();
        assert_eq!(
            back,
            vec![-1e300, -2.0, -1e-300, 0.0, 0.0, 1e-300, 3.5, 7.0]
        );
    }

    #[test]
    fn infinities_fall_in_the_end_bins() {
        let vals = [
            f64::NEG_INFINITY,
            -1.0,
            0.0,
            1.0,
            2.0,
            f64::INFINITY,
            3.0,
            3.0,
            3.0,
        ];
        let m = BinMapper::fit(&vals, &FeatureKind::Numeric, 255, false);
        let BinMapper::Numeric { upper, .. } = &m else {
            panic!()
        };
        assert!(upper[..upper.len() - 1].iter().all(|u| u.is_finite()));
        assert_eq!(m.bin(f64::NEG_INFINITY), m.bin(-1.0));
        assert_eq!(m.bin(f64::INFINITY) as usize, m.n_bins() - 1);
    }

    #[test]
    fn categories_map_to_bins() {
        let vals = [0.0, 2.0, 2.0, f64::NAN, 7.0];
        let m = BinMapper::fit(
            &vals,
            &FeatureKind::Categorical { n_categories: 5 },
            255,
            false,
        );
        assert_eq!(m.n_bins(), 3);
        assert_eq!(m.bin(0.0), 0);
        assert_eq!(m.bin(2.0), 1);
        assert_eq!(m.bin(1.0), 2);
        assert_eq!(m.bin(f64::NAN), 2);
        assert_eq!(m.bin(7.0), 2);
    }
}
