//! Models trained elsewhere: LightGBM text models and XGBoost JSON models, read and
//! evaluated by Slipway's own code (no C library), and Slipway GBDT models written out as
//! LightGBM text.
//!
//! - [`lightgbm::parse`] and [`xgboost::parse`] read a model file into a [`ModelFile`]: an
//!   [`ImportedModel`] (the trees with the library's own split rules, the objective's output
//!   transform and base score) and the category names the file records.
//! - [`import_pipeline`] matches the model's feature names to the columns of a sample table
//!   (typed as Slipway reads files) and returns a [`FittedPipeline`] whose preprocessing
//!   passes raw values: numbers as `f64` with missing values as NaN, text categories as the
//!   training library's integer codes (a category the file does not list, and a missing one,
//!   as NaN). The pipeline is then bundled, predicted with and served like any other.
//! - [`lightgbm::export`] writes a Slipway GBDT pipeline as a LightGBM text model.
//!
//! Evaluation follows each library's predictor: LightGBM walks its trees in `f64`
//! (`x <= threshold`; missing-value types None, Zero and NaN; categories in a split's bitset
//! go left, NaN and negative values right), sums the trees in order from 0 and divides by the
//! number of iterations for `average_output`. XGBoost reads inputs as `f32`, splits on
//! `x < threshold`, sends missing values the default way and a split's categories right, and
//! sums in `f32` from its base margin, tree by tree, as its CPU predictor does; its output
//! transform is computed in `f32` too. LightGBM models whose trees have at most 64 leaves
//! (and no missing type Zero) are scored by QuickScorer (`crate::quickscorer`), which adds
//! the same leaves in the same order, so the same bits, several times faster.
//!
//! Every parse error is an [`Error::ModelFile`] naming the file, where in it (line, tree,
//! field or JSON path) and the rule broken; no input makes the parsers panic.

pub mod lightgbm;
pub mod onnx;
pub mod xgboost;

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Role, Table};

use crate::pipeline::{FittedModel, FittedPipeline, ModelSpec, TargetInfo};
use crate::preprocess::{ColumnTransform, Encoding, FittedColumn, FittedPreprocessor};
use crate::quickscorer::{Lazy, Node as QsNode, QuickScorer, Split, TreeDesc};
use crate::{Error, Matrix, Prediction, Predictor, Result, Task};

/// Rows per prediction block (transposed to row-major once per block).
const PREDICT_BLOCK: usize = 256;

/// XGBoost's largest valid category plus one (`OutOfRangeCat`): larger values go left.
const XGBOOST_MAX_CAT: f32 = 16_777_216.0;

/// LightGBM's `kZeroThreshold`: values this close to 0 count as zero for missing type Zero.
const LIGHTGBM_ZERO: f64 = 1e-35_f32 as f64;

/// The library that trained an imported model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Library {
    /// LightGBM (text model, `save_model`).
    Lightgbm,
    /// XGBoost (JSON model, `save_model("model.json")`).
    Xgboost,
    /// An ONNX model (skl2onnx and others), evaluated by tract (the `onnx` feature).
    Onnx,
}

impl Library {
    /// The library's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            Library::Lightgbm => "LightGBM",
            Library::Xgboost => "XGBoost",
            Library::Onnx => "ONNX",
        }
    }
}

impl std::fmt::Display for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an imported model came from: the `params` of its bundle. It names no
/// hyperparameters, and [`ModelSpec::check`] refuses to train it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedSpec {
    /// The library that trained it.
    pub library: Library,
    /// The model file, as given.
    pub file: String,
    /// `sha256:<hex>` of the model file's bytes.
    pub sha256: String,
    /// The objective, as the file names it.
    pub objective: String,
    /// The format version the file records (`v4` for LightGBM, the XGBoost version).
    pub format_version: String,
}

/// How raw scores become predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The raw score (regression).
    Identity,
    /// `1 / (1 + exp(-scale · x))` (binary classification, cross-entropy regression).
    Sigmoid {
        /// LightGBM's `sigmoid:` parameter (1 for XGBoost).
        scale: f64,
    },
    /// Softmax over the classes' scores.
    Softmax,
    /// `exp(x)` (Poisson, gamma, Tweedie).
    Exp,
    /// `sign(x) · x²` (LightGBM regression with `reg_sqrt`).
    SignedSquare,
}

