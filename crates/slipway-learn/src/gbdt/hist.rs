//! Gradient/hessian histograms.
//!
//! A histogram holds one [`HistBin`] per bin of every feature, features one after another
//! (`BinnedData::offsets`). Histograms are built from the row-major bins: for each row of the
//! leaf, its gradient pair is added to the bin of each feature. Each bin's sums are taken over
//! the rows in their (ascending) order, so a histogram does not depend on how the features are
//! shared out between threads.
//!
//! Like LightGBM, bins hold no row counts (that would cost a third of the histogram's memory
//! traffic): the split finder estimates a bin's count from its hessian sum, scaled by the leaf's
//! rows per unit of hessian. A leaf's own row count is exact.

/// Sums over the rows that fall in one bin.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct HistBin {
    /// Sum of gradients.
    pub g: f64,
    /// Sum of hessians.
    pub h: f64,
}

impl HistBin {
    /// `self - other`.
    #[inline]
    pub(crate) fn sub(self, o: HistBin) -> HistBin {
        HistBin {
            g: self.g - o.g,
            h: self.h - o.h,
        }
    }
}

/// Which rows to add.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rows<'a> {
    /// Rows `start..end`, in order.
    Range(usize, usize),
    /// These rows.
    Some(&'a [u32]),
}

impl<'a> Rows<'a> {
    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Rows::Range(s, e) => e - s,
            Rows::Some(r) => r.len(),
        }
    }

    /// Rows `a..b` of this set (positions, not row numbers).
    pub(crate) fn sub(&self, a: usize, b: usize) -> Rows<'a> {
        match *self {
            Rows::Range(s, _) => Rows::Range(s + a, s + b),
            Rows::Some(r) => Rows::Some(&r[a..b]),
        }
    }
}

/// The features of one histogram block: `feats[i]` is a column of the row-major bins and
/// `offs[i]` the start of its `n_bins[i]` bins in the block's histogram slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block<'a> {
    /// Feature columns, ascending.
    pub feats: &'a [u32],
    /// Start of each feature's bins in the block's histogram.
    pub offs: &'a [u32],
    /// Bins of each feature.
    pub n_bins: &'a [u32],
    /// Runs `[start, end)` of `feats` whose histograms fit in L1 cache together.
    pub groups: &'a [(usize, usize)],
}

/// Most bins in one feature group: 1536 bins of 16 bytes take 24 KiB, half of a typical L1
/// data cache. A 255-bin feature's histogram is 4 KiB.
pub(crate) const GROUP_BINS: usize = 1536;

/// Rows per tile: the rows of a tile are read once per feature group, from cache after the
/// first group.
const TILE_ROWS: usize = 1024;

/// Splits features with `n_bins` bins into runs of at most [`GROUP_BINS`] bins (a run holds at
/// least one feature).
pub(crate) fn feature_groups(n_bins: &[u32]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut bins = 0usize;
    for (i, &nb) in n_bins.iter().enumerate() {
        if i > start && bins + nb as usize > GROUP_BINS {
            groups.push((start, i));
            start = i;
            bins = 0;
        }
        bins += nb as usize;
    }
    if start < n_bins.len() {
        groups.push((start, n_bins.len()));
    }
    groups
}

