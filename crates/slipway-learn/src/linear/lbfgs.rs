//! A small, dependency-free L-BFGS minimizer with the Moré–Thuente line search.
//!
//! The algorithm follows what scikit-learn's `solver="lbfgs"` runs (SciPy's L-BFGS-B without
//! bounds), so that iteration counts and stopping behaviour are comparable:
//!
//! - the search direction is `-H·g` from the two-loop recursion over the last `m` pairs
//!   `(s, y)`, with the initial scaling `H₀ = (sᵀy / yᵀy)·I`;
//! - the first step (and the first after a memory reset) is `1/‖d‖₂`, later ones start at 1;
//! - the line search is MINPACK-2's `dcsrch`/`dcstep` (Moré & Thuente 1994) with
//!   `ftol = 1e-3`, `gtol = 0.9`, `xtol = 0.1`, at most `max_linesearch` evaluations;
//! - a pair is stored only when `sᵀy > ε·(−gᵀs)` (curvature safely positive);
//! - it stops when `max|gᵢ| ≤ gtol` (SciPy's `pgtol`), when the relative decrease of `f` is
//!   at most `ftol`, or after `max_iter` iterations.
//!
//! Why not a crate: the problems here have at most a few hundred parameters, so the
//! optimizer's own arithmetic is negligible next to one pass over the rows; what matters is
//! that the objective evaluates loss and gradient in one fused, parallel pass (see
//! `logistic.rs`), which any optimizer crate would leave to us anyway. `argmin` was
//! considered; it brings a generic math-backend layer and its own stopping rules, whereas
//! matching scikit-learn's stopping rules exactly is part of the contract here, and the whole
//! optimizer is ~300 lines that we can test directly.

/// Settings for [`minimize`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LbfgsOptions {
    /// Number of stored correction pairs.
    pub m: usize,
    /// Maximum number of iterations (accepted steps).
    pub max_iter: usize,
    /// Stop when the largest absolute gradient component is at most this.
    pub gtol: f64,
    /// Stop when `(f_old − f)/max(|f_old|, |f|, 1) ≤ ftol`.
    pub ftol: f64,
    /// Maximum number of function evaluations in one line search.
    pub max_linesearch: usize,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        LbfgsOptions {
            m: 10,
            max_iter: 100,
            gtol: 1e-5,
            ftol: 64.0 * f64::EPSILON,
            max_linesearch: 50,
        }
    }
}

/// The outcome of [`minimize`].
#[derive(Debug, Clone)]
pub(crate) struct LbfgsResult {
    /// The last accepted point.
    pub x: Vec<f64>,
    /// The objective there.
    pub f: f64,
    /// Number of iterations (accepted steps).
    pub n_iter: usize,
    /// Number of objective evaluations.
    #[allow(dead_code)]
    pub n_evals: usize,
    /// Whether a stopping rule other than `max_iter` (or a failed line search) ended it.
    pub converged: bool,
    /// Why it stopped.
    pub message: &'static str,
}