/// How a LightGBM numeric split treats missing values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingType {
    /// No special value: NaN is read as 0.
    None,
    /// Zero (and NaN, read as 0) goes the default way.
    Zero,
    /// NaN goes the default way.
    Nan,
}

/// An internal node of an imported tree. Children `>= 0` are nodes, `< 0` leaves `!child`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ImportedNode {
    /// Feature index.
    #[serde(rename = "f")]
    pub feature: u32,
    /// Numeric split threshold (LightGBM: `x <= t` left; XGBoost: `x < t` left).
    #[serde(rename = "t")]
    pub threshold: f64,
    /// Left child.
    #[serde(rename = "l")]
    pub left: i32,
    /// Right child.
    #[serde(rename = "r")]
    pub right: i32,
    /// Whether missing values (as the library defines them) go left.
    #[serde(rename = "d")]
    pub default_left: bool,
    /// LightGBM numeric splits: which values count as missing.
    #[serde(rename = "m")]
    pub missing: MissingType,
    /// Whether this is a categorical split.
    #[serde(rename = "c")]
    pub categorical: bool,
    /// Categorical split: start of its bitset in [`ImportedTree::cat_bits`].
    #[serde(rename = "cs")]
    pub cat_start: u32,
    /// Categorical split: words of its bitset.
    #[serde(rename = "cw")]
    pub cat_words: u32,
}

/// One imported tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ImportedTree {
    /// The output (class) this tree adds to.
    pub group: u32,
    /// Internal nodes; the root is node 0. Empty for a one-leaf tree.
    pub nodes: Vec<ImportedNode>,
    /// Leaf values (for XGBoost, `f32` values held as `f64`).
    pub leaf_values: Vec<f64>,
    /// Category sets of the categorical nodes: bit `c % 32` of word `c / 32`. LightGBM: the
    /// categories that go left; XGBoost: the categories that go right.
    pub cat_bits: Vec<u32>,
    /// The cover of each internal node, then of each leaf, as the file records it: LightGBM's
    /// `internal_count` / `leaf_count` (training rows), XGBoost's `sum_hessian`. What
    /// path-dependent TreeSHAP weighs paths by; empty when the file or an older bundle has
    /// none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<f64>,
}

impl ImportedTree {
    /// Checks that the nodes form one tree over every leaf and that features, groups and
    /// bitsets are in range.
    pub(crate) fn check(
        &self,
        n_features: usize,
        n_groups: usize,
    ) -> std::result::Result<(), String> {
        let ni = self.nodes.len();
        let nl = self.leaf_values.len();
        if nl != ni + 1 {
            return Err(format!(
                "{ni} internal nodes need {} leaves, the tree has {nl}",
                ni + 1
            ));
        }
        if self.group as usize >= n_groups {
            return Err(format!(
                "adds to output {} but the model has {n_groups}",
                self.group
            ));
        }
        let mut node_seen = vec![false; ni];
        let mut leaf_seen = vec![false; nl];
        if ni > 0 {
            node_seen[0] = true;
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.feature as usize >= n_features {
                return Err(format!(
                    "node {i} splits on feature {} but the model has {n_features} features",
                    n.feature
                ));
            }
            if n.categorical && (n.cat_start as usize + n.cat_words as usize) > self.cat_bits.len()
            {
                return Err(format!(
                    "node {i}: its category bitset lies outside the tree's bitsets"
                ));
            }
            for c in [n.left, n.right] {
                let seen = if c >= 0 {
                    node_seen.get_mut(c as usize)
                } else {
                    leaf_seen.get_mut(!c as usize)
                };
                match seen {
                    None => {
                        return Err(format!(
                            "node {i} has child {c}, outside the tree's {ni} nodes and {nl} leaves"
                        ));
                    }
                    Some(true) => {
                        return Err(format!(
                            "node {i} has child {c}, which already has a parent (or is the root)"
                        ));
                    }
                    Some(s) => *s = true,
                }
            }
        }
        // Every node and leaf has exactly one parent; walk from the root to rule out cycles
        // that do not reach it.
        let mut reached = 0usize;
        let mut stack = Vec::new();
        if ni > 0 {
            stack.push(0i32);
        } else {
            reached = 1;
        }
        while let Some(c) = stack.pop() {
            reached += 1;
            if c >= 0 {
                let n = &self.nodes[c as usize];
                stack.push(n.left);
                stack.push(n.right);
            }
            if reached > ni + nl {
                return Err("the nodes form a cycle".into());
            }
        }
        if reached != ni + nl {
            return Err(format!(
                "only {reached} of its {} nodes and leaves can be reached from the root",
                ni + nl
            ));
        }
        Ok(())
    }

