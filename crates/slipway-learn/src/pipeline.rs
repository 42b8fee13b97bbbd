//! [`FittedPipeline`]: the schema, the fitted preprocessing and the fitted model as one
//! value — what a bundle stores and what serving runs.
//!
//! [`ModelSpec`] names a model family with its (unchecked) hyperparameters, as a config
//! holds it; [`ModelSpec::fit`] checks them and fits a [`FittedModel`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Schema, Table};

use crate::calibration::Calibration;
use crate::gbdt::{GbdtModel, GbdtParams};
use crate::import::onnx::OnnxModel;
use crate::import::{ImportedModel, ImportedSpec};
use crate::linear::{
    ElasticNetModel, ElasticNetParams, LassoParams, LinearRegressionModel, LinearRegressionParams,
    LogisticRegressionModel, LogisticRegressionParams,
};
use crate::mixture::{MixtureComponent, MixtureModel};
use crate::mlp::{MlpModel, MlpParams};
use crate::naive_bayes::{GaussianNbModel, GaussianNbParams};
use crate::neighbors::{KNeighborsModel, KNeighborsParams};
use crate::online::model::{OnlineModel, OnlineParams};
use crate::preprocess::{FittedPreprocessor, PreprocessSpec};
use crate::svm::{SvmModel, SvmParams};
use crate::tree::{
    DecisionTreeModel, DecisionTreeParams, ExtraTreesParams, ForestModel, RandomForestParams,
};
use crate::{
    Error, Estimator, FeatureMeta, Matrix, Params, Prediction, Predictor, Result, Target, Task,
    TrainData,
};

/// A model family with its hyperparameters, as written in a pipeline config
/// (`type: gbdt`, `params: {...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "params", rename_all = "snake_case")]
pub enum ModelSpec {
    /// Histogram gradient boosting.
    Gbdt(GbdtParams),
    /// L2-regularized logistic regression (binary or multinomial).
    LogisticRegression(LogisticRegressionParams),
    /// Ordinary least squares or ridge regression.
    LinearRegression(LinearRegressionParams),
    /// Elastic net regression (L1 + L2).
    ElasticNet(ElasticNetParams),
    /// Lasso regression (L1).
    Lasso(LassoParams),
    /// k-nearest neighbours (classification or regression).
    KNeighbors(KNeighborsParams),
    /// Gaussian naive Bayes (classification).
    GaussianNb(GaussianNbParams),
    /// Multilayer perceptron (classification or regression).
    Mlp(MlpParams),
    /// Support vector machine: C-SVC with Platt probabilities, or ε-SVR.
    Svm(SvmParams),
    /// One CART decision tree (classification or regression).
    DecisionTree(DecisionTreeParams),
    /// Random forest (classification or regression).
    RandomForest(RandomForestParams),
    /// Extremely randomized trees (classification or regression).
    ExtraTrees(ExtraTreesParams),
    /// A model trained by another library and imported (`slipway models import`); it names
    /// where the model came from and cannot be trained.
    Imported(ImportedSpec),
    /// An online learner (`learner: hoeffding_tree | arf | logistic`) that learns the
    /// training rows once, in file order, and can go on learning while served.
    Online(OnlineParams),
}

