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

/// Dot product with four independent accumulators: entry `k` goes to accumulator `k mod 4`,
/// the result is `(acc₀ + acc₁) + (acc₂ + acc₃)` plus the tail in order. [`dot4`] keeps
/// exactly this order, so both give the same bits.
///
/// The accumulators pass through `black_box` before the final sum: without it LLVM pairs
/// lanes `(0, 2)` and `(1, 3)` for the reduction (or pairs rows in [`dot4`]) and shuffles
/// every chunk inside the loop; with it the loop is plain loads, `mulpd` and `addpd` on
/// x86-64 SSE2 (the SVM benchmark's single-threaded fit: 65 s → 50 s of CPU).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let b = &b[..a.len()];
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let acc = std::hint::black_box(acc);
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ta.iter().zip(tb) {
        s += x * y;
    }
    s
}

/// `[dot(a, b₀), dot(a, b₁), dot(a, b₂), dot(a, b₃)]`, bit for bit, loading each chunk of
/// `a` once for the four products.
pub(crate) fn dot4(a: &[f64], b: [&[f64]; 4]) -> [f64; 4] {
    let n = a.len();
    let b = b.map(|r| &r[..n]);
    let mut acc = [[0.0f64; 4]; 4];
    let chunks = a
        .chunks_exact(4)
        .zip(b[0].chunks_exact(4))
        .zip(b[1].chunks_exact(4))
        .zip(b[2].chunks_exact(4))
        .zip(b[3].chunks_exact(4));
    for ((((x, y0), y1), y2), y3) in chunks {
        for (acc_r, y) in acc.iter_mut().zip([y0, y1, y2, y3]) {
            for l in 0..4 {
                acc_r[l] += x[l] * y[l];
            }
        }
    }
    let acc = std::hint::black_box(acc);
    let t = n - n % 4;
    let mut out = [0.0; 4];
    for ((o, acc_r), br) in out.iter_mut().zip(&acc).zip(b) {
        let mut s = (acc_r[0] + acc_r[1]) + (acc_r[2] + acc_r[3]);
        for (x, y) in a[t..].iter().zip(&br[t..]) {
            s += x * y;
        }
        *o = s;
    }
    out
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
        self.k_of_dot(i, j, dot(self.row(i), self.row(j)))
    }

    /// `K(xᵢ, xⱼ)` given `d = xᵢ·xⱼ`.
    fn k_of_dot(&self, i: usize, j: usize, d: f64) -> f64 {
        match self.kernel {
            KernelFn::Linear => d,
            KernelFn::Rbf { gamma } => (-gamma * (self.sq[i] + self.sq[j] - 2.0 * d)).exp(),
        }
    }

    /// `K(xᵢ, z)` for an outside point `z` with squared norm `z_sq`.
    pub(crate) fn k_point(&self, i: usize, z: &[f64], z_sq: f64) -> f64 {
        self.k_of_point_dot(i, z_sq, dot(self.row(i), z))
    }

    /// `K(xᵢ, z)` given `d = xᵢ·z`.
    fn k_of_point_dot(&self, i: usize, z_sq: f64, d: f64) -> f64 {
        match self.kernel {
            KernelFn::Linear => d,
            KernelFn::Rbf { gamma } => (-gamma * (self.sq[i] + z_sq - 2.0 * d)).exp(),
        }
    }

    /// `out[t] = K(x_{rows[t]}, z)` for an outside point `z` with squared norm `z_sq`: the
    /// same bits as [`KernelData::k_point`], four rows per pass over `z`.
    pub(crate) fn k_points(&self, rows: &[usize], z: &[f64], z_sq: f64, out: &mut [f64]) {
        let mut oc = out.chunks_exact_mut(4);
        let mut rc = rows.chunks_exact(4);
        for (o, r) in (&mut oc).zip(&mut rc) {
            let d = dot4(
                z,
                [
                    self.row(r[0]),
                    self.row(r[1]),
                    self.row(r[2]),
                    self.row(r[3]),
                ],
            );
            for l in 0..4 {
                o[l] = self.k_of_point_dot(r[l], z_sq, d[l]);
            }
        }
        for (ov, &ri) in oc.into_remainder().iter_mut().zip(rc.remainder()) {
            *ov = self.k_point(ri, z, z_sq);
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
                .for_each(|(c, (o, r))| self.fill_span(i, r, o, c * 256, &f));
        } else {
            self.fill_span(i, rows, out, 0, &f);
        }
    }

    /// `out[t] = f(first + t, K(x_i, x_{rows[t]}))` on this thread, four entries per pass
    /// over `x_i` (the same bits as [`KernelData::k`]).
    fn fill_span(
        &self,
        i: usize,
        rows: &[usize],
        out: &mut [f32],
        first: usize,
        f: &impl Fn(usize, f64) -> f64,
    ) {
        let xi = self.row(i);
        let mut oc = out.chunks_exact_mut(4);
        let mut rc = rows.chunks_exact(4);
        for (g, (o, r)) in (&mut oc).zip(&mut rc).enumerate() {
            let d = dot4(
                xi,
                [
                    self.row(r[0]),
                    self.row(r[1]),
                    self.row(r[2]),
                    self.row(r[3]),
                ],
            );
            for l in 0..4 {
                o[l] = f(first + 4 * g + l, self.k_of_dot(i, r[l], d[l])) as f32;
            }
        }
        let done = rows.len() - rc.remainder().len();
        for (t, (ov, &rj)) in oc
            .into_remainder()
            .iter_mut()
            .zip(rc.remainder())
            .enumerate()
        {
            *ov = f(first + done + t, self.k(i, rj)) as f32;
        }
    }
}

