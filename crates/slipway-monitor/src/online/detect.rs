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

pub use slipway_learn::online::adwin::{Adwin, DriftDetector};

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
