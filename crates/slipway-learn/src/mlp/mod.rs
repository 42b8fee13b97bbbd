//! Multilayer perceptron for tabular data: classifier (softmax cross-entropy, class
//! probabilities) and regressor (squared error on the internally standardized target).
//!
//! Training runs on [candle](https://github.com/huggingface/candle) (`candle-core`, CPU by
//! default): the forward pass builds a candle graph, `backward()` gives the gradients, and
//! Adam updates the weights in place. The fitted [`MlpModel`] stores plain `Vec<f32>` weights
//! with their shapes; prediction is a plain-Rust forward pass ([`network`]) that needs neither
//! candle nor an autodiff graph, and loading a bundle only parses numbers.
//!
//! Data flow: [`MlpParams`] (config) → [`MlpParams::check`] → [`Mlp`] → [`Estimator::fit`]
//! (`train.rs`) → [`MlpModel`] → [`Predictor::predict`].
//!
//! What matches scikit-learn's `MLPClassifier` / `MLPRegressor(solver="adam")`:
//! Glorot-uniform initialization of weights and biases, Adam with its bias-corrected step
//! size, the L2 penalty `alpha/2·‖W‖²` divided by the batch size (weights only), shuffled
//! mini-batches, the epoch loss, the convergence rule on the training loss
//! (`n_iter_no_change` epochs without improving by `tol`) and, with `early_stopping`, the
//! held-out `validation_fraction` (stratified for classification) scored by accuracy / R²,
//! stopping after `n_iter_no_change` epochs without a gain of `tol` and restoring the best
//! weights. Differences: two classes use two softmax outputs (scikit-learn uses one logistic
//! unit; the model family is the same), the regressor standardizes the target (scikit-learn
//! does not; the reference wraps it in `TransformedTargetRegressor(StandardScaler())`), and
//! the math is `f32`.
//!
//! Extras: per-layer dropout (inverted, training only), batch normalization (batch
//! statistics in training, running statistics with momentum 0.1 at prediction), class and
//! sample weights in the loss (`Σ sᵢ·lossᵢ / batch_size`).
//!
//! Determinism: initialization, shuffling, the validation split and dropout masks all come
//! from one ChaCha8 stream seeded by `seed`, so the same seed, data, machine and thread
//! count give bit-identical weights and predictions (checked by `tests/mlp.rs`, dropout and
//! batch norm on). Candle's matrix products run on `gemm` with `RAYON_NUM_THREADS` threads
//! (default: the cores); whether another thread count changes the rounding was not
//! verified, so pin `RAYON_NUM_THREADS` when weights must reproduce across machines.
//! Prediction is a per-row plain-Rust pass and does not depend on the thread count.
//!
//! Quality against scikit-learn 1.9.1 (`tests/mlp.rs`, means over 10 seeds, hidden
//! (64, 32), batch 32, 20 epochs, hold-out 25%): breast cancer accuracy 0.9811 vs 0.9839
//! and ROC AUC 0.9966 vs 0.9968; diabetes R² 0.4290 vs 0.4342.
//!
//! GPU: build with the `cuda` feature (forwards to `candle-core/cuda`, not a default) and
//! set `device: cuda`; without the feature that setting is an error naming `device`.
//!
//! Why candle: both candidates were built clean, alone, in a scratch project with
//! `cargo build --release`, `nice -n 19`, on this repository's 2-core machine while other
//! builds ran (load average ~4, so the figures are inflated and noisy):
//! `candle-core` 0.11.1 with default features off took 431 s wall; `burn` 0.22.1 with
//! `std, ndarray, autodiff` only took 843 s. candle-core still pulls `gemm`, `safetensors`,
//! `zip` and `tokenizers` unconditionally; `candle-nn` is not used (the loss, batch norm and
//! Adam are a few tensor expressions here). Burn's training speed was not measured.
//!
//! Training speed (`BENCH_ONLY=mlp bench/run.sh`, Adult, standardized numeric + one-hot text
//! columns, hidden (64, 32), 20 epochs, batch 256, 2 threads, both sides nice'd on the shared
//! 2-core machine): one run on 2026-11-27,
//! scikit-learn 84.5 s, Slipway 10.1 s (`mlp_fit_time_ratio: 0.120 x`), hold-out ROC AUC
//! 0.90772 (scikit-learn) vs 0.90698 (Slipway). The load average was 5.4 when the run
//! started and 13.9 when it ended (other helpers were building), so the ratio is a rough
//! figure; rerun `bench/mlp/run.sh` on a quiet machine before quoting it.

mod network;
mod train;

use serde::{Deserialize, Serialize};

pub use network::{BatchNormLayer, MlpLayer};

use crate::linear::ClassWeight;
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Task, TrainData,
    matrix::check_finite,
};

/// The hidden-layer nonlinearity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(0, z)`.
    #[default]
    Relu,
}

/// Where training runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MlpDevice {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// The first CUDA GPU; needs slipway-learn built with the `cuda` feature.
    Cuda,
}

