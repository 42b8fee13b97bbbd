//! Hyperparameter search: grid, random and successive halving, cross-validated.
//!
//! - [`SearchSpec`] is what a config holds: a [`SearchSpec::Grid`] of values per parameter
//!   (expanded like scikit-learn's `ParameterGrid`: keys sorted, the last key varying
//!   fastest), a [`SearchSpec::Random`] search drawing `n_iter` candidates from
//!   [`Distribution`]s, or [`SearchSpec::Halving`] (scikit-learn's
//!   `HalvingGridSearchCV` / `HalvingRandomSearchCV`: every round keeps the best
//!   `ceil(n / factor)` candidates and multiplies the resource by `factor`).
//! - Parameters are set on any [`ModelSpec`] by editing its serde JSON and deserializing
//!   again ([`with_params`]), so every model family is searchable and unknown names are
//!   refused by the family's own `deny_unknown_fields`.
//! - [`run_search`] evaluates candidates × folds in parallel on a rayon pool of the given
//!   size through a caller-supplied evaluator; results are collected in task order, so they
//!   do not depend on the number of threads. Random draws come from ChaCha8 seeded by the
//!   caller's seed.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pipeline::ModelSpec;
use crate::{Error, Result};

/// One parameter assignment: parameter name → value.
pub type ParamSet = BTreeMap<String, Value>;

/// How a random search draws one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Uniform on `[low, high]` (scipy's `uniform(low, high - low)`).
    Uniform([f64; 2]),
    /// Log-uniform on `[low, high]`, both positive (scipy's `loguniform(low, high)`).
    LogUniform([f64; 2]),
    /// A uniform integer in `[low, high]`, both ends included.
    Int([i64; 2]),
    /// One of these values, each equally likely.
    Choice(Vec<Value>),
}

impl Distribution {
    /// Checks the range; the error names `name` and the rule.
    pub fn check(&self, name: &str) -> Result<()> {
        match self {
            Distribution::Uniform([lo, hi]) | Distribution::LogUniform([lo, hi]) => {
                if !lo.is_finite() || !hi.is_finite() {
                    return Err(Error::param(name, "range bounds must be finite"));
                }
                if lo > hi {
                    return Err(Error::param(
                        name,
                        format!("empty range: low {lo} is greater than high {hi}"),
                    ));
                }
                if matches!(self, Distribution::LogUniform(_)) && *lo <= 0.0 {
                    return Err(Error::param(
                        name,
                        format!("log_uniform needs positive bounds (log of {lo} is undefined)"),
                    ));
                }
            }
            Distribution::Int([lo, hi]) => {
                if lo > hi {
                    return Err(Error::param(
                        name,
                        format!("empty range: low {lo} is greater than high {hi}"),
                    ));
                }
            }
            Distribution::Choice(v) => {
                if v.is_empty() {
                    return Err(Error::param(name, "choice needs at least one value"));
                }
            }
        }
        Ok(())
    }

    /// One draw.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Value {
        match self {
            Distribution::Uniform([lo, hi]) => json_f64(lo + (hi - lo) * rng.random::<f64>()),
            Distribution::LogUniform([lo, hi]) => {
                let (a, b) = (lo.ln(), hi.ln());
                json_f64((a + (b - a) * rng.random::<f64>()).exp().clamp(*lo, *hi))
            }
            Distribution::Int([lo, hi]) => Value::from(rng.random_range(*lo..=*hi)),
            Distribution::Choice(v) => v[rng.random_range(0..v.len())].clone(),
        }
    }
}

fn json_f64(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// A random search: `n_iter` candidates, each parameter drawn independently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSpec {
    /// Number of candidates.
    pub n_iter: usize,
    /// Distribution per parameter.
    pub params: BTreeMap<String, Distribution>,
}

/// Where successive halving's candidates come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CandidateSource {
    /// Every combination of these values.
    Grid(BTreeMap<String, Vec<Value>>),
    /// `n_iter` random draws.
    Random(RandomSpec),
}

/// The smallest resource of the first halving round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MinResources {
    /// `exhaust` or `smallest`, as scikit-learn.
    Rule(MinResourcesRule),
    /// An explicit count.
    Count(usize),
}

