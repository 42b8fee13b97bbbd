//! Schema-driven preprocessing: imputation (constant, statistics, k-nearest neighbours),
//! scaling (standard, min-max, robust), one-hot / ordinal / native / target encoding,
//! datetime parts, TF-IDF text features, and whole-matrix steps (variance threshold,
//! univariate selection, polynomial features).
//!
//! A [`PreprocessSpec`] says what to do with each kind of column; [`PreprocessSpec::fit`]
//! (or [`PreprocessSpec::fit_transform`] when labels are needed) learns every statistic
//! from the training rows only and returns a [`FittedPreprocessor`], which turns any table
//! with the same feature columns into a [`Matrix`] plus [`FeatureMeta`]s. Each transformer
//! matches the scikit-learn one it is named after (see the reference tests).
//!
//! Which columns are features comes from the schema's roles: only [`Role::Feature`] columns
//! are used. Text columns are skipped (reported in [`FittedPreprocessor::skipped`]) unless
//! the spec sets `tfidf`.

mod datetime;
mod knn;
mod scale;
mod sources;
mod steps;
mod target;
mod text;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Role, Table};

pub use knn::KnnImputer;
pub use scale::Scaler;
pub use steps::{FittedStep, ScoreFunc, StepSpec, univariate_scores};
pub use target::{Smooth, encode as target_encode, out_of_fold as target_out_of_fold};
pub use text::{DocFreq, FittedTfidf, StopWords, TfidfSpec};

use crate::{Error, FeatureKind, FeatureMeta, Matrix, Result, Target};

/// How missing numbers are filled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumericImpute {
    /// Leave missing values as NaN (only models that learn a direction for missing values,
    /// such as gradient boosting, accept this).
    Keep,
    /// The training mean.
    Mean,
    /// The training median.
    Median,
    /// The most frequent training value (smallest on ties, like scikit-learn).
    MostFrequent,
    /// `fill_value`.
    Constant,
    /// The mean of the `knn_neighbors` nearest training rows that have the value
    /// (scikit-learn's `KNNImputer`: `nan_euclidean` distance over every column imputed
    /// this way, uniform weights). Datetime parts fall back to the median.
    Knn,
}

/// How missing categories are filled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoricalImpute {
    /// Keep missing: one-hot rows get all zeros, ordinal/native codes get NaN, target
    /// encoding treats missing as one more category.
    Keep,
    /// The most frequent training category (smallest on ties).
    MostFrequent,
    /// `fill_category`.
    Constant,
}

/// How categories become numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// One 0/1 column per category (capped by `max_categories`; the rest share one
    /// "infrequent" column). Unknown categories at predict time become all zeros. With
    /// [`PreprocessSpec::drop_first`] the first category (in sorted order) gets no column.
    OneHot,
    /// One column of codes `0..k` in order of the sorted categories; unknown → -1.
    Ordinal,
    /// Codes `0..k` marked categorical, for models that split on category sets
    /// (gradient boosting); unknown and missing → NaN.
    Native,
    /// The shrunk mean of the target per category (scikit-learn's `TargetEncoder`, binary
    /// and regression targets), out-of-fold on the training rows; unknown → the training
    /// target mean. Not capped by `max_categories`.
    Target,
    /// [`Encoding::Target`] for binary and regression targets, [`Encoding::Native`] for
    /// multiclass targets (and when fitted without labels). The default of the forest
    /// families, chosen by measurement (`bench/forest_encoding/RESULTS.md`).
    Auto,
}

/// Preprocessing for one kind of column (or one column, as an override).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreprocessSpec {
    /// Missing numbers.
    pub numeric_impute: NumericImpute,
    /// The constant for [`NumericImpute::Constant`].
    pub fill_value: f64,
    /// Neighbours for [`NumericImpute::Knn`] (default 5).
    pub knn_neighbors: usize,
    /// How numbers are scaled (`true`/`false` still mean standard/none).
    pub scale: Scaler,
    /// Datetime columns become year, month, day, hour, day_of_week (Monday = 0),
    /// is_weekend, quarter and is_month_end (UTC) instead of epoch milliseconds. Off by
    /// default, which keeps the raw number.
    pub datetime_features: bool,
    /// TF-IDF (plus length and word count) for text columns; `None` (the default) skips
    /// text columns.
    pub tfidf: Option<TfidfSpec>,
    /// Missing categories.
    pub categorical_impute: CategoricalImpute,
    /// The constant for [`CategoricalImpute::Constant`].
    pub fill_category: String,
    /// Category encoding.
    pub encoding: Encoding,
    /// One-hot encoding leaves out the first category's column (scikit-learn's
    /// `OneHotEncoder(drop="first")`), so the columns of a categorical are not collinear with
    /// an intercept. On by default for unpenalized linear models (`linear_regression` with
    /// `alpha: 0`, `logistic_regression` with `penalty: none`). The left-out category is the
    /// all-zero row, so an unknown category at predict time is scored as the first one
    /// (scikit-learn warns about the same); with `categorical_impute: keep`, so is a missing
    /// value.
    pub drop_first: bool,
    /// At most this many categories are kept per column (most frequent first); the rest are
    /// grouped as infrequent.
    pub max_categories: usize,
    /// Smoothing for [`Encoding::Target`] (`auto` or a number).
    pub target_smooth: Smooth,
    /// Folds for the out-of-fold target encoding of the training rows (default 5;
    /// stratified and shuffled for classes, shuffled for regression).
    pub target_folds: usize,
    /// Seed for those folds.
    pub target_seed: u64,
    /// Whole-matrix steps applied in order after the per-column transforms.
    pub steps: Vec<StepSpec>,
    /// Per-column overrides, by column name.
    pub columns: BTreeMap<String, ColumnOverride>,
}

