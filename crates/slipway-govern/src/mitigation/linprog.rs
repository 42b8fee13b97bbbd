//! A dense two-phase simplex for the small linear programs of the exponentiated gradient
//! reduction (a few constraints, one column per best response found so far): what Fairlearn
//! asks of `scipy.optimize.linprog(method="highs-ds")`.
//!
//! Bland's rule (lowest index enters, lowest basic index leaves on ties) rules out cycling on
//! these degenerate problems; the sizes (tens of columns) make a dense tableau the simplest
//! correct choice.

/// Pivot and reduced-cost tolerance.
const TOL: f64 = 1e-10;
/// Most pivots before giving up (never reached on problems of this size).
const MAX_PIVOTS: usize = 100_000;

/// `minimize c·x` subject to `a_ub x ≤ b_ub`, `a_eq x = b_eq`, `x_j ≥ 0` unless `free[j]`.
/// `None` when the problem is infeasible or unbounded.
pub(crate) fn linprog(
    c: &[f64],
    a_ub: &[Vec<f64>],
    b_ub: &[f64],
    a_eq: &[Vec<f64>],
    b_eq: &[f64],
    free: &[bool],
) -> Option<Vec<f64>> {
    let n = c.len();
    // Standard-form columns: each variable, a second (negated) column for a free one.
    let mut cols: Vec<(usize, f64)> = Vec::new();
    for (j, &f) in free.iter().enumerate().take(n) {
        cols.push((j, 1.0));
        if f {
            cols.push((j, -1.0));
        }
    }
    let n_struct = cols.len();
    let n_ub = a_ub.len();
    let m = n_ub + a_eq.len();
    // Columns: structural, one slack per ≤ row, one artificial per row; then the rhs.
    let n_slack = n_ub;
    let art0 = n_struct + n_slack;
    let width = art0 + m + 1;
    let rhs = width - 1;
    let mut t = vec![vec![0.0; width]; m];
    let mut basis = vec![0usize; m];
    for (i, row) in t.iter_mut().enumerate() {
        let (a, b) = if i < n_ub {
            (&a_ub[i], b_ub[i])
        } else {
            (&a_eq[i - n_ub], b_eq[i - n_ub])
        };
        for (k, &(j, s)) in cols.iter().enumerate() {
            row[k] = s * a[j];
        }
        if i < n_ub {
            row[n_struct + i] = 1.0;
        }
        row[rhs] = b;
        if b < 0.0 {
            for v in row.iter_mut() {
                *v = -*v;
            }
        }
        // A ≤ row with a non-negative right-hand side starts with its slack basic.
        if i < n_ub && b >= 0.0 {
            basis[i] = n_struct + i;
        } else {
            row[art0 + i] = 1.0;
            basis[i] = art0 + i;
        }
    }
    // Phase 1: minimize the sum of the artificials.
    let mut cost = vec![0.0; width];
    for (i, row) in t.iter().enumerate() {
        if basis[i] >= art0 {
            for (k, v) in cost.iter_mut().enumerate() {
                if k < art0 || k == rhs {
                    *v -= row[k];
                }
            }
        }
    }
    // An artificial that leaves the basis never re-enters.
    if !simplex(&mut t, &mut cost, &mut basis, art0, rhs) {
        return None;
    }
    if -cost[rhs] > 1e-9 {
        return None;
    }
    // Artificials still basic (at zero): pivot them out, or drop their (redundant) rows.
    let mut i = 0;
    while i < t.len() {
        if basis[i] >= art0 {
            match (0..art0).find(|&k| t[i][k].abs() > TOL) {
                Some(k) => pivot(&mut t, &mut cost, &mut basis, i, k),
                None => {
                    t.remove(i);
                    basis.remove(i);
                    continue;
                }
            }
        }
        i += 1;
    }
    // Phase 2: the real objective over the non-artificial columns.
    let mut cost = vec![0.0; width];
    for (k, &(j, s)) in cols.iter().enumerate() {
        cost[k] = s * c[j];
    }
    for (i, row) in t.iter().enumerate() {
        let cb = cost[basis[i]];
        if cb != 0.0 {
            for k in 0..width {
                cost[k] -= cb * row[k];
            }
        }
    }
    if !simplex(&mut t, &mut cost, &mut basis, art0, rhs) {
        return None;
    }
    let mut x = vec![0.0; n];
    for (i, row) in t.iter().enumerate() {
        if basis[i] < n_struct {
            let (j, s) = cols[basis[i]];
            x[j] += s * row[rhs];
        }
    }
    Some(x)
}