impl ModelSpec {
    /// The family name used in configs.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelSpec::Gbdt(_) => "gbdt",
            ModelSpec::LogisticRegression(_) => "logistic_regression",
            ModelSpec::LinearRegression(_) => "linear_regression",
            ModelSpec::ElasticNet(_) => "elastic_net",
            ModelSpec::Lasso(_) => "lasso",
            ModelSpec::KNeighbors(_) => "k_neighbors",
            ModelSpec::GaussianNb(_) => "gaussian_nb",
            ModelSpec::Mlp(_) => "mlp",
            ModelSpec::Svm(_) => "svm",
            ModelSpec::DecisionTree(_) => "decision_tree",
            ModelSpec::RandomForest(_) => "random_forest",
            ModelSpec::ExtraTrees(_) => "extra_trees",
            ModelSpec::Imported(_) => "imported",
            ModelSpec::Online(_) => "online",
        }
    }

    /// The name of this family's seed parameter: `random_state` for the tree families (as in
    /// scikit-learn), `seed` for the others. Every family has one; deterministic families
    /// accept it and do not use it.
    pub fn seed_param(&self) -> &'static str {
        match self {
            ModelSpec::DecisionTree(_) | ModelSpec::RandomForest(_) | ModelSpec::ExtraTrees(_) => {
                "random_state"
            }
            _ => "seed",
        }
    }

    /// The name of this family's thread-count parameter: `n_jobs` for the tree families (as
    /// in scikit-learn), `n_threads` for the others. Every family has one.
    pub fn threads_param(&self) -> &'static str {
        match self {
            ModelSpec::DecisionTree(_) | ModelSpec::RandomForest(_) | ModelSpec::ExtraTrees(_) => {
                "n_jobs"
            }
            _ => "n_threads",
        }
    }

    /// The seed parameter's value.
    pub fn seed(&self) -> u64 {
        match self {
            ModelSpec::Gbdt(p) => p.seed,
            ModelSpec::LogisticRegression(p) => p.seed,
            ModelSpec::LinearRegression(p) => p.seed,
            ModelSpec::ElasticNet(p) => p.seed,
            ModelSpec::Lasso(p) => p.seed,
            ModelSpec::KNeighbors(p) => p.seed,
            ModelSpec::GaussianNb(p) => p.seed,
            ModelSpec::Mlp(p) => p.seed,
            ModelSpec::Svm(p) => p.seed,
            ModelSpec::Online(p) => p.seed,
            ModelSpec::DecisionTree(p) => p.random_state,
            ModelSpec::RandomForest(p) => p.0.random_state,
            ModelSpec::ExtraTrees(p) => p.0.random_state,
            ModelSpec::Imported(_) => 0,
        }
    }

    /// Sets the seed parameter (see [`ModelSpec::seed_param`]).
    pub fn set_seed(&mut self, seed: u64) {
        match self {
            ModelSpec::Gbdt(p) => p.seed = seed,
            ModelSpec::LogisticRegression(p) => p.seed = seed,
            ModelSpec::LinearRegression(p) => p.seed = seed,
            ModelSpec::ElasticNet(p) => p.seed = seed,
            ModelSpec::Lasso(p) => p.seed = seed,
            ModelSpec::KNeighbors(p) => p.seed = seed,
            ModelSpec::GaussianNb(p) => p.seed = seed,
            ModelSpec::Mlp(p) => p.seed = seed,
            ModelSpec::Svm(p) => p.seed = seed,
            ModelSpec::Online(p) => p.seed = seed,
            ModelSpec::DecisionTree(p) => p.random_state = seed,
            ModelSpec::RandomForest(p) => p.0.random_state = seed,
            ModelSpec::ExtraTrees(p) => p.0.random_state = seed,
            ModelSpec::Imported(_) => {}
        }
    }

    /// The thread-count parameter's value (`None`: the family's default pool).
    pub fn threads(&self) -> Option<usize> {
        match self {
            ModelSpec::Gbdt(p) => p.n_threads,
            ModelSpec::LogisticRegression(p) => p.n_threads,
            ModelSpec::LinearRegression(p) => p.n_threads,
            ModelSpec::ElasticNet(p) => p.n_threads,
            ModelSpec::Lasso(p) => p.n_threads,
            ModelSpec::KNeighbors(p) => p.n_threads,
            ModelSpec::GaussianNb(p) => p.n_threads,
            ModelSpec::Mlp(p) => p.n_threads,
            ModelSpec::Svm(p) => p.n_threads,
            ModelSpec::Online(p) => p.n_threads,
            ModelSpec::DecisionTree(p) => p.n_jobs,
            ModelSpec::RandomForest(p) => p.0.n_jobs,
            ModelSpec::ExtraTrees(p) => p.0.n_jobs,
            ModelSpec::Imported(_) => None,
        }
    }

    /// Sets the thread-count parameter (see [`ModelSpec::threads_param`]). No family's fitted
    /// model depends on it.
    pub fn set_threads(&mut self, threads: Option<usize>) {
        match self {
            ModelSpec::Gbdt(p) => p.n_threads = threads,
            ModelSpec::LogisticRegression(p) => p.n_threads = threads,
            ModelSpec::LinearRegression(p) => p.n_threads = threads,
            ModelSpec::ElasticNet(p) => p.n_threads = threads,
            ModelSpec::Lasso(p) => p.n_threads = threads,
            ModelSpec::KNeighbors(p) => p.n_threads = threads,
            ModelSpec::GaussianNb(p) => p.n_threads = threads,
            ModelSpec::Mlp(p) => p.n_threads = threads,
            ModelSpec::Svm(p) => p.n_threads = threads,
            ModelSpec::Online(p) => p.n_threads = threads,
            ModelSpec::DecisionTree(p) => p.n_jobs = threads,
            ModelSpec::RandomForest(p) => p.0.n_jobs = threads,
            ModelSpec::ExtraTrees(p) => p.0.n_jobs = threads,
            ModelSpec::Imported(_) => {}
        }
    }

    /// The preprocessing this family needs when the config does not say otherwise.
    pub fn default_preprocess(&self) -> PreprocessSpec {
        match self {
            ModelSpec::Gbdt(_) | ModelSpec::Imported(_) => PreprocessSpec::for_trees(),
            // Measured in bench/forest_encoding: target encoding beats native category sets,
            // ordinal codes and one-hot for the bagged trees on Adult and on 300-level data.
            ModelSpec::DecisionTree(_) | ModelSpec::RandomForest(_) | ModelSpec::ExtraTrees(_) => {
                PreprocessSpec::for_forests()
            }
            // Unpenalized linear models: a full one-hot plus the intercept is collinear
            // (least squares has no unique solution), so one level per categorical is left
            // out, as scikit-learn's OneHotEncoder(drop="first").
            ModelSpec::LinearRegression(p) if p.alpha == 0.0 && p.fit_intercept => PreprocessSpec {
                drop_first: true,
                ..PreprocessSpec::for_linear()
            },
            ModelSpec::LogisticRegression(p)
                if p.penalty == crate::linear::Penalty::None && p.fit_intercept =>
            {
                PreprocessSpec {
                    drop_first: true,
                    ..PreprocessSpec::for_linear()
                }
            }
            ModelSpec::LogisticRegression(_)
            | ModelSpec::LinearRegression(_)
            | ModelSpec::ElasticNet(_)
            | ModelSpec::Lasso(_)
            | ModelSpec::KNeighbors(_)
            | ModelSpec::GaussianNb(_)
            | ModelSpec::Mlp(_)
            | ModelSpec::Svm(_) => PreprocessSpec::for_linear(),
            // Online learners need every value: impute, one-hot, standardize.
            ModelSpec::Online(_) => PreprocessSpec::for_linear(),
        }
    }

    /// Checks that this family can solve `task` and that every hyperparameter is valid.
    pub fn check(&self, task: Task) -> Result<()> {
        if let ModelSpec::Imported(s) = self {
            return Err(Error::param(
                "type",
                format!(
                    "imported models ({} from {}) come from `slipway models import` and cannot be trained",
                    s.library, s.file
                ),
            ));
        }
        let fits = match self {
            ModelSpec::Gbdt(_)
            | ModelSpec::KNeighbors(_)
            | ModelSpec::Mlp(_)
            | ModelSpec::Svm(_) => true,
            ModelSpec::DecisionTree(_) | ModelSpec::RandomForest(_) | ModelSpec::ExtraTrees(_) => {
                true
            }
            ModelSpec::LogisticRegression(_) | ModelSpec::GaussianNb(_) | ModelSpec::Online(_) => {
                task.is_classification()
            }
            ModelSpec::LinearRegression(_) | ModelSpec::ElasticNet(_) | ModelSpec::Lasso(_) => {
                !task.is_classification()
            }
            ModelSpec::Imported(_) => false,
        };
        if !fits {
            let what = if task.is_classification() {
                "classification"
            } else {
                "regression"
            };
            return Err(Error::param(
                "type",
                format!("{} cannot be used for {what}", self.kind()),
            ));
        }
        if self.threads() == Some(0) {
            return Err(Error::param(
                self.threads_param(),
                "must be at least 1, got 0",
            ));
        }
        match self {
            ModelSpec::Gbdt(p) => p.check().map(drop),
            ModelSpec::LogisticRegression(p) => p.check().map(drop),
            ModelSpec::LinearRegression(p) => p.check().map(drop),
            ModelSpec::ElasticNet(p) => p.check().map(drop),
            ModelSpec::Lasso(p) => p.check().map(drop),
            ModelSpec::KNeighbors(p) => p.check().map(drop),
            ModelSpec::GaussianNb(p) => p.check().map(drop),
            ModelSpec::Mlp(p) => p.check().map(drop),
            ModelSpec::Svm(p) => p.check().map(drop),
            ModelSpec::Online(p) => p.check().map(drop),
            ModelSpec::DecisionTree(p) => p.check().map(drop),
            ModelSpec::RandomForest(p) => p.check().map(drop),
            ModelSpec::ExtraTrees(p) => p.check().map(drop),
            ModelSpec::Imported(_) => Ok(()),
        }
    }

    /// Checks the hyperparameters and fits, on a pool of [`ModelSpec::threads`] threads
    /// when it is set (families that start their own pools size them the same way).
    pub fn fit(&self, train: &TrainData<'_>, valid: Option<&TrainData<'_>>) -> Result<FittedModel> {
        self.check(train.y.task())?;
        crate::linear::with_threads(self.threads(), || self.fit_checked(train, valid))?
    }

    fn fit_checked(
        &self,
        train: &TrainData<'_>,
        valid: Option<&TrainData<'_>>,
    ) -> Result<FittedModel> {
        Ok(match self {
            ModelSpec::Gbdt(p) => FittedModel::Gbdt(p.check()?.fit(train, valid)?),
            ModelSpec::LogisticRegression(p) => {
                FittedModel::LogisticRegression(p.check()?.fit(train, valid)?)
            }
            ModelSpec::LinearRegression(p) => {
                FittedModel::LinearRegression(p.check()?.fit(train, valid)?)
            }
            ModelSpec::ElasticNet(p) => FittedModel::ElasticNet(p.check()?.fit(train, valid)?),
            ModelSpec::Lasso(p) => FittedModel::ElasticNet(p.check()?.fit(train, valid)?),
            ModelSpec::KNeighbors(p) => FittedModel::KNeighbors(p.check()?.fit(train, valid)?),
            ModelSpec::GaussianNb(p) => FittedModel::GaussianNb(p.check()?.fit(train, valid)?),
            ModelSpec::Mlp(p) => FittedModel::Mlp(p.check()?.fit(train, valid)?),
            ModelSpec::Svm(p) => FittedModel::Svm(p.check()?.fit(train, valid)?),
            ModelSpec::Online(p) => FittedModel::Online(p.check()?.fit(train, valid)?),
            ModelSpec::DecisionTree(p) => FittedModel::DecisionTree(p.check()?.fit(train, valid)?),
            ModelSpec::RandomForest(p) => FittedModel::RandomForest(p.check()?.fit(train, valid)?),
            ModelSpec::ExtraTrees(p) => FittedModel::ExtraTrees(p.check()?.fit(train, valid)?),
            ModelSpec::Imported(_) => {
                return Err(Error::Internal(
                    "an imported model reached fitting past ModelSpec::check".into(),
                ));
            }
        })
    }
}

