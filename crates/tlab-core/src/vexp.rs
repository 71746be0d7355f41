//! `exp` over slices, inlined, with the bits of glibc's scalar `exp`.
//!
//! Sinkhorn's kernel `exp(−C/ε)` and the RBF kernels take millions of exponentials, each a
//! call into libm (`f64::exp`) through the PLT, with its checks for special arguments. On
//! x86-64 with AVX2 and FMA, glibc (2.28 and later) answers with `__exp_fma`: the
//! table-driven algorithm of ARM's optimized-routines (Szabolcs Nagy), N = 128, compiled
//! with fused multiply-adds. [`exp_core`] is that algorithm written out with the same
//! constants, the same table and the same operations fused (read from glibc 2.36's
//! `__ieee754_exp_fma`: `gdb -batch -ex 'disassemble __ieee754_exp_fma'
//! /lib/x86_64-linux-gnu/libm.so.6`, the constants and table with `x/264gx __exp_data`),
//! so it gives the same bits. It has no branch, and runs inlined in a loop compiled for
//! AVX2 + FMA; arguments off glibc's main path (|x| < 2⁻⁵⁴, |x| ≥ 512, infinities, NaN)
//! are then recomputed with `f64::exp`. Measured on the project machine: 1.5× libm's
//! speed on a million arguments in −100 … 0. (Four lanes at a time needs the table read
//! by gathers, which LLVM does not emit for generic AVX2 and which would take `unsafe`,
//! which the workspace denies; two safe four-lane versions were slower than this.)
//!
//! Without AVX2 and FMA the slices go through `f64::exp` one value at a time, so on every
//! glibc machine the result is what `f64::exp` gives there. A test checks the bits against
//! `f64::exp` over millions of arguments.

/// 128 / ln 2.
const INV_LN2_N: f64 = f64::from_bits(0x40671547652b82fe);
/// −ln 2 / 128, high part (trailing zero bits, so `k · hi` is exact).
const NEG_LN2_HI_N: f64 = f64::from_bits(0xbf762e42fefa0000);
/// −ln 2 / 128, low part.
const NEG_LN2_LO_N: f64 = f64::from_bits(0xbd0cf79abc9e3b3a);
/// 1.5 · 2⁵²: adding it rounds to an integer held in the low mantissa bits.
const SHIFT: f64 = f64::from_bits(0x4338000000000000);
/// The polynomial for exp(r) − 1 − r on |r| ≤ ln 2 / 256: C2 r² + C3 r³ + C4 r⁴ + C5 r⁵.
const C2: f64 = f64::from_bits(0x3fdffffffffffdbd);
const C3: f64 = f64::from_bits(0x3fc555555555543c);
const C4: f64 = f64::from_bits(0x3fa55555cf172b91);
const C5: f64 = f64::from_bits(0x3f81111167a4d017);