/// Adds the gradient pairs of `rows` to `hist` (the block's slice of a histogram) for the
/// block's features. `data` is the row-major bins with `nf` columns; every bin of feature
/// `feats[i]` in it must be below `n_bins[i]` (as `BinnedData` guarantees).
///
/// The rows go through in tiles; within a tile, one group of features at a time, so that
/// the histogram entries being updated stay in L1.
pub(crate) fn accumulate(
    hist: &mut [HistBin],
    data: &[u8],
    nf: usize,
    block: Block<'_>,
    rows: Rows<'_>,
    gh: &[[f32; 2]],
) {
    // What makes the unchecked histogram indexing in `add_row*` sound.
    assert!(
        block
            .offs
            .iter()
            .zip(block.n_bins)
            .all(|(&o, &nb)| o as usize + nb as usize <= hist.len()),
        "histogram block too small"
    );
    let n = rows.len();
    let mut t0 = 0;
    while t0 < n {
        let tile = rows.sub(t0, (t0 + TILE_ROWS).min(n));
        for (gi, &(a, b)) in block.groups.iter().enumerate() {
            let feats = &block.feats[a..b];
            let offs = &block.offs[a..b];
            let contiguous = (feats[feats.len() - 1] - feats[0]) as usize == feats.len() - 1;
            accumulate_group(hist, data, nf, feats, offs, contiguous, tile, gh, gi == 0);
        }
        t0 += TILE_ROWS;
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn accumulate_group(
    hist: &mut [HistBin],
    data: &[u8],
    nf: usize,
    feats: &[u32],
    offs: &[u32],
    contiguous: bool,
    rows: Rows<'_>,
    gh: &[[f32; 2]],
    prefetch_rows: bool,
) {
    let f0 = feats[0] as usize;
    let nb = feats.len();
    // Rows go two at a time: the pair shares the loads of the offsets and the loop, which
    // measured ~15% faster.
    match (rows, contiguous) {
        (Rows::Range(s, e), true) => {
            let mut pairs = data[s * nf..e * nf]
                .chunks_exact(2 * nf)
                .zip(gh[s..e].chunks_exact(2));
            for (rr, gg) in &mut pairs {
                let (a, b) = rr.split_at(nf);
                add_rows2(hist, &a[f0..f0 + nb], &b[f0..f0 + nb], offs, gg[0], gg[1]);
            }
            if (e - s) % 2 == 1 {
                let r = e - 1;
                add_row(hist, &data[r * nf + f0..r * nf + f0 + nb], offs, gh[r]);
            }
        }
        (Rows::Some(idx), true) => {
            let mut pairs = idx.chunks_exact(2);
            for (pi, pr) in (&mut pairs).enumerate() {
                if prefetch_rows {
                    for &q in idx.iter().skip(2 * pi + PREFETCH_ROWS).take(2) {
                        prefetch(data.as_ptr().wrapping_add(q as usize * nf + f0));
                        prefetch(gh.as_ptr().wrapping_add(q as usize));
                    }
                }
                let (r0, r1) = (pr[0] as usize * nf + f0, pr[1] as usize * nf + f0);
                add_rows2(
                    hist,
                    &data[r0..r0 + nb],
                    &data[r1..r1 + nb],
                    offs,
                    gh[pr[0] as usize],
                    gh[pr[1] as usize],
                );
            }
            for &r in pairs.remainder() {
                let r = r as usize;
                add_row(hist, &data[r * nf + f0..r * nf + f0 + nb], offs, gh[r]);
            }
        }
        (Rows::Range(s, e), false) => {
            let mut pairs = data[s * nf..e * nf]
                .chunks_exact(2 * nf)
                .zip(gh[s..e].chunks_exact(2));
            for (rr, gg) in &mut pairs {
                let (a, b) = rr.split_at(nf);
                add_rows2_gather(hist, a, b, feats, offs, gg[0], gg[1]);
            }
            if (e - s) % 2 == 1 {
                let r = e - 1;
                let one = &data[r * nf..(r + 1) * nf];
                add_rows2_gather(hist, one, one, feats, offs, gh[r], [0.0, 0.0]);
            }
        }
        (Rows::Some(idx), false) => {
            let mut pairs = idx.chunks_exact(2);
            for (pi, pr) in (&mut pairs).enumerate() {
                if prefetch_rows {
                    for &q in idx.iter().skip(2 * pi + PREFETCH_ROWS).take(2) {
                        prefetch(data.as_ptr().wrapping_add(q as usize * nf));
                        prefetch(gh.as_ptr().wrapping_add(q as usize));
                    }
                }
                let (r0, r1) = (pr[0] as usize, pr[1] as usize);
                add_rows2_gather(
                    hist,
                    &data[r0 * nf..(r0 + 1) * nf],
                    &data[r1 * nf..(r1 + 1) * nf],
                    feats,
                    offs,
                    gh[r0],
                    gh[r1],
                );
            }
            for &r in pairs.remainder() {
                let r = r as usize;
                let one = &data[r * nf..(r + 1) * nf];
                add_rows2_gather(hist, one, one, feats, offs, gh[r], [0.0, 0.0]);
            }
        }
    }
}

/// How many rows ahead a leaf's rows are prefetched: a leaf's rows are scattered over the
/// data, so without it each row waits for memory.
const PREFETCH_ROWS: usize = 16;

/// Hints the CPU to bring the cache line at `p` into L1.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and has no observable effect, whatever
    // the address; SSE (which has it) is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Adds the gradient pair `gh` to bin `offs[j] + bins[j]` for every `j`.
///
/// Unchecked indexing: this loop is most of the training time, and the bounds checks cost
/// about 10% of it (measured).
#[inline(always)]
#[allow(unsafe_code)]
fn add_row(hist: &mut [HistBin], bins: &[u8], offs: &[u32], gh: [f32; 2]) {
    let (g, h) = (f64::from(gh[0]), f64::from(gh[1]));
    for (&b, &o) in bins.iter().zip(offs) {
        let i = o as usize + b as usize;
        debug_assert!(i < hist.len());
        // SAFETY: `accumulate` checked that each feature's bins `offs[j]..offs[j] + n_bins`
        // lie in `hist`, and its caller guarantees `b < n_bins` for every bin in the data.
        let e = unsafe { hist.get_unchecked_mut(i) };
        e.g += g;
        e.h += h;
    }
}

/// [`add_row`] for two rows, the first one's pair added first.
#[inline(always)]
#[allow(unsafe_code)]
fn add_rows2(
    hist: &mut [HistBin],
    b0: &[u8],
    b1: &[u8],
    offs: &[u32],
    gh0: [f32; 2],
    gh1: [f32; 2],
) {
    let (g0, h0) = (f64::from(gh0[0]), f64::from(gh0[1]));
    let (g1, h1) = (f64::from(gh1[0]), f64::from(gh1[1]));
    for ((&x, &y), &o) in b0.iter().zip(b1).zip(offs) {
        let (i, j) = (o as usize + x as usize, o as usize + y as usize);
        debug_assert!(i < hist.len() && j < hist.len());
        // SAFETY: as in `add_row`.
        let e = unsafe { hist.get_unchecked_mut(i) };
        e.g += g0;
        e.h += h0;
        // SAFETY: as in `add_row`.
        let e = unsafe { hist.get_unchecked_mut(j) };
        e.g += g1;
        e.h += h1;
    }
}

/// [`add_rows2`] for features `feats` of two whole rows. A zero second pair adds nothing
/// (`x + 0.0 == x` for every `x` but `-0.0`, which no sum of these pairs starts from).
#[inline(always)]
#[allow(unsafe_code)]
fn add_rows2_gather(
    hist: &mut [HistBin],
    row0: &[u8],
    row1: &[u8],
    feats: &[u32],
    offs: &[u32],
    gh0: [f32; 2],
    gh1: [f32; 2],
) {
    let (g0, h0) = (f64::from(gh0[0]), f64::from(gh0[1]));
    let (g1, h1) = (f64::from(gh1[0]), f64::from(gh1[1]));
    for (&f, &o) in feats.iter().zip(offs) {
        let (i, j) = (
            o as usize + row0[f as usize] as usize,
            o as usize + row1[f as usize] as usize,
        );
        debug_assert!(i < hist.len() && j < hist.len());
        // SAFETY: as in `add_row`.
        let e = unsafe { hist.get_unchecked_mut(i) };
        e.g += g0;
        e.h += h0;
        // SAFETY: as in `add_row`.
        let e = unsafe { hist.get_unchecked_mut(j) };
        e.g += g1;
        e.h += h1;
    }
}

/// `parent -= child`, turning a parent's histogram into its other child's.
pub(crate) fn subtract(parent: &mut [HistBin], child: &[HistBin]) {
    for (p, c) in parent.iter_mut().zip(child) {
        *p = p.sub(*c);
    }
}
