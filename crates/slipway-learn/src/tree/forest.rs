//! Fitting one tree or a forest: binning, row weights, bootstrap samples, parallel growth and
//! out-of-bag scoring.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::grow::{GrowConfig, Labels, grow};
use super::model::{DecisionTreeModel, ForestModel, Tree};
use super::{Forest, ForestKind, MaxFeatures, MaxFeaturesRule, MaxSamples, TreeSettings};
use crate::gbdt::binning::BinnedData;
use crate::{Error, FeatureKind, FeatureMeta, Result, Target, Task, TrainData};

/// The random stream of tree `i` (binning uses the stream the binner picks for itself).
fn tree_rng(seed: u64, i: usize) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(i as u64 + 1);
    r
}

/// Which features split on sets of categories ([`GrowConfig::categorical`]): categorical
/// features (native encoding) of best-split trees for binary classification and regression,
/// whose codes each got a value bin of their own. The others — extra trees' random
/// thresholds, multiclass targets (no single order of the categories), more categories than
/// bins — split their codes as ordered numbers.
fn categorical_features(
    train: &TrainData<'_>,
    data: &BinnedData,
    random_splits: bool,
) -> Vec<Option<u32>> {
    let sortable = matches!(train.y.task(), Task::Binary | Task::Regression);
    train
        .features
        .iter()
        .zip(&data.mappers)
        .map(|(f, m)| match f.kind {
            FeatureKind::Categorical { n_categories }
                if sortable && !random_splits && n_categories >= 2 =>
            {
                let n = u32::try_from(n_categories).ok()?;
                let mut bins: Vec<u8> = (0..n).map(|c| m.bin(f64::from(c))).collect();
                bins.dedup();
                (bins.len() == n_categories).then_some(n)
            }
            _ => None,
        })
        .collect()
}

/// Bins every feature as numeric, one bin per distinct value when there are at most
/// `max_bins` of them (so each category code of a categorical feature with at most that many
/// categories has a bin of its own).
fn bin(train: &TrainData<'_>, max_bins: usize, seed: u64) -> BinnedData {
    let numeric: Vec<FeatureMeta> = train
        .features
        .iter()
        .map(|f| FeatureMeta::numeric(f.name.clone()))
        .collect();
    BinnedData::with_min_data_in_bin(train.x, &numeric, max_bins, 1, seed)
}

fn labels_of(y: &Target) -> Labels<'_> {
    match y {
        Target::Classes { labels, n_classes } => Labels::Classes {
            y: labels,
            n_classes: *n_classes,
        },
        Target::Real(v) => Labels::Real(v),
    }
}

fn check_data(train: &TrainData<'_>) -> Result<()> {
    train.check_shapes()?;
    if train.x.n_cols() == 0 {
        return Err(Error::InvalidData("no features to fit on".into()));
    }
    if let Target::Real(v) = train.y {
        if let Some(i) = v.iter().position(|y| !y.is_finite()) {
            return Err(Error::InvalidData(format!(
                "target at row {} is {}; regression needs finite targets",
                i + 1,
                v[i]
            )));
        }
    }
    Ok(())
}

fn grow_config(
    s: &TreeSettings,
    task: Task,
    max_features: usize,
    random: bool,
) -> Result<GrowConfig> {
    Ok(GrowConfig {
        criterion: s.criterion_for(task)?,
        max_depth: s.max_depth.unwrap_or(usize::MAX),
        min_samples_split: s.min_samples_split,
        min_samples_leaf: s.min_samples_leaf,
        min_impurity_decrease: s.min_impurity_decrease,
        max_features,
        random_splits: random,
        categorical: Vec::new(),
    })
}

/// Fits a single decision tree on all rows with weight > 0.
pub(super) fn fit_tree(
    s: &TreeSettings,
    seed: u64,
    train: &TrainData<'_>,
) -> Result<DecisionTreeModel> {
    check_data(train)?;
    let task = train.y.task();
    let nf = train.x.n_cols();
    let mut cfg = grow_config(s, task, s.max_features_for(nf, None)?, false)?;
    let w = s.row_weights(train)?;
    let data = bin(train, s.max_bins, seed);
    cfg.categorical = categorical_features(train, &data, false);
    let (rows, ws): (Vec<u32>, Vec<f64>) = w
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0.0)
        .map(|(i, &w)| (i as u32, w))
        .unzip();
    let mut rng = tree_rng(seed, 0);
    let tree = grow(
        &data,
        train.x,
        &labels_of(train.y),
        rows,
        ws,
        &cfg,
        &mut rng,
    );
    Ok(DecisionTreeModel {
        task,
        n_features: nf,
        tree,
    })
}