/// Dropout probability: one for every hidden layer, or one per hidden layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Dropout {
    /// The same rate after every hidden layer.
    All(f64),
    /// One rate per hidden layer, in order.
    PerLayer(Vec<f64>),
}

impl Default for Dropout {
    fn default() -> Self {
        Dropout::All(0.0)
    }
}

/// Hyperparameters of [`Mlp`], as read from a config (`type: mlp`). Defaults follow
/// scikit-learn's `MLPClassifier` where it has the setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpParams {
    /// Units per hidden layer (default `[100]`); empty means no hidden layer.
    pub hidden_layer_sizes: Vec<usize>,
    /// Hidden-layer nonlinearity (default `relu`, the only one).
    pub activation: Activation,
    /// Dropout rate(s) in `[0, 1)` after each hidden layer (default 0).
    pub dropout: Dropout,
    /// Batch-normalize each hidden layer's pre-activations (default false).
    pub batch_norm: bool,
    /// Adam step size (default 0.001).
    pub learning_rate: f64,
    /// Adam first-moment decay (default 0.9).
    pub beta1: f64,
    /// Adam second-moment decay (default 0.999).
    pub beta2: f64,
    /// Adam denominator term (default 1e-8).
    pub epsilon: f64,
    /// L2 penalty on the weights, like scikit-learn's `alpha` (default 1e-4).
    pub alpha: f64,
    /// Rows per mini-batch (default 200; capped at the number of training rows).
    pub batch_size: usize,
    /// Most passes over the training rows (default 200, scikit-learn's `max_iter`).
    pub max_epochs: usize,
    /// Hold out `validation_fraction` of the rows and stop when their score stops
    /// improving, restoring the best weights (default false: stop on the training loss).
    pub early_stopping: bool,
    /// Share of rows held out with `early_stopping` (default 0.1).
    pub validation_fraction: f64,
    /// Epochs without an improvement of at least `tol` before stopping (default 10).
    pub n_iter_no_change: usize,
    /// Smallest improvement that counts (default 1e-4).
    pub tol: f64,
    /// Shuffle the rows every epoch (default true).
    pub shuffle: bool,
    /// Seed for initialization, shuffling, the validation split and dropout (default 0).
    pub seed: u64,
    /// Class weights in the loss (classification only; default none).
    pub class_weight: Option<ClassWeight>,
    /// `cpu` (default) or `cuda`.
    pub device: MlpDevice,
    /// Threads for the CPU matrix products (default: rayon's global pool). The model does
    /// not depend on it.
    pub n_threads: Option<usize>,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden_layer_sizes: vec![100],
            activation: Activation::Relu,
            dropout: Dropout::default(),
            batch_norm: false,
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            alpha: 1e-4,
            batch_size: 200,
            max_epochs: 200,
            early_stopping: false,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-4,
            shuffle: true,
            seed: 0,
            class_weight: None,
            device: MlpDevice::Cpu,
            n_threads: None,
        }
    }
}

fn finite_in(name: &str, v: f64, lo: f64, hi: f64, rule: &str) -> Result<()> {
    if v.is_finite() && v >= lo && v < hi {
        Ok(())
    } else {
        Err(Error::param(name, format!("{rule}, got {v}")))
    }
}

impl Params for MlpParams {
    type Checked = Mlp;

    fn check(&self) -> Result<Mlp> {
        if let Some(i) = self.hidden_layer_sizes.iter().position(|&h| h == 0) {
            return Err(Error::param(
                "hidden_layer_sizes",
                format!("layer {i} has 0 units; every layer needs at least 1"),
            ));
        }
        let dropout = self.dropout_rates()?;
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::param(
                "learning_rate",
                format!("must be finite and > 0, got {}", self.learning_rate),
            ));
        }
        finite_in("beta1", self.beta1, 0.0, 1.0, "must be in [0, 1)")?;
        finite_in("beta2", self.beta2, 0.0, 1.0, "must be in [0, 1)")?;
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(Error::param(
                "epsilon",
                format!("must be finite and > 0, got {}", self.epsilon),
            ));
        }
        finite_in(
            "alpha",
            self.alpha,
            0.0,
            f64::INFINITY,
            "must be finite and >= 0",
        )?;
        if self.batch_size == 0 {
            return Err(Error::param("batch_size", "must be at least 1, got 0"));
        }
        if self.max_epochs == 0 {
            return Err(Error::param("max_epochs", "must be at least 1, got 0"));
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return Err(Error::param(
                "validation_fraction",
                format!("must be in (0, 1), got {}", self.validation_fraction),
            ));
        }
        if self.n_iter_no_change == 0 {
            return Err(Error::param(
                "n_iter_no_change",
                "must be at least 1, got 0",
            ));
        }
        finite_in(
            "tol",
            self.tol,
            0.0,
            f64::INFINITY,
            "must be finite and >= 0",
        )?;
        if let Some(ClassWeight::PerClass(w)) = &self.class_weight {
            if w.is_empty() {
                return Err(Error::param("class_weight", "per-class list is empty"));
            }
            if let Some((i, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(Error::param(
                    "class_weight",
                    format!("weight of class {i} must be finite and >= 0, got {v}"),
                ));
            }
        }
        Ok(Mlp {
            params: self.clone(),
            dropout,
        })
    }
}

