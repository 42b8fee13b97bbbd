//! Training on candle: the network as candle variables, the loss, backpropagation by
//! candle's autodiff, Adam, and the epoch loop with its stopping rules.

use candle_core::{DType, Device, Tensor, Var};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::network::{self, BatchNormLayer, MlpLayer};
use super::{Mlp, MlpDevice, MlpModel};
use crate::linear::ClassWeight;
use crate::metrics::{accuracy, r2};
use crate::split::train_test_split;
use crate::{Error, Matrix, Result, Target, TrainData};

/// Batch-norm running-statistics momentum (PyTorch's default).
const BN_MOMENTUM: f32 = 0.1;
/// Batch-norm variance offset.
const BN_EPS: f32 = 1e-5;

fn ce(e: candle_core::Error) -> Error {
    Error::Internal(format!("mlp (candle): {e}"))
}

/// `x` as row-major `f32`.
pub(crate) fn row_major_f32(x: &Matrix) -> Vec<f32> {
    let (n, d) = (x.n_rows(), x.n_cols());
    let mut out = vec![0.0f32; n * d];
    for j in 0..d {
        for (i, &v) in x.col(j).iter().enumerate() {
            out[i * d + j] = v as f32;
        }
    }
    out
}

/// The training labels in the form the loss needs.
#[derive(Debug, Clone)]
pub(crate) enum Labels {
    /// Class codes and the number of classes.
    Classes(Vec<u32>, usize),
    /// Standardized real targets.
    Real(Vec<f32>),
}

/// Batch-normalization parameters and running statistics of one hidden layer.
pub(crate) struct BnVars {
    gamma: Var,
    beta: Var,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
}

/// The network as candle variables.
pub(crate) struct Net {
    weights: Vec<Var>,
    biases: Vec<Var>,
    bn: Vec<Option<BnVars>>,
    dropout: Vec<f64>,
    sizes: Vec<usize>,
    device: Device,
}

impl Net {
    /// Glorot-uniform weights and biases (scikit-learn's `_init_coef` for ReLU), batch norm
    /// at `gamma = 1, beta = 0`.
    pub(crate) fn init(
        sizes: &[usize],
        batch_norm: bool,
        dropout: &[f64],
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Net> {
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        let mut bn = Vec::new();
        for (l, pair) in sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let bound = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
            let w: Vec<f32> = (0..fan_in * fan_out)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            let b: Vec<f32> = (0..fan_out)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            weights.push(Var::from_vec(w, (fan_in, fan_out), device).map_err(ce)?);
            biases.push(Var::from_vec(b, fan_out, device).map_err(ce)?);
            let hidden = l + 2 < sizes.len();
            bn.push(if batch_norm && hidden {
                Some(BnVars {
                    gamma: Var::ones(fan_out, DType::F32, device).map_err(ce)?,
                    beta: Var::zeros(fan_out, DType::F32, device).map_err(ce)?,
                    running_mean: vec![0.0; fan_out],
                    running_var: vec![1.0; fan_out],
                })
            } else {
                None
            });
        }
        Ok(Net {
            weights,
            biases,
            bn,
            dropout: dropout.to_vec(),
            sizes: sizes.to_vec(),
            device: device.clone(),
        })
    }

    /// Every trainable variable, in a fixed order.
    fn vars(&self) -> Vec<&Var> {
        let mut v: Vec<&Var> = Vec::new();
        for (l, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            v.push(w);
            v.push(b);
            if let Some(bn) = &self.bn[l] {
                v.push(&bn.gamma);
                v.push(&bn.beta);
            }
        }
        v
    }

