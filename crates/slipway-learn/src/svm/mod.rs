//! Support vector machines: C-SVC with Platt-scaled probabilities and ε-SVR, as libsvm (and
//! so scikit-learn's `SVC(probability=True)` / `SVR`) fits them.
//!
//! - [`SvmParams`] holds the hyperparameters; `check()` gives an [`Svm`] whose fit returns an
//!   [`SvmModel`]. Class labels make it a classifier, real targets a regressor.
//! - The dual is solved by libsvm's SMO ([`smo`]): second-order working-set selection (WSS3,
//!   Fan, Chen & Lin 2005), shrinking, and an LRU cache of `f32` kernel rows bounded by
//!   `cache_size_mb` ([`kernel`]). Kernel rows use a row-major copy of `X` with precomputed
//!   squared norms and are computed in parallel when long. Class weights and sample weights
//!   scale the per-row bound `Cᵢ = C·class_weight[yᵢ]·wᵢ`; rows of weight 0 are dropped, as
//!   in scikit-learn.
//! - More than two classes: one-vs-one, one binary machine per pair of classes, support
//!   vectors shared in libsvm's layout (`dual_coef` has `n_classes − 1` rows).
//! - Probabilities ([`platt`]): per pair, decision values from an internal 5-fold
//!   cross-validation (random folds from `seed`) fit Platt's sigmoid with Lin, Lin & Weng's
//!   Newton method; pairs are coupled by method 2 of Wu, Lin & Weng. The folds and the final
//!   machine of every pair are independent jobs and run in parallel.
//!   [`SvmModel::decision_function`] keeps the raw decision values available.
//!
//! Alternatives considered: `linfa-svm` (linfa's SMO port) was considered but not adopted:
//! it has no class weights, sample weights, libsvm-style probability calibration or
//! one-vs-one multiclass, which scikit-learn parity needs, so the solver is written here
//! following libsvm's `svm.cpp`. Its fit time on the benchmark data has not been measured.

mod kernel;
mod platt;
mod smo;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::linear::{BLOCK_ROWS, ClassWeight};
use crate::matrix::check_finite;
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Target, Task, TrainData,
};
use kernel::{KernelData, KernelFn, SvcQ, SvrQ};

/// Folds of the internal cross-validation behind the probability sigmoid (libsvm's 5).
const PROB_FOLDS: usize = 5;
/// Pairwise probabilities are clipped to `[MIN_PROB, 1 − MIN_PROB]` (libsvm).
const MIN_PROB: f64 = 1e-7;

/// The kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SvmKernel {
    /// `K(x, z) = x·z`.
    Linear,
    /// `K(x, z) = exp(−γ‖x − z‖²)` (default).
    #[default]
    Rbf,
}

/// A named rule for the RBF `γ`, as in scikit-learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GammaRule {
    /// `1 / (n_features · Var(X))`, the variance over every entry of the training matrix
    /// (1 when that variance is 0). scikit-learn's default.
    Scale,
    /// `1 / n_features`.
    Auto,
}

/// The RBF `γ`: `scale`, `auto` or a number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Gamma {
    /// Derived from the training data.
    Rule(GammaRule),
    /// A fixed value (> 0).
    Value(f64),
}

impl Default for Gamma {
    fn default() -> Self {
        Gamma::Rule(GammaRule::Scale)
    }
}

/// Hyperparameters of [`Svm`], as read from a config (scikit-learn's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SvmParams {
    /// `linear` or `rbf` (default).
    pub kernel: SvmKernel,
    /// Penalty `C` of the hinge (classification) or ε-insensitive (regression) loss
    /// (default 1, > 0).
    pub c: f64,
    /// RBF `γ`: `scale` (default), `auto` or a number > 0. Ignored by the linear kernel.
    pub gamma: Gamma,
    /// Width of the ε-insensitive tube of ε-SVR (default 0.1, >= 0). Ignored by
    /// classification.
    pub epsilon: f64,
    /// Stopping tolerance on the maximal KKT violation (default 1e-3, > 0).
    pub tol: f64,
    /// Class weights multiplying `C` per class: `balanced` (`n_rows / (n_classes ·
    /// rows_of_class)`, counted without sample weights like scikit-learn's `SVC`) or
    /// `per_class: [w0, w1, ...]` by class index.
    pub class_weight: Option<ClassWeight>,
    /// Budget of the kernel-row cache per machine, in MiB (default 200, like scikit-learn).
    pub cache_size_mb: f64,
    /// SMO iterations per machine (default: libsvm's `max(10⁷, 100·n)`). Reaching it is
    /// not an error; the model records `converged: false`.
    pub max_iter: Option<usize>,
    /// Whether to shrink the active set (default true).
    pub shrinking: bool,
    /// Seed of the random folds of the probability cross-validation (default 0).
    pub seed: u64,
    /// Threads for kernel rows and prediction (default: rayon's global pool). The model does
    /// not depend on it.
    pub n_threads: Option<usize>,
}

