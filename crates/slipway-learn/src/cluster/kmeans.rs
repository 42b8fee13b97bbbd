//! k-means by Lloyd's algorithm (scikit-learn's `KMeans(algorithm="lloyd")`).
//!
//! Like scikit-learn: the columns are centered first (for precision), rows are assigned to
//! the center minimizing `‖c‖² − 2·x·c` (computed for blocks of 256 rows, in parallel over
//! blocks, with the arithmetic of the BLAS call in scikit-learn's `_kmeans_single_lloyd`, by
//! a kernel of its own, see `assign_block`), an empty cluster is moved to the row farthest from its center, and iteration
//! stops when the labels no longer change ("strict convergence") or when the sum of squared
//! center moves is at most `tol · mean(Var(X_j))`; without strict convergence the rows are
//! reassigned to the final centers. From the same explicit initial centers, labels,
//! iterations and inertia equal scikit-learn's (centers to round-off).
//!
//! Seeding draws from NumPy's legacy `RandomState(seed)` (MT19937, see `numpy_random`) in
//! scikit-learn's order: k-means++ (greedy, `2 + ⌊ln k⌋` candidates per center) and random
//! initial centers pick the rows scikit-learn picks for `random_state=seed`, so the whole
//! fit equals scikit-learn's (up to a round-off tie in a draw). Successive `n_init` runs
//! continue the same generator, as scikit-learn's do.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::numpy_random::RandomState;
use super::{Clusterer, check_features, check_finite, row_major};
use crate::gemm::gemm_abt;
use crate::linear::with_threads;
use crate::{Error, FeatureMeta, Matrix, Result};

/// How the initial centers are chosen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KMeansInit {
    /// k-means++ with `2 + ⌊ln k⌋` candidates per step, scikit-learn's greedy variant
    /// (default), with scikit-learn's draws for the same seed. Also written `k-means++`.
    #[default]
    #[serde(alias = "k-means++")]
    KmeansPlusplus,
    /// `k` distinct rows drawn uniformly (scikit-learn's draws for the same seed).
    Random,
    /// These centers (`n_clusters` rows of `n_features`); `n_init` must be 1.
    Explicit(Vec<Vec<f64>>),
}

/// Hyperparameters of [`KMeans`], as read from a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KMeansParams {
    /// Number of clusters `k` (default 8).
    pub n_clusters: usize,
    /// `kmeans_plusplus` (default), `random` or `explicit: [[...], ...]`.
    pub init: KMeansInit,
    /// Runs from different initial centers; the lowest inertia wins (default 1, which is
    /// scikit-learn's `"auto"` for k-means++).
    pub n_init: usize,
    /// Maximum Lloyd iterations per run (default 300).
    pub max_iter: usize,
    /// Convergence tolerance on the squared center moves, relative to the mean feature
    /// variance (default 1e-4).
    pub tol: f64,
    /// Seed of the initialization: NumPy's `RandomState(seed)`, i.e. scikit-learn's
    /// `random_state` (default 0).
    pub seed: u64,
    /// Threads (default: rayon's global pool).
    pub n_threads: Option<usize>,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            n_clusters: 8,
            init: KMeansInit::KmeansPlusplus,
            n_init: 1,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            n_threads: None,
        }
    }
}

impl KMeansParams {
    /// Checks the hyperparameters once; the error names the parameter and the rule.
    pub fn check(&self) -> Result<KMeans> {
        if self.n_clusters == 0 {
            return Err(Error::param("n_clusters", "must be at least 1, got 0"));
        }
        if self.n_init == 0 {
            return Err(Error::param("n_init", "must be at least 1, got 0"));
        }
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1, got 0"));
        }
        if !self.tol.is_finite() || self.tol < 0.0 {
            return Err(Error::param(
                "tol",
                format!("must be finite and >= 0, got {}", self.tol),
            ));
        }
        if self.n_threads == Some(0) {
            return Err(Error::param("n_threads", "must be at least 1, got 0"));
        }
        if let KMeansInit::Explicit(c) = &self.init {
            if c.len() != self.n_clusters {
                return Err(Error::param(
                    "init",
                    format!(
                        "has {} centers but n_clusters is {}",
                        c.len(),
                        self.n_clusters
                    ),
                ));
            }
            if self.n_init != 1 {
                return Err(Error::param(
                    "n_init",
                    format!(
                        "must be 1 with explicit initial centers, got {}",
                        self.n_init
                    ),
                ));
            }
            if c.iter().flatten().any(|v| !v.is_finite()) {
                return Err(Error::param("init", "centers must be finite"));
            }
        }
        Ok(KMeans {
            params: self.clone(),
        })
    }
}

