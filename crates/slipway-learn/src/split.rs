//! Train/test splits, k-fold and stratified k-fold indices, and cross-validation.
//!
//! Sizes follow scikit-learn's rules exactly (`train_test_split`, `KFold`,
//! `StratifiedKFold`, `StratifiedShuffleSplit`); which rows land where is drawn from a
//! ChaCha8 generator seeded with `seed`, so results are deterministic but not the same rows
//! scikit-learn (NumPy's generator) would pick. Returned index lists are sorted.

use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::metrics::Metric;
use crate::{Error, Estimator, FeatureMeta, Matrix, Predictor, Result, Target, TrainData};

/// Train and test row indices of one split.
pub type Fold = (Vec<usize>, Vec<usize>);

/// Splits `0..n` into (train, test) rows, `ceil(test_fraction·n)` of them for test, like
/// scikit-learn's `train_test_split(test_size=test_fraction)`.
///
/// With `stratify` (one label per row), each class is split in proportion as
/// `StratifiedShuffleSplit` does: per-class train counts are the "approximate mode" of the
/// multivariate hypergeometric draw (largest remainders, ties broken at random), then test
/// counts likewise from what is left. Errors if a side would be empty, if a class has fewer
/// than 2 rows, or if either side has fewer rows than there are classes.
pub fn train_test_split(
    n: usize,
    test_fraction: f64,
    stratify: Option<&[u32]>,
    seed: u64,
) -> Result<Fold> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::param(
            "test_fraction",
            format!("must be in (0, 1), got {test_fraction}"),
        ));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    let n_train = n.saturating_sub(n_test);
    if n_train == 0 || n_test == 0 {
        return Err(Error::InvalidData(format!(
            "with {n} rows and test_fraction {test_fraction} the {} set would be empty",
            if n_train == 0 { "train" } else { "test" }
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = match stratify {
        None => {
            let mut perm: Vec<usize> = (0..n).collect();
            perm.shuffle(&mut rng);
            let train = perm[n_test..].to_vec();
            perm.truncate(n_test);
            (train, perm)
        }
        Some(labels) => {
            if labels.len() != n {
                return Err(Error::InvalidData(format!(
                    "{} stratification labels for {n} rows",
                    labels.len()
                )));
            }
            let classes = classes_of(labels);
            if let Some((label, rows)) = classes.iter().find(|(_, rows)| rows.len() < 2) {
                return Err(Error::InvalidData(format!(
                    "class {label} has only {} row(s); a stratified split needs at least 2 \
                     per class",
                    rows.len()
                )));
            }
            let k = classes.len();
            if n_train < k || n_test < k {
                return Err(Error::InvalidData(format!(
                    "{} rows ({}) for {k} classes: a stratified split needs at least one row \
                     of each class on each side",
                    n_train.min(n_test),
                    if n_train < k { "train" } else { "test" }
                )));
            }
            let counts: Vec<usize> = classes.iter().map(|(_, r)| r.len()).collect();
            let n_i = approximate_mode(&counts, n_train, &mut rng);
            let remaining: Vec<usize> = counts.iter().zip(&n_i).map(|(c, t)| c - t).collect();
            let t_i = approximate_mode(&remaining, n_test, &mut rng);
            let (mut train, mut test) = (Vec::with_capacity(n_train), Vec::with_capacity(n_test));
            for (c, (_, rows)) in classes.iter().enumerate() {
                let mut rows = rows.clone();
                rows.shuffle(&mut rng);
                train.extend_from_slice(&rows[..n_i[c]]);
                test.extend_from_slice(&rows[n_i[c]..n_i[c] + t_i[c]]);
            }
            (train, test)
        }
    };
    train.sort_unstable();
    test.sort_unstable();
    Ok((train, test))
}

/// Rows of each distinct label, by increasing label.
fn classes_of(labels: &[u32]) -> Vec<(u32, Vec<usize>)> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| labels[i]);
    let mut out: Vec<(u32, Vec<usize>)> = Vec::new();
    for i in order {
        match out.last_mut() {
            Some((l, rows)) if *l == labels[i] => rows.push(i),
            _ => out.push((labels[i], vec![i])),
        }
    }
    out
}

/// scikit-learn's `_approximate_mode`: `n_draws` split across classes in proportion to
/// `counts`, floors first, the rest to the largest remainders (ties at random).
fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<usize> = continuous.iter().map(|v| v.floor() as usize).collect();
    let mut need = n_draws.saturating_sub(floored.iter().sum());
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, f)| c - *f as f64)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for v in values {
            let mut tied: Vec<usize> = (0..counts.len()).filter(|&i| remainder[i] == v).collect();
            tied.shuffle(rng);
            let add = tied.len().min(need);
            for &i in &tied[..add] {
                floored[i] += 1;
            }
            need -= add;
            if need == 0 {
                break;
            }
        }
    }
    floored
}