/// For i in 0..128, 2^(i/128) split in glibc's `__exp_data.tab` as `tab[2i]`, a correction
/// (the bits of a double), and `tab[2i + 1]`, the bits of the rounded value less i << 45 (so
/// that adding the shifted k gives the scale). Kept here as two arrays.
static TAIL: [u64; 128] = [
    0x0000000000000000,
    0x3c9b3b4f1a88bf6e,
    0xbc7160139cd8dc5d,
    0xbc905e7a108766d1,
    0x3c8cd2523567f613,
    0xbc8bce8023f98efa,
    0x3c60f74e61e6c861,
    0x3c90a3e45b33d399,
    0x3c979aa65d837b6d,
    0x3c8eb51a92fdeffc,
    0x3c3ebe3d702f9cd1,
    0xbc6a033489906e0b,
    0xbc9556522a2fbd0e,
    0xbc5080ef8c4eea55,
    0xbc91c923b9d5f416,
    0x3c80d3e3e95c55af,
    0xbc801b15eaa59348,
    0xbc8f1ff055de323d,
    0x3c8b898c3f1353bf,
    0xbc96d99c7611eb26,
    0x3c9aecf73e3a2f60,
    0xbc8fe782cb86389d,
    0x3c8a6f4144a6c38d,
    0x3c807a05b0e4047d,
    0x3c968efde3a8a894,
    0x3c875e18f274487d,
    0x3c80472b981fe7f2,
    0xbc96b87b3f71085e,
    0x3c82f7e16d09ab31,
    0xbc3d219b1a6fbffa,
    0x3c8b3782720c0ab4,
    0x3c6e149289cecb8f,
    0x3c834d754db0abb6,
    0x3c864201e2ac744c,
    0x3c8fdd395dd3f84a,
    0xbc86a3803b8e5b04,
    0xbc924aedcc4b5068,
    0xbc9907f81b512d8e,
    0xbc71d1e83e9436d2,
    0xbc991919b3ce1b15,
    0x3c859f48a72a4c6d,
    0xbc9312607a28698a,
    0xbc58a78f4817895b,
    0xbc7c2c9b67499a1b,
    0x3c4363ed60c2ac11,
    0x3c9666093b0664ef,
    0x3c6ecce1daa10379,
    0x3c93ff8e3f0f1230,
    0x3c7690cebb7aafb0,
    0x3c931dbdeb54e077,
    0xbc8f94340071a38e,
    0xbc87deccdc93a349,
    0xbc78dec6bd0f385f,
    0xbc861246ec7b5cf6,
    0x3c93350518fdd78e,
    0x3c7b98b72f8a9b05,
    0x3c9063e1e21c5409,
    0x3c34c7855019c6ea,
    0x3c9432e62b64c035,
    0xbc8ce44a6199769f,
    0xbc8c33c53bef4da8,
    0xbc845378892be9ae,
    0xbc93cedd78565858,
    0x3c5710aa807e1964,
    0xbc93b3efbf5e2228,
    0xbc6a12ad8734b982,
    0xbc6367efb86da9ee,
    0xbc80dc3d54e08851,
    0xbc781f647e5a3ecf,
    0xbc86ee4ac08b7db0,
    0xbc8619321e55e68a,
    0x3c909ccb5e09d4d3,
    0xbc7b32dcb94da51d,
    0x3c94ecfd5467c06b,
    0x3c65ebe1abd66c55,
    0xbc88a1c52fb3cf42,
    0xbc9369b6f13b3734,
    0xbc805e843a19ff1e,
    0xbc94d450d872576e,
    0x3c90ad675b0e8a00,
    0x3c8db72fc1f0eab4,
    0xbc65b6609cc5e7ff,
    0x3c7bf68359f35f44,
    0xbc93091fa71e3d83,
    0xbc5da9b88b6c1e29,
    0xbc6c23f97c90b959,
    0xbc92434322f4f9aa,
    0xbc85ca6cd7668e4b,
    0x3c71affc2b91ce27,
    0x3c6dd235e10a73bb,
    0xbc87c50422622263,
    0x3c8b1c86e3e231d5,
    0xbc91bbd1d3bcbb15,
    0x3c90cc319cee31d2,
    0x3c8469846e735ab3,
    0xbc82dfcd978e9db4,
    0x3c8c1a7792cb3387,
    0xbc907b8f4ad1d9fa,
    0xbc55c3d956dcaeba,
    0xbc90a40e3da6f640,
    0xbc68d6f438ad9334,
    0xbc91eee26b588a35,
    0x3c74ffd70a5fddcd,
    0xbc91bdfbfa9298ac,
    0x3c736eae30af0cb3,
    0x3c8ee3325c9ffd94,
    0x3c84e08fd10959ac,
    0x3c63cdaf384e1a67,
    0x3c676b2c6c921968,
    0xbc808a1883ccb5d2,
    0xbc8fad5d3ffffa6f,
    0xbc900dae3875a949,
    0x3c74a385a63d07a7,
    0xbc82919e2040220f,
    0x3c8e5a50d5c192ac,
    0x3c843a59ac016b4b,
    0xbc82d52107b43e1f,
    0xbc892ab93b470dc9,
    0x3c74b604603a88d3,
    0x3c83c5ec519d7271,
    0xbc8ff7128fd391f0,
    0xbc8dae98e223747d,
    0x3c8ec3bc41aa2008,
    0x3c842b94c3a9eb32,
    0x3c8a64a931d185ee,
    0xbc8e37bae43be3ed,
    0x3c77893b4d91cd9d,
    0x3c5305c14160cc89,
];