/// Per-column changes to a [`PreprocessSpec`]; unset fields keep the spec's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColumnOverride {
    /// Missing numbers.
    pub numeric_impute: Option<NumericImpute>,
    /// Constant for numbers.
    pub fill_value: Option<f64>,
    /// Scaler.
    pub scale: Option<Scaler>,
    /// Datetime parts instead of epoch milliseconds.
    pub datetime_features: Option<bool>,
    /// TF-IDF settings (turns text features on for this column).
    pub tfidf: Option<TfidfSpec>,
    /// Missing categories.
    pub categorical_impute: Option<CategoricalImpute>,
    /// Constant for categories.
    pub fill_category: Option<String>,
    /// Encoding.
    pub encoding: Option<Encoding>,
    /// One-hot without the first category's column.
    pub drop_first: Option<bool>,
    /// Category cap.
    pub max_categories: Option<usize>,
    /// Target-encoding smoothing.
    pub target_smooth: Option<Smooth>,
}

impl ColumnOverride {
    /// Sets every field this override gives on `spec`.
    pub fn apply(&self, spec: &mut PreprocessSpec) {
        if let Some(v) = self.numeric_impute {
            spec.numeric_impute = v;
        }
        if let Some(v) = self.fill_value {
            spec.fill_value = v;
        }
        if let Some(v) = self.scale {
            spec.scale = v;
        }
        if let Some(v) = self.datetime_features {
            spec.datetime_features = v;
        }
        if let Some(v) = &self.tfidf {
            spec.tfidf = Some(v.clone());
        }
        if let Some(v) = self.categorical_impute {
            spec.categorical_impute = v;
        }
        if let Some(v) = &self.fill_category {
            spec.fill_category = v.clone();
        }
        if let Some(v) = self.encoding {
            spec.encoding = v;
        }
        if let Some(v) = self.drop_first {
            spec.drop_first = v;
        }
        if let Some(v) = self.max_categories {
            spec.max_categories = v;
        }
        if let Some(v) = self.target_smooth {
            spec.target_smooth = v;
        }
    }
}

impl Default for PreprocessSpec {
    fn default() -> Self {
        PreprocessSpec::for_linear()
    }
}

impl PreprocessSpec {
    /// What linear models need: no NaN, comparable scales, one-hot categories.
    pub fn for_linear() -> Self {
        PreprocessSpec {
            numeric_impute: NumericImpute::Mean,
            fill_value: 0.0,
            knn_neighbors: 5,
            scale: Scaler::Standard,
            datetime_features: false,
            tfidf: None,
            categorical_impute: CategoricalImpute::Constant,
            fill_category: "missing".into(),
            encoding: Encoding::OneHot,
            drop_first: false,
            max_categories: 50,
            target_smooth: Smooth::Auto,
            target_folds: 5,
            target_seed: 0,
            steps: Vec::new(),
            columns: BTreeMap::new(),
        }
    }

    /// What the bagged tree families (decision tree, random forest, extra trees) want: raw
    /// numbers with NaN kept, target-encoded categories where the target allows it (see
    /// [`Encoding::Auto`]).
    pub fn for_forests() -> Self {
        PreprocessSpec {
            encoding: Encoding::Auto,
            ..Self::for_trees()
        }
    }

    /// What tree ensembles want: raw numbers with NaN kept, native categories.
    pub fn for_trees() -> Self {
        PreprocessSpec {
            numeric_impute: NumericImpute::Keep,
            scale: Scaler::None,
            categorical_impute: CategoricalImpute::Keep,
            encoding: Encoding::Native,
            max_categories: 255,
            ..PreprocessSpec::for_linear()
        }
    }

