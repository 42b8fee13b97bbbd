//! The drift statistics, each equal to the library people check it against:
//!
//! | function | equals |
//! |---|---|
//! | [`ks_2samp`] | `scipy.stats.ks_2samp(ref, cur)` (`method='auto'`: exact when both samples have at most 10,000 values, else the asymptotic `kstwo.sf(d, round(n1·n2/(n1+n2)))`) |
//! | [`wasserstein`] | `scipy.stats.wasserstein_distance(ref, cur)` |
//! | [`chi2_contingency`] | `scipy.stats.chi2_contingency` on the 2×k table of counts (Yates' correction when dof = 1, as scipy's default) |
//! | [`js_distance`] | `scipy.spatial.distance.jensenshannon(p, q, base=2)` |
//! | [`hellinger`] | NannyML's `sqrt(Σ(√p − √q)²) / √2` |
//! | [`linf`] | NannyML's `max |p − q|` over the union of categories |
//! | [`psi`] | `Σ (q − p) · ln(q / p)`, a proportion of 0 replaced by [`PSI_EPSILON`] |
//!
//! Samples are [`Ecdf`]s: sorted distinct values with counts, so a reference is summarized
//! once and a statistic walks two of them in one merge.

use serde::{Deserialize, Serialize};

use crate::special;

/// What replaces a bin proportion of 0 in [`psi`] (the reference's or the current's), so
/// that an empty bin gives a large but finite term; the other proportions are left as they
/// are (not renormalized). The same value Evidently uses.
pub const PSI_EPSILON: f64 = 1e-4;

/// A sample as sorted distinct values and how often each occurs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ecdf {
    /// Distinct values, ascending (no NaN).
    pub values: Vec<f64>,
    /// Occurrences of each value.
    pub counts: Vec<u64>,
}

impl Ecdf {
    /// The ECDF of `values` (NaN must have been removed).
    pub fn from_values(values: Vec<f64>) -> Ecdf {
        let values = sort_floats(values);
        let mut out = Ecdf::default();
        for v in values {
            // -0.0 and 0.0 are one value, as numpy's sort and searchsorted see them.
            match out.values.last() {
                Some(&last) if last == v => *out.counts.last_mut().expect("paired") += 1,
                _ => {
                    out.values.push(v);
                    out.counts.push(1);
                }
            }
        }
        out
    }

    /// Values in the sample.
    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The smallest and largest values.
    pub fn range(&self) -> Option<(f64, f64)> {
        Some((*self.values.first()?, *self.values.last()?))
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        let n = self.n() as f64;
        self.values
            .iter()
            .zip(&self.counts)
            .map(|(v, c)| v * *c as f64)
            .sum::<f64>()
            / n
    }

    /// The population standard deviation (`ddof = 0`).
    pub fn std(&self) -> f64 {
        let n = self.n() as f64;
        let mean = self.mean();
        (self
            .values
            .iter()
            .zip(&self.counts)
            .map(|(v, c)| (v - mean).powi(2) * *c as f64)
            .sum::<f64>()
            / n)
            .sqrt()
    }