    /// The training-mode forward pass on a batch: batch statistics for batch norm (the
    /// running statistics are updated when `update_running` is set) and dropout masks drawn
    /// from `rng` when given. Returns the outputs, `batch × n_out`.
    pub(crate) fn forward_train(
        &mut self,
        x: &Tensor,
        mut rng: Option<&mut ChaCha8Rng>,
        update_running: bool,
    ) -> Result<Tensor> {
        let n_layers = self.weights.len();
        let bs = x.dims()[0];
        let mut h = x.clone();
        for l in 0..n_layers {
            let mut z = h
                .matmul(self.weights[l].as_tensor())
                .and_then(|z| z.broadcast_add(self.biases[l].as_tensor()))
                .map_err(ce)?;
            if l + 1 == n_layers {
                return Ok(z);
            }
            if let Some(bn) = &mut self.bn[l] {
                z = batch_norm_train(&z, bn, update_running)?;
            }
            h = z.relu().map_err(ce)?;
            let p = self.dropout[l];
            if p > 0.0 {
                if let Some(rng) = rng.as_deref_mut() {
                    let keep = (1.0 / (1.0 - p)) as f32;
                    let units = self.sizes[l + 1];
                    let mask: Vec<f32> = (0..bs * units)
                        .map(|_| if rng.random::<f64>() < p { 0.0 } else { keep })
                        .collect();
                    let mask = Tensor::from_vec(mask, (bs, units), &self.device).map_err(ce)?;
                    h = h.mul(&mask).map_err(ce)?;
                }
            }
        }
        Ok(h)
    }

    /// The current weights as plain layers (evaluation form).
    pub(crate) fn snapshot(&self) -> Result<Vec<MlpLayer>> {
        let flat = |v: &Var| -> Result<Vec<f32>> {
            v.as_tensor()
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(ce)
        };
        let mut layers = Vec::with_capacity(self.weights.len());
        for l in 0..self.weights.len() {
            let batch_norm = match &self.bn[l] {
                Some(bn) => Some(BatchNormLayer {
                    gamma: flat(&bn.gamma)?,
                    beta: flat(&bn.beta)?,
                    running_mean: bn.running_mean.clone(),
                    running_var: bn.running_var.clone(),
                    eps: BN_EPS,
                }),
                None => None,
            };
            layers.push(MlpLayer {
                n_in: self.sizes[l],
                n_out: self.sizes[l + 1],
                weights: flat(&self.weights[l])?,
                bias: flat(&self.biases[l])?,
                batch_norm,
            });
        }
        Ok(layers)
    }
}

/// `gamma · (z − mean) / sqrt(var + eps) + beta` with the batch's mean and (biased)
/// variance; folds them into the running statistics when asked.
fn batch_norm_train(z: &Tensor, bn: &mut BnVars, update_running: bool) -> Result<Tensor> {
    let bs = z.dims()[0];
    let mean = z.mean_keepdim(0).map_err(ce)?;
    let centered = z.broadcast_sub(&mean).map_err(ce)?;
    let var = centered.sqr().and_then(|c| c.mean_keepdim(0)).map_err(ce)?;
    let inv_std = var
        .affine(1.0, BN_EPS as f64)
        .and_then(|v| v.sqrt())
        .map_err(ce)?;
    if update_running {
        let m = mean
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(ce)?;
        let v = var
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(ce)?;
        let unbias = if bs > 1 {
            bs as f32 / (bs - 1) as f32
        } else {
            1.0
        };
        for j in 0..m.len() {
            bn.running_mean[j] = (1.0 - BN_MOMENTUM) * bn.running_mean[j] + BN_MOMENTUM * m[j];
            bn.running_var[j] =
                (1.0 - BN_MOMENTUM) * bn.running_var[j] + BN_MOMENTUM * v[j] * unbias;
        }
    }
    centered
        .broadcast_div(&inv_std)
        .and_then(|t| t.broadcast_mul(bn.gamma.as_tensor()))
        .and_then(|t| t.broadcast_add(bn.beta.as_tensor()))
        .map_err(ce)
}

/// One mini-batch: its inputs and its weighted targets.
pub(crate) struct Batch {
    /// Inputs, `bs × n_features`.
    pub x: Tensor,
    /// Classification: `bs × n_classes`, row `i` holds `sᵢ` at its label and 0 elsewhere.
    /// Regression: `bs × 1` targets.
    pub y: Tensor,
    /// Regression: `bs × 1` row weights (unused for classification).
    pub w: Option<Tensor>,
    /// Rows in the batch.
    pub n: usize,
}

