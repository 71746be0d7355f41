//! A seeded stream of uniform values for the unit tests (xorshift64: no dependency, and the
//! same values on every platform).

/// Uniform values in [0, 1) from a xorshift64 generator started at `seed` (≠ 0).
pub(crate) fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}