    /// LightGBM's leaf for a row (`Tree::GetLeaf`).
    fn leaf_lightgbm(&self, row: &[f64]) -> f64 {
        if self.nodes.is_empty() {
            return self.leaf_values[0];
        }
        let mut c = 0i32;
        while c >= 0 {
            let n = &self.nodes[c as usize];
            let v = row[n.feature as usize];
            let left = if n.categorical {
                // `static_cast<int>(fval)`: NaN and values outside int become INT_MIN there,
                // so they, and negative codes, go right.
                let t = v.trunc();
                if v.is_nan() || !(0.0..2_147_483_648.0).contains(&t) {
                    false
                } else {
                    self.has_category(n, t as u32)
                }
            } else {
                let v = if v.is_nan() && n.missing != MissingType::Nan {
                    0.0
                } else {
                    v
                };
                let missing = match n.missing {
                    MissingType::None => false,
                    MissingType::Zero => (-LIGHTGBM_ZERO..=LIGHTGBM_ZERO).contains(&v),
                    MissingType::Nan => v.is_nan(),
                };
                if missing {
                    n.default_left
                } else {
                    v <= n.threshold
                }
            };
            c = if left { n.left } else { n.right };
        }
        self.leaf_values[!c as usize]
    }

    /// XGBoost's leaf for a row of `f32` values (`GetLeafIndex`).
    fn leaf_xgboost(&self, row: &[f32]) -> f32 {
        if self.nodes.is_empty() {
            return self.leaf_values[0] as f32;
        }
        let mut c = 0i32;
        while c >= 0 {
            let n = &self.nodes[c as usize];
            let v = row[n.feature as usize];
            let left = if v.is_nan() {
                n.default_left
            } else if n.categorical {
                // Invalid categories go left; a category in the split's set goes right.
                if !(0.0..XGBOOST_MAX_CAT).contains(&v) {
                    true
                } else {
                    !self.has_category(n, v as u32)
                }
            } else {
                v < n.threshold as f32
            };
            c = if left { n.left } else { n.right };
        }
        self.leaf_values[!c as usize] as f32
    }

    fn has_category(&self, n: &ImportedNode, code: u32) -> bool {
        let w = (code / 32) as usize;
        w < n.cat_words as usize
            && (self.cat_bits[n.cat_start as usize + w] >> (code % 32)) & 1 == 1
    }
}

/// A model trained by another library, evaluated as that library does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedModel {
    pub(crate) library: Library,
    /// The objective, as the file names it.
    pub(crate) objective: String,
    pub(crate) task: Task,
    pub(crate) link: Link,
    /// Feature names, in the model's column order.
    pub(crate) feature_names: Vec<String>,
    /// Raw scores per row: the number of classes for multiclass, else 1.
    pub(crate) n_groups: usize,
    /// Starting raw score of each output (XGBoost's base margin, an `f32` held as `f64`;
    /// zeros for LightGBM, whose first trees hold it).
    pub(crate) base_margin: Vec<f64>,
    /// LightGBM random forests: the raw score is the mean over iterations, not the sum.
    pub(crate) average_output: bool,
    /// Trees, in the order the library sums them.
    pub(crate) trees: Vec<ImportedTree>,
    /// LightGBM models whose trees QuickScorer covers, laid out for it on first use.
    #[serde(skip)]
    pub(crate) quick: Lazy<Option<QuickScorer>>,
}

