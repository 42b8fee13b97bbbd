//! In-processing: Fairlearn 0.15's `ExponentiatedGradient` (Agarwal et al., "A Reductions
//! Approach to Fair Classification", 2018) with the `DemographicParity` or `EqualizedOdds`
//! moment and the default `ErrorRate` objective, ported step for step.
//!
//! The reduction plays a game between the learner and a vector `λ` of Lagrange multipliers,
//! one per constraint `(sign, event, group)`: each round turns `λ` into a weighted
//! classification problem (relabeled targets and sample weights, [`Moments::signed_weights`])
//! that the base learner solves (its best response), and moves `λ` by exponentiated gradient
//! on the constraint violations `γ` of the learner's answer. Every answer is kept; the result
//! is a randomized classifier: a mixture of the answers with weights (the averaged plays, or
//! the saddle point of the linear program over the answers found so far, whichever has the
//! smaller duality gap). Its probability of answering 1 on a row is
//! [`pmf`]`= Σ_j w_j·h_j(x)` (Fairlearn's `_pmf_predict`).
//!
//! The base learner is a closure: given the relabeled targets and the weights, it fits
//! whatever model the caller likes and returns it with its 0/1 predictions on the training
//! rows. The protected column is needed here, at fit time, and never by the fitted mixture.

use serde::{Deserialize, Serialize};

use super::linprog::linprog;
use super::thresholds::Constraint;
use super::{Error, GroupCodes};

// Fairlearn's `_constants.py`.
const PRECISION: f64 = 1e-8;
const ACCURACY_MUL: f64 = 0.5;
const REGRET_CHECK_START_T: usize = 5;
const REGRET_CHECK_INCREASE_T: f64 = 1.6;
const SHRINK_REGRET: f64 = 0.8;
const SHRINK_ETA: f64 = 0.8;
const MIN_ITER: usize = 5;

/// The settings of the reduction (Fairlearn's names and defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExpGradParams {
    /// The fairness constraint.
    pub constraint: Constraint,
    /// The constraint's `difference_bound`: how far a group's rate may be from the overall
    /// rate (default 0.01).
    pub difference_bound: f64,
    /// Allowed constraint violation: bounds `‖λ‖₁ ≤ B = 1/eps` (default 0.01).
    pub eps: f64,
    /// Most rounds (default 50).
    pub max_iter: usize,
    /// Duality gap at which the game stops (default: `0.5·std(|h(x) − y|)/√n` of the first
    /// answer).
    pub nu: Option<f64>,
    /// Initial learning rate, divided by `B` (default 2.0).
    pub eta0: f64,
    /// Whether each round also solves the linear program over the answers so far (default
    /// true).
    pub run_linprog_step: bool,
}

impl Default for ExpGradParams {
    fn default() -> Self {
        ExpGradParams {
            constraint: Constraint::DemographicParity,
            difference_bound: 0.01,
            eps: 0.01,
            max_iter: 50,
            nu: None,
            eta0: 2.0,
            run_linprog_step: true,
        }
    }
}

impl ExpGradParams {
    /// Checks every setting; the error names the setting and the rule.
    pub fn check(&self) -> Result<(), Error> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error(format!(
                    "{name} must be a finite number > 0, got {v}"
                )))
            }
        };
        positive("eps", self.eps)?;
        positive("eta0", self.eta0)?;
        if !(self.difference_bound.is_finite() && self.difference_bound >= 0.0) {
            return Err(Error(format!(
                "difference_bound must be a finite number >= 0, got {}",
                self.difference_bound
            )));
        }
        if let Some(nu) = self.nu {
            if !(nu.is_finite() && nu >= 0.0) {
                return Err(Error(format!("nu must be a finite number >= 0, got {nu}")));
            }
        }
        if self.max_iter == 0 {
            return Err(Error("max_iter must be at least 1, got 0".into()));
        }
        Ok(())
    }
}