impl Batch {
    /// Gathers `rows` of the training data onto `device`.
    pub(crate) fn new(
        x: &[f32],
        d: usize,
        labels: &Labels,
        weights: &[f32],
        rows: &[usize],
        device: &Device,
    ) -> Result<Batch> {
        let n = rows.len();
        let mut xb = Vec::with_capacity(n * d);
        for &r in rows {
            xb.extend_from_slice(&x[r * d..(r + 1) * d]);
        }
        let xt = Tensor::from_vec(xb, (n, d), device).map_err(ce)?;
        let (y, w) = match labels {
            Labels::Classes(codes, k) => {
                let mut yw = vec![0.0f32; n * k];
                for (i, &r) in rows.iter().enumerate() {
                    yw[i * k + codes[r] as usize] = weights[r];
                }
                (Tensor::from_vec(yw, (n, *k), device).map_err(ce)?, None)
            }
            Labels::Real(v) => {
                let yv: Vec<f32> = rows.iter().map(|&r| v[r]).collect();
                let wv: Vec<f32> = rows.iter().map(|&r| weights[r]).collect();
                (
                    Tensor::from_vec(yv, (n, 1), device).map_err(ce)?,
                    Some(Tensor::from_vec(wv, (n, 1), device).map_err(ce)?),
                )
            }
        };
        Ok(Batch { x: xt, y, w, n })
    }
}

/// The batch objective: `Σ sᵢ·lossᵢ / n + alpha/(2n)·Σ‖W‖²`, with `lossᵢ` the softmax
/// cross-entropy or half the squared error (scikit-learn's scaling).
pub(crate) fn batch_loss(out: &Tensor, batch: &Batch, net: &Net, alpha: f64) -> Result<Tensor> {
    let n = batch.n as f64;
    let data = match &batch.w {
        None => {
            // log-softmax with the row max subtracted; the max is a constant shift, so it is
            // detached (the gradient of log-sum-exp does not depend on it).
            let m = out.max_keepdim(1).map_err(ce)?.detach();
            let s = out.broadcast_sub(&m).map_err(ce)?;
            let lse = s
                .exp()
                .and_then(|e| e.sum_keepdim(1))
                .and_then(|e| e.log())
                .map_err(ce)?;
            let logp = s.broadcast_sub(&lse).map_err(ce)?;
            logp.mul(&batch.y)
                .and_then(|t| t.sum_all())
                .and_then(|t| t.affine(-1.0 / n, 0.0))
                .map_err(ce)?
        }
        Some(w) => out
            .sub(&batch.y)
            .and_then(|d| d.sqr())
            .and_then(|d| d.mul(w))
            .and_then(|d| d.sum_all())
            .and_then(|t| t.affine(0.5 / n, 0.0))
            .map_err(ce)?,
    };
    if alpha == 0.0 {
        return Ok(data);
    }
    let mut total = data;
    for w in &net.weights {
        let pen = w
            .as_tensor()
            .sqr()
            .and_then(|t| t.sum_all())
            .and_then(|t| t.affine(0.5 * alpha / n, 0.0))
            .map_err(ce)?;
        total = total.add(&pen).map_err(ce)?;
    }
    Ok(total)
}

/// Adam with scikit-learn's bias-corrected step size
/// `lr·sqrt(1 − β₂ᵗ)/(1 − β₁ᵗ)`.
struct Adam {
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: i32,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

impl Adam {
    fn new(net: &Net, lr: f64, beta1: f64, beta2: f64, eps: f64) -> Result<Adam> {
        let zeros = |v: &Var| v.as_tensor().zeros_like().map_err(ce);
        let m = net
            .vars()
            .into_iter()
            .map(zeros)
            .collect::<Result<Vec<_>>>()?;
        let v = net
            .vars()
            .into_iter()
            .map(zeros)
            .collect::<Result<Vec<_>>>()?;
        Ok(Adam {
            m,
            v,
            t: 0,
            lr,
            beta1,
            beta2,
            eps,
        })
    }

