//! k-nearest neighbours classification and regression (scikit-learn's
//! `KNeighborsClassifier` / `KNeighborsRegressor` with `algorithm="brute"`).
//!
//! [`KNeighborsParams`] is checked into [`KNeighbors`]; fitting on class labels gives a
//! classifier (probabilities are scikit-learn's `predict_proba`), on a real target a
//! regressor (the, possibly distance-weighted, mean of the neighbours' targets). The fitted
//! [`KNeighborsModel`] stores the training rows.
//!
//! Search is brute force, parallel over blocks of query rows. For `p = 2` candidates are
//! ranked by `‖q‖² + ‖t‖² − 2·q·t`, with `−2·Q·Tᵀ` computed block by block by a GEMM
//! ([`crate::gemm`]), what scikit-learn's brute force does with BLAS; the distances of the
//! `k` neighbours found are then recomputed exactly as `√Σ(qᵢ − tᵢ)²`. For `p = 1` a
//! register-blocked kernel over packed panels of training rows computes the Manhattan
//! distance directly. Each query keeps a sorted top-`k` list. With at most 15 features
//! (`algorithm: auto`, or `kd_tree`) a k-d tree searches exactly instead, ranking by
//! `(distance, index)`.
//!
//! Ties: among training rows at the same distance from a query, the lower row index wins
//! (scikit-learn's order among tied neighbours is unspecified, so predictions can differ
//! from scikit-learn's only when the `k`-th and `k+1`-th neighbours are tied, or within
//! round-off of each other). Among classes with equal probability, `predict` in
//! scikit-learn picks the lowest class index, which is what `argmax` of our probabilities
//! gives too.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cluster::{check_finite, row_major};
use crate::gemm::gemm_abt;
use crate::linear::with_threads;
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Target, Task, TrainData,
};

/// How neighbours' votes or values are weighted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeighborWeights {
    /// Every neighbour counts the same (scikit-learn's default).
    #[default]
    Uniform,
    /// Weight `1/distance`; when some neighbours are at distance 0, only those count.
    Distance,
}

/// How neighbours are searched (scikit-learn's `algorithm`); every choice returns the same
/// neighbours (up to round-off ties).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeighborAlgorithm {
    /// A k-d tree when there are at most 15 features and `k` is below half the training
    /// rows, brute force otherwise (default).
    #[default]
    Auto,
    /// A k-d tree (leaves of up to 30 rows, split at the median of the widest dimension).
    KdTree,
    /// Brute force (GEMM for `p = 2`).
    Brute,
}

/// Hyperparameters of [`KNeighbors`], as read from a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KNeighborsParams {
    /// Number of neighbours `k` (default 5).
    pub n_neighbors: usize,
    /// `uniform` (default) or `distance`.
    pub weights: NeighborWeights,
    /// Minkowski power: 1 (Manhattan) or 2 (Euclidean, default).
    pub p: u32,
    /// Threads for prediction (default: rayon's global pool).
    pub n_threads: Option<usize>,
    /// `auto` (default), `kd_tree` or `brute`.
    pub algorithm: NeighborAlgorithm,
    /// Accepted so every family takes the config's `seed`; unused: neighbours are exact and
    /// ties go to the earlier training row (default 0).
    pub seed: u64,
}

impl Default for KNeighborsParams {
    fn default() -> Self {
        KNeighborsParams {
            n_neighbors: 5,
            weights: NeighborWeights::Uniform,
            p: 2,
            n_threads: None,
            algorithm: NeighborAlgorithm::Auto,
            seed: 0,
        }
    }
}

impl Params for KNeighborsParams {
    type Checked = KNeighbors;

    fn check(&self) -> Result<KNeighbors> {
        if self.n_neighbors == 0 {
            return Err(Error::param("n_neighbors", "must be at least 1, got 0"));
        }
        if self.p != 1 && self.p != 2 {
            return Err(Error::param(
                "p",
                format!("must be 1 (Manhattan) or 2 (Euclidean), got {}", self.p),
            ));
        }
        if self.n_threads == Some(0) {
            return Err(Error::param("n_threads", "must be at least 1, got 0"));
        }
        Ok(KNeighbors {
            params: self.clone(),
        })
    }
}