const NIL: usize = usize::MAX;

/// One row slot of [`Cache`]: its LRU links next to its storage, so that walking the list
/// (as [`Cache::swap_index`] does for every cached row) touches one place per row, like
/// libsvm's `head_t`.
#[derive(Debug, Clone)]
struct Node {
    prev: usize,
    next: usize,
    data: Vec<f32>,
}

/// libsvm's kernel-row cache: row `i` holds its first `len` entries; least recently used
/// rows are freed when the budget (in `f32` entries) runs out.
#[derive(Debug)]
pub(crate) struct Cache {
    nodes: Vec<Node>,
    head: usize,
    tail: usize,
    free: usize,
}

impl Cache {
    /// A cache for `l` rows of at most `l` entries with `bytes` of budget (at least two
    /// full rows, as libsvm guarantees).
    pub(crate) fn new(l: usize, bytes: usize) -> Self {
        let entries = bytes / std::mem::size_of::<f32>();
        let empty = Node {
            prev: NIL,
            next: NIL,
            data: Vec::new(),
        };
        Cache {
            nodes: vec![empty; l],
            head: NIL,
            tail: NIL,
            free: entries.max(2 * l),
        }
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.nodes[i].prev, self.nodes[i].next);
        if p == NIL {
            self.head = n;
        } else {
            self.nodes[p].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.nodes[n].prev = p;
        }
        self.nodes[i].prev = NIL;
        self.nodes[i].next = NIL;
    }

    fn push_back(&mut self, i: usize) {
        self.nodes[i].prev = self.tail;
        self.nodes[i].next = NIL;
        if self.tail == NIL {
            self.head = i;
        } else {
            self.nodes[self.tail].next = i;
        }
        self.tail = i;
    }

    /// Frees row `i`'s storage (it must be unlinked already).
    fn release(&mut self, i: usize) {
        self.free += self.nodes[i].data.len();
        self.nodes[i].data = Vec::new();
    }

    /// Makes row `i` hold `len` entries and marks it most recently used. Returns the
    /// number already valid: entries `start..len` must be computed by the caller.
    pub(crate) fn get(&mut self, i: usize, len: usize) -> usize {
        let have = self.nodes[i].data.len();
        if have > 0 {
            self.unlink(i);
        }
        let more = len.saturating_sub(have);
        if more > 0 {
            while self.free < more {
                let old = self.head;
                self.unlink(old);
                self.release(old);
            }
            self.nodes[i].data.resize(len, 0.0);
            self.free -= more;
        }
        if !self.nodes[i].data.is_empty() {
            self.push_back(i);
        }
        have.min(len)
    }

    /// Row `i`'s storage (valid up to the last `get`'s `len`).
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.nodes[i].data
    }

    /// Row `i`'s storage, to fill.
    pub(crate) fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.nodes[i].data
    }

    /// Swaps positions `i` and `j` in every cached row and swaps the rows themselves; a row
    /// holding `i` but not `j` is freed (libsvm's "give up").
    pub(crate) fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let (hi, hj) = (
            !self.nodes[i].data.is_empty(),
            !self.nodes[j].data.is_empty(),
        );
        if hi {
            self.unlink(i);
        }
        if hj {
            self.unlink(j);
        }
        let di = std::mem::take(&mut self.nodes[i].data);
        self.nodes[i].data = std::mem::replace(&mut self.nodes[j].data, di);
        if !self.nodes[i].data.is_empty() {
            self.push_back(i);
        }
        if !self.nodes[j].data.is_empty() {
            self.push_back(j);
        }
        let (lo, hi) = if i < j { (i, j) } else { (j, i) };
        let mut h = self.head;
        while h != NIL {
            let node = &mut self.nodes[h];
            let nx = node.next;
            let len = node.data.len();
            if len > lo {
                if len > hi {
                    node.data.swap(lo, hi);
                } else {
                    self.unlink(h);
                    self.release(h);
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
    /// The diagonal `Qᵢᵢ`, in the current order.
    fn qd(&self) -> &[f64];
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

    fn qd(&self) -> &[f64] {
        &self.qd
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

    fn qd(&self) -> &[f64] {
        &self.qd
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

    /// Rows of `n × d` values with a spread of magnitudes (so rounding order matters).
    fn spread_rows(n: usize, d: usize) -> Vec<f64> {
        (0..n * d)
            .map(|k| {
                let v = ((k * 7919 + 13) % 1009) as f64 / 97.0 - 5.0;
                v * 10f64.powi((k % 7) as i32 - 3)
            })
            .collect()
    }

    #[test]
    fn dot4_and_batched_rows_give_the_same_bits_as_dot() {
        // d = 104 (the benchmark), a multiple of 4, and odd widths with a tail.
        for d in [104usize, 8, 7, 3, 1] {
            let x = spread_rows(9, d);
            let row = |i: usize| &x[i * d..(i + 1) * d];
            let got = dot4(row(0), [row(1), row(2), row(3), row(4)]);
            for (r, g) in got.iter().enumerate() {
                assert_eq!(
                    g.to_bits(),
                    dot(row(0), row(r + 1)).to_bits(),
                    "d={d} r={r}"
                );
            }
            for kernel in [KernelFn::Linear, KernelFn::Rbf { gamma: 0.01 }] {
                let data = KernelData::new(x.clone(), d, kernel).sequential_rows();
                // 7 rows: one group of four and a tail of three.
                let rows = [8usize, 1, 5, 2, 7, 3, 6];
                let mut out = vec![0.0f32; rows.len()];
                data.fill_span(4, &rows, &mut out, 10, &|t, k| (t as f64) * k);
                let z = row(0);
                let z_sq = dot(z, z);
                let mut kv = vec![0.0; rows.len()];
                data.k_points(&rows, z, z_sq, &mut kv);
                for (t, &r) in rows.iter().enumerate() {
                    let want = ((10 + t) as f64 * data.k(4, r)) as f32;
                    assert_eq!(out[t].to_bits(), want.to_bits(), "d={d} t={t}");
                    let want = data.k_point(r, z, z_sq);
                    assert_eq!(kv[t].to_bits(), want.to_bits(), "d={d} t={t}");
                }
            }
        }
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