impl ImportedModel {
    /// The library that trained it.
    pub fn library(&self) -> Library {
        self.library
    }

    /// The objective, as the model file names it.
    pub fn objective(&self) -> &str {
        &self.objective
    }

    /// Feature names in the model's column order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// How raw scores become predictions.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Checks every tree; `path` names the file in errors.
    pub(crate) fn check(&self, path: &str) -> Result<()> {
        if self.base_margin.len() != self.n_groups {
            return Err(model_err(
                path,
                "model",
                format!(
                    "{} base scores for {} outputs",
                    self.base_margin.len(),
                    self.n_groups
                ),
            ));
        }
        if self.trees.is_empty() {
            return Err(model_err(path, "model", "the model has no trees"));
        }
        for (i, t) in self.trees.iter().enumerate() {
            t.check(self.feature_names.len(), self.n_groups)
                .map_err(|m| model_err(path, &format!("tree {i}"), m))?;
        }
        Ok(())
    }

    /// Raw scores, row-major `n_rows × n_groups`, before the output transform (LightGBM's
    /// `raw_score`, XGBoost's `output_margin`).
    pub fn predict_raw(&self, x: &Matrix) -> Vec<f64> {
        let k = self.n_groups;
        let nf = self.feature_names.len();
        let n = x.n_rows();
        let mut out = vec![0.0; n * k];
        let quick = self.quick.get_or_init(|| self.quick_scorer()).as_ref();
        let block = |(bi, o): (usize, &mut [f64])| {
            let r0 = bi * PREDICT_BLOCK;
            let nr = o.len() / k;
            let mut rows = vec![0.0f64; nr * nf];
            for f in 0..nf {
                let c = &x.as_col_major()[f * n + r0..f * n + r0 + nr];
                for (i, &v) in c.iter().enumerate() {
                    rows[i * nf + f] = v;
                }
            }
            if let Some(q) = quick {
                // LightGBM sums from 0.
                q.add(k, &rows, nf, o);
                self.average(o);
                return;
            }
            let mut scratch = Scratch::default();
            for (i, s) in o.chunks_exact_mut(k).enumerate() {
                self.row_raw(&rows[i * nf..(i + 1) * nf], s, &mut scratch);
            }
        };
        if n <= PREDICT_BLOCK {
            // One block: no hand-off to the thread pool for a small request.
            block((0, &mut out));
        } else {
            out.par_chunks_mut(PREDICT_BLOCK * k)
                .enumerate()
                .for_each(block);
        }
        out
    }

    /// QuickScorer for a LightGBM model whose trees it covers: at most 64 leaves, and no
    /// node of missing type Zero (whose test is not one threshold).
    fn quick_scorer(&self) -> Option<QuickScorer> {
        if self.library != Library::Lightgbm {
            return None;
        }
        let mut descs = Vec::with_capacity(self.trees.len());
        for t in &self.trees {
            let mut nodes = Vec::with_capacity(t.nodes.len());
            for n in &t.nodes {
                let split = if n.categorical {
                    let a = n.cat_start as usize;
                    Split::Categorical {
                        bits: t.cat_bits.get(a..a + n.cat_words as usize)?,
                    }
                } else {
                    Split::Numeric {
                        threshold: n.threshold,
                        nan_left: match n.missing {
                            // NaN is read as 0.
                            MissingType::None => 0.0 <= n.threshold,
                            MissingType::Nan => n.default_left,
                            MissingType::Zero => return None,
                        },
                    }
                };
                nodes.push(QsNode {
                    feature: n.feature,
                    split,
                    left: n.left,
                    right: n.right,
                });
            }
            descs.push(TreeDesc {
                group: t.group,
                nodes,
                leaf_values: &t.leaf_values,
            });
        }
        // Codes are `trunc(x)` for `-1 < x`: the smallest double above -1 is the first.
        let above_minus_one = f64::from_bits((-1.0f64).to_bits() - 1);
        QuickScorer::new(&descs, self.feature_names.len(), above_minus_one)
    }

    /// LightGBM random forests: the sums of `out` (rows of `n_groups` scores) become means
    /// over the iterations.
    fn average(&self, out: &mut [f64]) {
        if self.average_output {
            let iterations = (self.trees.len() / self.n_groups) as f64;
            for o in out.iter_mut() {
                *o /= iterations;
            }
        }
    }

