//! XGBoost JSON models (`Booster.save_model("model.json")`, XGBoost 1.x to 3.x): [`parse`].
//!
//! The parts read: `learner.learner_model_param` (`base_score`, `num_class`, `num_feature`,
//! `num_target`), `learner.objective.name`, `learner.feature_names` / `feature_types`, and
//! `learner.gradient_booster` (`gbtree` only) with its `trees`, `tree_info` (the output each
//! tree adds to) and, from XGBoost 3.1, `cats` (the category names of categorical features,
//! which XGBoost itself uses to re-code text at predict time).
//!
//! A tree stores its nodes as parallel arrays; a leaf (`left_children[i] == -1`) keeps its
//! value in `split_conditions[i]`. Categorical nodes (`split_type[i] == 1`) list the
//! categories that go right in `categories`, located through `categories_nodes`,
//! `categories_segments` and `categories_sizes`.
//!
//! `base_score` is stored in the output space (a probability for logistic objectives, a mean
//! for log-link ones; XGBoost 3 writes it as a list, one per class for softmax): the base
//! margin is its logit or logarithm, computed in `f32` as XGBoost does. Numbers in the file
//! are `f32` values; they are read as the nearest `f32`.

use serde_json::Value;

use super::{
    CategoryNames, ImportedModel, ImportedNode, ImportedTree, Library, Link, MissingType,
    ModelFile, XGBOOST_MAX_CAT, model_err,
};
use crate::{Error, Result, Task};

/// The objectives [`parse`] accepts.
const SUPPORTED: &str = "binary:logistic, reg:logistic, reg:squarederror, reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, reg:quantileerror (one quantile), count:poisson, reg:gamma, reg:tweedie, multi:softprob, multi:softmax";

struct Doc<'a> {
    path: &'a str,
}

impl Doc<'_> {
    fn err(&self, at: &str, message: impl Into<String>) -> Error {
        model_err(self.path, at, message)
    }

    fn get<'v>(&self, v: &'v Value, at: &str, key: &str) -> Result<&'v Value> {
        v.get(key).ok_or_else(|| {
            self.err(
                at,
                format!("no \"{key}\" field; every XGBoost JSON model has one (is the file truncated or edited?)"),
            )
        })
    }

    fn array<'v>(&self, v: &'v Value, at: &str) -> Result<&'v Vec<Value>> {
        v.as_array()
            .ok_or_else(|| self.err(at, format!("expected a list, found {}", kind(v))))
    }

    fn str<'v>(&self, v: &'v Value, at: &str) -> Result<&'v str> {
        v.as_str()
            .ok_or_else(|| self.err(at, format!("expected a string, found {}", kind(v))))
    }

    /// An integer given as a number or as a string (XGBoost writes parameters as strings).
    fn int(&self, v: &Value, at: &str) -> Result<i64> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
        .ok_or_else(|| self.err(at, format!("expected an integer, found {}", short(v))))
    }

    fn ints(&self, v: &Value, at: &str) -> Result<Vec<i64>> {
        self.array(v, at)?
            .iter()
            .enumerate()
            .map(|(i, x)| self.int(x, &format!("{at}[{i}]")))
            .collect()
    }

    fn floats(&self, v: &Value, at: &str) -> Result<Vec<f32>> {
        self.array(v, at)?
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let f = match x {
                    // The shortest text of an f32 read straight to f32 would be exact; serde
                    // gives the nearest f64, whose nearest f32 is the same value.
                    Value::Number(n) => n.as_f64().map(|v| v as f32),
                    Value::String(s) => s.trim().parse::<f32>().ok(),
                    _ => None,
                };
                f.ok_or_else(|| {
                    self.err(
                        &format!("{at}[{i}]"),
                        format!("expected a number, found {}", short(x)),
                    )
                })
            })
            .collect()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// `base_score` as XGBoost writes it: `"5E-1"`, or `"[5E-1]"` / `"[a,b,c]"` from XGBoost 3.
fn base_scores(doc: &Doc<'_>, v: &Value, at: &str) -> Result<Vec<f32>> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err(doc.err(at, format!("expected a number as text, found {}", short(v)))),
    };
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(&text);
    inner
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    doc.err(at, format!("\"{text}\" is not a number or list of numbers"))
                })
        })
        .collect()
}

