//! Exact path-dependent SHAP interaction values of tree models (Lundberg et al. 2020, the
//! values of `shap.TreeExplainer(model).shap_interaction_values`).
//!
//! shap computes, for each feature `i` of a tree, TreeSHAP with `i` held on (the row's path)
//! and held off (the covers' average), and takes half the difference as the interaction of
//! `i` with every other feature; the diagonal is `φ_i` minus the rest of its row. Per leaf
//! `l` with distinct path features `U_l` (path factors `z_j`, `o_j` as in
//! [`crate::treeshap`]), holding `i` on multiplies the leaf's weight by `o_i`, off by `z_i`,
//! and removes `i` from the players, so for `i ≠ j`
//!
//! ```text
//! Φ_ij = ½ Σ_{l : i, j ∈ U_l} v_l (o_i − z_i)(o_j − z_j) ∫₀¹ Π_{k ∈ U_l∖{i,j}} (z_k + (o_k − z_k) t) dt
//! Φ_ii = φ_i − Σ_{j ≠ i} Φ_ij
//! ```
//!
//! (the Beta integral gives the Shapley interaction index's weights `|S|!(|U|−|S|−2)!/(|U|−1)!`).
//! The integrand is a polynomial of degree `|U_l| − 2`, integrated exactly by Gauss–Legendre
//! quadrature; per leaf the products leaving out one or two factors come from prefix and
//! suffix products (no division, so empty children need no special case): `O(|U_l|² q)` per
//! leaf and row, where shap's recursion takes `O(|U| · leaves · depth²)` per tree.
//!
//! Each row's matrix sums by rows (and columns: it is symmetric) to the SHAP values, and in
//! all to the raw score minus the base value.

use rayon::prelude::*;
use slipway_learn::Matrix;
use slipway_learn::trees::{Child, Ensemble, Split};

use crate::columns::Groups;
use crate::treeshap::gauss_legendre;
use crate::{Error, Result};

/// Rows explained together per task.
const BLOCK: usize = 16;

/// One leaf's path: its distinct features, their cover fractions, and the splits deciding
/// whether the row follows the path on each.
#[derive(Debug, Clone)]
struct Leaf {
    /// The leaf's value times the ensemble's scale.
    value: f64,
    features: Vec<u32>,
    z: Vec<f64>,
    /// Per feature, its edges in `edges[edge_at[f]..edge_at[f + 1]]`.
    edge_at: Vec<u32>,
    /// (internal node, whether the path goes left there).
    edges: Vec<(u32, bool)>,
}

#[derive(Debug, Clone)]
struct Tree {
    output: usize,
    nodes: Vec<(usize, Split)>,
    leaves: Vec<Leaf>,
    t: Vec<f64>,
    w: Vec<f64>,
}

/// SHAP interaction values of one tree model.
#[derive(Debug, Clone)]
pub struct TreeInteractions {
    n_features: usize,
    n_outputs: usize,
    base: Vec<f64>,
    trees: Vec<Tree>,
    max_distinct: usize,
    max_nodes: usize,
}

struct Scratch {
    dec: Vec<bool>,
    o: Vec<f64>,
    f: Vec<f64>,
    prefix: Vec<f64>,
    suffix: Vec<f64>,
    mid: Vec<f64>,
    phi: Vec<f64>,
}