    fn row_raw(&self, row: &[f64], out: &mut [f64], scratch: &mut Scratch) {
        match self.library {
            Library::Lightgbm => {
                out.fill(0.0);
                for t in &self.trees {
                    out[t.group as usize] += t.leaf_lightgbm(row);
                }
                self.average(out);
            }
            // An ONNX model is an `OnnxModel`, never trees: the arm keeps the match total.
            Library::Xgboost | Library::Onnx => {
                let Scratch { row32, acc } = scratch;
                row32.clear();
                row32.extend(row.iter().map(|&v| v as f32));
                acc.clear();
                acc.extend(self.base_margin.iter().map(|&b| b as f32));
                for t in &self.trees {
                    acc[t.group as usize] += t.leaf_xgboost(row32);
                }
                for (o, &a) in out.iter_mut().zip(acc.iter()) {
                    *o = f64::from(a);
                }
            }
        }
    }

    /// Applies the output transform to one row's raw scores, into `out` (one value per
    /// group).
    fn transform_row(&self, raw: &[f64], out: &mut [f64]) {
        match self.library {
            Library::Lightgbm => match self.link {
                Link::Identity => out.copy_from_slice(raw),
                Link::Sigmoid { scale } => {
                    for (o, &r) in out.iter_mut().zip(raw) {
                        *o = 1.0 / (1.0 + (-scale * r).exp());
                    }
                }
                Link::Softmax => crate::gbdt::softmax_into(raw, out),
                Link::Exp => {
                    for (o, &r) in out.iter_mut().zip(raw) {
                        *o = r.exp();
                    }
                }
                Link::SignedSquare => {
                    for (o, &r) in out.iter_mut().zip(raw) {
                        *o = r.signum() * r * r;
                    }
                }
            },
            Library::Xgboost | Library::Onnx => {
                // In f32, as XGBoost's objectives transform.
                let r: Vec<f32> = raw.iter().map(|&v| v as f32).collect();
                match self.link {
                    Link::Identity | Link::SignedSquare => {
                        for (o, &v) in out.iter_mut().zip(&r) {
                            *o = f64::from(v);
                        }
                    }
                    Link::Sigmoid { .. } => {
                        for (o, &v) in out.iter_mut().zip(&r) {
                            *o = f64::from(xgboost_sigmoid(v));
                        }
                    }
                    Link::Exp => {
                        for (o, &v) in out.iter_mut().zip(&r) {
                            *o = f64::from(v.exp());
                        }
                    }
                    Link::Softmax => {
                        let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        let e: Vec<f32> = r.iter().map(|&v| (v - m).exp()).collect();
                        // XGBoost sums in double and divides by the sum as a float.
                        let s = e.iter().map(|&v| f64::from(v)).sum::<f64>() as f32;
                        for (o, &v) in out.iter_mut().zip(&e) {
                            *o = f64::from(v / s);
                        }
                    }
                }
            }
        }
    }
}

/// Buffers reused across the rows of a prediction block (XGBoost's `f32` row and sums).
#[derive(Default)]
struct Scratch {
    row32: Vec<f32>,
    acc: Vec<f32>,
}

/// XGBoost's `common::Sigmoid`.
fn xgboost_sigmoid(x: f32) -> f32 {
    let x = (-x).min(88.7);
    1.0 / (x.exp() + 1.0 + 1e-16)
}