fn check_k(n: usize, k: usize) -> Result<()> {
    if k < 2 {
        return Err(Error::param("k", format!("must be at least 2, got {k}")));
    }
    if k > n {
        return Err(Error::InvalidData(format!(
            "cannot make {k} folds from {n} rows"
        )));
    }
    Ok(())
}

/// Folds from each row's fold number.
fn folds_from_assignment(assign: &[usize], k: usize) -> Vec<Fold> {
    (0..k)
        .map(|f| {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (i, &a) in assign.iter().enumerate() {
                if a == f {
                    test.push(i);
                } else {
                    train.push(i);
                }
            }
            (train, test)
        })
        .collect()
}

/// `k` folds of `0..n` (scikit-learn's `KFold`): the first `n % k` test folds have
/// `n / k + 1` rows, the others `n / k`; consecutive blocks of rows, after a seeded shuffle
/// when `shuffle`.
pub fn k_fold(n: usize, k: usize, shuffle: bool, seed: u64) -> Result<Vec<Fold>> {
    check_k(n, k)?;
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    let mut assign = vec![0usize; n];
    let mut start = 0;
    for f in 0..k {
        let size = n / k + usize::from(f < n % k);
        for &i in &order[start..start + size] {
            assign[i] = f;
        }
        start += size;
    }
    Ok(folds_from_assignment(&assign, k))
}

/// `k` stratified, shuffled folds (scikit-learn's `StratifiedKFold(shuffle=True)`).
///
/// Classes are numbered in order of first appearance and the rows, sorted by class, are
/// dealt to the folds in turn; that fixes how many rows of each class each test fold gets
/// (so test folds differ in size by at most 1 and every class is spread as evenly as
/// possible), and which rows of a class go to which fold is shuffled. Errors, naming the
/// class, if a class has fewer than `k` rows (scikit-learn only warns unless every class
/// does).
pub fn stratified_k_fold(labels: &[u32], k: usize, seed: u64) -> Result<Vec<Fold>> {
    let n = labels.len();
    check_k(n, k)?;
    // Encode classes by first appearance.
    let mut code_of: Vec<(u32, usize)> = Vec::new();
    let mut encoded = Vec::with_capacity(n);
    for &l in labels {
        let code = match code_of.iter().find(|(lab, _)| *lab == l) {
            Some(&(_, c)) => c,
            None => {
                code_of.push((l, code_of.len()));
                code_of.len() - 1
            }
        };
        encoded.push(code);
    }
    let n_classes = code_of.len();
    let mut counts = vec![0usize; n_classes];
    for &c in &encoded {
        counts[c] += 1;
    }
    if let Some(c) = counts.iter().position(|&v| v < k) {
        return Err(Error::InvalidData(format!(
            "class {} has only {} row(s), fewer than the {k} folds; every class needs at \
             least k rows for stratified k-fold",
            code_of[c].0, counts[c]
        )));
    }
    // allocation[f][c]: rows of class c in test fold f, dealing the class-sorted rows.
    let mut allocation = vec![vec![0usize; n_classes]; k];
    let mut pos = 0;
    for (c, &cnt) in counts.iter().enumerate() {
        for r in pos..pos + cnt {
            allocation[r % k][c] += 1;
        }
        pos += cnt;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut assign = vec![0usize; n];
    for c in 0..n_classes {
        let mut folds_for_class: Vec<usize> = allocation
            .iter()
            .enumerate()
            .flat_map(|(f, per_class)| std::iter::repeat_n(f, per_class[c]))
            .collect();
        folds_for_class.shuffle(&mut rng);
        let mut next = folds_for_class.into_iter();
        for (i, &e) in encoded.iter().enumerate() {
            if e == c {
                assign[i] = next.next().unwrap_or(0);
            }
        }
    }
    Ok(folds_from_assignment(&assign, k))
}

/// Scores of one metric across folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricScores {
    /// The metric.
    pub metric: Metric,
    /// One score per fold, in fold order.
    pub per_fold: Vec<f64>,
    /// Mean over folds.
    pub mean: f64,
    /// Population standard deviation over folds (ddof 0, like scikit-learn's
    /// `cv_results_` `std_test_score`).
    pub std: f64,
}

