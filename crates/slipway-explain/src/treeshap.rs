//! Exact path-dependent TreeSHAP (Lundberg et al., the values of LightGBM's `pred_contrib`
//! and `shap.TreeExplainer`), computed in time linear in the tree's size per row.
//!
//! For a leaf `l` whose path from the root splits on the distinct features `U_l`, let `z_j`
//! be the product of the cover fractions `cover(child) / cover(node)` of the path's nodes on
//! feature `j`, and `o_j` 1 when the row follows the path at every one of them, else 0. The
//! SHAP value of feature `i` is
//!
//! ```text
//! φ_i = Σ_{l : i ∈ U_l} v_l (o_i − z_i) Σ_{S ⊆ U_l∖{i}} |S|! (|U_l| − |S| − 1)! / |U_l|! · Π_{j∈S} o_j · Π_{j∉S∪{i}} z_j
//!     = Σ_{l : i ∈ U_l} v_l (o_i − z_i) ∫₀¹ Π_{j ∈ U_l, j ≠ i} (z_j + (o_j − z_j) t) dt
//! ```
//!
//! (the Beta integral `∫ t^k (1−t)^{d−1−k} dt = k!(d−1−k)!/d!` turns the subset sum into an
//! integral of a polynomial of degree `|U_l| − 1`). Gauss–Legendre quadrature with
//! `⌈D/2⌉` points (`D` the most distinct features on any path of the tree) integrates it
//! exactly, so every polynomial is carried as its values at those points, and the sums over
//! leaves are shared between the leaves under each node (the idea of Linear TreeSHAP, Yu et
//! al. 2022): one pass down the tree multiplies the path's factors, one pass up sums them
//! and credits each split. Per row and tree that is `O(nodes · D/2)` work instead of the
//! `O(leaves · D²)` of the classic recursion (kept in [`classic`] as the reference, and used
//! for trees with an empty node, where a factor is zero).
//!
//! A feature split again below a node on the same feature replaces that node's factor
//! (`z` multiplies, `o` is the conjunction), as in the classic algorithm's unwinding.
//!
//! Additivity: `Σ_i φ_i = Σ_l v_l (Π_j o_j − Π_j z_j) = f(x) − E[f]`, since the integrand is
//! the derivative of `Π_j (z_j + (o_j − z_j) t)`; `E[f] = Σ_l v_l cover_l / cover_root`.

use rayon::prelude::*;
use slipway_learn::Matrix;
use slipway_learn::trees::{Child, Ensemble, Split, TreeView};

use crate::{Error, Result};

/// Rows explained together (transposed to row-major once per block; one block per task).
const BLOCK: usize = 64;

/// No ancestor edge.
const NONE: u32 = u32::MAX;

/// Gauss–Legendre nodes and weights on `[0, 1]` (`q` points: exact for polynomials of degree
/// up to `2q − 1`).
pub fn gauss_legendre(q: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; q];
    let mut w = vec![0.0; q];
    let legendre = |z: f64| {
        // P_q(z) and P_{q−1}(z) by the three-term recurrence.
        let (mut p1, mut p2) = (1.0f64, 0.0f64);
        for j in 0..q {
            let p3 = p2;
            p2 = p1;
            p1 = ((2 * j + 1) as f64 * z * p2 - j as f64 * p3) / (j + 1) as f64;
        }
        (p1, p2)
    };
    for i in 0..q.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (q as f64 + 0.5)).cos();
        for _ in 0..100 {
            let (p1, p2) = legendre(z);
            let dp = q as f64 * (z * p1 - p2) / (z * z - 1.0);
            let z1 = z;
            z = z1 - p1 / dp;
            if (z - z1).abs() <= 1e-16 {
                break;
            }
        }
        let (p1, p2) = legendre(z);
        let dp = q as f64 * (z * p1 - p2) / (z * z - 1.0);
        let weight = 1.0 / ((1.0 - z * z) * dp * dp);
        x[i] = (1.0 - z) / 2.0;
        x[q - 1 - i] = (1.0 + z) / 2.0;
        w[i] = weight;
        w[q - 1 - i] = weight;
    }
    (x, w)
}

