//! Streaming drift detectors with River's semantics and defaults: [`Adwin`], [`PageHinkley`],
//! [`Ddm`] and [`Kswin`].
//!
//! Each takes one value at a time ([`DriftDetector::update`]) and says whether that value
//! completed a drift (and, for DDM, a warning). The alarm indices equal River 0.26's on the
//! streams in `tests/reference/online_detectors.json`.

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

use crate::stats::{Ecdf, ks_2samp};

/// A detector fed one value at a time.
pub trait DriftDetector: Send {
    /// Takes the next value; true when it completed a drift.
    fn update(&mut self, x: f64) -> bool;
    /// Whether the last value put the detector in its warning zone (DDM only).
    fn warning(&self) -> bool {
        false
    }
    /// The detector's name, as on the command line.
    fn name(&self) -> &'static str;
}

const MAX_BUCKETS: usize = 5;

/// One row of ADWIN's exponential histogram: up to `MAX_BUCKETS + 1` buckets of equal size
/// (`2^row` values), oldest first.
#[derive(Debug, Clone, Default)]
struct BucketRow {
    len: usize,
    total: [f64; MAX_BUCKETS + 1],
    variance: [f64; MAX_BUCKETS + 1],
}

impl BucketRow {
    fn insert(&mut self, total: f64, variance: f64) {
        self.total[self.len] = total;
        self.variance[self.len] = variance;
        self.len += 1;
    }

    /// Drops the `n` oldest buckets.
    fn compress(&mut self, n: usize) {
        let cap = MAX_BUCKETS + 1;
        for i in n..cap {
            self.total[i - n] = self.total[i];
            self.variance[i - n] = self.variance[i];
        }
        for i in cap - n..cap {
            self.total[i] = 0.0;
            self.variance[i] = 0.0;
        }
        self.len -= n;
    }
}

/// ADWIN (adaptive windowing, Bifet & Gavaldà 2007), as River's `drift.ADWIN`: an
/// exponential histogram of at most 5 buckets per size, a cut checked every `clock` values
/// once the window holds more than `grace_period`, both sides at least `min_window_length`;
/// after a drift the next value starts a fresh window (as River's wrapper resets).
#[derive(Debug, Clone)]
pub struct Adwin {
    delta: f64,
    clock: u64,
    grace_period: f64,
    min_window_length: f64,
    rows: Vec<BucketRow>,
    total: f64,
    variance: f64,
    width: f64,
    tick: u64,
    detections: u64,
    drift: bool,
}

impl Default for Adwin {
    fn default() -> Self {
        Adwin::new(0.002)
    }
}

impl Adwin {
    /// ADWIN with confidence `delta` and River's other defaults (clock 32, 5 buckets per
    /// row, min window length 5, grace period 10).
    pub fn new(delta: f64) -> Adwin {
        Adwin {
            delta,
            clock: 32,
            grace_period: 10.0,
            min_window_length: 5.0,
            rows: vec![BucketRow::default()],
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            detections: 0,
            drift: false,
        }
    }

    /// The number of values in the window.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// The mean of the window.
    pub fn estimation(&self) -> f64 {
        if self.width > 0.0 {
            self.total / self.width
        } else {
            0.0
        }
    }

    /// How many drifts were detected so far.
    pub fn detections(&self) -> u64 {
        self.detections
    }

    fn insert_element(&mut self, value: f64) {
        self.rows[0].insert(value, 0.0);
        self.width += 1.0;
        if self.width > 1.0 {
            let m = value - self.total / (self.width - 1.0);
            self.variance += (self.width - 1.0) * m * m / self.width;
        }
        self.total += value;
        self.compress_buckets();
    }

    fn compress_buckets(&mut self) {
        let mut idx = 0;
        while idx < self.rows.len() {
            if self.rows[idx].len != MAX_BUCKETS + 1 {
                break;
            }
            if idx + 1 == self.rows.len() {
                self.rows.push(BucketRow::default());
            }
            let size = (2f64).powi(idx as i32);
            let row = &self.rows[idx];
            let (t0, t1) = (row.total[0], row.total[1]);
            let (mu1, mu2) = (t0 / size, t1 / size);
            let temp = size * size * (mu1 - mu2) * (mu1 - mu2) / (size + size);
            let v12 = row.variance[0] + row.variance[1] + temp;
            self.rows[idx + 1].insert(t0 + t1, v12);
            self.rows[idx].compress(2);
            if self.rows[idx + 1].len <= MAX_BUCKETS {
                break;
            }
            idx += 1;
        }
    }

    fn delete_element(&mut self) -> f64 {
        let last = self.rows.len() - 1;
        let n = (2f64).powi(last as i32);
        let u = self.rows[last].total[0];
        let mu = u / n;
        let v = self.rows[last].variance[0];
        self.width -= n;
        self.total -= u;
        let mu_window = self.total / self.width;
        self.variance -=
            v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.rows[last].compress(1);
        if self.rows[last].len == 0 {
            self.rows.pop();
        }
        n
    }