/// Checked k-means; [`Clusterer::fit`] returns a [`KMeansModel`].
#[derive(Debug, Clone)]
pub struct KMeans {
    params: KMeansParams,
}

impl KMeans {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &KMeansParams {
        &self.params
    }
}

/// A fitted k-means model (scikit-learn's attribute names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansModel {
    /// Cluster centers, `n_clusters` rows of `n_features`.
    pub centers: Vec<Vec<f64>>,
    /// Sum of squared distances of the training rows to their centers.
    pub inertia: f64,
    /// Lloyd iterations of the winning run.
    pub n_iter: usize,
    /// The cluster of each training row.
    pub labels: Vec<usize>,
}

impl KMeansModel {
    /// The nearest center (Euclidean; ties: lowest index) of every row of `x`.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        let p = self.centers.first().map_or(0, Vec::len);
        if x.n_cols() != p {
            return Err(Error::SchemaMismatch(format!(
                "model was fitted on {p} features, got {}",
                x.n_cols()
            )));
        }
        check_finite(x, None, "k-means")?;
        let rows = row_major(x);
        Ok(rows
            .par_chunks(p.max(1))
            .take(x.n_rows())
            .map(|r| {
                let mut best = (f64::INFINITY, 0);
                for (c, center) in self.centers.iter().enumerate() {
                    let d: f64 = r.iter().zip(center).map(|(a, b)| (a - b) * (a - b)).sum();
                    if d < best.0 {
                        best = (d, c);
                    }
                }
                best.1
            })
            .collect())
    }
}

/// Rows per parallel task; fixed so that sums are combined in the same order however many
/// threads run.
const CHUNK: usize = 2048;
/// Rows per distance block (scikit-learn's chunk size).
const BLOCK_ROWS: usize = 256;

/// Row-major, centered data and its squared row norms.
struct Data {
    x: Vec<f64>,
    norms: Vec<f64>,
    n: usize,
    p: usize,
}