impl Default for SvmParams {
    fn default() -> Self {
        SvmParams {
            kernel: SvmKernel::Rbf,
            c: 1.0,
            gamma: Gamma::default(),
            epsilon: 0.1,
            tol: 1e-3,
            class_weight: None,
            cache_size_mb: 200.0,
            max_iter: None,
            shrinking: true,
            seed: 0,
            n_threads: None,
        }
    }
}

fn positive_finite(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() || v <= 0.0 {
        return Err(Error::param(
            name,
            format!("must be finite and > 0, got {v}"),
        ));
    }
    Ok(())
}

impl Params for SvmParams {
    type Checked = Svm;

    fn check(&self) -> Result<Svm> {
        positive_finite("c", self.c)?;
        positive_finite("tol", self.tol)?;
        positive_finite("cache_size_mb", self.cache_size_mb)?;
        if let Gamma::Value(g) = self.gamma {
            positive_finite("gamma", g)?;
        }
        if !self.epsilon.is_finite() || self.epsilon < 0.0 {
            return Err(Error::param(
                "epsilon",
                format!("must be finite and >= 0, got {}", self.epsilon),
            ));
        }
        if self.max_iter == Some(0) {
            return Err(Error::param("max_iter", "must be at least 1, got 0"));
        }
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
        Ok(Svm {
            params: self.clone(),
        })
    }
}

/// Checked SVM hyperparameters; [`Estimator::fit`] returns an [`SvmModel`].
#[derive(Debug, Clone)]
pub struct Svm {
    params: SvmParams,
}

/// The kernel with its resolved `γ`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FittedKernel {
    /// `x·z`.
    Linear,
    /// `exp(−γ‖x − z‖²)`.
    Rbf {
        /// The `γ` used.
        #[serde(with = "crate::exact_json::floats")]
        gamma: f64,
    },
}

impl FittedKernel {
    fn function(self) -> KernelFn {
        match self {
            FittedKernel::Linear => KernelFn::Linear,
            FittedKernel::Rbf { gamma } => KernelFn::Rbf { gamma },
        }
    }
}

/// A fitted SVM (classifier or regressor), in libsvm's layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmModel {
    task: Task,
    n_features: usize,
    kernel: FittedKernel,
    /// Class indices that had training rows, in order (empty for regression).
    classes: Vec<u32>,
    /// Support vectors per entry of `classes` (one entry for regression).
    n_support: Vec<usize>,
    /// Training-row index of each support vector.
    support: Vec<usize>,
    /// Support vectors, row-major `n_sv × n_features`.
    support_vectors: Vec<f64>,
    /// libsvm's `sv_coef`: `max(1, n_classes − 1)` rows of `n_sv`.
    dual_coef: Vec<Vec<f64>>,
    /// libsvm's `ρ` per machine (pair of classes, or the one regressor).
    rho: Vec<f64>,
    /// Platt sigmoid `A` per pair (classification).
    prob_a: Vec<f64>,
    /// Platt sigmoid `B` per pair (classification).
    prob_b: Vec<f64>,
    /// Linear kernel only: the primal weights of each machine (`Σ coef·sv`).
    linear_w: Option<Vec<Vec<f64>>>,
    /// SMO iterations of each final machine.
    n_iter: Vec<usize>,
    /// Whether every machine (and every probability fold) met `tol`.
    converged: bool,
}