    /// Checks values once; errors name the setting.
    pub fn check(&self) -> Result<()> {
        if self.max_categories < 1 {
            return Err(Error::param(
                "preprocess.max_categories",
                "must be at least 1, got 0",
            ));
        }
        if !self.fill_value.is_finite() {
            return Err(Error::param(
                "preprocess.fill_value",
                "must be a finite number",
            ));
        }
        if self.knn_neighbors < 1 {
            return Err(Error::param(
                "preprocess.knn_neighbors",
                "must be at least 1, got 0",
            ));
        }
        if self.target_folds < 2 {
            return Err(Error::param(
                "preprocess.target_folds",
                format!("must be at least 2, got {}", self.target_folds),
            ));
        }
        check_smooth("preprocess.target_smooth", self.target_smooth)?;
        if let Some(t) = &self.tfidf {
            t.check("preprocess.tfidf")?;
        }
        for (i, s) in self.steps.iter().enumerate() {
            s.check(&format!("preprocess.steps[{i}]"))?;
        }
        for (col, o) in &self.columns {
            if o.max_categories == Some(0) {
                return Err(Error::param(
                    &format!("preprocess.columns.{col}.max_categories"),
                    "must be at least 1, got 0",
                ));
            }
            if let Some(t) = &o.tfidf {
                t.check(&format!("preprocess.columns.{col}.tfidf"))?;
            }
            if let Some(s) = o.target_smooth {
                check_smooth(&format!("preprocess.columns.{col}.target_smooth"), s)?;
            }
        }
        Ok(())
    }

    /// [`Self::resolved`] with [`Encoding::Auto`] settled by the labels `y`.
    fn resolved_for(&self, column: &str, y: Option<&Target>) -> PreprocessSpec {
        let mut spec = self.resolved(column);
        if spec.encoding == Encoding::Auto {
            spec.encoding = match y {
                Some(Target::Classes { n_classes: 2, .. } | Target::Real(_)) => Encoding::Target,
                _ => Encoding::Native,
            };
        }
        spec
    }

    fn resolved(&self, column: &str) -> PreprocessSpec {
        let mut s = self.clone();
        s.columns.clear();
        s.steps.clear();
        if let Some(o) = self.columns.get(column) {
            o.apply(&mut s);
        }
        s
    }

    /// Learns every statistic from `table`'s rows `rows` (training rows only) for the
    /// schema's feature columns. Specs that need labels (target encoding,
    /// `select_k_best`) must use [`PreprocessSpec::fit_with_target`].
    pub fn fit(&self, table: &Table, rows: &[usize]) -> Result<FittedPreprocessor> {
        self.fit_with_target(table, rows, None)
    }

    /// [`PreprocessSpec::fit`] with the labels of every row of `table` (only `rows` are
    /// read), for target encoding and supervised selection.
    pub fn fit_with_target(
        &self,
        table: &Table,
        rows: &[usize],
        y: Option<&Target>,
    ) -> Result<FittedPreprocessor> {
        Ok(self.fit_transform(table, rows, y)?.0)
    }

    /// Fits on `rows` (with the labels of every row of `table` in `y`, only `rows` read)
    /// and returns the training matrix too: the rows of `rows`, in that order, where
    /// target-encoded columns hold out-of-fold values instead of the encoding that
    /// [`FittedPreprocessor::transform`] applies to new data. Whole-matrix steps are fitted
    /// on this matrix.
    pub fn fit_transform(
        &self,
        table: &Table,
        rows: &[usize],
        y: Option<&Target>,
    ) -> Result<(FittedPreprocessor, Matrix)> {
        self.check()?;
        for name in self.columns.keys() {
            table.schema().require(name)?;
        }
        if let Some(y) = y {
            if y.len() != table.n_rows() {
                return Err(Error::InvalidData(format!(
                    "preprocessing got {} labels for a table of {} rows",
                    y.len(),
                    table.n_rows()
                )));
            }
        }
        let y_train = y.map(|y| y.take(rows));
        let (mut fitted, oof) = self.fit_columns(table, rows, y_train.as_ref())?;
        let train = table.take(rows)?;
        let mut x = fitted.transform_columns(&train, &oof)?;
        for (i, step) in self.steps.iter().enumerate() {
            if step.needs_target() && y_train.is_none() {
                return Err(Error::InvalidData(format!(
                    "preprocess.steps[{i}] (select_k_best) needs the training labels"
                )));
            }
            let f = step.fit(&x, y_train.as_ref())?;
            x = f.apply(&x)?;
            fitted.steps.push(f);
        }
        Ok((fitted, x))
    }