/// A fitted model of any family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "model", rename_all = "snake_case")]
pub enum FittedModel {
    /// Histogram gradient boosting.
    Gbdt(GbdtModel),
    /// Logistic regression.
    LogisticRegression(LogisticRegressionModel),
    /// Linear or ridge regression.
    LinearRegression(LinearRegressionModel),
    /// Elastic net or lasso regression.
    ElasticNet(ElasticNetModel),
    /// k-nearest neighbours (stores its training rows).
    KNeighbors(KNeighborsModel),
    /// Gaussian naive Bayes.
    GaussianNb(GaussianNbModel),
    /// Multilayer perceptron.
    Mlp(MlpModel),
    /// Support vector machine (stores its support vectors).
    Svm(SvmModel),
    /// One decision tree.
    DecisionTree(DecisionTreeModel),
    /// Random forest.
    RandomForest(ForestModel),
    /// Extremely randomized trees.
    ExtraTrees(ForestModel),
    /// A model trained by LightGBM or XGBoost, evaluated as that library does.
    Imported(ImportedModel),
    /// An imported ONNX model, evaluated by tract (the `onnx` feature).
    Onnx(OnnxModel),
    /// A randomized mixture of binary models (fairness mitigation by exponentiated
    /// gradient); its probabilities are the mixture's, its labels drawn per row.
    Mixture(MixtureModel),
    /// An online classifier with its whole learning state (it can go on learning).
    Online(OnlineModel),
}

