//! The measurement behind `stats::sort_floats` (a radix sort instead of the standard
//! library's comparison sort): both sorts on the same values, rounded to 4 decimals like the
//! drift benchmark's synthetic columns, at the sizes a drift run sorts (a 100,000-row chunk
//! and a 1,000,000-row reference column). Prints `name: value unit` lines.
//!
//! `cargo run --release -p slipway-monitor --example sort_bench`

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_monitor::stats::sort_floats;

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for n in [100_000usize, 1_000_000] {
        let reps = 20_000_000 / n;
        let values: Vec<f64> = (0..n)
            .map(|_| {
                // A sum of uniforms: close enough to a normal for a sort's purposes.
                let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                (z * 3.0 * 1e4).round() / 1e4
            })
            .collect();
        let time = |f: &dyn Fn(Vec<f64>) -> Vec<f64>| {
            let mut best = f64::INFINITY;
            for _ in 0..reps {
                let v = values.clone();
                let t = Instant::now();
                let out = f(v);
                best = best.min(t.elapsed().as_secs_f64());
                assert_eq!(out.len(), n);
            }
            best
        };
        let std_sort = time(&|mut v| {
            v.sort_unstable_by(f64::total_cmp);
            v
        });
        let radix = time(&|v| sort_floats(v));
        println!("sort_std_{n}: {:.2} ms", std_sort * 1e3);
        println!("sort_radix_{n}: {:.2} ms", radix * 1e3);
        println!("sort_speedup_{n}: {:.1}x", std_sort / radix);
    }
}