    /// Per-column fitting; returns the out-of-fold training values of target-encoded
    /// columns, by column name.
    fn fit_columns(
        &self,
        table: &Table,
        rows: &[usize],
        y: Option<&Target>,
    ) -> Result<(FittedPreprocessor, HashMap<String, Vec<f64>>)> {
        let features: Vec<_> = table.schema().with_role(Role::Feature).collect();
        // Columns imputed by k-NN share one imputer (their joint distances).
        let mut knn_cols = Vec::new();
        let mut knn_values = Vec::new();
        for field in &features {
            let spec = self.resolved_for(&field.name, y);
            let numeric = matches!(
                field.dtype,
                DataType::Integer | DataType::Float | DataType::Boolean
            ) || (field.dtype == DataType::Datetime && !spec.datetime_features);
            if numeric && spec.numeric_impute == NumericImpute::Knn {
                let all = table.numeric_values(&field.name)?;
                let values: Vec<f64> = rows.iter().map(|&r| all[r]).collect();
                if values.iter().all(|v| v.is_nan()) {
                    return Err(no_values(&field.name));
                }
                knn_cols.push(field.name.clone());
                knn_values.push(values);
            }
        }
        let knn = (!knn_cols.is_empty())
            .then(|| KnnImputer::fit(knn_cols, &knn_values, self.knn_neighbors));
        let knn_imputed: HashMap<&str, Vec<f64>> = match &knn {
            Some(k) => {
                let mut v = knn_values;
                k.impute(&mut v);
                k.columns.iter().map(String::as_str).zip(v).collect()
            }
            None => HashMap::new(),
        };

        let mut columns = Vec::new();
        let mut skipped = Vec::new();
        let mut oof = HashMap::new();
        for field in features {
            let spec = self.resolved_for(&field.name, y);
            let transform = match field.dtype {
                DataType::Text => match &spec.tfidf {
                    None => {
                        skipped.push(field.name.clone());
                        continue;
                    }
                    Some(t) => {
                        let all = table.string_values(&field.name)?;
                        let docs: Vec<Option<&str>> = rows.iter().map(|&r| all[r]).collect();
                        let tfidf = t.fit(&field.name, &docs)?;
                        let mut cols = Vec::new();
                        tfidf.transform(&docs, &mut cols);
                        ColumnTransform::Text {
                            length_scale: spec.scale.fit(&cols[0]),
                            word_count_scale: spec.scale.fit(&cols[1]),
                            tfidf,
                        }
                    }
                },
                DataType::Datetime if spec.datetime_features => {
                    let all = table.numeric_values(&field.name)?;
                    let parts: Vec<[f64; 8]> =
                        rows.iter().map(|&r| datetime::parts(all[r])).collect();
                    let mut part_spec = spec.clone();
                    if part_spec.numeric_impute == NumericImpute::Knn {
                        part_spec.numeric_impute = NumericImpute::Median;
                    }
                    let parts = (0..datetime::PARTS.len())
                        .map(|p| {
                            let v: Vec<f64> = parts.iter().map(|x| x[p]).collect();
                            fit_number(&field.name, &v, &part_spec)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    ColumnTransform::Datetime { parts }
                }
                DataType::Integer | DataType::Float | DataType::Boolean | DataType::Datetime => {
                    match knn_imputed.get(field.name.as_str()) {
                        Some(imputed) => ColumnTransform::Numeric {
                            fill: None,
                            scale: spec.scale.fit(imputed),
                        },
                        None => {
                            let all = table.numeric_values(&field.name)?;
                            let values: Vec<f64> = rows.iter().map(|&r| all[r]).collect();
                            let p = fit_number(&field.name, &values, &spec)?;
                            ColumnTransform::Numeric {
                                fill: p.fill,
                                scale: p.scale,
                            }
                        }
                    }
                }
                DataType::Categorical => {
                    let all = table.string_values(&field.name)?;
                    let values: Vec<Option<&str>> = rows.iter().map(|&r| all[r]).collect();
                    if spec.encoding == Encoding::Target {
                        let y = y.ok_or_else(|| {
                            Error::InvalidData(format!(
                                "column \"{}\": target encoding needs the training labels (use fit_with_target)",
                                field.name
                            ))
                        })?;
                        let (t, values) = fit_target_encoding(&field.name, &values, y, &spec)?;
                        oof.insert(field.name.clone(), values);
                        t
                    } else {
                        fit_categorical(&values, &spec)
                    }
                }
            };
            columns.push(FittedColumn {
                name: field.name.clone(),
                dtype: field.dtype,
                transform,
            });
        }
        if columns.is_empty() {
            return Err(Error::InvalidData(
                "no usable feature columns: every column is the target, an id, a timestamp, protected, ignored or text".into(),
            ));
        }
        Ok((
            FittedPreprocessor {
                columns,
                skipped,
                knn,
                steps: Vec::new(),
            },
            oof,
        ))
    }
}

fn check_smooth(at: &str, s: Smooth) -> Result<()> {
    match s {
        Smooth::Fixed(m) if !(m.is_finite() && m >= 0.0) => Err(Error::param(
            at,
            format!("must be \"auto\" or a number at least 0, got {m}"),
        )),
        _ => Ok(()),
    }
}

fn no_values(name: &str) -> Error {
    Error::InvalidData(format!(
        "column \"{name}\" has no values in the training rows, so it cannot be imputed or scaled; mark it ignored or give a constant"
    ))
}

fn fit_number(name: &str, values: &[f64], spec: &PreprocessSpec) -> Result<NumericPart> {
    let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let needs_stat = matches!(
        spec.numeric_impute,
        NumericImpute::Mean | NumericImpute::Median | NumericImpute::MostFrequent
    );
    if present.is_empty() && (needs_stat || spec.scale != Scaler::None) {
        return Err(no_values(name));
    }
    let fill = match spec.numeric_impute {
        NumericImpute::Keep | NumericImpute::Knn => None,
        NumericImpute::Mean => Some(scale::mean(&present)),
        NumericImpute::Median => Some(median(&present)),
        NumericImpute::MostFrequent => Some(most_frequent_number(&present)),
        NumericImpute::Constant => Some(spec.fill_value),
    };
    // Statistics of the imputed column, as a scaler placed after an imputer would see.
    let imputed: Vec<f64> = match fill {
        Some(f) => values
            .iter()
            .map(|&v| if v.is_nan() { f } else { v })
            .collect(),
        None => present,
    };
    let scale = if imputed.is_empty() {
        None
    } else {
        spec.scale.fit(&imputed)
    };
    Ok(NumericPart { fill, scale })
}

fn fit_target_encoding(
    name: &str,
    values: &[Option<&str>],
    y: &Target,
    spec: &PreprocessSpec,
) -> Result<(ColumnTransform, Vec<f64>)> {
    let (yv, strat): (Vec<f64>, Option<&[u32]>) = match y {
        Target::Classes {
            labels,
            n_classes: 2,
        } => (labels.iter().map(|&l| f64::from(l)).collect(), Some(labels)),
        Target::Classes { n_classes, .. } => {
            return Err(Error::InvalidData(format!(
                "column \"{name}\": target encoding supports binary and regression targets, not {n_classes} classes; use one_hot or native encoding"
            )));
        }
        Target::Real(v) => (v.clone(), None),
    };
    let fill = match fit_categorical(values, spec) {
        ColumnTransform::Categorical { fill, .. } => fill,
        _ => None,
    };
    let filled: Vec<Option<&str>> = values.iter().map(|v| v.or(fill.as_deref())).collect();
    let mut categories: Vec<String> = filled.iter().flatten().map(|s| s.to_string()).collect();
    categories.sort();
    categories.dedup();
    let index: HashMap<&str, usize> = categories
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    // Missing is one more category, after the named ones.
    let missing = categories.len();
    let codes: Vec<usize> = filled
        .iter()
        .map(|v| v.map_or(missing, |s| index[s]))
        .collect();
    let (enc, target_mean) = target::encode(&codes, &yv, missing + 1, spec.target_smooth);
    let n = codes.len();
    let folds = match strat {
        Some(labels) => {
            crate::split::stratified_k_fold(labels, spec.target_folds, spec.target_seed)
                .or_else(|_| crate::split::k_fold(n, spec.target_folds, true, spec.target_seed))
        }
        None => crate::split::k_fold(n, spec.target_folds, true, spec.target_seed),
    }
    .map_err(|e| Error::InvalidData(format!("column \"{name}\": target encoding folds: {e}")))?;
    let oof = target::out_of_fold(&codes, &yv, missing + 1, spec.target_smooth, &folds)?;
    Ok((
        ColumnTransform::Target {
            fill,
            missing_encoding: enc[missing],
            encodings: enc[..missing].to_vec(),
            categories,
            target_mean,
        },
        oof,
    ))
}
fn fit_categorical(values: &[Option<&str>], spec: &PreprocessSpec) -> ColumnTransform {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values.iter().flatten() {
        *counts.entry(v).or_default() += 1;
    }
    let fill = match spec.categorical_impute {
        CategoricalImpute::Keep => None,
        CategoricalImpute::MostFrequent => {
            let mut best: Option<(&str, usize)> = None;
            for (&k, &c) in &counts {
                best = match best {
                    Some((bk, bc)) if bc > c || (bc == c && bk < k) => Some((bk, bc)),
                    _ => Some((k, c)),
                };
            }
            best.map(|(k, _)| k.to_string())
        }
        CategoricalImpute::Constant => Some(spec.fill_category.clone()),
    };
    if let Some(f) = &fill {
        let missing = values.iter().filter(|v| v.is_none()).count();
        if missing > 0 {
            *counts.entry(f.as_str()).or_default() += missing;
        }
    }
    // Most frequent first, ties by name: the cap keeps the common categories.
    let mut by_freq: Vec<(&str, usize)> = counts.into_iter().collect();
    by_freq.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let infrequent = by_freq.len() > spec.max_categories;
    by_freq.truncate(spec.max_categories);
    let mut categories: Vec<String> = by_freq.into_iter().map(|(k, _)| k.to_string()).collect();
    categories.sort();
    ColumnTransform::Categorical {
        fill,
        encoding: spec.encoding,
        drop_first: spec.drop_first && spec.encoding == Encoding::OneHot && !categories.is_empty(),
        categories,
        infrequent,
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn most_frequent_number(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let (mut best, mut best_n) = (s[0], 0usize);
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        if j - i > best_n {
            best = s[i];
            best_n = j - i;
        }
        i = j;
    }
    best
}

/// A fitted number: fill value and scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericPart {
    /// Value for missing entries; `None` keeps NaN.
    #[serde(with = "crate::exact_json::floats")]
    pub fill: Option<f64>,
    /// `(center, divisor)` to scale with: `(x - center) / divisor`.
    #[serde(with = "crate::exact_json::floats")]
    pub scale: Option<(f64, f64)>,
}

impl NumericPart {
    fn apply(&self, x: f64) -> f64 {
        let x = match self.fill {
            Some(f) if x.is_nan() => f,
            _ => x,
        };
        scaled(x, self.scale)
    }
}

fn scaled(x: f64, scale: Option<(f64, f64)>) -> f64 {
    match scale {
        Some((m, s)) => (x - m) / s,
        None => x,
    }
}

/// What was learned for one input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ColumnTransform {
    /// A number (booleans as 0/1, datetimes as epoch milliseconds). Columns listed in
    /// [`FittedPreprocessor::knn`] are imputed by it before scaling.
    Numeric {
        /// Value for missing entries; `None` keeps NaN.
        #[serde(with = "crate::exact_json::floats")]
        fill: Option<f64>,
        /// `(center, divisor)` to scale with: `(x - center) / divisor` (mean and std for the
        /// standard scaler, minimum and range for min-max, median and IQR for robust).
        #[serde(with = "crate::exact_json::floats")]
        scale: Option<(f64, f64)>,
    },
    /// A category.
    Categorical {
        /// Category for missing entries; `None` keeps them missing.
        fill: Option<String>,
        /// How the category becomes numbers.
        encoding: Encoding,
        /// One-hot: the first of `categories` has no column (its rows are all zeros).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        drop_first: bool,
        /// Known categories; category `categories[i]` has code `i`. Sorted when Slipway
        /// fitted them; in the training library's order for an imported model.
        categories: Vec<String>,
        /// Whether some training categories fell outside the cap (they, and with one-hot
        /// encoding unknown categories too, go to an "infrequent" column).
        infrequent: bool,
    },
    /// A target-encoded category.
    Target {
        /// Category for missing entries; `None` encodes missing as its own category.
        fill: Option<String>,
        /// Known categories, sorted.
        categories: Vec<String>,
        /// Encoding per category.
        #[serde(with = "crate::exact_json::floats")]
        encodings: Vec<f64>,
        /// Encoding of missing values (when not filled).
        #[serde(with = "crate::exact_json::floats")]
        missing_encoding: f64,
        /// Training target mean, for unknown categories.
        #[serde(with = "crate::exact_json::floats")]
        target_mean: f64,
    },
    /// A datetime as calendar parts (UTC).
    Datetime {
        /// Fill and scaling of year, month, day, hour, day_of_week, is_weekend, quarter,
        /// is_month_end, in that order.
        parts: Vec<NumericPart>,
    },
    /// A text: length in characters, word count (whitespace-separated), then TF-IDF.
    Text {
        /// The vectorizer.
        tfidf: FittedTfidf,
        /// Scaling of the length.
        #[serde(with = "crate::exact_json::floats")]
        length_scale: Option<(f64, f64)>,
        /// Scaling of the word count.
        #[serde(with = "crate::exact_json::floats")]
        word_count_scale: Option<(f64, f64)>,
    },
}

/// One fitted input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedColumn {
    /// The input column.
    pub name: String,
    /// Its type at fit time.
    pub dtype: DataType,
    /// What to do with it.
    pub transform: ColumnTransform,
}