    /// numpy's `np.quantile(sample, q)` (linear interpolation).
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.n();
        let pos = q * (n - 1) as f64;
        let lo = pos.floor() as u64;
        let frac = pos - lo as f64;
        let a = self.nth(lo);
        if frac == 0.0 || lo + 1 >= n {
            return a;
        }
        let b = self.nth(lo + 1);
        // numpy's _lerp: a + (b - a) * t, from the other end when t >= 0.5.
        let diff = b - a;
        if frac >= 0.5 {
            b - diff * (1.0 - frac)
        } else {
            a + diff * frac
        }
    }

    /// The `k`-th smallest value (0-based, counting repeats).
    fn nth(&self, k: u64) -> f64 {
        let mut seen = 0;
        for (v, c) in self.values.iter().zip(&self.counts) {
            seen += c;
            if k < seen {
                return *v;
            }
        }
        *self.values.last().expect("non-empty")
    }

    /// Counts per bin of `edges` as `numpy.histogram(sample, bins=edges)`: bin `i` holds
    /// `edges[i] <= x < edges[i+1]`, the last bin also its right edge; values outside are
    /// not counted.
    pub fn histogram(&self, edges: &[f64]) -> Vec<u64> {
        let bins = edges.len().saturating_sub(1);
        let mut out = vec![0u64; bins];
        if bins == 0 {
            return out;
        }
        let (first, last) = (edges[0], edges[bins]);
        for (v, c) in self.values.iter().zip(&self.counts) {
            if *v < first || *v > last {
                continue;
            }
            let i = edges
                .partition_point(|e| e <= v)
                .saturating_sub(1)
                .min(bins - 1);
            out[i] += c;
        }
        out
    }

    /// Counts per bin of the right-closed bins cut at `inner` edges: `(-∞, e₀]`,
    /// `(e₀, e₁]`, …, `(eₖ, ∞)` (numpy's `searchsorted(edges, x, side='left')`).
    pub fn cut_counts(&self, inner: &[f64]) -> Vec<u64> {
        let mut out = vec![0u64; inner.len() + 1];
        for (v, c) in self.values.iter().zip(&self.counts) {
            out[inner.partition_point(|e| e < v)] += c;
        }
        out
    }
}

/// Below this many values [`sort_floats`] uses the standard library's comparison sort.
const RADIX_MIN: usize = 512;

/// Bits per radix digit: 2¹¹ buckets (16 KiB of counts per pass, in L1), six passes.
const RADIX_BITS: u32 = 11;

/// An `f64` as a `u64` whose unsigned order is `f64::total_cmp`'s: negative numbers have
/// every bit flipped, the others only the sign bit.
fn float_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

fn key_float(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// `values` sorted ascending in `f64::total_cmp`'s order (as `sort_unstable_by(f64::total_cmp)`):
/// an LSD radix sort on order-preserving integer keys, passes whose digit is the same for
/// every value skipped (`examples/sort_bench.rs` times it against the comparison sort).
/// Reuses `values`' buffer and one scratch buffer of the same size.
pub fn sort_floats(mut values: Vec<f64>) -> Vec<f64> {
    let n = values.len();
    if n < RADIX_MIN {
        values.sort_unstable_by(f64::total_cmp);
        return values;
    }
    const BUCKETS: usize = 1 << RADIX_BITS;
    const PASSES: usize = 64usize.div_ceil(RADIX_BITS as usize);
    let digit = |k: u64, pass: usize| ((k >> (pass as u32 * RADIX_BITS)) as usize) & (BUCKETS - 1);
    // Same size and alignment: collected in place.
    let mut keys: Vec<u64> = values.into_iter().map(float_key).collect();
    let mut counts = vec![[0usize; BUCKETS]; PASSES];
    for &k in &keys {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[digit(k, pass)] += 1;
        }
    }
    let mut scratch = vec![0u64; n];
    for (pass, c) in counts.iter().enumerate() {
        if c.contains(&n) {
            continue;
        }
        let mut offset = [0usize; BUCKETS];
        let mut sum = 0;
        for (o, c) in offset.iter_mut().zip(c) {
            *o = sum;
            sum += c;
        }
        for &k in &keys {
            let d = digit(k, pass);
            scratch[offset[d]] = k;
            offset[d] += 1;
        }
        std::mem::swap(&mut keys, &mut scratch);
    }
    drop(scratch);
    keys.into_iter().map(key_float).collect()
}

/// Which p-value computation [`ks_2samp`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// The exact distribution of the two-sample statistic.
    Exact,
    /// `kstwo.sf(d, round(n1·n2/(n1+n2)))`.
    Asymptotic,
}

/// The two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KsResult {
    /// The largest absolute difference of the two ECDFs.
    pub statistic: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: KsMethod,
}

/// scipy's `MAX_AUTO_N`: `method='auto'` is exact up to this many values in each sample.
pub const KS_MAX_EXACT_N: u64 = 10_000;

