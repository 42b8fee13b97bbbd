//! The fitted model: flat trees on real-valued thresholds, and batch prediction.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::BinMapper;
use super::grow::GrownTree;
use super::objective::{sigmoid, softmax_into};
use super::splitter::SplitRule;
use crate::quickscorer::{Node as QsNode, QuickScorer, Split, TreeDesc};
use crate::{Error, Matrix, Prediction, Predictor, Result, Task};

/// Rows per prediction block: each block is transposed to row-major and run through every
/// tree in turn, so a tree's nodes stay in cache across the block's rows.
const PREDICT_BLOCK: usize = 256;

/// An internal node. Children `>= 0` are nodes, `< 0` are leaves `!child`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// Feature column.
    #[serde(rename = "f")]
    pub feature: u32,
    /// Numeric split: `x <= threshold` goes left. +∞ when the split sends every number
    /// one way and missing values the other; bundles written before floats were exact
    /// stored that as `null`, which is read back as +∞ (the only non-finite upper bin bound).
    #[serde(rename = "t", deserialize_with = "threshold_or_infinity")]
    pub threshold: f64,
    /// Left child.
    #[serde(rename = "l")]
    pub left: i32,
    /// Right child.
    #[serde(rename = "r")]
    pub right: i32,
    /// Numeric split: whether NaN goes left.
    #[serde(rename = "d")]
    pub default_left: bool,
    /// Categorical split: start of its bitset of left categories in [`Tree::cat_bits`].
    #[serde(rename = "cs")]
    pub cat_start: u32,
    /// Categorical split: words of its bitset (0 for a numeric split).
    #[serde(rename = "cw")]
    pub cat_words: u32,
}

fn threshold_or_infinity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

/// One tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    /// Internal nodes; the root is node 0. Empty for a single-leaf tree.
    pub nodes: Vec<Node>,
    /// Leaf outputs, shrinkage included.
    pub leaf_values: Vec<f64>,
    /// Bitsets of left categories of the categorical nodes (bit `c % 32` of word `c / 32`).
    pub cat_bits: Vec<u32>,
    /// Split gain of each node (for importance).
    pub gains: Vec<f64>,
}

impl Tree {
    /// Converts a grown tree to real thresholds and category codes; leaf outputs are scaled
    /// by `shrinkage`.
    pub(crate) fn from_grown(g: &GrownTree, mappers: &[BinMapper], shrinkage: f64) -> Tree {
        let mut cat_bits = Vec::new();
        let nodes = g
            .nodes
            .iter()
            .map(|n| {
                let f = n.split.feature;
                let (threshold, default_left, cat_start, cat_words) =
                    match (&n.split.rule, &mappers[f]) {
                        (
                            SplitRule::Numeric {
                                threshold,
                                default_left,
                            },
                            BinMapper::Numeric { upper, .. },
                        ) => (upper[*threshold as usize], *default_left, 0, 0),
                        (
                            SplitRule::Categorical { left_bins },
                            BinMapper::Categorical { bin_to_cat, .. },
                        ) => {
                            let codes: Vec<u32> =
                                left_bins.iter().map(|&b| bin_to_cat[b as usize]).collect();
                            let words = codes.iter().max().map_or(1, |&m| m / 32 + 1);
                            let start = cat_bits.len();
                            cat_bits.resize(start + words as usize, 0u32);
                            for c in codes {
                                cat_bits[start + (c / 32) as usize] |= 1 << (c % 32);
                            }
                            (0.0, false, start as u32, words)
                        }
                        _ => unreachable!("split rule matches the feature kind"),
                    };
                Node {
                    feature: f as u32,
                    threshold,
                    left: n.left,
                    right: n.right,
                    default_left,
                    cat_start,
                    cat_words,
                }
            })
            .collect();
        Tree {
            nodes,
            leaf_values: g.leaf_values.iter().map(|v| v * shrinkage).collect(),
            cat_bits,
            gains: g.nodes.iter().map(|n| n.split.gain).collect(),
        }
    }
}

/// Gain or split-count importance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportanceKind {
    /// How many splits use the feature.
    Split,
    /// Total gain of the splits that use the feature.
    Gain,
}