static SBITS: [u64; 128] = [
    0x3ff0000000000000,
    0x3feff63da9fb3335,
    0x3fefec9a3e778061,
    0x3fefe315e86e7f85,
    0x3fefd9b0d3158574,
    0x3fefd06b29ddf6de,
    0x3fefc74518759bc8,
    0x3fefbe3ecac6f383,
    0x3fefb5586cf9890f,
    0x3fefac922b7247f7,
    0x3fefa3ec32d3d1a2,
    0x3fef9b66affed31b,
    0x3fef9301d0125b51,
    0x3fef8abdc06c31cc,
    0x3fef829aaea92de0,
    0x3fef7a98c8a58e51,
    0x3fef72b83c7d517b,
    0x3fef6af9388c8dea,
    0x3fef635beb6fcb75,
    0x3fef5be084045cd4,
    0x3fef54873168b9aa,
    0x3fef4d5022fcd91d,
    0x3fef463b88628cd6,
    0x3fef3f49917ddc96,
    0x3fef387a6e756238,
    0x3fef31ce4fb2a63f,
    0x3fef2b4565e27cdd,
    0x3fef24dfe1f56381,
    0x3fef1e9df51fdee1,
    0x3fef187fd0dad990,
    0x3fef1285a6e4030b,
    0x3fef0cafa93e2f56,
    0x3fef06fe0a31b715,
    0x3fef0170fc4cd831,
    0x3feefc08b26416ff,
    0x3feef6c55f929ff1,
    0x3feef1a7373aa9cb,
    0x3feeecae6d05d866,
    0x3feee7db34e59ff7,
    0x3feee32dc313a8e5,
    0x3feedea64c123422,
    0x3feeda4504ac801c,
    0x3feed60a21f72e2a,
    0x3feed1f5d950a897,
    0x3feece086061892d,
    0x3feeca41ed1d0057,
    0x3feec6a2b5c13cd0,
    0x3feec32af0d7d3de,
    0x3feebfdad5362a27,
    0x3feebcb299fddd0d,
    0x3feeb9b2769d2ca7,
    0x3feeb6daa2cf6642,
    0x3feeb42b569d4f82,
    0x3feeb1a4ca5d920f,
    0x3feeaf4736b527da,
    0x3feead12d497c7fd,
    0x3feeab07dd485429,
    0x3feea9268a5946b7,
    0x3feea76f15ad2148,
    0x3feea5e1b976dc09,
    0x3feea47eb03a5585,
    0x3feea34634ccc320,
    0x3feea23882552225,
    0x3feea155d44ca973,
    0x3feea09e667f3bcd,
    0x3feea012750bdabf,
    0x3fee9fb23c651a2f,
    0x3fee9f7df9519484,
    0x3fee9f75e8ec5f74,
    0x3fee9f9a48a58174,
    0x3fee9feb564267c9,
    0x3feea0694fde5d3f,
    0x3feea11473eb0187,
    0x3feea1ed0130c132,
    0x3feea2f336cf4e62,
    0x3feea427543e1a12,
    0x3feea589994cce13,
    0x3feea71a4623c7ad,
    0x3feea8d99b4492ed,
    0x3feeaac7d98a6699,
    0x3feeace5422aa0db,
    0x3feeaf3216b5448c,
    0x3feeb1ae99157736,
    0x3feeb45b0b91ffc6,
    0x3feeb737b0cdc5e5,
    0x3feeba44cbc8520f,
    0x3feebd829fde4e50,
    0x3feec0f170ca07ba,
    0x3feec49182a3f090,
    0x3feec86319e32323,
    0x3feecc667b5de565,
    0x3feed09bec4a2d33,
    0x3feed503b23e255d,
    0x3feed99e1330b358,
    0x3feede6b5579fdbf,
    0x3feee36bbfd3f37a,
    0x3feee89f995ad3ad,
    0x3feeee07298db666,
    0x3feef3a2b84f15fb,
    0x3feef9728de5593a,
    0x3feeff76f2fb5e47,
    0x3fef05b030a1064a,
    0x3fef0c1e904bc1d2,
    0x3fef12c25bd71e09,
    0x3fef199bdd85529c,
    0x3fef20ab5fffd07a,
    0x3fef27f12e57d14b,
    0x3fef2f6d9406e7b5,
    0x3fef3720dcef9069,
    0x3fef3f0b555dc3fa,
    0x3fef472d4a07897c,
    0x3fef4f87080d89f2,
    0x3fef5818dcfba487,
    0x3fef60e316c98398,
    0x3fef69e603db3285,
    0x3fef7321f301b460,
    0x3fef7c97337b9b5f,
    0x3fef864614f5a129,
    0x3fef902ee78b3ff6,
    0x3fef9a51fbc74c83,
    0x3fefa4afa2a490da,
    0x3fefaf482d8e67f1,
    0x3fefba1bee615a27,
    0x3fefc52b376bba97,
    0x3fefd0765b6e4540,
    0x3fefdbfdad9cbe14,
    0x3fefe7c1819e90d8,
    0x3feff3c22b8f71f1,
];

