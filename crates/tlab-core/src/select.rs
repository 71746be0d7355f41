//! Order statistics of `f64` slices in `f64::total_cmp` order, without sorting or copying
//! the whole slice.
//!
//! `select_nth_unstable` on a copy of a million costs (the median that scales an OT cost,
//! the median heuristic of a kernel width) spends its time copying and partitioning.
//! Here a sorted strided sample of 4096 values gives two bounds that bracket the wanted
//! rank with high probability; one pass counts the values below the lower bound and
//! copies those between the bounds (a few percent of them), and only those are
//! partitioned. When the bounds miss the rank (possible for adversarial orderings), the
//! copy-and-partition is done instead. Either way the value returned is the element of
//! that rank, the same, bit for bit, as sorting by `total_cmp` and indexing.

/// Below this length a copy and `select_nth_unstable_by` are as quick.
const SMALL: usize = 16_384;
/// The sample's size, and how many sample ranks each bound lies from the wanted one
/// (four standard deviations of a median's rank estimated from 4096 draws, √(4096/4) = 32).
const SAMPLE: usize = 4096;
const MARGIN: usize = 128;

/// An integer whose unsigned order is `f64::total_cmp`'s order: negative values (sign bit
/// set) have every bit flipped, the others their sign bit set.
#[inline(always)]
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// The elements of ranks `k − 1` and `k` (0-based, `total_cmp` order) of `v`; the first is
/// `None` when `k` is 0. `None` altogether when `k ≥ v.len()`.
pub fn nth_pair(v: &[f64], k: usize) -> Option<(Option<f64>, f64)> {
    let n = v.len();
    if k >= n {
        return None;
    }
    if n > SMALL {
        let stride = n / SAMPLE;
        let mut sample: Vec<u64> = (0..SAMPLE).map(|i| key(v[i * stride])).collect();
        sample.sort_unstable();
        let pos = ((k as u128 * SAMPLE as u128) / n as u128) as usize;
        let lo = sample[pos.saturating_sub(MARGIN)];
        let hi = sample[(pos + MARGIN).min(SAMPLE - 1)];
        let (width, mut below) = (hi - lo, 0usize);
        let mut mid = Vec::with_capacity(n / 16);
        for &x in v {
            let kx = key(x);
            below += (kx < lo) as usize;
            if kx.wrapping_sub(lo) <= width {
                mid.push(x);
            }
        }
        // Both wanted ranks (k − 1 only when k > 0) must fall among the bracketed values;
        // then rank k − 1 is within them too, and `pair_in` finds it (None when k is 0).
        if below <= k.saturating_sub(1) && k < below + mid.len() {
            return Some(pair_in(&mut mid, k - below));
        }
    }
    Some(pair_in(&mut v.to_vec(), k))
}

/// The `k`-th smallest element of `v` in `total_cmp` order; `None` when `k ≥ v.len()`.
pub fn nth(v: &[f64], k: usize) -> Option<f64> {
    nth_pair(v, k).map(|(_, x)| x)
}

/// numpy's median: the middle value, or the mean of the two middle values for an even
/// count (`0.5 · (a + b)`); NaN for an empty slice.
pub fn median(v: &[f64]) -> f64 {
    let mid = v.len() / 2;
    match nth_pair(v, mid) {
        None => f64::NAN,
        Some((Some(lo), hi)) if v.len().is_multiple_of(2) => 0.5 * (lo + hi),
        Some((_, hi)) => hi,
    }
}

/// [`median`] of an array's elements, any shape or layout; no copy when it is contiguous.
pub fn median_of<S, D>(a: &ndarray::ArrayBase<S, D>) -> f64
where
    S: ndarray::Data<Elem = f64>,
    D: ndarray::Dimension,
{
    match a.as_slice_memory_order() {
        Some(all) => median(all),
        None => median(&a.iter().copied().collect::<Vec<_>>()),
    }
}

/// Ranks `k − 1` and `k` of `v` (reordering it), by `select_nth_unstable_by`; the first is
/// `None` when `k` is 0.
fn pair_in(v: &mut [f64], k: usize) -> (Option<f64>, f64) {
    let (lower, kth, _) = v.select_nth_unstable_by(k, f64::total_cmp);
    let prev = lower.iter().copied().max_by(f64::total_cmp);
    (prev, *kth)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (64-bit LCG, top bits), as elsewhere in the tests.
    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn sorted_rank(v: &[f64], k: usize) -> f64 {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[k]
    }

    #[test]
    fn ranks_match_a_full_sort_bit_for_bit() {
        let mut st = 7u64;
        // Distances-like values over two octaves, heavy ties, signed values with ±0,
        // infinities and NaNs, and one value repeated everywhere.
        let spread: Vec<f64> = (0..100_003)
            .map(|_| 500.0 + 3000.0 * lcg(&mut st))
            .collect();
        let ties: Vec<f64> = (0..50_000).map(|_| (lcg(&mut st) * 7.0).floor()).collect();
        let mut mixed: Vec<f64> = (0..20_000).map(|_| lcg(&mut st) * 2.0 - 1.0).collect();
        mixed.extend([
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ]);
        mixed.extend((0..5000).map(|_| -0.0));
        let same = vec![1.25; 9000];
        // Sampled positions (every n/4096-th) all holding the minimum: the bounds miss the
        // middle ranks, so the copy-and-partition fallback answers.
        let mut rigged = vec![2.0; 40_000];
        for i in 0..SAMPLE {
            rigged[i * (40_000 / SAMPLE)] = -1.0;
        }
        rigged[1] = 0.5;
        let small: Vec<f64> = (0..101).map(|_| lcg(&mut st)).collect();
        for v in [&spread, &ties, &mixed, &same, &small, &rigged] {
            let n = v.len();
            for k in [0, 1, n / 3, n / 2 - 1, n / 2, n - 2, n - 1] {
                let (prev, kth) = nth_pair(v, k).unwrap();
                assert_eq!(
                    kth.to_bits(),
                    sorted_rank(v, k).to_bits(),
                    "rank {k} of {n}"
                );
                match prev {
                    None => assert_eq!(k, 0),
                    Some(p) => {
                        assert_eq!(p.to_bits(), sorted_rank(v, k - 1).to_bits(), "rank {k} − 1")
                    }
                }
            }
            assert!(nth(v, n).is_none());
        }
    }

    #[test]
    fn median_is_numpys() {
        // numpy.median([3, 1, 2]) = 2.0, numpy.median([4, 1, 3, 2]) = 2.5.
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        // A long even slice: the mean of the two middle values of the sorted copy.
        let mut st = 11u64;
        let v: Vec<f64> = (0..200_000).map(|_| lcg(&mut st) * 1e3).collect();
        let mut s = v.clone();
        s.sort_by(f64::total_cmp);
        assert_eq!(
            median(&v).to_bits(),
            (0.5 * (s[99_999] + s[100_000])).to_bits()
        );
        assert_ne!(median(&v), s[100_000]);
    }
}