/// One constraint (Fairlearn's index entry `(sign, event, group_id)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstraintId {
    /// `+` (group rate above the event's rate) or `-`.
    pub sign: String,
    /// `all` for demographic parity, `label=0` / `label=1` for equalized odds.
    pub event: String,
    /// The protected group.
    pub group: String,
}

/// One answer of the base learner: a fitted model, or the constant Fairlearn's
/// `DummyClassifier` gives when the relabeled targets are all one class.
#[derive(Debug, Clone, PartialEq)]
pub enum Component<M> {
    /// Always this class (0 or 1).
    Constant(u32),
    /// A model fitted on relabeled targets and weights.
    Fitted(M),
}

/// The base learner's failure, or a broken input of the reduction itself.
#[derive(Debug)]
pub enum FitError<E> {
    /// The labels, groups or settings break a rule.
    Input(Error),
    /// The base learner failed.
    Learner(E),
}

impl<E> From<Error> for FitError<E> {
    fn from(e: Error) -> Self {
        FitError::Input(e)
    }
}

/// The fitted mixture and the trace of the game (Fairlearn's fitted attributes).
#[derive(Debug, Clone)]
pub struct ExpGradFit<M> {
    /// The constraints, in Fairlearn's order (`+` then `-`, each by event then group).
    pub constraints: Vec<ConstraintId>,
    /// Every answer kept (`predictors_`), in the order found.
    pub predictors: Vec<Component<M>>,
    /// Their weights in the mixture (`weights_`; zero for answers left out).
    pub weights: Vec<f64>,
    /// Each answer's training error.
    pub errors: Vec<f64>,
    /// Each answer's constraint values `γ` (one per constraint).
    pub gammas: Vec<Vec<f64>>,
    /// The `λ` at which each answer was found (`lambda_vecs_`).
    pub lambdas: Vec<Vec<f64>>,
    /// `λ` of every round (`lambda_vecs_EG_`).
    pub lambda_vecs_eg: Vec<Vec<f64>>,
    /// The linear program's `λ` of every round from the second (`lambda_vecs_LP_`).
    pub lambda_vecs_lp: Vec<Vec<f64>>,
    /// The round whose mixture was kept (`best_iter_`).
    pub best_iter: usize,
    /// Its duality gap (`best_gap_`).
    pub best_gap: f64,
    /// The last round played (`last_iter_`).
    pub last_iter: usize,
    /// The duality gap the game stopped at, given or automatic.
    pub nu: f64,
    /// Calls of the learner, constants included (`n_oracle_calls_`).
    pub n_oracle_calls: usize,
    /// Calls answered by a constant (`n_oracle_calls_dummy_returned_`).
    pub n_oracle_calls_dummy_returned: usize,
}

/// What a report shows of a fit (no models).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpGradSummary {
    /// The settings, with the automatic `nu` filled in.
    pub params: ExpGradParams,
    /// The constraints.
    pub constraints: Vec<ConstraintId>,
    /// Answers found.
    pub n_predictors: usize,
    /// Answers with a positive weight (what the mixture keeps).
    pub n_used: usize,
    /// The mixture's weights over the answers kept, in order.
    pub weights: Vec<f64>,
    /// The mixture's expected training error.
    pub error: f64,
    /// The mixture's expected constraint values `γ` on the training rows.
    pub gamma: Vec<f64>,
    /// See [`ExpGradFit::best_iter`].
    pub best_iter: usize,
    /// See [`ExpGradFit::best_gap`].
    pub best_gap: f64,
    /// See [`ExpGradFit::last_iter`].
    pub last_iter: usize,
    /// Learner calls.
    pub n_oracle_calls: usize,
    /// Learner calls answered by a constant.
    pub n_oracle_calls_dummy_returned: usize,
}