/// Checked k-nearest neighbours; [`Estimator::fit`] returns a [`KNeighborsModel`].
#[derive(Debug, Clone)]
pub struct KNeighbors {
    params: KNeighborsParams,
}

impl KNeighbors {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &KNeighborsParams {
        &self.params
    }
}

/// A fitted k-nearest-neighbours model: the hyperparameters and the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KNeighborsModel {
    /// The hyperparameters it was fitted with.
    pub params: KNeighborsParams,
    /// The training features.
    pub x: Matrix,
    /// The training labels (classifier) or values (regressor).
    pub y: Target,
}

/// The `k` nearest training rows of each query row.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbors {
    /// Neighbours per query (`k`).
    pub k: usize,
    /// Training-row indices, `k` per query, nearest first.
    pub indices: Vec<usize>,
    /// Their distances, `k` per query.
    pub distances: Vec<f64>,
}

impl Estimator for KNeighbors {
    type Fitted = KNeighborsModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<Self::Fitted> {
        train.check_shapes()?;
        if train.weights.is_some() {
            return Err(Error::InvalidData(
                "k-nearest neighbours does not take sample weights".into(),
            ));
        }
        check_finite(train.x, Some(train.features), "k-nearest neighbours")?;
        match train.y {
            Target::Classes { labels, n_classes } => {
                if let Some(i) = labels.iter().position(|&l| l as usize >= *n_classes) {
                    return Err(Error::InvalidData(format!(
                        "label {} at row {i} is not a class index below {n_classes}",
                        labels[i]
                    )));
                }
            }
            Target::Real(v) => {
                if let Some(i) = v.iter().position(|v| !v.is_finite()) {
                    return Err(Error::InvalidData(format!(
                        "target is {} at row {i}; k-nearest neighbours needs finite targets",
                        v[i]
                    )));
                }
            }
        }
        let n = train.x.n_rows();
        if self.params.n_neighbors > n {
            return Err(Error::InvalidData(format!(
                "n_neighbors is {} but there are only {n} training rows",
                self.params.n_neighbors
            )));
        }
        Ok(KNeighborsModel {
            params: self.params.clone(),
            x: train.x.clone(),
            y: train.y.clone(),
        })
    }
}

/// Query rows per parallel task.
const QBLOCK: usize = 64;
/// Query rows per micro-kernel call.
const MR: usize = 4;
/// Training rows per packed panel.
const NR: usize = 8;
/// Panels per cache tile of training rows.
const TILE_PANELS: usize = 32;

/// Training rows packed into panels of `NR` rows, feature-major within a panel.
struct Packed {
    panels: Vec<f64>,
    /// `‖t‖²` per (padded) row; `+∞` for padding.
    norms: Vec<f64>,
    n_panels: usize,
}

fn pack(rows: &[f64], n: usize, p: usize, metric: u32) -> Packed {
    let n_panels = n.div_ceil(NR);
    let pad = if metric == 1 { f64::INFINITY } else { 0.0 };
    let mut panels = vec![pad; n_panels * p * NR];
    let mut norms = vec![f64::INFINITY; n_panels * NR];
    for t in 0..n {
        let (b, j) = (t / NR, t % NR);
        let row = &rows[t * p..(t + 1) * p];
        for (d, v) in row.iter().enumerate() {
            panels[(b * p + d) * NR + j] = *v;
        }
        norms[t] = row.iter().map(|v| v * v).sum();
    }
    Packed {
        panels,
        norms,
        n_panels,
    }
}

/// `acc[i][j] = Σ_d q[d][i]·panel[d][j]` (p = 2) or `Σ_d |q[d][i] − panel[d][j]|` (p = 1).
#[inline(always)]
fn kernel(q: &[f64], panel: &[f64], metric: u32) -> [[f64; NR]; MR] {
    let mut acc = [[0.0f64; NR]; MR];
    if metric == 1 {
        for (a, b) in q.chunks_exact(MR).zip(panel.chunks_exact(NR)) {
            for i in 0..MR {
                for j in 0..NR {
                    acc[i][j] += (a[i] - b[j]).abs();
                }
            }
        }
    } else {
        for (a, b) in q.chunks_exact(MR).zip(panel.chunks_exact(NR)) {
            for i in 0..MR {
                for j in 0..NR {
                    acc[i][j] += a[i] * b[j];
                }
            }
        }
    }
    acc
}