impl Data {
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl Clusterer for KMeans {
    type Fitted = KMeansModel;

    fn fit(&self, x: &Matrix, features: &[FeatureMeta]) -> Result<KMeansModel> {
        check_features(x, features)?;
        check_finite(x, Some(features), "k-means")?;
        let (n, p) = (x.n_rows(), x.n_cols());
        let k = self.params.n_clusters;
        if k > n {
            return Err(Error::InvalidData(format!(
                "n_clusters is {k} but there are only {n} rows"
            )));
        }
        if let KMeansInit::Explicit(c) = &self.params.init {
            if let Some(i) = c.iter().position(|r| r.len() != p) {
                return Err(Error::param(
                    "init",
                    format!("center {i} has {} values, expected {p}", c[i].len()),
                ));
            }
        }
        with_threads(self.params.n_threads, || self.fit_inner(x))?
    }
}

impl KMeans {
    fn fit_inner(&self, x: &Matrix) -> Result<KMeansModel> {
        let (n, p) = (x.n_rows(), x.n_cols());
        let k = self.params.n_clusters;
        let mut mean = vec![0.0; p];
        let mut var_sum = 0.0;
        for (j, m) in mean.iter_mut().enumerate() {
            let col = x.col(j);
            *m = col.iter().sum::<f64>() / n as f64;
            var_sum += col.iter().map(|v| (v - *m) * (v - *m)).sum::<f64>() / n as f64;
        }
        let tol = if self.params.tol == 0.0 {
            0.0
        } else {
            var_sum / p as f64 * self.params.tol
        };
        let mut xr = row_major(x);
        for r in xr.chunks_mut(p.max(1)) {
            for (v, m) in r.iter_mut().zip(&mean) {
                *v -= m;
            }
        }
        let norms = xr
            .chunks_exact(p.max(1))
            .take(n)
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect();
        let data = Data { x: xr, norms, n, p };
        let mut rng = RandomState::new(self.params.seed);
        let mut best: Option<(Vec<f64>, Vec<usize>, f64, usize)> = None;
        for _ in 0..self.params.n_init {
            let init: Vec<f64> = match &self.params.init {
                KMeansInit::Explicit(c) => c
                    .iter()
                    .flat_map(|r| r.iter().zip(&mean).map(|(v, m)| v - m))
                    .collect(),
                KMeansInit::Random => rng
                    .choice_without_replacement(n, k)
                    .into_iter()
                    .flat_map(|i| data.row(i).to_vec())
                    .collect(),
                KMeansInit::KmeansPlusplus => kmeans_plusplus(&data, k, &mut rng),
            };
            let (centers, labels, inertia, n_iter) =
                lloyd(&data, init, k, self.params.max_iter, tol);
            if best.as_ref().is_none_or(|b| inertia < b.2) {
                best = Some((centers, labels, inertia, n_iter));
            }
        }
        let (centers, labels, inertia, n_iter) =
            best.ok_or_else(|| Error::Internal("k-means ran no initialization".into()))?;
        let centers = centers
            .chunks(p.max(1))
            .take(k)
            .map(|c| c.iter().zip(&mean).map(|(v, m)| v + m).collect())
            .collect();
        Ok(KMeansModel {
            centers,
            inertia,
            n_iter,
            labels,
        })
    }
}

/// scikit-learn's greedy k-means++ (`_kmeans_plusplus`), drawing from `rng` in its order.
/// Squared distances are scikit-learn's `‖x‖² + ‖c‖² − 2·x·c` (clipped at 0), via GEMM.
fn kmeans_plusplus(data: &Data, k: usize, rng: &mut RandomState) -> Vec<f64> {
    let (n, p) = (data.n, data.p);
    let n_trials = 2 + (k as f64).ln() as usize;
    let mut centers = Vec::with_capacity(k * p);
    let first = rng.choice_uniform(n);
    centers.extend_from_slice(data.row(first));
    let mut closest = sq_dists_to(data, &[first]);
    let mut pot = chunked_sum(&closest);
    let mut cumsum = vec![0.0; n];
    for _ in 1..k {
        let draws: Vec<f64> = (0..n_trials).map(|_| rng.random_sample() * pot).collect();
        let mut acc = 0.0;
        for (c, d) in cumsum.iter_mut().zip(&closest) {
            acc += d;
            *c = acc;
        }
        let cands: Vec<usize> = draws
            .iter()
            .map(|&v| cumsum.partition_point(|&c| c < v).min(n - 1))
            .collect();
        // Row-major n × n_trials.
        let d = sq_dists_to(data, &cands);
        let mut best: Option<(f64, usize)> = None;
        for t in 0..n_trials {
            let col: Vec<f64> = (0..n)
                .map(|i| d[i * n_trials + t].min(closest[i]))
                .collect();
            let cand_pot = chunked_sum(&col);
            if best.is_none_or(|b| cand_pot < b.0) {
                best = Some((cand_pot, t));
            }
        }
        if let Some((bp, t)) = best {
            pot = bp;
            for (i, c) in closest.iter_mut().enumerate() {
                *c = d[i * n_trials + t].min(*c);
            }
            centers.extend_from_slice(data.row(cands[t]));
        }
    }
    centers
}

/// Squared distances (`‖x‖² + ‖c‖² − 2·x·c`, at least 0) of every row to the rows `of`:
/// row-major `n × of.len()`.
fn sq_dists_to(data: &Data, of: &[usize]) -> Vec<f64> {
    let (n, p, m) = (data.n, data.p, of.len());
    let cand: Vec<f64> = of.iter().flat_map(|&i| data.row(i).to_vec()).collect();
    let mut out = vec![0.0; n * m];
    out.par_chunks_mut(BLOCK_ROWS * m)
        .enumerate()
        .for_each(|(b, block)| {
            let r0 = b * BLOCK_ROWS;
            let rows = block.len() / m;
            gemm_abt(
                rows,
                m,
                p,
                -2.0,
                &data.x[r0 * p..(r0 + rows) * p],
                &cand,
                0.0,
                block,
            );
            for (r, line) in block.chunks_exact_mut(m).enumerate() {
                for (v, &c) in line.iter_mut().zip(of) {
                    *v = (*v + data.norms[c] + data.norms[r0 + r]).max(0.0);
                }
            }
        });
    out
}

/// Sum in fixed chunks, so the result does not depend on the number of threads.
fn chunked_sum(v: &[f64]) -> f64 {
    let parts: Vec<f64> = v.par_chunks(CHUNK).map(|c| c.iter().sum()).collect();
    parts.iter().sum()
}

/// Per-chunk result of an assignment pass.
struct Partial {
    sums: Vec<f64>,
    counts: Vec<f64>,
}

/// Assigns every row to the center minimizing `‖c‖² − 2·x·c` (writing `labels`); returns
/// per-cluster coordinate sums and counts.
fn assign(data: &Data, centers: &[f64], k: usize, labels: &mut [usize]) -> (Vec<f64>, Vec<f64>) {
    let p = data.p;
    let block_centers = CenterBlock::new(centers, k, p);
    let kp = block_centers.norms.len();
    let partials: Vec<Partial> = labels
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(b, lab)| {
            let mut part = Partial {
                sums: vec![0.0; k * p],
                counts: vec![0.0; k],
            };
            let mut block = vec![0.0; BLOCK_ROWS * kp];
            for (s, lab) in lab.chunks_mut(BLOCK_ROWS).enumerate() {
                let r0 = b * CHUNK + s * BLOCK_ROWS;
                let m = lab.len();
                assign_block(
                    &data.x[r0 * p..(r0 + m) * p],
                    &block_centers,
                    &mut block[..m * kp],
                    lab,
                    &mut part,
                );
            }
            part
        })
        .collect();
    let mut sums = vec![0.0; k * p];
    let mut counts = vec![0.0; k];
    for part in &partials {
        for (s, v) in sums.iter_mut().zip(&part.sums) {
            *s += v;
        }
        for (s, v) in counts.iter_mut().zip(&part.counts) {
            *s += v;
        }
    }
    (sums, counts)
}

