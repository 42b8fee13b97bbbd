//! The boosting loop.

use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::GbdtParams;
use super::binning::BinnedData;
use super::grow::{Grower, GrownTree, TreeParams};
use super::model::{GbdtModel, Tree, add_tree_par};
use super::objective::{Objective, Scores};
use super::splitter::{FeatInfo, SplitParams};
use crate::{Error, Matrix, Result, Target, TrainData};

/// RNG streams, one per use, so that one use does not shift another's draws.
const STREAM_HOLDOUT: u64 = 2;
const STREAM_BAGGING: u64 = 3;
const STREAM_FEATURES: u64 = 4;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Fits a model (see [`super::Gbdt`]).
pub(crate) fn fit(
    p: &GbdtParams,
    train: &TrainData<'_>,
    valid: Option<&TrainData<'_>>,
) -> Result<GbdtModel> {
    train.check_shapes()?;
    if train.x.n_cols() == 0 {
        return Err(Error::InvalidData("no features to fit on".into()));
    }
    if let Some(v) = valid {
        v.check_shapes()?;
        if v.x.n_cols() != train.x.n_cols() {
            return Err(Error::InvalidData(format!(
                "validation data has {} features, training data {}",
                v.x.n_cols(),
                train.x.n_cols()
            )));
        }
    }
    for w in [Some(train), valid]
        .into_iter()
        .flatten()
        .filter_map(|d| d.weights)
    {
        if w.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
            return Err(Error::InvalidData(
                "weights must be finite, >= 0 and not all 0".into(),
            ));
        }
    }
    let n_threads = p
        .n_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n_threads)
        .build()
        .map_err(|e| Error::Internal(format!("cannot start {n_threads} threads: {e}")))?;
    pool.install(|| fit_in_pool(p, n_threads, train, valid))
}

/// Splits rows into training and held-out rows (stratified by class), both ascending.
fn holdout(y: &Target, frac: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut r = rng(seed, STREAM_HOLDOUT);
    let groups: Vec<Vec<usize>> = match y {
        Target::Classes { labels, n_classes } => {
            let mut g = vec![Vec::new(); *n_classes];
            for (i, &l) in labels.iter().enumerate() {
                g[(l as usize).min(n_classes - 1)].push(i);
            }
            g
        }
        Target::Real(v) => vec![(0..v.len()).collect()],
    };
    let mut tr = Vec::new();
    let mut va = Vec::new();
    for mut g in groups {
        g.shuffle(&mut r);
        let nv = (g.len() as f64 * frac).round() as usize;
        va.extend_from_slice(&g[..nv]);
        tr.extend_from_slice(&g[nv..]);
    }
    if tr.is_empty() || va.is_empty() {
        return Err(Error::InvalidData(format!(
            "too few rows ({}) to hold out validation_fraction = {frac} for early stopping",
            y.len()
        )));
    }
    tr.sort_unstable();
    va.sort_unstable();
    Ok((tr, va))
}

/// Row-major copy of a column-major matrix.
fn row_major(x: &Matrix) -> Vec<f64> {
    let (n, nf) = (x.n_rows(), x.n_cols());
    let mut out = vec![0.0; n * nf];
    if nf == 0 {
        return out;
    }
    out.par_chunks_mut(4096 * nf)
        .enumerate()
        .for_each(|(ci, o)| {
            let r0 = ci * 4096;
            let nr = o.len() / nf;
            for f in 0..nf {
                for (i, &v) in x.col(f)[r0..r0 + nr].iter().enumerate() {
                    o[i * nf + f] = v;
                }
            }
        });
    out
}

/// The validation rows, their labels and scores.
struct Validation {
    rows: Vec<f64>,
    obj: Objective,
    weights: Option<Vec<f64>>,
    scores: Vec<f64>,
}