    fn step(&mut self, net: &Net, loss: &Tensor) -> Result<()> {
        let grads = loss.backward().map_err(ce)?;
        self.t += 1;
        let lr_t =
            self.lr * (1.0 - self.beta2.powi(self.t)).sqrt() / (1.0 - self.beta1.powi(self.t));
        for (i, var) in net.vars().into_iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let m = self.m[i]
                .affine(self.beta1, 0.0)
                .and_then(|m| m.add(&g.affine(1.0 - self.beta1, 0.0)?))
                .map_err(ce)?;
            let v = self.v[i]
                .affine(self.beta2, 0.0)
                .and_then(|v| v.add(&g.sqr()?.affine(1.0 - self.beta2, 0.0)?))
                .map_err(ce)?;
            let update = v
                .sqrt()
                .and_then(|s| s.affine(1.0, self.eps))
                .and_then(|s| m.div(&s))
                .and_then(|u| u.affine(lr_t, 0.0))
                .map_err(ce)?;
            let new = var.as_tensor().sub(&update).map_err(ce)?.detach();
            var.set(&new).map_err(ce)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }
}

fn device(which: MlpDevice) -> Result<Device> {
    match which {
        MlpDevice::Cpu => Ok(Device::Cpu),
        MlpDevice::Cuda => Device::new_cuda(0).map_err(|e| {
            Error::param(
                "device",
                format!(
                    "cuda is not available ({e}); build slipway-learn with the `cuda` feature \
                     on a machine with a CUDA GPU, or use `cpu`"
                ),
            )
        }),
    }
}

/// Sample weight × class weight per row (1 when neither is given).
fn row_weights(mlp: &Mlp, y: &Target, sample: Option<&[f64]>) -> Result<Vec<f32>> {
    let n = y.len();
    let base: Vec<f64> = sample.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
    let Target::Classes { labels, n_classes } = y else {
        if mlp.params.class_weight.is_some() {
            return Err(Error::param(
                "class_weight",
                "applies to classification only; the target is real-valued",
            ));
        }
        return Ok(base.iter().map(|&w| w as f32).collect());
    };
    let mult: Vec<f64> = match &mlp.params.class_weight {
        None => vec![1.0; *n_classes],
        Some(ClassWeight::PerClass(w)) => {
            if w.len() != *n_classes {
                return Err(Error::param(
                    "class_weight",
                    format!("has {} weights for {n_classes} classes", w.len()),
                ));
            }
            w.clone()
        }
        Some(ClassWeight::Balanced) => {
            // scikit-learn's compute_class_weight("balanced"), with the sample weights.
            let mut per = vec![0.0; *n_classes];
            for (&l, &w) in labels.iter().zip(&base) {
                per[l as usize] += w;
            }
            if let Some(c) = per.iter().position(|&v| v <= 0.0) {
                return Err(Error::InvalidData(format!(
                    "class {c} has zero total weight; balanced class weights are undefined"
                )));
            }
            let total: f64 = per.iter().sum();
            per.iter()
                .map(|&v| total / (*n_classes as f64 * v))
                .collect()
        }
    };
    Ok(labels
        .iter()
        .zip(&base)
        .map(|(&l, &w)| (w * mult[l as usize]) as f32)
        .collect())
}

/// The held-out rows' score of `layers`: accuracy (classification) or R² (regression, on
/// the standardized scale, which R² does not see).
fn validation_score(
    layers: &[MlpLayer],
    x: &[f32],
    d: usize,
    y: &Target,
    mean: f64,
    std: f64,
    weights: Option<&[f64]>,
) -> Result<f64> {
    let out = network::forward(layers, x, d);
    match y {
        Target::Classes { labels, n_classes } => {
            let pred: Vec<u32> = out
                .chunks_exact(*n_classes)
                .map(|r| {
                    let mut best = 0;
                    for (j, &v) in r.iter().enumerate() {
                        if v > r[best] {
                            best = j;
                        }
                    }
                    best as u32
                })
                .collect();
            accuracy(labels, &pred, weights)
        }
        Target::Real(v) => {
            let pred: Vec<f64> = out.iter().map(|&z| mean + std * z as f64).collect();
            r2(v, &pred, weights)
        }
    }
}

/// The stopping state, scikit-learn's `_update_no_improvement_count`.
struct Stopper {
    best: f64,
    bad_epochs: usize,
}

/// Rows held out for early stopping: features (row-major), labels and sample weights.
struct Held {
    x: Vec<f32>,
    y: Target,
    weights: Option<Vec<f64>>,
}

/// The rows to fit on and, with early stopping, the held-out rows: the caller's validation
/// set when given, else a (stratified, for classes) `validation_fraction` split of `train`.
fn held_out(
    mlp: &Mlp,
    train: &TrainData<'_>,
    valid: Option<&TrainData<'_>>,
) -> Result<(Vec<usize>, Option<Held>)> {
    let p = &mlp.params;
    let n = train.x.n_rows();
    Ok(match (p.early_stopping, valid) {
        (false, _) => ((0..n).collect(), None),
        (true, Some(v)) => (
            (0..n).collect(),
            Some(Held {
                x: row_major_f32(v.x),
                y: v.y.clone(),
                weights: v.weights.map(<[f64]>::to_vec),
            }),
        ),
        (true, None) => {
            let strat = match train.y {
                Target::Classes { labels, .. } => Some(labels.as_slice()),
                Target::Real(_) => None,
            };
            let (fit, held) = train_test_split(n, p.validation_fraction, strat, p.seed)?;
            let h = Held {
                x: row_major_f32(&train.x.take_rows(&held)),
                y: train.y.take(&held),
                weights: train.weights.map(|w| held.iter().map(|&r| w[r]).collect()),
            };
            (fit, Some(h))
        }
    })
}

/// Fits the network; see the module docs for the rules.
pub(crate) fn fit(
    mlp: &Mlp,
    train: &TrainData<'_>,
    valid: Option<&TrainData<'_>>,
) -> Result<MlpModel> {
    let p = &mlp.params;
    let task = train.y.task();
    let dev = device(p.device)?;
    let n = train.x.n_rows();
    let d = train.x.n_cols();
    let weights = row_weights(mlp, train.y, train.weights)?;

    // Hold-out rows: the caller's validation set, or a (stratified) split of train.
    let (fit_rows, held) = held_out(mlp, train, valid)?;

    let (labels, mean, std) = match train.y {
        Target::Classes { labels, n_classes } => {
            (Labels::Classes(labels.clone(), *n_classes), 0.0, 1.0)
        }
        Target::Real(v) => {
            // Over all training rows, held-out ones included (as the reference's
            // TransformedTargetRegressor does); only the scale is shared, never a label.
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n as f64;
            let std = if var > 0.0 { var.sqrt() } else { 1.0 };
            let z = v.iter().map(|y| ((y - mean) / std) as f32).collect();
            (Labels::Real(z), mean, std)
        }
    };

    let mut sizes = vec![d];
    sizes.extend(&p.hidden_layer_sizes);
    sizes.push(task.n_outputs());
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let mut net = Net::init(&sizes, p.batch_norm, &mlp.dropout, &mut rng, &dev)?;
    let mut adam = Adam::new(&net, p.learning_rate, p.beta1, p.beta2, p.epsilon)?;
    let x = row_major_f32(train.x);

    let batch_size = p.batch_size.min(fit_rows.len()).max(1);
    let mut order = fit_rows.clone();
    let mut loss_curve = Vec::new();
    let mut scores = Vec::new();
    let mut stop = Stopper {
        best: if held.is_some() {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        },
        bad_epochs: 0,
    };
    let mut best_layers = None;
    let mut best_epoch = 0;
    for epoch in 1..=p.max_epochs {
        if p.shuffle {
            order.shuffle(&mut rng);
        }
        let mut epoch_loss = 0.0;
        for rows in order.chunks(batch_size) {
            let batch = Batch::new(&x, d, &labels, &weights, rows, &dev)?;
            let out = net.forward_train(&batch.x, Some(&mut rng), true)?;
            let loss = batch_loss(&out, &batch, &net, p.alpha)?;
            epoch_loss += loss.to_scalar::<f32>().map_err(ce)? as f64 * rows.len() as f64;
            adam.step(&net, &loss)?;
        }
        let epoch_loss = epoch_loss / order.len() as f64;
        if !epoch_loss.is_finite() {
            return Err(Error::InvalidData(format!(
                "mlp training diverged at epoch {epoch} (loss {epoch_loss}); lower learning_rate"
            )));
        }
        loss_curve.push(epoch_loss);
        let improved_enough;
        match &held {
            Some(h) => {
                let layers = net.snapshot()?;
                let s = validation_score(&layers, &h.x, d, &h.y, mean, std, h.weights.as_deref())?;
                scores.push(s);
                improved_enough = s >= stop.best + p.tol;
                if s > stop.best {
                    stop.best = s;
                    best_layers = Some(layers);
                    best_epoch = epoch;
                }
            }
            None => {
                improved_enough = epoch_loss <= stop.best - p.tol;
                stop.best = stop.best.min(epoch_loss);
                best_epoch = epoch;
            }
        }
        stop.bad_epochs = if improved_enough {
            0
        } else {
            stop.bad_epochs + 1
        };
        if stop.bad_epochs > p.n_iter_no_change {
            break;
        }
    }
    let layers = match best_layers {
        Some(l) => l,
        None => net.snapshot()?,
    };
    Ok(MlpModel {
        task,
        n_features: d,
        layers,
        target_mean: mean,
        target_std: std,
        n_epochs: loss_curve.len(),
        best_epoch,
        loss_curve,
        validation_scores: scores,
    })
}

#[cfg(test)]
mod tests {
    //! Candle's autodiff is used through a hand-written log-softmax, batch norm and L2 term,
    //! so its gradients are checked here against central finite differences of the same
    //! loss, and its eval-mode forward against the plain-Rust one.
    use super::*;
    use crate::Task;

