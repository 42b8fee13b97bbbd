//! Schema-driven preprocessing: imputation, standard scaling, one-hot and ordinal encoding.
//!
//! A [`PreprocessSpec`] says what to do with each kind of column; [`PreprocessSpec::fit`]
//! learns every statistic (means, medians, categories) from the training rows only and
//! returns a [`FittedPreprocessor`], which turns any table with the same feature columns
//! into a [`Matrix`] plus [`FeatureMeta`]s.
//!
//! Which columns are features comes from the schema's roles: only [`Role::Feature`] columns
//! are used. Text columns are not features yet (they need a text vectorizer) and are
//! reported in [`FittedPreprocessor::skipped`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Role, Table};

use crate::{Error, FeatureKind, FeatureMeta, Matrix, Result};

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
}

/// How missing categories are filled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoricalImpute {
    /// Keep missing: one-hot rows get all zeros, ordinal/native codes get NaN.
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
    /// "infrequent" column). Unknown categories at predict time become all zeros.
    OneHot,
    /// One column of codes `0..k` in order of the sorted categories; unknown → -1.
    Ordinal,
    /// Codes `0..k` marked categorical, for models that split on category sets
    /// (gradient boosting); unknown and missing → NaN.
    Native,
}

/// Preprocessing for one kind of column (or one column, as an override).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreprocessSpec {
    /// Missing numbers.
    pub numeric_impute: NumericImpute,
    /// The constant for [`NumericImpute::Constant`].
    pub fill_value: f64,
    /// Standardize numbers to zero mean and unit variance (population std, like
    /// scikit-learn's `StandardScaler`).
    pub scale: bool,
    /// Missing categories.
    pub categorical_impute: CategoricalImpute,
    /// The constant for [`CategoricalImpute::Constant`].
    pub fill_category: String,
    /// Category encoding.
    pub encoding: Encoding,
    /// At most this many categories are kept per column (most frequent first); the rest are
    /// grouped as infrequent.
    pub max_categories: usize,
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
    /// Standardize.
    pub scale: Option<bool>,
    /// Missing categories.
    pub categorical_impute: Option<CategoricalImpute>,
    /// Constant for categories.
    pub fill_category: Option<String>,
    /// Encoding.
    pub encoding: Option<Encoding>,
    /// Category cap.
    pub max_categories: Option<usize>,
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
        if let Some(v) = self.categorical_impute {
            spec.categorical_impute = v;
        }
        if let Some(v) = &self.fill_category {
            spec.fill_category = v.clone();
        }
        if let Some(v) = self.encoding {
            spec.encoding = v;
        }
        if let Some(v) = self.max_categories {
            spec.max_categories = v;
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
            scale: true,
            categorical_impute: CategoricalImpute::Constant,
            fill_category: "missing".into(),
            encoding: Encoding::OneHot,
            max_categories: 50,
            columns: BTreeMap::new(),
        }
    }

    /// What tree ensembles want: raw numbers with NaN kept, native categories.
    pub fn for_trees() -> Self {
        PreprocessSpec {
            numeric_impute: NumericImpute::Keep,
            fill_value: 0.0,
            scale: false,
            categorical_impute: CategoricalImpute::Keep,
            fill_category: "missing".into(),
            encoding: Encoding::Native,
            max_categories: 255,
            columns: BTreeMap::new(),
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
        for (col, o) in &self.columns {
            if o.max_categories == Some(0) {
                return Err(Error::param(
                    &format!("preprocess.columns.{col}.max_categories"),
                    "must be at least 1, got 0",
                ));
            }
        }
        Ok(())
    }

    fn resolved(&self, column: &str) -> PreprocessSpec {
        let mut s = self.clone();
        s.columns.clear();
        if let Some(o) = self.columns.get(column) {
            o.apply(&mut s);
        }
        s
    }

    /// Learns every statistic from `table`'s rows `rows` (training rows only) for the
    /// schema's feature columns.
    pub fn fit(&self, table: &Table, rows: &[usize]) -> Result<FittedPreprocessor> {
        self.check()?;
        for name in self.columns.keys() {
            table.schema().require(name)?;
        }
        let mut columns = Vec::new();
        let mut skipped = Vec::new();
        for field in table.schema().with_role(Role::Feature) {
            let spec = self.resolved(&field.name);
            let transform = match field.dtype {
                DataType::Text => {
                    skipped.push(field.name.clone());
                    continue;
                }
                DataType::Integer | DataType::Float | DataType::Boolean | DataType::Datetime => {
                    let all = table.numeric_values(&field.name)?;
                    let values: Vec<f64> = rows.iter().map(|&r| all[r]).collect();
                    fit_numeric(&field.name, &values, &spec)?
                }
                DataType::Categorical => {
                    let all = table.string_values(&field.name)?;
                    let values: Vec<Option<&str>> = rows.iter().map(|&r| all[r]).collect();
                    fit_categorical(&values, &spec)
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
        Ok(FittedPreprocessor { columns, skipped })
    }
}

fn fit_numeric(name: &str, values: &[f64], spec: &PreprocessSpec) -> Result<ColumnTransform> {
    let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let needs_stat = matches!(
        spec.numeric_impute,
        NumericImpute::Mean | NumericImpute::Median | NumericImpute::MostFrequent
    );
    if present.is_empty() && (needs_stat || spec.scale) {
        return Err(Error::InvalidData(format!(
            "column \"{name}\" has no values in the training rows, so it cannot be imputed or scaled; mark it ignored or give a constant"
        )));
    }
    let fill = match spec.numeric_impute {
        NumericImpute::Keep => None,
        NumericImpute::Mean => Some(mean(&present)),
        NumericImpute::Median => Some(median(&present)),
        NumericImpute::MostFrequent => Some(most_frequent_number(&present)),
        NumericImpute::Constant => Some(spec.fill_value),
    };
    let scale = if spec.scale {
        // Statistics of the imputed column, as a scaler placed after an imputer would see.
        let imputed: Vec<f64> = match fill {
            Some(f) => values
                .iter()
                .map(|&v| if v.is_nan() { f } else { v })
                .collect(),
            None => present.clone(),
        };
        let m = mean(&imputed);
        let var = imputed.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / imputed.len() as f64;
        let sd = var.sqrt();
        // scikit-learn leaves constant columns unscaled (scale 1).
        Some((m, if sd > 0.0 { sd } else { 1.0 }))
    } else {
        None
    };
    Ok(ColumnTransform::Numeric { fill, scale })
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
        categories,
        infrequent,
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
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

/// What was learned for one input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ColumnTransform {
    /// A number (booleans as 0/1, datetimes as epoch milliseconds).
    Numeric {
        /// Value for missing entries; `None` keeps NaN.
        fill: Option<f64>,
        /// `(mean, std)` to standardize with.
        scale: Option<(f64, f64)>,
    },
    /// A category.
    Categorical {
        /// Category for missing entries; `None` keeps them missing.
        fill: Option<String>,
        /// How the category becomes numbers.
        encoding: Encoding,
        /// Known categories, sorted.
        categories: Vec<String>,
        /// Whether some training categories fell outside the cap (they, and with one-hot
        /// encoding unknown categories too, go to an "infrequent" column).
        infrequent: bool,
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
    /// Feature columns that were not used (text), by name.
    pub skipped: Vec<String>,
}

const INFREQUENT: &str = "infrequent";

impl FittedPreprocessor {
    /// The output features, in matrix column order.
    pub fn features(&self) -> Vec<FeatureMeta> {
        let mut out = Vec::new();
        for c in &self.columns {
            match &c.transform {
                ColumnTransform::Numeric { .. } => out.push(FeatureMeta::numeric(&c.name)),
                ColumnTransform::Categorical {
                    encoding,
                    categories,
                    infrequent,
                    ..
                } => match encoding {
                    Encoding::OneHot => {
                        for cat in categories {
                            out.push(FeatureMeta::numeric(format!("{}={cat}", c.name)));
                        }
                        if *infrequent {
                            out.push(FeatureMeta::numeric(format!("{}={INFREQUENT}", c.name)));
                        }
                    }
                    Encoding::Ordinal => out.push(FeatureMeta::numeric(&c.name)),
                    Encoding::Native => out.push(FeatureMeta {
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
        let n = table.n_rows();
        let mut cols: Vec<Vec<f64>> = Vec::new();
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
            match &c.transform {
                ColumnTransform::Numeric { fill, scale } => {
                    let mut v = table.numeric_values(&c.name)?;
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
                ColumnTransform::Categorical {
                    fill,
                    encoding,
                    categories,
                    infrequent,
                } => {
                    let values = table.string_values(&c.name)?;
                    let index: HashMap<&str, usize> = categories
                        .iter()
                        .enumerate()
                        .map(|(i, k)| (k.as_str(), i))
                        .collect();
                    let code = |v: Option<&str>| -> Option<Option<usize>> {
                        // None: missing; Some(None): unknown; Some(Some(i)): known.
                        let v = v.or(fill.as_deref())?;
                        Some(index.get(v).copied())
                    };
                    match encoding {
                        Encoding::OneHot => {
                            let width = categories.len() + usize::from(*infrequent);
                            let start = cols.len();
                            cols.extend((0..width).map(|_| vec![0.0; n]));
                            for (r, v) in values.iter().enumerate() {
                                match code(*v) {
                                    Some(Some(i)) => cols[start + i][r] = 1.0,
                                    Some(None) if *infrequent => {
                                        cols[start + categories.len()][r] = 1.0
                                    }
                                    _ => {}
                                }
                            }
                        }
                        Encoding::Ordinal => cols.push(
                            values
                                .iter()
                                .map(|v| match code(*v) {
                                    Some(Some(i)) => i as f64,
                                    Some(None) => -1.0,
                                    None => f64::NAN,
                                })
                                .collect(),
                        ),
                        Encoding::Native => cols.push(
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
                scale: Some(false),
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
