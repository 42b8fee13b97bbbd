//! libsvm's SMO solver (`Solver::Solve`), for
//! `min ½αᵀQα + pᵀα  s.t.  yᵀα = Δ, 0 ≤ αᵢ ≤ Cᵢ`.
//!
//! The working set is chosen by second-order information (WSS3 of Fan, Chen & Lin 2005):
//! `i` maximizes `−yᵢ∇ᵢ` over the "up" set, `j` minimizes `−b²/a` among violating partners.
//! Every `min(l, 1000)` iterations variables that sit at a bound and cannot move are shrunk
//! out of the active set; `Ḡ` (the gradient part from variables at their upper bound) lets
//! the full gradient be rebuilt when the active set is restored. The bias `ρ` is the mean of
//! `yᵢ∇ᵢ` over free variables, or the midpoint of the feasible interval when none is free.
//! Per-variable upper bounds `Cᵢ` carry class weights and sample weights, as in
//! scikit-learn's libsvm.

use super::kernel::QMatrix;

const TAU: f64 = 1e-12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Lower,
    Upper,
    Free,
}

/// What [`solve`] returns.
#[derive(Debug, Clone)]
pub(crate) struct Solution {
    /// `α`, in the caller's order.
    pub alpha: Vec<f64>,
    /// The bias: the decision function is `Σ yᵢαᵢK(xᵢ, x) − ρ`.
    pub rho: f64,
    /// Iterations taken.
    pub n_iter: usize,
    /// Whether the stopping tolerance was met before `max_iter`.
    pub converged: bool,
}

struct Solver<'q, Q: QMatrix> {
    q: &'q mut Q,
    l: usize,
    active_size: usize,
    y: Vec<i8>,
    g: Vec<f64>,
    g_bar: Vec<f64>,
    alpha: Vec<f64>,
    status: Vec<Status>,
    p: Vec<f64>,
    c: Vec<f64>,
    active_set: Vec<usize>,
    eps: f64,
    unshrink: bool,
}

/// Solves the dual from `alpha = 0`. `p` is the linear term, `y` the ±1 signs, `c` the upper
/// bounds, `eps` the stopping tolerance (scikit-learn's `tol`).
pub(crate) fn solve<Q: QMatrix>(
    q: &mut Q,
    p: &[f64],
    y: &[i8],
    c: &[f64],
    eps: f64,
    shrinking: bool,
    max_iter: usize,
) -> Solution {
    let l = p.len();
    let mut s = Solver {
        q,
        l,
        active_size: l,
        y: y.to_vec(),
        g: p.to_vec(),
        g_bar: vec![0.0; l],
        alpha: vec![0.0; l],
        status: vec![Status::Lower; l],
        p: p.to_vec(),
        c: c.to_vec(),
        active_set: (0..l).collect(),
        eps,
        unshrink: false,
    };
    for i in 0..l {
        s.update_status(i);
    }
    // α starts at 0, so G = p and Ḡ = 0 (libsvm's initial-gradient loop adds nothing).
    let (n_iter, converged) = s.run(shrinking, max_iter);
    let rho = s.calculate_rho();
    let mut alpha = vec![0.0; l];
    for (t, &orig) in s.active_set.iter().enumerate() {
        alpha[orig] = s.alpha[t];
    }
    Solution {
        alpha,
        rho,
        n_iter,
        converged,
    }
}