/// scikit-learn's named rules for `min_resources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinResourcesRule {
    /// Start as high as possible so that the last round uses (nearly) `max_resources`.
    Exhaust,
    /// `2 · folds` (times the number of classes for classification) rows, or 1 for a
    /// parameter resource.
    Smallest,
}

impl Default for MinResources {
    fn default() -> Self {
        MinResources::Rule(MinResourcesRule::Exhaust)
    }
}

/// Successive halving (scikit-learn's `HalvingGridSearchCV` / `HalvingRandomSearchCV`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HalvingSpec {
    /// Candidates kept per round: `ceil(n / factor)`; the resource grows by `factor`.
    #[serde(default = "default_factor")]
    pub factor: f64,
    /// `n_samples` (training rows per fold) or an integer hyperparameter such as
    /// `n_estimators`.
    #[serde(default = "default_resource")]
    pub resource: String,
    /// Resource of the first round (default `exhaust`).
    #[serde(default)]
    pub min_resources: MinResources,
    /// Largest resource (default: the number of training rows; required for a parameter
    /// resource).
    #[serde(default)]
    pub max_resources: Option<usize>,
    /// Run extra rounds at the smallest resource until few enough candidates remain.
    #[serde(default)]
    pub aggressive_elimination: bool,
    /// The candidates of the first round.
    pub candidates: CandidateSource,
}

fn default_factor() -> f64 {
    3.0
}

fn default_resource() -> String {
    "n_samples".into()
}

/// A hyperparameter search, as written under a candidate's `search:` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SearchSpec {
    /// Every combination of these values.
    Grid(BTreeMap<String, Vec<Value>>),
    /// `n_iter` random draws.
    Random(RandomSpec),
    /// Successive halving.
    Halving(HalvingSpec),
}

/// Every combination of `grid`, like scikit-learn's `ParameterGrid` (keys in sorted order,
/// the last one varying fastest). An empty grid is one empty candidate.
pub fn expand_grid(grid: &BTreeMap<String, Vec<Value>>) -> Result<Vec<ParamSet>> {
    for (k, v) in grid {
        if v.is_empty() {
            return Err(Error::param(k, "grid lists no values"));
        }
    }
    let mut out: Vec<ParamSet> = vec![ParamSet::new()];
    for (k, values) in grid {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for base in &out {
            for v in values {
                let mut p = base.clone();
                p.insert(k.clone(), v.clone());
                next.push(p);
            }
        }
        out = next;
    }
    Ok(out)
}