/// One binary machine to solve: rows of the kernel data, ±1 labels, bounds.
struct BinaryProblem {
    rows: Vec<usize>,
    y: Vec<i8>,
    c: Vec<f64>,
}

/// A trained binary machine: `Σ coef·K(sv, x) − rho` over `rows`.
struct BinaryMachine {
    coef: Vec<f64>,
    rho: f64,
    n_iter: usize,
    converged: bool,
}

/// The rows and labels of a classification fit.
#[derive(Clone, Copy)]
struct ClassifierInput<'a> {
    /// Training rows of positive weight (position in the kernel data → training row).
    kept: &'a [usize],
    /// Class index of every training row.
    labels: &'a [u32],
    n_classes: usize,
    /// Sample weight of every training row.
    weights: &'a [f64],
    /// Multiplier of `C` per class.
    class_mult: &'a [f64],
}

/// Solver settings shared by every machine of a fit.
#[derive(Clone, Copy)]
struct SolverConfig {
    tol: f64,
    shrinking: bool,
    cache_bytes: usize,
    max_iter: Option<usize>,
}

impl SolverConfig {
    fn max_iter(&self, l: usize) -> usize {
        self.max_iter
            .unwrap_or_else(|| 10_000_000usize.max(l.saturating_mul(100)))
    }

    fn solve_binary(&self, data: &KernelData, prob: &BinaryProblem) -> BinaryMachine {
        let l = prob.rows.len();
        let mut q = SvcQ::new(data, prob.rows.clone(), &prob.y, self.cache_bytes);
        let p = vec![-1.0; l];
        let s = smo::solve(
            &mut q,
            &p,
            &prob.y,
            &prob.c,
            self.tol,
            self.shrinking,
            self.max_iter(l),
        );
        let coef = s
            .alpha
            .iter()
            .zip(&prob.y)
            .map(|(a, &y)| a * f64::from(y))
            .collect();
        BinaryMachine {
            coef,
            rho: s.rho,
            n_iter: s.n_iter,
            converged: s.converged,
        }
    }
}

/// A job of a classification fit: the final machine of a pair, or one probability fold.
#[derive(Clone, Copy)]
enum Job {
    Final { pair: usize },
    Fold { pair: usize, fold: usize },
}

enum JobResult {
    Final(BinaryMachine),
    /// `(position in the pair's problem, decision value)` for the fold's held-out rows.
    Fold(Vec<(usize, f64)>, bool),
}

impl Svm {
    fn resolve_kernel(&self, x: &Matrix) -> FittedKernel {
        match self.params.kernel {
            SvmKernel::Linear => FittedKernel::Linear,
            SvmKernel::Rbf => {
                let d = x.n_cols().max(1) as f64;
                let gamma = match self.params.gamma {
                    Gamma::Value(g) => g,
                    Gamma::Rule(GammaRule::Auto) => 1.0 / d,
                    Gamma::Rule(GammaRule::Scale) => {
                        let v = x.as_col_major();
                        let n = v.len().max(1) as f64;
                        let mean = v.iter().sum::<f64>() / n;
                        let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n;
                        if var == 0.0 { 1.0 } else { 1.0 / (d * var) }
                    }
                };
                FittedKernel::Rbf { gamma }
            }
        }
    }

    fn config(&self) -> SolverConfig {
        SolverConfig {
            tol: self.params.tol,
            shrinking: self.params.shrinking,
            cache_bytes: (self.params.cache_size_mb * 1024.0 * 1024.0) as usize,
            max_iter: self.params.max_iter,
        }
    }