/// Preprocessing fitted on training rows: turns tables into feature matrices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPreprocessor {
    /// The input columns used, in order.
    pub columns: Vec<FittedColumn>,
    /// Feature columns that were not used (text without `tfidf`), by name.
    pub skipped: Vec<String>,
    /// The k-NN imputer shared by the columns imputed that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knn: Option<KnnImputer>,
    /// Whole-matrix steps, applied in order after the per-column transforms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<FittedStep>,
}

const INFREQUENT: &str = "infrequent";

impl FittedPreprocessor {
    /// The output features, in matrix column order.
    pub fn features(&self) -> Vec<FeatureMeta> {
        let mut out = self.column_features();
        for s in &self.steps {
            out = s.features(&out);
        }
        out
    }

    fn column_features(&self) -> Vec<FeatureMeta> {
        let mut out = Vec::new();
        for c in &self.columns {
            match &c.transform {
                ColumnTransform::Numeric { .. } | ColumnTransform::Target { .. } => {
                    out.push(FeatureMeta::numeric(&c.name))
                }
                ColumnTransform::Datetime { .. } => {
                    for p in datetime::PARTS {
                        out.push(FeatureMeta::numeric(format!("{}:{p}", c.name)));
                    }
                }
                ColumnTransform::Text { tfidf, .. } => {
                    out.push(FeatureMeta::numeric(format!("{}:length", c.name)));
                    out.push(FeatureMeta::numeric(format!("{}:word_count", c.name)));
                    for t in &tfidf.vocabulary {
                        out.push(FeatureMeta::numeric(format!("{}:tfidf:{t}", c.name)));
                    }
                }
                ColumnTransform::Categorical {
                    encoding,
                    drop_first,
                    categories,
                    infrequent,
                    ..
                } => match encoding {
                    Encoding::OneHot => {
                        for cat in &categories[usize::from(*drop_first)..] {
                            out.push(FeatureMeta::numeric(format!("{}={cat}", c.name)));
                        }
                        if *infrequent {
                            out.push(FeatureMeta::numeric(format!("{}={INFREQUENT}", c.name)));
                        }
                    }
                    Encoding::Ordinal | Encoding::Target => out.push(FeatureMeta::numeric(&c.name)),
                    // Resolved at fit time; a fitted column is never `Auto`.
                    Encoding::Native | Encoding::Auto => out.push(FeatureMeta {
                        name: c.name.clone(),
                        kind: FeatureKind::Categorical {
                            n_categories: categories.len(),
                        },
                    }),
                },
            }
        }
        out
    }