impl<Q: QMatrix> Solver<'_, Q> {
    fn update_status(&mut self, i: usize) {
        self.status[i] = if self.alpha[i] >= self.c[i] {
            Status::Upper
        } else if self.alpha[i] <= 0.0 {
            Status::Lower
        } else {
            Status::Free
        };
    }

    fn is_upper(&self, i: usize) -> bool {
        self.status[i] == Status::Upper
    }

    fn is_lower(&self, i: usize) -> bool {
        self.status[i] == Status::Lower
    }

    fn run(&mut self, shrinking: bool, max_iter: usize) -> (usize, bool) {
        let l = self.l;
        let mut iter = 0;
        let mut counter = l.min(1000) + 1;
        let mut converged = false;
        while iter < max_iter {
            counter -= 1;
            if counter == 0 {
                counter = l.min(1000);
                if shrinking {
                    self.do_shrinking();
                }
            }
            let (i, j) = match self.select_working_set() {
                Some(ij) => ij,
                None => {
                    self.reconstruct_gradient();
                    self.active_size = l;
                    match self.select_working_set() {
                        Some(ij) => {
                            counter = 1;
                            ij
                        }
                        None => {
                            converged = true;
                            break;
                        }
                    }
                }
            };
            iter += 1;
            self.take_step(i, j);
        }
        if !converged && self.active_size < l {
            self.reconstruct_gradient();
            self.active_size = l;
        }
        (iter, converged)
    }

    /// Moves `αᵢ`, `αⱼ` to the optimum of the two-variable subproblem, clipped to the box,
    /// then updates `G`, the statuses and `Ḡ`.
    fn take_step(&mut self, i: usize, j: usize) {
        let active = self.active_size;
        let si = self.q.load(i, active);
        let sj = self.q.load(j, active);
        let q_ij = f64::from(self.q.row(si)[j]);
        let (qd_i, qd_j) = (self.q.qd()[i], self.q.qd()[j]);
        let (c_i, c_j) = (self.c[i], self.c[j]);
        let (old_i, old_j) = (self.alpha[i], self.alpha[j]);
        let (mut ai, mut aj) = (old_i, old_j);
        if self.y[i] != self.y[j] {
            let mut quad = qd_i + qd_j + 2.0 * q_ij;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (-self.g[i] - self.g[j]) / quad;
            let diff = ai - aj;
            ai += delta;
            aj += delta;
            if diff > 0.0 {
                if aj < 0.0 {
                    aj = 0.0;
                    ai = diff;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = -diff;
            }
            if diff > c_i - c_j {
                if ai > c_i {
                    ai = c_i;
                    aj = c_i - diff;
                }
            } else if aj > c_j {
                aj = c_j;
                ai = c_j + diff;
            }
        } else {
            let mut quad = qd_i + qd_j - 2.0 * q_ij;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (self.g[i] - self.g[j]) / quad;
            let sum = ai + aj;
            ai -= delta;
            aj += delta;
            if sum > c_i {
                if ai > c_i {
                    ai = c_i;
                    aj = sum - c_i;
                }
            } else if aj < 0.0 {
                aj = 0.0;
                ai = sum;
            }
            if sum > c_j {
                if aj > c_j {
                    aj = c_j;
                    ai = sum - c_j;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = sum;
            }
        }
        self.alpha[i] = ai;
        self.alpha[j] = aj;
        let (dai, daj) = (ai - old_i, aj - old_j);
        {
            let (qi, qj) = (self.q.row(si), self.q.row(sj));
            for ((g, &a), &b) in self.g[..active]
                .iter_mut()
                .zip(&qi[..active])
                .zip(&qj[..active])
            {
                *g += f64::from(a) * dai + f64::from(b) * daj;
            }
        }
        let (ui, uj) = (self.is_upper(i), self.is_upper(j));
        self.update_status(i);
        self.update_status(j);
        if ui != self.is_upper(i) {
            self.update_g_bar(i, if ui { -c_i } else { c_i });
        }
        if uj != self.is_upper(j) {
            self.update_g_bar(j, if uj { -c_j } else { c_j });
        }
    }

    fn update_g_bar(&mut self, i: usize, scale: f64) {
        let l = self.l;
        let s = self.q.load(i, l);
        let qi = self.q.row(s);
        for (gb, &v) in self.g_bar.iter_mut().zip(&qi[..l]) {
            *gb += scale * f64::from(v);
        }
    }

    /// WSS3; `None` when the maximal violation is below `eps` (optimal on the active set).
    /// The loops run over slices cut to the active set, so they carry no bounds checks.
    fn select_working_set(&mut self) -> Option<(usize, usize)> {
        let active = self.active_size;
        let (y, g, status) = (&self.y[..active], &self.g[..active], &self.status[..active]);
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        for (t, ((&yt, &gt), &st)) in y.iter().zip(g).zip(status).enumerate() {
            if yt == 1 {
                if st != Status::Upper && -gt >= gmax {
                    gmax = -gt;
                    gmax_idx = Some(t);
                }
            } else if st != Status::Lower && gt >= gmax {
                gmax = gt;
                gmax_idx = Some(t);
            }
        }
        let i = gmax_idx?;
        let si = self.q.load(i, active);
        let qi = &self.q.row(si)[..active];
        let qd = &self.q.qd()[..active];
        let qd_i = qd[i];
        let yi = f64::from(y[i]);
        let mut gmin_idx = None;
        let mut obj_diff_min = f64::INFINITY;
        let cols = qi.iter().zip(qd).zip(y.iter().zip(g).zip(status));
        for (j, ((&q_ij, &qd_j), ((&yj, &gj), &st))) in cols.enumerate() {
            let (grad_diff, quad) = if yj == 1 {
                if st == Status::Lower {
                    continue;
                }
                if gj >= gmax2 {
                    gmax2 = gj;
                }
                (gmax + gj, qd_i + qd_j - 2.0 * yi * f64::from(q_ij))
            } else {
                if st == Status::Upper {
                    continue;
                }
                if -gj >= gmax2 {
                    gmax2 = -gj;
                }
                (gmax - gj, qd_i + qd_j + 2.0 * yi * f64::from(q_ij))
            };
            if grad_diff > 0.0 {
                let obj_diff = -(grad_diff * grad_diff) / if quad > 0.0 { quad } else { TAU };
                if obj_diff <= obj_diff_min {
                    gmin_idx = Some(j);
                    obj_diff_min = obj_diff;
                }
            }
        }
        if gmax + gmax2 < self.eps {
            return None;
        }
        gmin_idx.map(|j| (i, j))
    }

    fn be_shrunk(&self, i: usize, gmax1: f64, gmax2: f64) -> bool {
        if self.is_upper(i) {
            if self.y[i] == 1 {
                -self.g[i] > gmax1
            } else {
                -self.g[i] > gmax2
            }
        } else if self.is_lower(i) {
            if self.y[i] == 1 {
                self.g[i] > gmax2
            } else {
                self.g[i] > gmax1
            }
        } else {
            false
        }
    }

    fn do_shrinking(&mut self) {
        let mut gmax1 = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        for i in 0..self.active_size {
            let g = self.g[i];
            if self.y[i] == 1 {
                if !self.is_upper(i) {
                    gmax1 = gmax1.max(-g);
                }
                if !self.is_lower(i) {
                    gmax2 = gmax2.max(g);
                }
            } else {
                if !self.is_upper(i) {
                    gmax2 = gmax2.max(-g);
                }
                if !self.is_lower(i) {
                    gmax1 = gmax1.max(g);
                }
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            self.unshrink = true;
            self.reconstruct_gradient();
            self.active_size = self.l;
        }
        let mut i = 0;
        while i < self.active_size {
            if self.be_shrunk(i, gmax1, gmax2) {
                self.active_size -= 1;
                while self.active_size > i {
                    if !self.be_shrunk(self.active_size, gmax1, gmax2) {
                        self.swap_index(i, self.active_size);
                        break;
                    }
                    self.active_size -= 1;
                }
            }
            i += 1;
        }
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.q.swap_index(i, j);
        self.y.swap(i, j);
        self.g.swap(i, j);
        self.status.swap(i, j);
        self.alpha.swap(i, j);
        self.p.swap(i, j);
        self.active_set.swap(i, j);
        self.g_bar.swap(i, j);
        self.c.swap(i, j);
    }

    /// Rebuilds `G` of the shrunk variables from `Ḡ` and the free variables.
    fn reconstruct_gradient(&mut self) {
        let (active, l) = (self.active_size, self.l);
        if active == l {
            return;
        }
        for j in active..l {
            self.g[j] = self.g_bar[j] + self.p[j];
        }
        let free: Vec<usize> = (0..active)
            .filter(|&j| self.status[j] == Status::Free)
            .collect();
        if free.len() * l > 2 * active * (l - active) {
            for i in active..l {
                let s = self.q.load(i, active);
                let qi = self.q.row(s);
                let add: f64 = free.iter().map(|&j| self.alpha[j] * f64::from(qi[j])).sum();
                self.g[i] += add;
            }
        } else {
            for &i in &free {
                let s = self.q.load(i, l);
                let qi = self.q.row(s);
                let a = self.alpha[i];
                for (g, &v) in self.g[active..l].iter_mut().zip(&qi[active..l]) {
                    *g += a * f64::from(v);
                }
            }
        }
    }

    fn calculate_rho(&self) -> f64 {
        let mut n_free = 0usize;
        let (mut ub, mut lb, mut sum_free) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for i in 0..self.active_size {
            let yg = f64::from(self.y[i]) * self.g[i];
            match self.status[i] {
                Status::Upper => {
                    if self.y[i] == -1 {
                        ub = ub.min(yg);
                    } else {
                        lb = lb.max(yg);
                    }
                }
                Status::Lower => {
                    if self.y[i] == 1 {
                        ub = ub.min(yg);
                    } else {
                        lb = lb.max(yg);
                    }
                }
                Status::Free => {
                    n_free += 1;
                    sum_free += yg;
                }
            }
        }
        if n_free > 0 {
            sum_free / n_free as f64
        } else {
            (ub + lb) / 2.0
        }
    }
}