/// `spec.n_iter` candidates drawn from `spec.params` (sorted parameter order) with ChaCha8
/// seeded by `seed`.
pub fn sample_random(spec: &RandomSpec, seed: u64) -> Result<Vec<ParamSet>> {
    if spec.n_iter == 0 {
        return Err(Error::param("n_iter", "must be at least 1"));
    }
    for (k, d) in &spec.params {
        d.check(k)?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok((0..spec.n_iter)
        .map(|_| {
            spec.params
                .iter()
                .map(|(k, d)| (k.clone(), d.sample(&mut rng)))
                .collect()
        })
        .collect())
}

impl CandidateSource {
    /// The candidates.
    pub fn candidates(&self, seed: u64) -> Result<Vec<ParamSet>> {
        match self {
            CandidateSource::Grid(g) => expand_grid(g),
            CandidateSource::Random(r) => sample_random(r, seed),
        }
    }
}

impl SearchSpec {
    /// The first-round candidates.
    pub fn candidates(&self, seed: u64) -> Result<Vec<ParamSet>> {
        match self {
            SearchSpec::Grid(g) => expand_grid(g),
            SearchSpec::Random(r) => sample_random(r, seed),
            SearchSpec::Halving(h) => h.candidates.candidates(seed),
        }
    }

    /// Checks ranges and that every searched parameter exists for `base`'s family.
    pub fn check(&self, base: &ModelSpec, seed: u64) -> Result<()> {
        let cands = self.candidates(seed)?;
        let names: Vec<&String> = match self {
            SearchSpec::Grid(g) => g.keys().collect(),
            SearchSpec::Random(r) => r.params.keys().collect(),
            SearchSpec::Halving(h) => match &h.candidates {
                CandidateSource::Grid(g) => g.keys().collect(),
                CandidateSource::Random(r) => r.params.keys().collect(),
            },
        };
        let known = param_names(base)?;
        for n in names {
            if !known.contains(n) {
                return Err(unknown_param(base, n, &known));
            }
        }
        if let SearchSpec::Halving(h) = self {
            if !(h.factor > 1.0 && h.factor.is_finite()) {
                return Err(Error::param(
                    "factor",
                    format!("must be greater than 1, got {}", h.factor),
                ));
            }
            if h.min_resources == MinResources::Count(0) {
                return Err(Error::param("min_resources", "must be at least 1"));
            }
            if h.resource != "n_samples" {
                if !known.contains(&h.resource) {
                    return Err(unknown_param(base, &h.resource, &known));
                }
                if h.max_resources.is_none() {
                    return Err(Error::param(
                        "max_resources",
                        format!(
                            "is required when the resource is the parameter {}",
                            h.resource
                        ),
                    ));
                }
                if cands.iter().any(|c| c.contains_key(&h.resource)) {
                    return Err(Error::param(
                        &h.resource,
                        "is the halving resource and cannot also be searched",
                    ));
                }
            }
        }
        for c in &cands {
            with_params(base, c)?;
        }
        Ok(())
    }
}

fn unknown_param(base: &ModelSpec, name: &str, known: &[String]) -> Error {
    Error::param(
        name,
        format!(
            "{} has no parameter of this name (its parameters: {})",
            base.kind(),
            known.join(", ")
        ),
    )
}

/// The parameter names of `spec`'s family (the keys of its serialized params).
pub fn param_names(spec: &ModelSpec) -> Result<Vec<String>> {
    let v = serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(v.get("params")
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default())
}

/// `spec` with `params` set, through its serde form (so unknown names and wrong types are
/// refused by the family's deserializer).
pub fn with_params(spec: &ModelSpec, params: &ParamSet) -> Result<ModelSpec> {
    if params.is_empty() {
        return Ok(spec.clone());
    }
    let mut v = serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?;
    let known = param_names(spec)?;
    let obj = v
        .get_mut("params")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::Internal(format!("{} has no params object", spec.kind())))?;
    for (k, val) in params {
        if !known.contains(k) {
            return Err(unknown_param(spec, k, &known));
        }
        obj.insert(k.clone(), val.clone());
    }
    serde_json::from_value(v).map_err(|e| {
        let names: Vec<&str> = params.keys().map(String::as_str).collect();
        Error::param(
            &names.join(", "),
            format!("value rejected by {}: {e}", spec.kind()),
        )
    })
}

/// Resources and candidate counts per round of successive halving, as scikit-learn's
/// `n_resources_` and `n_candidates_`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HalvingSchedule {
    /// Resource of the first round.
    pub min_resources: usize,
    /// Largest resource.
    pub max_resources: usize,
    /// Rounds needed so that the last one evaluates fewer than `factor` candidates.
    pub n_required_iterations: usize,
    /// Rounds possible between `min_resources` and `max_resources`.
    pub n_possible_iterations: usize,
    /// Resource per round.
    pub n_resources: Vec<usize>,
    /// Candidates per round.
    pub n_candidates: Vec<usize>,
}

/// scikit-learn's `floor(log(x, base))`, computed the same way (`ln x / ln base`).
fn floor_log(x: f64, base: f64) -> usize {
    (x.ln() / base.ln()).floor().max(0.0) as usize
}