impl<M> ExpGradFit<M> {
    /// The report's view of the fit (`params` as given, `nu` as used).
    pub fn summary(&self, params: &ExpGradParams) -> ExpGradSummary {
        let used: Vec<usize> = (0..self.weights.len())
            .filter(|&j| self.weights[j] > 0.0)
            .collect();
        let k = self.constraints.len();
        let error = used.iter().map(|&j| self.errors[j] * self.weights[j]).sum();
        let gamma = (0..k)
            .map(|c| {
                used.iter()
                    .map(|&j| self.gammas[j][c] * self.weights[j])
                    .sum()
            })
            .collect();
        ExpGradSummary {
            params: ExpGradParams {
                nu: Some(self.nu),
                ..*params
            },
            constraints: self.constraints.clone(),
            n_predictors: self.predictors.len(),
            n_used: used.len(),
            weights: used.iter().map(|&j| self.weights[j]).collect(),
            error,
            gamma,
            best_iter: self.best_iter,
            best_gap: self.best_gap,
            last_iter: self.last_iter,
            n_oracle_calls: self.n_oracle_calls,
            n_oracle_calls_dummy_returned: self.n_oracle_calls_dummy_returned,
        }
    }

    /// The answers with a positive weight and their weights: all a mixture needs to predict.
    pub fn into_mixture(self) -> Vec<(Component<M>, f64)> {
        self.predictors
            .into_iter()
            .zip(self.weights)
            .filter(|(_, w)| *w > 0.0)
            .collect()
    }
}

/// The mixture's probability of answering 1 on each row (Fairlearn's `_pmf_predict`,
/// positive column): `Σ_j weights[j]·predictions[j][i]`, summed in component order.
pub fn pmf(weights: &[f64], predictions: &[Vec<u32>]) -> Vec<f64> {
    let n = predictions.first().map_or(0, Vec::len);
    let mut p = vec![0.0; n];
    for (w, h) in weights.iter().zip(predictions) {
        for (pi, &hi) in p.iter_mut().zip(h) {
            *pi += w * f64::from(hi);
        }
    }
    p
}

/// The utility-parity moment on the training rows (Fairlearn's `UtilityParity` with
/// difference bounds, `ratio = 1`) and the error-rate objective.
pub struct Moments {
    n: usize,
    y: Vec<f64>,
    /// Each row's cell (an `(event, group)` pair present in the data).
    cell_of: Vec<usize>,
    /// Cells sorted by event then group: `(event, group)` indices.
    cells: Vec<(usize, usize)>,
    p_event: Vec<f64>,
    p_cell: Vec<f64>,
    bound: f64,
    ids: Vec<ConstraintId>,
}

impl Moments {
    /// Loads labels (0/1) and groups.
    pub fn new(
        constraint: Constraint,
        difference_bound: f64,
        groups: &GroupCodes,
        labels: &[u32],
    ) -> Result<Moments, Error> {
        let n = labels.len();
        if groups.codes.len() != n {
            return Err(Error(format!(
                "{} group codes for {n} labels",
                groups.codes.len()
            )));
        }
        if n == 0 {
            return Err(Error("no rows to fit on".into()));
        }
        if let Some(i) = labels.iter().position(|&l| l > 1) {
            return Err(Error(format!(
                "exponentiated gradient needs binary labels (0/1); row {} has class code {}",
                i + 1,
                labels[i]
            )));
        }
        let (event_names, event_of): (Vec<String>, Vec<usize>) = match constraint {
            Constraint::DemographicParity => (vec!["all".into()], vec![0; n]),
            Constraint::EqualizedOdds => {
                let mut present = [false; 2];
                for &l in labels {
                    present[l as usize] = true;
                }
                let names: Vec<String> = (0..2)
                    .filter(|&l| present[l])
                    .map(|l| format!("label={l}"))
                    .collect();
                let index = |l: u32| usize::from(present[0] && l == 1);
                (names, labels.iter().map(|&l| index(l)).collect())
            }
        };
        let n_groups = groups.names.len();
        let mut count = vec![0usize; event_names.len() * n_groups];
        for (i, &g) in groups.codes.iter().enumerate() {
            count[event_of[i] * n_groups + g as usize] += 1;
        }
        let mut cell_index = vec![usize::MAX; count.len()];
        let mut cells = Vec::new();
        let mut p_cell = Vec::new();
        for (k, &c) in count.iter().enumerate() {
            if c > 0 {
                cell_index[k] = cells.len();
                cells.push((k / n_groups, k % n_groups));
                p_cell.push(c as f64 / n as f64);
            }
        }
        let mut event_count = vec![0usize; event_names.len()];
        for &e in &event_of {
            event_count[e] += 1;
        }
        let p_event = event_count.iter().map(|&c| c as f64 / n as f64).collect();
        let cell_of = (0..n)
            .map(|i| cell_index[event_of[i] * n_groups + groups.codes[i] as usize])
            .collect();
        let mut ids = Vec::with_capacity(2 * cells.len());
        for sign in ["+", "-"] {
            for &(e, g) in &cells {
                ids.push(ConstraintId {
                    sign: sign.into(),
                    event: event_names[e].clone(),
                    group: groups.names[g].clone(),
                });
            }
        }
        Ok(Moments {
            n,
            y: labels.iter().map(|&l| f64::from(l)).collect(),
            cell_of,
            cells,
            p_event,
            p_cell,
            bound: difference_bound,
            ids,
        })
    }

