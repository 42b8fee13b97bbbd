//! Distribution functions behind the p-values of Slipway's statistical tests, each checked
//! against scipy to 1e-9 (`slipway-monitor`'s and `slipway-rollout`'s reference tests).
//!
//! - [`norm_cdf`], [`norm_sf`], [`norm_ppf`], [`norm_isf`]: the standard normal
//!   distribution; `erfc` from the `libm` crate (FreeBSD's, under 1 ulp), the quantile by
//!   Acklam's rational approximation refined with Halley steps on that `erfc`.
//! - [`t_sf`], [`t_cdf`], [`t_isf`]: Student's t with real degrees of freedom (Welch's df is
//!   not an integer), by the regularized incomplete beta function [`beta_inc`].
//! - [`chi2_sf`] — `scipy.stats.chi2.sf` via the regularized upper incomplete gamma function
//!   (series and continued fraction, as cephes `igamc`).
//!
//! Written here rather than taken from `statrs` because the t distribution must stay
//! accurate for Welch degrees of freedom in the millions (huge A/B tests): there the usual
//! `exp(a ln x + b ln(1-x) - ln B(a, b))` loses about 1e-9 to the cancellation of
//! `ln Γ` values near 10⁷, so [`beta_inc`] takes `ln Γ(a+b) - ln Γ(a)` from Stirling's
//! series when `a` is large.

use std::f64::consts::PI;

/// `P(Z <= x)` for a standard normal `Z` (`scipy.stats.norm.cdf`).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// `P(Z > x)` (`scipy.stats.norm.sf`), accurate in the far upper tail.
pub fn norm_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

/// The standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// The quantile `x` with `P(Z <= x) = p` (`scipy.stats.norm.ppf`); ±∞ at 0 and 1, NaN
/// outside [0, 1].
pub fn norm_ppf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return norm_isf_tail(1.0 - p);
    }
    -norm_isf_tail(p)
}

/// The quantile `x` with `P(Z > x) = q` (`scipy.stats.norm.isf`).
pub fn norm_isf(q: f64) -> f64 {
    -norm_ppf(q)
}

/// The upper quantile `x >= 0` with `P(Z > x) = q` for `0 < q <= 0.5`.
fn norm_isf_tail(q: f64) -> f64 {
    // Acklam's approximation of the lower quantile at q (relative error 1.15e-9) ...
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let lower = if q < 0.02425 {
        let r = (-2.0 * q.ln()).sqrt();
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    } else {
        let r = q - 0.5;
        let s = r * r;
        (((((A[0] * s + A[1]) * s + A[2]) * s + A[3]) * s + A[4]) * s + A[5]) * r
            / (((((B[0] * s + B[1]) * s + B[2]) * s + B[3]) * s + B[4]) * s + 1.0)
    };
    // ... refined by Halley steps on the lower tail, P(Z <= x) = q, in relative terms so that
    // tiny q stay accurate.
    let mut x = lower;
    for _ in 0..3 {
        let e = norm_cdf(x) - q;
        let u = e / norm_pdf(x);
        let step = u / (1.0 + x * u / 2.0);
        x -= step;
        if step.abs() <= 1e-16 * x.abs().max(1e-300) {
            break;
        }
    }
    -x
}

/// `P(T > t)` for Student's t with `df > 0` degrees of freedom (`scipy.stats.t.sf`).
pub fn t_sf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    if df.is_infinite() {
        return norm_sf(t);
    }
    // P(|T| > |t|) = I_x(df/2, 1/2) with x = df / (df + t²); 1 - x = t² / (df + t²) is
    // passed as well, computed without cancellation.
    let t2 = t * t;
    let x = df / (df + t2);
    let y = t2 / (df + t2);
    let two_tail = beta_inc_xy(df / 2.0, 0.5, x, y);
    if t > 0.0 {
        0.5 * two_tail
    } else {
        1.0 - 0.5 * two_tail
    }
}

/// `P(T <= t)` (`scipy.stats.t.cdf`).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    t_sf(-t, df)
}

