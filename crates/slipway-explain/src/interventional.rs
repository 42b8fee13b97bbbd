//! Exact interventional TreeSHAP with a background sample (`shap.TreeExplainer(model, data=bg,
//! feature_perturbation="interventional")`): the Shapley values of
//! `v(S) = mean over background rows z of f(x_S, z_S̄)`, the model evaluated on the row's
//! values for the features in `S` and the background row's for the others.
//!
//! For one background row `z`, only the leaves reachable by some mix of `x` and `z` count: on
//! the way down, a node where both go the same way is followed, one where they part sends the
//! feature to `x`'s side (it joins `U_x`) and to `z`'s side (it joins `U_z`), and a feature
//! already on one side keeps it. At a reached leaf with value `v`, `|U_x| = a`, `|U_z| = b`,
//! the leaf's game `v · [U_x ⊆ S] · [U_z ∩ S = ∅]` gives each feature of `U_x`
//! `v (a−1)! b! / (a+b)!` and each of `U_z` `−v a! (b−1)! / (a+b)!`. The values are averaged
//! over the background rows; the base value is the mean raw score of the background, and
//! base + contributions is the row's raw score.

use rayon::prelude::*;
use slipway_learn::Matrix;
use slipway_learn::trees::{Child, Ensemble, Split};

use crate::{Error, Result};

/// Rows explained per parallel task.
const BLOCK: usize = 16;

#[derive(Debug, Clone)]
struct ITree {
    output: usize,
    /// (feature, split, left, right) per internal node.
    nodes: Vec<(usize, Split, Child, Child)>,
    leaf_values: Vec<f64>,
    /// Per node, the background rows that go left: a bitset of `⌈n_background / 64⌉` words.
    background: Vec<u64>,
}

/// An interventional explainer: a model and its background rows.
#[derive(Debug, Clone)]
pub struct Interventional {
    n_features: usize,
    n_outputs: usize,
    scale: f64,
    n_background: usize,
    base: Vec<f64>,
    trees: Vec<ITree>,
    /// `weights[a][b] = a! b! / (a + b + 1)!`.
    weights: Vec<Vec<f64>>,
}

impl Interventional {
    /// Prepares `e` with the background rows `background` (one column per feature).
    pub fn new(e: &Ensemble, background: &Matrix) -> Result<Interventional> {
        let nf = e.n_features;
        if background.n_cols() != nf {
            return Err(Error::Input(format!(
                "the model has {nf} features, the background {} columns",
                background.n_cols()
            )));
        }
        let nb = background.n_rows();
        if nb == 0 {
            return Err(Error::Input("the background sample has no rows".into()));
        }
        let mut base = vec![0.0; e.n_outputs];
        let mut row = vec![0.0; nf];
        let mut trees = Vec::with_capacity(e.trees.len());
        let mut depth = 0usize;
        for t in &e.trees {
            let nodes: Vec<_> = t
                .nodes
                .iter()
                .map(|n| (n.feature, n.split.clone(), n.left, n.right))
                .collect();
            let words = nb.div_ceil(64);
            let mut bgdec = vec![0u64; words * nodes.len()];
            for r in 0..nb {
                background.row_into(r, &mut row);
                for (i, (f, s, _, _)) in nodes.iter().enumerate() {
                    if s.goes_left(row[*f]) {
                        bgdec[i * words + r / 64] |= 1 << (r % 64);
                    }
                }
            }
            depth = depth.max(nodes.len());
            trees.push(ITree {
                output: t.output,
                nodes,
                leaf_values: t.leaf_values.clone(),
                background: bgdec,
            });
        }
        for r in 0..nb {
            background.row_into(r, &mut row);
            for (b, v) in base.iter_mut().zip(e.raw(&row)) {
                *b += v / nb as f64;
            }
        }
        // a and b are at most the distinct features on a path.
        let m = nf.min(depth) + 1;
        let fact: Vec<f64> = (0..=2 * m + 1)
            .scan(1.0f64, |acc, i| {
                if i > 0 {
                    *acc *= i as f64;
                }
                Some(*acc)
            })
            .collect();
        let weights = (0..=m)
            .map(|a| {
                (0..=m)
                    .map(|b| fact[a] * fact[b] / fact[a + b + 1])
                    .collect()
            })
            .collect();
        Ok(Interventional {
            n_features: nf,
            n_outputs: e.n_outputs,
            scale: e.scale,
            n_background: nb,
            base,
            trees,
            weights,
        })
    }

    /// The base value of each output: the mean raw score of the background rows.
    pub fn base_values(&self) -> &[f64] {
        &self.base
    }

    /// Values per row: per output, one per feature and the base value.
    pub fn row_len(&self) -> usize {
        self.n_outputs * (self.n_features + 1)
    }

