//! NumPy's legacy `RandomState` (MT19937), the generator scikit-learn's `random_state=int`
//! gives to `KMeans`: with it, k-means++ and random initial centers draw exactly what
//! scikit-learn draws for the same seed.
//!
//! Only the draws k-means needs are implemented: `random_sample` (53-bit doubles from two
//! 32-bit outputs) and `choice(n, size, replace=False, p)` as NumPy's legacy `choice`
//! does it (redraw for repeats, first occurrence wins).

/// State words of MT19937.
const N: usize = 624;
const M: usize = 397;

/// NumPy's legacy `RandomState`.
pub(crate) struct RandomState {
    mt: [u32; N],
    pos: usize,
}

impl RandomState {
    /// `np.random.RandomState(seed)`. Seeds above `2³² − 1`, which NumPy refuses, are
    /// taken as `RandomState([low 32 bits, high 32 bits])`.
    pub(crate) fn new(seed: u64) -> Self {
        match u32::try_from(seed) {
            Ok(s) => Self::from_u32(s),
            Err(_) => Self::from_array(&[seed as u32, (seed >> 32) as u32]),
        }
    }

    fn from_u32(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        RandomState { mt, pos: N }
    }

    fn from_array(key: &[u32]) -> Self {
        let mut st = Self::from_u32(19_650_218);
        let mt = &mut st.mt;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        st
    }

    fn generate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        let mt = &mut self.mt;
        for i in 0..N {
            let y = (mt[i] & UPPER) | (mt[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[i] = mt[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// The next 32-bit output.
    pub(crate) fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: a double in `[0, 1)` with 53 random bits.
    pub(crate) fn random_sample(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `choice(n, size, replace=False, p=ones(n)/n)`: `size` distinct indices below `n`.
    pub(crate) fn choice_without_replacement(&mut self, n: usize, size: usize) -> Vec<usize> {
        let mut p = vec![1.0 / n as f64; n];
        let mut found: Vec<usize> = Vec::with_capacity(size);
        let mut cdf = vec![0.0; n];
        while found.len() < size {
            let draws: Vec<f64> = (0..size - found.len())
                .map(|_| self.random_sample())
                .collect();
            for &f in &found {
                p[f] = 0.0;
            }
            cumsum_normalized(&p, &mut cdf);
            let mut seen: Vec<usize> = Vec::new();
            for u in draws {
                let i = cdf.partition_point(|&c| c <= u);
                if !seen.contains(&i) {
                    seen.push(i);
                }
            }
            found.extend(seen);
        }
        found
    }

    /// `choice(n, p=ones(n)/n)`: one index below `n`.
    pub(crate) fn choice_uniform(&mut self, n: usize) -> usize {
        let p = vec![1.0 / n as f64; n];
        let mut cdf = vec![0.0; n];
        cumsum_normalized(&p, &mut cdf);
        let u = self.random_sample();
        cdf.partition_point(|&c| c <= u).min(n - 1)
    }
}

/// NumPy's `cdf = p.cumsum(); cdf /= cdf[-1]` (sequential sums).
fn cumsum_normalized(p: &[f64], cdf: &mut [f64]) {
    let mut acc = 0.0;
    for (c, v) in cdf.iter_mut().zip(p) {
        acc += v;
        *c = acc;
    }
    let last = acc;
    for c in cdf.iter_mut() {
        *c /= last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_outputs_equal_the_mt19937_reference() {
        // The reference implementation's init_by_array({0x123, 0x234, 0x345, 0x456})
        // starts 1067595299 955945823 477289528 4107218783 4228976476.
        let mut r = RandomState::from_array(&[0x123, 0x234, 0x345, 0x456]);
        let got: Vec<u32> = (0..5).map(|_| r.next_u32()).collect();
        assert_eq!(
            got,
            vec![1067595299, 955945823, 477289528, 4107218783, 4228976476]
        );
    }

    #[test]
    fn random_sample_equals_numpy() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/models/kmeans_seeding.json"
        ));
        let reference: serde_json::Value = serde_json::from_str(text).unwrap();
        for case in reference["random_sample"].as_array().unwrap() {
            let seed = case["seed"].as_u64().unwrap();
            let mut r = RandomState::new(seed);
            for v in case["values"].as_array().unwrap() {
                assert_eq!(r.random_sample(), v.as_f64().unwrap(), "seed {seed}");
            }
        }
    }
}