/// `scipy.stats.ks_2samp(a, b)` (two-sided, `method='auto'`). Both samples must be non-empty.
pub fn ks_2samp(a: &Ecdf, b: &Ecdf) -> KsResult {
    let (n1, n2) = (a.n(), b.n());
    let (mut i, mut j) = (0usize, 0usize);
    let (mut c1, mut c2) = (0u64, 0u64);
    let (mut max_s, mut min_s) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < a.values.len() || j < b.values.len() {
        let v = match (a.values.get(i), b.values.get(j)) {
            (Some(x), Some(y)) => x.min(*y),
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => unreachable!(),
        };
        while i < a.values.len() && a.values[i] <= v {
            c1 += a.counts[i];
            i += 1;
        }
        while j < b.values.len() && b.values[j] <= v {
            c2 += b.counts[j];
            j += 1;
        }
        let diff = c1 as f64 / n1 as f64 - c2 as f64 / n2 as f64;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    let d = if min_s > max_s { min_s } else { max_s };
    if n1.max(n2) <= KS_MAX_EXACT_N
        && let Some((d, p)) = special::ks_2samp_exact_sf(n1, n2, d)
    {
        return KsResult {
            statistic: d,
            p_value: p.clamp(0.0, 1.0),
            method: KsMethod::Exact,
        };
    }
    let (m, n) = if n1 >= n2 {
        (n1 as f64, n2 as f64)
    } else {
        (n2 as f64, n1 as f64)
    };
    let en = (m * n / (m + n)).round_ties_even() as u64;
    KsResult {
        statistic: d,
        p_value: special::kstwo_sf(en, d).clamp(0.0, 1.0),
        method: KsMethod::Asymptotic,
    }
}

/// `scipy.stats.wasserstein_distance(a, b)`: the area between the two ECDFs.
pub fn wasserstein(a: &Ecdf, b: &Ecdf) -> f64 {
    let (n1, n2) = (a.n() as f64, b.n() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut c1, mut c2) = (0u64, 0u64);
    let mut prev: Option<f64> = None;
    let mut total = 0.0;
    let mut last_diff = 0.0;
    while i < a.values.len() || j < b.values.len() {
        let v = match (a.values.get(i), b.values.get(j)) {
            (Some(x), Some(y)) => x.min(*y),
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => unreachable!(),
        };
        if let Some(p) = prev {
            total += last_diff * (v - p);
        }
        while i < a.values.len() && a.values[i] <= v {
            c1 += a.counts[i];
            i += 1;
        }
        while j < b.values.len() && b.values[j] <= v {
            c2 += b.counts[j];
            j += 1;
        }
        last_diff = (c1 as f64 / n1 - c2 as f64 / n2).abs();
        prev = Some(v);
    }
    total
}

/// `scipy.stats.chi2_contingency` of a 2×k table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Chi2Result {
    /// Pearson's statistic (Yates-corrected when `dof == 1`).
    pub statistic: f64,
    /// Its p-value, `chi2.sf(statistic, dof)`.
    pub p_value: f64,
    /// Degrees of freedom, `k − 1`.
    pub dof: u64,
}

/// `scipy.stats.chi2_contingency([reference, current])` where the two rows are counts of
/// the same k categories (each category counted in at least one row; both rows non-empty).
/// With `dof == 0` (one category) scipy answers statistic 0, p-value 1.
pub fn chi2_contingency(reference: &[f64], current: &[f64]) -> Chi2Result {
    let k = reference.len();
    let dof = k.saturating_sub(1) as u64;
    if dof == 0 {
        return Chi2Result {
            statistic: 0.0,
            p_value: 1.0,
            dof,
        };
    }
    let r0: f64 = special::numpy_sum(reference);
    let r1: f64 = special::numpy_sum(current);
    let total = r0 + r1;
    let mut stat_terms = Vec::with_capacity(2 * k);
    for (row, row_total) in [(reference, r0), (current, r1)] {
        for (j, &obs) in row.iter().enumerate() {
            let col = reference[j] + current[j];
            let expected = row_total * col / total;
            let mut obs = obs;
            if dof == 1 {
                let diff = expected - obs;
                let magnitude = diff.abs().min(0.5);
                obs += magnitude * diff.signum() * f64::from(diff != 0.0);
            }
            stat_terms.push((obs - expected).powi(2) / expected);
        }
    }
    let statistic: f64 = stat_terms.iter().sum();
    Chi2Result {
        statistic,
        p_value: special::chi2_sf(statistic, dof as f64),
        dof,
    }
}