    /// Per-class multipliers of `C` for `n_classes` classes given the full label list.
    fn class_multipliers(&self, labels: &[u32], n_classes: usize) -> Result<Vec<f64>> {
        match &self.params.class_weight {
            None => Ok(vec![1.0; n_classes]),
            Some(ClassWeight::PerClass(w)) => {
                if w.len() != n_classes {
                    return Err(Error::param(
                        "class_weight",
                        format!("has {} weights for {n_classes} classes", w.len()),
                    ));
                }
                Ok(w.clone())
            }
            Some(ClassWeight::Balanced) => {
                let mut counts = vec![0usize; n_classes];
                for &l in labels {
                    counts[l as usize] += 1;
                }
                let present = counts.iter().filter(|&&c| c > 0).count() as f64;
                let n = labels.len() as f64;
                Ok(counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            1.0
                        } else {
                            n / (present * c as f64)
                        }
                    })
                    .collect())
            }
        }
    }

    fn fit_classifier(
        &self,
        data: &KernelData,
        input: &ClassifierInput<'_>,
        kernel: FittedKernel,
    ) -> Result<SvmModel> {
        let ClassifierInput {
            kept,
            labels,
            n_classes,
            weights,
            class_mult,
        } = *input;
        // Rows (positions in `data`) of each class, in row order.
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
        for (pos, &row) in kept.iter().enumerate() {
            by_class[labels[row] as usize].push(pos);
        }
        let classes: Vec<u32> = (0..n_classes as u32)
            .filter(|&c| !by_class[c as usize].is_empty())
            .collect();
        if classes.len() < 2 {
            return Err(Error::InvalidData(format!(
                "SVM classification needs rows (of positive weight) from at least two classes, got {}",
                classes.len()
            )));
        }
        let c = self.params.c;
        let pairs: Vec<(usize, usize)> = (0..classes.len())
            .flat_map(|a| (a + 1..classes.len()).map(move |b| (a, b)))
            .collect();
        let problems: Vec<BinaryProblem> = pairs
            .iter()
            .map(|&(a, b)| {
                let (ra, rb) = (
                    &by_class[classes[a] as usize],
                    &by_class[classes[b] as usize],
                );
                let rows: Vec<usize> = ra.iter().chain(rb).copied().collect();
                let y: Vec<i8> = std::iter::repeat_n(1i8, ra.len())
                    .chain(std::iter::repeat_n(-1i8, rb.len()))
                    .collect();
                let bound =
                    |pos: usize, cls: u32| c * class_mult[cls as usize] * weights[kept[pos]];
                let cvec = ra
                    .iter()
                    .map(|&p| bound(p, classes[a]))
                    .chain(rb.iter().map(|&p| bound(p, classes[b])))
                    .collect();
                BinaryProblem { rows, y, c: cvec }
            })
            .collect();
        // Fold permutations are drawn up front so results do not depend on scheduling.
        let mut rng = ChaCha8Rng::seed_from_u64(self.params.seed);
        let perms: Vec<Vec<usize>> = problems
            .iter()
            .map(|p| {
                let mut perm: Vec<usize> = (0..p.rows.len()).collect();
                perm.shuffle(&mut rng);
                perm
            })
            .collect();
        let jobs: Vec<Job> = (0..pairs.len())
            .flat_map(|pair| {
                std::iter::once(Job::Final { pair })
                    .chain((0..PROB_FOLDS).map(move |fold| Job::Fold { pair, fold }))
            })
            .collect();
        let cfg = self.config();
        let results: Vec<JobResult> = jobs
            .par_iter()
            .map(|&job| match job {
                Job::Final { pair } => JobResult::Final(cfg.solve_binary(data, &problems[pair])),
                Job::Fold { pair, fold } => {
                    let (dec, conv) =
                        fold_decisions(data, &problems[pair], &perms[pair], fold, cfg);
                    JobResult::Fold(dec, conv)
                }
            })
            .collect();

        let mut machines: Vec<Option<BinaryMachine>> = (0..pairs.len()).map(|_| None).collect();
        let mut cv_dec: Vec<Vec<f64>> = problems.iter().map(|p| vec![0.0; p.rows.len()]).collect();
        let mut converged = true;
        for (job, res) in jobs.iter().zip(results) {
            match (job, res) {
                (Job::Final { pair }, JobResult::Final(m)) => {
                    converged &= m.converged;
                    machines[*pair] = Some(m);
                }
                (Job::Fold { pair, .. }, JobResult::Fold(dec, conv)) => {
                    converged &= conv;
                    for (pos, v) in dec {
                        cv_dec[*pair][pos] = v;
                    }
                }
                _ => return Err(Error::Internal("SVM job results out of order".into())),
            }
        }
        let machines: Vec<BinaryMachine> = machines
            .into_iter()
            .map(|m| m.ok_or_else(|| Error::Internal("missing SVM machine".into())))
            .collect::<Result<_>>()?;
        let (prob_a, prob_b): (Vec<f64>, Vec<f64>) = problems
            .iter()
            .zip(&cv_dec)
            .map(|(p, dec)| {
                let pos: Vec<bool> = p.y.iter().map(|&y| y > 0).collect();
                platt::sigmoid_train(dec, &pos)
            })
            .unzip();

        // Support vectors: rows with a nonzero coefficient in any machine, grouped by class.
        let mut nonzero = vec![false; kept.len()];
        for (m, p) in machines.iter().zip(&problems) {
            for (&coef, &row) in m.coef.iter().zip(&p.rows) {
                if coef != 0.0 {
                    nonzero[row] = true;
                }
            }
        }
        let mut sv_pos = vec![usize::MAX; kept.len()];
        let mut sv_rows = Vec::new();
        let mut n_support = Vec::with_capacity(classes.len());
        for &cls in &classes {
            let before = sv_rows.len();
            for &pos in &by_class[cls as usize] {
                if nonzero[pos] {
                    sv_pos[pos] = sv_rows.len();
                    sv_rows.push(pos);
                }
            }
            n_support.push(sv_rows.len() - before);
        }
        let n_sv = sv_rows.len();
        let mut dual_coef = vec![vec![0.0; n_sv]; classes.len() - 1];
        for (((a, b), m), p) in pairs.iter().zip(&machines).zip(&problems) {
            for ((&coef, &row), &y) in m.coef.iter().zip(&p.rows).zip(&p.y) {
                if nonzero[row] {
                    // libsvm: class a's coefficients go to row b−1, class b's to row a.
                    let r = if y > 0 { b - 1 } else { *a };
                    dual_coef[r][sv_pos[row]] = coef;
                }
            }
        }
        let d = data.row(0).len();
        let support_vectors: Vec<f64> = sv_rows
            .iter()
            .flat_map(|&pos| data.row(pos).iter().copied())
            .collect();
        let rho: Vec<f64> = machines.iter().map(|m| m.rho).collect();
        let n_iter = machines.iter().map(|m| m.n_iter).collect();
        let mut model = SvmModel {
            task: if n_classes == 2 {
                Task::Binary
            } else {
                Task::Multiclass { n_classes }
            },
            n_features: d,
            kernel,
            classes,
            n_support,
            support: sv_rows.iter().map(|&pos| kept[pos]).collect(),
            support_vectors,
            dual_coef,
            rho,
            prob_a,
            prob_b,
            linear_w: None,
            n_iter,
            converged,
        };
        model.linear_w = model.primal_weights();
        Ok(model)
    }

    fn fit_regressor(
        &self,
        data: &KernelData,
        kept: &[usize],
        y: &[f64],
        weights: &[f64],
        kernel: FittedKernel,
    ) -> SvmModel {
        let n = kept.len();
        let eps = self.params.epsilon;
        let mut p = Vec::with_capacity(2 * n);
        p.extend(kept.iter().map(|&r| eps - y[r]));
        p.extend(kept.iter().map(|&r| eps + y[r]));
        let mut signs = vec![1i8; n];
        signs.extend(std::iter::repeat_n(-1i8, n));
        let cw: Vec<f64> = kept.iter().map(|&r| self.params.c * weights[r]).collect();
        let c: Vec<f64> = cw.iter().chain(&cw).copied().collect();
        let cfg = self.config();
        let mut q = SvrQ::new(data, (0..n).collect(), cfg.cache_bytes);
        let s = smo::solve(
            &mut q,
            &p,
            &signs,
            &c,
            cfg.tol,
            cfg.shrinking,
            cfg.max_iter(2 * n),
        );
        let coef: Vec<f64> = (0..n).map(|i| s.alpha[i] - s.alpha[i + n]).collect();
        let sv: Vec<usize> = (0..n).filter(|&i| coef[i] != 0.0).collect();
        let d = if n > 0 { data.row(0).len() } else { 0 };
        let mut model = SvmModel {
            task: Task::Regression,
            n_features: d,
            kernel,
            classes: Vec::new(),
            n_support: vec![sv.len()],
            support: sv.iter().map(|&i| kept[i]).collect(),
            support_vectors: sv
                .iter()
                .flat_map(|&i| data.row(i).iter().copied())
                .collect(),
            dual_coef: vec![sv.iter().map(|&i| coef[i]).collect()],
            rho: vec![s.rho],
            prob_a: Vec::new(),
            prob_b: Vec::new(),
            linear_w: None,
            n_iter: vec![s.n_iter],
            converged: s.converged,
        };
        model.linear_w = model.primal_weights();
        model
    }
}