/// Reads an XGBoost JSON model; `path` names the file in errors.
pub fn parse(bytes: &[u8], path: &str) -> Result<ModelFile> {
    let doc = Doc { path };
    let root: Value = serde_json::from_slice(bytes).map_err(|e| {
        doc.err(
            &format!("line {}, column {}", e.line(), e.column()),
            format!(
                "not valid JSON ({e}); save XGBoost models as JSON (save_model(\"model.json\")), not UBJSON or the old binary format"
            ),
        )
    })?;
    let version = match root.get("version").and_then(Value::as_array) {
        Some(v) => v
            .iter()
            .map(|x| {
                x.as_i64()
                    .map_or_else(|| "?".to_string(), |n| n.to_string())
            })
            .collect::<Vec<_>>()
            .join("."),
        None => "unknown".to_string(),
    };
    let learner = doc.get(&root, "(top level)", "learner")?;
    let lmp_at = "learner.learner_model_param";
    let lmp = doc.get(learner, "learner", "learner_model_param")?;
    let num_feature = doc.int(
        doc.get(lmp, lmp_at, "num_feature")?,
        &format!("{lmp_at}.num_feature"),
    )?;
    let num_class = doc.int(
        doc.get(lmp, lmp_at, "num_class")?,
        &format!("{lmp_at}.num_class"),
    )?;
    let num_target = match lmp.get("num_target") {
        Some(v) => doc.int(v, &format!("{lmp_at}.num_target"))?,
        None => 1,
    };
    if !(1..=1_000_000).contains(&num_feature) {
        return Err(doc.err(
            &format!("{lmp_at}.num_feature"),
            format!("{num_feature} features; expected at least 1"),
        ));
    }
    if num_target > 1 {
        return Err(doc.err(
            &format!("{lmp_at}.num_target"),
            format!("{num_target} targets: multi-output models are not supported"),
        ));
    }
    if !(0..=100_000).contains(&num_class) {
        return Err(doc.err(
            &format!("{lmp_at}.num_class"),
            format!("num_class {num_class} is out of range"),
        ));
    }
    let nf = num_feature as usize;
    let base_at = format!("{lmp_at}.base_score");
    let base = base_scores(&doc, doc.get(lmp, lmp_at, "base_score")?, &base_at)?;
    let objective_at = "learner.objective.name";
    let objective = doc
        .str(
            doc.get(
                doc.get(learner, "learner", "objective")?,
                "learner.objective",
                "name",
            )?,
            objective_at,
        )?
        .to_string();
    let k = num_class as usize;
    let one_output = |task: Task, link: Link| -> Result<(Task, Link, usize)> {
        if k > 1 {
            return Err(doc.err(
                &format!("{lmp_at}.num_class"),
                format!("objective {objective} predicts one value per row, but num_class is {k}"),
            ));
        }
        Ok((task, link, 1))
    };
    let (task, link, groups) = match objective.as_str() {
        "binary:logistic" => one_output(Task::Binary, Link::Sigmoid { scale: 1.0 })?,
        "reg:logistic" => one_output(Task::Regression, Link::Sigmoid { scale: 1.0 })?,
        "reg:squarederror"
        | "reg:linear"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror" => one_output(Task::Regression, Link::Identity)?,
        "count:poisson" | "reg:gamma" | "reg:tweedie" => one_output(Task::Regression, Link::Exp)?,
        "multi:softprob" | "multi:softmax" => {
            if k < 2 {
                return Err(doc.err(
                    &format!("{lmp_at}.num_class"),
                    format!("objective {objective} needs num_class of at least 2, found {k}"),
                ));
            }
            (Task::Multiclass { n_classes: k }, Link::Softmax, k)
        }
        "binary:logitraw" => {
            return Err(doc.err(
                objective_at,
                format!(
                    "objective binary:logitraw outputs raw margins, not probabilities; retrain with binary:logistic (supported: {SUPPORTED})"
                ),
            ));
        }
        other => {
            return Err(doc.err(
                objective_at,
                format!("objective {other} is not supported (supported: {SUPPORTED})"),
            ));
        }
    };
    // The base margin, from base_score in the output space, in f32 as XGBoost computes it.
    let base: Vec<f32> = match base.len() {
        1 => vec![base[0]; groups],
        n if n == groups => base,
        n => {
            return Err(doc.err(&base_at, format!("{n} base scores for {groups} output(s)")));
        }
    };
    let base_margin = base
        .iter()
        .map(|&b| match link {
            Link::Sigmoid { .. } => {
                if !(b > 0.0 && b < 1.0) {
                    return Err(doc.err(
                        &base_at,
                        format!("{b} is not a probability strictly between 0 and 1, as objective {objective} needs"),
                    ));
                }
                Ok(-(1.0f32 / b - 1.0).ln())
            }
            Link::Exp => {
                if b <= 0.0 {
                    return Err(doc.err(
                        &base_at,
                        format!("{b} must be greater than 0 for objective {objective}"),
                    ));
                }
                Ok(b.ln())
            }
            Link::Identity | Link::Softmax | Link::SignedSquare => Ok(b),
        })
        .map(|r| r.map(f64::from))
        .collect::<Result<Vec<f64>>>()?;

    let feature_names: Vec<String> = match learner.get("feature_names") {
        Some(v) => doc
            .array(v, "learner.feature_names")?
            .iter()
            .enumerate()
            .map(|(i, x)| {
                doc.str(x, &format!("learner.feature_names[{i}]"))
                    .map(str::to_string)
            })
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let feature_names = if feature_names.is_empty() {
        // XGBoost's own names for unnamed features.
        (0..nf).map(|i| format!("f{i}")).collect()
    } else if feature_names.len() != nf {
        return Err(doc.err(
            "learner.feature_names",
            format!("{} names for num_feature {nf}", feature_names.len()),
        ));
    } else {
        feature_names
    };
    let types: Vec<String> = match learner.get("feature_types") {
        Some(v) => doc
            .array(v, "learner.feature_types")?
            .iter()
            .enumerate()
            .map(|(i, x)| {
                doc.str(x, &format!("learner.feature_types[{i}]"))
                    .map(str::to_string)
            })
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };

    let gb_at = "learner.gradient_booster";
    let gb = doc.get(learner, "learner", "gradient_booster")?;
    let booster = doc.str(doc.get(gb, gb_at, "name")?, &format!("{gb_at}.name"))?;
    if booster != "gbtree" {
        return Err(doc.err(
            &format!("{gb_at}.name"),
            format!("booster {booster} is not supported; only gbtree models can be imported"),
        ));
    }
    let model_at = format!("{gb_at}.model");
    let model = doc.get(gb, gb_at, "model")?;
    let trees_at = format!("{model_at}.trees");
    let tree_values = doc.array(doc.get(model, &model_at, "trees")?, &trees_at)?;
    let info_at = format!("{model_at}.tree_info");
    let tree_info = doc.ints(doc.get(model, &model_at, "tree_info")?, &info_at)?;
    if tree_info.len() != tree_values.len() {
        return Err(doc.err(
            &info_at,
            format!(
                "{} entries for {} trees",
                tree_info.len(),
                tree_values.len()
            ),
        ));
    }
    if let Some(p) = model
        .get("gbtree_model_param")
        .and_then(|p| p.get("num_trees"))
    {
        let n = doc.int(p, &format!("{model_at}.gbtree_model_param.num_trees"))?;
        if n != tree_values.len() as i64 {
            return Err(doc.err(
                &format!("{model_at}.gbtree_model_param.num_trees"),
                format!(
                    "says {n} trees, the file has {}: it is truncated or edited",
                    tree_values.len()
                ),
            ));
        }
    }
    let mut trees = Vec::with_capacity(tree_values.len());
    // Words of category bitsets the whole model may use (see `parse_tree`).
    let mut budget = 16 * bytes.len() + 65_536;
    let mut categorical: Vec<bool> = (0..nf)
        .map(|j| types.get(j).is_some_and(|t| t == "c"))
        .collect();
    for (i, tv) in tree_values.iter().enumerate() {
        let at = format!("{trees_at}[{i}]");
        let group = tree_info[i];
        if !(0..groups as i64).contains(&group) {
            return Err(doc.err(
                &format!("{info_at}[{i}]"),
                format!("tree {i} adds to output {group}, but the model has {groups}"),
            ));
        }
        let tree = parse_tree(&doc, tv, &at, nf, group as u32, &mut budget)?;
        tree.check(nf, groups).map_err(|m| doc.err(&at, m))?;
        for n in &tree.nodes {
            if n.categorical {
                categorical[n.feature as usize] = true;
            }
        }
        trees.push(tree);
    }
    let categories = match model.get("cats") {
        Some(c) => cats(&doc, c, &format!("{model_at}.cats"), nf)?,
        None => CategoryNames::None,
    };
    let model = ImportedModel {
        library: Library::Xgboost,
        objective,
        task,
        link,
        feature_names,
        n_groups: groups,
        base_margin,
        average_output: false,
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

fn parse_tree(
    doc: &Doc<'_>,
    tv: &Value,
    at: &str,
    nf: usize,
    group: u32,
    budget: &mut usize,
) -> Result<ImportedTree> {
    if let Some(p) = tv.get("tree_param").and_then(|p| p.get("size_leaf_vector")) {
        let s = doc.int(p, &format!("{at}.tree_param.size_leaf_vector"))?;
        if s > 1 {
            return Err(doc.err(
                &format!("{at}.tree_param.size_leaf_vector"),
                "vector-leaf (multi-target) trees are not supported",
            ));
        }
    }
    let field = |k: &str| -> Result<&Value> { doc.get(tv, at, k) };
    let left = doc.ints(field("left_children")?, &format!("{at}.left_children"))?;
    let n = left.len();
    let same_len = |name: &str, len: usize| -> Result<()> {
        if len != n {
            return Err(doc.err(
                &format!("{at}.{name}"),
                format!("{len} entries, but left_children has {n}"),
            ));
        }
        Ok(())
    };
    let right = doc.ints(field("right_children")?, &format!("{at}.right_children"))?;
    same_len("right_children", right.len())?;
    let split_index = doc.ints(field("split_indices")?, &format!("{at}.split_indices"))?;
    same_len("split_indices", split_index.len())?;
    let cond = doc.floats(
        field("split_conditions")?,
        &format!("{at}.split_conditions"),
    )?;
    same_len("split_conditions", cond.len())?;
    let default_left = doc.ints(field("default_left")?, &format!("{at}.default_left"))?;
    same_len("default_left", default_left.len())?;
    let split_type = match tv.get("split_type") {
        Some(v) => {
            let s = doc.ints(v, &format!("{at}.split_type"))?;
            same_len("split_type", s.len())?;
            s
        }
        None => vec![0; n],
    };
    if n == 0 {
        return Err(doc.err(
            &format!("{at}.left_children"),
            "a tree has at least one node, found none",
        ));
    }
    // Category sets: node -> (start, size) in `categories`.
    let mut cat_of: std::collections::HashMap<usize, (usize, usize)> = Default::default();
    let mut categories = Vec::new();
    if split_type.contains(&1) {
        let cats_at = format!("{at}.categories");
        categories = doc.ints(field("categories")?, &cats_at)?;
        let nodes = doc.ints(
            field("categories_nodes")?,
            &format!("{at}.categories_nodes"),
        )?;
        let segs = doc.ints(
            field("categories_segments")?,
            &format!("{at}.categories_segments"),
        )?;
        let sizes = doc.ints(
            field("categories_sizes")?,
            &format!("{at}.categories_sizes"),
        )?;
        if segs.len() != nodes.len() || sizes.len() != nodes.len() {
            return Err(doc.err(
                &format!("{at}.categories_nodes"),
                format!(
                    "{} categorical nodes but {} segments and {} sizes",
                    nodes.len(),
                    segs.len(),
                    sizes.len()
                ),
            ));
        }
        for (j, ((&node, &seg), &size)) in nodes.iter().zip(&segs).zip(&sizes).enumerate() {
            let ok = (0..n as i64).contains(&node)
                && seg >= 0
                && size >= 0
                && seg
                    .checked_add(size)
                    .is_some_and(|e| e <= categories.len() as i64);
            if !ok {
                return Err(doc.err(
                    &format!("{at}.categories_segments[{j}]"),
                    format!(
                        "node {node}: categories {seg}..{seg}+{size} lie outside the tree's {} nodes or {} categories",
                        n,
                        categories.len()
                    ),
                ));
            }
            cat_of.insert(node as usize, (seg as usize, size as usize));
        }
    }
    // Renumber reachable nodes: internal nodes in depth-first order (root first), leaves as
    // they are met.
    #[derive(Clone, Copy)]
    enum Slot {
        Unseen,
        Node(i32),
        Leaf(i32),
    }
    let mut slot = vec![Slot::Unseen; n];
    let mut order = Vec::new();
    let mut n_leaves = 0i32;
    let mut stack = vec![0usize];
    while let Some(j) = stack.pop() {
        if !matches!(slot[j], Slot::Unseen) {
            return Err(doc.err(
                &format!("{at}.left_children"),
                format!("node {j} is reached twice: the nodes do not form a tree"),
            ));
        }
        if left[j] == -1 {
            if right[j] != -1 {
                return Err(doc.err(
                    &format!("{at}.right_children[{j}]"),
                    format!("node {j} has no left child but right child {}", right[j]),
                ));
            }
            slot[j] = Slot::Leaf(n_leaves);
            n_leaves += 1;
            continue;
        }
        for (name, c) in [("left_children", left[j]), ("right_children", right[j])] {
            if !(0..n as i64).contains(&c) {
                return Err(doc.err(
                    &format!("{at}.{name}[{j}]"),
                    format!("child {c} is outside the tree's {n} nodes"),
                ));
            }
        }
        slot[j] = Slot::Node(order.len() as i32);
        order.push(j);
        stack.push(right[j] as usize);
        stack.push(left[j] as usize);
    }
    let child = |c: i64| -> i32 {
        match slot[c as usize] {
            Slot::Node(i) => i,
            Slot::Leaf(l) => !l,
            Slot::Unseen => unreachable!("every child of a reached node is reached"),
        }
    };
    let mut leaf_values = vec![0.0; n_leaves as usize];
    for (j, s) in slot.iter().enumerate() {
        if let Slot::Leaf(l) = s {
            leaf_values[*l as usize] = f64::from(cond[j]);
        }
    }
    // Covers (hessian sums), internal nodes in their new order, then leaves.
    let covers = match tv.get("sum_hessian") {
        None => Vec::new(),
        Some(v) => {
            let h_at = format!("{at}.sum_hessian");
            let h = doc.floats(v, &h_at)?;
            same_len("sum_hessian", h.len())?;
            if let Some(bad) = h.iter().find(|c| !(c.is_finite() && **c >= 0.0)) {
                return Err(doc.err(
                    &h_at,
                    format!("a node's hessian sum is {bad}; it must be a number, 0 or more"),
                ));
            }
            let mut c = vec![0.0; order.len() + n_leaves as usize];
            for (j, s) in slot.iter().enumerate() {
                match s {
                    Slot::Node(i) => c[*i as usize] = f64::from(h[j]),
                    Slot::Leaf(l) => c[order.len() + *l as usize] = f64::from(h[j]),
                    Slot::Unseen => {}
                }
            }
            c
        }
    };
    let mut nodes = Vec::with_capacity(order.len());
    let mut cat_bits: Vec<u32> = Vec::new();
    for &j in &order {
        let f = split_index[j];
        if !(0..nf as i64).contains(&f) {
            return Err(doc.err(
                &format!("{at}.split_indices[{j}]"),
                format!("feature {f} is outside the model's {nf} features"),
            ));
        }
        let categorical = match split_type[j] {
            0 => false,
            1 => true,
            t => {
                return Err(doc.err(
                    &format!("{at}.split_type[{j}]"),
                    format!("split type {t} is not numerical (0) or categorical (1)"),
                ));
            }
        };
        let (cat_start, cat_words) = if categorical {
            let (seg, size) = cat_of.get(&j).copied().ok_or_else(|| {
                doc.err(
                    &format!("{at}.categories_nodes"),
                    format!("node {j} is categorical but has no category set"),
                )
            })?;
            let set = &categories[seg..seg + size];
            let max = set.iter().copied().max().unwrap_or(-1);
            if let Some(&bad) = set
                .iter()
                .find(|&&c| !(0..XGBOOST_MAX_CAT as i64).contains(&c))
            {
                return Err(doc.err(
                    &format!("{at}.categories"),
                    format!(
                        "node {j}: category {bad} is outside 0..{}",
                        XGBOOST_MAX_CAT as i64
                    ),
                ));
            }
            let words = if max < 0 { 0 } else { (max as usize) / 32 + 1 };
            // Bitsets grow with the largest category, not the number listed: bound their
            // total by the file's size so that no file can ask for unbounded memory.
            if words > *budget {
                return Err(doc.err(
                    &format!("{at}.categories"),
                    format!(
                        "node {j}: category {max} would need more memory for category sets than a model file of this size can justify"
                    ),
                ));
            }
            *budget -= words;
            let start = cat_bits.len();
            cat_bits.resize(start + words, 0);
            for &c in set {
                cat_bits[start + c as usize / 32] |= 1 << (c as u32 % 32);
            }
            (start as u32, words as u32)
        } else {
            (0, 0)
        };
        nodes.push(ImportedNode {
            feature: f as u32,
            threshold: if categorical { 0.0 } else { f64::from(cond[j]) },
            left: child(left[j]),
            right: child(right[j]),
            default_left: default_left[j] != 0,
            missing: MissingType::Nan,
            categorical,
            cat_start,
            cat_words,
        });
    }
    Ok(ImportedTree {
        group,
        nodes,
        leaf_values,
        cat_bits,
        covers,
    })
}

/// XGBoost 3.1+ `cats`: for each feature, `enc[j]` holds its category names as UTF-8 bytes
/// (`values`) cut at `offsets`; numeric categories carry no offsets and are not names.
fn cats(doc: &Doc<'_>, c: &Value, at: &str, nf: usize) -> Result<CategoryNames> {
    let Some(enc) = c.get("enc") else {
        return Ok(CategoryNames::None);
    };
    let enc = doc.array(enc, &format!("{at}.enc"))?;
    if enc.is_empty() {
        return Ok(CategoryNames::None);
    }
    if enc.len() != nf {
        return Err(doc.err(
            &format!("{at}.enc"),
            format!("{} entries for {nf} features", enc.len()),
        ));
    }
    let mut out = Vec::with_capacity(nf);
    for (j, e) in enc.iter().enumerate() {
        let eat = format!("{at}.enc[{j}]");
        let Some(offsets) = e.get("offsets") else {
            out.push(Vec::new());
            continue;
        };
        let offsets = doc.ints(offsets, &format!("{eat}.offsets"))?;
        let values = doc.ints(doc.get(e, &eat, "values")?, &format!("{eat}.values"))?;
        if offsets.is_empty() {
            out.push(Vec::new());
            continue;
        }
        let bytes: Vec<u8> = values
            .iter()
            .map(|&b| u8::try_from(b))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| doc.err(&format!("{eat}.values"), "expected bytes (0..=255)"))?;
        let mut names = Vec::with_capacity(offsets.len().saturating_sub(1));
        for (i, w) in offsets.windows(2).enumerate() {
            let ok = w[0] >= 0 && w[0] <= w[1] && (w[1] as usize) <= bytes.len();
            if !ok {
                return Err(doc.err(
                    &format!("{eat}.offsets[{i}]"),
                    format!(
                        "offsets {}..{} lie outside its {} bytes",
                        w[0],
                        w[1],
                        bytes.len()
                    ),
                ));
            }
            let s = std::str::from_utf8(&bytes[w[0] as usize..w[1] as usize]).map_err(|_| {
                doc.err(
                    &format!("{eat}.values"),
                    format!("category {i} is not UTF-8 text"),
                )
            })?;
            names.push(s.to_string());
        }
        out.push(names);
    }
    Ok(CategoryNames::PerFeature(out))
}