    /// The feature matrix of every row of `table`. The table must have each fitted column
    /// with the type it had at fit time; other columns are ignored.
    pub fn transform(&self, table: &Table) -> Result<Matrix> {
        let mut x = self.transform_columns(table, &HashMap::new())?;
        for s in &self.steps {
            x = s.apply(&x)?;
        }
        Ok(x)
    }

    /// Per-column transforms; `replace` gives whole columns (out-of-fold target encodings
    /// of the training rows) by input column name.
    fn transform_columns(
        &self,
        table: &Table,
        replace: &HashMap<String, Vec<f64>>,
    ) -> Result<Matrix> {
        let n = table.n_rows();
        for c in &self.columns {
            let field = table.schema().field(&c.name).ok_or_else(|| {
                Error::SchemaMismatch(format!(
                    "column \"{}\" is missing; the model needs it as {}",
                    c.name, c.dtype
                ))
            })?;
            let compatible = field.dtype == c.dtype
                || (c.dtype.is_numeric()
                    && matches!(field.dtype, DataType::Integer | DataType::Float)
                    && matches!(c.dtype, DataType::Integer | DataType::Float));
            if !compatible {
                return Err(Error::SchemaMismatch(format!(
                    "column \"{}\" is {}, but the model was trained on {}",
                    c.name, field.dtype, c.dtype
                )));
            }
        }
        let mut knn_imputed: HashMap<&str, Vec<f64>> = HashMap::new();
        if let Some(k) = &self.knn {
            let mut v = k
                .columns
                .iter()
                .map(|c| table.numeric_values(c))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            k.impute(&mut v);
            knn_imputed = k.columns.iter().map(String::as_str).zip(v).collect();
        }
        let mut cols: Vec<Vec<f64>> = Vec::new();
        for c in &self.columns {
            match &c.transform {
                ColumnTransform::Numeric { fill, scale } => {
                    let mut v = match knn_imputed.remove(c.name.as_str()) {
                        Some(v) => v,
                        None => table.numeric_values(&c.name)?,
                    };
                    for x in &mut v {
                        if x.is_nan() {
                            if let Some(f) = fill {
                                *x = *f;
                            }
                        }
                        if let Some((m, s)) = scale {
                            *x = (*x - m) / s;
                        }
                    }
                    cols.push(v);
                }
                ColumnTransform::Datetime { parts } => {
                    let v = table.numeric_values(&c.name)?;
                    let p: Vec<[f64; 8]> = v.iter().map(|&x| datetime::parts(x)).collect();
                    for (i, part) in parts.iter().enumerate() {
                        cols.push(p.iter().map(|x| part.apply(x[i])).collect());
                    }
                }
                ColumnTransform::Text {
                    tfidf,
                    length_scale,
                    word_count_scale,
                } => {
                    let docs = table.string_values(&c.name)?;
                    let start = cols.len();
                    tfidf.transform(&docs, &mut cols);
                    for x in &mut cols[start] {
                        *x = scaled(*x, *length_scale);
                    }
                    for x in &mut cols[start + 1] {
                        *x = scaled(*x, *word_count_scale);
                    }
                }
                ColumnTransform::Target {
                    fill,
                    categories,
                    encodings,
                    missing_encoding,
                    target_mean,
                } => {
                    if let Some(v) = replace.get(&c.name) {
                        cols.push(v.clone());
                        continue;
                    }
                    let index = CategoryIndex::new(categories, n);
                    let values = table.string_values(&c.name)?;
                    cols.push(
                        values
                            .iter()
                            .map(|v| match v.or(fill.as_deref()) {
                                None => *missing_encoding,
                                Some(s) => index.get(s).map_or(*target_mean, |i| encodings[i]),
                            })
                            .collect(),
                    );
                }
                ColumnTransform::Categorical {
                    fill,
                    encoding,
                    drop_first,
                    categories,
                    infrequent,
                } => {
                    let values = table.string_values(&c.name)?;
                    let index = CategoryIndex::new(categories, n);
                    let code = |v: Option<&str>| -> Option<Option<usize>> {
                        // None: missing; Some(None): unknown; Some(Some(i)): known.
                        let v = v.or(fill.as_deref())?;
                        Some(index.get(v))
                    };
                    match encoding {
                        Encoding::OneHot => {
                            // With drop_first, category 0 has no column: category i is
                            // column i - 1.
                            let skip = usize::from(*drop_first);
                            let known = categories.len() - skip;
                            let width = known + usize::from(*infrequent);
                            let start = cols.len();
                            cols.extend((0..width).map(|_| vec![0.0; n]));
                            for (r, v) in values.iter().enumerate() {
                                match code(*v) {
                                    Some(Some(i)) if i >= skip => cols[start + i - skip][r] = 1.0,
                                    Some(None) if *infrequent => cols[start + known][r] = 1.0,
                                    _ => {}
                                }
                            }
                        }
                        Encoding::Ordinal | Encoding::Target => cols.push(
                            values
                                .iter()
                                .map(|v| match code(*v) {
                                    Some(Some(i)) => i as f64,
                                    Some(None) => -1.0,
                                    None => f64::NAN,
                                })
                                .collect(),
                        ),
                        Encoding::Native | Encoding::Auto => cols.push(
                            values
                                .iter()
                                .map(|v| match code(*v) {
                                    Some(Some(i)) => i as f64,
                                    _ => f64::NAN,
                                })
                                .collect(),
                        ),
                    }
                }
            }
        }
        Matrix::from_columns(cols)
    }
}

