//! A safe, bounds-checked front to `matrixmultiply`'s `dgemm` for the distance kernels of
//! k-nearest neighbours and k-means (`‖x‖² + ‖y‖² − 2·x·y` in blocks, as scikit-learn
//! computes them with BLAS).
//!
//! `matrixmultiply` is bluss's pure-Rust GEMM (the one `ndarray` uses): it detects AVX-512,
//! AVX + FMA or SSE2 at run time, so the release binary gets FMA kernels without
//! `-C target-cpu`, and it adds no C or BLAS dependency. It is called single-threaded here;
//! callers parallelize over blocks of rows with rayon.

/// `c = alpha · a · bᵀ + beta · c`, where `a` is `m × k`, `b` is `n × k` and `c` is `m × n`,
/// all row-major and contiguous.
///
/// # Panics
/// When a slice is shorter than its shape says (a caller bug, never user input).
#[allow(clippy::too_many_arguments)] // the BLAS shape: sizes, scalars, operands
pub(crate) fn gemm_abt(
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    b: &[f64],
    beta: f64,
    c: &mut [f64],
) {
    assert!(
        a.len() >= m * k,
        "gemm: a has {} values, needs {m}×{k}",
        a.len()
    );
    assert!(
        b.len() >= n * k,
        "gemm: b has {} values, needs {n}×{k}",
        b.len()
    );
    assert!(
        c.len() >= m * n,
        "gemm: c has {} values, needs {m}×{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    let (n_i, k_i) = (to_isize(n), to_isize(k));
    // SAFETY: matrixmultiply reads a[i·rsa + l·csa] for i < m, l < k, i.e. a[i·k + l] with
    // largest index m·k − 1 < a.len(); b[l·rsb + j·csb] = b[j·k + l] with largest index
    // n·k − 1 < b.len(); and writes c[i·n + j] with largest index m·n − 1 < c.len() (all
    // asserted above). The three slices are distinct borrows (`c` is `&mut`), so `c` does
    // not alias `a` or `b`, and no other thread touches them during the call.
    #[allow(unsafe_code)]
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            k_i,
            1,
            b.as_ptr(),
            1,
            k_i,
            beta,
            c.as_mut_ptr(),
            n_i,
            1,
        );
    }
}

fn to_isize(v: usize) -> isize {
    isize::try_from(v).expect("matrix dimension fits in isize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_product() {
        let (m, n, k) = (7, 5, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.7).sin()).collect();
        let b: Vec<f64> = (0..n * k).map(|i| (i as f64 * 1.3).cos()).collect();
        let mut c: Vec<f64> = (0..m * n).map(|i| i as f64).collect();
        let c0 = c.clone();
        gemm_abt(m, n, k, -2.0, &a, &b, 1.0, &mut c);
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k).map(|l| a[i * k + l] * b[j * k + l]).sum();
                let want = c0[i * n + j] - 2.0 * dot;
                assert!((c[i * n + j] - want).abs() < 1e-12, "({i},{j})");
            }
        }
    }
}