/// Whether `x` takes glibc's main path: 2⁻⁵⁴ ≤ |x| < 512 (the top 12 bits, sign cleared,
/// within 0x3c9 ..= 0x407).
#[inline(always)]
fn main_path(x: f64) -> bool {
    let abstop = ((x.to_bits() >> 52) & 0x7ff) as u32;
    abstop.wrapping_sub(0x3c9) <= 0x3e
}

/// glibc's `exp` main path, operation for operation (each `mul_add` one fused
/// multiply-add, as in `__ieee754_exp_fma`). Meaningful where [`main_path`] holds; elsewhere
/// it returns some finite or non-finite value without fault (the table index is masked).
#[inline(always)]
pub fn exp_core(x: f64) -> f64 {
    // x = k ln2/N + r, |r| ≤ ln2/2N; exp(x) = 2^(k/N) exp(r).
    let kd = x.mul_add(INV_LN2_N, SHIFT);
    let ki = kd.to_bits();
    let kd = kd - SHIFT;
    let r = kd.mul_add(NEG_LN2_LO_N, kd.mul_add(NEG_LN2_HI_N, x));
    let idx = (ki & 127) as usize;
    let top = ki << 45;
    let tail = f64::from_bits(TAIL[idx]);
    let sbits = SBITS[idx].wrapping_add(top);
    let r2 = r * r;
    // tail + r + r² (C2 + r C3) + r⁴ (C4 + r C5), grouped as glibc's compiled code is.
    let p23 = r.mul_add(C3, C2);
    let p45 = r.mul_add(C5, C4);
    let s = p23.mul_add(r2, r + tail);
    let tmp = (r2 * r2).mul_add(p45, s);
    let scale = f64::from_bits(sbits);
    scale.mul_add(tmp, scale)
}

/// Values handled per block: the block's arguments are kept to find those off the main path.
const BLOCK: usize = 64;

/// One block: `out[i] = exp(xs[i])`, the same bits as `f64::exp`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block(xs: &[f64], out: &mut [f64]) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = exp_core(x);
    }
    if !xs.iter().all(|&x| main_path(x)) {
        for (o, &x) in out.iter_mut().zip(xs) {
            if !main_path(x) {
                *o = x.exp();
            }
        }
    }
}

/// `v[i] = exp(pre(v[i]))`, bit for bit what `v.iter_mut().for_each(|x| *x = pre(*x).exp())`
/// gives (see the module's header). `pre` is applied one value at a time, as written.
pub fn exp_map_inplace(v: &mut [f64], pre: impl Fn(f64) -> f64) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.vectorize(InPlace { v, pre });
        return;
    }
    for x in v.iter_mut() {
        *x = pre(*x).exp();
    }
}

/// `out[i] = exp(pre(src[i]))` for equal-length slices; as [`exp_map_inplace`].
///
/// # Panics
/// When the lengths differ (a caller's bug: both are sized from the same array).
pub fn exp_map(src: &[f64], out: &mut [f64], pre: impl Fn(f64) -> f64) {
    assert_eq!(
        src.len(),
        out.len(),
        "exp_map: source and output lengths differ"
    );
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.vectorize(Map { src, out, pre });
        return;
    }
    for (o, &c) in out.iter_mut().zip(src) {
        *o = pre(c).exp();
    }
}