/// A node in preorder.
#[derive(Debug, Clone)]
enum Flat {
    Leaf(f64),
    Internal {
        feature: u32,
        split: u32,
        left: u32,
        right: u32,
    },
}

/// One tree laid out for the linear-time pass.
#[derive(Debug, Clone)]
struct Linear {
    q: usize,
    nodes: Vec<Flat>,
    splits: Vec<Split>,
    /// Per node (the edge from its parent): the parent, whether it is the left child, and
    /// the nearest edge above on the same feature (by its lower node), or [`NONE`].
    parent: Vec<u32>,
    is_left: Vec<bool>,
    anc: Vec<u32>,
    /// Per edge, three factor rows of `q` values: what the path's product is multiplied by
    /// when (ancestor edge followed, this edge followed) is (no, no), (yes, no), (yes, yes)
    /// (an edge without an ancestor on its feature counts as "yes").
    mult: Vec<f64>,
    /// Per edge, two rows of `q` values: `ω_k (o − z) / (z + (o − z) t_k)` for o = 0, 1.
    g: Vec<f64>,
}

/// A tree ready to explain.
#[derive(Debug, Clone)]
enum Prepared {
    /// A one-leaf tree: only its value, in the base.
    Constant,
    Linear(Linear),
    Classic(classic::Tree),
}

/// An explainer for one tree model: the expected value of each output and, per row, the
/// contribution of each feature.
#[derive(Debug, Clone)]
pub struct TreeShap {
    n_features: usize,
    n_outputs: usize,
    scale: f64,
    base: Vec<f64>,
    outputs: Vec<usize>,
    trees: Vec<Prepared>,
    /// Largest `nodes × q` of any tree (scratch size).
    scratch_len: usize,
    max_nodes: usize,
}

/// Per-thread buffers.
struct Scratch {
    p: Vec<f64>,
    h: Vec<f64>,
    o: Vec<u8>,
    dec: Vec<bool>,
    phi: Vec<f64>,
}