/// A category's position among a column's categories: a hash map for many rows, a scan for
/// a few (building the map would cost more than the lookups of a one-row request).
enum CategoryIndex<'a> {
    Map(HashMap<&'a str, usize>),
    Scan(&'a [String]),
}

impl<'a> CategoryIndex<'a> {
    fn new(categories: &'a [String], rows: usize) -> Self {
        if rows <= 8 {
            CategoryIndex::Scan(categories)
        } else {
            CategoryIndex::Map(
                categories
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.as_str(), i))
                    .collect(),
            )
        }
    }

    fn get(&self, value: &str) -> Option<usize> {
        match self {
            CategoryIndex::Map(m) => m.get(value).copied(),
            CategoryIndex::Scan(c) => c.iter().position(|k| k == value),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, StringArray};
    use slipway_data::{Field, Schema};

    use super::*;

    fn table(x: Vec<Option<f64>>, c: Vec<Option<&str>>) -> Table {
        let schema = Schema::new(vec![
            Field::new("x", DataType::Float),
            Field::new("c", DataType::Categorical),
        ])
        .unwrap();
        Table::new(
            schema,
            vec![
                Arc::new(Float64Array::from(x)),
                Arc::new(StringArray::from(c)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn statistics_come_from_training_rows_only() {
        let t = table(
            vec![Some(1.0), Some(3.0), None, Some(100.0)],
            vec![Some("a"), Some("b"), None, Some("z")],
        );
        let fitted = PreprocessSpec::for_linear().fit(&t, &[0, 1, 2]).unwrap();
        let m = fitted.transform(&t).unwrap();
        // mean of rows 0..3 is 2 (row 3 is not training); imputed column 1,3,2 has std sqrt(2/3)
        let sd = (2.0f64 / 3.0).sqrt();
        assert!((m.get(0, 0) - (-1.0 / sd)).abs() < 1e-12);
        assert!((m.get(2, 0)).abs() < 1e-12);
        // categories a, b, missing; "z" never seen: all zeros
        let names: Vec<_> = fitted.features().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["x", "c=a", "c=b", "c=missing"]);
        assert_eq!((1..4).map(|j| m.get(3, j)).sum::<f64>(), 0.0);
        assert_eq!(m.get(2, 3), 1.0);
    }

    #[test]
    fn native_codes_keep_missing_and_cap_categories() {
        let t = table(
            vec![Some(1.0); 6],
            vec![Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), None],
        );
        let mut spec = PreprocessSpec::for_trees();
        spec.max_categories = 2;
        let fitted = spec.fit(&t, &[0, 1, 2, 3, 4, 5]).unwrap();
        let m = fitted.transform(&t).unwrap();
        assert_eq!(m.col(1)[..4], [0.0, 0.0, 1.0, 1.0]);
        assert!(m.get(4, 1).is_nan() && m.get(5, 1).is_nan());
        assert!(matches!(
            fitted.features()[1].kind,
            FeatureKind::Categorical { n_categories: 2 }
        ));
        assert!(m.get(0, 0) == 1.0);
    }

    #[test]
    fn missing_column_at_transform_is_named() {
        let t = table(vec![Some(1.0)], vec![Some("a")]);
        let fitted = PreprocessSpec::for_trees().fit(&t, &[0]).unwrap();
        let other = t.select(&["c"]).unwrap();
        let err = fitted.transform(&other).unwrap_err().to_string();
        assert!(err.contains("\"x\"") && err.contains("missing"), "{err}");
    }

    #[test]
    fn overrides_apply_per_column() {
        let t = table(vec![Some(1.0), None, Some(5.0)], vec![Some("a"); 3]);
        let mut spec = PreprocessSpec::for_linear();
        spec.columns.insert(
            "x".into(),
            ColumnOverride {
                numeric_impute: Some(NumericImpute::Median),
                scale: Some(Scaler::None),
                ..Default::default()
            },
        );
        spec.columns.insert(
            "c".into(),
            ColumnOverride {
                encoding: Some(Encoding::Ordinal),
                ..Default::default()
            },
        );
        let m = spec.fit(&t, &[0, 1, 2]).unwrap().transform(&t).unwrap();
        assert_eq!(m.col(0), &[1.0, 3.0, 5.0]);
        assert_eq!(m.col(1), &[0.0, 0.0, 0.0]);
    }
}