impl FittedModel {
    fn inner(&self) -> &dyn Predictor {
        match self {
            FittedModel::Gbdt(m) => m,
            FittedModel::LogisticRegression(m) => m,
            FittedModel::LinearRegression(m) => m,
            FittedModel::ElasticNet(m) => m,
            FittedModel::KNeighbors(m) => m,
            FittedModel::GaussianNb(m) => m,
            FittedModel::Mlp(m) => m,
            FittedModel::Svm(m) => m,
            FittedModel::DecisionTree(m) => m,
            FittedModel::RandomForest(m) | FittedModel::ExtraTrees(m) => m,
            FittedModel::Imported(m) => m,
            FittedModel::Onnx(m) => m,
            FittedModel::Mixture(m) => m,
            FittedModel::Online(m) => m,
        }
    }

    /// Makes the model ready to predict: an ONNX model builds its tract plan (without the
    /// `onnx` feature, [`Error::NotCompiled`]); every other family is ready as loaded.
    pub fn prepare(&self) -> Result<()> {
        match self {
            FittedModel::Onnx(m) => m.prepare(),
            FittedModel::Mixture(m) => {
                m.check()?;
                m.components.iter().try_for_each(|c| match c {
                    MixtureComponent::Model { model } => model.prepare(),
                    MixtureComponent::Constant { .. } => Ok(()),
                })
            }
            _ => Ok(()),
        }
    }
}

