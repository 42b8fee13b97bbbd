//! Read-only views of tree models, for code that walks trees without predicting through
//! them (TreeSHAP in `slipway-explain`).
//!
//! [`Ensemble::of`] turns a fitted tree model (Slipway's GBDT, decision tree, random forest
//! and extra trees, and imported LightGBM and XGBoost models) into plain trees: per node the
//! feature, the split (with the model's own rule for missing values and categories, see
//! [`Split::goes_left`]), the children and the cover; per leaf its value and cover; and how
//! the trees' outputs form the model's raw score ([`Ensemble::base`], [`Ensemble::scale`],
//! [`TreeView::output`]). For every row,
//! `raw[k] = base[k] + scale · Σ_{trees t with output k} leaf value of t` is the model's raw
//! score (see [`Ensemble::raw_space`]) up to the order of the floating-point sums.
//!
//! The views are copies: a model's internal layout can change without changing them.

use crate::gbdt::GbdtModel;
use crate::import::{ImportedModel, Library, MissingType};
use crate::pipeline::FittedModel;
use crate::tree::model::{LEAF, Node, Tree};
use crate::{Error, Result, Task};

/// LightGBM's `kZeroThreshold`.
const LIGHTGBM_ZERO: f64 = 1e-35_f32 as f64;

/// XGBoost's largest valid category plus one: larger values go left.
const XGBOOST_MAX_CAT: f32 = 16_777_216.0;

/// A child of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    /// Another internal node (index into [`TreeView::nodes`]).
    Node(usize),
    /// A leaf (index into [`TreeView::leaf_values`]).
    Leaf(usize),
}

/// How a node sends a value left or right: each model family's own rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Split {
    /// Slipway's trees: NaN goes left when `nan_left`, numbers when `x <= threshold`.
    LessEqual {
        /// The threshold.
        threshold: f64,
        /// Where NaN goes.
        nan_left: bool,
    },
    /// Slipway's categorical splits: a code (a whole number read from the value, `v as u32`)
    /// in `left` (sorted) goes left, other numbers right, NaN as `nan_left` says.
    Categories {
        /// Codes that go left, sorted.
        left: Vec<u32>,
        /// Where NaN goes.
        nan_left: bool,
    },
    /// LightGBM numeric split with its missing type: None reads NaN as 0; Zero sends NaN and
    /// values within ±1e-35 the default way; NaN sends NaN the default way. Others:
    /// `x <= threshold`.
    LightgbmNumeric {
        /// The threshold.
        threshold: f64,
        /// Where missing values go.
        default_left: bool,
        /// Which values count as missing.
        missing: MissingType,
    },
    /// LightGBM categorical split: the integer part of the value in `left` (sorted) goes
    /// left; NaN, negative and too large values right.
    LightgbmCategories {
        /// Codes that go left, sorted.
        left: Vec<u32>,
    },
    /// XGBoost numeric split: the value as `f32`; NaN goes the default way, else
    /// `x < threshold`.
    XgboostNumeric {
        /// The threshold.
        threshold: f32,
        /// Where NaN goes.
        default_left: bool,
    },
    /// XGBoost categorical split: NaN goes the default way, codes outside 0..2²⁴ left, a code
    /// in `right` (sorted) right, others left.
    XgboostCategories {
        /// Codes that go right, sorted.
        right: Vec<u32>,
        /// Where NaN goes.
        default_left: bool,
    },
}

