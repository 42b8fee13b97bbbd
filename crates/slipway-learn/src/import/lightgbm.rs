//! LightGBM text models (`Booster.save_model("model.txt")`, format `v4`): [`parse`] reads one,
//! [`export`] writes a Slipway GBDT pipeline as one.
//!
//! The format: a header of `key=value` lines (`num_class`, `num_tree_per_iteration`,
//! `objective`, `feature_names`, ...), then one block per tree (`Tree=i` and its arrays:
//! `split_feature`, `threshold`, `decision_type`, `left_child`, `right_child`, `leaf_value`,
//! `cat_boundaries`, `cat_threshold`), `end of trees`, the feature importances, the
//! `parameters:` block and, when the model was trained on a pandas DataFrame,
//! `pandas_categorical:` with the categories of each category column.
//!
//! `decision_type` holds three fields: bit 0 categorical, bit 1 default-left, bits 2–3 the
//! missing type (0 None, 1 Zero, 2 NaN). A categorical node's `threshold` is the index of
//! its bitset in `cat_boundaries` / `cat_threshold`. Leaf values already include the
//! learning rate and, in the first iteration's trees, the starting score.

use std::collections::BTreeMap;

use super::{
    CategoryNames, ImportedModel, ImportedNode, ImportedTree, Library, Link, MissingType,
    ModelFile, model_err,
};
use crate::pipeline::{FittedModel, FittedPipeline, ModelSpec};
use crate::preprocess::{ColumnTransform, Encoding};
use crate::{Error, Result, Task};

/// The objectives [`parse`] accepts.
const SUPPORTED: &str = "binary, multiclass, regression, regression_l1, huber, fair, quantile, mape, poisson, gamma, tweedie, cross_entropy";

/// LightGBM's `AvoidInf`, applied to thresholds as LightGBM reads them.
fn avoid_inf(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-1e300, 1e300)
    }
}

/// A `key=value` line and where it was.
struct Entry<'a> {
    value: &'a str,
    line: usize,
}

struct Reader<'a> {
    path: &'a str,
    lines: Vec<(usize, &'a str)>,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<(usize, &'a str)> {
        let l = self.lines.get(self.pos).copied();
        self.pos += 1;
        l
    }

    fn peek(&self) -> Option<(usize, &'a str)> {
        self.lines.get(self.pos).copied()
    }

    fn err(&self, at: impl Into<String>, message: impl Into<String>) -> Error {
        model_err(self.path, &at.into(), message)
    }
}

fn get<'a, 'm>(
    r: &Reader<'_>,
    map: &'m BTreeMap<&'a str, Entry<'a>>,
    key: &str,
    scope: &str,
    end_line: usize,
) -> Result<&'m Entry<'a>> {
    map.get(key).ok_or_else(|| {
        r.err(
            format!("{scope} (ending at line {end_line})"),
            format!(
                "no {key} line; every LightGBM model has one (is the file truncated or edited?)"
            ),
        )
    })
}

fn parse_one<T: std::str::FromStr>(r: &Reader<'_>, e: &Entry<'_>, what: &str) -> Result<T> {
    e.value.trim().parse().map_err(|_| {
        r.err(
            format!("line {} ({what})", e.line),
            format!("\"{}\" is not a valid {}", e.value, kind_name::<T>()),
        )
    })
}

/// What a value of type `T` is, in words.
fn kind_name<T>() -> &'static str {
    match std::any::type_name::<T>() {
        "f64" | "f32" => "number",
        "i8" | "i16" | "i32" | "i64" => "integer",
        _ => "non-negative integer",
    }
}