impl Predictor for FittedModel {
    fn task(&self) -> Task {
        self.inner().task()
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        self.inner().predict(x)
    }

    fn feature_importance(&self) -> Option<Vec<f64>> {
        self.inner().feature_importance()
    }
}

/// The target column and, for classification, its classes in code order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// The target column.
    pub name: String,
    /// The problem type.
    pub task: Task,
    /// Class labels as text, index = class code (empty for regression).
    pub classes: Vec<String>,
}

/// How the task is chosen when the config does not name one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskHint {
    /// Float targets are regression; integer, boolean and categorical targets with at most
    /// 50 distinct values are classification.
    #[default]
    Auto,
    /// Classification (binary or multiclass by the number of classes).
    Classification,
    /// Regression.
    Regression,
    /// Clustering: no target (the engine's `cluster` job; [`TargetInfo::fit`] refuses it).
    Clustering,
}

/// Most distinct values an integer target may have to count as classes under
/// [`TaskHint::Auto`].
pub const MAX_AUTO_CLASSES: usize = 50;

impl TargetInfo {
    /// Learns the task and classes from the target column of `table`. Every row must have a
    /// target; the error names the first rows that do not.
    pub fn fit(table: &Table, name: &str, hint: TaskHint) -> Result<(TargetInfo, Target)> {
        let field = table.schema().require(name)?;
        let texts = target_texts(table, name)?;
        let missing: Vec<usize> = texts
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_none())
            .map(|(i, _)| i + 1)
            .collect();
        if !missing.is_empty() {
            let first: Vec<String> = missing.iter().take(5).map(|r| r.to_string()).collect();
            return Err(Error::InvalidData(format!(
                "target column \"{name}\" is missing in {} rows (rows {}); drop or label them",
                missing.len(),
                first.join(", ")
            )));
        }
        let classification = match hint {
            TaskHint::Classification => true,
            TaskHint::Regression => false,
            TaskHint::Clustering => {
                return Err(Error::InvalidData(format!(
                    "task clustering has no target, but target \"{name}\" was given"
                )));
            }
            TaskHint::Auto => match field.dtype {
                DataType::Float | DataType::Datetime => false,
                DataType::Boolean | DataType::Categorical | DataType::Text => true,
                DataType::Integer => {
                    let distinct: std::collections::HashSet<&str> =
                        texts.iter().flatten().map(String::as_str).collect();
                    distinct.len() <= MAX_AUTO_CLASSES
                }
            },
        };
        if !classification {
            if !field.dtype.is_numeric() {
                return Err(Error::InvalidData(format!(
                    "target column \"{name}\" is {}; regression needs numbers",
                    field.dtype
                )));
            }
            let info = TargetInfo {
                name: name.to_string(),
                task: Task::Regression,
                classes: Vec::new(),
            };
            let y = info.encode(table)?;
            return Ok((info, y));
        }
        let mut classes: Vec<String> = texts
            .iter()
            .flatten()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if field.dtype == DataType::Integer {
            classes.sort_by_key(|c| c.parse::<i64>().unwrap_or(i64::MAX));
        }
        if classes.len() < 2 {
            return Err(Error::InvalidData(format!(
                "target column \"{name}\" has only one class ({}); classification needs at least two",
                classes.first().map_or("none", String::as_str)
            )));
        }
        let task = if classes.len() == 2 {
            Task::Binary
        } else {
            Task::Multiclass {
                n_classes: classes.len(),
            }
        };
        let info = TargetInfo {
            name: name.to_string(),
            task,
            classes,
        };
        let y = info.encode(table)?;
        Ok((info, y))
    }

    /// The labels of `table` as codes; a class not seen in training is an error naming the
    /// row and the value.
    pub fn encode(&self, table: &Table) -> Result<Target> {
        if self.task == Task::Regression {
            let v = table.numeric_values(&self.name)?;
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "target column \"{}\" is missing or not finite at row {}",
                    self.name,
                    i + 1
                )));
            }
            return Ok(Target::Real(v));
        }
        let index: HashMap<&str, u32> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect();
        let texts = target_texts(table, &self.name)?;
        let mut labels = Vec::with_capacity(texts.len());
        for (row, t) in texts.iter().enumerate() {
            let t = t.as_deref().ok_or_else(|| {
                Error::InvalidData(format!(
                    "target column \"{}\" is missing at row {}",
                    self.name,
                    row + 1
                ))
            })?;
            let code = index.get(t).ok_or_else(|| {
                Error::InvalidData(format!(
                    "target column \"{}\": class \"{t}\" at row {} was not in the training data (classes: {})",
                    self.name,
                    row + 1,
                    self.classes.join(", ")
                ))
            })?;
            labels.push(*code);
        }
        Ok(Target::Classes {
            labels,
            n_classes: self.classes.len(),
        })
    }
}