/// Inserts `(d, t)` into the ascending list `dist`/`idx`, after entries with equal distance.
#[inline]
fn insert(dist: &mut [f64], idx: &mut [usize], d: f64, t: usize) {
    let mut pos = dist.len() - 1;
    while pos > 0 && dist[pos - 1] > d {
        dist[pos] = dist[pos - 1];
        idx[pos] = idx[pos - 1];
        pos -= 1;
    }
    dist[pos] = d;
    idx[pos] = t;
}

/// Exact Minkowski distance between two rows.
fn distance(a: &[f64], b: &[f64], metric: u32) -> f64 {
    if metric == 1 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
    } else {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    }
}

/// The `k` nearest rows of `train` (row-major, packed as `packed`) for each query row.
fn search(
    train_rows: &[f64],
    packed: &Packed,
    queries: &[f64],
    p: usize,
    k: usize,
    metric: u32,
) -> (Vec<usize>, Vec<f64>) {
    let nq = queries.len() / p.max(1);
    let mut indices = vec![0usize; nq * k];
    let mut distances = vec![0.0f64; nq * k];
    indices
        .par_chunks_mut(QBLOCK * k)
        .zip(distances.par_chunks_mut(QBLOCK * k))
        .enumerate()
        .for_each(|(blk, (idx_out, dist_out))| {
            let q0 = blk * QBLOCK;
            let m = idx_out.len() / k;
            let n_micro = m.div_ceil(MR);
            // Queries packed feature-major per micro-block of MR rows (zero padded).
            let mut qpack = vec![0.0f64; n_micro * p * MR];
            let mut qnorm = vec![0.0f64; n_micro * MR];
            for r in 0..m {
                let row = &queries[(q0 + r) * p..(q0 + r + 1) * p];
                let (mb, i) = (r / MR, r % MR);
                for (d, v) in row.iter().enumerate() {
                    qpack[(mb * p + d) * MR + i] = *v;
                }
                qnorm[r] = row.iter().map(|v| v * v).sum();
            }
            let mut dist = vec![f64::INFINITY; m * k];
            let mut idx = vec![usize::MAX; m * k];
            let mut tile = 0;
            while tile < packed.n_panels {
                let tile_end = (tile + TILE_PANELS).min(packed.n_panels);
                for mb in 0..n_micro {
                    let q = &qpack[mb * p * MR..(mb + 1) * p * MR];
                    let rows_here = MR.min(m - mb * MR);
                    for b in tile..tile_end {
                        let panel = &packed.panels[b * p * NR..(b + 1) * p * NR];
                        let acc = kernel(q, panel, metric);
                        for (i, acc_i) in acc.iter().enumerate().take(rows_here) {
                            let r = mb * MR + i;
                            let (dr, ir) =
                                (&mut dist[r * k..(r + 1) * k], &mut idx[r * k..(r + 1) * k]);
                            for (j, a) in acc_i.iter().enumerate() {
                                let d = if metric == 1 {
                                    *a
                                } else {
                                    qnorm[r] + packed.norms[b * NR + j] - 2.0 * a
                                };
                                if d < dr[k - 1] {
                                    insert(dr, ir, d, b * NR + j);
                                }
                            }
                        }
                    }
                }
                tile = tile_end;
            }
            let qb = &queries[q0 * p..(q0 + m) * p];
            finish(train_rows, qb, p, k, metric, &idx, idx_out, dist_out);
        });
    (indices, distances)
}

/// Query rows per parallel task of the GEMM search.
const GEMM_QBLOCK: usize = 256;
/// Training rows per GEMM call.
const GEMM_TBLOCK: usize = 256;