fn fit_in_pool(
    p: &GbdtParams,
    n_threads: usize,
    train: &TrainData<'_>,
    valid: Option<&TrainData<'_>>,
) -> Result<GbdtModel> {
    let obj_all = Objective::new(train.y)?;
    // With early stopping and no validation set, hold some rows out.
    let held;
    let (x, obj, weights, val_parts): (&Matrix, Objective, Option<Vec<f64>>, _) =
        match (valid, p.early_stopping_rounds) {
            (None, Some(_)) => {
                let (tr, va) = holdout(train.y, p.validation_fraction, p.seed)?;
                held = train.x.take_rows(&tr);
                let vx = train.x.take_rows(&va);
                let w = train.weights.map(|w| tr.iter().map(|&i| w[i]).collect());
                let vw = train.weights.map(|w| va.iter().map(|&i| w[i]).collect());
                (
                    &held,
                    obj_all.take(&tr),
                    w,
                    Some((row_major(&vx), obj_all.take(&va), vw)),
                )
            }
            (Some(v), _) => {
                let vobj = Objective::new(v.y)?;
                if vobj.task() != obj_all.task() {
                    return Err(Error::InvalidData(format!(
                        "validation target is {:?}, training target {:?}",
                        vobj.task(),
                        obj_all.task()
                    )));
                }
                (
                    train.x,
                    obj_all,
                    train.weights.map(<[f64]>::to_vec),
                    Some((row_major(v.x), vobj, v.weights.map(<[f64]>::to_vec))),
                )
            }
            (None, None) => (train.x, obj_all, train.weights.map(<[f64]>::to_vec), None),
        };
    let w = weights.as_deref();
    let n = x.n_rows();
    let nf = x.n_cols();
    let k = obj.n_scores();

    let data = BinnedData::new(x, train.features, p.max_bin, p.seed);
    let infos: Vec<FeatInfo> = FeatInfo::all(&data);
    let init = obj.init_scores(w);
    let scores = Scores::new(&init, n);
    let mut val = val_parts.map(|(rows, vobj, vw)| {
        let nv = vobj.len();
        Validation {
            rows,
            obj: vobj,
            weights: vw,
            scores: init.iter().copied().cycle().take(nv * k).collect(),
        }
    });

    let tree_params = TreeParams {
        num_leaves: p.num_leaves,
        max_depth: p.max_depth,
        split: SplitParams {
            min_data_in_leaf: p.min_data_in_leaf as u32,
            min_sum_hessian_in_leaf: p.min_sum_hessian_in_leaf,
            lambda_l2: p.lambda_l2,
            min_gain_to_split: p.min_gain_to_split,
            cat_smooth: p.cat_smooth,
            cat_l2: p.cat_l2,
            max_cat_threshold: p.max_cat_threshold,
            min_data_per_group: p.min_data_per_group as u32,
            max_cat_to_onehot: p.max_cat_to_onehot,
        },
    };
    let mut grower = Grower::new(&data, infos.clone(), n_threads);
    let mut gh: Vec<Vec<[f32; 2]>> = vec![vec![[0.0; 2]; n]; k];
    let mut bag_rng = rng(p.seed, STREAM_BAGGING);
    let mut feat_rng = rng(p.seed, STREAM_FEATURES);
    let bagging = p.bagging_freq > 0 && p.bagging_fraction < 1.0;
    let mut bag: Option<(Vec<u32>, Vec<u32>)> = None;
    let all_feats: Vec<u32> = (0..nf as u32).collect();
    let n_used_feats = ((nf as f64 * p.feature_fraction).round() as usize).clamp(1, nf.max(1));

    let mut trees: Vec<Tree> = Vec::new();
    let mut covers: Vec<Vec<f64>> = Vec::new();
    let mut history = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    for it in 0..p.n_estimators {
        if bagging && it % p.bagging_freq == 0 {
            let mut inb = Vec::with_capacity(n);
            let mut oob = Vec::new();
            for r in 0..n as u32 {
                if bag_rng.random::<f64>() < p.bagging_fraction {
                    inb.push(r);
                } else {
                    oob.push(r);
                }
            }
            bag = Some((inb, oob));
        }
        obj.gradients(&scores, w, &mut gh);
        let mut round: Vec<Tree> = Vec::with_capacity(k);
        let mut round_covers: Vec<Vec<f64>> = Vec::with_capacity(k);
        for (c, ghc) in gh.iter().enumerate() {
            let feats: Vec<u32> = if n_used_feats < nf {
                let mut f: Vec<u32> = rand::seq::index::sample(&mut feat_rng, nf, n_used_feats)
                    .into_iter()
                    .map(|i| i as u32)
                    .collect();
                f.sort_unstable();
                f
            } else {
                all_feats.clone()
            };
            let grown = grower.grow(
                &data,
                ghc,
                bag.as_ref().map(|b| b.0.as_slice()),
                &feats,
                &tree_params,
            );
            let lr = p.learning_rate;
            // Leaves hold distinct rows: update them in parallel.
            let indices = &grower.indices;
            grown
                .leaf_values
                .par_iter()
                .zip(&grown.leaf_ranges)
                .for_each(|(&v, &(s, len))| {
                    let v = v * lr;
                    for &r in &indices[s..s + len] {
                        scores.add(r as usize * k + c, v);
                    }
                });
            if let Some((_, oob)) = &bag {
                add_binned(&grown, &data, &infos, oob, lr, &scores, k, c);
            }
            round.push(Tree::from_grown(&grown, &data.mappers, lr));
            round_covers.push(grown.covers());
        }
        if round.iter().all(|t| t.nodes.is_empty()) {
            // Nothing left to split (LightGBM stops here too).
            break;
        }
        if let Some(v) = &mut val {
            for (c, t) in round.iter().enumerate() {
                add_tree_par(t, c, k, &v.rows, nf, &mut v.scores);
            }
            let loss = v.obj.loss(&v.scores, v.weights.as_deref());
            history.push(loss);
            if best.is_none_or(|(_, b)| loss < b) {
                best = Some((it, loss));
            }
        }
        trees.extend(round);
        covers.extend(round_covers);
        if let (Some(esr), Some((bi, _))) = (p.early_stopping_rounds, best) {
            if it - bi >= esr {
                break;
            }
        }
    }
    let best_iteration = match (p.early_stopping_rounds, best) {
        (Some(_), Some((bi, _))) => {
            trees.truncate((bi + 1) * k);
            covers.truncate((bi + 1) * k);
            Some(bi)
        }
        _ => None,
    };
    Ok(GbdtModel {
        task: obj.task(),
        n_features: nf,
        n_scores: k,
        init_scores: init,
        trees,
        covers,
        best_iteration,
        eval_history: history,
        n_threads: p.n_threads,
        forest: Default::default(),
    })
}

