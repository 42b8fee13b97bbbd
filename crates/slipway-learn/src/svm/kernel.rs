//! Kernel evaluation and the `Q` matrices the SMO solver reads, with libsvm's LRU cache of
//! kernel rows.
//!
//! [`KernelData`] is a row-major copy of the training rows with their squared norms, so one
//! RBF entry costs one dot product: `exp(−γ(‖xᵢ‖² + ‖xⱼ‖² − 2xᵢ·xⱼ))`. Long rows are
//! computed in parallel with rayon. [`SvcQ`] (`Qᵢⱼ = yᵢyⱼK(xᵢ,xⱼ)`) and [`SvrQ`] (the
//! doubled ε-SVR problem) cache rows as `f32` like libsvm's `Qfloat`.

use rayon::prelude::*;

/// Entries per kernel row below which a row is computed on one thread.
const PAR_MIN_WORK: usize = 1 << 16;

/// The kernel function with its resolved parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum KernelFn {
    /// `xᵢ·xⱼ`.
    Linear,
    /// `exp(−γ‖xᵢ − xⱼ‖²)`.
    Rbf { gamma: f64 },
}

/// Dot product with four independent accumulators (lets the compiler vectorize).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        let k = c * 4;
        acc[0] += a[k] * b[k];
        acc[1] += a[k + 1] * b[k + 1];
        acc[2] += a[k + 2] * b[k + 2];
        acc[3] += a[k + 3] * b[k + 3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for k in chunks * 4..a.len() {
        s += a[k] * b[k];
    }
    s
}

/// Training rows in row-major order with squared norms.
#[derive(Debug, Clone)]
pub(crate) struct KernelData {
    x: Vec<f64>,
    sq: Vec<f64>,
    d: usize,
    kernel: KernelFn,
    parallel_rows: bool,
}

impl KernelData {
    /// From row-major `x` with `d` columns.
    pub(crate) fn new(x: Vec<f64>, d: usize, kernel: KernelFn) -> Self {
        let sq = if d == 0 {
            vec![0.0; 0]
        } else {
            x.chunks_exact(d).map(|r| dot(r, r)).collect()
        };
        KernelData {
            x,
            sq,
            d,
            kernel,
            parallel_rows: true,
        }
    }

    /// Computes long kernel rows on one thread: for fits that already run several
    /// machines in parallel, where nested row parallelism only adds scheduling overhead.
    pub(crate) fn sequential_rows(mut self) -> Self {
        self.parallel_rows = false;
        self
    }

    /// Row `i`.
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// `K(xᵢ, xⱼ)`.
    pub(crate) fn k(&self, i: usize, j: usize) -> f64 {
        let d = dot(self.row(i), self.row(j));
        match self.kernel {
            KernelFn::Linear => d,
            KernelFn::Rbf { gamma } => (-gamma * (self.sq[i] + self.sq[j] - 2.0 * d)).exp(),
        }
    }

    /// `K(xᵢ, z)` for an outside point `z` with squared norm `z_sq`.
    pub(crate) fn k_point(&self, i: usize, z: &[f64], z_sq: f64) -> f64 {
        let d = dot(self.row(i), z);
        match self.kernel {
            KernelFn::Linear => d,
            KernelFn::Rbf { gamma } => (-gamma * (self.sq[i] + z_sq - 2.0 * d)).exp(),
        }
    }

    /// Fills `out[t] = f(t, K(x_i, x_{rows[t]}))` for every `t`, in parallel when long.
    fn fill_row(
        &self,
        i: usize,
        rows: &[usize],
        out: &mut [f32],
        f: impl Fn(usize, f64) -> f64 + Sync,
    ) {
        let work = rows.len() * self.d.max(1);
        if self.parallel_rows && work >= PAR_MIN_WORK && rows.len() >= 256 {
            out.par_chunks_mut(256)
                .zip(rows.par_chunks(256))
                .enumerate()
                .for_each(|(c, (o, r))| {
                    for (t, (ov, &rj)) in o.iter_mut().zip(r).enumerate() {
                        *ov = f(c * 256 + t, self.k(i, rj)) as f32;
                    }
                });
        } else {
            for (t, (ov, &rj)) in out.iter_mut().zip(rows).enumerate() {
                *ov = f(t, self.k(i, rj)) as f32;
            }
        }
    }
}

const NIL: usize = usize::MAX;

/// libsvm's kernel-row cache: row `i` holds its first `len` entries; least recently used
/// rows are freed when the budget (in `f32` entries) runs out.
#[derive(Debug)]
pub(crate) struct Cache {
    rows: Vec<Vec<f32>>,
    prev: Vec<usize>,
    next: Vec<usize>,
    head: usize,
    tail: usize,
    free: usize,
}