    fn setup(task: Task, batch_norm: bool) -> (Net, Batch) {
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (n, d) = (6, 4);
        let x: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        let labels = match task {
            Task::Regression => Labels::Real((0..n).map(|i| i as f32 * 0.3 - 0.7).collect()),
            _ => Labels::Classes((0..n).map(|i| (i % 3) as u32).collect(), 3),
        };
        let k = task.n_outputs();
        let w: Vec<f32> = (0..n).map(|i| 0.5 + i as f32 * 0.25).collect();
        let rows: Vec<usize> = (0..n).collect();
        let batch = Batch::new(&x, d, &labels, &w, &rows, &dev).unwrap();
        let net = Net::init(&[d, 5, k], batch_norm, &[0.0], &mut rng, &dev).unwrap();
        (net, batch)
    }

    fn loss_of(net: &mut Net, batch: &Batch) -> Tensor {
        let out = net.forward_train(&batch.x, None, false).unwrap();
        batch_loss(&out, batch, net, 0.3).unwrap()
    }

    fn check_gradients(task: Task, batch_norm: bool) {
        let (mut net, batch) = setup(task, batch_norm);
        let loss = loss_of(&mut net, &batch);
        let grads = loss.backward().unwrap();
        let vars: Vec<Var> = net.vars().into_iter().cloned().collect();
        for var in &vars {
            let g = grads.get(var.as_tensor()).unwrap();
            let g = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let base = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let shape = var.as_tensor().shape().clone();
            for i in 0..base.len() {
                let h = 1e-2f32;
                let mut at = |delta: f32| {
                    let mut v = base.clone();
                    v[i] += delta;
                    var.set(&Tensor::from_vec(v, shape.clone(), &Device::Cpu).unwrap())
                        .unwrap();
                    loss_of(&mut net, &batch).to_scalar::<f32>().unwrap() as f64
                };
                let fd = (at(h) - at(-h)) / (2.0 * h as f64);
                at(0.0);
                let tol = 2e-3 + 2e-2 * fd.abs();
                assert!(
                    (fd - g[i] as f64).abs() < tol,
                    "{task:?} bn={batch_norm}: grad {} vs finite difference {fd}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_gradients(Task::Multiclass { n_classes: 3 }, false);
        check_gradients(Task::Multiclass { n_classes: 3 }, true);
        check_gradients(Task::Regression, false);
        check_gradients(Task::Regression, true);
    }

    #[test]
    fn plain_forward_matches_candle() {
        let (mut net, batch) = setup(Task::Multiclass { n_classes: 3 }, false);
        let out = net.forward_train(&batch.x, None, false).unwrap();
        let out = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let x = batch.x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let plain = network::forward(&net.snapshot().unwrap(), &x, 4);
        for (a, b) in out.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