/// What [`cross_validate`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvResult {
    /// One entry per requested metric, in request order.
    pub scores: Vec<MetricScores>,
    /// Wall-clock seconds of each fold's fit.
    pub fit_seconds: Vec<f64>,
}

impl CvResult {
    /// The scores of `metric`, if it was requested.
    pub fn get(&self, metric: Metric) -> Option<&MetricScores> {
        self.scores.iter().find(|s| s.metric == metric)
    }
}

/// Fits `est` on each fold's train rows and scores its predictions on the test rows.
pub fn cross_validate<E: Estimator>(
    est: &E,
    x: &Matrix,
    y: &Target,
    features: &[FeatureMeta],
    folds: &[Fold],
    metrics: &[Metric],
) -> Result<CvResult> {
    let n = x.n_rows();
    if y.len() != n {
        return Err(Error::InvalidData(format!(
            "{n} feature rows but {} labels",
            y.len()
        )));
    }
    if folds.is_empty() {
        return Err(Error::InvalidData("no folds to cross-validate".into()));
    }
    if metrics.is_empty() {
        return Err(Error::InvalidData("no metrics to cross-validate".into()));
    }
    if let Some(m) = metrics.iter().find(|m| !m.applies_to(y.task())) {
        return Err(Error::InvalidData(format!(
            "metric {m} does not apply to this target"
        )));
    }
    let mut per_fold = vec![Vec::with_capacity(folds.len()); metrics.len()];
    let mut fit_seconds = Vec::with_capacity(folds.len());
    for (f, (train, test)) in folds.iter().enumerate() {
        if train.is_empty() || test.is_empty() {
            return Err(Error::InvalidData(format!("fold {f} has an empty side")));
        }
        if let Some(&i) = train.iter().chain(test).find(|&&i| i >= n) {
            return Err(Error::InvalidData(format!("fold {f} uses row {i} of {n}")));
        }
        let (x_train, y_train) = (x.take_rows(train), y.take(train));
        let start = Instant::now();
        let model = est
            .fit(
                &TrainData {
                    x: &x_train,
                    y: &y_train,
                    features,
                    weights: None,
                },
                None,
            )
            .map_err(|e| in_fold(f, e))?;
        fit_seconds.push(start.elapsed().as_secs_f64());
        let pred = model
            .predict(&x.take_rows(test))
            .map_err(|e| in_fold(f, e))?;
        let y_test = y.take(test);
        for (m, scores) in metrics.iter().zip(per_fold.iter_mut()) {
            scores.push(m.score(&y_test, &pred).map_err(|e| in_fold(f, e))?);
        }
    }
    let scores = metrics
        .iter()
        .zip(per_fold)
        .map(|(&metric, per_fold)| {
            let k = per_fold.len() as f64;
            let mean = per_fold.iter().sum::<f64>() / k;
            let var = per_fold
                .iter()
                .map(|v| (v - mean) * (v - mean))
                .sum::<f64>()
                / k;
            MetricScores {
                metric,
                per_fold,
                mean,
                std: var.sqrt(),
            }
        })
        .collect();
    Ok(CvResult {
        scores,
        fit_seconds,
    })
}

/// Adds the fold number to data errors.
fn in_fold(f: usize, e: Error) -> Error {
    match e {
        Error::InvalidData(m) => Error::InvalidData(format!("fold {f}: {m}")),
        other => other,
    }
}