/// Centers laid out for [`assign_block`]: transposed (`p` rows of `kp` values, center `j`
/// in column `j`) and padded with zero centers to `kp`, a multiple of [`LANES`], with their
/// squared norms.
struct CenterBlock {
    t: Vec<f64>,
    norms: Vec<f64>,
    p: usize,
    k: usize,
}

/// Centers per kernel step (one AVX-512 or two AVX2 registers of f64).
const LANES: usize = 8;
/// Rows per kernel step: 4 rows × 8 centers keep 8 independent FMA chains in AVX2 registers.
const KERNEL_ROWS: usize = 4;

impl CenterBlock {
    fn new(centers: &[f64], k: usize, p: usize) -> CenterBlock {
        let kp = k.div_ceil(LANES) * LANES;
        let mut t = vec![0.0; p * kp];
        let mut norms = vec![0.0; kp];
        for c in 0..k {
            let center = &centers[c * p..(c + 1) * p];
            for (d, v) in center.iter().enumerate() {
                t[d * kp + c] = *v;
            }
            norms[c] = center.iter().map(|v| v * v).sum();
        }
        CenterBlock { t, norms, p, k }
    }
}

/// Labels the rows of `x` (row-major, `p` columns, `labels.len()` rows) with their nearest
/// center and adds each row to its center's sums and count in `part`. The distances
/// `‖c_j‖² − 2·x·c_j` (written to `dists`, `kp` per row) are scikit-learn's BLAS call
/// (`dgemm` with alpha −2 onto the norms): each dot product accumulates over the features in
/// order, by fused multiply-adds where the CPU has them; ties go to the lowest center.
///
/// Written out rather than through [`crate::gemm`]: with `k` centers far narrower than the
/// rows, a GEMM spends as long packing each row block as multiplying it (perf on the models
/// bench, 100,000 × 28 rows, 8 centers: packing 24–31% of the k-means fit, the multiply
/// 11–16%), and this kernel reads the rows where they lie.
fn assign_block(
    x: &[f64],
    centers: &CenterBlock,
    dists: &mut [f64],
    labels: &mut [usize],
    part: &mut Partial,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: `assign_block_fma` only requires the CPU to support AVX2 and FMA, which
        // was detected just above; it is otherwise the safe `assign_kernel`.
        #[allow(unsafe_code)]
        unsafe {
            assign_block_fma(x, centers, dists, labels, part);
        }
        return;
    }
    assign_kernel::<false>(x, centers, dists, labels, part);
}