impl Split {
    /// Whether a row whose split feature is `v` goes left.
    #[inline]
    pub fn goes_left(&self, v: f64) -> bool {
        match self {
            Split::LessEqual {
                threshold,
                nan_left,
            } => {
                if v.is_nan() {
                    *nan_left
                } else {
                    v <= *threshold
                }
            }
            Split::Categories { left, nan_left } => {
                if v.is_nan() {
                    *nan_left
                } else {
                    v >= 0.0 && v <= f64::from(u32::MAX) && left.binary_search(&(v as u32)).is_ok()
                }
            }
            Split::LightgbmNumeric {
                threshold,
                default_left,
                missing,
            } => {
                let v = if v.is_nan() && *missing != MissingType::Nan {
                    0.0
                } else {
                    v
                };
                let is_missing = match missing {
                    MissingType::None => false,
                    MissingType::Zero => (-LIGHTGBM_ZERO..=LIGHTGBM_ZERO).contains(&v),
                    MissingType::Nan => v.is_nan(),
                };
                if is_missing {
                    *default_left
                } else {
                    v <= *threshold
                }
            }
            Split::LightgbmCategories { left } => {
                let t = v.trunc();
                !v.is_nan()
                    && (0.0..2_147_483_648.0).contains(&t)
                    && left.binary_search(&(t as u32)).is_ok()
            }
            Split::XgboostNumeric {
                threshold,
                default_left,
            } => {
                let v = v as f32;
                if v.is_nan() {
                    *default_left
                } else {
                    v < *threshold
                }
            }
            Split::XgboostCategories {
                right,
                default_left,
            } => {
                let v = v as f32;
                if v.is_nan() {
                    *default_left
                } else if !(0.0..XGBOOST_MAX_CAT).contains(&v) {
                    true
                } else {
                    right.binary_search(&(v as u32)).is_err()
                }
            }
        }
    }

    /// Whether this is a split on categories.
    pub fn is_categorical(&self) -> bool {
        matches!(
            self,
            Split::Categories { .. }
                | Split::LightgbmCategories { .. }
                | Split::XgboostCategories { .. }
        )
    }
}

/// An internal node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    /// The feature (column of the model's input matrix) it splits on.
    pub feature: usize,
    /// The rule.
    pub split: Split,
    /// Where rows that go left go.
    pub left: Child,
    /// Where the others go.
    pub right: Child,
}

/// One tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeView {
    /// The raw score (output) this tree adds to.
    pub output: usize,
    /// Internal nodes, the root first; empty for a one-leaf tree.
    pub nodes: Vec<NodeView>,
    /// Leaf values.
    pub leaf_values: Vec<f64>,
    /// Cover of each internal node (training rows that reached it, or hessian sums for
    /// XGBoost); empty when unknown.
    pub node_covers: Vec<f64>,
    /// Cover of each leaf; empty when unknown.
    pub leaf_covers: Vec<f64>,
}

impl TreeView {
    /// The leaf a row reaches.
    pub fn leaf(&self, row: &[f64]) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            let c = if n.split.goes_left(row[n.feature]) {
                n.left
            } else {
                n.right
            };
            match c {
                Child::Node(j) => i = j,
                Child::Leaf(l) => return l,
            }
        }
    }

    /// Whether covers are known for every node and leaf.
    pub fn has_covers(&self) -> bool {
        self.leaf_covers.len() == self.leaf_values.len()
            && self.node_covers.len() == self.nodes.len()
    }
}

/// What a model's raw score is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawSpace {
    /// Log-odds (binary boosting: the sigmoid gives the probability).
    LogOdds,
    /// Per-class scores before the softmax.
    ClassScores,
    /// Class probabilities (decision trees and forests average them).
    Probability,
    /// The prediction itself, or the margin before an output transform (`exp` for
    /// Poisson-like objectives).
    Value,
}

impl RawSpace {
    /// In words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            RawSpace::LogOdds => "log-odds",
            RawSpace::ClassScores => "raw class scores (before softmax)",
            RawSpace::Probability => "probability",
            RawSpace::Value => "raw prediction",
        }
    }
}

/// A tree model as plain trees.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// Columns of the model's input matrix.
    pub n_features: usize,
    /// Raw scores per row (classes for multiclass boosting and for trees and forests; else 1).
    pub n_outputs: usize,
    /// Added once to each output (Slipway's init scores, XGBoost's base margin).
    pub base: Vec<f64>,
    /// Each tree's value is multiplied by this (1 / trees per output for averaging models).
    pub scale: f64,
    /// The trees.
    pub trees: Vec<TreeView>,
    /// What the raw score is.
    pub raw_space: RawSpace,
    /// Leaf values are `f32` and the library sums them in `f32` (XGBoost): sums of the
    /// views' values in `f64` then differ from the library's raw score by rounding.
    pub f32_sums: bool,
}

/// The model families [`Ensemble::of`] takes, in words.
pub const SUPPORTED: &str =
    "gbdt, decision_tree, random_forest, extra_trees, and imported LightGBM and XGBoost models";