    /// Explains every row of `x` in parallel blocks: `x.n_rows() × row_len()` values.
    pub fn explain(&self, x: &Matrix) -> Result<Vec<f64>> {
        let nf = self.n_features;
        if x.n_cols() != nf {
            return Err(Error::Input(format!(
                "the model has {nf} features, the input {} columns",
                x.n_cols()
            )));
        }
        let w = self.row_len();
        let mut out = vec![0.0; x.n_rows() * w];
        out.par_chunks_mut(BLOCK * w)
            .enumerate()
            .for_each(|(b, o)| {
                let mut row = vec![0.0; nf];
                let mut walk = Walk {
                    side: vec![0; nf],
                    path: Vec::new(),
                    phi: vec![0.0; nf],
                    set: Vec::new(),
                };
                for (i, ro) in o.chunks_exact_mut(w).enumerate() {
                    x.row_into(b * BLOCK + i, &mut row);
                    self.explain_row(&row, ro, &mut walk);
                }
            });
        Ok(out)
    }

    fn explain_row(&self, row: &[f64], out: &mut [f64], walk: &mut Walk) {
        let nf = self.n_features;
        let per = self.scale / self.n_background as f64;
        let mut xdec = Vec::new();
        for t in &self.trees {
            if t.nodes.is_empty() {
                continue;
            }
            xdec.clear();
            xdec.extend(t.nodes.iter().map(|(f, s, _, _)| s.goes_left(row[*f])));
            walk.phi.fill(0.0);
            // All background rows walk down together (a bitset); they part where they
            // disagree with the row.
            let words = self.n_background.div_ceil(64);
            walk.set.clear();
            for w in 0..words {
                let left = self.n_background - w * 64;
                walk.set.push(if left >= 64 {
                    u64::MAX
                } else {
                    (1u64 << left) - 1
                });
            }
            self.visit(t, &xdec, Child::Node(0), 0, 0, 0, walk);
            let o = &mut out[t.output * (nf + 1)..t.output * (nf + 1) + nf];
            for (a, p) in o.iter_mut().zip(&walk.phi) {
                *a += per * p;
            }
        }
        for k in 0..self.n_outputs {
            out[k * (nf + 1) + nf] = self.base[k];
        }
    }

    /// Visits `c` with the background rows in the bitset at `walk.set[at..at + words]`, all
    /// of which reach it with the same features on the row's side (`a` of them) and on their
    /// own side (`b`).
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &self,
        t: &ITree,
        xdec: &[bool],
        c: Child,
        at: usize,
        a: usize,
        b: usize,
        walk: &mut Walk,
    ) {
        let words = self.n_background.div_ceil(64);
        let i = match c {
            Child::Leaf(l) => {
                if a + b == 0 {
                    return;
                }
                let count: u32 = walk.set[at..at + words]
                    .iter()
                    .map(|w| w.count_ones())
                    .sum();
                let v = t.leaf_values[l] * f64::from(count);
                let pos = if a > 0 {
                    v * self.weights[a - 1][b]
                } else {
                    0.0
                };
                let neg = if b > 0 {
                    v * self.weights[a][b - 1]
                } else {
                    0.0
                };
                for &f in &walk.path {
                    if walk.side[f] == 1 {
                        walk.phi[f] += pos;
                    } else {
                        walk.phi[f] -= neg;
                    }
                }
                return;
            }
            Child::Node(i) => i,
        };
        let (f, _, left, right) = &t.nodes[i];
        let f = *f;
        let xl = xdec[i];
        let (xc, oc) = if xl { (*left, *right) } else { (*right, *left) };
        if walk.side[f] == 1 {
            // The feature is the row's: every background row follows the row.
            return self.visit(t, xdec, xc, at, a, b, walk);
        }
        // The rows going the row's way, and the others, appended after the current end.
        let goes_left = &t.background[i * words..(i + 1) * words];
        let same = walk.set.len();
        let (mut any_same, mut any_diff) = (false, false);
        for (w, &gl) in goes_left.iter().enumerate() {
            let set = walk.set[at + w];
            let with_x = if xl { gl } else { !gl };
            let s = set & with_x;
            any_same |= s != 0;
            walk.set.push(s);
        }
        let diff = walk.set.len();
        for w in 0..words {
            let d = walk.set[at + w] & !walk.set[same + w];
            any_diff |= d != 0;
            walk.set.push(d);
        }
        if any_same {
            self.visit(t, xdec, xc, same, a, b, walk);
        }
        if any_diff {
            if walk.side[f] == 2 {
                // The feature is the background's: those rows go their own way.
                self.visit(t, xdec, oc, diff, a, b, walk);
            } else {
                walk.path.push(f);
                walk.side[f] = 1;
                self.visit(t, xdec, xc, diff, a + 1, b, walk);
                walk.side[f] = 2;
                self.visit(t, xdec, oc, diff, a, b + 1, walk);
                walk.side[f] = 0;
                walk.path.pop();
            }
        }
        walk.set.truncate(same);
    }
}

/// The state of one walk down a tree: which side each feature took (0 none, 1 the row's,
/// 2 the background row's), the features that took one, and the row's contributions.
struct Walk {
    side: Vec<u8>,
    path: Vec<usize>,
    phi: Vec<f64>,
    /// Bitsets of background rows, one per level of the walk.
    set: Vec<u64>,
}