// The loops as operations whose `call` is inlined into pulp's AVX2 + FMA entry point, so
// that every `mul_add` there is an FMA instruction (a closure passed to `vectorize` stayed
// a separate function, its `mul_add`s calls to libm's `fma`).
#[cfg(target_arch = "x86_64")]
struct InPlace<'a, F> {
    v: &'a mut [f64],
    pre: F,
}

#[cfg(target_arch = "x86_64")]
impl<F: Fn(f64) -> f64> pulp::NullaryFnOnce for InPlace<'_, F> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let mut xs = [0.0; BLOCK];
        for chunk in self.v.chunks_mut(BLOCK) {
            let xs = &mut xs[..chunk.len()];
            for (x, &c) in xs.iter_mut().zip(chunk.iter()) {
                *x = (self.pre)(c);
            }
            block(xs, chunk);
        }
    }
}

#[cfg(target_arch = "x86_64")]
struct Map<'a, F> {
    src: &'a [f64],
    out: &'a mut [f64],
    pre: F,
}

#[cfg(target_arch = "x86_64")]
impl<F: Fn(f64) -> f64> pulp::NullaryFnOnce for Map<'_, F> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let mut xs = [0.0; BLOCK];
        for (s, o) in self.src.chunks(BLOCK).zip(self.out.chunks_mut(BLOCK)) {
            let xs = &mut xs[..s.len()];
            for (x, &c) in xs.iter_mut().zip(s) {
                *x = (self.pre)(c);
            }
            block(xs, o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state
    }

    /// The same bits as `f64::exp` (glibc's, on x86-64 Linux; elsewhere `f64::exp` is
    /// another libm, and the check is left out).
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    fn bits_equal_libm_exp() {
        let mut st = 3u64;
        let mut args = Vec::new();
        // Uniform over the ranges the kernels use (−C/ε down to about −100, softmax logits),
        // every exponent from 2⁻⁶⁰ to 2¹⁰ with either sign, and random bit patterns.
        for _ in 0..2_000_000 {
            args.push(-((lcg(&mut st) >> 11) as f64 / (1u64 << 53) as f64) * 120.0);
        }
        for e in -60..=10 {
            for _ in 0..20_000 {
                let m = 1.0 + (lcg(&mut st) >> 11) as f64 / (1u64 << 53) as f64;
                let x = m * 2f64.powi(e);
                args.push(x);
                args.push(-x);
            }
        }
        for _ in 0..500_000 {
            args.push(f64::from_bits(lcg(&mut st)));
        }
        args.extend([
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            709.78,
            709.79,
            -745.2,
            -745.1,
            -708.4,
            512.0,
            -512.0,
            2f64.powi(-54),
            -(2f64.powi(-54)),
            f64::MIN_POSITIVE,
        ]);
        let mut out = vec![0.0; args.len()];
        exp_map(&args, &mut out, |x| x);
        let mut inplace = args.clone();
        exp_map_inplace(&mut inplace, |x| x);
        let mut bad = 0;
        for ((&x, &y), &z) in args.iter().zip(&out).zip(&inplace) {
            let want = x.exp();
            if y.to_bits() != want.to_bits() && !(y.is_nan() && want.is_nan()) {
                bad += 1;
                assert!(bad < 5, "exp({x:e}) = {y:e}, libm {want:e}");
            }
            assert!(y.to_bits() == z.to_bits() || (y.is_nan() && z.is_nan()));
        }
        assert_eq!(bad, 0);
        // Where the vector path runs, the core agrees on its own too (not only by fallback).
        let x = -3.7;
        assert_eq!(exp_core(x).to_bits(), x.exp().to_bits());
    }

    #[test]
    fn pre_is_applied_and_lengths_checked() {
        let src = [0.0, 1.0, 2.0, 700.0];
        let mut out = [0.0; 4];
        exp_map(&src, &mut out, |c| -c / 0.5);
        for (&c, &o) in src.iter().zip(&out) {
            assert_eq!(o.to_bits(), (-c / 0.5).exp().to_bits());
        }
        assert_eq!(out[0], 1.0);
        assert!(out[3] == 0.0);
        let r = std::panic::catch_unwind(|| {
            let mut short = [0.0; 3];
            exp_map(&src, &mut short, |x| x);
        });
        assert!(r.is_err());
    }
}