/// A fitted gradient-boosting model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtModel {
    pub(crate) task: Task,
    pub(crate) n_features: usize,
    /// Raw scores (trees) per row per round: `n_classes` for multiclass, else 1.
    pub(crate) n_scores: usize,
    /// Starting raw score of each output.
    pub(crate) init_scores: Vec<f64>,
    /// Trees, round by round; tree `t` adds to score `t % n_scores`.
    pub(crate) trees: Vec<Tree>,
    /// Per tree, the training rows (in the bag) that reached each internal node, then each
    /// leaf: the covers path-dependent TreeSHAP weighs paths by (LightGBM's `internal_count`
    /// and `leaf_count`). Empty in bundles written before they were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) covers: Vec<Vec<f64>>,
    pub(crate) best_iteration: Option<usize>,
    pub(crate) eval_history: Vec<f64>,
    pub(crate) n_threads: Option<usize>,
    /// The trees laid out for prediction, built on first use and kept: a one-row request
    /// must not pay for the layout of every tree.
    #[serde(skip)]
    pub(crate) forest: ForestCache,
}

/// The trees laid out for prediction, built lazily; not part of the model's value (equal,
/// cloned and serialized as if absent).
#[derive(Default)]
pub(crate) struct ForestCache(std::sync::OnceLock<Layouts>);

/// QuickScorer where every tree has at most 64 leaves, else the tree walk.
#[derive(Debug)]
enum Layouts {
    Quick(QuickScorer),
    Step(StepForest),
}

impl Layouts {
    fn new(trees: &[Tree], n_features: usize, k: usize) -> Layouts {
        let descs: Vec<TreeDesc<'_>> = trees
            .iter()
            .enumerate()
            .map(|(t, tree)| TreeDesc {
                group: (t % k) as u32,
                nodes: tree
                    .nodes
                    .iter()
                    .map(|n| QsNode {
                        feature: n.feature,
                        split: if n.cat_words == 0 {
                            Split::Numeric {
                                threshold: n.threshold,
                                nan_left: n.default_left,
                            }
                        } else {
                            let a = n.cat_start as usize;
                            Split::Categorical {
                                bits: &tree.cat_bits[a..a + n.cat_words as usize],
                            }
                        },
                        left: n.left,
                        right: n.right,
                    })
                    .collect(),
                leaf_values: &tree.leaf_values,
            })
            .collect();
        // Codes are values `0 <= x < 32 · words`, as `StepForest::step` reads them.
        match QuickScorer::new(&descs, n_features, 0.0) {
            Some(q) => Layouts::Quick(q),
            None => Layouts::Step(StepForest::new(trees)),
        }
    }
}

impl Clone for ForestCache {
    fn clone(&self) -> Self {
        ForestCache::default()
    }
}

impl PartialEq for ForestCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ForestCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForestCache")
    }
}

impl GbdtModel {
    /// Raw scores, row-major `n_rows × k` (`k` = number of classes for multiclass, else 1):
    /// log-odds for binary, per-class scores before softmax, values for regression.
    pub fn predict_raw(&self, x: &Matrix) -> Vec<f64> {
        let mut out = vec![0.0; x.n_rows() * self.n_scores];
        let pool = match self.n_threads {
            Some(n) if x.n_rows() > PREDICT_BLOCK => {
                rayon::ThreadPoolBuilder::new().num_threads(n).build().ok()
            }
            _ => None,
        };
        match pool {
            Some(pool) => pool.install(|| self.predict_raw_into(x, &mut out)),
            None => self.predict_raw_into(x, &mut out),
        }
        out
    }