    fn evaluate_cut(&self, n0: f64, n1: f64, delta_mean: f64) -> bool {
        let delta_prime = (2.0 * self.width.ln() / self.delta).ln();
        let m_recip =
            1.0 / (n0 - self.min_window_length + 1.0) + 1.0 / (n1 - self.min_window_length + 1.0);
        let variance_in_window = self.variance / self.width;
        let epsilon = (2.0 * m_recip * variance_in_window * delta_prime).sqrt()
            + 2.0 / 3.0 * delta_prime * m_recip;
        delta_mean.abs() > epsilon
    }

    fn detect_change(&mut self) -> bool {
        let mut change = false;
        self.tick += 1;
        if self.tick % self.clock == 0 && self.width > self.grace_period {
            let mut reduce = true;
            while reduce {
                reduce = false;
                let mut exit = false;
                let (mut n0, mut n1) = (0.0, self.width);
                let (mut u0, mut u1) = (0.0, self.total);
                let mut idx = self.rows.len();
                while idx > 0 && !exit {
                    idx -= 1;
                    let size = (2f64).powi(idx as i32);
                    let count = self.rows[idx].len;
                    for k in 0..count {
                        let u2 = self.rows[idx].total[k];
                        n0 += size;
                        n1 -= size;
                        u0 += u2;
                        u1 -= u2;
                        // The newest bucket of all is not a cut point (W_1 would be empty).
                        if idx == 0 && k + 1 == count {
                            exit = true;
                            break;
                        }
                        let delta_mean = u0 / n0 - u1 / n1;
                        if n1 >= self.min_window_length
                            && n0 >= self.min_window_length
                            && self.evaluate_cut(n0, n1, delta_mean)
                        {
                            reduce = true;
                            change = true;
                            if self.width > 0.0 {
                                self.delete_element();
                                exit = true;
                                break;
                            }
                        }
                    }
                }
            }
        }
        if change {
            self.detections += 1;
        }
        change
    }
}

impl DriftDetector for Adwin {
    fn update(&mut self, x: f64) -> bool {
        // River's `ADWIN.update` starts a fresh window after a drift.
        if self.drift {
            let detections = self.detections;
            *self = Adwin::new(self.delta);
            self.detections = detections;
        }
        self.insert_element(x);
        self.drift = self.detect_change();
        self.drift
    }

    fn name(&self) -> &'static str {
        "adwin"
    }
}

/// Page-Hinkley, as River's `drift.PageHinkley` with its defaults: min instances 30,
/// delta 0.005, threshold 50, forgetting factor 1 - 1e-4, mode "both" (an increase or a
/// decrease of the mean).
#[derive(Debug, Clone)]
pub struct PageHinkley {
    min_instances: f64,
    delta: f64,
    threshold: f64,
    alpha: f64,
    n: f64,
    mean: f64,
    sum_increase: f64,
    sum_decrease: f64,
    min_increase: f64,
    max_decrease: f64,
    drift: bool,
}

impl Default for PageHinkley {
    fn default() -> Self {
        PageHinkley::new(30, 0.005, 50.0, 1.0 - 0.0001)
    }
}

impl PageHinkley {
    /// Page-Hinkley with explicit parameters (mode "both").
    pub fn new(min_instances: u64, delta: f64, threshold: f64, alpha: f64) -> PageHinkley {
        PageHinkley {
            min_instances: min_instances as f64,
            delta,
            threshold,
            alpha,
            n: 0.0,
            mean: 0.0,
            sum_increase: 0.0,
            sum_decrease: 0.0,
            min_increase: f64::INFINITY,
            max_decrease: -1.0,
            drift: false,
        }
    }
}

impl DriftDetector for PageHinkley {
    fn update(&mut self, x: f64) -> bool {
        if self.drift {
            *self = PageHinkley::new(
                self.min_instances as u64,
                self.delta,
                self.threshold,
                self.alpha,
            );
        }
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
        let dev = x - self.mean;
        self.sum_increase = self.alpha * self.sum_increase + dev - self.delta;
        self.sum_decrease = self.alpha * self.sum_decrease + dev + self.delta;
        if self.sum_increase < self.min_increase {
            self.min_increase = self.sum_increase;
        }
        if self.sum_decrease > self.max_decrease {
            self.max_decrease = self.sum_decrease;
        }
        if self.n >= self.min_instances {
            let up = self.sum_increase - self.min_increase;
            let down = self.max_decrease - self.sum_decrease;
            self.drift = up > self.threshold || down > self.threshold;
        }
        self.drift
    }

    fn name(&self) -> &'static str {
        "page_hinkley"
    }
}