/// `scipy.spatial.distance.jensenshannon(p, q, base)`: both are normalized to sum to 1
/// first; `base = None` is the natural logarithm.
pub fn js_distance(p: &[f64], q: &[f64], base: Option<f64>) -> f64 {
    let sp = special::numpy_sum(p);
    let sq = special::numpy_sum(q);
    let p: Vec<f64> = p.iter().map(|x| x / sp).collect();
    let q: Vec<f64> = q.iter().map(|x| x / sq).collect();
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let left: Vec<f64> = p.iter().zip(&m).map(|(a, m)| rel_entr(*a, *m)).collect();
    let right: Vec<f64> = q.iter().zip(&m).map(|(a, m)| rel_entr(*a, *m)).collect();
    let mut js = special::numpy_sum(&left) + special::numpy_sum(&right);
    if let Some(base) = base {
        js /= base.ln();
    }
    (js / 2.0).sqrt()
}

/// `scipy.special.rel_entr`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// NannyML's Hellinger distance of two probability vectors.
pub fn hellinger(p: &[f64], q: &[f64]) -> f64 {
    let terms: Vec<f64> = p
        .iter()
        .zip(q)
        .map(|(a, b)| (a.sqrt() - b.sqrt()).powi(2))
        .collect();
    special::numpy_sum(&terms).sqrt() / 2f64.sqrt()
}