/// [`assign_kernel`] compiled with AVX2 and FMA. The distances and the argmin are two
/// functions: inlined into one, LLVM leaves the distance loop scalar (measured: the fit took
/// twice as long).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
unsafe fn assign_block_fma(
    x: &[f64],
    centers: &CenterBlock,
    dists: &mut [f64],
    labels: &mut [usize],
    part: &mut Partial,
) {
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dists_fma(x: &[f64], centers: &CenterBlock, dists: &mut [f64]) {
        dists_kernel::<true>(x, centers, dists);
    }
    #[target_feature(enable = "avx2,fma")]
    unsafe fn nearest_avx2(
        x: &[f64],
        centers: &CenterBlock,
        dists: &[f64],
        labels: &mut [usize],
        part: &mut Partial,
    ) {
        nearest_kernel(x, centers, dists, labels, part);
    }
    // SAFETY: the caller guarantees AVX2 and FMA, all the two functions require.
    unsafe {
        dists_fma(x, centers, dists);
        nearest_avx2(x, centers, dists, labels, part);
    }
}

#[inline(always)]
fn assign_kernel<const FUSED: bool>(
    x: &[f64],
    centers: &CenterBlock,
    dists: &mut [f64],
    labels: &mut [usize],
    part: &mut Partial,
) {
    dists_kernel::<FUSED>(x, centers, dists);
    nearest_kernel(x, centers, dists, labels, part);
}

/// The argmin of each row's distances (ties: lowest center), and the sums and counts.
#[inline(always)]
fn nearest_kernel(
    x: &[f64],
    centers: &CenterBlock,
    dists: &[f64],
    labels: &mut [usize],
    part: &mut Partial,
) {
    let (p, k) = (centers.p, centers.k);
    let kp = centers.norms.len();
    for (i, (l, line)) in labels.iter_mut().zip(dists.chunks_exact(kp)).enumerate() {
        // Branch-free argmin: the nearest center is unpredictable row to row.
        let (mut best, mut best_d) = (0, line[0]);
        for (j, &d) in line[..k].iter().enumerate().skip(1) {
            let closer = d < best_d;
            best = if closer { j } else { best };
            best_d = if closer { d } else { best_d };
        }
        *l = best;
        part.counts[best] += 1.0;
        for (s, v) in part.sums[best * p..(best + 1) * p]
            .iter_mut()
            .zip(&x[i * p..(i + 1) * p])
        {
            *s += v;
        }
    }
}

#[inline(always)]
fn dists_kernel<const FUSED: bool>(x: &[f64], centers: &CenterBlock, out: &mut [f64]) {
    let p = centers.p;
    let kp = centers.norms.len();
    // `out` holds `kp` distances per row (`kp` is a positive multiple of LANES).
    let m = out.len() / kp;
    assert!(
        x.len() >= m * p,
        "dists_kernel: {m} rows need {} values",
        m * p
    );
    let mut r = 0;
    while r < m {
        if m - r >= KERNEL_ROWS {
            let rows: [&[f64]; KERNEL_ROWS] =
                std::array::from_fn(|i| &x[(r + i) * p..(r + i + 1) * p]);
            kernel_rows::<KERNEL_ROWS, FUSED>(rows, p, centers, &mut out[r * kp..]);
            r += KERNEL_ROWS;
        } else {
            kernel_rows::<1, FUSED>([&x[r * p..(r + 1) * p]], p, centers, &mut out[r * kp..]);
            r += 1;
        }
    }
}