/// The quantile `t` with `P(T > t) = q` (`scipy.stats.t.isf`), by safeguarded Newton steps
/// on [`t_sf`].
pub fn t_isf(q: f64, df: f64) -> f64 {
    if q.is_nan() || !(0.0..=1.0).contains(&q) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if q == 0.0 {
        return f64::INFINITY;
    }
    if q == 1.0 {
        return f64::NEG_INFINITY;
    }
    if q > 0.5 {
        return -t_isf(1.0 - q, df);
    }
    if q == 0.5 {
        return 0.0;
    }
    if df.is_infinite() {
        return norm_isf(q);
    }
    // Bracket [lo, hi] with sf(lo) >= q > sf(hi), then Newton steps kept inside it.
    let mut lo = 0.0;
    let mut hi = norm_isf(q).max(1.0);
    while t_sf(hi, df) > q {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    let mut x = (lo + hi) / 2.0;
    for _ in 0..200 {
        let f = t_sf(x, df) - q;
        if f > 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let step = f / t_pdf(x, df);
        let mut next = x + step;
        if !(next > lo && next < hi) {
            next = (lo + hi) / 2.0;
        }
        if (next - x).abs() <= 1e-15 * x.abs() || hi - lo <= 1e-15 * hi {
            return next;
        }
        x = next;
    }
    x
}

/// Student's t density.
fn t_pdf(t: f64, df: f64) -> f64 {
    let ln_norm = ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * PI).ln();
    (ln_norm - (df + 1.0) / 2.0 * (t * t / df).ln_1p()).exp()
}

/// The regularized incomplete beta function `I_x(a, b)` (`scipy.special.betainc`).
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    beta_inc_xy(a, b, x, 1.0 - x)
}

/// `I_x(a, b)` with `y = 1 - x` given separately (it may be known more precisely).
fn beta_inc_xy(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    // The continued fraction converges fast for x < (a+1)/(a+b+2); otherwise use
    // I_x(a, b) = 1 - I_y(b, a).
    if x * (a + b + 2.0) < a + 1.0 {
        beta_front(a, b, x, y) * beta_cf(a, b, x) / a
    } else {
        1.0 - beta_front(b, a, y, x) * beta_cf(b, a, y) / b
    }
}

/// `x^a y^b / B(a, b)`.
fn beta_front(a: f64, b: f64, x: f64, y: f64) -> f64 {
    (a * x.ln() + b * y.ln() - ln_beta(a, b)).exp()
}

/// `ln B(a, b)`; when one argument is large, `ln Γ(big + small) - ln Γ(big)` comes from
/// Stirling's series so that no two huge logarithms are subtracted.
fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, big) = if a < b { (a, b) } else { (b, a) };
    if big < 20.0 {
        return ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    }
    // ln Γ(big) - ln Γ(big + small)
    //   = δ(big) - δ(big+small) + (big - ½) ln big - (big + small - ½) ln(big + small) + small
    //   = δ(big) - δ(big+small) - (big - ½) ln(1 + small/big) - small ln(big + small) + small
    // where δ(x) = ln Γ(x) - ((x - ½) ln x - x + ½ ln 2π).
    let s = big + small;
    let diff = stirling_delta(big)
        - stirling_delta(s)
        - (big - 0.5) * (small / big).ln_1p()
        - small * s.ln()
        + small;
    ln_gamma(small) + diff
}

/// The remainder of Stirling's series, `ln Γ(x) - ((x - ½) ln x - x + ½ ln 2π)`, for
/// `x >= 20` (the first terms; the next is below 2e-15 there).
fn stirling_delta(x: f64) -> f64 {
    let r = 1.0 / x;
    let r2 = r * r;
    r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0))))
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error below 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized upper incomplete gamma function `Q(a, x)` (cephes `igamc`).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    if x < a + 1.0 {
        return 1.0 - gamma_p_series(a, x);
    }
    // Lentz's continued fraction.
    let ln_front = a * x.ln() - x - ln_gamma(a);
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < tiny {
            d = tiny;
        }
        c = b + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (ln_front.exp() * h).clamp(0.0, 1.0)
}

fn gamma_p_series(a: f64, x: f64) -> f64 {
    let ln_front = a * x.ln() - x - ln_gamma(a + 1.0);
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = a;
    for _ in 0..100_000 {
        n += 1.0;
        term *= x / n;
        sum += term;
        if term.abs() < sum.abs() * 1e-17 {
            break;
        }
    }
    (ln_front.exp() * sum).clamp(0.0, 1.0)
}

/// `scipy.stats.chi2.sf(x, dof)`.
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    gamma_q(dof / 2.0, x / 2.0)
}