/// Minimizes `fg` from `x0`. `fg(x, grad)` returns `f(x)` and writes `∇f(x)` into `grad`.
pub(crate) fn minimize<F>(mut fg: F, x0: Vec<f64>, opts: &LbfgsOptions) -> LbfgsResult
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let m = opts.m.max(1);
    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut f = fg(&x, &mut g);
    let mut n_evals = 1;
    if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return LbfgsResult {
            x,
            f,
            n_iter: 0,
            n_evals,
            converged: false,
            message: "objective is not finite at the starting point",
        };
    }
    if max_abs(&g) <= opts.gtol {
        return LbfgsResult {
            x,
            f,
            n_iter: 0,
            n_evals,
            converged: true,
            message: "gradient below tolerance at the starting point",
        };
    }

    // Ring buffer of correction pairs; `head` is the next slot to write, `len` the count.
    let mut s_mem = vec![vec![0.0; n]; m];
    let mut y_mem = vec![vec![0.0; n]; m];
    let mut rho = vec![0.0; m];
    let mut alpha = vec![0.0; m];
    let mut head = 0usize;
    let mut len = 0usize;

    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut n_iter = 0;
    let mut converged = false;
    let mut message = "maximum number of iterations reached";

    'outer: while n_iter < opts.max_iter {
        let mut retried = false;
        let f_new = loop {
            // Direction by the two-loop recursion (steepest descent when the memory is empty).
            d.iter_mut().zip(&g).for_each(|(di, gi)| *di = -gi);
            if len > 0 {
                for t in 0..len {
                    let i = (head + m - 1 - t) % m;
                    let a = rho[i] * dot(&s_mem[i], &d);
                    alpha[i] = a;
                    axpy(-a, &y_mem[i], &mut d);
                }
                let last = (head + m - 1) % m;
                let gamma = 1.0 / (rho[last] * dot(&y_mem[last], &y_mem[last]));
                d.iter_mut().for_each(|v| *v *= gamma);
                for t in (0..len).rev() {
                    let i = (head + m - 1 - t) % m;
                    let b = rho[i] * dot(&y_mem[i], &d);
                    axpy(alpha[i] - b, &s_mem[i], &mut d);
                }
            }
            let gd = dot(&g, &d);
            if gd.is_nan() || gd >= 0.0 {
                if len > 0 {
                    // Not a descent direction (numerical trouble): forget the memory.
                    len = 0;
                    continue;
                }
                // Even −g is not a descent direction: the gradient vanished numerically.
                converged = true;
                message = "no descent direction (gradient vanished)";
                break 'outer;
            }
            let stp0 = if len == 0 {
                (1.0 / norm2(&d)).min(STPMAX)
            } else {
                1.0
            };
            let ls = line_search(
                |stp| {
                    for ((xn, xi), di) in x_new.iter_mut().zip(&x).zip(&d) {
                        *xn = xi + stp * di;
                    }
                    let fv = fg(&x_new, &mut g_new);
                    (fv, dot(&g_new, &d))
                },
                f,
                gd,
                stp0,
                opts.max_linesearch,
            );
            n_evals += ls.evals;
            let accepted = ls.f.is_finite()
                && (ls.status == LsStatus::Converged
                    || (ls.status == LsStatus::Warning && ls.f <= f));
            if accepted {
                break ls.f;
            }
            if len == 0 || retried {
                message = "line search could not find an acceptable step";
                break 'outer;
            }
            // Restart from steepest descent once, as L-BFGS-B does.
            len = 0;
            retried = true;
        };

        // Accept x_new: s = x_new − x, y = g_new − g.
        let slot = head;
        let (sy, gs_old) = {
            let s = &mut s_mem[slot];
            let y = &mut y_mem[slot];
            let (mut sy, mut gs) = (0.0, 0.0);
            for i in 0..n {
                s[i] = x_new[i] - x[i];
                y[i] = g_new[i] - g[i];
                sy += s[i] * y[i];
                gs += g[i] * s[i];
            }
            (sy, gs)
        };
        let f_old = f;
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        f = f_new;
        n_iter += 1;

        if max_abs(&g) <= opts.gtol {
            converged = true;
            message = "gradient below tolerance";
            break;
        }
        if f_old - f <= opts.ftol * f_old.abs().max(f.abs()).max(1.0) {
            converged = true;
            message = "relative reduction of the objective below tolerance";
            break;
        }
        // Keep the pair only when the curvature is safely positive.
        if sy > f64::EPSILON * (-gs_old) {
            rho[slot] = 1.0 / sy;
            head = (head + 1) % m;
            len = (len + 1).min(m);
        }
    }
    LbfgsResult {
        x,
        f,
        n_iter,
        n_evals,
        converged,
        message,
    }
}

/// Largest step the line search may take (L-BFGS-B's `big` for unbounded problems).
const STPMAX: f64 = 1e10;
const LS_FTOL: f64 = 1e-3;
const LS_GTOL: f64 = 0.9;
const LS_XTOL: f64 = 0.1;
const XTRAPL: f64 = 1.1;
const XTRAPU: f64 = 4.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LsStatus {
    /// Sufficient decrease and curvature conditions hold.
    Converged,
    /// Stopped on rounding errors, interval width or a step bound; the point may still be
    /// usable.
    Warning,
    /// Too many evaluations.
    MaxEvals,
}

#[derive(Debug, Clone, Copy)]
struct LsOutcome {
    f: f64,
    evals: usize,
    status: LsStatus,
}