impl Predictor for ImportedModel {
    fn task(&self) -> Task {
        self.task
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        if x.n_cols() != self.feature_names.len() {
            return Err(Error::SchemaMismatch(format!(
                "the model has {} features, the input {} columns",
                self.feature_names.len(),
                x.n_cols()
            )));
        }
        let raw = self.predict_raw(x);
        let n = x.n_rows();
        let k = self.n_groups;
        let mut scored = vec![0.0; n * k];
        for (r, o) in raw.chunks_exact(k).zip(scored.chunks_exact_mut(k)) {
            self.transform_row(r, o);
        }
        match self.task {
            Task::Regression => Ok(Prediction::Values(scored)),
            Task::Binary => {
                let mut data = vec![0.0; 2 * n];
                let (neg, pos) = data.split_at_mut(n);
                for ((a, b), &p) in neg.iter_mut().zip(pos.iter_mut()).zip(&scored) {
                    *a = 1.0 - p;
                    *b = p;
                }
                Ok(Prediction::Probabilities(Matrix::from_col_major(
                    n, 2, data,
                )?))
            }
            Task::Multiclass { n_classes } => {
                let mut data = vec![0.0; n_classes * n];
                for (i, p) in scored.chunks_exact(k).enumerate() {
                    for (c, &v) in p.iter().enumerate() {
                        data[c * n + i] = v;
                    }
                }
                Ok(Prediction::Probabilities(Matrix::from_col_major(
                    n, n_classes, data,
                )?))
            }
        }
    }
}

/// The category names a model file records, which map text columns to the integer codes
/// the model was trained on.
#[derive(Debug, Clone, PartialEq)]
pub enum CategoryNames {
    /// None recorded: text columns cannot be mapped.
    None,
    /// LightGBM's `pandas_categorical`: one list per category column of the training
    /// DataFrame, in column order (`None` for a list that is not all text). Code `i` is the
    /// list's `i`-th entry.
    PandasOrder(Vec<Option<Vec<String>>>),
    /// XGBoost 3.1+ `cats`: per feature (empty for features that are not categorical).
    PerFeature(Vec<Vec<String>>),
}

/// A parsed model file.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The model.
    pub model: ImportedModel,
    /// The category names it records.
    pub categories: CategoryNames,
    /// Which features the model splits as categorical.
    pub categorical_features: Vec<bool>,
    /// The format version (`v4`, or XGBoost's `3.2.0`).
    pub format_version: String,
}

pub(crate) fn model_err(path: &str, at: &str, message: impl Into<String>) -> Error {
    Error::ModelFile {
        path: path.to_string(),
        at: at.to_string(),
        message: message.into(),
    }
}

/// The sample column for model feature `name`: the column of that name, else the one whose
/// name with whitespace replaced by `_` is `name` (LightGBM renames features so).
fn sample_column<'a>(table: &'a Table, name: &str) -> Option<&'a slipway_data::Field> {
    let fields = &table.schema().fields;
    if let Some(f) = fields.iter().find(|f| f.name == name) {
        return Some(f);
    }
    let mut found = fields.iter().filter(|f| {
        f.name.chars().any(char::is_whitespace)
            && f.name
                .chars()
                .map(|c| if c.is_whitespace() { '_' } else { c })
                .collect::<String>()
                == name
    });
    match (found.next(), found.next()) {
        (Some(f), None) => Some(f),
        _ => None,
    }
}

