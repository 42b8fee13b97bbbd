//! What choosing an arm costs per request, in process, for `bench/serving/routing.sh`: the
//! A/B assignment (MD5 of the salted key, as `slipway serve` does for every keyed request)
//! and the canary's weighted pick (one relaxed atomic increment), without HTTP around them.
//!
//! `routing_cost [N]` prints `name: value unit` lines, each the fastest of 5 runs of N calls
//! (default 1,000,000) over distinct keys, so a busy machine's preemptions do not count.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use slipway_rollout::assign::{Arm, assign};

fn fastest(runs: usize, n: usize, mut f: impl FnMut(usize) -> usize) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            let mut acc = 0usize;
            for i in 0..n {
                acc = acc.wrapping_add(f(i));
            }
            black_box(acc);
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |s| s.parse().expect("N: a whole number"));
    let keys: Vec<String> = (0..n).map(|i| format!("user-{:08}", i * 7919)).collect();
    let ab = fastest(5, n, |i| {
        usize::from(assign(black_box(&keys[i]), Some("exp-2026-12"), 50) == Arm::B)
    });
    let ab_unsalted = fastest(5, n, |i| {
        usize::from(assign(black_box(&keys[i]), None, 50) == Arm::B)
    });
    let seq = AtomicU64::new(0);
    let canary = fastest(5, n, |_| {
        let k = seq.fetch_add(1, Ordering::Relaxed);
        usize::from(k.wrapping_mul(37) % 100 < 5)
    });
    let b = (0..n)
        .filter(|&i| assign(&keys[i], Some("exp-2026-12"), 50) == Arm::B)
        .count();
    println!("routing_ab_assign_salted: {ab:.1} ns");
    println!("routing_ab_assign_unsalted: {ab_unsalted:.1} ns");
    println!("routing_canary_pick: {canary:.1} ns");
    println!(
        "routing_ab_share_b: {:.4} fraction (split 50, {n} keys)",
        b as f64 / n as f64
    );
}