/// NannyML's L-infinity distance: the largest absolute difference of two probability
/// vectors over the same categories.
pub fn linf(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// The population stability index of two count vectors over the same bins:
/// `Σ (q − p) · ln(q / p)` with `p`, `q` the proportions, 0 replaced by [`PSI_EPSILON`].
pub fn psi(reference: &[u64], current: &[u64]) -> f64 {
    let nr: u64 = reference.iter().sum();
    let nc: u64 = current.iter().sum();
    reference
        .iter()
        .zip(current)
        .map(|(r, c)| {
            let p = (*r as f64 / nr as f64).max(0.0);
            let q = (*c as f64 / nc as f64).max(0.0);
            let p = if p == 0.0 { PSI_EPSILON } else { p };
            let q = if q == 0.0 { PSI_EPSILON } else { q };
            (q - p) * (q / p).ln()
        })
        .sum()
}

/// The proportions NannyML compares for a binned column: reference and current counts over
/// the reference's bins, divided by each sample's size; when the current proportions sum to
/// less than 1 (values outside the reference's range, or categories it never saw) the rest
/// becomes one more bin with reference proportion 0, exactly when NannyML's
/// `1 - np.sum(proportions) > 0`.
pub fn nannyml_proportions(
    reference: &[u64],
    n_reference: u64,
    current: &[u64],
    n_current: u64,
) -> (Vec<f64>, Vec<f64>) {
    let mut p: Vec<f64> = reference
        .iter()
        .map(|c| *c as f64 / n_reference as f64)
        .collect();
    let mut q: Vec<f64> = current
        .iter()
        .map(|c| *c as f64 / n_current as f64)
        .collect();
    let leftover = 1.0 - special::numpy_sum(&q);
    if leftover > 0.0 {
        q.push(leftover);
        p.push(0.0);
    }
    (p, q)
}

/// `numpy.histogram_bin_edges(sample, bins='doane')`, the bins NannyML's Jensen–Shannon and
/// Hellinger use for a continuous column.
pub fn doane_edges(sample: &Ecdf, raw: &[f64]) -> Vec<f64> {
    let (mut first, mut last) = sample.range().expect("non-empty sample");
    let n = raw.len() as f64;
    let mut width = 0.0;
    if raw.len() > 2 {
        let sg1 = (6.0 * (n - 2.0) / ((n + 1.0) * (n + 3.0))).sqrt();
        let mean = special::numpy_sum(raw) / n;
        let dev2: Vec<f64> = raw.iter().map(|x| (x - mean).powi(2)).collect();
        let sigma = (special::numpy_sum(&dev2) / n).sqrt();
        if sigma > 0.0 {
            let cubes: Vec<f64> = raw
                .iter()
                .map(|x| {
                    let t = (x - mean) / sigma;
                    t * t * t
                })
                .collect();
            let g1 = special::numpy_sum(&cubes) / n;
            width = (last - first) / (1.0 + n.log2() + (1.0 + g1.abs() / sg1).log2());
        }
    }
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let bins = if width > 0.0 {
        ((last - first) / width).ceil() as usize
    } else {
        1
    };
    linspace(first, last, bins + 1)
}

/// `numpy.linspace(start, stop, num)`.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = (num - 1) as f64;
    let step = (stop - start) / div;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if num > 1 {
        out[num - 1] = stop;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A statistic depends on the samples, not on their row order, and KS / Wasserstein
        /// are symmetric in their two samples.
        #[test]
        fn order_invariant_and_symmetric(
            a in prop::collection::vec(-50i32..50, 1..60),
            b in prop::collection::vec(-50i32..50, 1..60),
        ) {
            let fa: Vec<f64> = a.iter().map(|x| *x as f64 / 4.0).collect();
            let fb: Vec<f64> = b.iter().map(|x| *x as f64 / 4.0).collect();
            let mut ra = fa.clone();
            ra.reverse();
            let (ea, eb, era) = (
                Ecdf::from_values(fa.clone()),
                Ecdf::from_values(fb.clone()),
                Ecdf::from_values(ra),
            );
            prop_assert_eq!(ks_2samp(&ea, &eb), ks_2samp(&era, &eb));
            let (ab, ba) = (ks_2samp(&ea, &eb), ks_2samp(&eb, &ea));
            prop_assert_eq!(ab.statistic, ba.statistic);
            prop_assert!((ab.p_value - ba.p_value).abs() < 1e-12);
            prop_assert!((wasserstein(&ea, &eb) - wasserstein(&eb, &ea)).abs() < 1e-12);
            prop_assert!((0.0..=1.0).contains(&ab.p_value));
            prop_assert_eq!(ks_2samp(&ea, &ea).statistic, 0.0);
            prop_assert_eq!(wasserstein(&ea, &ea), 0.0);
        }
    }

    proptest! {
        /// The radix sort orders as `total_cmp` does: signs, zeros, infinities,
        /// subnormals, long runs of repeats, and sizes on both sides of the cut-over.
        #[test]
        fn radix_sort_orders_as_total_cmp(
            v in prop::collection::vec(
                prop_oneof![
                    any::<f64>().prop_filter("no NaN", |x| !x.is_nan()),
                    Just(0.0), Just(-0.0), Just(f64::INFINITY), Just(f64::NEG_INFINITY),
                    Just(f64::MIN_POSITIVE / 4.0), Just(-1.5), Just(1.5),
                    (-1000i32..1000).prop_map(|x| f64::from(x) / 8.0),
                ],
                0..3000,
            )
        ) {
            let mut want = v.clone();
            want.sort_unstable_by(f64::total_cmp);
            let got = sort_floats(v);
            prop_assert_eq!(
                got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn psi_of_identical_bins_is_zero_and_empty_bins_use_epsilon() {
        assert_eq!(psi(&[5, 5, 0], &[10, 10, 0]), 0.0);
        let v = psi(&[10, 0], &[5, 5]);
        let want =
            (0.5 - 1.0) * (0.5f64 / 1.0).ln() + (0.5 - PSI_EPSILON) * (0.5 / PSI_EPSILON).ln();
        assert!((v - want).abs() < 1e-15);
    }
}