/// DDM (drift detection method, Gama et al. 2004) on a stream of errors (1) and successes
/// (0), as River's `drift.binary.DDM`: warm start 30, warning 2 and drift 3 standard
/// deviations above the minimum of p + s.
#[derive(Debug, Clone)]
pub struct Ddm {
    warm_start: u64,
    warning_threshold: f64,
    drift_threshold: f64,
    n: u64,
    p: f64,
    p_min: f64,
    s_min: f64,
    ps_min: f64,
    warning: bool,
    drift: bool,
}

impl Default for Ddm {
    fn default() -> Self {
        Ddm::new(30, 2.0, 3.0)
    }
}

impl Ddm {
    /// DDM with explicit parameters.
    pub fn new(warm_start: u64, warning_threshold: f64, drift_threshold: f64) -> Ddm {
        Ddm {
            warm_start,
            warning_threshold,
            drift_threshold,
            n: 0,
            p: 0.0,
            p_min: f64::INFINITY,
            s_min: f64::INFINITY,
            ps_min: f64::INFINITY,
            warning: false,
            drift: false,
        }
    }
}

impl DriftDetector for Ddm {
    fn update(&mut self, x: f64) -> bool {
        if self.drift {
            *self = Ddm::new(
                self.warm_start,
                self.warning_threshold,
                self.drift_threshold,
            );
        }
        self.n += 1;
        self.p += (x - self.p) / self.n as f64;
        let p = self.p;
        let s = (p * (1.0 - p) / self.n as f64).sqrt();
        if self.n > self.warm_start {
            if p + s <= self.ps_min {
                self.p_min = p;
                self.s_min = s;
                self.ps_min = p + s;
            }
            self.warning = p + s > self.p_min + self.warning_threshold * self.s_min;
            if p + s > self.p_min + self.drift_threshold * self.s_min {
                self.drift = true;
                self.warning = false;
            }
        }
        self.drift
    }

    fn warning(&self) -> bool {
        self.warning
    }

    fn name(&self) -> &'static str {
        "ddm"
    }
}

/// KSWIN (Kolmogorov–Smirnov windowing, Raab et al. 2020), as River's `drift.KSWIN`: a
/// window of 100 values; each update compares the 30 newest with 30 drawn (seeded) from the
/// older 70 by the two-sample KS test, and alarms when p ≤ alpha (0.005) and the statistic
/// exceeds 0.1. The draw cannot follow Python's `random`, so its alarms differ from River's;
/// [`kswin_statistic`] is the test on given windows.
#[derive(Debug, Clone)]
pub struct Kswin {
    alpha: f64,
    window_size: usize,
    stat_size: usize,
    seed: u64,
    window: VecDeque<f64>,
    rng: ChaCha8Rng,
    drift: bool,
    /// The p-value of the last test.
    pub p_value: f64,
}

impl Kswin {
    /// KSWIN with River's defaults (alpha 0.005, window 100, 30 compared) and a seed.
    pub fn new(seed: u64) -> Kswin {
        Kswin::with_params(0.005, 100, 30, seed)
    }

    /// KSWIN with explicit parameters (`stat_size < window_size`, checked by the caller).
    pub fn with_params(alpha: f64, window_size: usize, stat_size: usize, seed: u64) -> Kswin {
        Kswin {
            alpha,
            window_size,
            stat_size,
            seed,
            window: VecDeque::with_capacity(window_size),
            rng: ChaCha8Rng::seed_from_u64(seed),
            drift: false,
            p_value: 0.0,
        }
    }
}

/// The two-sample KS statistic and p-value of River's KSWIN test (scipy's `ks_2samp`,
/// exact for small windows).
pub fn kswin_statistic(older: &[f64], recent: &[f64]) -> (f64, f64) {
    let r = ks_2samp(
        &Ecdf::from_values(older.to_vec()),
        &Ecdf::from_values(recent.to_vec()),
    );
    (r.statistic, r.p_value)
}

impl DriftDetector for Kswin {
    fn update(&mut self, x: f64) -> bool {
        if self.drift {
            let seed = self.seed;
            *self = Kswin::with_params(self.alpha, self.window_size, self.stat_size, seed);
        }
        if self.window.len() == self.window_size {
            self.window.pop_front();
        }
        self.window.push_back(x);
        self.drift = false;
        if self.window.len() >= self.window_size {
            let older_len = self.window_size - self.stat_size;
            let picked: Vec<f64> = sample(&mut self.rng, older_len, self.stat_size)
                .into_iter()
                .map(|i| self.window[i])
                .collect();
            let recent: Vec<f64> = self.window.iter().skip(older_len).copied().collect();
            let (st, p) = kswin_statistic(&picked, &recent);
            self.p_value = p;
            if p <= self.alpha && st > 0.1 {
                self.drift = true;
                self.window = recent.into_iter().collect();
            }
        }
        self.drift
    }

    fn name(&self) -> &'static str {
        "kswin"
    }
}