impl TreeShap {
    /// Prepares every tree of `e`. Fails when a tree with more than one leaf has no covers
    /// (a bundle written before Slipway kept them, or a model file without them), or covers
    /// that cannot weigh paths.
    pub fn new(e: &Ensemble) -> Result<TreeShap> {
        let mut base = e.base.clone();
        let mut trees = Vec::with_capacity(e.trees.len());
        let mut outputs = Vec::with_capacity(e.trees.len());
        let mut scratch_len = 0;
        let mut max_nodes = 1;
        for (ti, t) in e.trees.iter().enumerate() {
            if t.output >= e.n_outputs {
                return Err(Error::Internal(format!(
                    "tree {ti} adds to output {} of {}",
                    t.output, e.n_outputs
                )));
            }
            outputs.push(t.output);
            if t.nodes.is_empty() {
                base[t.output] += e.scale * t.leaf_values.first().copied().unwrap_or(0.0);
                trees.push(Prepared::Constant);
                continue;
            }
            if !t.has_covers() {
                return Err(Error::NoCovers(format!(
                    "tree {ti} records no node covers (the training rows that reached each node), which TreeSHAP weighs paths by"
                )));
            }
            check_covers(t, ti)?;
            let root = t.node_covers[0];
            let expected: f64 = t
                .leaf_values
                .iter()
                .zip(&t.leaf_covers)
                .map(|(v, c)| v * (c / root))
                .sum();
            base[t.output] += e.scale * expected;
            let p = match Linear::new(t, e.n_features) {
                Some(l) => {
                    scratch_len = scratch_len.max(l.nodes.len() * l.q);
                    max_nodes = max_nodes.max(l.nodes.len());
                    Prepared::Linear(l)
                }
                None => Prepared::Classic(classic::Tree::new(t)),
            };
            trees.push(p);
        }
        Ok(TreeShap {
            n_features: e.n_features,
            n_outputs: e.n_outputs,
            scale: e.scale,
            base,
            outputs,
            trees,
            scratch_len,
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

    /// The expected raw score of each output over the training data the covers count (the
    /// base value every row's contributions start from).
    pub fn base_values(&self) -> &[f64] {
        &self.base
    }

    /// Values per row in [`TreeShap::explain`]'s output: per output, one per feature and
    /// the base value.
    pub fn row_len(&self) -> usize {
        self.n_outputs * (self.n_features + 1)
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            p: vec![0.0; self.scratch_len],
            h: vec![0.0; self.scratch_len],
            o: vec![0; self.max_nodes],
            dec: vec![false; self.max_nodes],
            phi: Vec::new(),
        }
    }

    /// Explains rows given row-major (`n_features` values each) into `out` (per row
    /// [`TreeShap::row_len`] values: for each output the contributions of the features and
    /// then the base value, LightGBM's `pred_contrib` layout). One thread.
    pub fn explain_rows(&self, rows: &[f64], out: &mut [f64]) {
        let mut s = self.scratch();
        self.explain_rows_with(rows, out, &mut s);
    }

    fn explain_rows_with(&self, rows: &[f64], out: &mut [f64], s: &mut Scratch) {
        let nf = self.n_features;
        let width = self.row_len();
        for (row, o) in rows
            .chunks_exact(nf.max(1))
            .zip(out.chunks_exact_mut(width))
        {
            o.fill(0.0);
            for (t, &k) in self.trees.iter().zip(&self.outputs) {
                let phi = &mut o[k * (nf + 1)..k * (nf + 1) + nf];
                match t {
                    Prepared::Constant => {}
                    Prepared::Linear(l) => l.explain(row, self.scale, phi, s),
                    Prepared::Classic(c) => {
                        s.phi.clear();
                        s.phi.resize(nf, 0.0);
                        c.explain(row, &mut s.phi);
                        for (p, v) in phi.iter_mut().zip(&s.phi) {
                            *p += self.scale * v;
                        }
                    }
                }
            }
            for k in 0..self.n_outputs {
                o[k * (nf + 1) + nf] = self.base[k];
            }
        }
    }

    /// Explains every row of `x` (one column per feature), in parallel blocks of rows on the
    /// current rayon pool: `x.n_rows() × row_len()` values, row-major.
    pub fn explain(&self, x: &Matrix) -> Result<Vec<f64>> {
        let nf = self.n_features;
        if x.n_cols() != nf {
            return Err(Error::Input(format!(
                "the model has {nf} features, the input {} columns",
                x.n_cols()
            )));
        }
        let n = x.n_rows();
        let width = self.row_len();
        let mut out = vec![0.0; n * width];
        out.par_chunks_mut(BLOCK * width).enumerate().for_each_init(
            || (self.scratch(), Vec::new()),
            |(s, rows), (b, o)| {
                let r0 = b * BLOCK;
                let nr = o.len() / width;
                rows.clear();
                rows.resize(nr * nf.max(1), 0.0);
                for f in 0..nf {
                    let c = &x.as_col_major()[f * n + r0..f * n + r0 + nr];
                    for (i, &v) in c.iter().enumerate() {
                        rows[i * nf + f] = v;
                    }
                }
                self.explain_rows_with(rows, o, s);
            },
        );
        Ok(out)
    }
}

fn check_covers(t: &TreeView, ti: usize) -> Result<()> {
    let bad = |what: &str, i: usize, c: f64| {
        Err(Error::Model(format!(
            "tree {ti}: {what} {i} has cover {c}; covers must be finite and not negative, and an internal node's must be above 0"
        )))
    };
    for (i, &c) in t.node_covers.iter().enumerate() {
        if !(c.is_finite() && c > 0.0) {
            return bad("node", i, c);
        }
    }
    for (i, &c) in t.leaf_covers.iter().enumerate() {
        if !(c.is_finite() && c >= 0.0) {
            return bad("leaf", i, c);
        }
    }
    Ok(())
}

impl Linear {
    /// Lays out a tree with covers; `None` when a child's cover is 0 (a factor of the path
    /// product would vanish, and the classic recursion takes such a tree).
    fn new(t: &TreeView, n_features: usize) -> Option<Linear> {
        let total = t.nodes.len() + t.leaf_values.len();
        let mut nodes: Vec<Flat> = Vec::with_capacity(total);
        let mut splits = Vec::with_capacity(t.nodes.len());
        let mut parent = Vec::with_capacity(total);
        let mut is_left = Vec::with_capacity(total);
        let mut anc = Vec::with_capacity(total);
        let mut z: Vec<f64> = Vec::with_capacity(total);
        let mut cover: Vec<f64> = Vec::with_capacity(total);
        // The lower node of the most recent edge on each feature along the current path.
        let mut last_on: Vec<u32> = vec![NONE; n_features];
        let mut distinct = 0usize;
        let mut max_distinct = 0usize;
        enum Op {
            /// A node, its parent (flat), side, and the feature the parent splits on.
            Visit(Child, u32, bool, usize),
            /// Leaving a subtree: `last_on[feature]` goes back to `prev`.
            Restore(usize, u32),
        }
        let mut stack = vec![Op::Visit(Child::Node(0), NONE, false, 0)];
        while let Some(op) = stack.pop() {
            let (c, p, left, pf) = match op {
                Op::Visit(c, p, left, pf) => (c, p, left, pf),
                Op::Restore(f, prev) => {
                    if prev == NONE {
                        distinct -= 1;
                    }
                    last_on[f] = prev;
                    continue;
                }
            };
            let me = nodes.len() as u32;
            let cv = match c {
                Child::Node(i) => t.node_covers[i],
                Child::Leaf(l) => t.leaf_covers[l],
            };
            parent.push(p);
            is_left.push(left);
            cover.push(cv);
            if p == NONE {
                anc.push(NONE);
                z.push(1.0);
            } else {
                match &mut nodes[p as usize] {
                    Flat::Internal {
                        left: l, right: r, ..
                    } => {
                        if left {
                            *l = me;
                        } else {
                            *r = me;
                        }
                    }
                    Flat::Leaf(_) => unreachable!("a parent is an internal node"),
                }
                let a = last_on[pf];
                let frac = cv / cover[p as usize];
                if frac <= 0.0 {
                    return None;
                }
                anc.push(a);
                z.push(if a == NONE {
                    frac
                } else {
                    frac * z[a as usize]
                });
                // Below this node, the last edge on the parent's feature is this one.
                stack.push(Op::Restore(pf, a));
                if a == NONE {
                    distinct += 1;
                }
                last_on[pf] = me;
            }
            match c {
                Child::Leaf(l) => {
                    max_distinct = max_distinct.max(distinct);
                    nodes.push(Flat::Leaf(t.leaf_values[l]));
                }
                Child::Node(i) => {
                    let n = &t.nodes[i];
                    nodes.push(Flat::Internal {
                        feature: n.feature as u32,
                        split: splits.len() as u32,
                        left: NONE,
                        right: NONE,
                    });
                    splits.push(n.split.clone());
                    stack.push(Op::Visit(n.right, me, false, n.feature));
                    stack.push(Op::Visit(n.left, me, true, n.feature));
                }
            }
        }
        // More points than needed are as exact; 4 and 8 get loops the compiler unrolls.
        let q = match max_distinct.div_ceil(2).max(1) {
            1..=4 => 4,
            5..=8 => 8,
            q => q,
        };
        let (ts, ws) = gauss_legendre(q);
        let f = |z: f64, o: f64, t: f64| z + (o - z) * t;
        let n = nodes.len();
        let mut mult = vec![1.0; n * 3 * q];
        let mut g = vec![0.0; n * 2 * q];
        for e in 1..n {
            let ze = z[e];
            for k in 0..q {
                let t = ts[k];
                let (e0, e1) = (f(ze, 0.0, t), f(ze, 1.0, t));
                let (a0, a1) = match anc[e] {
                    NONE => (1.0, 1.0),
                    a => (f(z[a as usize], 0.0, t), f(z[a as usize], 1.0, t)),
                };
                mult[(e * 3) * q + k] = e0 / a0;
                mult[(e * 3 + 1) * q + k] = e0 / a1;
                mult[(e * 3 + 2) * q + k] = e1 / a1;
                g[(e * 2) * q + k] = ws[k] * (0.0 - ze) / e0;
                g[(e * 2 + 1) * q + k] = ws[k] * (1.0 - ze) / e1;
            }
        }
        Some(Linear {
            q,
            nodes,
            splits,
            parent,
            is_left,
            anc,
            mult,
            g,
        })
    }

    /// Adds `scale` times the row's contributions to `phi`.
    #[inline]
    fn explain(&self, row: &[f64], scale: f64, phi: &mut [f64], s: &mut Scratch) {
        match self.q {
            4 => self.explain_fixed::<4>(row, scale, phi, s),
            8 => self.explain_fixed::<8>(row, scale, phi, s),
            _ => self.explain_any(row, scale, phi, s),
        }
    }

    /// [`Linear::explain`] with `Q` quadrature points known at compile time.
    fn explain_fixed<const Q: usize>(
        &self,
        row: &[f64],
        scale: f64,
        phi: &mut [f64],
        s: &mut Scratch,
    ) {
        let n = self.nodes.len();
        let p = &mut s.p[..n * Q];
        let h = &mut s.h[..n * Q];
        let o = &mut s.o[..n];
        let dec = &mut s.dec[..n];
        let at = |v: &[f64], i: usize| -> [f64; Q] { v[i * Q..i * Q + Q].try_into().unwrap() };
        p[..Q].fill(1.0);
        o[0] = 1;
        if let Flat::Internal { feature, split, .. } = self.nodes[0] {
            dec[0] = self.splits[split as usize].goes_left(row[feature as usize]);
        }
        for i in 1..n {
            let par = self.parent[i] as usize;
            let follow = u8::from(dec[par] == self.is_left[i]);
            let oa = match self.anc[i] {
                NONE => 1,
                a => o[a as usize],
            };
            let oi = oa & follow;
            o[i] = oi;
            let m = at(&self.mult, i * 3 + usize::from(oa + oi));
            let pp = at(p, par);
            let mut out = [0.0; Q];
            for k in 0..Q {
                out[k] = pp[k] * m[k];
            }
            p[i * Q..i * Q + Q].copy_from_slice(&out);
            if let Flat::Internal { feature, split, .. } = self.nodes[i] {
                dec[i] = self.splits[split as usize].goes_left(row[feature as usize]);
            }
        }
        for i in (0..n).rev() {
            match self.nodes[i] {
                Flat::Leaf(v) => {
                    let pi = at(p, i);
                    let mut out = [0.0; Q];
                    for k in 0..Q {
                        out[k] = v * pi[k];
                    }
                    h[i * Q..i * Q + Q].copy_from_slice(&out);
                }
                Flat::Internal {
                    feature,
                    left,
                    right,
                    ..
                } => {
                    let (l, r) = (left as usize, right as usize);
                    let gl = at(&self.g, l * 2 + usize::from(o[l]));
                    let gr = at(&self.g, r * 2 + usize::from(o[r]));
                    let hl = at(h, l);
                    let hr = at(h, r);
                    let mut hn = [0.0; Q];
                    let mut acc = [0.0; Q];
                    for k in 0..Q {
                        hn[k] = hl[k] + hr[k];
                        acc[k] = gl[k] * hl[k] + gr[k] * hr[k];
                    }
                    let a = self.anc[l];
                    if a != NONE {
                        let ga = at(&self.g, a as usize * 2 + usize::from(o[a as usize]));
                        for k in 0..Q {
                            acc[k] -= ga[k] * hn[k];
                        }
                    }
                    h[i * Q..i * Q + Q].copy_from_slice(&hn);
                    phi[feature as usize] += scale * acc.iter().sum::<f64>();
                }
            }
        }
    }

    /// [`Linear::explain`] for any number of quadrature points.
    fn explain_any(&self, row: &[f64], scale: f64, phi: &mut [f64], s: &mut Scratch) {
        let q = self.q;
        let n = self.nodes.len();
        let p = &mut s.p[..n * q];
        let h = &mut s.h[..n * q];
        let o = &mut s.o[..n];
        let dec = &mut s.dec[..n];
        // Down: the product of the path's factors at every node.
        p[..q].fill(1.0);
        o[0] = 1;
        for i in 0..n {
            if i > 0 {
                let par = self.parent[i] as usize;
                let follow = u8::from(dec[par] == self.is_left[i]);
                let oa = match self.anc[i] {
                    NONE => 1,
                    a => o[a as usize],
                };
                let oi = oa & follow;
                o[i] = oi;
                let m = &self.mult[(i * 3 + usize::from(oa + oi)) * q..][..q];
                let (before, after) = p.split_at_mut(i * q);
                let pp = &before[par * q..par * q + q];
                for ((d, &a), &b) in after[..q].iter_mut().zip(pp).zip(m) {
                    *d = a * b;
                }
            }
            if let Flat::Internal { feature, split, .. } = self.nodes[i] {
                dec[i] = self.splits[split as usize].goes_left(row[feature as usize]);
            }
        }
        // Up: leaf values times their products, summed under each node; each split credits
        // its feature with the leaves for which it is the deepest split on that feature.
        for i in (0..n).rev() {
            match self.nodes[i] {
                Flat::Leaf(v) => {
                    for (d, &a) in h[i * q..i * q + q].iter_mut().zip(&p[i * q..i * q + q]) {
                        *d = v * a;
                    }
                }
                Flat::Internal {
                    feature,
                    left,
                    right,
                    ..
                } => {
                    let (l, r) = (left as usize, right as usize);
                    let gl = &self.g[(l * 2 + usize::from(o[l])) * q..][..q];
                    let gr = &self.g[(r * 2 + usize::from(o[r])) * q..][..q];
                    let (lo, hi) = h.split_at_mut(i * q + q);
                    let hn = &mut lo[i * q..];
                    let hl = &hi[(l - i - 1) * q..(l - i) * q];
                    let hr = &hi[(r - i - 1) * q..(r - i) * q];
                    let mut acc = 0.0;
                    for k in 0..q {
                        hn[k] = hl[k] + hr[k];
                        acc += gl[k] * hl[k] + gr[k] * hr[k];
                    }
                    let a = self.anc[l];
                    if a != NONE {
                        let ga = &self.g[(a as usize * 2 + usize::from(o[a as usize])) * q..][..q];
                        for k in 0..q {
                            acc -= ga[k] * hn[k];
                        }
                    }
                    phi[feature as usize] += scale * acc;
                }
            }
        }
    }
}

pub mod classic {
    //! The classic recursive TreeSHAP, LightGBM's `Tree::TreeSHAP`: `O(leaves · depth²)` per
    //! row. The reference for the linear-time pass, and what explains trees where a child's
    //! cover is 0.

    use slipway_learn::trees::{Child, Split, TreeView};

    #[derive(Debug, Clone, Copy, Default)]
    struct PathElement {
        feature: i64,
        zero: f64,
        one: f64,
        pweight: f64,
    }

    /// A tree for the classic recursion.
    #[derive(Debug, Clone)]
    pub struct Tree {
        nodes: Vec<(usize, Split, Child, Child)>,
        leaf_values: Vec<f64>,
        node_covers: Vec<f64>,
        leaf_covers: Vec<f64>,
        max_depth: usize,
    }

    impl Tree {
        /// The tree of a view with covers.
        pub fn new(t: &TreeView) -> Tree {
            let mut max_depth = 0;
            let mut stack = vec![(Child::Node(0), 0usize)];
            while let Some((c, d)) = stack.pop() {
                match c {
                    Child::Leaf(_) => max_depth = max_depth.max(d),
                    Child::Node(i) if !t.nodes.is_empty() => {
                        stack.push((t.nodes[i].left, d + 1));
                        stack.push((t.nodes[i].right, d + 1));
                    }
                    Child::Node(_) => {}
                }
            }
            Tree {
                nodes: t
                    .nodes
                    .iter()
                    .map(|n| (n.feature, n.split.clone(), n.left, n.right))
                    .collect(),
                leaf_values: t.leaf_values.clone(),
                node_covers: t.node_covers.clone(),
                leaf_covers: t.leaf_covers.clone(),
                max_depth,
            }
        }

        /// Adds the row's contributions (no scale) to `phi`.
        pub fn explain(&self, row: &[f64], phi: &mut [f64]) {
            if self.nodes.is_empty() {
                return;
            }
            let len = self.max_depth + 3;
            let mut path = vec![PathElement::default(); len * (len + 1) / 2];
            self.recurse(row, phi, Child::Node(0), 0, 0, &mut path, 1.0, 1.0, -1);
        }

        fn cover(&self, c: Child) -> f64 {
            match c {
                Child::Node(i) => self.node_covers[i],
                Child::Leaf(l) => self.leaf_covers[l],
            }
        }

        /// LightGBM's recursion: this node's path starts at `parent_start + depth`, a copy of
        /// the parent's (at `parent_start`, `depth` elements) extended by one.
        #[allow(clippy::too_many_arguments)]
        fn recurse(
            &self,
            row: &[f64],
            phi: &mut [f64],
            node: Child,
            parent_start: usize,
            mut depth: usize,
            path: &mut [PathElement],
            zero: f64,
            one: f64,
            feature: i64,
        ) {
            let start = parent_start + depth;
            path.copy_within(parent_start..parent_start + depth, start);
            let here = &mut path[start..];
            extend(here, depth, zero, one, feature);
            match node {
                Child::Leaf(l) => {
                    let v = self.leaf_values[l];
                    for i in 1..=depth {
                        let w = unwound_sum(here, depth, i);
                        let e = here[i];
                        phi[e.feature as usize] += w * (e.one - e.zero) * v;
                    }
                }
                Child::Node(i) => {
                    let (f, split, left, right) = &self.nodes[i];
                    let hot = if split.goes_left(row[*f]) {
                        *left
                    } else {
                        *right
                    };
                    let cold = if hot == *left { *right } else { *left };
                    let w = self.node_covers[i];
                    let hot_zero = self.cover(hot) / w;
                    let cold_zero = self.cover(cold) / w;
                    let mut in_zero = 1.0;
                    let mut in_one = 1.0;
                    if let Some(k) = (0..=depth).find(|&k| here[k].feature == *f as i64) {
                        in_zero = here[k].zero;
                        in_one = here[k].one;
                        unwind(here, depth, k);
                        depth -= 1;
                    }
                    let fi = *f as i64;
                    self.recurse(
                        row,
                        phi,
                        hot,
                        start,
                        depth + 1,
                        path,
                        hot_zero * in_zero,
                        in_one,
                        fi,
                    );
                    self.recurse(
                        row,
                        phi,
                        cold,
                        start,
                        depth + 1,
                        path,
                        cold_zero * in_zero,
                        0.0,
                        fi,
                    );
                }
            }
        }
    }

    fn extend(p: &mut [PathElement], d: usize, zero: f64, one: f64, feature: i64) {
        p[d] = PathElement {
            feature,
            zero,
            one,
            pweight: if d == 0 { 1.0 } else { 0.0 },
        };
        for i in (0..d).rev() {
            p[i + 1].pweight += one * p[i].pweight * (i + 1) as f64 / (d + 1) as f64;
            p[i].pweight = zero * p[i].pweight * (d - i) as f64 / (d + 1) as f64;
        }
    }

    fn unwind(p: &mut [PathElement], d: usize, k: usize) {
        let one = p[k].one;
        let zero = p[k].zero;
        let mut next = p[d].pweight;
        for i in (0..d).rev() {
            if one != 0.0 {
                let tmp = p[i].pweight;
                p[i].pweight = next * (d + 1) as f64 / ((i + 1) as f64 * one);
                next = tmp - p[i].pweight * zero * (d - i) as f64 / (d + 1) as f64;
            } else {
                p[i].pweight = p[i].pweight * (d + 1) as f64 / (zero * (d - i) as f64);
            }
        }
        for i in k..d {
            p[i].feature = p[i + 1].feature;
            p[i].zero = p[i + 1].zero;
            p[i].one = p[i + 1].one;
        }
    }

    fn unwound_sum(p: &[PathElement], d: usize, k: usize) -> f64 {
        let one = p[k].one;
        let zero = p[k].zero;
        let mut next = p[d].pweight;
        let mut total = 0.0;
        for i in (0..d).rev() {
            if one != 0.0 {
                let tmp = next * (d + 1) as f64 / ((i + 1) as f64 * one);
                total += tmp;
                next = p[i].pweight - tmp * zero * ((d - i) as f64 / (d + 1) as f64);
            } else if zero != 0.0 {
                total += (p[i].pweight / zero) / ((d - i) as f64 / (d + 1) as f64);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use slipway_learn::trees::{Child, NodeView, Split, TreeView};

    use super::*;

    /// A chain of splits on features 0..6 (each left child splits further), covers halving.
    fn chain() -> TreeView {
        let depth = 6;
        let nodes = (0..depth)
            .map(|i| NodeView {
                feature: i,
                split: Split::LessEqual {
                    threshold: 0.5,
                    nan_left: i % 2 == 0,
                },
                left: if i + 1 < depth {
                    Child::Node(i + 1)
                } else {
                    Child::Leaf(depth)
                },
                right: Child::Leaf(i),
            })
            .collect();
        TreeView {
            output: 0,
            nodes,
            leaf_values: (0..=depth).map(|l| l as f64 * 0.37 - 1.0).collect(),
            node_covers: (0..depth).map(|i| 64.0 / f64::from(1u32 << i)).collect(),
            leaf_covers: (0..=depth)
                .map(|l| {
                    if l < depth {
                        64.0 / f64::from(2u32 << l)
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn the_unrolled_and_the_general_pass_agree() {
        let t = chain();
        let l = Linear::new(&t, 6).unwrap();
        assert_eq!(l.q, 4);
        let mut s = Scratch {
            p: vec![0.0; 64],
            h: vec![0.0; 64],
            o: vec![0; 16],
            dec: vec![false; 16],
            phi: Vec::new(),
        };
        for row in [[0.1; 6], [0.9; 6], [f64::NAN, 0.2, 0.9, f64::NAN, 0.1, 0.7]] {
            let mut a = vec![0.0; 6];
            let mut b = vec![0.0; 6];
            let mut c = vec![0.0; 6];
            l.explain_fixed::<4>(&row, 1.0, &mut a, &mut s);
            l.explain_any(&row, 1.0, &mut b, &mut s);
            classic::Tree::new(&t).explain(&row, &mut c);
            for j in 0..6 {
                assert!((a[j] - b[j]).abs() <= 1e-12, "{a:?} {b:?}");
                assert!((a[j] - c[j]).abs() <= 1e-12, "{a:?} {c:?}");
            }
        }
    }

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        for q in 1..=20 {
            let (t, w) = gauss_legendre(q);
            for d in 0..2 * q {
                let got: f64 = t.iter().zip(&w).map(|(t, w)| w * t.powi(d as i32)).sum();
                assert!(
                    (got - 1.0 / (d + 1) as f64).abs() <= 1e-13,
                    "q {q} degree {d}: {got}"
                );
            }
        }
    }
}