    fn predict_raw_into(&self, x: &Matrix, out: &mut [f64]) {
        let k = self.n_scores;
        let nf = self.n_features;
        let n = x.n_rows();
        let forest = self
            .forest
            .0
            .get_or_init(|| Layouts::new(&self.trees, nf, k));
        let block = |(bi, o): (usize, &mut [f64])| {
            let r0 = bi * PREDICT_BLOCK;
            let nr = o.len() / k;
            let mut buf = vec![0.0f64; nr * nf];
            for f in 0..nf {
                let c = &x.as_col_major()[f * n + r0..f * n + r0 + nr];
                for (i, &v) in c.iter().enumerate() {
                    buf[i * nf + f] = v;
                }
            }
            for (oi, &s) in o.iter_mut().zip(self.init_scores.iter().cycle()) {
                *oi = s;
            }
            match forest {
                Layouts::Quick(q) => q.add(k, &buf, nf, o),
                Layouts::Step(step) => step.add(0, k, &buf, nf, o),
            }
        };
        if n <= PREDICT_BLOCK {
            // One block: no thread hand-off for a small request.
            block((0, out));
        } else {
            out.par_chunks_mut(PREDICT_BLOCK * k)
                .enumerate()
                .for_each(block);
        }
    }

    /// Number of trees (`rounds × k`).
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// The round (0-based) with the best validation loss when early stopping was used; the
    /// model keeps the trees up to and including it.
    pub fn best_iteration(&self) -> Option<usize> {
        self.best_iteration
    }

    /// Per-feature importance, not normalized: split counts or total split gains.
    pub fn importance(&self, kind: ImportanceKind) -> Vec<f64> {
        let mut imp = vec![0.0; self.n_features];
        for t in &self.trees {
            for (n, g) in t.nodes.iter().zip(&t.gains) {
                imp[n.feature as usize] += match kind {
                    ImportanceKind::Split => 1.0,
                    ImportanceKind::Gain => *g,
                };
            }
        }
        imp
    }

    /// Validation loss after each round (log loss, multi-class log loss or mean squared
    /// error) when a validation set was used; empty otherwise.
    pub fn eval_history(&self) -> &[f64] {
        &self.eval_history
    }

    /// Number of features the model expects.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
}

/// A node of a [`StepForest`]. Leaves are nodes too, leading to themselves.
#[derive(Debug, Clone, Copy)]
struct StepNode {
    /// Numeric split: `x <= threshold` goes left (`+inf` for a leaf).
    threshold: f64,
    feature: u32,
    /// Absolute indices of the children in the forest.
    left: u32,
    right: u32,
    /// Categorical split: its bitset in [`StepForest::cat_bits`] is `cat_start..+cat_words`.
    cat_start: u32,
    cat_words: u32,
    nan_left: bool,
}

/// Where one tree lies in a [`StepForest`].
#[derive(Debug, Clone, Copy)]
struct StepTree {
    /// Index of the root; internal nodes are `root..leaves`, leaves `leaves..`.
    root: u32,
    leaves: u32,
    /// Index of its first leaf value in [`StepForest::leaf_values`].
    value_base: u32,
    /// Whether all its splits are numeric (the fast path).
    numeric: bool,
}

/// Trees laid out for prediction: several rows walk down a tree in lock step (their steps
/// are independent, so the CPU overlaps them), every step branch-free on numeric splits.
#[derive(Debug)]
struct StepForest {
    nodes: Vec<StepNode>,
    trees: Vec<StepTree>,
    leaf_values: Vec<f64>,
    cat_bits: Vec<u32>,
}

/// Rows walked down a tree together.
const LANES: usize = 8;

impl StepForest {
    fn new(trees: &[Tree]) -> StepForest {
        let mut f = StepForest {
            nodes: Vec::new(),
            trees: Vec::with_capacity(trees.len()),
            leaf_values: Vec::new(),
            // Word 0 is what a numeric node or an invalid code reads in `step`.
            cat_bits: vec![0],
        };
        for t in trees {
            let root = f.nodes.len() as u32;
            let ni = t.nodes.len() as u32;
            let cat_base = f.cat_bits.len() as u32;
            f.cat_bits.extend_from_slice(&t.cat_bits);
            let abs = |c: i32| {
                if c >= 0 {
                    root + c as u32
                } else {
                    root + ni + (!c) as u32
                }
            };
            for n in &t.nodes {
                f.nodes.push(StepNode {
                    threshold: n.threshold,
                    feature: n.feature,
                    left: abs(n.left),
                    right: abs(n.right),
                    // Numeric nodes point at word 0 (see `step`).
                    cat_start: if n.cat_words == 0 {
                        0
                    } else {
                        cat_base + n.cat_start
                    },
                    cat_words: n.cat_words,
                    nan_left: n.default_left,
                });
            }
            for l in 0..t.leaf_values.len() as u32 {
                let me = root + ni + l;
                f.nodes.push(StepNode {
                    threshold: f64::INFINITY,
                    feature: 0,
                    left: me,
                    right: me,
                    cat_start: 0,
                    cat_words: 0,
                    nan_left: true,
                });
            }
            f.trees.push(StepTree {
                root,
                leaves: root + ni,
                value_base: f.leaf_values.len() as u32,
                numeric: t.nodes.iter().all(|n| n.cat_words == 0),
            });
            f.leaf_values.extend_from_slice(&t.leaf_values);
        }
        f
    }

