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
/// `offs[i]` the start of its bins in the block's histogram slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block<'a> {
    /// Feature columns.
    pub feats: &'a [u32],
    /// Start of each feature's bins in the block's histogram.
    pub offs: &'a [u32],
    /// `Some(f0)` when `feats` is `f0, f0+1, ...` (a contiguous run of columns).
    pub contiguous: Option<usize>,
}

/// Adds the gradient pairs of `rows` to `hist` (the block's slice of a histogram) for the
/// block's features. `data` is the row-major bins with `nf` columns.
pub(crate) fn accumulate(
    hist: &mut [HistBin],
    data: &[u8],
    nf: usize,
    block: Block<'_>,
    rows: Rows<'_>,
    gh: &[[f32; 2]],
) {
    let offs = block.offs;
    let nb = block.feats.len();
    match (rows, block.contiguous) {
        (Rows::Range(s, e), Some(f0)) => {
            for (row, &[g, h]) in data[s * nf..e * nf].chunks_exact(nf).zip(&gh[s..e]) {
                add_row(hist, &row[f0..f0 + nb], offs, f64::from(g), f64::from(h));
            }
        }
        (Rows::Some(idx), Some(f0)) => {
            for &r in idx {
                let r = r as usize;
                let [g, h] = gh[r];
                let start = r * nf + f0;
                add_row(
                    hist,
                    &data[start..start + nb],
                    offs,
                    f64::from(g),
                    f64::from(h),
                );
            }
        }
        (Rows::Range(s, e), None) => {
            for (row, &[g, h]) in data[s * nf..e * nf].chunks_exact(nf).zip(&gh[s..e]) {
                add_row_gather(hist, row, block.feats, offs, f64::from(g), f64::from(h));
            }
        }
        (Rows::Some(idx), None) => {
            for &r in idx {
                let r = r as usize;
                let [g, h] = gh[r];
                let row = &data[r * nf..(r + 1) * nf];
                add_row_gather(hist, row, block.feats, offs, f64::from(g), f64::from(h));
            }
        }
    }
}

#[inline(always)]
fn add_row(hist: &mut [HistBin], bins: &[u8], offs: &[u32], g: f64, h: f64) {
    for (&b, &o) in bins.iter().zip(offs) {
        let e = &mut hist[o as usize + b as usize];
        e.g += g;
        e.h += h;
    }
}

#[inline(always)]
fn add_row_gather(hist: &mut [HistBin], row: &[u8], feats: &[u32], offs: &[u32], g: f64, h: f64) {
    for (&f, &o) in feats.iter().zip(offs) {
        let e = &mut hist[o as usize + row[f as usize] as usize];
        e.g += g;
        e.h += h;
    }
}

/// `parent -= child`, turning a parent's histogram into its other child's.
pub(crate) fn subtract(parent: &mut [HistBin], child: &[HistBin]) {
    for (p, c) in parent.iter_mut().zip(child) {
        *p = p.sub(*c);
    }
}