    /// The constraints, in order.
    pub fn ids(&self) -> &[ConstraintId] {
        &self.ids
    }

    fn k(&self) -> usize {
        self.ids.len()
    }

    /// `ErrorRate.gamma`: the share of rows where `pred` differs from the label.
    pub fn error(&self, pred: &[f64]) -> f64 {
        let (mut fn_cost, mut fp_cost) = (0.0, 0.0);
        for (&y, &p) in self.y.iter().zip(pred) {
            let d = y - p;
            if d > 0.0 {
                fn_cost += d;
            } else if d < 0.0 {
                fp_cost -= d;
            }
        }
        (fn_cost + fp_cost) / self.n as f64
    }

    /// `UtilityParity.gamma`: for `(+, e, g)`, the rate of `pred` in group `g` minus the rate
    /// over event `e` (`-` the opposite).
    pub fn gamma(&self, pred: &[f64]) -> Vec<f64> {
        let n_cells = self.cells.len();
        let mut cell_sum = vec![0.0; n_cells];
        for (&c, &p) in self.cell_of.iter().zip(pred) {
            cell_sum[c] += p;
        }
        let mut event_sum = vec![0.0; self.p_event.len()];
        for (c, &(e, _)) in self.cells.iter().enumerate() {
            event_sum[e] += cell_sum[c];
        }
        let n = self.n as f64;
        let mut g = vec![0.0; 2 * n_cells];
        for (c, &(e, _)) in self.cells.iter().enumerate() {
            let u = event_sum[e] / self.p_event[e] - cell_sum[c] / self.p_cell[c];
            g[c] = -u / n;
            g[n_cells + c] = u / n;
        }
        g
    }

    /// `project_lambda` (ratio 1): within each event, `λ⁺ − λ⁻` shifted by the multiple of
    /// `P(g | e)` that a weighted median gives, then split into its positive and negative
    /// parts.
    pub fn project_lambda(&self, lambda: &[f64]) -> Vec<f64> {
        let n_cells = self.cells.len();
        let mut signed: Vec<f64> = (0..n_cells)
            .map(|c| lambda[c] - lambda[n_cells + c])
            .collect();
        for e in 0..self.p_event.len() {
            let members: Vec<usize> = (0..n_cells).filter(|&c| self.cells[c].0 == e).collect();
            if members.is_empty() {
                continue;
            }
            let prob: Vec<f64> = members
                .iter()
                .map(|&c| self.p_cell[c] / self.p_event[e])
                .collect();
            let normalized: Vec<f64> = members
                .iter()
                .zip(&prob)
                .map(|(&c, p)| signed[c] / p)
                .collect();
            let mut order: Vec<usize> = (0..members.len()).collect();
            order.sort_by(|&a, &b| normalized[a].total_cmp(&normalized[b]));
            let half = prob.iter().sum::<f64>() / 2.0;
            let mut cumulative = 0.0;
            let mut median = order[order.len() - 1];
            for &o in &order {
                cumulative += prob[o];
                // numpy's searchsorted (side "left"): the first cumulative sum >= half.
                if cumulative >= half {
                    median = o;
                    break;
                }
            }
            let shift = normalized[median];
            for (m, &c) in members.iter().enumerate() {
                signed[c] -= prob[m] * shift;
            }
        }
        let mut out = vec![0.0; 2 * n_cells];
        for c in 0..n_cells {
            out[c] = signed[c].max(0.0);
            out[n_cells + c] = (-signed[c]).max(0.0);
        }
        out
    }