/// The halving schedule for `n_candidates` first-round candidates, following
/// `BaseSuccessiveHalving._run_search`. `smallest` is the resource the `smallest` rule gives
/// (`2 · folds · classes` rows, or 1 for a parameter resource).
pub fn halving_schedule(
    n_candidates: usize,
    factor: f64,
    min_resources: MinResources,
    max_resources: usize,
    smallest: usize,
    aggressive_elimination: bool,
) -> Result<HalvingSchedule> {
    let mut min_r = match min_resources {
        MinResources::Count(c) => c,
        MinResources::Rule(_) => smallest,
    };
    if min_r == 0 {
        return Err(Error::param("min_resources", "must be at least 1"));
    }
    if n_candidates == 0 {
        return Err(Error::InvalidData(
            "halving search has no candidates".into(),
        ));
    }
    let n_required = 1 + floor_log(n_candidates as f64, factor);
    if min_resources == MinResources::Rule(MinResourcesRule::Exhaust) {
        let last = n_required - 1;
        min_r = min_r.max((max_resources as f64 / factor.powi(last as i32)).floor() as usize);
    }
    if min_r > max_resources {
        return Err(Error::param(
            "min_resources",
            format!("{min_r} is greater than max_resources {max_resources}"),
        ));
    }
    let n_possible = 1 + floor_log((max_resources / min_r) as f64, factor);
    let n_iter = if aggressive_elimination {
        n_required
    } else {
        n_possible.min(n_required)
    };
    let mut n_resources = Vec::with_capacity(n_iter);
    let mut counts = Vec::with_capacity(n_iter);
    let mut n = n_candidates;
    for itr in 0..n_iter {
        let power = if aggressive_elimination {
            (itr + n_possible).saturating_sub(n_required)
        } else {
            itr
        };
        let r = (factor.powi(power as i32) * min_r as f64) as usize;
        n_resources.push(r.min(max_resources));
        counts.push(n);
        n = (n as f64 / factor).ceil() as usize;
    }
    Ok(HalvingSchedule {
        min_resources: min_r,
        max_resources,
        n_required_iterations: n_required,
        n_possible_iterations: n_possible,
        n_resources,
        n_candidates: counts,
    })
}

/// Rows `rows` subsampled without replacement to `floor(fraction · len)` (at least 1), in
/// their original order; the choice depends only on `seed`.
pub fn subsample(rows: &[usize], fraction: f64, seed: u64) -> Vec<usize> {
    let n = ((fraction * rows.len() as f64) as usize).clamp(1, rows.len().max(1));
    if n >= rows.len() {
        return rows.to_vec();
    }
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    idx.shuffle(&mut rng);
    idx.truncate(n);
    idx.sort_unstable();
    idx.into_iter().map(|i| rows[i]).collect()
}

/// One unit of work handed to the evaluator: fit `params` on fold `fold`.
#[derive(Debug, Clone)]
pub struct FoldTask<'a> {
    /// Index of the candidate in [`SearchOutcome::evaluations`].
    pub evaluation: usize,
    /// The parameters (for a parameter resource, including it).
    pub params: &'a ParamSet,
    /// The fold.
    pub fold: usize,
    /// For the `n_samples` resource, the fraction of each fold's rows (train and
    /// validation) to use, and the seed of that subsample.
    pub subsample: Option<(f64, u64)>,
    /// Threads the evaluator may use for this one fit.
    pub threads: usize,
}

/// One evaluated candidate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluated<T> {
    /// Its parameters.
    pub params: ParamSet,
    /// The halving round (0 for grid and random search).
    pub iteration: usize,
    /// The resource it was given (halving only).
    pub n_resources: Option<usize>,
    /// Score per fold.
    pub fold_scores: Vec<f64>,
    /// Mean score.
    pub mean: f64,
    /// Population standard deviation of the fold scores.
    pub std: f64,
    /// Whatever the evaluator returned per fold.
    #[serde(skip)]
    pub outputs: Vec<T>,
}

/// The result of a search.
#[derive(Debug, Clone)]
pub struct SearchOutcome<T> {
    /// Every candidate of every round, in order.
    pub evaluations: Vec<Evaluated<T>>,
    /// Index of the best in `evaluations` (best mean of the last round; first on ties).
    pub best: usize,
    /// The halving schedule, for halving.
    pub schedule: Option<HalvingSchedule>,
    /// Each place where equal scores decided: a halving round whose cut fell among equal
    /// scores, or a best score shared by several configurations. The rule is always the
    /// same, and each note states it: the configuration listed first (grid order, or draw
    /// order for random candidates) wins.
    pub ties: Vec<String>,
}

/// What [`run_search`] needs besides the evaluator.
#[derive(Debug, Clone)]
pub struct SearchSettings {
    /// Number of folds.
    pub n_folds: usize,
    /// Whether a larger score is better.
    pub greater_is_better: bool,
    /// Seed for random candidates and halving subsamples.
    pub seed: u64,
    /// Thread budget: tasks run on a pool of this size.
    pub threads: usize,
    /// Training rows (the `n_samples` resource's default maximum).
    pub n_samples: usize,
    /// Number of classes (0 for regression), for the `smallest` rule.
    pub n_classes: usize,
}