fn target_texts(table: &Table, name: &str) -> Result<Vec<Option<String>>> {
    let n = table.n_rows();
    let field = table.schema().require(name)?;
    if field.dtype == DataType::Float {
        // Render floats through f64 so "1" and "1.0" are one class.
        return Ok(table
            .numeric_values(name)?
            .into_iter()
            .map(|v| (!v.is_nan()).then(|| v.to_string()))
            .collect());
    }
    (0..n)
        .map(|r| table.display_value(name, r).map_err(Error::from))
        .collect()
}

/// The type a model input of training type `trained` is read as at predict time. A column
/// inferred as integer in training accepts any number (`12.5` in production data is not an
/// error; the model sees numbers either way); one the training config `declared` integer is
/// held to it.
pub fn accepted_type(trained: DataType, declared: Option<DataType>) -> DataType {
    match (trained, declared) {
        (DataType::Integer, Some(DataType::Integer)) => DataType::Integer,
        (DataType::Integer, _) => DataType::Float,
        (t, _) => t,
    }
}

/// Everything needed to go from raw rows to predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    /// The schema of the training data (types and roles of every column).
    pub schema: Schema,
    /// The target and its classes.
    pub target: TargetInfo,
    /// The family and hyperparameters the model was fitted with.
    pub spec: ModelSpec,
    /// Fitted preprocessing.
    pub preprocessor: FittedPreprocessor,
    /// The fitted model.
    pub model: FittedModel,
    /// Probability calibration applied to the model's output (absent in older bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Binary tasks: predict the positive class when its probability is at least this
    /// (absent: the most probable class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_threshold: Option<f64>,
    /// Input columns whose type the training config declared (`data.types`, or a `type`
    /// rule under `validation.columns`); see [`FittedPipeline::input_schema`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub declared_types: BTreeMap<String, DataType>,
}