/// Builds the pipeline of an imported model: the model's features are matched by name to the
/// columns of `sample` (read as Slipway reads files; `sample_name` names it in errors), and
/// each becomes an input passed as the training library saw it. Numeric, integer and boolean
/// columns pass their numbers (missing as NaN); a text column passes the integer code of its
/// category from the names the file records (unknown and missing as NaN). Columns the model
/// does not use are kept in the schema as ignored.
pub fn import_pipeline(
    file: ModelFile,
    spec: ImportedSpec,
    sample: &Table,
    sample_name: &str,
) -> Result<FittedPipeline> {
    let model = file.model;
    let available = || sample.schema().names().join(", ");
    let mut fields = Vec::with_capacity(model.feature_names.len());
    for (j, name) in model.feature_names.iter().enumerate() {
        let field = sample_column(sample, name).ok_or_else(|| {
            Error::InvalidData(format!(
                "the model's feature {j} \"{name}\" is not a column of the sample {sample_name} (its columns: {})",
                available()
            ))
        })?;
        if fields
            .iter()
            .any(|f: &&slipway_data::Field| f.name == field.name)
        {
            return Err(Error::InvalidData(format!(
                "the model's features name the sample column \"{}\" twice",
                field.name
            )));
        }
        fields.push(field);
    }
    // Text columns in feature order: LightGBM's pandas_categorical lists one entry per
    // category column of the training frame, in the same order.
    let text: Vec<usize> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.dtype, DataType::Categorical | DataType::Text))
        .map(|(j, _)| j)
        .collect();
    let mut names: HashMap<usize, Vec<String>> = HashMap::new();
    match &file.categories {
        CategoryNames::None => {
            if let Some(&j) = text.first() {
                return Err(Error::InvalidData(format!(
                    "sample column \"{}\" (the model's feature {j}) is text, and the model file records no category names to turn text into the codes the model was trained on; {}",
                    fields[j].name,
                    match model.library {
                        Library::Lightgbm =>
                            "LightGBM writes them (a pandas_categorical line) when trained on a pandas DataFrame with category columns; otherwise give the column as its integer codes",
                        Library::Xgboost | Library::Onnx =>
                            "XGBoost 3.1 and later store them; for older models give the column as its integer codes",
                    }
                )));
            }
        }
        CategoryNames::PandasOrder(lists) => {
            if lists.len() != text.len() {
                let cols: Vec<&str> = text.iter().map(|&j| fields[j].name.as_str()).collect();
                return Err(Error::InvalidData(format!(
                    "the model file's pandas_categorical line has {} category lists (one per category column of the training DataFrame, in order), but {} of the model's features are text in the sample {sample_name} ({}); give exactly the training DataFrame's category columns as text{}",
                    lists.len(),
                    text.len(),
                    if cols.is_empty() {
                        "none".to_string()
                    } else {
                        cols.join(", ")
                    },
                    match lists.iter().filter(|l| l.is_none()).count() {
                        0 => String::new(),
                        n => format!(
                            " ({n} of the lists hold numbers, not text: Slipway maps text categories only, so such a model cannot be imported)"
                        ),
                    }
                )));
            }
            for (i, (&j, list)) in text.iter().zip(lists).enumerate() {
                let list = list.clone().ok_or_else(|| {
                    Error::InvalidData(format!(
                        "sample column \"{}\" is text, but its pandas_categorical list (entry {i}) holds numbers or other values; Slipway maps text categories only",
                        fields[j].name
                    ))
                })?;
                names.insert(j, list);
            }
        }
        CategoryNames::PerFeature(lists) => {
            for &j in &text {
                match lists.get(j).filter(|l| !l.is_empty()) {
                    Some(l) => {
                        names.insert(j, l.clone());
                    }
                    None => {
                        return Err(Error::InvalidData(format!(
                            "sample column \"{}\" is text, but the model uses feature {j} as a number{}",
                            fields[j].name,
                            if file.categorical_features.get(j) == Some(&true) {
                                " code and the file records no category names for it"
                            } else {
                                ""
                            }
                        )));
                    }
                }
            }
        }
    }
    let mut columns = Vec::with_capacity(fields.len());
    for (j, field) in fields.iter().enumerate() {
        let transform = match field.dtype {
            DataType::Integer | DataType::Float | DataType::Boolean => ColumnTransform::Numeric {
                fill: None,
                scale: None,
            },
            DataType::Categorical | DataType::Text => {
                let categories = names.remove(&j).unwrap_or_default();
                check_categories(sample, &field.name, &categories)?;
                ColumnTransform::Categorical {
                    fill: None,
                    encoding: Encoding::Native,
                    drop_first: false,
                    categories,
                    infrequent: false,
                }
            }
            DataType::Datetime => {
                return Err(Error::InvalidData(format!(
                    "sample column \"{}\" is a datetime; the model (feature {j}) takes numbers, so give it as the numbers it was trained on",
                    field.name
                )));
            }
        };
        columns.push(FittedColumn {
            name: field.name.clone(),
            dtype: field.dtype,
            transform,
        });
    }
    let used: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let mut schema = sample.schema().clone();
    for f in &mut schema.fields {
        f.role = if used.contains(&f.name) {
            Role::Feature
        } else {
            Role::Ignored
        };
    }
    let classes = match model.task {
        Task::Regression => Vec::new(),
        t => (0..t.n_outputs()).map(|c| c.to_string()).collect(),
    };
    Ok(FittedPipeline {
        schema,
        target: TargetInfo {
            name: "label".into(),
            task: model.task,
            classes,
        },
        spec: ModelSpec::Imported(spec),
        preprocessor: FittedPreprocessor {
            columns,
            skipped: Vec::new(),
            knn: None,
            steps: Vec::new(),
        },
        model: FittedModel::Imported(model),
        calibration: None,
        decision_threshold: None,
        declared_types: BTreeMap::new(),
    })
}