/// `R` rows against every group of [`LANES`] centers.
#[inline(always)]
fn kernel_rows<const R: usize, const FUSED: bool>(
    rows: [&[f64]; R],
    p: usize,
    centers: &CenterBlock,
    out: &mut [f64],
) {
    let kp = centers.norms.len();
    for g in (0..kp).step_by(LANES) {
        let mut acc = [[0.0f64; LANES]; R];
        for d in 0..p {
            let c: &[f64; LANES] = centers.t[d * kp + g..d * kp + g + LANES]
                .try_into()
                .expect("LANES values");
            for (a, row) in acc.iter_mut().zip(&rows) {
                let xv = row[d];
                for (a, &cv) in a.iter_mut().zip(c) {
                    *a = if FUSED {
                        xv.mul_add(cv, *a)
                    } else {
                        xv * cv + *a
                    };
                }
            }
        }
        for (i, a) in acc.iter().enumerate() {
            let line = &mut out[i * kp + g..i * kp + g + LANES];
            for ((o, a), n) in line.iter_mut().zip(a).zip(&centers.norms[g..g + LANES]) {
                *o = n + (-2.0 * a);
            }
        }
    }
}

fn inertia(data: &Data, centers: &[f64], labels: &[usize]) -> f64 {
    let p = data.p;
    let parts: Vec<f64> = labels
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(b, lab)| {
            lab.iter()
                .enumerate()
                .map(|(t, &l)| sq_dist(data.row(b * CHUNK + t), &centers[l * p..(l + 1) * p]))
                .sum()
        })
        .collect();
    parts.iter().sum()
}

/// scikit-learn's `_kmeans_single_lloyd`: returns centers, labels, inertia and iterations.
fn lloyd(
    data: &Data,
    mut centers: Vec<f64>,
    k: usize,
    max_iter: usize,
    tol: f64,
) -> (Vec<f64>, Vec<usize>, f64, usize) {
    let p = data.p;
    let mut labels = vec![usize::MAX; data.n];
    let mut labels_old = labels.clone();
    let mut strict = false;
    let mut n_iter = 0;
    for i in 0..max_iter {
        n_iter = i + 1;
        let (mut sums, mut counts) = assign(data, &centers, k, &mut labels);
        relocate_empty(data, &centers, &labels, &mut sums, &mut counts, k);
        let mut shift_tot = 0.0;
        let mut new_centers = centers.clone();
        for c in 0..k {
            if counts[c] > 0.0 {
                for d in 0..p {
                    new_centers[c * p + d] = sums[c * p + d] / counts[c];
                }
            }
            shift_tot += sq_dist(
                &new_centers[c * p..(c + 1) * p],
                &centers[c * p..(c + 1) * p],
            );
        }
        centers = new_centers;
        if labels == labels_old {
            strict = true;
            break;
        }
        if shift_tot <= tol {
            break;
        }
        labels_old.copy_from_slice(&labels);
    }
    if !strict {
        assign(data, &centers, k, &mut labels);
    }
    let inertia = inertia(data, &centers, &labels);
    (centers, labels, inertia, n_iter)
}