impl MlpParams {
    /// One dropout rate per hidden layer, each checked to lie in `[0, 1)`.
    fn dropout_rates(&self) -> Result<Vec<f64>> {
        let n = self.hidden_layer_sizes.len();
        let rates = match &self.dropout {
            Dropout::All(p) => vec![*p; n],
            Dropout::PerLayer(v) => {
                if v.len() != n {
                    return Err(Error::param(
                        "dropout",
                        format!(
                            "has {} rates for {n} hidden layers; give one rate or one per layer",
                            v.len()
                        ),
                    ));
                }
                v.clone()
            }
        };
        if let Dropout::All(p) = &self.dropout {
            finite_in("dropout", *p, 0.0, 1.0, "must be in [0, 1)")?;
        }
        for (i, p) in rates.iter().enumerate() {
            finite_in(
                "dropout",
                *p,
                0.0,
                1.0,
                &format!("rate of layer {i} must be in [0, 1)"),
            )?;
        }
        Ok(rates)
    }
}

/// Checked MLP hyperparameters; [`Estimator::fit`] returns an [`MlpModel`].
#[derive(Debug, Clone)]
pub struct Mlp {
    params: MlpParams,
    dropout: Vec<f64>,
}

impl Mlp {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &MlpParams {
        &self.params
    }
}

impl Estimator for Mlp {
    type Fitted = MlpModel;

    fn fit(&self, train: &TrainData<'_>, valid: Option<&TrainData<'_>>) -> Result<MlpModel> {
        train.check_shapes()?;
        check_finite(train.x, Some(train.features), "mlp")?;
        if let Some(w) = train.weights {
            if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::InvalidData(format!(
                    "sample weight at row {i} is {}; weights must be finite and >= 0",
                    w[i]
                )));
            }
        }
        if let Some(v) = valid {
            v.check_shapes()?;
            check_finite(v.x, Some(v.features), "mlp")?;
        }
        train::fit(self, train, valid)
    }
}

/// A fitted multilayer perceptron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpModel {
    /// The task it was fitted for.
    pub task: Task,
    /// Input features per row.
    pub n_features: usize,
    /// Hidden layers, then the output layer (one unit per class, or one for regression).
    pub layers: Vec<MlpLayer>,
    /// Regression: the training target's mean (predictions are `mean + std · output`).
    pub target_mean: f64,
    /// Regression: the training target's standard deviation.
    pub target_std: f64,
    /// Epochs run (scikit-learn's `n_iter_`).
    pub n_epochs: usize,
    /// Epoch (1-based) whose weights were kept: the best validation score with early
    /// stopping, else the last.
    pub best_epoch: usize,
    /// Mean training loss per epoch (scikit-learn's `loss_curve_`).
    pub loss_curve: Vec<f64>,
    /// Validation score (accuracy or R²) per epoch with early stopping, else empty.
    pub validation_scores: Vec<f64>,
}

impl MlpModel {
    /// The raw network outputs for `x` (logits, or standardized values), row-major.
    fn outputs(&self, x: &Matrix) -> Result<Vec<f32>> {
        if x.n_cols() != self.n_features {
            return Err(Error::InvalidData(format!(
                "mlp was fitted on {} features, got {}",
                self.n_features,
                x.n_cols()
            )));
        }
        let mut n_in = self.n_features;
        for (i, l) in self.layers.iter().enumerate() {
            l.check(i)?;
            if l.n_in != n_in {
                return Err(Error::InvalidData(format!(
                    "mlp layer {i} takes {} inputs but the previous layer gives {n_in}",
                    l.n_in
                )));
            }
            n_in = l.n_out;
        }
        if n_in != self.task.n_outputs() {
            return Err(Error::InvalidData(format!(
                "mlp output layer has {n_in} units; the task needs {}",
                self.task.n_outputs()
            )));
        }
        let rows = train::row_major_f32(x);
        Ok(network::forward(&self.layers, &rows, self.n_features))
    }
}

impl Predictor for MlpModel {
    fn task(&self) -> Task {
        self.task
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        let out = self.outputs(x)?;
        if self.task.is_classification() {
            let k = self.task.n_outputs();
            let p = network::softmax_rows(&out, k);
            return Ok(Prediction::Probabilities(Matrix::from_row_major(
                x.n_rows(),
                k,
                &p,
            )?));
        }
        Ok(Prediction::Values(
            out.iter()
                .map(|&z| self.target_mean + self.target_std * z as f64)
                .collect(),
        ))
    }
}
