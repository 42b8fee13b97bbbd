//! The fitted network as plain data ([`MlpLayer`], [`BatchNormLayer`]) and its forward pass
//! in plain Rust: what a bundle stores and what prediction runs. Nothing here needs the
//! tensor crate or an autodiff graph.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Rows per block of the forward pass (one rayon task each).
const BLOCK_ROWS: usize = 256;

/// Batch normalization of a layer's pre-activations, in evaluation form:
/// `gamma · (z − running_mean) / sqrt(running_var + eps) + beta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchNormLayer {
    /// Scale, one per unit.
    pub gamma: Vec<f32>,
    /// Shift, one per unit.
    pub beta: Vec<f32>,
    /// Running mean of the pre-activations seen in training.
    pub running_mean: Vec<f32>,
    /// Running (unbiased) variance of the pre-activations seen in training.
    pub running_var: Vec<f32>,
    /// Added to the variance before the square root.
    pub eps: f32,
}

/// One dense layer: `z = x · W + b`, optionally batch-normalized, then ReLU unless it is the
/// output layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpLayer {
    /// Inputs per row.
    pub n_in: usize,
    /// Units (outputs per row).
    pub n_out: usize,
    /// Weights, row-major `n_in × n_out` (entry `k · n_out + j` joins input `k` to unit `j`).
    pub weights: Vec<f32>,
    /// Bias, one per unit.
    pub bias: Vec<f32>,
    /// Batch normalization (hidden layers only, when enabled).
    pub batch_norm: Option<BatchNormLayer>,
}

impl MlpLayer {
    /// Checks that the stored vectors have the sizes the shape says (a bundle could be
    /// edited by hand).
    pub(crate) fn check(&self, index: usize) -> Result<()> {
        let bad = |what: &str, got: usize, want: usize| {
            Err(Error::InvalidData(format!(
                "mlp layer {index}: {what} has {got} values, expected {want}"
            )))
        };
        if self.weights.len() != self.n_in * self.n_out {
            return bad("weights", self.weights.len(), self.n_in * self.n_out);
        }
        if self.bias.len() != self.n_out {
            return bad("bias", self.bias.len(), self.n_out);
        }
        if let Some(bn) = &self.batch_norm {
            for (what, v) in [
                ("gamma", &bn.gamma),
                ("beta", &bn.beta),
                ("running_mean", &bn.running_mean),
                ("running_var", &bn.running_var),
            ] {
                if v.len() != self.n_out {
                    return bad(what, v.len(), self.n_out);
                }
            }
        }
        Ok(())
    }

    /// `out = act(bn(x · W + b))` for `n` rows of `x` (row-major `n × n_in`).
    fn forward_block(&self, x: &[f32], n: usize, relu: bool, out: &mut Vec<f32>) {
        out.clear();
        out.resize(n * self.n_out, 0.0);
        for (xr, zr) in x
            .chunks_exact(self.n_in)
            .zip(out.chunks_exact_mut(self.n_out))
        {
            zr.copy_from_slice(&self.bias);
            for (&xk, wk) in xr.iter().zip(self.weights.chunks_exact(self.n_out)) {
                if xk != 0.0 {
                    for (z, &w) in zr.iter_mut().zip(wk) {
                        *z += xk * w;
                    }
                }
            }
            if let Some(bn) = &self.batch_norm {
                let stats = bn.gamma.iter().zip(&bn.beta).zip(&bn.running_mean);
                for ((z, ((&g, &b), &m)), &v) in zr.iter_mut().zip(stats).zip(&bn.running_var) {
                    *z = g * (*z - m) / (v + bn.eps).sqrt() + b;
                }
            }
            if relu {
                for z in zr.iter_mut() {
                    *z = z.max(0.0);
                }
            }
        }
    }
}

/// The network's raw outputs (logits, or the standardized regression value) for `n` rows of
/// row-major `x`, in evaluation mode (no dropout; batch norm from running statistics).
/// Rows are independent, so the result does not depend on the thread count.
pub(crate) fn forward(layers: &[MlpLayer], x: &[f32], n_in: usize) -> Vec<f32> {
    let n_out = layers.last().map_or(n_in, |l| l.n_out);
    let n = x.len() / n_in.max(1);
    let mut out = vec![0.0f32; n * n_out];
    out.par_chunks_mut(BLOCK_ROWS * n_out)
        .zip(x.par_chunks(BLOCK_ROWS * n_in))
        .for_each(|(o, xb)| {
            let rows = xb.len() / n_in.max(1);
            let mut cur = xb.to_vec();
            let mut next = Vec::new();
            for (i, layer) in layers.iter().enumerate() {
                layer.forward_block(&cur, rows, i + 1 < layers.len(), &mut next);
                std::mem::swap(&mut cur, &mut next);
            }
            o.copy_from_slice(&cur);
        });
    out
}

/// Softmax of each row of `logits` (`n_classes` per row), in `f64`.
pub(crate) fn softmax_rows(logits: &[f32], n_classes: usize) -> Vec<f64> {
    let mut p = Vec::with_capacity(logits.len());
    for row in logits.chunks_exact(n_classes) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let start = p.len();
        let mut s = 0.0;
        for &z in row {
            let e = (z as f64 - m).exp();
            s += e;
            p.push(e);
        }
        for v in &mut p[start..] {
            *v /= s;
        }
    }
    p
}