/// Decision values of the held-out rows of fold `fold` from a machine trained on the other
/// folds, oriented so that positive means the pair's first class (libsvm's
/// `svm_binary_svc_probability`). Folds whose training part has one class only get ±1.
fn fold_decisions(
    data: &KernelData,
    prob: &BinaryProblem,
    perm: &[usize],
    fold: usize,
    cfg: SolverConfig,
) -> (Vec<(usize, f64)>, bool) {
    let l = perm.len();
    let (begin, end) = (fold * l / PROB_FOLDS, (fold + 1) * l / PROB_FOLDS);
    let train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
    // Positives first, then negatives, as libsvm groups the sub-problem by label.
    let (mut pos, neg): (Vec<usize>, Vec<usize>) = train.iter().partition(|&&t| prob.y[t] > 0);
    let (n_pos, n_neg) = (pos.len(), neg.len());
    let held = &perm[begin..end];
    if n_pos == 0 || n_neg == 0 {
        let v = if n_pos > 0 {
            1.0
        } else if n_neg > 0 {
            -1.0
        } else {
            0.0
        };
        return (held.iter().map(|&t| (t, v)).collect(), true);
    }
    pos.extend(neg);
    let sub = BinaryProblem {
        rows: pos.iter().map(|&t| prob.rows[t]).collect(),
        y: pos.iter().map(|&t| prob.y[t]).collect(),
        c: pos.iter().map(|&t| prob.c[t]).collect(),
    };
    let m = cfg.solve_binary(data, &sub);
    let (sv_rows, sv_coef): (Vec<usize>, Vec<f64>) = m
        .coef
        .iter()
        .zip(&sub.rows)
        .filter(|(c, _)| **c != 0.0)
        .map(|(&c, &r)| (r, c))
        .unzip();
    let mut kv = vec![0.0; sv_rows.len()];
    let dec = held
        .iter()
        .map(|&t| {
            let z = data.row(prob.rows[t]);
            let z_sq = kernel::dot(z, z);
            data.k_points(&sv_rows, z, z_sq, &mut kv);
            let s: f64 = sv_coef.iter().zip(&kv).map(|(c, k)| c * k).sum();
            (t, s - m.rho)
        })
        .collect();
    (dec, m.converged)
}

