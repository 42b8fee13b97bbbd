//! Direct loss estimation (NannyML's DLE) for regression models: two gradient-boosted
//! trees (Slipway's own, with LightGBM's default hyperparameters, as NannyML uses
//! `LGBMRegressor()`) are fitted on the reference to predict each row's absolute and
//! squared error from the features and the prediction. A chunk's estimated MAE is the mean
//! predicted absolute error, its RMSE the square root of the mean predicted squared error
//! (predictions clipped at 0). Sampling errors are NannyML's: `std(|y − ŷ|) / √n` for MAE
//! and `√(std((y − ŷ)²)² / (4·n·mean((y − ŷ)²)))` for RMSE, from the reference.
//!
//! Categorical features (text columns) are coded by their sorted reference categories;
//! a category the reference never had and a missing value are both "missing" to the trees
//! (NannyML codes them as one extra category, so with missing or unseen categories the
//! trees may differ; without them the estimates equal NannyML's to about 1e-10 relative on
//! its car-price data, `tests/performance_reference.rs`).

use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Table};
use slipway_learn::gbdt::{GbdtModel, GbdtParams};
use slipway_learn::{
    Estimator, FeatureKind, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
};

use crate::performance::ModelOutputs;
use crate::special::numpy_sum;
use crate::{Error, Result};

/// How one feature column becomes a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Coding {
    Numeric,
    /// Sorted reference categories; the code is the position.
    Categories(Vec<String>),
}

/// Per-row expected losses predicted by [`Dle`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectedLoss {
    /// Predicted absolute error per row (≥ 0).
    pub absolute: Vec<f64>,
    /// Predicted squared error per row (≥ 0).
    pub squared: Vec<f64>,
}

/// DLE fitted on a labelled reference.
pub struct Dle {
    features: Vec<(String, Coding)>,
    absolute: GbdtModel,
    squared: GbdtModel,
    /// `std(|y − ŷ|)` on the reference.
    pub mae_std: f64,
    /// `std((y − ŷ)²)` on the reference.
    pub squared_std: f64,
    /// `mean((y − ŷ)²)` on the reference.
    pub squared_mean: f64,
}

fn np_std(v: &[f64]) -> f64 {
    let mean = numpy_sum(v) / v.len() as f64;
    let sq: Vec<f64> = v.iter().map(|x| (x - mean) * (x - mean)).collect();
    (numpy_sum(&sq) / v.len() as f64).sqrt()
}

fn internal(e: slipway_learn::Error) -> Error {
    Error::Bundle(e)
}

impl Dle {
    /// Fits on `table` (the reference) whose model outputs are `outputs`; every row must
    /// be labelled.
    pub fn fit(table: &Table, features: &[String], outputs: &ModelOutputs) -> Result<Dle> {
        let mut coded = Vec::with_capacity(features.len());
        for f in features {
            let dtype = table.schema().require(f)?.dtype;
            let coding = if matches!(dtype, DataType::Categorical | DataType::Text) {
                let mut cats: Vec<String> = table
                    .string_values(f)?
                    .into_iter()
                    .flatten()
                    .map(str::to_string)
                    .collect();
                cats.sort();
                cats.dedup();
                Coding::Categories(cats)
            } else {
                Coding::Numeric
            };
            coded.push((f.clone(), coding));
        }
        let y: Vec<f64> = outputs
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.ok_or_else(|| Error::BadInput {
                    message: format!(
                        "the reference's target is missing at row {}; DLE needs every reference row labelled",
                        i + 1
                    ),
                })
            })
            .collect::<Result<_>>()?;
        let abs: Vec<f64> = y
            .iter()
            .zip(&outputs.prediction)
            .map(|(t, p)| (t - p).abs())
            .collect();
        let sq: Vec<f64> = abs.iter().map(|a| a * a).collect();
        let x = matrix(&coded, table, outputs)?;
        let metas = metas(&coded);
        let gbdt = GbdtParams::default().check().map_err(internal)?;
        let fit = |target: Vec<f64>| -> Result<GbdtModel> {
            let y = Target::Real(target);
            gbdt.fit(
                &TrainData {
                    x: &x,
                    y: &y,
                    features: &metas,
                    weights: None,
                },
                None,
            )
            .map_err(internal)
        };
        Ok(Dle {
            mae_std: np_std(&abs),
            squared_std: np_std(&sq),
            squared_mean: numpy_sum(&sq) / sq.len() as f64,
            absolute: fit(abs)?,
            squared: fit(sq)?,
            features: coded,
        })
    }

    /// The expected losses of every row of `table`.
    pub fn expected_loss(&self, table: &Table, outputs: &ModelOutputs) -> Result<ExpectedLoss> {
        let x = matrix(&self.features, table, outputs)?;
        let values = |m: &GbdtModel| -> Result<Vec<f64>> {
            match m.predict(&x).map_err(internal)? {
                Prediction::Values(v) => Ok(v.into_iter().map(|p| p.max(0.0)).collect()),
                Prediction::Probabilities(_) => Err(Error::Internal(
                    "a regression GBDT gave probabilities".into(),
                )),
            }
        };
        Ok(ExpectedLoss {
            absolute: values(&self.absolute)?,
            squared: values(&self.squared)?,
        })
    }

    /// The sampling-error components.
    pub fn sampling(&self) -> DleSampling {
        DleSampling {
            mae_std: self.mae_std,
            squared_std: self.squared_std,
            squared_mean: self.squared_mean,
        }
    }
}