/// Adds a grown tree's outputs (times `lr`) to score `c` of `rows`, walking the tree on bins.
#[allow(clippy::too_many_arguments)]
fn add_binned(
    tree: &GrownTree,
    data: &BinnedData,
    infos: &[FeatInfo],
    rows: &[u32],
    lr: f64,
    scores: &Scores,
    k: usize,
    c: usize,
) {
    if tree.nodes.is_empty() {
        let v = tree.leaf_values[0] * lr;
        rows.par_iter()
            .for_each(|&r| scores.add(r as usize * k + c, v));
        return;
    }
    let luts: Vec<[bool; 256]> = tree
        .nodes
        .iter()
        .map(|n| n.split.go_left_table(&infos[n.split.feature]))
        .collect();
    let nf = data.n_features;
    rows.par_iter().for_each(|&r| {
        let row = &data.rows[r as usize * nf..(r as usize + 1) * nf];
        let mut i = 0usize;
        let leaf = loop {
            let node = &tree.nodes[i];
            let next = if luts[i][row[node.split.feature] as usize] {
                node.left
            } else {
                node.right
            };
            if next < 0 {
                break !next as usize;
            }
            i = next as usize;
        };
        scores.add(r as usize * k + c, tree.leaf_values[leaf] * lr);
    });
}
