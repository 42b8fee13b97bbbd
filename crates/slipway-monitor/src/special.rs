//! The distribution functions behind the p-values, written here rather than taken from a
//! crate because they must follow scipy's choices branch by branch (which algorithm for which
//! `n` and `x`), not only be accurate: `scipy.stats.kstwo.sf` switches to approximations
//! (Miller's `2·smirnov`, Pelz–Good) in some regions, and a p-value equal to scipy's to 1e-9
//! has to make the same switches. `statrs` has neither `kstwo` nor `smirnov`.
//!
//! - [`kstwo_sf`]: `scipy.stats.kstwo.sf(d, n)` (scipy's `_kolmogn`, Simard & L'Ecuyer),
//!   with the Durbin matrix (Marsaglia–Tsang–Wang), Pomeranz and Pelz–Good branches.
//! - [`smirnov_sf`]: `scipy.special.smirnov(n, x)`, the one-sided statistic's survival
//!   function by the Birnbaum–Tingey sum. scipy sums in double-double; here the terms are all
//!   positive and summed from their logarithms, which keeps about 1e-11 relative accuracy
//!   for n up to scipy's own cut-off of 10⁶ (above it both use the same approximation).
//! - [`ks_2samp_exact_sf`]: the exact two-sample probability scipy's `ks_2samp` computes
//!   when both samples have at most 10,000 values.
//! - [`chi2_sf`]: `scipy.stats.chi2.sf` via the regularized upper incomplete gamma function
//!   (series and continued fraction, as cephes `igamc`); it lives in `slipway_data::special`
//!   with the other distribution functions shared with `slipway-rollout`.
//! - [`numpy_sum`]: numpy's pairwise summation, where a later comparison (NannyML's
//!   "leftover" bin) depends on the last bit of a sum.

use std::f64::consts::PI;

pub use slipway_data::special::{chi2_sf, gamma_q, ln_gamma};

/// numpy's `np.sum` of a contiguous float64 array: the first element plus the pairwise sum
/// (blocks of 128, unrolled by 8) of the rest, bit for bit.
pub fn numpy_sum(a: &[f64]) -> f64 {
    match a.split_first() {
        None => 0.0,
        Some((first, rest)) => *first + pairwise(rest),
    }
}

fn pairwise(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        // numpy starts this loop from -0.0 so that an all -0.0 sum stays -0.0.
        let mut res = -0.0;
        for x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2]) + pairwise(&a[n2..])
    }
}

/// `scipy.special.smirnov(n, x)`: `P(D⁺ₙ > x)` for the one-sided statistic.
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) || n == 0 {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let nx = nf * x;
    let nxfl = nx.floor();
    let alpha = nx - nxfl;
    // x <= 1/n: sf = 1 - x (1 + x)^(n-1).
    if nxfl == 0.0 || (nxfl == 1.0 && alpha == 0.0) {
        return (1.0 - x * (1.0 + x).powf(nf - 1.0)).clamp(0.0, 1.0);
    }
    // cephes MINLOG.
    if -2.0 * nf * x * x < -7.083_964_185_322_641e2 {
        return 0.0;
    }
    if nxfl >= nf - 1.0 {
        return (1.0 - x).powf(nf).clamp(0.0, 1.0);
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nx + 1.0).powi(2) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 - (-logp.exp_m1())
        }
        .clamp(0.0, 1.0);
    }
    // Lower Birnbaum–Tingey sum: sf = x Σ_{v=0}^{⌊n(1-x)⌋} C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1).
    let last = {
        let mut l = n as i64 - nxfl as i64 - if alpha == 0.0 { 0 } else { 1 };
        if alpha == 0.0 {
            l -= 1;
        }
        l.max(0) as u64
    };
    let mut ln_binom = 0.0_f64;
    let mut sum = 0.0_f64;
    let mut peaked = false;
    let mut best = f64::NEG_INFINITY;
    for v in 0..=last {
        if v > 0 {
            ln_binom += ((n - v + 1) as f64).ln() - (v as f64).ln();
        }
        let vf = v as f64;
        let t2x = (n - v) as f64 / nf - x;
        let t1x = vf / nf + x;
        let ln_term = ln_binom + (nf - vf) * t2x.ln() + (vf - 1.0) * t1x.ln();
        let term = ln_term.exp();
        sum += term;
        if ln_term > best {
            best = ln_term;
        } else {
            peaked = true;
        }
        if peaked && term < sum * 1e-18 {
            break;
        }
    }
    (x * sum).clamp(0.0, 1.0)
}