/// Moré–Thuente line search (MINPACK-2 `dcsrch`) on `phi(stp) = (f(x + stp·d), ∇f·d)`.
///
/// The last call of `phi` is always at the returned step, so the caller's buffers hold that
/// point.
fn line_search<P>(mut phi: P, finit: f64, ginit: f64, stp0: f64, max_evals: usize) -> LsOutcome
where
    P: FnMut(f64) -> (f64, f64),
{
    let (stpmin, stpmax) = (0.0, STPMAX);
    let mut stp = stp0.clamp(stpmin, stpmax);
    let mut brackt = false;
    let mut stage1 = true;
    let gtest = LS_FTOL * ginit;
    let mut width = stpmax - stpmin;
    let mut width1 = width / 0.5;
    let (mut stx, mut fx, mut gx) = (0.0, finit, ginit);
    let (mut sty, mut fy, mut gy) = (0.0, finit, ginit);
    let mut stmin = 0.0;
    let mut stmax = stp + XTRAPU * stp;
    let mut evals = 0;
    loop {
        let (mut f, mut g) = phi(stp);
        evals += 1;
        if !f.is_finite() || !g.is_finite() {
            // Overflow far along the direction: treat it as a very large value so that the
            // step is bracketed and shrunk.
            f = f64::MAX;
            g = f64::MAX;
        }
        let ftest = finit + stp * gtest;
        if stage1 && f <= ftest && g >= 0.0 {
            stage1 = false;
        }
        let mut warning =
            brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= LS_XTOL * stmax);
        warning |= stp == stpmax && f <= ftest && g <= gtest;
        warning |= stp == stpmin && (f > ftest || g >= gtest);
        if f <= ftest && g.abs() <= LS_GTOL * (-ginit) {
            return LsOutcome {
                f,
                evals,
                status: LsStatus::Converged,
            };
        }
        if warning {
            return LsOutcome {
                f,
                evals,
                status: LsStatus::Warning,
            };
        }
        if evals >= max_evals {
            return LsOutcome {
                f,
                evals,
                status: LsStatus::MaxEvals,
            };
        }
        if stage1 && f <= fx && f > ftest {
            // Use the modified function ψ(stp) = f(stp) − f(0) − stp·gtest.
            let fm = f - stp * gtest;
            let mut fxm = fx - stx * gtest;
            let mut fym = fy - sty * gtest;
            let gm = g - gtest;
            let mut gxm = gx - gtest;
            let mut gym = gy - gtest;
            dcstep(
                &mut stx,
                &mut fxm,
                &mut gxm,
                &mut sty,
                &mut fym,
                &mut gym,
                &mut stp,
                fm,
                gm,
                &mut brackt,
                stmin,
                stmax,
            );
            fx = fxm + stx * gtest;
            fy = fym + sty * gtest;
            gx = gxm + gtest;
            gy = gym + gtest;
        } else {
            dcstep(
                &mut stx,
                &mut fx,
                &mut gx,
                &mut sty,
                &mut fy,
                &mut gy,
                &mut stp,
                f,
                g,
                &mut brackt,
                stmin,
                stmax,
            );
        }
        if brackt {
            if (sty - stx).abs() >= 0.66 * width1 {
                stp = stx + 0.5 * (sty - stx);
            }
            width1 = width;
            width = (sty - stx).abs();
            stmin = stx.min(sty);
            stmax = stx.max(sty);
        } else {
            stmin = stp + XTRAPL * (stp - stx);
            stmax = stp + XTRAPU * (stp - stx);
        }
        stp = stp.clamp(stpmin, stpmax);
        if brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= LS_XTOL * stmax) {
            stp = stx;
        }
    }
}