/// Refuses a category list with duplicates, and a sample column none of whose values is in
/// it (the lists were matched to the wrong columns).
fn check_categories(sample: &Table, column: &str, categories: &[String]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = categories.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(Error::InvalidData(format!(
            "column \"{column}\": the model file lists category \"{dup}\" twice"
        )));
    }
    let values = sample.string_values(column)?;
    let present: Vec<&str> = values.iter().flatten().copied().collect();
    if !present.is_empty() && !present.iter().any(|v| seen.contains(v)) {
        let shown: Vec<&str> = categories.iter().take(5).map(String::as_str).collect();
        return Err(Error::InvalidData(format!(
            "sample column \"{column}\": none of its values is among the categories the model file lists for it ({}{}); is the sample's column order or naming different from the training data's?",
            shown.join(", "),
            if categories.len() > 5 { ", ..." } else { "" }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QuickScorer gives the tree walk's bits on every reference LightGBM model it covers,
    /// for values at and around every threshold, NaN, and fractional, negative and too
    /// large category codes.
    #[test]
    fn quickscorer_gives_the_walks_bits_on_the_reference_models() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/import");
        let mut covered = 0;
        for name in [
            "lgb_binary_adult.txt",
            "lgb_multiclass_employment.txt",
            "lgb_regression_diabetes.txt",
            "lgb_rf_breast_cancer.txt",
            "export_binary_adult.txt",
            "export_multiclass_employment.txt",
            "export_regression_diabetes.txt",
        ] {
            let text = std::fs::read_to_string(dir.join(name)).expect("reference model");
            let model = lightgbm::parse(&text, name).expect("parses").model;
            let Some(q) = model.quick_scorer() else {
                // Only a model with missing type Zero is left to the walk.
                assert!(
                    model
                        .trees
                        .iter()
                        .flat_map(|t| &t.nodes)
                        .any(|n| !n.categorical && n.missing == MissingType::Zero),
                    "{name}: QuickScorer should cover it"
                );
                continue;
            };
            covered += 1;
            assert_eq!(q.n_trees(), model.trees.len());
            let nf = model.feature_names.len();
            // Per feature: its thresholds, just above and below, and special values.
            let mut cells: Vec<Vec<f64>> =
                vec![vec![f64::NAN, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 3.7, 1e300]; nf];
            for t in &model.trees {
                for n in &t.nodes {
                    let c = &mut cells[n.feature as usize];
                    if !n.categorical && n.threshold.is_finite() {
                        // The neighbouring doubles (`next_up`/`next_down` need Rust 1.86).
                        let b = n.threshold.to_bits();
                        c.extend([
                            n.threshold,
                            f64::from_bits(b.wrapping_add(1)),
                            f64::from_bits(b.wrapping_sub(1)),
                        ]);
                    }
                }
            }
            let n = 4000;
            let mut data = vec![0.0; n * nf];
            for f in 0..nf {
                for i in 0..n {
                    let c = &cells[f];
                    data[f * n + i] = c[(i * 7919 + f * 104_729 + i / 3) % c.len()];
                }
            }
            let x = Matrix::from_col_major(n, nf, data.clone()).expect("matrix");
            let quick = model.predict_raw(&x);
            let k = model.n_groups;
            let mut scratch = Scratch::default();
            let mut walked = vec![0.0; k];
            for i in 0..n {
                let row: Vec<f64> = (0..nf).map(|f| data[f * n + i]).collect();
                model.row_raw(&row, &mut walked, &mut scratch);
                for g in 0..k {
                    assert_eq!(
                        quick[i * k + g].to_bits(),
                        walked[g].to_bits(),
                        "{name}: row {i} output {g}"
                    );
                }
            }
        }
        assert!(covered >= 5, "QuickScorer covered {covered} models");
    }
}