/// `scipy.stats.kstwo.sf(x, n)`: `P(Dₙ > x)` for the two-sided one-sample statistic, by the
/// branches of scipy's `_kolmogn(n, x, cdf=False)`.
pub fn kstwo_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    let nf = n as f64;
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            let mut p = 1.0;
            for i in 1..=n {
                p *= i as f64 * (1.0 / nf) * (2.0 * t - 1.0);
            }
            p
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - prob).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return (1.0 - kolmogn_dmtw_cdf(n, x)).clamp(0.0, 1.0);
        }
        if nxsquared <= 4.0 {
            return (1.0 - kolmogn_pomeranz_cdf(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw_cdf(n, x)
    } else {
        return kolmogn_pelz_good_sf(n, x);
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}

fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const STIRLING: [f64; 8] = [
        -2.955_065_359_477_124_2e-2,
        6.410_256_410_256_41e-3,
        -1.917_526_917_526_917_5e-3,
        8.417_508_417_508_417e-4,
        -5.952_380_952_380_952e-4,
        7.936_507_936_507_937e-4,
        -2.777_777_777_777_778e-3,
        8.333_333_333_333_333e-2,
    ];
    let rn = 1.0 / n;
    let z = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * z + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * poly
}

const E128: i32 = 128;

fn ep128() -> f64 {
    2f64.powi(E128)
}

fn em128() -> f64 {
    2f64.powi(-E128)
}

fn ldexp(x: f64, e: i64) -> f64 {
    // Applied in steps: 2^e itself may not be representable.
    let mut x = x;
    let mut e = e;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    out
}

/// `P(Dₙ <= d)` by the Durbin matrix (scipy's `_kolmogn_DMTW`).
fn kolmogn_dmtw_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0; m * m];
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut hpwr = vec![0.0; m * m];
    for i in 0..m {
        hpwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i64 = 0;
    let mut hexpnt: i64 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            hpwr = matmul(&hpwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > ep128() {
            for x in &mut hm {
                *x /= ep128();
            }
            hexpnt += E128 as i64;
        }
        nn /= 2;
    }
    let mut p = hpwr[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < em128() {
            p *= ep128();
            expnt -= E128 as i64;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    p.clamp(0.0, 1.0)
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(Dₙ <= x)` by the Pomeranz recursion (scipy's `_kolmogn_Pomeranz`).
fn kolmogn_pomeranz_cdf(n: u64, x: f64) -> f64 {
    let ni = n as i64;
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![0.0; npwrs];
    let mut twogpower = vec![0.0; npwrs];
    let mut onem2gpower = vec![0.0; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt: i64 = 0;
    let (g_n, two_g_n, one_m2g_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_m2g_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let (mut j1, _) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    let mut j2;
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        (j1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2 = ln2 as usize;
            let start = (k1 - v0s) as usize;
            // np.convolve(a, b) in full mode, only the entries used.
            let a = &v0[start..(start + ln2).min(v0.len())];
            let b = &pwrs[..ln2.min(pwrs.len())];
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (o, idx) in (conv_start..conv_start + conv_len).enumerate() {
                let mut s = 0.0;
                for (ia, av) in a.iter().enumerate() {
                    if idx >= ia && idx - ia < b.len() {
                        s += av * b[idx - ia];
                    }
                }
                v1[o] = s;
            }
            let max = v1.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < em128() {
                v1.iter_mut().for_each(|x| *x *= ep128());
                expnt -= E128 as i64;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(ni - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > ep128() {
            ans *= em128();
            expnt += E128 as i64;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    ans.clamp(0.0, 1.0)
}

/// The survival function by the Pelz–Good asymptotic series (scipy's `_kolmogn_PelzGood`
/// with `cdf=False`).
fn kolmogn_pelz_good_sf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (zsquared, zthree, zfour, zsix) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let qlog = -pi2 / 8.0 / zsquared;
    if qlog < -708.0 {
        return 1.0;
    }
    let q = qlog.exp();
    let k1a = -zsquared;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * zsquared) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = pi4 * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = pi2 * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for i in 0..4 {
            k[i] = k[i] * qpower + coeffs[i];
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let div = [z, 6.0 * zfour, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for i in 0..4 {
        k[i] = k[i] * q * sqrt2pi / div[i];
    }
    let q = (-pi2 / 2.0 / zsquared).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for kk in (1..=maxk).rev() {
        let ks2 = (kk * kk) as f64;
        let qp = q.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = PI * kk as f64;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * zthree);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * zsix);
    for (i, v) in k.iter_mut().enumerate() {
        *v /= nf.powf(i as f64 / 2.0);
    }
    for v in &mut k {
        *v = -*v;
    }
    k[0] += 1.0;
    k.iter().sum()
}

/// The exact two-sided p-value of the two-sample statistic `d` for samples of `n1` and `n2`
/// values (scipy's `_attempt_exact_2kssamp`): `(d rounded to a multiple of 1/lcm, p)`, or
/// `None` where scipy's own computation would fail and fall back to the asymptotic one.
pub fn ks_2samp_exact_sf(n1: u64, n2: u64, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) as f64 * n2 as f64;
    let h = (d * lcm).round_ties_even() as u64;
    let d = h as f64 / lcm;
    if h == 0 {
        return Some((d, 1.0));
    }
    let prob = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside(n1, n2, g, h)
    };
    if prob.is_finite() && (0.0..=1.0).contains(&prob) {
        Some((d, prob))
    } else {
        None
    }
}

/// Greatest common divisor.
pub fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (n, h) = (n as i64, h as i64);
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// `1 - P(every lattice point (x, y) of the path from (0,0) to (m,n) has |ng·x − mg·y| < h)`:
/// the normalized path counts `A(x, y) / C(x+y, y)` column by column.
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (m, n, h) = (m as i64, n as i64, h as i64);
    // Allowed y in column x: ng·x − h < mg·y < ng·x + h.
    let window = |x: i64| -> (i64, i64) {
        let lo = (ng * x - h).div_euclid(mg) + 1;
        let hi_excl = {
            let num = ng * x + h;
            // ceil(num / mg) for num > 0.
            (num + mg - 1).div_euclid(mg)
        };
        (lo.max(0), hi_excl.min(n + 1))
    };
    let mut a = vec![0.0f64; (n + 1) as usize];
    let (lo0, hi0) = window(0);
    for y in lo0..hi0 {
        a[y as usize] = 1.0;
    }
    let (mut last_lo, mut last_hi) = (lo0, hi0);
    for x in 1..=m {
        let (lo, hi) = window(x);
        if hi <= lo {
            return 1.0;
        }
        let mut below = 0.0;
        for y in lo..hi {
            let left = if y >= last_lo && y < last_hi {
                a[y as usize]
            } else {
                0.0
            };
            let (xf, yf) = (x as f64, y as f64);
            let val = (left * xf + below * yf) / (xf + yf);
            a[y as usize] = val;
            below = val;
        }
        for y in last_lo.min(lo)..lo {
            a[y as usize] = 0.0;
        }
        for y in hi..last_hi.max(hi) {
            if (y as usize) < a.len() {
                a[y as usize] = 0.0;
            }
        }
        (last_lo, last_hi) = (lo, hi);
    }
    if n >= last_lo && n < last_hi {
        1.0 - a[n as usize]
    } else {
        1.0
    }
}