impl Ensemble {
    /// The trees of a fitted model; an error names the families that have trees.
    pub fn of(model: &FittedModel) -> Result<Ensemble> {
        match model {
            FittedModel::Gbdt(m) => Ok(gbdt(m)),
            FittedModel::Imported(m) => imported(m),
            FittedModel::DecisionTree(m) => {
                Ok(forest(m.task, m.n_features, std::slice::from_ref(&m.tree)))
            }
            FittedModel::RandomForest(m) | FittedModel::ExtraTrees(m) => {
                Ok(forest(m.task, m.n_features, &m.trees))
            }
            _ => Err(Error::InvalidData(format!(
                "this model has no trees to explain; tree explanations cover {SUPPORTED}"
            ))),
        }
    }

    /// Raw scores of one row summed over the views (in `f64`, in tree order).
    pub fn raw(&self, row: &[f64]) -> Vec<f64> {
        let mut out = self.base.clone();
        for t in &self.trees {
            out[t.output] += self.scale * t.leaf_values[t.leaf(row)];
        }
        out
    }

    /// Whether every tree with more than one leaf has covers.
    pub fn has_covers(&self) -> bool {
        self.trees
            .iter()
            .all(|t| t.nodes.is_empty() || t.has_covers())
    }
}

fn child(c: i32) -> Child {
    if c >= 0 {
        Child::Node(c as usize)
    } else {
        Child::Leaf(!c as usize)
    }
}

/// The codes whose bits are set in `bits` (bit `c % 32` of word `c / 32`).
fn codes(bits: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, &word) in bits.iter().enumerate() {
        for b in 0..32 {
            if (word >> b) & 1 == 1 {
                out.push(w as u32 * 32 + b);
            }
        }
    }
    out
}

/// Splits `covers` (internal nodes, then leaves) when it has one per node and leaf.
fn split_covers(covers: Option<&Vec<f64>>, ni: usize, nl: usize) -> (Vec<f64>, Vec<f64>) {
    match covers {
        Some(c) if c.len() == ni + nl => (c[..ni].to_vec(), c[ni..].to_vec()),
        _ => (Vec::new(), Vec::new()),
    }
}

fn gbdt(m: &GbdtModel) -> Ensemble {
    let trees = m
        .trees
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let nodes = t
                .nodes
                .iter()
                .map(|n| NodeView {
                    feature: n.feature as usize,
                    split: if n.cat_words == 0 {
                        Split::LessEqual {
                            threshold: n.threshold,
                            nan_left: n.default_left,
                        }
                    } else {
                        Split::Categories {
                            left: codes(
                                &t.cat_bits
                                    [n.cat_start as usize..(n.cat_start + n.cat_words) as usize],
                            ),
                            nan_left: false,
                        }
                    },
                    left: child(n.left),
                    right: child(n.right),
                })
                .collect();
            let (node_covers, leaf_covers) =
                split_covers(m.covers.get(i), t.nodes.len(), t.leaf_values.len());
            TreeView {
                output: i % m.n_scores,
                nodes,
                leaf_values: t.leaf_values.clone(),
                node_covers,
                leaf_covers,
            }
        })
        .collect();
    Ensemble {
        n_features: m.n_features,
        n_outputs: m.n_scores,
        base: m.init_scores.clone(),
        scale: 1.0,
        trees,
        raw_space: boosting_space(m.task),
        f32_sums: false,
    }
}

fn boosting_space(task: Task) -> RawSpace {
    match task {
        Task::Binary => RawSpace::LogOdds,
        Task::Multiclass { .. } => RawSpace::ClassScores,
        Task::Regression => RawSpace::Value,
    }
}