    /// The signed weights of every row: the objective's `2y − 1` plus the constraints'
    /// `(U·λ)_i` (the cost of answering 1 instead of 0 on row `i`, negated).
    pub fn signed_weights(&self, lambda: &[f64]) -> Vec<f64> {
        let n_cells = self.cells.len();
        let mut event_term = vec![0.0; self.p_event.len()];
        for (c, &(e, _)) in self.cells.iter().enumerate() {
            event_term[e] += (lambda[c] - lambda[n_cells + c]) / self.p_event[e];
        }
        let per_cell: Vec<f64> = self
            .cells
            .iter()
            .enumerate()
            .map(|(c, &(e, _))| event_term[e] - (lambda[c] - lambda[n_cells + c]) / self.p_cell[c])
            .collect();
        self.y
            .iter()
            .zip(&self.cell_of)
            .map(|(&y, &c)| (-1.0 + 2.0 * y) + per_cell[c])
            .collect()
    }
}

struct Answer<M> {
    component: Component<M>,
    error: f64,
    gamma: Vec<f64>,
    lambda: Vec<f64>,
}

/// A mixture over answers: `(answer index, weight)` in Fairlearn's index order.
type Mix = Vec<(usize, f64)>;

struct GapResult {
    l: f64,
    l_low: f64,
    l_high: f64,
}

impl GapResult {
    fn gap(&self) -> f64 {
        (self.l - self.l_low).max(self.l_high - self.l)
    }
}

struct Lagrangian<'a, M, E, F> {
    moments: &'a Moments,
    learner: F,
    b: f64,
    answers: Vec<Answer<M>>,
    n_oracle_calls: usize,
    n_dummy: usize,
    last_linprog_n: usize,
    last_linprog: Option<(Mix, Vec<f64>, GapResult)>,
    _error: std::marker::PhantomData<E>,
}