/// A space-separated list of exactly `n` values.
fn parse_list<T: std::str::FromStr>(
    r: &Reader<'_>,
    e: &Entry<'_>,
    what: &str,
    n: usize,
    rule: &str,
) -> Result<Vec<T>> {
    let at = || format!("line {} ({what})", e.line);
    let items: Vec<&str> = e.value.split_whitespace().collect();
    if items.len() != n {
        return Err(r.err(
            at(),
            format!("expected {n} values ({rule}), found {}", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.parse().map_err(|_| {
                r.err(
                    at(),
                    format!("value {i} \"{s}\" is not a valid {}", kind_name::<T>()),
                )
            })
        })
        .collect()
}

/// The task and output transform of a LightGBM objective line (`binary sigmoid:1`,
/// `multiclass num_class:3`, `regression sqrt`, ...).
fn objective(text: &str, num_class: usize) -> std::result::Result<(Task, Link), String> {
    let mut tokens = text.split_whitespace();
    let name = tokens.next().unwrap_or_default();
    let mut params: BTreeMap<&str, &str> = BTreeMap::new();
    let mut flags = Vec::new();
    for t in tokens {
        match t.split_once(':') {
            Some((k, v)) => {
                params.insert(k, v);
            }
            None => flags.push(t),
        }
    }
    let single = |task: Task, link: Link| {
        if num_class != 1 {
            return Err(format!(
                "objective {name} predicts one value per row, but num_class is {num_class}"
            ));
        }
        Ok((task, link))
    };
    match name {
        "binary" => {
            let scale = match params.get("sigmoid") {
                None => 1.0,
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| {
                        format!("binary objective: sigmoid:{v} is not a number greater than 0")
                    })?,
            };
            single(Task::Binary, Link::Sigmoid { scale })
        }
        "multiclass" => {
            let k: usize = params
                .get("num_class")
                .and_then(|v| v.parse().ok())
                .ok_or("multiclass objective without num_class:K")?;
            if k != num_class {
                return Err(format!(
                    "the objective says num_class:{k}, the header num_class={num_class}"
                ));
            }
            if k < 2 {
                return Err(format!("multiclass needs at least 2 classes, got {k}"));
            }
            Ok((Task::Multiclass { n_classes: k }, Link::Softmax))
        }
        "regression" | "regression_l2" | "regression_l1" | "huber" | "fair" | "quantile"
        | "mape" => {
            let link = if flags.contains(&"sqrt") {
                Link::SignedSquare
            } else {
                Link::Identity
            };
            single(Task::Regression, link)
        }
        "poisson" | "gamma" | "tweedie" => single(Task::Regression, Link::Exp),
        "cross_entropy" | "xentropy" => single(Task::Regression, Link::Sigmoid { scale: 1.0 }),
        "multiclassova" | "multiclass_ova" | "ova" | "ovr" => Err(format!(
            "objective {name} (one-vs-all) gives class scores that do not sum to 1, which Slipway's classifiers promise; retrain with objective=multiclass (supported: {SUPPORTED})"
        )),
        "" => Err(format!(
            "the objective line is empty (supported: {SUPPORTED})"
        )),
        other => Err(format!(
            "objective {other} is not supported (supported: {SUPPORTED})"
        )),
    }
}

/// Reads a LightGBM text model; `path` names the file in errors.
pub fn parse(text: &str, path: &str) -> Result<ModelFile> {
    let mut r = Reader {
        path,
        lines: text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect(),
        pos: 0,
    };
    match r.next() {
        Some((_, "tree")) => {}
        Some((n, l)) => {
            return Err(r.err(
                format!("line {n}"),
                format!(
                    "expected \"tree\", the first line of a LightGBM text model, found \"{}\"; save the model with Booster.save_model(\"model.txt\")",
                    l.chars().take(40).collect::<String>()
                ),
            ));
        }
        None => return Err(r.err("line 1", "the file is empty")),
    }
    // Header.
    let mut header: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
    let mut average_output = false;
    let mut header_end = 1;
    while let Some((n, l)) = r.peek() {
        if l.starts_with("Tree=") || l == "end of trees" {
            break;
        }
        r.next();
        header_end = n;
        if l.trim().is_empty() {
            continue;
        }
        match l.split_once('=') {
            Some((k, v)) => {
                header.insert(k, Entry { value: v, line: n });
            }
            None if l.trim() == "average_output" => average_output = true,
            None => {} // other bare flags (e.g. linear_tree) are checked per tree
        }
    }
    let scope = "header";
    let version = get(&r, &header, "version", scope, header_end)?
        .value
        .to_string();
    let num_class: usize = parse_one(
        &r,
        get(&r, &header, "num_class", scope, header_end)?,
        "num_class",
    )?;
    let per_iter_e = get(&r, &header, "num_tree_per_iteration", scope, header_end)?;
    let per_iter: usize = parse_one(&r, per_iter_e, "num_tree_per_iteration")?;
    let max_idx_e = get(&r, &header, "max_feature_idx", scope, header_end)?;
    let max_idx: usize = parse_one(&r, max_idx_e, "max_feature_idx")?;
    let names_e = get(&r, &header, "feature_names", scope, header_end)?;
    let feature_names: Vec<String> = names_e
        .value
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if feature_names.len() != max_idx + 1 {
        return Err(r.err(
            format!("line {} (feature_names)", names_e.line),
            format!(
                "{} names for max_feature_idx={max_idx} ({} features)",
                feature_names.len(),
                max_idx + 1
            ),
        ));
    }
    let objective_e = header.get("objective").ok_or_else(|| {
        r.err(
            format!("header (ending at line {header_end})"),
            "no objective line: a model trained with a custom objective function cannot be imported, since its output transform is unknown",
        )
    })?;
    if num_class == 0 {
        return Err(r.err("header", "num_class=0; it must be at least 1"));
    }
    let (task, link) = objective(objective_e.value, num_class)
        .map_err(|m| r.err(format!("line {} (objective)", objective_e.line), m))?;
    let groups = match task {
        Task::Multiclass { n_classes } => n_classes,
        Task::Binary | Task::Regression => 1,
    };
    if per_iter != groups {
        return Err(r.err(
            format!("line {} (num_tree_per_iteration)", per_iter_e.line),
            format!(
                "{per_iter} trees per iteration, but objective {} has {groups} output(s)",
                objective_e.value
            ),
        ));
    }
    let tree_sizes = header
        .get("tree_sizes")
        .map(|e| e.value.split_whitespace().count());

    // Trees.
    let mut trees = Vec::new();
    let mut categorical = vec![false; feature_names.len()];
    loop {
        let Some((n, l)) = r.next() else {
            return Err(r.err(
                format!("end of file (after {} trees)", trees.len()),
                "no \"end of trees\" line: the file is truncated",
            ));
        };
        if l.trim().is_empty() {
            continue;
        }
        if l == "end of trees" {
            break;
        }
        let Some(id) = l.strip_prefix("Tree=") else {
            return Err(r.err(
                format!("line {n}"),
                format!(
                    "expected \"Tree={}\" or \"end of trees\", found \"{}\"",
                    trees.len(),
                    l.chars().take(40).collect::<String>()
                ),
            ));
        };
        if id.trim().parse::<usize>().ok() != Some(trees.len()) {
            return Err(r.err(
                format!("line {n}"),
                format!("expected tree {}, found \"{l}\"", trees.len()),
            ));
        }
        let tree_no = trees.len();
        let mut fields: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
        let mut end = n;
        while let Some((m, fl)) = r.peek() {
            if fl.trim().is_empty() || fl.starts_with("Tree=") || fl == "end of trees" {
                break;
            }
            r.next();
            end = m;
            let Some((k, v)) = fl.split_once('=') else {
                return Err(r.err(
                    format!("line {m} (Tree={tree_no})"),
                    format!(
                        "expected key=value, found \"{}\"",
                        fl.chars().take(40).collect::<String>()
                    ),
                ));
            };
            fields.insert(k, Entry { value: v, line: m });
        }
        if r.peek().is_none() {
            // LightGBM ends every tree with blank lines and the trees with "end of trees".
            return Err(r.err(
                format!("line {end} (Tree={tree_no})"),
                "the file ends inside this tree: it is truncated",
            ));
        }
        let tree = parse_tree(&r, &fields, tree_no, end, per_iter, &feature_names)?;
        for nd in &tree.nodes {
            if nd.categorical {
                categorical[nd.feature as usize] = true;
            }
        }
        trees.push(tree);
    }
    if trees.is_empty() {
        return Err(r.err("trees", "the model has no trees"));
    }
    if let Some(expected) = tree_sizes {
        if expected != trees.len() {
            return Err(r.err(
                "header (tree_sizes)",
                format!(
                    "tree_sizes lists {expected} trees but the file has {}: it is truncated or edited",
                    trees.len()
                ),
            ));
        }
    }
    if trees.len() % per_iter != 0 {
        return Err(r.err(
            format!("Tree={}", trees.len() - 1),
            format!(
                "{} trees is not a whole number of iterations of {per_iter} trees",
                trees.len()
            ),
        ));
    }
    // The tail: parameters and pandas_categorical.
    let mut categories = CategoryNames::None;
    while let Some((n, l)) = r.next() {
        if let Some(json) = l.strip_prefix("pandas_categorical:") {
            categories = pandas_categorical(&r, json, n)?;
        }
    }
    let model = ImportedModel {
        library: Library::Lightgbm,
        objective: objective_e.value.to_string(),
        task,
        link,
        feature_names,
        n_groups: per_iter,
        base_margin: vec![0.0; per_iter],
        average_output,
        quick: Default::default(),
        trees,
    };
    model.check(path)?;
    Ok(ModelFile {
        model,
        categories,
        categorical_features: categorical,
        format_version: version,
    })
}

fn pandas_categorical(r: &Reader<'_>, json: &str, line: usize) -> Result<CategoryNames> {
    let at = format!("line {line} (pandas_categorical)");
    let v: serde_json::Value = serde_json::from_str(json.trim())
        .map_err(|e| r.err(&at, format!("not valid JSON: {e}")))?;
    match v {
        serde_json::Value::Null => Ok(CategoryNames::None),
        serde_json::Value::Array(lists) => {
            let mut out = Vec::with_capacity(lists.len());
            for (i, l) in lists.into_iter().enumerate() {
                let serde_json::Value::Array(items) = l else {
                    return Err(r.err(&at, format!("entry {i} is not a list of categories")));
                };
                let texts: Option<Vec<String>> = items
                    .into_iter()
                    .map(|x| match x {
                        serde_json::Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                out.push(texts);
            }
            Ok(CategoryNames::PandasOrder(out))
        }
        _ => Err(r.err(&at, "expected a list of category lists or null")),
    }
}

fn parse_tree(
    r: &Reader<'_>,
    fields: &BTreeMap<&str, Entry<'_>>,
    tree_no: usize,
    end: usize,
    per_iter: usize,
    feature_names: &[String],
) -> Result<ImportedTree> {
    let scope = format!("Tree={tree_no}");
    let what = |f: &str| format!("Tree={tree_no}, {f}");
    let num_leaves: usize = parse_one(
        r,
        get(r, fields, "num_leaves", &scope, end)?,
        &what("num_leaves"),
    )?;
    let num_cat: usize = parse_one(r, get(r, fields, "num_cat", &scope, end)?, &what("num_cat"))?;
    if num_leaves == 0 {
        return Err(r.err(
            what("num_leaves"),
            "a tree has at least one leaf, found num_leaves=0",
        ));
    }
    if let Some(e) = fields.get("is_linear") {
        if parse_one::<i64>(r, e, &what("is_linear"))? != 0 {
            return Err(r.err(
                format!("line {} ({})", e.line, what("is_linear")),
                "linear trees (linear_tree=true) are not supported",
            ));
        }
    }
    let leaf_values: Vec<f64> = parse_list(
        r,
        get(r, fields, "leaf_value", &scope, end)?,
        &what("leaf_value"),
        num_leaves,
        "num_leaves",
    )?;
    let group = (tree_no % per_iter) as u32;
    let ni = num_leaves - 1;
    let covers = counts(r, fields, tree_no, ni, num_leaves)?;
    if num_leaves == 1 {
        return Ok(ImportedTree {
            group,
            nodes: Vec::new(),
            leaf_values,
            cat_bits: Vec::new(),
            covers,
        });
    }
    let list_i32 = |f: &str| -> Result<Vec<i32>> {
        parse_list(
            r,
            get(r, fields, f, &scope, end)?,
            &what(f),
            ni,
            "num_leaves - 1",
        )
    };
    let split_feature = list_i32("split_feature")?;
    let left = list_i32("left_child")?;
    let right = list_i32("right_child")?;
    let decision: Vec<u8> = parse_list(
        r,
        get(r, fields, "decision_type", &scope, end)?,
        &what("decision_type"),
        ni,
        "num_leaves - 1",
    )?;
    let threshold_e = get(r, fields, "threshold", &scope, end)?;
    let threshold: Vec<f64> = parse_list(r, threshold_e, &what("threshold"), ni, "num_leaves - 1")?;
    let (boundaries, cat_bits): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
        let be = get(r, fields, "cat_boundaries", &scope, end)?;
        let b: Vec<usize> = parse_list(r, be, &what("cat_boundaries"), num_cat + 1, "num_cat + 1")?;
        let te = get(r, fields, "cat_threshold", &scope, end)?;
        let words = *b.last().unwrap_or(&0);
        if b[0] != 0 || b.windows(2).any(|w| w[0] > w[1]) {
            return Err(r.err(
                format!("line {} ({})", be.line, what("cat_boundaries")),
                "must start at 0 and never decrease",
            ));
        }
        let t: Vec<u32> = parse_list(
            r,
            te,
            &what("cat_threshold"),
            words,
            "the last cat_boundaries value",
        )?;
        (b, t)
    } else {
        (vec![0], Vec::new())
    };
    let mut nodes = Vec::with_capacity(ni);
    for i in 0..ni {
        let dt = decision[i];
        let at = |f: &str| {
            format!(
                "line {} ({}, node {i})",
                fields.get(f).map_or(end, |e| e.line),
                what(f)
            )
        };
        let f = split_feature[i];
        if f < 0 || f as usize >= feature_names.len() {
            return Err(r.err(
                at("split_feature"),
                format!("feature {f} is outside 0..{}", feature_names.len()),
            ));
        }
        let missing = match (dt >> 2) & 3 {
            0 => MissingType::None,
            1 => MissingType::Zero,
            2 => MissingType::Nan,
            m => {
                return Err(r.err(
                    at("decision_type"),
                    format!("{dt}: missing type {m} is not None (0), Zero (1) or NaN (2)"),
                ));
            }
        };
        let categorical = dt & 1 == 1;
        let (cat_start, cat_words, t) = if categorical {
            let idx = threshold[i];
            if !(idx >= 0.0 && idx.fract() == 0.0 && (idx as usize) < num_cat) {
                return Err(r.err(
                    at("threshold"),
                    format!(
                        "a categorical node's threshold is the index of its category set, 0..{num_cat}; found {idx}"
                    ),
                ));
            }
            let k = idx as usize;
            (
                boundaries[k] as u32,
                (boundaries[k + 1] - boundaries[k]) as u32,
                0.0,
            )
        } else {
            (0, 0, avoid_inf(threshold[i]))
        };
        nodes.push(ImportedNode {
            feature: f as u32,
            threshold: t,
            left: left[i],
            right: right[i],
            default_left: dt & 2 == 2,
            missing,
            categorical,
            cat_start,
            cat_words,
        });
    }
    let tree = ImportedTree {
        group,
        nodes,
        leaf_values,
        cat_bits,
        covers,
    };
    tree.check(feature_names.len(), per_iter)
        .map_err(|m| r.err(format!("{scope} (lines up to {end})"), m))?;
    Ok(tree)
}

/// A tree's `internal_count` and `leaf_count` (training rows per node, what `pred_contrib`
/// weighs paths by) as covers, internal nodes first; empty when the tree has neither
/// (a one-leaf tree needs no `internal_count`). Counts must be finite and not negative.
fn counts(
    r: &Reader<'_>,
    fields: &BTreeMap<&str, Entry<'_>>,
    tree_no: usize,
    ni: usize,
    nl: usize,
) -> Result<Vec<f64>> {
    let what = |f: &str| format!("Tree={tree_no}, {f}");
    let (Some(leaf), internal) = (fields.get("leaf_count"), fields.get("internal_count")) else {
        return Ok(Vec::new());
    };
    let mut out = match internal {
        Some(e) if ni > 0 => {
            parse_list::<f64>(r, e, &what("internal_count"), ni, "num_leaves - 1")?
        }
        None if ni > 0 => return Ok(Vec::new()),
        _ => Vec::new(),
    };
    out.extend(parse_list::<f64>(
        r,
        leaf,
        &what("leaf_count"),
        nl,
        "num_leaves",
    )?);
    if let Some(bad) = out.iter().find(|c| !(c.is_finite() && **c >= 0.0)) {
        return Err(r.err(
            what("leaf_count"),
            format!("a node's data count is {bad}; counts are numbers of rows, 0 or more"),
        ));
    }
    Ok(out)
}

/// A LightGBM text model written from a Slipway pipeline, and what it leaves out.
#[derive(Debug, Clone)]
pub struct Export {
    /// The model file's text.
    pub text: String,
    /// Number of trees written.
    pub n_trees: usize,
    /// Parts of the pipeline a LightGBM model does not hold (e.g. a tuned decision
    /// threshold), said once each.
    pub notes: Vec<String>,
}

fn cannot(message: impl Into<String>) -> Error {
    Error::InvalidData(format!(
        "this model cannot be written as a LightGBM model: {}",
        message.into()
    ))
}

/// Characters LightGBM does not accept in feature names.
const BAD_NAME_CHARS: &[char] = &['[', ']', '{', '}', '"', ':', ',', '='];

/// Writes a Slipway GBDT pipeline as a LightGBM text model that LightGBM loads and predicts
/// as the pipeline does, given the same input columns (category columns as pandas
/// categories: the file's `pandas_categorical` line gives their categories in Slipway's code
/// order).
///
/// Slipway's trees map one to one: numeric splits become missing type NaN (NaN goes the
/// learned way, numbers by `x <= threshold`), categorical splits keep their bitsets (NaN,
/// negative and unlisted codes go right in both), and the starting scores are added to the
/// leaves of the first iteration's trees, which LightGBM sums first, so the raw scores are
/// the same bits. A threshold of +∞ (every number one way, NaN the other) is written as
/// LightGBM's largest threshold, 1e300: only an input of +∞ itself could then differ. Refused when the pipeline transforms its inputs in a way LightGBM cannot
/// (imputation, scaling, one-hot or target encoding, datetime parts, text features,
/// whole-matrix steps) or calibrates its probabilities; every refusal names the column or
/// step.
pub fn export(pipeline: &FittedPipeline) -> Result<Export> {
    let FittedModel::Gbdt(m) = &pipeline.model else {
        return Err(cannot(format!(
            "only gradient-boosting models trained by Slipway (type gbdt) can be written; this bundle's model is {}",
            pipeline.spec.kind()
        )));
    };
    if pipeline.calibration.is_some() {
        return Err(cannot(
            "the bundle calibrates the model's probabilities, which a LightGBM model cannot express",
        ));
    }
    let pre = &pipeline.preprocessor;
    if pre.knn.is_some() {
        return Err(cannot("columns are imputed by k-nearest neighbours"));
    }
    if !pre.steps.is_empty() {
        return Err(cannot(format!(
            "the preprocessing has {} whole-matrix step(s) (selection, polynomial features)",
            pre.steps.len()
        )));
    }
    let mut names = Vec::new();
    let mut pandas: Vec<Vec<String>> = Vec::new();
    let mut cat_features = Vec::new();
    for c in &pre.columns {
        let what = match &c.transform {
            ColumnTransform::Numeric { fill, scale } => {
                if matches!(c.dtype, slipway_data::DataType::Datetime) {
                    Some("is a datetime (LightGBM takes numbers)".to_string())
                } else if fill.is_some() {
                    Some("has its missing values imputed (LightGBM would see them missing)".into())
                } else if scale.is_some() {
                    Some("is scaled (LightGBM would see the raw value)".into())
                } else {
                    None
                }
            }
            ColumnTransform::Categorical {
                fill,
                encoding,
                categories,
                ..
            } => {
                if *encoding != Encoding::Native {
                    let name = match encoding {
                        Encoding::OneHot => "one-hot",
                        Encoding::Ordinal => "ordinal",
                        Encoding::Target | Encoding::Native | Encoding::Auto => "target",
                    };
                    Some(format!(
                        "is {name} encoded; only native categories (encoding: native) can be written"
                    ))
                } else if fill.is_some() {
                    Some("has its missing categories imputed".into())
                } else {
                    cat_features.push(names.len());
                    pandas.push(categories.clone());
                    None
                }
            }
            ColumnTransform::Target { .. } => Some("is target encoded".into()),
            ColumnTransform::Datetime { .. } => Some("is split into datetime parts".into()),
            ColumnTransform::Text { .. } => Some("is turned into TF-IDF features".into()),
        };
        if let Some(w) = what {
            return Err(cannot(format!("column \"{}\" {w}", c.name)));
        }
        if c.name.is_empty()
            || c.name
                .chars()
                .any(|ch| ch.is_whitespace() || BAD_NAME_CHARS.contains(&ch))
        {
            return Err(cannot(format!(
                "column name \"{}\" has whitespace or one of {} , which LightGBM feature names cannot hold; rename it and retrain",
                c.name,
                BAD_NAME_CHARS.iter().collect::<String>()
            )));
        }
        names.push(c.name.clone());
    }
    if names.len() != m.n_features {
        return Err(Error::Internal(format!(
            "the GBDT model has {} features but the preprocessing gives {}",
            m.n_features,
            names.len()
        )));
    }
    let mut notes = Vec::new();
    if let Some(t) = pipeline.decision_threshold {
        notes.push(format!(
            "the tuned decision threshold ({t}) is not part of a LightGBM model: LightGBM gives probabilities, compare them with {t} to get Slipway's labels"
        ));
    }
    if m.covers.len() != m.trees.len() {
        notes.push(
            "the model was trained before Slipway kept node counts, so the file has none and LightGBM's pred_contrib (SHAP values) cannot be computed from it; retrain to get them".to_string(),
        );
    }
    let k = m.n_scores;
    let (objective, num_class) = match m.task {
        Task::Binary => ("binary sigmoid:1".to_string(), 1),
        Task::Multiclass { n_classes } => (format!("multiclass num_class:{n_classes}"), n_classes),
        Task::Regression => ("regression".to_string(), 1),
    };
    let mut tree_texts = Vec::with_capacity(m.trees.len());
    let mut splits = vec![0usize; names.len()];
    for (i, t) in m.trees.iter().enumerate() {
        // LightGBM has no starting score: its first iteration's trees hold it.
        let init = if i < k { m.init_scores[i % k] } else { 0.0 };
        let leaves: Vec<f64> = t.leaf_values.iter().map(|v| v + init).collect();
        let mut body = String::new();
        let join = |v: Vec<String>| v.join(" ");
        let num_cat = t.nodes.iter().filter(|n| n.cat_words > 0).count();
        body.push_str(&format!("num_leaves={}\nnum_cat={num_cat}\n", leaves.len()));
        let mut boundaries = vec![0usize];
        let mut words: Vec<String> = Vec::new();
        let mut thresholds = Vec::with_capacity(t.nodes.len());
        let mut decision = Vec::with_capacity(t.nodes.len());
        for n in &t.nodes {
            splits[n.feature as usize] += 1;
            if n.cat_words > 0 {
                thresholds.push((boundaries.len() - 1).to_string());
                let bits = &t.cat_bits[n.cat_start as usize..(n.cat_start + n.cat_words) as usize];
                words.extend(bits.iter().map(u32::to_string));
                boundaries.push(words.len());
                // Categorical, missing type NaN: NaN, negative and unlisted codes go right.
                decision.push("9".to_string());
            } else {
                thresholds.push(format!("{:?}", avoid_inf(n.threshold)));
                // Missing type NaN: NaN goes the default way, every number by the threshold.
                decision.push(if n.default_left { "10" } else { "8" }.to_string());
            }
        }
        body.push_str(&format!(
            "split_feature={}\n",
            join(t.nodes.iter().map(|n| n.feature.to_string()).collect())
        ));
        body.push_str(&format!(
            "split_gain={}\n",
            join(t.gains.iter().map(|g| format!("{g:?}")).collect())
        ));
        body.push_str(&format!("threshold={}\n", join(thresholds)));
        body.push_str(&format!("decision_type={}\n", join(decision)));
        body.push_str(&format!(
            "left_child={}\n",
            join(t.nodes.iter().map(|n| n.left.to_string()).collect())
        ));
        body.push_str(&format!(
            "right_child={}\n",
            join(t.nodes.iter().map(|n| n.right.to_string()).collect())
        ));
        body.push_str(&format!(
            "leaf_value={}\n",
            join(leaves.iter().map(|v| format!("{v:?}")).collect())
        ));
        // The rows that reached each node: what LightGBM's `pred_contrib` weighs paths by
        // (without them it reads zeros and explains every row as NaN).
        if let Some(c) = m
            .covers
            .get(i)
            .filter(|c| c.len() == t.nodes.len() + leaves.len())
        {
            let (internal, leaf) = c.split_at(t.nodes.len());
            let ints = |v: &[f64]| join(v.iter().map(|x| format!("{}", *x as i64)).collect());
            body.push_str(&format!("leaf_count={}\n", ints(leaf)));
            if !internal.is_empty() {
                body.push_str(&format!("internal_count={}\n", ints(internal)));
            }
        }
        if num_cat > 0 {
            body.push_str(&format!(
                "cat_boundaries={}\ncat_threshold={}\n",
                join(boundaries.iter().map(usize::to_string).collect()),
                join(words)
            ));
        }
        body.push_str("is_linear=0\nshrinkage=1\n");
        tree_texts.push(format!("Tree={i}\n{body}\n\n"));
    }
    let infos: Vec<String> = (0..names.len())
        .map(|j| match cat_features.iter().position(|&c| c == j) {
            Some(p) => {
                let n = pandas[p].len().max(1);
                (0..n).map(|c| c.to_string()).collect::<Vec<_>>().join(":")
            }
            None if splits[j] == 0 => "none".to_string(),
            None => "[-inf:inf]".to_string(),
        })
        .collect();
    let mut text = String::new();
    text.push_str("tree\nversion=v4\n");
    text.push_str(&format!(
        "num_class={num_class}\nnum_tree_per_iteration={k}\nlabel_index=0\nmax_feature_idx={}\n",
        names.len().saturating_sub(1)
    ));
    text.push_str(&format!("objective={objective}\n"));
    text.push_str(&format!("feature_names={}\n", names.join(" ")));
    text.push_str(&format!("feature_infos={}\n", infos.join(" ")));
    text.push_str(&format!(
        "tree_sizes={}\n\n",
        tree_texts
            .iter()
            .map(|t| t.len().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    for t in &tree_texts {
        text.push_str(t);
    }
    text.push_str("end of trees\n\nfeature_importances:\n");
    let mut order: Vec<usize> = (0..names.len()).filter(|&j| splits[j] > 0).collect();
    order.sort_by(|&a, &b| splits[b].cmp(&splits[a]).then(a.cmp(&b)));
    for j in order {
        text.push_str(&format!("{}={}\n", names[j], splits[j]));
    }
    text.push_str("\nparameters:\n[boosting: gbdt]\n");
    text.push_str(&format!(
        "[objective: {}]\n[num_class: {num_class}]\n",
        objective.split_whitespace().next().unwrap_or_default()
    ));
    if let ModelSpec::Gbdt(p) = &pipeline.spec {
        text.push_str(&format!(
            "[num_iterations: {}]\n[learning_rate: {}]\n[num_leaves: {}]\n[max_depth: {}]\n[min_data_in_leaf: {}]\n[lambda_l2: {}]\n[max_bin: {}]\n[seed: {}]\n",
            m.trees.len() / k.max(1),
            p.learning_rate,
            p.num_leaves,
            p.max_depth.map_or(-1, |d| d as i64),
            p.min_data_in_leaf,
            p.lambda_l2,
            p.max_bin,
            p.seed
        ));
    }
    text.push_str(&format!(
        "[categorical_feature: {}]\n",
        cat_features
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    ));
    text.push_str("end of parameters\n\n");
    let pc = if pandas.is_empty() {
        "null".to_string()
    } else {
        serde_json::to_string(&pandas).map_err(|e| Error::Internal(e.to_string()))?
    };
    text.push_str(&format!("pandas_categorical:{pc}\n"));
    Ok(Export {
        text,
        n_trees: m.trees.len(),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use slipway_data::{DataType, Field, Schema};

    use super::*;
    use crate::gbdt::{GbdtModel, GbdtParams};
    use crate::pipeline::TargetInfo;
    use crate::preprocess::{FittedColumn, FittedPreprocessor};
    use crate::{Matrix, Predictor};

    /// A one-split GBDT on `x` whose threshold is +∞: numbers left, NaN right.
    fn infinite_threshold_pipeline() -> FittedPipeline {
        let model: GbdtModel = crate::exact_json::from_value(serde_json::json!({
            "task": {"kind": "regression"},
            "n_features": 1,
            "n_scores": 1,
            "init_scores": [0.5],
            "trees": [{
                "nodes": [{"f": 0, "t": "inf", "l": -1, "r": -2, "d": false, "cs": 0, "cw": 0}],
                "leaf_values": [1.0, 2.0],
                "cat_bits": [],
                "gains": [3.0]
            }],
            "covers": [[10.0, 6.0, 4.0]],
            "best_iteration": null,
            "eval_history": [],
            "n_threads": null
        }))
        .unwrap();
        FittedPipeline {
            schema: Schema::new(vec![Field::new("x", DataType::Float)]).unwrap(),
            target: TargetInfo {
                name: "y".into(),
                task: Task::Regression,
                classes: Vec::new(),
            },
            spec: ModelSpec::Gbdt(GbdtParams::default()),
            preprocessor: FittedPreprocessor {
                columns: vec![FittedColumn {
                    name: "x".into(),
                    dtype: DataType::Float,
                    transform: ColumnTransform::Numeric {
                        fill: None,
                        scale: None,
                    },
                }],
                skipped: Vec::new(),
                knn: None,
                steps: Vec::new(),
            },
            model: FittedModel::Gbdt(model),
            calibration: None,
            decision_threshold: Some(0.4),
            declared_types: BTreeMap::new(),
        }
    }

    #[test]
    fn an_infinite_threshold_is_written_as_lightgbms_largest() {
        let p = infinite_threshold_pipeline();
        let e = export(&p).unwrap();
        assert!(e.text.contains("threshold=1e300\n"), "{}", e.text);
        assert!(e.text.contains("leaf_value=1.5 2.5\n"), "{}", e.text);
        assert!(
            e.text.contains("leaf_count=6 4\ninternal_count=10\n"),
            "{}",
            e.text
        );
        assert_eq!(e.notes.len(), 1, "the decision threshold is noted");
        let file = parse(&e.text, "x.txt").unwrap();
        assert_eq!(file.model.trees[0].covers, [10.0, 6.0, 4.0]);
        let file = parse(&e.text, "x.txt").unwrap();
        let x = Matrix::from_columns(vec![vec![f64::NAN, 5.0, -1e10, 1e299, 0.0]]).unwrap();
        let FittedModel::Gbdt(m) = &p.model else {
            unreachable!()
        };
        assert_eq!(file.model.predict_raw(&x), m.predict_raw(&x));
        assert_eq!(file.model.predict_raw(&x), [2.5, 1.5, 1.5, 1.5, 1.5]);
        assert!(file.model.predict(&x).is_ok());
    }

    #[test]
    fn objectives_map_to_their_output_transforms() {
        assert_eq!(
            objective("binary sigmoid:2", 1).unwrap(),
            (Task::Binary, Link::Sigmoid { scale: 2.0 })
        );
        assert_eq!(
            objective("regression sqrt", 1).unwrap(),
            (Task::Regression, Link::SignedSquare)
        );
        assert_eq!(
            objective("tweedie tweedie_variance_power:1.5", 1)
                .unwrap()
                .1,
            Link::Exp
        );
        assert!(objective("binary sigmoid:-1", 1).is_err());
        assert!(
            objective("multiclass num_class:3", 4)
                .unwrap_err()
                .contains("num_class=4")
        );
        assert!(
            objective("lambdarank", 1)
                .unwrap_err()
                .contains("lambdarank")
        );
    }
}