impl Estimator for Svm {
    type Fitted = SvmModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<SvmModel> {
        train.check_shapes()?;
        check_finite(train.x, Some(train.features), "SVM")?;
        let n = train.x.n_rows();
        let weights: Vec<f64> = match train.weights {
            Some(w) => {
                if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
                    return Err(Error::InvalidData(format!(
                        "sample weight at row {i} must be finite and >= 0, got {}",
                        w[i]
                    )));
                }
                w.to_vec()
            }
            None => vec![1.0; n],
        };
        // scikit-learn's libsvm drops rows of zero weight.
        let kept: Vec<usize> = (0..n).filter(|&i| weights[i] > 0.0).collect();
        if kept.is_empty() {
            return Err(Error::InvalidData(
                "every sample weight is 0; nothing to fit the SVM on".into(),
            ));
        }
        let kernel = self.resolve_kernel(train.x);
        let d = train.x.n_cols();
        let mut rows = Vec::with_capacity(kept.len() * d);
        let mut buf = vec![0.0; d];
        for &i in &kept {
            train.x.row_into(i, &mut buf);
            rows.extend_from_slice(&buf);
        }
        let data = KernelData::new(rows, d, kernel.function());
        // A classification fit runs at least six machines (final + probability folds) in
        // parallel; its kernel rows are then computed on the machine's own thread.
        let data = match train.y {
            Target::Classes { .. } => data.sequential_rows(),
            Target::Real(_) => data,
        };
        match train.y {
            Target::Classes { labels, n_classes } => {
                let mult = self.class_multipliers(labels, *n_classes)?;
                let input = ClassifierInput {
                    kept: &kept,
                    labels,
                    n_classes: *n_classes,
                    weights: &weights,
                    class_mult: &mult,
                };
                self.fit_classifier(&data, &input, kernel)
            }
            Target::Real(y) => {
                if let Some(i) = y.iter().position(|v| !v.is_finite()) {
                    return Err(Error::InvalidData(format!(
                        "target at row {i} is not finite ({})",
                        y[i]
                    )));
                }
                Ok(self.fit_regressor(&data, &kept, y, &weights, kernel))
            }
        }
    }
}