impl<M, E, F> Lagrangian<'_, M, E, F>
where
    F: FnMut(&[u32], &[f64]) -> Result<(M, Vec<u32>), E>,
{
    /// `_call_oracle`: the learner's (or the constant's) answer to `λ`, with its training
    /// predictions.
    fn call_oracle(&mut self, lambda: &[f64]) -> Result<(Component<M>, Vec<f64>), FitError<E>> {
        let signed = self.moments.signed_weights(lambda);
        let red_y: Vec<u32> = signed.iter().map(|&s| u32::from(s > 0.0)).collect();
        let total: f64 = signed.iter().map(|s| s.abs()).sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(FitError::Input(Error(format!(
                "the reduction's sample weights sum to {total}; no classification problem to solve"
            ))));
        }
        let n = self.moments.n as f64;
        let red_w: Vec<f64> = signed.iter().map(|s| n * s.abs() / total).collect();
        self.n_oracle_calls += 1;
        if red_y.iter().all(|&y| y == red_y[0]) {
            self.n_dummy += 1;
            let c = red_y[0];
            return Ok((Component::Constant(c), vec![f64::from(c); red_y.len()]));
        }
        let (model, pred) = (self.learner)(&red_y, &red_w).map_err(FitError::Learner)?;
        if pred.len() != red_y.len() {
            return Err(FitError::Input(Error(format!(
                "the base learner predicted {} rows of {}",
                pred.len(),
                red_y.len()
            ))));
        }
        Ok((
            Component::Fitted(model),
            pred.iter().map(|&p| f64::from(p.min(1))).collect(),
        ))
    }

    fn value(&self, j: usize, lambda: &[f64]) -> f64 {
        let a = &self.answers[j];
        a.error + dot(&a.gamma, lambda)
    }

    /// `best_h`: the answer to `λ` (a new one when it beats every kept answer by more than
    /// 1e-8) and its index; the new answer's training predictions come along.
    fn best_h(&mut self, lambda: &[f64]) -> Result<(usize, Option<Vec<f64>>), FitError<E>> {
        let (component, pred) = self.call_oracle(lambda)?;
        let error = self.moments.error(&pred);
        let gamma = self.moments.gamma(&pred);
        let h_value = error + dot(&gamma, lambda);
        let (mut best, mut best_value) = (usize::MAX, f64::INFINITY);
        for j in 0..self.answers.len() {
            let v = self.value(j, lambda);
            if v < best_value {
                best = j;
                best_value = v;
            }
        }
        if h_value < best_value - PRECISION {
            self.answers.push(Answer {
                component,
                error,
                gamma,
                lambda: lambda.to_vec(),
            });
            return Ok((self.answers.len() - 1, Some(pred)));
        }
        if best == usize::MAX {
            return Err(FitError::Input(Error(format!(
                "the base learner's answer has no finite value (error {error})"
            ))));
        }
        Ok((best, None))
    }

    /// `_eval`: `(L, L_high, γ, error)` of mixture `q` against `λ` (projected).
    fn eval(&self, q: &[(usize, f64)], lambda: &[f64]) -> (f64, f64, Vec<f64>, f64) {
        let k = self.moments.k();
        let error: f64 = q.iter().map(|&(j, w)| self.answers[j].error * w).sum();
        let gamma: Vec<f64> = (0..k)
            .map(|c| q.iter().map(|&(j, w)| self.answers[j].gamma[c] * w).sum())
            .collect();
        let lambda = self.moments.project_lambda(lambda);
        let bound = self.moments.bound;
        let l = error
            + lambda
                .iter()
                .zip(&gamma)
                .map(|(l, g)| l * (g - bound))
                .sum::<f64>();
        let max_constraint = gamma
            .iter()
            .map(|g| g - bound)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut l_high = error;
        if max_constraint > 0.0 {
            l_high += self.b * max_constraint;
        }
        (l, l_high, gamma, error)
    }

    /// `eval_gap`: the duality gap of `q` against `λ̂`, `L_low` from best responses to
    /// `λ̂` scaled by 1, 2, 5 and 10 (stopping once the gap passes `nu`).
    fn eval_gap(
        &mut self,
        q: &[(usize, f64)],
        lambda_hat: &[f64],
        nu: f64,
    ) -> Result<GapResult, FitError<E>> {
        let (l, l_high, _, _) = self.eval(q, lambda_hat);
        let mut result = GapResult {
            l,
            l_low: l,
            l_high,
        };
        for mul in [1.0, 2.0, 5.0, 10.0] {
            let scaled: Vec<f64> = lambda_hat.iter().map(|v| mul * v).collect();
            let (h, _) = self.best_h(&scaled)?;
            let (l_low_mul, ..) = self.eval(&[(h, 1.0)], lambda_hat);
            if l_low_mul < result.l_low {
                result.l_low = l_low_mul;
            }
            if result.gap() > nu + PRECISION {
                break;
            }
        }
        Ok(result)
    }

    /// `solve_linprog`: the saddle point over the answers so far (the primal gives the
    /// mixture, the dual `λ`), and its gap; solved again only when answers were added.
    fn solve_linprog(&mut self, nu: f64) -> Result<(Mix, Vec<f64>, f64), FitError<E>> {
        let n_hs = self.answers.len();
        if self.last_linprog_n == n_hs {
            if let Some((q, lambda, gap)) = &self.last_linprog {
                return Ok((q.clone(), lambda.clone(), gap.gap()));
            }
        }
        let k = self.moments.k();
        let bound = self.moments.bound;
        let mut c: Vec<f64> = self.answers.iter().map(|a| a.error).collect();
        c.push(self.b);
        let a_ub: Vec<Vec<f64>> = (0..k)
            .map(|r| {
                let mut row: Vec<f64> = self.answers.iter().map(|a| a.gamma[r] - bound).collect();
                row.push(-1.0);
                row
            })
            .collect();
        let b_ub = vec![0.0; k];
        let mut a_eq = vec![1.0; n_hs];
        a_eq.push(0.0);
        let no_solution = |what: &str| {
            FitError::Input(Error(format!("the {what} linear program has no solution")))
        };
        let x = linprog(
            &c,
            &a_ub,
            &b_ub,
            &[a_eq.clone()],
            &[1.0],
            &vec![false; n_hs + 1],
        )
        .ok_or_else(|| no_solution("primal"))?;
        let q: Mix = (0..n_hs).map(|j| (j, x[j])).collect();
        // The dual as Fairlearn states it: min -μ s.t. -A_ubᵀλ + A_eqᵀμ ≤ c, λ ≥ 0, μ free.
        let mut dual_c = vec![0.0; k];
        dual_c.push(-1.0);
        let dual_a: Vec<Vec<f64>> = (0..=n_hs)
            .map(|j| {
                let mut row: Vec<f64> = (0..k).map(|r| -a_ub[r][j]).collect();
                row.push(a_eq[j]);
                row
            })
            .collect();
        let mut free = vec![false; k];
        free.push(true);
        let d =
            linprog(&dual_c, &dual_a, &c, &[], &[], &free).ok_or_else(|| no_solution("dual"))?;
        let lambda = d[..k].to_vec();
        self.last_linprog_n = n_hs;
        let gap = self.eval_gap(&q, &lambda, nu)?;
        let g = gap.gap();
        self.last_linprog = Some((q.clone(), lambda.clone(), gap));
        Ok((q, lambda, g))
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Fits the mixture: `ExponentiatedGradient(learner, constraint, eps, max_iter, nu, eta0,
/// run_linprog_step).fit(X, labels, sensitive_features=groups)`.
///
/// `learner(targets, weights)` fits on the training rows with 0/1 targets and sample weights
/// (summing to the number of rows) and returns the model with its 0/1 predictions on the
/// same rows, in order.
pub fn fit<M, E, F>(
    params: &ExpGradParams,
    groups: &GroupCodes,
    labels: &[u32],
    learner: F,
) -> Result<ExpGradFit<M>, FitError<E>>
where
    F: FnMut(&[u32], &[f64]) -> Result<(M, Vec<u32>), E>,
{
    params.check()?;
    let moments = Moments::new(params.constraint, params.difference_bound, groups, labels)?;
    let k = moments.k();
    let b = 1.0 / params.eps;
    let mut lag = Lagrangian {
        moments: &moments,
        learner,
        b,
        answers: Vec::new(),
        n_oracle_calls: 0,
        n_dummy: 0,
        last_linprog_n: 0,
        last_linprog: None,
        _error: std::marker::PhantomData,
    };
    let mut theta = vec![0.0; k];
    // Qsum in insertion order: (answer, times played).
    let mut qsum: Vec<(usize, f64)> = Vec::new();
    let mut gaps_eg: Vec<f64> = Vec::new();
    let mut gaps: Vec<f64> = Vec::new();
    let mut qs: Vec<Mix> = Vec::new();
    let mut lambda_vecs_eg = Vec::new();
    let mut lambda_vecs_lp = Vec::new();
    let mut last_regret_checked = REGRET_CHECK_START_T;
    let mut last_gap = f64::INFINITY;
    let mut lambda_cumsum = vec![0.0; k];
    let mut nu = params.nu.unwrap_or(f64::NAN);
    let mut eta = f64::NAN;
    for t in 0..params.max_iter {
        let exp_theta: Vec<f64> = theta.iter().map(|v: &f64| v.exp()).collect();
        let denom = 1.0 + exp_theta.iter().sum::<f64>();
        let lambda: Vec<f64> = exp_theta.iter().map(|e| b * e / denom).collect();
        for (s, l) in lambda_cumsum.iter_mut().zip(&lambda) {
            *s += l;
        }
        let lambda_eg: Vec<f64> = lambda_cumsum.iter().map(|s| s / (t + 1) as f64).collect();
        lambda_vecs_eg.push(lambda.clone());

        let (h, fresh) = lag.best_h(&lambda)?;
        if t == 0 {
            if params.nu.is_none() {
                let pred = fresh.ok_or_else(|| {
                    FitError::Input(Error("the first answer was not kept".into()))
                })?;
                let abs: Vec<f64> = pred
                    .iter()
                    .zip(&moments.y)
                    .map(|(p, y)| (p - y).abs())
                    .collect();
                nu = ACCURACY_MUL * std_ddof1(&abs) / (moments.n as f64).sqrt();
            }
            eta = params.eta0 / b;
        }
        match qsum.iter_mut().find(|(j, _)| *j == h) {
            Some((_, c)) => *c += 1.0,
            None => qsum.push((h, 1.0)),
        }
        let gamma = lag.answers[h].gamma.clone();
        let total: f64 = qsum.iter().map(|(_, c)| c).sum();
        let q_eg: Mix = qsum.iter().map(|&(j, c)| (j, c / total)).collect();
        let gap_eg = lag.eval_gap(&q_eg, &lambda_eg, nu)?.gap();
        gaps_eg.push(gap_eg);

        let (gap_lp, q_lp) = if t == 0 || !params.run_linprog_step {
            (f64::INFINITY, None)
        } else {
            let (q, lambda_lp, gap) = lag.solve_linprog(nu)?;
            lambda_vecs_lp.push(lambda_lp);
            (gap, Some(q))
        };
        match q_lp {
            Some(q) if gap_eg >= gap_lp => {
                qs.push(q);
                gaps.push(gap_lp);
            }
            _ => {
                qs.push(q_eg);
                gaps.push(gap_eg);
            }
        }
        if gaps[t] < nu && t >= MIN_ITER {
            break;
        }
        if t as f64 >= last_regret_checked as f64 * REGRET_CHECK_INCREASE_T {
            let best_gap = gaps_eg.iter().copied().fold(f64::INFINITY, f64::min);
            if best_gap > last_gap * SHRINK_REGRET {
                eta *= SHRINK_ETA;
            }
            last_regret_checked = t;
            last_gap = best_gap;
        }
        for (th, g) in theta.iter_mut().zip(&gamma) {
            *th += eta * (g - moments.bound);
        }
    }
    let min_gap = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let best_iter = (0..gaps.len())
        .rev()
        .find(|&t| gaps[t] <= min_gap + PRECISION)
        .ok_or_else(|| FitError::Input(Error("no round was played".into())))?;
    let mut weights = vec![0.0; lag.answers.len()];
    for &(j, w) in &qs[best_iter] {
        weights[j] = w;
    }
    let (n_oracle_calls, n_dummy) = (lag.n_oracle_calls, lag.n_dummy);
    let answers = lag.answers;
    Ok(ExpGradFit {
        constraints: moments.ids.clone(),
        errors: answers.iter().map(|a| a.error).collect(),
        gammas: answers.iter().map(|a| a.gamma.clone()).collect(),
        lambdas: answers.iter().map(|a| a.lambda.clone()).collect(),
        predictors: answers.into_iter().map(|a| a.component).collect(),
        weights,
        lambda_vecs_eg,
        lambda_vecs_lp,
        best_iter,
        best_gap: gaps[best_iter],
        last_iter: qs.len() - 1,
        nu,
        n_oracle_calls,
        n_oracle_calls_dummy_returned: n_dummy,
    })
}

/// pandas' `Series.std()`: the sample standard deviation (ddof 1).
fn std_ddof1(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    (ss / (n - 1.0)).sqrt()
}