/// scikit-learn's `_relocate_empty_clusters_dense`: each empty cluster takes one of the
/// rows farthest from their (old) centers.
fn relocate_empty(
    data: &Data,
    centers_old: &[f64],
    labels: &[usize],
    sums: &mut [f64],
    counts: &mut [f64],
    k: usize,
) {
    let empty: Vec<usize> = (0..k).filter(|&c| counts[c] == 0.0).collect();
    if empty.is_empty() {
        return;
    }
    let p = data.p;
    let dist: Vec<f64> = (0..data.n)
        .into_par_iter()
        .map(|i| {
            sq_dist(
                data.row(i),
                &centers_old[labels[i] * p..(labels[i] + 1) * p],
            )
        })
        .collect();
    if dist.iter().all(|&d| d == 0.0) {
        return;
    }
    let mut order: Vec<usize> = (0..data.n).collect();
    order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    for (&new_c, &far) in empty.iter().zip(&order) {
        let old_c = labels[far];
        let row = data.row(far);
        for d in 0..p {
            sums[old_c * p + d] -= row[d];
            sums[new_c * p + d] = row[d];
        }
        counts[new_c] = 1.0;
        counts[old_c] -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_obvious_blobs_and_predicts() {
        let mut rows = Vec::new();
        for i in 0..60 {
            let c = (i % 3) as f64 * 10.0;
            rows.push(c + (i as f64 * 0.37).sin());
            rows.push(-c + (i as f64 * 0.91).cos());
        }
        let x = Matrix::from_row_major(60, 2, &rows).unwrap();
        let features = vec![FeatureMeta::numeric("a"), FeatureMeta::numeric("b")];
        let m = KMeansParams {
            n_clusters: 3,
            n_init: 3,
            ..Default::default()
        }
        .check()
        .unwrap()
        .fit(&x, &features)
        .unwrap();
        for i in 3..60 {
            assert_eq!(m.labels[i], m.labels[i % 3]);
        }
        assert_eq!(m.predict(&x).unwrap(), m.labels);
        let mut bad = x.clone();
        bad.set(7, 1, f64::NAN);
        let err = KMeansParams::default()
            .check()
            .unwrap()
            .fit(&bad, &features)
            .unwrap_err();
        assert!(
            err.to_string().contains("'b'") && err.to_string().contains("row 7"),
            "{err}"
        );
    }

    /// The portable kernel (for CPUs without AVX2/FMA) and the dispatched one label every
    /// row alike, with center counts not a multiple of the 8-lane groups and row counts not
    /// a multiple of the 4-row steps; both equal the plain `‖c‖² − 2·x·c` argmin.
    #[test]
    fn both_kernels_label_like_the_plain_distances() {
        let (n, p, k) = (203, 5, 11);
        let x: Vec<f64> = (0..n * p).map(|i| (i as f64 * 0.61).sin() * 3.0).collect();
        let centers: Vec<f64> = (0..k * p).map(|i| (i as f64 * 1.7).cos() * 2.0).collect();
        let block = CenterBlock::new(&centers, k, p);
        let kp = block.norms.len();
        let run = |portable: bool| {
            let mut dists = vec![0.0; n * kp];
            let mut labels = vec![0; n];
            let mut part = Partial {
                sums: vec![0.0; k * p],
                counts: vec![0.0; k],
            };
            if portable {
                assign_kernel::<false>(&x, &block, &mut dists, &mut labels, &mut part);
            } else {
                assign_block(&x, &block, &mut dists, &mut labels, &mut part);
            }
            (labels, part.sums, part.counts)
        };
        let plain: Vec<usize> = x
            .chunks_exact(p)
            .map(|r| {
                let d = |c: usize| {
                    let cen = &centers[c * p..(c + 1) * p];
                    let dot: f64 = r.iter().zip(cen).map(|(a, b)| a * b).sum();
                    cen.iter().map(|v| v * v).sum::<f64>() - 2.0 * dot
                };
                (1..k).fold(0, |b, c| if d(c) < d(b) { c } else { b })
            })
            .collect();
        let (l0, s0, c0) = run(true);
        let (l1, s1, c1) = run(false);
        assert_eq!(l0, plain);
        assert_eq!(l1, plain);
        assert_eq!(c0, c1);
        assert_eq!(c0.iter().sum::<f64>(), n as f64);
        for (a, b) in s0.iter().zip(&s1) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        let mut want = vec![0.0; k * p];
        for (r, &l) in x.chunks_exact(p).zip(&plain) {
            for (w, v) in want[l * p..(l + 1) * p].iter_mut().zip(r) {
                *w += v;
            }
        }
        assert_eq!(s0, want);
    }
}