impl FittedPipeline {
    /// Fits preprocessing and the model on `rows` of `table`.
    pub fn fit(
        table: &Table,
        rows: &[usize],
        target: &TargetInfo,
        y: &Target,
        spec: &ModelSpec,
        preprocess: &PreprocessSpec,
    ) -> Result<FittedPipeline> {
        FittedPipeline::fit_weighted(table, rows, target, y, spec, preprocess, None)
    }

    /// [`FittedPipeline::fit`] with optional sample weights, one per row of `table` (the
    /// weights of `rows` are used).
    pub fn fit_weighted(
        table: &Table,
        rows: &[usize],
        target: &TargetInfo,
        y: &Target,
        spec: &ModelSpec,
        preprocess: &PreprocessSpec,
        weights: Option<&[f64]>,
    ) -> Result<FittedPipeline> {
        // The training matrix comes from fit_transform: target-encoded columns are
        // out-of-fold there, so the model never sees a row's own label.
        if let Some(w) = weights.filter(|w| w.len() != table.n_rows()) {
            return Err(Error::InvalidData(format!(
                "{} sample weights for {} rows",
                w.len(),
                table.n_rows()
            )));
        }
        let (preprocessor, x) = preprocess.fit_transform(table, rows, Some(y))?;
        let features = preprocessor.features();
        let y_train = y.take(rows);
        let w: Option<Vec<f64>> = weights.map(|w| rows.iter().map(|&r| w[r]).collect());
        let data = TrainData {
            x: &x,
            y: &y_train,
            features: &features,
            weights: w.as_deref(),
        };
        let model = spec.fit(&data, None)?;
        Ok(FittedPipeline {
            schema: table.schema().clone(),
            target: target.clone(),
            spec: spec.clone(),
            preprocessor,
            model,
            calibration: None,
            decision_threshold: None,
            declared_types: BTreeMap::new(),
        })
    }