fn imported(m: &ImportedModel) -> Result<Ensemble> {
    let lightgbm = match m.library {
        Library::Lightgbm => true,
        Library::Xgboost => false,
        Library::Onnx => {
            return Err(Error::InvalidData(format!(
                "an imported ONNX model is evaluated as a graph and has no trees to explain; tree explanations cover {SUPPORTED}"
            )));
        }
    };
    let trees = m
        .trees
        .iter()
        .map(|t| {
            let nodes = t
                .nodes
                .iter()
                .map(|n| {
                    let bits = || {
                        codes(
                            &t.cat_bits[n.cat_start as usize..(n.cat_start + n.cat_words) as usize],
                        )
                    };
                    let split = match (lightgbm, n.categorical) {
                        (true, false) => Split::LightgbmNumeric {
                            threshold: n.threshold,
                            default_left: n.default_left,
                            missing: n.missing,
                        },
                        (true, true) => Split::LightgbmCategories { left: bits() },
                        (false, false) => Split::XgboostNumeric {
                            threshold: n.threshold as f32,
                            default_left: n.default_left,
                        },
                        (false, true) => Split::XgboostCategories {
                            right: bits(),
                            default_left: n.default_left,
                        },
                    };
                    NodeView {
                        feature: n.feature as usize,
                        split,
                        left: child(n.left),
                        right: child(n.right),
                    }
                })
                .collect();
            let (node_covers, leaf_covers) =
                split_covers(Some(&t.covers), t.nodes.len(), t.leaf_values.len());
            TreeView {
                output: t.group as usize,
                nodes,
                leaf_values: t.leaf_values.clone(),
                node_covers,
                leaf_covers,
            }
        })
        .collect();
    let scale = if m.average_output {
        1.0 / (m.trees.len() / m.n_groups).max(1) as f64
    } else {
        1.0
    };
    // The raw score of a model with an output transform (sigmoid, softmax, exp) is the margin.
    Ok(Ensemble {
        n_features: m.feature_names.len(),
        n_outputs: m.n_groups,
        base: m.base_margin.clone(),
        scale,
        trees,
        raw_space: boosting_space(m.task),
        f32_sums: !lightgbm,
    })
}

/// Decision trees and forests: the mean of the trees' leaf outputs (class fractions for
/// classification), one view per tree and output.
fn forest(task: Task, n_features: usize, trees: &[Tree]) -> Ensemble {
    let k = trees.first().map_or(1, |t| t.n_outputs);
    let mut views = Vec::with_capacity(trees.len() * k);
    for t in trees {
        let (nodes, leaf_offsets, node_covers, leaf_covers) = flatten(t);
        for c in 0..k {
            views.push(TreeView {
                output: c,
                nodes: nodes.clone(),
                leaf_values: leaf_offsets.iter().map(|&o| t.values[o + c]).collect(),
                node_covers: node_covers.clone(),
                leaf_covers: leaf_covers.clone(),
            });
        }
    }
    Ensemble {
        n_features,
        n_outputs: k,
        base: vec![0.0; k],
        scale: 1.0 / trees.len().max(1) as f64,
        trees: views,
        raw_space: if task.is_classification() {
            RawSpace::Probability
        } else {
            RawSpace::Value
        },
        f32_sums: false,
    }
}

/// A decision tree's nodes renumbered as internal nodes and leaves, with each leaf's offset
/// into its values and the covers it records.
fn flatten(t: &Tree) -> (Vec<NodeView>, Vec<usize>, Vec<f64>, Vec<f64>) {
    // Internal nodes and leaves get their own numbers, in node order.
    let mut slot = vec![Child::Leaf(0); t.nodes.len()];
    let (mut ni, mut nl) = (0, 0);
    for (i, n) in t.nodes.iter().enumerate() {
        if n.feature == LEAF {
            slot[i] = Child::Leaf(nl);
            nl += 1;
        } else {
            slot[i] = Child::Node(ni);
            ni += 1;
        }
    }
    let has_covers = t.covers.len() == t.nodes.len();
    let mut nodes = Vec::with_capacity(ni);
    let mut offsets = Vec::with_capacity(nl);
    let mut node_covers = Vec::new();
    let mut leaf_covers = Vec::new();
    for (i, n) in t.nodes.iter().enumerate() {
        if n.feature == LEAF {
            offsets.push(n.child as usize);
            if has_covers {
                leaf_covers.push(t.covers[i]);
            }
        } else {
            nodes.push(NodeView {
                feature: n.feature as usize,
                split: node_split(n),
                left: slot[n.child as usize],
                right: slot[n.child as usize + 1],
            });
            if has_covers {
                node_covers.push(t.covers[i]);
            }
        }
    }
    (nodes, offsets, node_covers, leaf_covers)
}

fn node_split(n: &Node) -> Split {
    match &n.cats {
        None => Split::LessEqual {
            threshold: n.threshold,
            nan_left: n.missing_left,
        },
        Some(c) => Split::Categories {
            left: c.clone(),
            nan_left: n.missing_left,
        },
    }
}