/// Euclidean `k` nearest rows of `train` (row-major, `p` features) for each query row:
/// per block of queries and tile of training rows, one GEMM gives `‖t‖² − 2·q·t`, the
/// query's `‖q‖²` is added and the top-`k` lists updated; the final `k` distances are exact.
fn search_euclidean(
    train_rows: &[f64],
    queries: &[f64],
    p: usize,
    k: usize,
) -> (Vec<usize>, Vec<f64>) {
    let nq = queries.len() / p.max(1);
    let nt = train_rows.len() / p.max(1);
    let tnorm: Vec<f64> = train_rows
        .chunks_exact(p.max(1))
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let mut indices = vec![0usize; nq * k];
    let mut distances = vec![0.0f64; nq * k];
    indices
        .par_chunks_mut(GEMM_QBLOCK * k)
        .zip(distances.par_chunks_mut(GEMM_QBLOCK * k))
        .enumerate()
        .for_each(|(blk, (idx_out, dist_out))| {
            let q0 = blk * GEMM_QBLOCK;
            let m = idx_out.len() / k;
            let qb = &queries[q0 * p..(q0 + m) * p];
            let qnorm: Vec<f64> = qb
                .chunks_exact(p.max(1))
                .map(|r| r.iter().map(|v| v * v).sum())
                .collect();
            let mut dist = vec![f64::INFINITY; m * k];
            let mut idx = vec![usize::MAX; m * k];
            let mut block = vec![0.0f64; m * GEMM_TBLOCK];
            let mut t0 = 0;
            while t0 < nt {
                let nb = GEMM_TBLOCK.min(nt - t0);
                let c = &mut block[..m * nb];
                for row in c.chunks_exact_mut(nb) {
                    row.copy_from_slice(&tnorm[t0..t0 + nb]);
                }
                gemm_abt(
                    m,
                    nb,
                    p,
                    -2.0,
                    qb,
                    &train_rows[t0 * p..(t0 + nb) * p],
                    1.0,
                    c,
                );
                for (r, row) in c.chunks_exact(nb).enumerate() {
                    let (dr, ir) = (&mut dist[r * k..(r + 1) * k], &mut idx[r * k..(r + 1) * k]);
                    let qn = qnorm[r];
                    for (j, v) in row.iter().enumerate() {
                        let d = qn + v;
                        if d < dr[k - 1] {
                            insert(dr, ir, d, t0 + j);
                        }
                    }
                }
                t0 += nb;
            }
            finish(train_rows, qb, p, k, 2, &idx, idx_out, dist_out);
        });
    (indices, distances)
}

/// Replaces the ranking values of the neighbours found (`idx`, `k` per query of `qb`) by
/// exact distances and re-sorts them (ties: lower index first) into the outputs.
#[allow(clippy::too_many_arguments)]
fn finish(
    train_rows: &[f64],
    qb: &[f64],
    p: usize,
    k: usize,
    metric: u32,
    idx: &[usize],
    idx_out: &mut [usize],
    dist_out: &mut [f64],
) {
    let m = idx_out.len() / k;
    let mut pairs: Vec<(f64, usize)> = Vec::with_capacity(k);
    for r in 0..m {
        let q = &qb[r * p..(r + 1) * p];
        pairs.clear();
        pairs.extend(
            idx[r * k..(r + 1) * k]
                .iter()
                .map(|&t| (distance(q, &train_rows[t * p..(t + 1) * p], metric), t)),
        );
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (s, (d, t)) in pairs.iter().enumerate() {
            idx_out[r * k + s] = *t;
            dist_out[r * k + s] = *d;
        }
    }
}

/// Rows per k-d tree leaf (scikit-learn's default `leaf_size` is 30).
const LEAF_SIZE: usize = 30;

/// One node of a [`KdTree`]: the rows `order[start..end]` and their bounding box.
struct KdNode {
    start: usize,
    end: usize,
    /// Children (indices into `nodes`), none for a leaf.
    children: Option<(usize, usize)>,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

/// A k-d tree over row-major training rows. Search is exact: a node is skipped only when
/// its box is strictly farther than the current `k`-th neighbour, and candidates are ranked
/// by `(distance, row index)`, so ties go to the lower index as in brute force.
struct KdTree<'a> {
    rows: &'a [f64],
    p: usize,
    order: Vec<usize>,
    nodes: Vec<KdNode>,
}