/// DLE's sampling-error components, from the reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DleSampling {
    /// `std(|y − ŷ|)`.
    pub mae_std: f64,
    /// `std((y − ŷ)²)`.
    pub squared_std: f64,
    /// `mean((y − ŷ)²)`.
    pub squared_mean: f64,
}

impl DleSampling {
    /// The estimate of MAE or RMSE on `rows` of `o` and its sampling error.
    pub fn estimate(
        &self,
        metric: crate::performance::Metric,
        o: &ModelOutputs,
        rows: &[usize],
    ) -> Option<(f64, f64)> {
        use crate::performance::Metric;
        let e = o.expected_loss.as_ref()?;
        if rows.is_empty() {
            return None;
        }
        let n = rows.len() as f64;
        let mean = |v: &[f64]| numpy_sum(&rows.iter().map(|&i| v[i]).collect::<Vec<_>>()) / n;
        match metric {
            Metric::Mae => Some((mean(&e.absolute), self.mae_std / n.sqrt())),
            Metric::Rmse => Some((
                mean(&e.squared).sqrt(),
                (self.squared_std * self.squared_std / (4.0 * n * self.squared_mean)).sqrt(),
            )),
            _ => None,
        }
    }
}

fn metas(features: &[(String, Coding)]) -> Vec<FeatureMeta> {
    {
        let mut m: Vec<FeatureMeta> = features
            .iter()
            .map(|(name, c)| FeatureMeta {
                name: name.clone(),
                kind: match c {
                    Coding::Numeric => FeatureKind::Numeric,
                    Coding::Categories(c) => FeatureKind::Categorical {
                        n_categories: c.len(),
                    },
                },
            })
            .collect();
        m.push(FeatureMeta::numeric("prediction"));
        m
    }
}

fn matrix(features: &[(String, Coding)], table: &Table, outputs: &ModelOutputs) -> Result<Matrix> {
    let mut cols = Vec::with_capacity(features.len() + 1);
    for (name, coding) in features {
        let dtype = table.schema().require(name)?.dtype;
        let categorical = matches!(dtype, DataType::Categorical | DataType::Text);
        cols.push(match coding {
            Coding::Numeric if categorical => {
                return Err(Error::BadInput {
                    message: format!(
                        "feature \"{name}\" is numeric in the reference but {dtype} here"
                    ),
                });
            }
            Coding::Numeric => table.numeric_values(name)?,
            Coding::Categories(cats) => {
                let values = crate::summary::category_values(table, name)?;
                values
                    .iter()
                    .map(|v| {
                        v.as_deref()
                            .and_then(|s| cats.binary_search_by(|c| c.as_str().cmp(s)).ok())
                            .map_or(f64::NAN, |i| i as f64)
                    })
                    .collect()
            }
        });
    }
    cols.push(outputs.prediction.clone());
    Matrix::from_columns(cols).map_err(internal)
}