impl Cache {
    /// A cache for `l` rows of at most `l` entries with `bytes` of budget (at least two
    /// full rows, as libsvm guarantees).
    pub(crate) fn new(l: usize, bytes: usize) -> Self {
        let entries = bytes / std::mem::size_of::<f32>();
        Cache {
            rows: vec![Vec::new(); l],
            prev: vec![NIL; l],
            next: vec![NIL; l],
            head: NIL,
            tail: NIL,
            free: entries.max(2 * l),
        }
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.prev[i], self.next[i]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n] = p;
        }
        self.prev[i] = NIL;
        self.next[i] = NIL;
    }

    fn push_back(&mut self, i: usize) {
        self.prev[i] = self.tail;
        self.next[i] = NIL;
        if self.tail == NIL {
            self.head = i;
        } else {
            self.next[self.tail] = i;
        }
        self.tail = i;
    }

    /// Makes row `i` hold `len` entries and marks it most recently used. Returns the
    /// number already valid: entries `start..len` must be computed by the caller.
    pub(crate) fn get(&mut self, i: usize, len: usize) -> usize {
        let have = self.rows[i].len();
        if have > 0 {
            self.unlink(i);
        }
        let more = len.saturating_sub(have);
        if more > 0 {
            while self.free < more {
                let old = self.head;
                self.unlink(old);
                self.free += self.rows[old].len();
                self.rows[old] = Vec::new();
            }
            self.rows[i].resize(len, 0.0);
            self.free -= more;
        }
        if !self.rows[i].is_empty() {
            self.push_back(i);
        }
        have.min(len)
    }

    /// Row `i`'s storage (valid up to the last `get`'s `len`).
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.rows[i]
    }

    /// Row `i`'s storage, to fill.
    pub(crate) fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.rows[i]
    }

    /// Swaps positions `i` and `j` in every cached row and swaps the rows themselves; a row
    /// holding `i` but not `j` is freed (libsvm's "give up").
    pub(crate) fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let (hi, hj) = (!self.rows[i].is_empty(), !self.rows[j].is_empty());
        if hi {
            self.unlink(i);
        }
        if hj {
            self.unlink(j);
        }
        self.rows.swap(i, j);
        if !self.rows[i].is_empty() {
            self.push_back(i);
        }
        if !self.rows[j].is_empty() {
            self.push_back(j);
        }
        let (lo, hi) = if i < j { (i, j) } else { (j, i) };
        let mut h = self.head;
        while h != NIL {
            let nx = self.next[h];
            let len = self.rows[h].len();
            if len > lo {
                if len > hi {
                    self.rows[h].swap(lo, hi);
                } else {
                    self.unlink(h);
                    self.free += len;
                    self.rows[h] = Vec::new();
                }
            }
            h = nx;
        }
    }
}

/// Which buffer holds a row returned by [`QMatrix::load`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot(usize);

/// The solver's view of `Q`: rows on demand, the diagonal, and index swaps for shrinking.
pub(crate) trait QMatrix {
    /// Makes the first `len` entries of row `i` available; read them with [`QMatrix::row`].
    /// The two most recently loaded rows stay valid together.
    fn load(&mut self, i: usize, len: usize) -> Slot;
    /// A row loaded by [`QMatrix::load`].
    fn row(&self, s: Slot) -> &[f32];
    /// `Qᵢᵢ`.
    fn qd(&self, i: usize) -> f64;
    /// Swaps positions `i` and `j`.
    fn swap_index(&mut self, i: usize, j: usize);
}

/// `Qᵢⱼ = yᵢyⱼK(xᵢ, xⱼ)` over a subset of [`KernelData`] rows (C-SVC).
pub(crate) struct SvcQ<'a> {
    data: &'a KernelData,
    rows: Vec<usize>,
    y: Vec<i8>,
    qd: Vec<f64>,
    cache: Cache,
}

impl<'a> SvcQ<'a> {
    /// `rows[t]` is the data row at position `t`, `y[t]` its ±1 label.
    pub(crate) fn new(
        data: &'a KernelData,
        rows: Vec<usize>,
        y: &[i8],
        cache_bytes: usize,
    ) -> Self {
        let qd = rows.iter().map(|&r| data.k(r, r)).collect();
        let l = rows.len();
        SvcQ {
            data,
            rows,
            y: y.to_vec(),
            qd,
            cache: Cache::new(l, cache_bytes),
        }
    }
}