    /// The child of numeric node `n` that value `v` goes to, without a branch.
    #[inline(always)]
    fn step_numeric(n: &StepNode, v: f64) -> u32 {
        let left = (v <= n.threshold) | (n.nan_left & v.is_nan());
        if left { n.left } else { n.right }
    }

    /// The child of node `n` (numeric or categorical) that value `v` goes to, without a
    /// branch: both tests are computed and one is selected.
    #[inline(always)]
    fn step(&self, n: &StepNode, v: f64) -> u32 {
        let numeric_left = (v <= n.threshold) | (n.nan_left & v.is_nan());
        // NaN, negative and too large codes are not in the set; they read word 0 harmlessly.
        let in_range = (v >= 0.0) & (v < f64::from(n.cat_words) * 32.0);
        let code = if in_range { v as u32 } else { 0 };
        let word = self.cat_bits[(n.cat_start + code / 32) as usize];
        let cat_left = in_range & ((word >> (code % 32)) & 1 == 1);
        let left = if n.cat_words == 0 {
            numeric_left
        } else {
            cat_left
        };
        if left { n.left } else { n.right }
    }

    /// Adds the outputs of every tree (global tree `first + t` adds to score
    /// `(first + t) % k`) for the rows of `rows` (row-major, `nf` columns) to `out`
    /// (row-major, `k` columns).
    fn add(&self, first: usize, k: usize, rows: &[f64], nf: usize, out: &mut [f64]) {
        let nr = out.len() / k;
        if nr < LANES {
            // Too few rows to walk in lock step: walk several trees at once instead.
            let nfs = nf.max(1);
            for r in 0..nr {
                self.add_row(
                    first,
                    k,
                    &rows[r * nfs..(r + 1) * nfs],
                    &mut out[r * k..(r + 1) * k],
                );
            }
            return;
        }
        for (t, tree) in self.trees.iter().enumerate() {
            let c = (first + t) % k;
            // Two copies of the walk: a categorical test in the loop would cost the numeric
            // one its branch-free step.
            if tree.numeric {
                self.add_tree(tree, c, k, rows, nf, out, |_, n, v| {
                    Self::step_numeric(n, v)
                });
            } else {
                self.add_tree(tree, c, k, rows, nf, out, |f, n, v| f.step(n, v));
            }
        }
    }