impl SvmModel {
    /// The kernel with its resolved `γ`.
    pub fn kernel(&self) -> FittedKernel {
        self.kernel
    }

    /// Number of support vectors per class (classes with training rows, in index order),
    /// or one count for regression (scikit-learn's `n_support_`).
    pub fn n_support(&self) -> &[usize] {
        &self.n_support
    }

    /// Training-row index of each support vector. Like scikit-learn's `support_`, except
    /// that rows of zero sample weight are counted (scikit-learn numbers only the rows it
    /// kept).
    pub fn support(&self) -> &[usize] {
        &self.support
    }

    /// Dual coefficients in scikit-learn's convention (`dual_coef_`): libsvm's `sv_coef`,
    /// negated for two classes so that positive decision values mean class 1.
    pub fn dual_coef(&self) -> Vec<Vec<f64>> {
        let flip = self.flips_sign();
        self.dual_coef
            .iter()
            .map(|r| r.iter().map(|v| if flip { -v } else { *v }).collect())
            .collect()
    }

    /// Intercepts in scikit-learn's convention (`intercept_`): `−ρ` per machine, `+ρ` for
    /// two classes.
    pub fn intercept(&self) -> Vec<f64> {
        let flip = self.flips_sign();
        self.rho
            .iter()
            .map(|r| if flip { *r } else { -r })
            .collect()
    }

    /// SMO iterations of each final machine (scikit-learn's `n_iter_`).
    pub fn n_iter(&self) -> &[usize] {
        &self.n_iter
    }

    /// Whether every machine met the tolerance within `max_iter`.
    pub fn converged(&self) -> bool {
        self.converged
    }

    fn flips_sign(&self) -> bool {
        self.classes.len() == 2
    }

    /// The linear kernel's primal weights per machine.
    fn primal_weights(&self) -> Option<Vec<Vec<f64>>> {
        if self.kernel != FittedKernel::Linear {
            return None;
        }
        let d = self.n_features;
        let sv = |s: usize| &self.support_vectors[s * d..(s + 1) * d];
        let w = self
            .machine_ranges()
            .map(|terms| {
                let mut w = vec![0.0; d];
                for (s, coef) in terms {
                    for (wj, xj) in w.iter_mut().zip(sv(s)) {
                        *wj += coef * xj;
                    }
                }
                w
            })
            .collect();
        Some(w)
    }

