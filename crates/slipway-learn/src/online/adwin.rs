//! ADWIN, River's adaptive windowing drift detector (`drift.ADWIN`, delta 0.002), and the
//! [`DriftDetector`] trait every streaming detector implements. It lives beside the online
//! learners because the adaptive random forest watches each tree's errors with it; the other
//! detectors (Page-Hinkley, DDM, KSWIN) are in `slipway_monitor::online::detect`.

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
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
