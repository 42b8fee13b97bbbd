//! The definition of path-dependent SHAP values, by enumeration (shared by the tests).

use slipway_learn::trees::{Child, Ensemble, TreeView};

/// `v(S)` for one tree.
fn value(t: &TreeView, row: &[f64], in_s: &[bool], c: Child) -> f64 {
    match c {
        Child::Leaf(l) => t.leaf_values[l],
        Child::Node(i) => {
            let n = &t.nodes[i];
            if in_s[n.feature] {
                let next = if n.split.goes_left(row[n.feature]) {
                    n.left
                } else {
                    n.right
                };
                value(t, row, in_s, next)
            } else {
                let cover = |c: Child| match c {
                    Child::Node(j) => t.node_covers[j],
                    Child::Leaf(l) => t.leaf_covers[l],
                };
                let w = t.node_covers[i];
                (cover(n.left) * value(t, row, in_s, n.left)
                    + cover(n.right) * value(t, row, in_s, n.right))
                    / w
            }
        }
    }
}

/// Exact Shapley values of every output (plus the base value), by enumeration.
pub fn brute_force(e: &Ensemble, row: &[f64]) -> Vec<f64> {
    let m = e.n_features;
    assert!(m <= 10);
    let mut out = vec![0.0; e.n_outputs * (m + 1)];
    let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
    let v = |mask: usize, k: usize| -> f64 {
        let in_s: Vec<bool> = (0..m).map(|j| mask >> j & 1 == 1).collect();
        let mut s = e.base[k];
        for t in e.trees.iter().filter(|t| t.output == k) {
            s += e.scale
                * if t.nodes.is_empty() {
                    t.leaf_values[0]
                } else {
                    value(t, row, &in_s, Child::Node(0))
                };
        }
        s
    };
    for k in 0..e.n_outputs {
        let values: Vec<f64> = (0..1usize << m).map(|mask| v(mask, k)).collect();
        for i in 0..m {
            let mut phi = 0.0;
            for mask in 0..1usize << m {
                if mask >> i & 1 == 1 {
                    continue;
                }
                let s = mask.count_ones() as usize;
                let w = fact(s) * fact(m - s - 1) / fact(m);
                phi += w * (values[mask | 1 << i] - values[mask]);
            }
            out[k * (m + 1) + i] = phi;
        }
        out[k * (m + 1) + m] = values[0];
    }
    out
}

/// SHAP interaction values of every output by enumeration of the Shapley interaction index
/// (`Φ_ij = Σ_{S ⊆ M∖{i,j}} |S|! (m − |S| − 2)! / (2 (m − 1)!) · ∇_ij v(S)`, the diagonal
/// `φ_i − Σ_{j≠i} Φ_ij`): per output an `m × m` matrix, row-major.
#[allow(dead_code)]
pub fn brute_force_interactions(e: &Ensemble, row: &[f64]) -> Vec<f64> {
    let m = e.n_features;
    assert!(m <= 10);
    let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
    let phi = brute_force(e, row);
    let mut out = vec![0.0; e.n_outputs * m * m];
    for k in 0..e.n_outputs {
        let values: Vec<f64> = (0..1usize << m)
            .map(|mask| {
                let in_s: Vec<bool> = (0..m).map(|j| mask >> j & 1 == 1).collect();
                let mut s = e.base[k];
                for t in e.trees.iter().filter(|t| t.output == k) {
                    s += e.scale
                        * if t.nodes.is_empty() {
                            t.leaf_values[0]
                        } else {
                            value(t, row, &in_s, Child::Node(0))
                        };
                }
                s
            })
            .collect();
        let mat = &mut out[k * m * m..(k + 1) * m * m];
        for i in 0..m {
            for j in 0..m {
                if i == j {
                    continue;
                }
                let mut v = 0.0;
                for mask in 0..1usize << m {
                    if mask >> i & 1 == 1 || mask >> j & 1 == 1 {
                        continue;
                    }
                    let s = mask.count_ones() as usize;
                    let w = fact(s) * fact(m - s - 2) / (2.0 * fact(m - 1));
                    v += w
                        * (values[mask | 1 << i | 1 << j]
                            - values[mask | 1 << i]
                            - values[mask | 1 << j]
                            + values[mask]);
                }
                mat[i * m + j] = v;
            }
        }
        for i in 0..m {
            let others: f64 = (0..m).filter(|&j| j != i).map(|j| mat[i * m + j]).sum();
            mat[i * m + i] = phi[k * (m + 1) + i] - others;
        }
    }
    out
}