impl<'a> KdTree<'a> {
    fn build(rows: &'a [f64], n: usize, p: usize) -> Self {
        let mut tree = KdTree {
            rows,
            p,
            order: (0..n).collect(),
            nodes: Vec::new(),
        };
        if n > 0 {
            tree.build_node(0, n);
        }
        tree
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.p..(i + 1) * self.p]
    }

    /// Builds the node for `order[start..end]` and returns its index.
    fn build_node(&mut self, start: usize, end: usize) -> usize {
        let p = self.p;
        let mut lo = vec![f64::INFINITY; p];
        let mut hi = vec![f64::NEG_INFINITY; p];
        for &i in &self.order[start..end] {
            for (d, v) in self.rows[i * p..(i + 1) * p].iter().enumerate() {
                lo[d] = lo[d].min(*v);
                hi[d] = hi[d].max(*v);
            }
        }
        let id = self.nodes.len();
        self.nodes.push(KdNode {
            start,
            end,
            children: None,
            lo: lo.clone(),
            hi: hi.clone(),
        });
        let widest = (0..p)
            .map(|d| (hi[d] - lo[d], d))
            .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
        if end - start > LEAF_SIZE && widest.0 > 0.0 {
            let dim = widest.1;
            let mid = start + (end - start) / 2;
            let rows = self.rows;
            self.order[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
                rows[a * p + dim].total_cmp(&rows[b * p + dim])
            });
            let left = self.build_node(start, mid);
            let right = self.build_node(mid, end);
            self.nodes[id].children = Some((left, right));
        }
        id
    }

    /// Lower bound of the ranking distance (squared for `p = 2`) from `q` to a node's box.
    fn min_dist(&self, node: &KdNode, q: &[f64], metric: u32) -> f64 {
        let mut s = 0.0;
        for ((v, l), h) in q.iter().zip(&node.lo).zip(&node.hi) {
            let gap = (l - v).max(v - h).max(0.0);
            s += if metric == 1 { gap } else { gap * gap };
        }
        s
    }

    fn visit(&self, id: usize, q: &[f64], metric: u32, dist: &mut [f64], idx: &mut [usize]) {
        let k = dist.len();
        let node = &self.nodes[id];
        if self.min_dist(node, q, metric) > dist[k - 1] {
            return;
        }
        match node.children {
            None => {
                for &t in &self.order[node.start..node.end] {
                    let row = self.row(t);
                    let d: f64 = if metric == 1 {
                        q.iter().zip(row).map(|(a, b)| (a - b).abs()).sum()
                    } else {
                        q.iter().zip(row).map(|(a, b)| (a - b) * (a - b)).sum()
                    };
                    if d < dist[k - 1] || (d == dist[k - 1] && t < idx[k - 1]) {
                        insert_ranked(dist, idx, d, t);
                    }
                }
            }
            Some((l, r)) => {
                let (dl, dr) = (
                    self.min_dist(&self.nodes[l], q, metric),
                    self.min_dist(&self.nodes[r], q, metric),
                );
                let (first, second) = if dr < dl { (r, l) } else { (l, r) };
                self.visit(first, q, metric, dist, idx);
                self.visit(second, q, metric, dist, idx);
            }
        }
    }

    /// The `k` nearest rows of every query row, nearest first, with exact distances.
    fn search(&self, queries: &[f64], k: usize, metric: u32) -> (Vec<usize>, Vec<f64>) {
        let p = self.p;
        let nq = queries.len() / p.max(1);
        let mut indices = vec![0usize; nq * k];
        let mut distances = vec![0.0f64; nq * k];
        indices
            .par_chunks_mut(QBLOCK * k)
            .zip(distances.par_chunks_mut(QBLOCK * k))
            .enumerate()
            .for_each(|(blk, (idx_out, dist_out))| {
                let q0 = blk * QBLOCK;
                let m = idx_out.len() / k;
                let qb = &queries[q0 * p..(q0 + m) * p];
                let mut idx = vec![usize::MAX; m * k];
                let mut dist = vec![f64::INFINITY; m * k];
                for r in 0..m {
                    self.visit(
                        0,
                        &qb[r * p..(r + 1) * p],
                        metric,
                        &mut dist[r * k..(r + 1) * k],
                        &mut idx[r * k..(r + 1) * k],
                    );
                }
                finish(self.rows, qb, p, k, metric, &idx, idx_out, dist_out);
            });
        (indices, distances)
    }
}