/// Mean and population standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Runs `search` (or, with `None`, the single empty candidate) with `eval` scoring one
/// candidate on one fold. Candidates × folds of a round run in parallel; results are in
/// task order.
pub fn run_search<T, F>(
    search: Option<&SearchSpec>,
    settings: &SearchSettings,
    eval: F,
) -> Result<SearchOutcome<T>>
where
    T: Send,
    F: Fn(&FoldTask<'_>) -> Result<(f64, T)> + Sync,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads.max(1))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {} threads: {e}", settings.threads)))?;
    let cands = match search {
        None => vec![ParamSet::new()],
        Some(s) => s.candidates(settings.seed)?,
    };
    let Some(SearchSpec::Halving(h)) = search else {
        let evals = pool.install(|| evaluate_round(&cands, 0, None, None, settings, &eval, 0))?;
        let best = best_of(&evals, 0..evals.len(), settings.greater_is_better)?;
        let ties = best_tie(&evals, 0..evals.len(), best).into_iter().collect();
        return Ok(SearchOutcome {
            evaluations: evals,
            best,
            schedule: None,
            ties,
        });
    };
    let by_samples = h.resource == "n_samples";
    let max_r = h.max_resources.unwrap_or(settings.n_samples);
    let smallest = if by_samples {
        2 * settings.n_folds * settings.n_classes.max(1)
    } else {
        1
    };
    let schedule = halving_schedule(
        cands.len(),
        h.factor,
        h.min_resources,
        max_r,
        smallest,
        h.aggressive_elimination,
    )?;
    let mut evaluations: Vec<Evaluated<T>> = Vec::new();
    let mut current = cands;
    let mut last_round = 0..0;
    let mut ties = Vec::new();
    for (itr, &r) in schedule.n_resources.iter().enumerate() {
        let (params, sub) = if by_samples {
            let frac = r as f64 / settings.n_samples as f64;
            (current.clone(), Some(frac))
        } else {
            let with_r: Vec<ParamSet> = current
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    c.insert(h.resource.clone(), Value::from(r));
                    c
                })
                .collect();
            (with_r, None)
        };
        let start = evaluations.len();
        let round =
            pool.install(|| evaluate_round(&params, itr, Some(r), sub, settings, &eval, start))?;
        evaluations.extend(round);
        last_round = start..evaluations.len();
        let keep = (current.len() as f64 / h.factor).ceil() as usize;
        let round = &evaluations[last_round.clone()];
        let kept = top_k(round, keep, settings.greater_is_better);
        if itr + 1 < schedule.n_resources.len() {
            ties.extend(round_tie(round, &kept, itr, r));
        }
        current = kept.into_iter().map(|i| current[i].clone()).collect();
    }
    let best = best_of(&evaluations, last_round.clone(), settings.greater_is_better)?;
    ties.extend(best_tie(&evaluations, last_round, best));
    Ok(SearchOutcome {
        evaluations,
        best,
        schedule: Some(schedule),
        ties,
    })
}