impl TreeInteractions {
    /// Prepares every tree of `e` (which needs covers, as [`crate::TreeShap::new`]).
    pub fn new(e: &Ensemble) -> Result<TreeInteractions> {
        // Validates the covers and computes the base values the same way as TreeSHAP.
        let shap = crate::TreeShap::new(e)?;
        let mut trees = Vec::with_capacity(e.trees.len());
        let mut max_distinct = 0;
        let mut max_nodes = 1;
        for t in &e.trees {
            if t.nodes.is_empty() {
                continue;
            }
            max_nodes = max_nodes.max(t.nodes.len());
            let mut leaves = Vec::with_capacity(t.leaf_values.len());
            // Depth-first, carrying the path's (feature, z, edges).
            type Path = Vec<(u32, f64, Vec<(u32, bool)>)>;
            let mut stack: Vec<(Child, Path)> = vec![(Child::Node(0), Vec::new())];
            while let Some((c, path)) = stack.pop() {
                match c {
                    Child::Leaf(l) => {
                        let mut leaf = Leaf {
                            value: e.scale * t.leaf_values[l],
                            features: Vec::with_capacity(path.len()),
                            z: Vec::with_capacity(path.len()),
                            edge_at: vec![0],
                            edges: Vec::new(),
                        };
                        for (f, z, edges) in path {
                            leaf.features.push(f);
                            leaf.z.push(z);
                            leaf.edges.extend(edges);
                            leaf.edge_at.push(leaf.edges.len() as u32);
                        }
                        max_distinct = max_distinct.max(leaf.features.len());
                        leaves.push(leaf);
                    }
                    Child::Node(i) => {
                        let n = &t.nodes[i];
                        let cover = t.node_covers[i];
                        for (child, left) in [(n.left, true), (n.right, false)] {
                            let cc = match child {
                                Child::Node(j) => t.node_covers[j],
                                Child::Leaf(l) => t.leaf_covers[l],
                            };
                            let frac = cc / cover;
                            let mut p = path.clone();
                            match p.iter_mut().find(|(f, _, _)| *f as usize == n.feature) {
                                Some((_, z, edges)) => {
                                    *z *= frac;
                                    edges.push((i as u32, left));
                                }
                                None => p.push((n.feature as u32, frac, vec![(i as u32, left)])),
                            }
                            stack.push((child, p));
                        }
                    }
                }
            }
            let q = max_distinct_of(&leaves).div_ceil(2).max(1);
            let (tq, wq) = gauss_legendre(q);
            trees.push(Tree {
                output: t.output,
                nodes: t
                    .nodes
                    .iter()
                    .map(|n| (n.feature, n.split.clone()))
                    .collect(),
                leaves,
                t: tq,
                w: wq,
            });
        }
        Ok(TreeInteractions {
            n_features: e.n_features,
            n_outputs: e.n_outputs,
            base: shap.base_values().to_vec(),
            trees,
            max_distinct,
            max_nodes,
        })
    }

    /// Columns of the input matrix.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Raw scores explained per row.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// The base value of each output (as [`crate::TreeShap::base_values`]).
    pub fn base_values(&self) -> &[f64] {
        &self.base
    }

    /// Values per row in [`TreeInteractions::explain`]'s output: per output, a
    /// `features × features` matrix, row-major.
    pub fn row_len(&self) -> usize {
        self.n_outputs * self.n_features * self.n_features
    }

    fn scratch(&self) -> Scratch {
        let d = self.max_distinct + 1;
        let q = self.max_distinct.div_ceil(2).max(1);
        Scratch {
            dec: vec![false; self.max_nodes],
            o: vec![0.0; d],
            f: vec![0.0; d * q],
            prefix: vec![0.0; d * q],
            suffix: vec![0.0; d * q],
            mid: vec![0.0; q],
            phi: vec![0.0; self.n_outputs * self.n_features],
        }
    }

    /// One row (`n_features` values) into `out` ([`TreeInteractions::row_len`] values,
    /// overwritten).
    fn explain_row(&self, row: &[f64], out: &mut [f64], s: &mut Scratch) {
        let m = self.n_features;
        out.fill(0.0);
        s.phi.fill(0.0);
        for t in &self.trees {
            for (i, (f, split)) in t.nodes.iter().enumerate() {
                s.dec[i] = split.goes_left(row[*f]);
            }
            let q = t.t.len();
            let mat = &mut out[t.output * m * m..(t.output + 1) * m * m];
            let phi = &mut s.phi[t.output * m..(t.output + 1) * m];
            for leaf in &t.leaves {
                let d = leaf.features.len();
                if d == 0 {
                    continue;
                }
                // The factors z + (o − z) t at the nodes, and their prefix and suffix
                // products (prefix[a] = Π_{k<a}, suffix[a] = Π_{k≥a}).
                for a in 0..d {
                    let edges = &leaf.edges[leaf.edge_at[a] as usize..leaf.edge_at[a + 1] as usize];
                    let on = edges.iter().all(|&(n, left)| s.dec[n as usize] == left);
                    let o = if on { 1.0 } else { 0.0 };
                    let z = leaf.z[a];
                    s.o[a] = o - z;
                    for k in 0..q {
                        s.f[a * q + k] = z + (o - z) * t.t[k];
                    }
                }
                s.prefix[..q].fill(1.0);
                for a in 0..d {
                    for k in 0..q {
                        s.prefix[(a + 1) * q + k] = s.prefix[a * q + k] * s.f[a * q + k];
                    }
                }
                s.suffix[d * q..(d + 1) * q].fill(1.0);
                for a in (0..d).rev() {
                    for k in 0..q {
                        s.suffix[a * q + k] = s.suffix[(a + 1) * q + k] * s.f[a * q + k];
                    }
                }
                let v = leaf.value;
                for a in 0..d {
                    let fa = leaf.features[a] as usize;
                    let pa = &s.prefix[a * q..(a + 1) * q];
                    let sa = &s.suffix[(a + 1) * q..(a + 2) * q];
                    let single: f64 =
                        t.w.iter()
                            .zip(pa)
                            .zip(sa)
                            .map(|((w, p), x)| w * p * x)
                            .sum();
                    phi[fa] += v * s.o[a] * single;
                    s.mid[..q].fill(1.0);
                    for b in a + 1..d {
                        let fb = leaf.features[b] as usize;
                        let sb = &s.suffix[(b + 1) * q..(b + 2) * q];
                        let mut pair = 0.0;
                        for k in 0..q {
                            pair += t.w[k] * pa[k] * s.mid[k] * sb[k];
                        }
                        let val = 0.5 * v * s.o[a] * s.o[b] * pair;
                        mat[fa * m + fb] += val;
                        mat[fb * m + fa] += val;
                        for k in 0..q {
                            s.mid[k] *= s.f[b * q + k];
                        }
                    }
                }
            }
        }
        // The diagonal: each feature's SHAP value less its interactions with the others.
        for c in 0..self.n_outputs {
            let mat = &mut out[c * m * m..(c + 1) * m * m];
            for i in 0..m {
                let r = &mat[i * m..(i + 1) * m];
                let others: f64 = r.iter().sum::<f64>() - r[i];
                mat[i * m + i] = s.phi[c * m + i] - others;
            }
        }
    }