    /// For each machine, its `(support vector, coefficient)` terms (libsvm's layout).
    fn machine_ranges(&self) -> impl Iterator<Item = Vec<(usize, f64)>> + '_ {
        let k = self.classes.len();
        let starts: Vec<usize> = self
            .n_support
            .iter()
            .scan(0, |acc, &c| {
                let s = *acc;
                *acc += c;
                Some(s)
            })
            .collect();
        let regression = k == 0;
        let pairs: Vec<(usize, usize)> = if regression {
            vec![(0, 0)]
        } else {
            (0..k)
                .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
                .collect()
        };
        pairs.into_iter().map(move |(a, b)| {
            if regression {
                return self.dual_coef[0].iter().copied().enumerate().collect();
            }
            let ra = starts[a]..starts[a] + self.n_support[a];
            let rb = starts[b]..starts[b] + self.n_support[b];
            ra.map(|s| (s, self.dual_coef[b - 1][s]))
                .chain(rb.map(|s| (s, self.dual_coef[a][s])))
                .collect()
        })
    }

    fn check_input(&self, x: &Matrix) -> Result<()> {
        if x.n_cols() != self.n_features {
            return Err(Error::SchemaMismatch(format!(
                "SVM was fitted on {} features, got {}",
                self.n_features,
                x.n_cols()
            )));
        }
        check_finite(x, None, "SVM")
    }

    /// libsvm's decision values (one per machine, positive = the pair's first class) for
    /// every row: row-major `n × n_machines`.
    fn raw_decisions(&self, x: &Matrix) -> Vec<f64> {
        let d = self.n_features;
        let n_m = self.rho.len();
        let n = x.n_rows();
        let mut out = vec![0.0; n * n_m];
        let machines: Vec<Vec<(usize, f64)>> = if self.linear_w.is_some() {
            Vec::new()
        } else {
            self.machine_ranges().collect()
        };
        let n_sv = self.support.len();
        let sv_data = KernelData::new(self.support_vectors.clone(), d, self.kernel.function());
        let all_sv: Vec<usize> = (0..n_sv).collect();
        out.par_chunks_mut(BLOCK_ROWS * n_m)
            .enumerate()
            .for_each(|(b, chunk)| {
                let mut z = vec![0.0; d];
                let mut kv = vec![0.0; n_sv];
                for (t, o) in chunk.chunks_mut(n_m).enumerate() {
                    x.row_into(b * BLOCK_ROWS + t, &mut z);
                    if let Some(ws) = &self.linear_w {
                        for ((ov, w), rho) in o.iter_mut().zip(ws).zip(&self.rho) {
                            *ov = kernel::dot(w, &z) - rho;
                        }
                        continue;
                    }
                    let z_sq = kernel::dot(&z, &z);
                    sv_data.k_points(&all_sv, &z, z_sq, &mut kv);
                    for ((ov, terms), rho) in o.iter_mut().zip(&machines).zip(&self.rho) {
                        *ov = terms.iter().map(|&(s, c)| c * kv[s]).sum::<f64>() - rho;
                    }
                }
            });
        out
    }

    /// Decision values in scikit-learn's convention: regression and two classes give one
    /// column (positive = class 1); more classes give the one-vs-one columns of
    /// `decision_function_shape="ovo"` (pairs `(0,1), (0,2), …`, positive = the first).
    pub fn decision_function(&self, x: &Matrix) -> Result<Matrix> {
        self.check_input(x)?;
        let n_m = self.rho.len();
        let mut raw = self.raw_decisions(x);
        if self.flips_sign() {
            raw.iter_mut().for_each(|v| *v = -*v);
        }
        Matrix::from_row_major(x.n_rows(), n_m, &raw)
    }

    /// Class probabilities (libsvm's `svm_predict_probability`): `n × n_classes`; classes
    /// without training rows get 0.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Matrix> {
        let (Task::Binary | Task::Multiclass { .. }) = self.task else {
            return Err(Error::InvalidData(
                "probabilities need a classifier; this SVM is a regressor".into(),
            ));
        };
        self.check_input(x)?;
        let n_m = self.rho.len();
        let raw = self.raw_decisions(x);
        let k = self.classes.len();
        let mut proba = Matrix::zeros(x.n_rows(), self.task.n_outputs());
        let pairs: Vec<(usize, usize)> = (0..k)
            .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
            .collect();
        let mut r = vec![vec![0.0; k]; k];
        for (i, dec) in raw.chunks(n_m).enumerate() {
            for (m, &(a, b)) in pairs.iter().enumerate() {
                let p = platt::sigmoid_predict(dec[m], self.prob_a[m], self.prob_b[m])
                    .clamp(MIN_PROB, 1.0 - MIN_PROB);
                r[a][b] = p;
                r[b][a] = 1.0 - p;
            }
            let p = if k == 2 {
                vec![r[0][1], r[1][0]]
            } else {
                platt::multiclass_probability(&r)
            };
            for (&cls, pv) in self.classes.iter().zip(p) {
                proba.set(i, cls as usize, pv);
            }
        }
        Ok(proba)
    }
}

impl Predictor for SvmModel {
    fn task(&self) -> Task {
        self.task
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        match self.task {
            Task::Regression => {
                self.check_input(x)?;
                Ok(Prediction::Values(self.raw_decisions(x)))
            }
            _ => Ok(Prediction::Probabilities(self.predict_proba(x)?)),
        }
    }
}