/// Inserts `(d, t)` into the list sorted by `(distance, index)`, dropping the last entry.
fn insert_ranked(dist: &mut [f64], idx: &mut [usize], d: f64, t: usize) {
    let mut pos = dist.len() - 1;
    while pos > 0 && (dist[pos - 1] > d || (dist[pos - 1] == d && idx[pos - 1] > t)) {
        dist[pos] = dist[pos - 1];
        idx[pos] = idx[pos - 1];
        pos -= 1;
    }
    dist[pos] = d;
    idx[pos] = t;
}

/// scikit-learn's `_get_weights`: `None` for uniform, else `1/d` (or, for a query with
/// neighbours at distance 0, 1 for those and 0 for the rest).
fn neighbour_weights(dist: &[f64], mode: NeighborWeights) -> Option<Vec<f64>> {
    match mode {
        NeighborWeights::Uniform => None,
        NeighborWeights::Distance => {
            if dist.contains(&0.0) {
                Some(
                    dist.iter()
                        .map(|&d| if d == 0.0 { 1.0 } else { 0.0 })
                        .collect(),
                )
            } else {
                Some(dist.iter().map(|d| 1.0 / d).collect())
            }
        }
    }
}

impl KNeighborsModel {
    /// The `n_neighbors` nearest training rows of every row of `x`, nearest first.
    pub fn kneighbors(&self, x: &Matrix) -> Result<Neighbors> {
        let p = self.x.n_cols();
        if x.n_cols() != p {
            return Err(Error::SchemaMismatch(format!(
                "model was fitted on {p} features, got {}",
                x.n_cols()
            )));
        }
        check_finite(x, None, "k-nearest neighbours")?;
        let k = self.params.n_neighbors;
        let metric = self.params.p;
        let train_rows = row_major(&self.x);
        let queries = row_major(x);
        let n = self.x.n_rows();
        let use_tree = match self.params.algorithm {
            NeighborAlgorithm::KdTree => true,
            NeighborAlgorithm::Brute => false,
            NeighborAlgorithm::Auto => p <= 15 && k < n.div_ceil(2),
        };
        let (indices, distances) = with_threads(self.params.n_threads, || {
            if use_tree {
                let tree = KdTree::build(&train_rows, n, p);
                tree.search(&queries, k, metric)
            } else if metric == 2 {
                search_euclidean(&train_rows, &queries, p, k)
            } else {
                let packed = pack(&train_rows, self.x.n_rows(), p, metric);
                search(&train_rows, &packed, &queries, p, k, metric)
            }
        })?;
        Ok(Neighbors {
            k,
            indices,
            distances,
        })
    }
}

impl Predictor for KNeighborsModel {
    fn task(&self) -> Task {
        self.y.task()
    }

