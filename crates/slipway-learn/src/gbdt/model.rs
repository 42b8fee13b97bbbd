//! The fitted model: flat trees on real-valued thresholds, and batch prediction.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::BinMapper;
use super::grow::GrownTree;
use super::objective::{sigmoid, softmax_into};
use super::splitter::SplitRule;
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
    /// Numeric split: `x <= threshold` goes left.
    #[serde(rename = "t")]
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

    /// The output for one row (`row[f]` is feature `f`).
    #[inline]
    pub(crate) fn predict_row(&self, row: &[f64]) -> f64 {
        if self.nodes.is_empty() {
            return self.leaf_values[0];
        }
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            let v = row[n.feature as usize];
            let left = if n.cat_words == 0 {
                v <= n.threshold || (n.default_left && v.is_nan())
            } else {
                self.in_cat_set(n, v)
            };
            let c = if left { n.left } else { n.right };
            if c < 0 {
                return self.leaf_values[!c as usize];
            }
            i = c as usize;
        }
    }

    #[inline]
    fn in_cat_set(&self, n: &Node, v: f64) -> bool {
        // NaN, negative and too large codes are not in the set.
        if !(v >= 0.0 && v < f64::from(n.cat_words) * 32.0) {
            return false;
        }
        let c = v as u32;
        self.cat_bits[(n.cat_start + c / 32) as usize] & (1 << (c % 32)) != 0
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
    pub(crate) best_iteration: Option<usize>,
    pub(crate) eval_history: Vec<f64>,
    pub(crate) n_threads: Option<usize>,
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
        out.par_chunks_mut(PREDICT_BLOCK * k)
            .enumerate()
            .for_each(|(bi, o)| {
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
                add_trees(&self.trees, 0, k, &buf, nf, o);
            });
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

/// Adds the outputs of `trees` (tree `t` of the slice is global tree `first + t`, adding to
/// score `(first + t) % k`) for the rows of `rows` (row-major, `nf` columns) to `out`
/// (row-major, `k` columns).
pub(crate) fn add_trees(
    trees: &[Tree],
    first: usize,
    k: usize,
    rows: &[f64],
    nf: usize,
    out: &mut [f64],
) {
    let nr = out.len() / k;
    for (t, tree) in trees.iter().enumerate() {
        let c = (first + t) % k;
        for (i, row) in rows.chunks_exact(nf.max(1)).take(nr).enumerate() {
            out[i * k + c] += tree.predict_row(row);
        }
    }
}

/// Adds one tree's outputs to score `c` of every row, in parallel blocks of rows.
pub(crate) fn add_tree_par(
    tree: &Tree,
    c: usize,
    k: usize,
    rows: &[f64],
    nf: usize,
    out: &mut [f64],
) {
    out.par_chunks_mut(PREDICT_BLOCK * k)
        .zip(rows.par_chunks(PREDICT_BLOCK * nf.max(1)))
        .for_each(|(o, r)| {
            for (oi, row) in o.chunks_exact_mut(k).zip(r.chunks_exact(nf.max(1))) {
                oi[c] += tree.predict_row(row);
            }
        });
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