fn evaluate_round<T, F>(
    cands: &[ParamSet],
    iteration: usize,
    n_resources: Option<usize>,
    fraction: Option<f64>,
    settings: &SearchSettings,
    eval: &F,
    first_index: usize,
) -> Result<Vec<Evaluated<T>>>
where
    T: Send,
    F: Fn(&FoldTask<'_>) -> Result<(f64, T)> + Sync,
{
    let k = settings.n_folds;
    let n_tasks = cands.len() * k;
    // Split the budget: with as many tasks as threads or more, each fit gets one thread.
    let per_task = (settings.threads / n_tasks.max(1)).max(1);
    let results: Vec<Result<(f64, T)>> = (0..n_tasks)
        .into_par_iter()
        .map(|t| {
            let (c, fold) = (t / k, t % k);
            eval(&FoldTask {
                evaluation: first_index + c,
                params: &cands[c],
                fold,
                subsample: fraction.map(|f| {
                    (
                        f,
                        settings
                            .seed
                            .wrapping_mul(1_000_003)
                            .wrapping_add((iteration * 1000 + fold) as u64),
                    )
                }),
                threads: per_task,
            })
        })
        .collect();
    let mut it = results.into_iter();
    let mut out = Vec::with_capacity(cands.len());
    for params in cands {
        let mut scores = Vec::with_capacity(k);
        let mut outputs = Vec::with_capacity(k);
        for _ in 0..k {
            let (s, o) = it
                .next()
                .ok_or_else(|| Error::Internal("missing fold result".into()))??;
            scores.push(s);
            outputs.push(o);
        }
        let (mean, std) = mean_std(&scores);
        out.push(Evaluated {
            params: params.clone(),
            iteration,
            n_resources,
            fold_scores: scores,
            mean,
            std,
            outputs,
        });
    }
    Ok(out)
}

/// Whether two mean scores count as equal for the tie notes: both NaN, or equal to 12
/// significant digits (fold means of equal predictions differ only by rounding).
pub fn same_score(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

fn show_score(v: f64) -> String {
    if v.is_nan() {
        "no score (NaN)".into()
    } else {
        format!("{v:.4}")
    }
}

/// A note when halving round `itr` kept `kept` (indices into `round`, in order) but the cut
/// fell among equal scores, so the order of the candidates decided.
fn round_tie<T>(round: &[Evaluated<T>], kept: &[usize], itr: usize, r: usize) -> Option<String> {
    let dropped: Vec<usize> = (0..round.len()).filter(|i| !kept.contains(i)).collect();
    // The worst kept score and the best dropped one: a tie when they are equal.
    let worst_kept = kept.iter().map(|&i| round[i].mean);
    let tied_at = dropped.iter().find_map(|&d| {
        worst_kept
            .clone()
            .find(|&k| same_score(k, round[d].mean))
            .map(|_| round[d].mean)
    })?;
    let n_tied = round.iter().filter(|e| same_score(e.mean, tied_at)).count();
    let n_kept_tied = kept
        .iter()
        .filter(|&&i| same_score(round[i].mean, tied_at))
        .count();
    let all = n_tied == round.len();
    Some(format!(
        "halving round {itr} ({r} resources) could not separate {}: {n_tied} candidates scored {}; {n_kept_tied} of them go on by the tie rule (the candidates listed first, in grid or draw order)",
        if all {
            "its candidates"
        } else {
            "the candidates at the cut"
        },
        show_score(tied_at)
    ))
}

/// A note when the best mean score in `range` is shared by several configurations.
fn best_tie<T>(
    evals: &[Evaluated<T>],
    range: std::ops::Range<usize>,
    best: usize,
) -> Option<String> {
    let n = range
        .filter(|&i| same_score(evals[i].mean, evals[best].mean))
        .count();
    (n > 1).then(|| {
        format!(
            "{n} configurations share the best score {}; the first listed (grid or draw order) is chosen: {}",
            show_score(evals[best].mean),
            serde_json::to_string(&evals[best].params).unwrap_or_default()
        )
    })
}

fn better(a: f64, b: f64, greater: bool) -> bool {
    if greater { a > b } else { a < b }
}

fn best_of<T>(
    evals: &[Evaluated<T>],
    range: std::ops::Range<usize>,
    greater: bool,
) -> Result<usize> {
    let mut best: Option<usize> = None;
    for i in range {
        if evals[i].mean.is_nan() {
            continue;
        }
        if best.is_none_or(|b| better(evals[i].mean, evals[b].mean, greater)) {
            best = Some(i);
        }
    }
    best.ok_or_else(|| Error::InvalidData("no candidate produced a finite score".into()))
}

/// Indices (into `round`) of the `k` best candidates, in their original order; NaN scores
/// rank last and ties keep the earlier candidate.
fn top_k<T>(round: &[Evaluated<T>], k: usize, greater: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..round.len()).collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (round[a].mean, round[b].mean);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if greater => y.total_cmp(&x),
            _ => x.total_cmp(&y),
        }
    });
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbdt::GbdtParams;
    use serde_json::json;

    fn grid(v: Value) -> BTreeMap<String, Vec<Value>> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn grid_expands_like_parameter_grid() {
        let g = grid(json!({"b": [1, 2], "a": ["x", "y", "z"]}));
        let c = expand_grid(&g).unwrap();
        assert_eq!(c.len(), 6);
        // Keys sorted (a, b); the last key (b) varies fastest.
        assert_eq!(
            c[0],
            [("a".into(), json!("x")), ("b".into(), json!(1))].into()
        );
        assert_eq!(
            c[1],
            [("a".into(), json!("x")), ("b".into(), json!(2))].into()
        );
        assert_eq!(
            c[2],
            [("a".into(), json!("y")), ("b".into(), json!(1))].into()
        );
        let e = expand_grid(&grid(json!({"a": []})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a") && e.contains("no values"), "{e}");
    }

    #[test]
    fn distributions_stay_in_range_and_are_seeded() {
        let spec: RandomSpec = serde_json::from_value(json!({
            "n_iter": 200,
            "params": {
                "learning_rate": {"log_uniform": [0.01, 0.3]},
                "num_leaves": {"int": [15, 127]},
                "feature_fraction": {"uniform": [0.5, 1.0]},
                "kind": {"choice": ["a", "b"]}
            }
        }))
        .unwrap();
        let a = sample_random(&spec, 7).unwrap();
        assert_eq!(a, sample_random(&spec, 7).unwrap());
        assert_ne!(a, sample_random(&spec, 8).unwrap());
        let mut leaves = std::collections::BTreeSet::new();
        let mut logs = Vec::new();
        for c in &a {
            let lr = c["learning_rate"].as_f64().unwrap();
            assert!((0.01..=0.3).contains(&lr));
            logs.push(lr.ln());
            let nl = c["num_leaves"].as_i64().unwrap();
            assert!((15..=127).contains(&nl));
            leaves.insert(nl);
            let ff = c["feature_fraction"].as_f64().unwrap();
            assert!((0.5..=1.0).contains(&ff));
            assert!(c["kind"] == json!("a") || c["kind"] == json!("b"));
        }
        assert!(leaves.len() > 50, "integers spread over the range");
        // Log-uniform: the mean of ln(x) is near the midpoint of [ln 0.01, ln 0.3].
        let mid = (0.01f64.ln() + 0.3f64.ln()) / 2.0;
        let m = logs.iter().sum::<f64>() / logs.len() as f64;
        assert!((m - mid).abs() < 0.3, "{m} vs {mid}");
    }

    #[test]
    fn bad_ranges_are_named() {
        let cases = [
            (json!({"uniform": [1.0, 0.5]}), "greater than high"),
            (json!({"log_uniform": [0.0, 1.0]}), "log"),
            (json!({"int": [5, 1]}), "greater than high"),
            (json!({"choice": []}), "at least one"),
        ];
        for (d, rule) in cases {
            let d: Distribution = serde_json::from_value(d).unwrap();
            let e = d.check("learning_rate").unwrap_err().to_string();
            assert!(e.contains("learning_rate") && e.contains(rule), "{e}");
        }
    }

    #[test]
    fn unknown_params_are_refused_by_name() {
        let base = ModelSpec::Gbdt(GbdtParams::default());
        let s: SearchSpec =
            serde_json::from_value(json!({"grid": {"num_leafs": [7, 15]}})).unwrap();
        let e = s.check(&base, 0).unwrap_err().to_string();
        assert!(e.contains("num_leafs") && e.contains("gbdt"), "{e}");
        let s: SearchSpec =
            serde_json::from_value(json!({"grid": {"num_leaves": ["many"]}})).unwrap();
        let e = s.check(&base, 0).unwrap_err().to_string();
        assert!(e.contains("num_leaves"), "{e}");
        let p = with_params(&base, &[("num_leaves".into(), json!(7))].into()).unwrap();
        assert!(matches!(p, ModelSpec::Gbdt(g) if g.num_leaves == 7));
    }

    #[test]
    fn halving_schedule_follows_the_rules() {
        // 10 candidates, factor 3, 1000 rows, exhaust: 3 rounds needed; start at 1000 / 9.
        let s = halving_schedule(10, 3.0, MinResources::default(), 1000, 20, false).unwrap();
        assert_eq!(s.n_resources, vec![111, 333, 999]);
        assert_eq!(s.n_candidates, vec![10, 4, 2]);
        let s = halving_schedule(
            10,
            3.0,
            MinResources::Rule(MinResourcesRule::Smallest),
            1000,
            20,
            false,
        )
        .unwrap();
        assert_eq!(s.n_resources, vec![20, 60, 180]);
    }

    #[test]
    fn runs_are_independent_of_threads() {
        let spec: SearchSpec = serde_json::from_value(json!({"halving": {
            "factor": 2, "resource": "n_samples", "min_resources": "smallest",
            "candidates": {"random": {"n_iter": 9, "params": {"x": {"uniform": [0.0, 1.0]}}}}
        }}))
        .unwrap();
        let run = |threads| {
            let settings = SearchSettings {
                n_folds: 3,
                greater_is_better: true,
                seed: 5,
                threads,
                n_samples: 600,
                n_classes: 2,
            };
            run_search(Some(&spec), &settings, |t| {
                let x = t.params["x"].as_f64().unwrap();
                let f = t.subsample.map_or(1.0, |s| s.0);
                Ok((-(x - 0.3).abs() * f + t.fold as f64 * 0.01, ()))
            })
            .unwrap()
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.best, b.best);
        let ms = |o: &SearchOutcome<()>| o.evaluations.iter().map(|e| e.mean).collect::<Vec<_>>();
        assert_eq!(ms(&a), ms(&b));
        let s = a.schedule.unwrap();
        assert_eq!(s.n_candidates, vec![9, 5, 3, 2]);
        // The winner is the candidate closest to 0.3 among the survivors.
        let best_x = a.evaluations[a.best].params["x"].as_f64().unwrap();
        let round0: Vec<f64> = a.evaluations[..9]
            .iter()
            .map(|e| e.params["x"].as_f64().unwrap())
            .collect();
        let closest = round0
            .iter()
            .copied()
            .min_by(|p, q| (p - 0.3).abs().total_cmp(&(q - 0.3).abs()))
            .unwrap();
        assert_eq!(best_x, closest);
    }

    /// Issue 12: a halving round that cannot separate its candidates (every one scored
    /// 0.5) says so and keeps the candidates listed first; the final choice too.
    #[test]
    fn halving_ties_are_reported_and_keep_the_listed_order() {
        let spec: SearchSpec = serde_json::from_value(json!({"halving": {
            "factor": 3, "resource": "n_samples", "min_resources": "smallest",
            "candidates": {"grid": {"x": [1, 2, 3, 4, 5, 6, 7, 8, 9]}}
        }}))
        .unwrap();
        let settings = SearchSettings {
            n_folds: 3,
            greater_is_better: true,
            seed: 1,
            threads: 1,
            n_samples: 470,
            n_classes: 2,
        };
        let o = run_search(Some(&spec), &settings, |_| Ok((0.5, ()))).unwrap();
        let s = o.schedule.as_ref().unwrap();
        assert!(s.n_candidates.len() >= 2, "{s:?}");
        // Every round but the last is a tie at the cut, and the final choice is one too
        // when the last round has several candidates.
        let rounds = s.n_candidates.len();
        let last_tied = usize::from(*s.n_candidates.last().unwrap() > 1);
        assert_eq!(o.ties.len(), rounds - 1 + last_tied, "{:?}", o.ties);
        assert!(
            o.ties[0].contains("could not separate its candidates")
                && o.ties[0].contains("9 candidates scored 0.5000")
                && o.ties[0].contains("listed first"),
            "{}",
            o.ties[0]
        );
        // The survivors are the first listed: x = 1, 2, 3 after round 0.
        let round1: Vec<i64> = o
            .evaluations
            .iter()
            .filter(|e| e.iteration == 1)
            .map(|e| e.params["x"].as_i64().unwrap())
            .collect();
        assert_eq!(round1, vec![1, 2, 3]);
        assert_eq!(o.evaluations[o.best].params["x"], json!(1));
        assert!(o.ties.iter().all(|t| t.contains("first")), "{:?}", o.ties);

        // Separable scores: no note.
        let o = run_search(Some(&spec), &settings, |t| {
            Ok((t.params["x"].as_f64().unwrap(), ()))
        })
        .unwrap();
        assert!(o.ties.is_empty(), "{:?}", o.ties);
    }
}