    /// Adds every tree's output to one row's scores, walking [`LANES`] trees at once
    /// (independent walks the CPU overlaps); a lane that reaches a leaf takes the next tree
    /// at once rather than waiting for the deepest walk of its group. The leaf values are
    /// kept and added to each score one by one in tree order, as [`StepForest::add_tree`]
    /// adds them, so the sums are the same bits whichever path a row takes.
    fn add_row(&self, first: usize, k: usize, row: &[f64], out: &mut [f64]) {
        const CHUNK: usize = 64;
        let nt = self.trees.len();
        let value =
            |g: &StepTree, leaf: u32| self.leaf_values[(g.value_base + leaf - g.leaves) as usize];
        let mut start = 0;
        while start < nt {
            let end = (start + CHUNK).min(nt);
            let mut vals = [0.0f64; CHUNK];
            let mut lane_tree = [usize::MAX; LANES];
            let mut lane_node = [0u32; LANES];
            let mut next = start;
            // The next tree whose root is not already a leaf (a one-leaf tree is read at once).
            let take = |next: &mut usize, vals: &mut [f64; CHUNK]| -> Option<usize> {
                while *next < end {
                    let t = *next;
                    *next += 1;
                    let g = &self.trees[t];
                    if g.root < g.leaves {
                        return Some(t);
                    }
                    vals[t - start] = value(g, g.root);
                }
                None
            };
            let mut active = 0;
            for j in 0..LANES {
                if let Some(t) = take(&mut next, &mut vals) {
                    lane_tree[j] = t;
                    lane_node[j] = self.trees[t].root;
                    active += 1;
                }
            }
            while active > 0 {
                for j in 0..LANES {
                    let t = lane_tree[j];
                    if t == usize::MAX {
                        continue;
                    }
                    let g = &self.trees[t];
                    let n = &self.nodes[lane_node[j] as usize];
                    let v = row[n.feature as usize];
                    let c = if g.numeric {
                        Self::step_numeric(n, v)
                    } else {
                        self.step(n, v)
                    };
                    if c < g.leaves {
                        lane_node[j] = c;
                        continue;
                    }
                    vals[t - start] = value(g, c);
                    match take(&mut next, &mut vals) {
                        Some(t2) => {
                            lane_tree[j] = t2;
                            lane_node[j] = self.trees[t2].root;
                        }
                        None => {
                            lane_tree[j] = usize::MAX;
                            active -= 1;
                        }
                    }
                }
            }
            for t in start..end {
                out[(first + t) % k] += vals[t - start];
            }
            start = end;
        }
    }

    /// Adds one tree's outputs to score `c`; `step` moves a row down one node.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn add_tree(
        &self,
        tree: &StepTree,
        c: usize,
        k: usize,
        rows: &[f64],
        nf: usize,
        out: &mut [f64],
        step: impl Fn(&Self, &StepNode, f64) -> u32,
    ) {
        let nr = out.len() / k;
        let nfs = nf.max(1);
        let value = |leaf: u32| self.leaf_values[(tree.value_base + leaf - tree.leaves) as usize];
        let mut i = 0;
        while i + LANES <= nr {
            let block = &rows[i * nfs..(i + LANES) * nfs];
            let mut cur = [tree.root; LANES];
            loop {
                let mut active = false;
                for (j, cj) in cur.iter_mut().enumerate() {
                    let n = &self.nodes[*cj as usize];
                    *cj = step(self, n, block[j * nfs + n.feature as usize]);
                    active |= *cj < tree.leaves;
                }
                if !active {
                    break;
                }
            }
            for (j, &cj) in cur.iter().enumerate() {
                out[(i + j) * k + c] += value(cj);
            }
            i += LANES;
        }
        {
            for r in i..nr {
                let row = &rows[r * nfs..(r + 1) * nfs];
                let mut cj = tree.root;
                while cj < tree.leaves {
                    let n = &self.nodes[cj as usize];
                    cj = step(self, n, row[n.feature as usize]);
                }
                out[r * k + c] += value(cj);
            }
        }
    }
}

/// Adds one tree's outputs to score `c` of every row (row-major, `nf` columns), in parallel
/// blocks of rows.
pub(crate) fn add_tree_par(
    tree: &Tree,
    c: usize,
    k: usize,
    rows: &[f64],
    nf: usize,
    out: &mut [f64],
) {
    let forest = StepForest::new(std::slice::from_ref(tree));
    out.par_chunks_mut(PREDICT_BLOCK * k)
        .zip(rows.par_chunks(PREDICT_BLOCK * nf.max(1)))
        .for_each(|(o, r)| forest.add(c, k, r, nf, o));
}

