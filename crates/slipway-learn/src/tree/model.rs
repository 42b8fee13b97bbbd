//! Fitted trees and forests, and prediction.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Matrix, Prediction, Predictor, Result, Task};

/// Marks a leaf in [`Node::feature`].
pub(crate) const LEAF: u32 = u32::MAX;

/// One node of a flattened tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// Split feature, or [`LEAF`].
    #[serde(rename = "f")]
    pub feature: u32,
    /// Rows with `x <= threshold` go left (unused in a leaf).
    #[serde(rename = "t")]
    pub threshold: f64,
    /// Internal node: index of the left child (the right one follows it). Leaf: offset of its
    /// outputs in [`Tree::values`].
    #[serde(rename = "c")]
    pub child: u32,
    /// Whether NaN goes left.
    #[serde(rename = "m")]
    pub missing_left: bool,
    /// A split on category sets: the category codes (sorted) that go left; every other
    /// code goes right, NaN (missing or unknown) as `missing_left` says, and `threshold` is
    /// unused.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub cats: Option<Vec<u32>>,
}

impl Node {
    /// Whether a row with value `v` of the split feature goes left.
    #[inline]
    pub(crate) fn goes_left(&self, v: f64) -> bool {
        if v.is_nan() {
            return self.missing_left;
        }
        match &self.cats {
            None => v <= self.threshold,
            Some(cats) => {
                v >= 0.0 && v <= f64::from(u32::MAX) && cats.binary_search(&(v as u32)).is_ok()
            }
        }
    }
}

/// A fitted tree: flattened nodes (root first) and its leaves' outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// `n_outputs` values per leaf: class fractions, or the mean.
    pub(crate) values: Vec<f64>,
    pub(crate) n_outputs: usize,
    /// Unnormalized impurity decrease per feature.
    pub(crate) importance: Vec<f64>,
    /// The training weight that reached each node (scikit-learn's
    /// `weighted_n_node_samples`): the covers of path-dependent TreeSHAP. Empty in bundles
    /// written before they were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) covers: Vec<f64>,
}

impl Tree {
    /// Number of nodes (internal and leaves).
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.feature == LEAF).count()
    }

    /// Depth of the deepest leaf (a lone root has depth 0).
    pub fn depth(&self) -> usize {
        let mut best = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, d)) = stack.pop() {
            let n = &self.nodes[i];
            if n.feature == LEAF {
                best = best.max(d);
            } else {
                stack.push((n.child as usize, d + 1));
                stack.push((n.child as usize + 1, d + 1));
            }
        }
        best
    }

    /// Offset in `values` of the leaf that `get(feature)` reaches.
    #[inline]
    pub(crate) fn leaf(&self, get: impl Fn(usize) -> f64) -> usize {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.feature == LEAF {
                return n.child as usize;
            }
            let left = n.goes_left(get(n.feature as usize));
            i = n.child as usize + usize::from(!left);
        }
    }

    /// Importance normalized to sum to 1 (all zeros for a lone leaf), like scikit-learn's
    /// `DecisionTreeClassifier.feature_importances_`.
    pub(crate) fn normalized_importance(&self) -> Vec<f64> {
        let s: f64 = self.importance.iter().sum();
        if s > 0.0 {
            self.importance.iter().map(|v| v / s).collect()
        } else {
            vec![0.0; self.importance.len()]
        }
    }
}

/// Rows per parallel prediction block.
const BLOCK: usize = 1024;

/// Averages the outputs of `trees` for every row of `x`; row-major `n_rows × n_outputs`.
fn average(trees: &[Tree], x: &Matrix, n_outputs: usize) -> Vec<f64> {
    let n = x.n_rows();
    let nf = x.n_cols();
    let mut out = vec![0.0; n * n_outputs];
    let scale = 1.0 / trees.len() as f64;
    out.par_chunks_mut(BLOCK * n_outputs)
        .enumerate()
        .for_each(|(b, chunk)| {
            let r0 = b * BLOCK;
            let mut row = vec![0.0; nf];
            for (k, acc) in chunk.chunks_mut(n_outputs).enumerate() {
                x.row_into(r0 + k, &mut row);
                for t in trees {
                    let off = t.leaf(|f| row[f]);
                    for (a, v) in acc.iter_mut().zip(&t.values[off..off + n_outputs]) {
                        *a += v;
                    }
                }
                if trees.len() > 1 {
                    for a in acc.iter_mut() {
                        *a *= scale;
                    }
                }
            }
        });
    out
}

fn check_columns(x: &Matrix, n_features: usize) -> Result<()> {
    if x.n_cols() != n_features {
        return Err(Error::SchemaMismatch(format!(
            "the model was fitted on {n_features} features, got {}",
            x.n_cols()
        )));
    }
    Ok(())
}

fn to_prediction(task: Task, n_rows: usize, n_outputs: usize, out: Vec<f64>) -> Result<Prediction> {
    if task.is_classification() {
        Ok(Prediction::Probabilities(Matrix::from_row_major(
            n_rows, n_outputs, &out,
        )?))
    } else {
        Ok(Prediction::Values(out))
    }
}

/// A fitted decision tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTreeModel {
    pub(crate) task: Task,
    pub(crate) n_features: usize,
    pub(crate) tree: Tree,
}

impl DecisionTreeModel {
    /// The tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }
}

impl Predictor for DecisionTreeModel {
    fn task(&self) -> Task {
        self.task
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        check_columns(x, self.n_features)?;
        let k = self.tree.n_outputs;
        let out = average(std::slice::from_ref(&self.tree), x, k);
        to_prediction(self.task, x.n_rows(), k, out)
    }

    fn feature_importance(&self) -> Option<Vec<f64>> {
        Some(self.tree.normalized_importance())
    }
}

/// A fitted random forest or extra-trees ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestModel {
    pub(crate) task: Task,
    pub(crate) n_features: usize,
    pub(crate) trees: Vec<Tree>,
    pub(crate) oob_score: Option<f64>,
}

impl ForestModel {
    /// The trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Out-of-bag accuracy (classification) or R² (regression), when fitted with
    /// `oob_score = true`.
    pub fn oob_score(&self) -> Option<f64> {
        self.oob_score
    }
}

impl Predictor for ForestModel {
    fn task(&self) -> Task {
        self.task
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        check_columns(x, self.n_features)?;
        let k = self.trees.first().map_or(1, |t| t.n_outputs);
        let out = average(&self.trees, x, k);
        to_prediction(self.task, x.n_rows(), k, out)
    }

    /// Mean of the trees' normalized importances (trees that are a lone leaf left out),
    /// normalized again — scikit-learn's `feature_importances_`.
    fn feature_importance(&self) -> Option<Vec<f64>> {
        let mut acc = vec![0.0; self.n_features];
        let mut used = 0usize;
        for t in self.trees.iter().filter(|t| t.nodes.len() > 1) {
            used += 1;
            for (a, v) in acc.iter_mut().zip(t.normalized_importance()) {
                *a += v;
            }
        }
        if used == 0 {
            return Some(acc);
        }
        for a in &mut acc {
            *a /= used as f64;
        }
        let s: f64 = acc.iter().sum();
        if s > 0.0 {
            for a in &mut acc {
                *a /= s;
            }
        }
        Some(acc)
    }
}