/// Rows per bootstrap sample (scikit-learn's `_get_n_samples_bootstrap`).
fn n_bootstrap(n: usize, max_samples: Option<MaxSamples>) -> Result<usize> {
    match max_samples {
        None => Ok(n),
        Some(MaxSamples::Count(c)) => {
            if c > n {
                return Err(Error::param(
                    "max_samples",
                    format!("must be at most the number of rows ({n}), got {c}"),
                ));
            }
            Ok(c)
        }
        Some(MaxSamples::Fraction(f)) => Ok(((n as f64 * f).round() as usize).max(1)),
    }
}

/// What one tree of the forest hands back: the tree and, for OOB scoring, the leaf each
/// out-of-bag row reached.
struct Grown {
    tree: Tree,
    oob: Vec<(u32, u32)>,
}

/// Fits a random forest or extra-trees ensemble.
pub(super) fn fit_forest(p: &Forest, train: &TrainData<'_>) -> Result<ForestModel> {
    check_data(train)?;
    let task = train.y.task();
    let nf = train.x.n_cols();
    let default_mf = task
        .is_classification()
        .then_some(MaxFeatures::Rule(MaxFeaturesRule::Sqrt));
    let cfg = grow_config(
        &p.settings,
        task,
        p.settings.max_features_for(nf, default_mf)?,
        p.kind == ForestKind::Extra,
    )?;
    let base_w = p.settings.row_weights(train)?;
    let n = train.x.n_rows();
    let n_boot = n_bootstrap(n, p.max_samples)?;
    let n_threads = p
        .n_jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n_threads)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {n_threads} threads: {e}")))?;
    let labels = labels_of(train.y);
    let grown: Vec<Grown> = pool.install(|| {
        let data = bin(train, p.settings.max_bins, p.seed);
        let cfg = GrowConfig {
            categorical: categorical_features(train, &data, cfg.random_splits),
            ..cfg
        };
        (0..p.n_estimators)
            .into_par_iter()
            .map(|i| {
                let mut rng = tree_rng(p.seed, i);
                let mut counts = vec![0u32; n];
                if p.bootstrap {
                    for _ in 0..n_boot {
                        counts[rng.random_range(0..n)] += 1;
                    }
                } else {
                    counts.fill(1);
                }
                let (rows, ws): (Vec<u32>, Vec<f64>) = counts
                    .iter()
                    .zip(&base_w)
                    .enumerate()
                    .filter(|(_, (c, w))| **c > 0 && **w > 0.0)
                    .map(|(r, (&c, &w))| (r as u32, w * f64::from(c)))
                    .unzip();
                let tree = grow(&data, train.x, &labels, rows, ws, &cfg, &mut rng);
                let oob = if p.oob_score {
                    counts
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| **c == 0)
                        .map(|(r, _)| (r as u32, tree.leaf(|f| train.x.get(r, f)) as u32))
                        .collect()
                } else {
                    Vec::new()
                };
                Grown { tree, oob }
            })
            .collect()
    });
    let oob_score = if p.oob_score {
        Some(oob_score(&grown, train.y)?)
    } else {
        None
    };
    Ok(ForestModel {
        task,
        n_features: nf,
        trees: grown.into_iter().map(|g| g.tree).collect(),
        oob_score,
    })
}

/// scikit-learn's `oob_score_`: accuracy of the argmax of the summed out-of-bag class
/// probabilities, or R² of the mean out-of-bag prediction; rows never out of bag are predicted
/// as class 0 / value 0. Sample weights are not used, as in scikit-learn.
fn oob_score(grown: &[Grown], y: &Target) -> Result<f64> {
    let k = grown.first().map_or(1, |g| g.tree.n_outputs);
    let n = y.len();
    let mut acc = vec![0.0; n * k];
    let mut seen = vec![0u32; n];
    for g in grown {
        for &(r, off) in &g.oob {
            let (r, off) = (r as usize, off as usize);
            for (a, v) in acc[r * k..(r + 1) * k]
                .iter_mut()
                .zip(&g.tree.values[off..off + k])
            {
                *a += v;
            }
            seen[r] += 1;
        }
    }
    match y {
        Target::Classes { labels, .. } => {
            let pred: Vec<u32> = acc
                .chunks(k)
                .map(|p| {
                    let mut best = 0;
                    for (c, &v) in p.iter().enumerate() {
                        if v > p[best] {
                            best = c;
                        }
                    }
                    best as u32
                })
                .collect();
            crate::metrics::accuracy(labels, &pred, None)
        }
        Target::Real(v) => {
            let pred: Vec<f64> = acc
                .iter()
                .zip(&seen)
                .map(|(a, &s)| a / f64::from(s.max(1)))
                .collect();
            crate::metrics::r2(v, &pred, None)
        }
    }
}