impl Predictor for GbdtModel {
    fn task(&self) -> Task {
        self.task
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        if x.n_cols() != self.n_features {
            return Err(Error::SchemaMismatch(format!(
                "the model has {} features, the input {} columns",
                self.n_features,
                x.n_cols()
            )));
        }
        let raw = self.predict_raw(x);
        let n = x.n_rows();
        match self.task {
            Task::Regression => Ok(Prediction::Values(raw)),
            Task::Binary => {
                let mut data = vec![0.0; 2 * n];
                let (neg, pos) = data.split_at_mut(n);
                for ((a, b), &s) in neg.iter_mut().zip(pos.iter_mut()).zip(&raw) {
                    let p = sigmoid(s);
                    *a = 1.0 - p;
                    *b = p;
                }
                Ok(Prediction::Probabilities(Matrix::from_col_major(
                    n, 2, data,
                )?))
            }
            Task::Multiclass { n_classes: k } => {
                let mut data = vec![0.0; k * n];
                let mut p = vec![0.0; k];
                for (i, s) in raw.chunks_exact(k).enumerate() {
                    softmax_into(s, &mut p);
                    for (c, &v) in p.iter().enumerate() {
                        data[c * n + i] = v;
                    }
                }
                Ok(Prediction::Probabilities(Matrix::from_col_major(
                    n, k, data,
                )?))
            }
        }
    }

    fn feature_importance(&self) -> Option<Vec<f64>> {
        let imp = self.importance(ImportanceKind::Gain);
        let s: f64 = imp.iter().sum();
        if s > 0.0 {
            Some(imp.iter().map(|v| v / s).collect())
        } else {
            Some(imp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain one-row walk, the reference for [`StepForest`].
    fn walk(t: &Tree, row: &[f64]) -> f64 {
        if t.nodes.is_empty() {
            return t.leaf_values[0];
        }
        let mut i = 0usize;
        loop {
            let n = &t.nodes[i];
            let v = row[n.feature as usize];
            let left = if n.cat_words == 0 {
                v <= n.threshold || (n.default_left && v.is_nan())
            } else if v >= 0.0 && v < f64::from(n.cat_words) * 32.0 {
                let c = v as u32;
                t.cat_bits[(n.cat_start + c / 32) as usize] & (1 << (c % 32)) != 0
            } else {
                false
            };
            let c = if left { n.left } else { n.right };
            if c < 0 {
                return t.leaf_values[!c as usize];
            }
            i = c as usize;
        }
    }

    fn node(feature: u32, threshold: f64, left: i32, right: i32, default_left: bool) -> Node {
        Node {
            feature,
            threshold,
            left,
            right,
            default_left,
            cat_start: 0,
            cat_words: 0,
        }
    }

    #[test]
    fn step_forest_matches_a_plain_walk() {
        // Tree 0 numeric; tree 1 mixes a categorical root (codes {1, 33} left) with a numeric
        // node; tree 2 is a single leaf.
        let t0 = Tree {
            nodes: vec![node(0, 0.5, 1, !2, true), node(1, -1.0, !0, !1, false)],
            leaf_values: vec![1.0, 2.0, 3.0],
            cat_bits: vec![],
            gains: vec![1.0, 1.0],
        };
        let mut root = node(2, 0.0, !0, 1, false);
        root.cat_words = 2;
        let t1 = Tree {
            nodes: vec![root, node(0, 0.0, !1, !2, false)],
            leaf_values: vec![10.0, 20.0, 30.0],
            cat_bits: vec![1 << 1, 1 << 1],
            gains: vec![1.0, 1.0],
        };
        let t2 = Tree {
            nodes: vec![],
            leaf_values: vec![100.0],
            cat_bits: vec![],
            gains: vec![],
        };
        let trees = vec![t0, t1, t2];
        let forest = StepForest::new(&trees);
        let vals = [
            f64::NAN,
            -2.0,
            -0.5,
            0.0,
            0.7,
            1.0,
            2.0,
            33.0,
            34.0,
            64.0,
            1e9,
        ];
        let mut rows = Vec::new();
        for &a in &vals {
            for &b in &vals {
                for &c in &vals {
                    rows.extend_from_slice(&[a, b, c]);
                }
            }
        }
        let nr = rows.len() / 3;
        let mut out = vec![0.0; nr];
        forest.add(0, 1, &rows, 3, &mut out);
        for (i, row) in rows.chunks_exact(3).enumerate() {
            let want: f64 = trees.iter().map(|t| walk(t, row)).sum();
            assert_eq!(out[i], want, "row {row:?}");
        }
    }
}