    /// Output features after preprocessing.
    pub fn features(&self) -> Vec<FeatureMeta> {
        self.preprocessor.features()
    }

    /// Predicts for every row of `table` (calibrated probabilities when the pipeline has a
    /// calibration).
    pub fn predict(&self, table: &Table) -> Result<Prediction> {
        let pred = self.predict_uncalibrated(table)?;
        match (&self.calibration, pred) {
            (Some(c), Prediction::Probabilities(p)) => Ok(Prediction::Probabilities(c.apply(&p)?)),
            (_, pred) => Ok(pred),
        }
    }

    /// The model's own output, before any calibration.
    pub fn predict_uncalibrated(&self, table: &Table) -> Result<Prediction> {
        let x = self.preprocessor.transform(table)?;
        self.model.predict(&x)
    }

    /// Class codes for a probability prediction: the tuned decision threshold for binary
    /// tasks when there is one, otherwise the most probable class (first on ties).
    pub fn predicted_codes(&self, proba: &Matrix) -> Vec<u32> {
        if let (Some(t), 2) = (self.decision_threshold, proba.n_cols()) {
            return proba.col(1).iter().map(|&p| u32::from(p >= t)).collect();
        }
        (0..proba.n_rows())
            .map(|i| {
                let mut best = 0;
                for k in 1..proba.n_cols() {
                    if proba.get(i, k) > proba.get(i, best) {
                        best = k;
                    }
                }
                best as u32
            })
            .collect()
    }

    /// The columns a caller must send, in the model's order, each with the type `predict`
    /// reads it as: the one source of what `predict` enforces, the manifest's `inputs` and
    /// the `MLmodel` signature. See [`accepted_type`].
    pub fn input_schema(&self) -> Vec<(String, DataType)> {
        self.preprocessor
            .columns
            .iter()
            .map(|c| {
                let declared = self.declared_types.get(&c.name).copied();
                (c.name.clone(), accepted_type(c.dtype, declared))
            })
            .collect()
    }

    /// The input columns with the types they had in training.
    pub fn input_columns(&self) -> BTreeMap<String, DataType> {
        self.preprocessor
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.dtype))
            .collect()
    }

    /// The class codes of `table`'s rows given `proba`, this pipeline's prediction of them:
    /// a fairness mixture draws each row's label ([`MixtureModel::draw`], from the row's
    /// features); every other model answers [`FittedPipeline::predicted_codes`].
    pub fn codes_for(&self, table: &Table, proba: &Matrix) -> Result<Vec<u32>> {
        match &self.model {
            FittedModel::Mixture(m) => {
                let x = self.preprocessor.transform(table)?;
                Ok(m.draw(&x, proba.col(1)))
            }
            _ => Ok(self.predicted_codes(proba)),
        }
    }

    /// Class labels of `table`'s rows for `pred`, this pipeline's prediction of them (see
    /// [`FittedPipeline::codes_for`]); regression values as text.
    pub fn labels_for(&self, table: &Table, pred: &Prediction) -> Result<Vec<String>> {
        match pred {
            Prediction::Probabilities(p) => Ok(self
                .codes_for(table, p)?
                .into_iter()
                .map(|c| self.target.classes[c as usize].clone())
                .collect()),
            Prediction::Values(_) => Ok(self.predicted_labels(pred)),
        }
    }

    /// Class labels for a probability prediction ([`FittedPipeline::predicted_codes`]).
    pub fn predicted_labels(&self, pred: &Prediction) -> Vec<String> {
        match pred {
            Prediction::Values(v) => v.iter().map(|x| x.to_string()).collect(),
            Prediction::Probabilities(p) => self
                .predicted_codes(p)
                .into_iter()
                .map(|c| self.target.classes[c as usize].clone())
                .collect(),
        }
    }
}