    /// Interaction values of rows given row-major (`n_features` values each), on this
    /// thread: [`TreeInteractions::row_len`] values per row.
    pub fn explain_rows(&self, rows: &[f64], out: &mut [f64]) {
        let mut s = self.scratch();
        let w = self.row_len();
        for (row, o) in rows
            .chunks_exact(self.n_features.max(1))
            .zip(out.chunks_exact_mut(w.max(1)))
        {
            self.explain_row(row, o, &mut s);
        }
    }

    /// Interaction values of every row of `x`, in parallel on the current rayon pool:
    /// `x.n_rows() × row_len()` values (per row, per output, a symmetric matrix of the
    /// features, row-major). The caller bounds memory by passing blocks of rows.
    pub fn explain(&self, x: &Matrix) -> Result<Vec<f64>> {
        let m = self.n_features;
        if x.n_cols() != m {
            return Err(Error::Input(format!(
                "the model has {m} features, the input {} columns",
                x.n_cols()
            )));
        }
        let n = x.n_rows();
        let w = self.row_len();
        let mut out = vec![0.0; n * w];
        if w == 0 {
            return Ok(out);
        }
        out.par_chunks_mut(BLOCK * w).enumerate().for_each_init(
            || (self.scratch(), vec![0.0; m]),
            |(s, row), (b, o)| {
                for (i, r) in o.chunks_exact_mut(w).enumerate() {
                    x.row_into(b * BLOCK + i, row);
                    self.explain_row(row, r, s);
                }
            },
        );
        Ok(out)
    }
}

/// Why a model of type `kind` has no interaction values, and what it has.
pub fn unsupported(kind: &str) -> String {
    format!(
        "SHAP interaction values are computed for tree models (gbdt, decision_tree, random_forest, extra_trees, imported LightGBM and XGBoost models), path-dependent; model type {kind} has none. For it, `slipway explain --method exact` or `--method kernel` (with --background FILE) gives SHAP values, `--method lime` local weights, and `slipway explain pdp --feature A --feature2 B` shows how two columns act together"
    )
}

fn max_distinct_of(leaves: &[Leaf]) -> usize {
    leaves.iter().map(|l| l.features.len()).max().unwrap_or(0)
}

/// Interaction values of encoded features summed to input columns: `Φ_cd = Σ_{i ∈ c, j ∈ d}
/// Φ_ij` (a feature shared by several columns, a polynomial product, is shared equally, as
/// [`Groups::sum_into`] shares its SHAP value), so each column's row still sums to its SHAP
/// value. `features` is one `m × m` matrix, `out` one `c × c` matrix (overwritten).
pub fn sum_to_columns(groups: &Groups, features: &[f64], out: &mut [f64]) {
    let nc = groups.names().len();
    let src = groups.sources();
    let m = src.len();
    out.fill(0.0);
    for i in 0..m {
        if src[i].is_empty() {
            continue;
        }
        let si = 1.0 / src[i].len() as f64;
        for j in 0..m {
            let v = features[i * m + j];
            if v == 0.0 || src[j].is_empty() {
                continue;
            }
            let share = v * si / src[j].len() as f64;
            for &a in &src[i] {
                for &b in &src[j] {
                    out[a * nc + b] += share;
                }
            }
        }
    }
}