    /// Class probabilities (scikit-learn's `predict_proba`) or regression values.
    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        let nb = self.kneighbors(x)?;
        let k = nb.k;
        let n = x.n_rows();
        match &self.y {
            Target::Classes { labels, n_classes } => {
                let nc = *n_classes;
                let mut proba = Matrix::zeros(n, nc);
                let mut row = vec![0.0; nc];
                for r in 0..n {
                    let idx = &nb.indices[r * k..(r + 1) * k];
                    let w =
                        neighbour_weights(&nb.distances[r * k..(r + 1) * k], self.params.weights);
                    row.iter_mut().for_each(|v| *v = 0.0);
                    for (s, &t) in idx.iter().enumerate() {
                        row[labels[t] as usize] += w.as_ref().map_or(1.0, |w| w[s]);
                    }
                    let mut total: f64 = row.iter().sum();
                    if total == 0.0 {
                        total = 1.0;
                    }
                    for (c, v) in row.iter().enumerate() {
                        proba.set(r, c, v / total);
                    }
                }
                Ok(Prediction::Probabilities(proba))
            }
            Target::Real(values) => {
                let out = (0..n)
                    .map(|r| {
                        let idx = &nb.indices[r * k..(r + 1) * k];
                        match neighbour_weights(
                            &nb.distances[r * k..(r + 1) * k],
                            self.params.weights,
                        ) {
                            None => idx.iter().map(|&t| values[t]).sum::<f64>() / k as f64,
                            Some(w) => {
                                let num: f64 =
                                    idx.iter().zip(&w).map(|(&t, w)| values[t] * w).sum();
                                num / w.iter().sum::<f64>()
                            }
                        }
                    })
                    .collect();
                Ok(Prediction::Values(out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureMeta;

    fn brute_force(train: &Matrix, q: &[f64], k: usize, metric: u32) -> Vec<usize> {
        let rows = row_major(train);
        let p = train.n_cols();
        let mut d: Vec<(f64, usize)> = (0..train.n_rows())
            .map(|t| (distance(q, &rows[t * p..(t + 1) * p], metric), t))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        d.iter().take(k).map(|x| x.1).collect()
    }

    #[test]
    fn search_matches_naive_brute_force() {
        let (n, p) = (203, 5);
        let rnd = |i: usize| {
            let x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let x = (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let vals: Vec<f64> = (0..n * p).map(rnd).collect();
        let train = Matrix::from_row_major(n, p, &vals).unwrap();
        let qv: Vec<f64> = (0..70 * p).map(|i| rnd(i + 100_000)).collect();
        let queries = Matrix::from_row_major(70, p, &qv).unwrap();
        let features: Vec<FeatureMeta> = (0..p)
            .map(|j| FeatureMeta::numeric(format!("f{j}")))
            .collect();
        let y = Target::Real((0..n).map(|i| i as f64).collect());
        for (metric, algorithm) in [
            (1, NeighborAlgorithm::Brute),
            (2, NeighborAlgorithm::Brute),
            (1, NeighborAlgorithm::KdTree),
            (2, NeighborAlgorithm::KdTree),
        ] {
            let model = KNeighborsParams {
                n_neighbors: 7,
                p: metric,
                algorithm,
                ..Default::default()
            }
            .check()
            .unwrap()
            .fit(
                &TrainData {
                    x: &train,
                    y: &y,
                    features: &features,
                    weights: None,
                },
                None,
            )
            .unwrap();
            let nb = model.kneighbors(&queries).unwrap();
            for r in 0..70 {
                let want = brute_force(&train, &qv[r * p..(r + 1) * p], 7, metric);
                let mut got = nb.indices[r * 7..(r + 1) * 7].to_vec();
                let mut w = want.clone();
                got.sort_unstable();
                w.sort_unstable();
                assert_eq!(got, w, "metric {metric} {algorithm:?} query {r}");
            }
        }
    }

    #[test]
    fn kd_tree_breaks_ties_by_lower_index_like_brute_force() {
        // Points on a small integer grid: many rows at equal distances from each query.
        let (n, p) = (400, 3);
        let vals: Vec<f64> = (0..n * p).map(|i| ((i * 7 + i / 5) % 4) as f64).collect();
        let train = Matrix::from_row_major(n, p, &vals).unwrap();
        let qv: Vec<f64> = (0..40 * p).map(|i| ((i * 3) % 5) as f64 * 0.5).collect();
        let queries = Matrix::from_row_major(40, p, &qv).unwrap();
        let features: Vec<FeatureMeta> = (0..p)
            .map(|j| FeatureMeta::numeric(format!("f{j}")))
            .collect();
        let y = Target::Real((0..n).map(|i| i as f64).collect());
        for metric in [1, 2] {
            let fit = |algorithm| {
                KNeighborsParams {
                    n_neighbors: 9,
                    p: metric,
                    algorithm,
                    ..Default::default()
                }
                .check()
                .unwrap()
                .fit(
                    &TrainData {
                        x: &train,
                        y: &y,
                        features: &features,
                        weights: None,
                    },
                    None,
                )
                .unwrap()
            };
            let tree = fit(NeighborAlgorithm::KdTree).kneighbors(&queries).unwrap();
            let brute = fit(NeighborAlgorithm::Brute).kneighbors(&queries).unwrap();
            assert_eq!(tree, brute, "metric {metric}");
            for r in 0..40 {
                let want = brute_force(&train, &qv[r * p..(r + 1) * p], 9, metric);
                assert_eq!(tree.indices[r * 9..(r + 1) * 9], want[..], "query {r}");
            }
        }
    }
}