/// Pivots until no column below `limit` has a negative reduced cost; `false` when unbounded
/// (or out of pivots).
fn simplex(
    t: &mut [Vec<f64>],
    cost: &mut [f64],
    basis: &mut [usize],
    limit: usize,
    rhs: usize,
) -> bool {
    for _ in 0..MAX_PIVOTS {
        let Some(enter) = (0..limit).find(|&k| cost[k] < -TOL) else {
            return true;
        };
        let mut leave: Option<(usize, f64)> = None;
        for (i, row) in t.iter().enumerate() {
            if row[enter] > TOL {
                let ratio = row[rhs] / row[enter];
                leave = match leave {
                    Some((l, r))
                        if ratio > r + TOL || (ratio >= r - TOL && basis[i] > basis[l]) =>
                    {
                        Some((l, r))
                    }
                    _ => Some((i, ratio)),
                };
            }
        }
        let Some((row, _)) = leave else {
            return false;
        };
        pivot(t, cost, basis, row, enter);
    }
    false
}

fn pivot(t: &mut [Vec<f64>], cost: &mut [f64], basis: &mut [usize], row: usize, col: usize) {
    let p = t[row][col];
    for v in t[row].iter_mut() {
        *v /= p;
    }
    let pivot_row = t[row].clone();
    for (i, r) in t.iter_mut().enumerate() {
        if i != row && r[col] != 0.0 {
            let f = r[col];
            for (v, &pv) in r.iter_mut().zip(&pivot_row) {
                *v -= f * pv;
            }
            r[col] = 0.0;
        }
    }
    if cost[col] != 0.0 {
        let f = cost[col];
        for (v, &pv) in cost.iter_mut().zip(&pivot_row) {
            *v -= f * pv;
        }
        cost[col] = 0.0;
    }
    basis[row] = col;
}

#[cfg(test)]
mod tests {
    use super::linprog;

    #[test]
    fn textbook_problem() {
        // max 3x + 5y s.t. x ≤ 4, 2y ≤ 12, 3x + 2y ≤ 18 → (2, 6).
        let x = linprog(
            &[-3.0, -5.0],
            &[vec![1.0, 0.0], vec![0.0, 2.0], vec![3.0, 2.0]],
            &[4.0, 12.0, 18.0],
            &[],
            &[],
            &[false, false],
        )
        .unwrap();
        assert!(
            (x[0] - 2.0).abs() < 1e-12 && (x[1] - 6.0).abs() < 1e-12,
            "{x:?}"
        );
    }

    #[test]
    fn equality_negative_rhs_and_free_variable() {
        // Over (a, μ), both free: min -μ s.t. μ - a ≤ 1, μ + a ≤ 3, a = -1 → (-1, 0).
        let x = linprog(
            &[0.0, -1.0],
            &[vec![-1.0, 1.0], vec![1.0, 1.0]],
            &[1.0, 3.0],
            &[vec![1.0, 0.0]],
            &[-1.0],
            &[true, true],
        )
        .unwrap();
        assert!((x[0] + 1.0).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
    }

    #[test]
    fn infeasible_and_unbounded() {
        // x ≤ -1 with x ≥ 0.
        assert!(linprog(&[1.0], &[vec![1.0]], &[-1.0], &[], &[], &[false]).is_none());
        // min -x with x ≥ 0 unbounded.
        assert!(linprog(&[-1.0], &[vec![-1.0]], &[0.0], &[], &[], &[false]).is_none());
    }
}