impl QMatrix for SvcQ<'_> {
    fn load(&mut self, i: usize, len: usize) -> Slot {
        let start = self.cache.get(i, len);
        if start < len {
            let (data, rows, y) = (self.data, &self.rows, &self.y);
            let (ri, yi) = (rows[i], f64::from(y[i]));
            let ys = &y[start..len];
            data.fill_row(
                ri,
                &rows[start..len],
                &mut self.cache.row_mut(i)[start..len],
                |t, k| yi * f64::from(ys[t]) * k,
            );
        }
        Slot(i)
    }

    fn row(&self, s: Slot) -> &[f32] {
        self.cache.row(s.0)
    }

    fn qd(&self, i: usize) -> f64 {
        self.qd[i]
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.cache.swap_index(i, j);
        self.rows.swap(i, j);
        self.y.swap(i, j);
        self.qd.swap(i, j);
    }
}

/// The ε-SVR problem over `2n` variables: position `t < n` is `αₜ` (sign +1), `t + n` is
/// `αₜ*` (sign −1); `Q_st = sign_s·sign_t·K(x_s, x_t)`. Kernel rows of the `n` real points
/// are cached; the signed rows go through two alternating buffers, as in libsvm.
pub(crate) struct SvrQ<'a> {
    data: &'a KernelData,
    rows: Vec<usize>,
    sign: Vec<i8>,
    index: Vec<usize>,
    qd: Vec<f64>,
    cache: Cache,
    buffers: [Vec<f32>; 2],
    next_buffer: usize,
}

impl<'a> SvrQ<'a> {
    /// Over data rows `rows` (the `n` real points).
    pub(crate) fn new(data: &'a KernelData, rows: Vec<usize>, cache_bytes: usize) -> Self {
        let n = rows.len();
        let diag: Vec<f64> = rows.iter().map(|&r| data.k(r, r)).collect();
        let mut qd = diag.clone();
        qd.extend_from_slice(&diag);
        let mut sign = vec![1i8; n];
        sign.extend(std::iter::repeat_n(-1i8, n));
        let index: Vec<usize> = (0..n).chain(0..n).collect();
        SvrQ {
            data,
            rows,
            sign,
            index,
            qd,
            cache: Cache::new(n, cache_bytes),
            buffers: [vec![0.0; 2 * n], vec![0.0; 2 * n]],
            next_buffer: 0,
        }
    }
}

impl QMatrix for SvrQ<'_> {
    fn load(&mut self, i: usize, len: usize) -> Slot {
        let n = self.rows.len();
        let real_i = self.index[i];
        let start = self.cache.get(real_i, n);
        if start < n {
            let ri = self.rows[real_i];
            let rows = &self.rows[start..n];
            self.data.fill_row(
                ri,
                rows,
                &mut self.cache.row_mut(real_i)[start..n],
                |_, k| k,
            );
        }
        let b = self.next_buffer;
        self.next_buffer = 1 - b;
        let si = f32::from(self.sign[i]);
        let krow = self.cache.row(real_i);
        let buf = &mut self.buffers[b];
        for ((o, &s), &ix) in buf[..len].iter_mut().zip(&self.sign).zip(&self.index) {
            *o = si * f32::from(s) * krow[ix];
        }
        Slot(b)
    }

    fn row(&self, s: Slot) -> &[f32] {
        &self.buffers[s.0]
    }

    fn qd(&self, i: usize) -> f64 {
        self.qd[i]
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.sign.swap(i, j);
        self.index.swap(i, j);
        self.qd.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_evicts_least_recently_used_and_swaps() {
        // Budget of 2 full rows of 3.
        let mut c = Cache::new(3, 6 * 4);
        assert_eq!(c.get(0, 3), 0);
        c.row_mut(0).copy_from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(c.get(1, 3), 0);
        c.row_mut(1).copy_from_slice(&[4.0, 5.0, 6.0]);
        assert_eq!(c.get(0, 3), 3);
        // Row 2 needs room: row 1 (least recently used) goes.
        assert_eq!(c.get(2, 3), 0);
        assert!(c.row(1).is_empty());
        c.swap_index(0, 2);
        assert_eq!(c.row(2), &[3.0, 2.0, 1.0]);
    }

    #[test]
    fn rbf_matches_direct_formula() {
        let x = vec![0.0, 1.0, 2.0, -1.0, 0.5, 0.5];
        let d = KernelData::new(x, 2, KernelFn::Rbf { gamma: 0.3 });
        let want = (-0.3f64 * (4.0 + 4.0)).exp();
        assert!((d.k(0, 1) - want).abs() < 1e-15);
        assert!((d.k(2, 2) - 1.0).abs() < 1e-15);
    }
}