/// MINPACK-2 `dcstep`: safeguarded cubic/quadratic step and update of the interval of
/// uncertainty `[stx, sty]`.
#[allow(clippy::too_many_arguments)]
fn dcstep(
    stx: &mut f64,
    fx: &mut f64,
    dx: &mut f64,
    sty: &mut f64,
    fy: &mut f64,
    dy: &mut f64,
    stp: &mut f64,
    fp: f64,
    dp: f64,
    brackt: &mut bool,
    stpmin: f64,
    stpmax: f64,
) {
    let sgnd = dp * (*dx / dx.abs());
    let stpf;
    if fp > *fx {
        // Higher function value: the minimum is bracketed.
        let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        let s = theta.abs().max(dx.abs()).max(dp.abs());
        let mut gamma = s * ((theta / s).powi(2) - (*dx / s) * (dp / s)).max(0.0).sqrt();
        if *stp < *stx {
            gamma = -gamma;
        }
        let p = (gamma - *dx) + theta;
        let q = ((gamma - *dx) + gamma) + dp;
        let r = p / q;
        let stpc = *stx + r * (*stp - *stx);
        let stpq = *stx + ((*dx / ((*fx - fp) / (*stp - *stx) + *dx)) / 2.0) * (*stp - *stx);
        stpf = if (stpc - *stx).abs() < (stpq - *stx).abs() {
            stpc
        } else {
            stpc + (stpq - stpc) / 2.0
        };
        *brackt = true;
    } else if sgnd < 0.0 {
        // Derivatives of opposite sign: the minimum is bracketed.
        let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        let s = theta.abs().max(dx.abs()).max(dp.abs());
        let mut gamma = s * ((theta / s).powi(2) - (*dx / s) * (dp / s)).max(0.0).sqrt();
        if *stp > *stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = ((gamma - dp) + gamma) + *dx;
        let r = p / q;
        let stpc = *stp + r * (*stx - *stp);
        let stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
        stpf = if (stpc - *stp).abs() > (stpq - *stp).abs() {
            stpc
        } else {
            stpq
        };
        *brackt = true;
    } else if dp.abs() < dx.abs() {
        // Same sign, derivative magnitude decreases.
        let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        let s = theta.abs().max(dx.abs()).max(dp.abs());
        let mut gamma = s * ((theta / s).powi(2) - (*dx / s) * (dp / s)).max(0.0).sqrt();
        if *stp > *stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = (gamma + (*dx - dp)) + gamma;
        let r = p / q;
        let stpc = if r < 0.0 && gamma != 0.0 {
            *stp + r * (*stx - *stp)
        } else if *stp > *stx {
            stpmax
        } else {
            stpmin
        };
        let stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
        if *brackt {
            let mut v = if (stpc - *stp).abs() < (stpq - *stp).abs() {
                stpc
            } else {
                stpq
            };
            v = if *stp > *stx {
                v.min(*stp + 0.66 * (*sty - *stp))
            } else {
                v.max(*stp + 0.66 * (*sty - *stp))
            };
            stpf = v;
        } else {
            let v = if (stpc - *stp).abs() > (stpq - *stp).abs() {
                stpc
            } else {
                stpq
            };
            stpf = v.min(stpmax).max(stpmin);
        }
    } else if *brackt {
        // Same sign, derivative magnitude does not decrease: cubic step towards sty.
        let theta = 3.0 * (fp - *fy) / (*sty - *stp) + *dy + dp;
        let s = theta.abs().max(dy.abs()).max(dp.abs());
        let mut gamma = s * ((theta / s).powi(2) - (*dy / s) * (dp / s)).max(0.0).sqrt();
        if *stp > *sty {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = ((gamma - dp) + gamma) + *dy;
        let r = p / q;
        stpf = *stp + r * (*sty - *stp);
    } else if *stp > *stx {
        stpf = stpmax;
    } else {
        stpf = stpmin;
    }

    // Update the interval that contains a minimizer.
    if fp > *fx {
        *sty = *stp;
        *fy = fp;
        *dy = dp;
    } else {
        if sgnd < 0.0 {
            *sty = *stx;
            *fy = *fx;
            *dy = *dx;
        }
        *stx = *stp;
        *fx = fp;
        *dx = dp;
    }
    *stp = stpf;
}

/// Dot product with four independent accumulators (vectorizes; fixed order ⇒ deterministic).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        let i = 4 * c;
        acc[0] += a[i] * b[i];
        acc[1] += a[i + 1] * b[i + 1];
        acc[2] += a[i + 2] * b[i + 2];
        acc[3] += a[i + 3] * b[i + 3];
    }
    let mut tail = 0.0;
    for i in 4 * chunks..n {
        tail += a[i] * b[i];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += a * xi);
}

fn norm2(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock in `n` dimensions.
    fn rosen(x: &[f64], g: &mut [f64]) -> f64 {
        let n = x.len();
        g.iter_mut().for_each(|v| *v = 0.0);
        let mut f = 0.0;
        for i in 0..n - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = 1.0 - x[i];
            f += 100.0 * a * a + b * b;
            g[i] += -400.0 * a * x[i] - 2.0 * b;
            g[i + 1] += 200.0 * a;
        }
        f
    }

    #[test]
    fn minimizes_rosenbrock() {
        let opts = LbfgsOptions {
            max_iter: 1000,
            gtol: 1e-8,
            ftol: 0.0,
            ..LbfgsOptions::default()
        };
        let r = minimize(rosen, vec![-1.2, 1.0, -1.2, 1.0, 0.5], &opts);
        assert!(r.converged, "{}", r.message);
        for v in &r.x {
            assert!((v - 1.0).abs() < 1e-6, "{:?}", r.x);
        }
    }

    #[test]
    fn quadratic_converges_fast() {
        // f = Σ cᵢ xᵢ² / 2 with condition number 100.
        let c: Vec<f64> = (0..20).map(|i| 1.0 + 99.0 * i as f64 / 19.0).collect();
        let fg = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for i in 0..x.len() {
                g[i] = c[i] * (x[i] - 1.0);
                f += 0.5 * c[i] * (x[i] - 1.0) * (x[i] - 1.0);
            }
            f
        };
        let opts = LbfgsOptions {
            max_iter: 200,
            gtol: 1e-10,
            ftol: 0.0,
            ..LbfgsOptions::default()
        };
        let r = minimize(fg, vec![0.0; 20], &opts);
        assert!(r.converged);
        assert!(r.n_iter < 60, "{}", r.n_iter);
        assert!(r.x.iter().all(|v| (v - 1.0).abs() < 1e-9));
    }

    #[test]
    fn max_iter_reports_not_converged() {
        let opts = LbfgsOptions {
            max_iter: 3,
            gtol: 1e-12,
            ftol: 0.0,
            ..LbfgsOptions::default()
        };
        let r = minimize(rosen, vec![-1.2, 1.0], &opts);
        assert!(!r.converged);
        assert_eq!(r.n_iter, 3);
    }
}
