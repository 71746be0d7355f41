//! `exp` and `ln` over slices, inlined, with the bits of glibc's scalar `exp` and `log`.
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

#[cfg(target_arch = "x86_64")]
use std::marker::PhantomData;

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

/// A libm function written out: its main path, where that path applies, and libm's own
/// function for the rest.
#[cfg(target_arch = "x86_64")]
trait Written {
    fn core(x: f64) -> f64;
    fn main_path(x: f64) -> bool;
    fn libm(x: f64) -> f64;
}

#[cfg(target_arch = "x86_64")]
struct Exp;

#[cfg(target_arch = "x86_64")]
impl Written for Exp {
    #[inline(always)]
    fn core(x: f64) -> f64 {
        exp_core(x)
    }
    #[inline(always)]
    fn main_path(x: f64) -> bool {
        main_path(x)
    }
    #[inline(always)]
    fn libm(x: f64) -> f64 {
        x.exp()
    }
}

/// One block: `out[i] = K(xs[i])` with libm's bits — the written-out main path for every
/// value (no branch), then libm for those off it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block<K: Written>(xs: &[f64], out: &mut [f64]) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = K::core(x);
    }
    if !xs.iter().all(|&x| K::main_path(x)) {
        for (o, &x) in out.iter_mut().zip(xs) {
            if !K::main_path(x) {
                *o = K::libm(x);
            }
        }
    }
}

/// `v[i] = exp(pre(v[i]))`, bit for bit what `v.iter_mut().for_each(|x| *x = pre(*x).exp())`
/// gives (see the module's header). `pre` is applied one value at a time, as written.
pub fn exp_map_inplace(v: &mut [f64], pre: impl Fn(f64) -> f64) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.vectorize(Map::<_, Exp> {
            src: None,
            out: v,
            pre,
            kind: PhantomData,
        });
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
        simd.vectorize(Map::<_, Exp> {
            src: Some(src),
            out,
            pre,
            kind: PhantomData,
        });
        return;
    }
    for (o, &c) in out.iter_mut().zip(src) {
        *o = pre(c).exp();
    }
}

// The loop as an operation whose `call` is inlined into pulp's AVX2 + FMA entry point, so
// that every `mul_add` there is an FMA instruction (a closure passed to `vectorize` stayed
// a separate function, its `mul_add`s calls to libm's `fma`). `out[i] = K(pre(src[i]))`;
// `src: None` maps `out` in place.
#[cfg(target_arch = "x86_64")]
struct Map<'a, F, K> {
    src: Option<&'a [f64]>,
    out: &'a mut [f64],
    pre: F,
    kind: PhantomData<K>,
}

#[cfg(target_arch = "x86_64")]
impl<F: Fn(f64) -> f64, K: Written> pulp::NullaryFnOnce for Map<'_, F, K> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let mut xs = [0.0; BLOCK];
        for (b, o) in self.out.chunks_mut(BLOCK).enumerate() {
            let xs = &mut xs[..o.len()];
            let from: &[f64] = match self.src {
                Some(s) => &s[b * BLOCK..b * BLOCK + o.len()],
                None => o,
            };
            for (x, &c) in xs.iter_mut().zip(from) {
                *x = (self.pre)(c);
            }
            block::<K>(xs, o);
        }
    }
}

// ---- A table-free exp for loops that fuse it with other work ----

/// 1 / ln 2.
const POLY_INV_LN2: f64 = f64::from_bits(0x3ff71547652b82fe);
/// ln 2 in two parts (fdlibm's): `k · POLY_LN2_HI` is exact for |k| < 2¹¹.
const POLY_LN2_HI: f64 = f64::from_bits(0x3fe62e42fee00000);
const POLY_LN2_LO: f64 = f64::from_bits(0x3dea39ef35793c76);
/// 1.5 · 2⁵²: adding it rounds to an integer held in the low mantissa bits.
const POLY_SHIFT: f64 = f64::from_bits(0x4338000000000000);

/// exp(r)'s Taylor coefficients 1/n!, n = 0 … 13.
const POLY_C: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
];
/// Above this exp overflows.
const POLY_MAX: f64 = 709.782712893384;

/// exp(x) without a table or a branch, so that it runs on four lanes ([`exp_poly_x4`])
/// and can be fused with a loop's other arithmetic. Within
/// 2 ulp of the correctly rounded value (a test checks millions of arguments against
/// `f64::exp`, which is within 1 ulp); its bits are not glibc's, unlike [`exp_map`].
///
/// `x = k ln 2 + r` with k = round(x / ln 2) and |r| ≤ ln 2 / 2 (Cody–Waite, two parts),
/// exp(r) by its Taylor polynomial of degree 13 (truncation below 5·10⁻¹⁸ on that
/// interval), Horner with fused multiply-adds, then 2ᵏ applied as two powers of two so
/// that subnormal results round once. Below −745.2 it gives 0, above 709.78 ∞, NaN for NaN.
#[inline(always)]
pub fn exp_poly(x: f64) -> f64 {
    let xc = x.clamp(-746.0, 710.0);
    let t = xc.mul_add(POLY_INV_LN2, POLY_SHIFT);
    let k = t - POLY_SHIFT;
    let r = k.mul_add(-POLY_LN2_HI, xc);
    let r = k.mul_add(-POLY_LN2_LO, r);
    let mut p = POLY_C[13];
    for &c in POLY_C[..13].iter().rev() {
        p = p.mul_add(r, c);
    }
    // 2ᵏ = 2^k1 · 2^k2 with k1 = round(k / 2): both exponents stay normal for |k| ≤ 1077.
    let t1 = 0.5f64.mul_add(k, POLY_SHIFT);
    let k2 = k - (t1 - POLY_SHIFT);
    let t2 = k2 + POLY_SHIFT;
    let pow2 = |t: f64| {
        f64::from_bits(
            (t.to_bits().wrapping_sub(POLY_SHIFT.to_bits()))
                .wrapping_add(1023)
                .wrapping_shl(52),
        )
    };
    let y = p * pow2(t1) * pow2(t2);
    if x > POLY_MAX {
        f64::INFINITY
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

/// [`exp_poly`] on four lanes (AVX2 + FMA), each lane's bits those of [`exp_poly`]: the
/// same operations in the same order, fused where it fuses.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn exp_poly_x4(simd: pulp::x86::V3, x: pulp::f64x4) -> pulp::f64x4 {
    let s = |v: f64| simd.splat_f64x4(v);
    // `clamp` there; for a NaN lane the two differ in between (−746 here, NaN there), and
    // both return the NaN at the end.
    let xc = simd.min_f64x4(simd.max_f64x4(x, s(-746.0)), s(710.0));
    let t = simd.mul_add_f64x4(xc, s(POLY_INV_LN2), s(POLY_SHIFT));
    let k = simd.sub_f64x4(t, s(POLY_SHIFT));
    let r = simd.mul_add_f64x4(k, s(-POLY_LN2_HI), xc);
    let r = simd.mul_add_f64x4(k, s(-POLY_LN2_LO), r);
    let mut p = s(POLY_C[13]);
    for &c in POLY_C[..13].iter().rev() {
        p = simd.mul_add_f64x4(p, r, s(c));
    }
    let t1 = simd.mul_add_f64x4(s(0.5), k, s(POLY_SHIFT));
    let k2 = simd.sub_f64x4(k, simd.sub_f64x4(t1, s(POLY_SHIFT)));
    let t2 = simd.add_f64x4(k2, s(POLY_SHIFT));
    let pow2 = |t: pulp::f64x4| -> pulp::f64x4 {
        let bits: pulp::u64x4 = pulp::cast(t);
        let e = simd.wrapping_add_u64x4(
            simd.wrapping_sub_u64x4(bits, simd.splat_u64x4(POLY_SHIFT.to_bits())),
            simd.splat_u64x4(1023),
        );
        pulp::cast(simd.shl_const_u64x4::<52>(e))
    };
    let y = simd.mul_f64x4(simd.mul_f64x4(p, pow2(t1)), pow2(t2));
    let y = simd.select_f64x4(simd.cmp_gt_f64x4(x, s(POLY_MAX)), s(f64::INFINITY), y);
    simd.select_f64x4(simd.is_nan_f64x4(x), x, y)
}

// ---- ln: glibc's `__ieee754_log_fma` (optimized-routines' log, N = 128), main path ----
//
// Read the same way (`disassemble __ieee754_log_fma`, `x/7gx __log_data`, the table
// `x/256gx __log_data+144`). Arguments near 1 (|x − 1| ≲ 0.06, glibc's own polynomial
// there), subnormal, zero, negative, infinite or NaN are recomputed with `f64::ln`.

/// ln 2, high part (trailing zero bits, so `k · hi` is exact), and low part.
const LN2_HI: f64 = f64::from_bits(CONST_LN[0]);
const LN2_LO: f64 = f64::from_bits(CONST_LN[1]);
/// log1p(r) − r ≈ A0 r² + A1 r³ + A2 r⁴ + A3 r⁵ + A4 r⁶ on the table's intervals.
const A0: f64 = f64::from_bits(CONST_LN[2]);
const A1: f64 = f64::from_bits(CONST_LN[3]);
const A2: f64 = f64::from_bits(CONST_LN[4]);
const A3: f64 = f64::from_bits(CONST_LN[5]);
const A4: f64 = f64::from_bits(CONST_LN[6]);
const CONST_LN: [u64; 7] = [
    0x3fe62e42fefa3800,
    0x3d2ef35793c76730,
    0xbfe0000000000001,
    0x3fd555555551305b,
    0xbfcfffffffeb4590,
    0x3fc999b324f10111,
    0xbfc55575e506c89f,
];
/// The bits of 0.6875 (`OFF`): `x − OFF` puts the table index and exponent in place.
const OFF: u64 = 0x3fe6000000000000;

/// For i in 0..128, `1/c` and `ln c` for the centre c of the i-th subinterval of
/// [0.6875, 1.375) (glibc's `__log_data.tab`).
static INVC: [u64; 128] = [
    0x3ff734f0c3e0de9f,
    0x3ff713786a2ce91f,
    0x3ff6f26008fab5a0,
    0x3ff6d1a61f138c7d,
    0x3ff6b1490bc5b4d1,
    0x3ff69147332f0cba,
    0x3ff6719f18224223,
    0x3ff6524f99a51ed9,
    0x3ff63356aa8f24c4,
    0x3ff614b36b9ddc14,
    0x3ff5f66452c65c4c,
    0x3ff5d867b5912c4f,
    0x3ff5babccb5b90de,
    0x3ff59d61f2d91a78,
    0x3ff5805612465687,
    0x3ff56397cee76bd3,
    0x3ff54725e2a77f93,
    0x3ff52aff42064583,
    0x3ff50f22dbb2bddf,
    0x3ff4f38f4734ded7,
    0x3ff4d843cfde2840,
    0x3ff4bd3ec078a3c8,
    0x3ff4a27fc3e0258a,
    0x3ff4880524d48434,
    0x3ff46dce1b192d0b,
    0x3ff453d9d3391854,
    0x3ff43a2744b4845a,
    0x3ff420b54115f8fb,
    0x3ff40782da3ef4b1,
    0x3ff3ee8f5d57fe8f,
    0x3ff3d5d9a00b4ce9,
    0x3ff3bd60c010c12b,
    0x3ff3a5242b75dab8,
    0x3ff38d22cd9fd002,
    0x3ff3755bc5847a1c,
    0x3ff35dce49ad36e2,
    0x3ff34679984dd440,
    0x3ff32f5cceffcb24,
    0x3ff3187775a10d49,
    0x3ff301c8373e3990,
    0x3ff2eb4ebb95f841,
    0x3ff2d50a0219a9d1,
    0x3ff2bef9a8b7fd2a,
    0x3ff2a91c7a0c1bab,
    0x3ff293726014b530,
    0x3ff27dfa5757a1f5,
    0x3ff268b39b1d3bbf,
    0x3ff2539d838ff5bd,
    0x3ff23eb7aac9083b,
    0x3ff22a012ba940b6,
    0x3ff2157996cc4132,
    0x3ff201201dd2fc9b,
    0x3ff1ecf4494d480b,
    0x3ff1d8f5528f6569,
    0x3ff1c52311577e7c,
    0x3ff1b17c74cb26e9,
    0x3ff19e010c2c1ab6,
    0x3ff18ab07bb670bd,
    0x3ff1778a25efbcb6,
    0x3ff1648d354c31da,
    0x3ff151b990275fdd,
    0x3ff13f0ea432d24c,
    0x3ff12c8b7210f9da,
    0x3ff11a3028ecb531,
    0x3ff107fbda8434af,
    0x3ff0f5ee0f4e6bb3,
    0x3ff0e4065d2a9fce,
    0x3ff0d244632ca521,
    0x3ff0c0a77ce2981a,
    0x3ff0af2f83c636d1,
    0x3ff09ddb98a01339,
    0x3ff08cabaf52e7df,
    0x3ff07b9f2f4e28fb,
    0x3ff06ab58c358f19,
    0x3ff059eea5ecf92c,
    0x3ff04949cdd12c90,
    0x3ff038c6c6f0ada9,
    0x3ff02865137932a9,
    0x3ff0182427ea7348,
    0x3ff008040614b195,
    0x3fefe01ff726fa1a,
    0x3fefa11cc261ea74,
    0x3fef6310b081992e,
    0x3fef25f63ceeadcd,
    0x3feee9c8039113e7,
    0x3feeae8078cbb1ab,
    0x3fee741aa29d0c9b,
    0x3fee3a91830a99b5,
    0x3fee01e009609a56,
    0x3fedca01e577bb98,
    0x3fed92f20b7c9103,
    0x3fed5cac66fb5cce,
    0x3fed272caa5ede9d,
    0x3fecf26e3e6b2ccd,
    0x3fecbe6da2a77902,
    0x3fec8b266d37086d,
    0x3fec5894bd5d5804,
    0x3fec26b533bb9f8c,
    0x3febf583eeece73f,
    0x3febc4fd75db96c1,
    0x3feb951e0c864a28,
    0x3feb65e2c5ef3e2c,
    0x3feb374867c9888b,
    0x3feb094b211d304a,
    0x3feadbe885f2ef7e,
    0x3feaaf1d31603da2,
    0x3fea82e63fd358a7,
    0x3fea5740ef09738b,
    0x3fea2c2a90ab4b27,
    0x3fea01a01393f2d1,
    0x3fe9d79f24db3c1b,
    0x3fe9ae2505c7b190,
    0x3fe9852ef297ce2f,
    0x3fe95cbaeea44b75,
    0x3fe934c69de74838,
    0x3fe90d4f2f6752e6,
    0x3fe8e6528effd79d,
    0x3fe8bfce9fcc007c,
    0x3fe899c0dabec30e,
    0x3fe87427aa2317fb,
    0x3fe84f00acb39a08,
    0x3fe82a49e8653e55,
    0x3fe8060195f40260,
    0x3fe7e22563e0a329,
    0x3fe7beb377dcb5ad,
    0x3fe79baa679725c2,
    0x3fe77907f2170657,
    0x3fe756cadbd6130c,
];

static LOGC: [u64; 128] = [
    0xbfd7cc7f79e69000,
    0xbfd76feec20d0000,
    0xbfd713e31351e000,
    0xbfd6b85b38287800,
    0xbfd65d5590807800,
    0xbfd602d076180000,
    0xbfd5a8ca86909000,
    0xbfd54f4356035000,
    0xbfd4f637c36b4000,
    0xbfd49da7fda85000,
    0xbfd445923989a800,
    0xbfd3edf439b0b800,
    0xbfd396ce448f7000,
    0xbfd3401e17bda000,
    0xbfd2e9e2ef468000,
    0xbfd2941b3830e000,
    0xbfd23ec58cda8800,
    0xbfd1e9e129279000,
    0xbfd1956d2b48f800,
    0xbfd141679ab9f800,
    0xbfd0edd094ef9800,
    0xbfd09aa518db1000,
    0xbfd047e65263b800,
    0xbfcfeb224586f000,
    0xbfcf474a7517b000,
    0xbfcea4443d103000,
    0xbfce020d44e9b000,
    0xbfcd60a22977f000,
    0xbfccc00104959000,
    0xbfcc202956891000,
    0xbfcb81178d811000,
    0xbfcae2c9ccd3d000,
    0xbfca45402e129000,
    0xbfc9a877681df000,
    0xbfc90c6d69483000,
    0xbfc87120a645c000,
    0xbfc7d68fb4143000,
    0xbfc73cb83c627000,
    0xbfc6a39a9b376000,
    0xbfc60b3154b7a000,
    0xbfc5737d76243000,
    0xbfc4dc7b8fc23000,
    0xbfc4462c51d20000,
    0xbfc3b08abc830000,
    0xbfc31b996b490000,
    0xbfc2875490a44000,
    0xbfc1f3b9f879a000,
    0xbfc160c8252ca000,
    0xbfc0ce7f57f72000,
    0xbfc03cdc49fea000,
    0xbfbf57bdbc4b8000,
    0xbfbe370896404000,
    0xbfbd17983ef94000,
    0xbfbbf9674ed8a000,
    0xbfbadc79202f6000,
    0xbfb9c0c3e7288000,
    0xbfb8a646b372c000,
    0xbfb78d01b3ac0000,
    0xbfb674f145380000,
    0xbfb55e0e6d878000,
    0xbfb4485cdea1e000,
    0xbfb333d94d6aa000,
    0xbfb22079f8c56000,
    0xbfb10e4698622000,
    0xbfaffa6c6ad20000,
    0xbfadda8d4a774000,
    0xbfabbcece4850000,
    0xbfa9a1894012c000,
    0xbfa788583302c000,
    0xbfa5715e67d68000,
    0xbfa35c8a49658000,
    0xbfa149e364154000,
    0xbf9e72c082eb8000,
    0xbf9a55f152528000,
    0xbf963d62cf818000,
    0xbf9228fb8caa0000,
    0xbf8c317b20f90000,
    0xbf8419355daa0000,
    0xbf781203c2ec0000,
    0xbf60040979240000,
    0x3f6feff384900000,
    0x3f87dc41353d0000,
    0x3f93cea3c4c28000,
    0x3f9b9fc114890000,
    0x3fa1b0d8ce110000,
    0x3fa58a5bd001c000,
    0x3fa95c8340d88000,
    0x3fad276aef578000,
    0x3fb07598e598c000,
    0x3fb253f5e30d2000,
    0x3fb42edd8b380000,
    0x3fb606598757c000,
    0x3fb7da76356a0000,
    0x3fb9ab434e1c6000,
    0x3fbb78c7bb0d6000,
    0x3fbd431332e72000,
    0x3fbf0a3171de6000,
    0x3fc067152b914000,
    0x3fc147858292b000,
    0x3fc2266ecdca3000,
    0x3fc303d7a6c55000,
    0x3fc3dfc33c331000,
    0x3fc4ba366b7a8000,
    0x3fc5933928d1f000,
    0x3fc66acd2418f000,
    0x3fc740f8ec669000,
    0x3fc815c0f51af000,
    0x3fc8e92954f68000,
    0x3fc9bb3602f84000,
    0x3fca8bed1c2c0000,
    0x3fcb5b515c01d000,
    0x3fcc2967ccbcc000,
    0x3fccf635d5486000,
    0x3fcdc1bd3446c000,
    0x3fce8c01b8cfe000,
    0x3fcf5509c0179000,
    0x3fd00e6c121fb800,
    0x3fd071b80e93d000,
    0x3fd0d46b9e867000,
    0x3fd13687334bd000,
    0x3fd1980d67234800,
    0x3fd1f8ffe0cc8000,
    0x3fd2595fd7636800,
    0x3fd2b9300914a800,
    0x3fd3187210436000,
    0x3fd377266dec1800,
    0x3fd3d54ffbaf3000,
    0x3fd432eee32fe000,
];

/// Whether `x` takes glibc's main path: not within its near-1 window
/// (`bits − 0x3fee…` ≤ 0x3_08ff_ffff_ffff) and a positive normal finite value.
#[inline(always)]
fn ln_main_path(x: f64) -> bool {
    let ix = x.to_bits();
    let near_one = ix.wrapping_sub(0x3fee000000000000) <= 0x0003_08ff_ffff_ffff;
    let top = (ix >> 48) as u32;
    !near_one && top.wrapping_sub(0x0010) <= 0x7fdf
}

/// glibc's `log` main path, operation for operation (as in `__ieee754_log_fma`).
/// Meaningful where [`ln_main_path`] holds; elsewhere some value, without fault.
#[inline(always)]
pub fn ln_core(x: f64) -> f64 {
    // x = 2^k z, z in [0.6875, 1.375); log x = k ln2 + log c + log1p(z/c − 1).
    let ix = x.to_bits();
    let tmp = ix.wrapping_sub(OFF);
    let i = ((tmp >> 45) & 127) as usize;
    let k = (tmp as i64) >> 52;
    let iz = ix.wrapping_sub(tmp & (0xfff << 52));
    let (invc, logc) = (f64::from_bits(INVC[i]), f64::from_bits(LOGC[i]));
    let z = f64::from_bits(iz);
    let r = z.mul_add(invc, -1.0);
    let kd = k as i32 as f64;
    let w = kd.mul_add(LN2_HI, logc);
    let hi = r + w;
    let lo = kd.mul_add(LN2_LO, (w - hi) + r);
    let r2 = r * r;
    let r3 = r * r2;
    let p12 = r.mul_add(A2, A1);
    let p34 = r.mul_add(A4, A3);
    let q = p34.mul_add(r2, p12);
    let t = r2.mul_add(A0, lo);
    r3.mul_add(q, t) + hi
}

/// `out[i] = src[i].ln()`, bit for bit, for equal-length slices (as [`exp_map`]).
///
/// # Panics
/// When the lengths differ (a caller's bug).
pub fn ln_map(src: &[f64], out: &mut [f64]) {
    assert_eq!(
        src.len(),
        out.len(),
        "ln_map: source and output lengths differ"
    );
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.vectorize(Map::<_, Ln> {
            src: Some(src),
            out,
            pre: |x| x,
            kind: PhantomData,
        });
        return;
    }
    for (o, &x) in out.iter_mut().zip(src) {
        *o = x.ln();
    }
}

#[cfg(target_arch = "x86_64")]
struct Ln;

#[cfg(target_arch = "x86_64")]
impl Written for Ln {
    #[inline(always)]
    fn core(x: f64) -> f64 {
        ln_core(x)
    }
    #[inline(always)]
    fn main_path(x: f64) -> bool {
        ln_main_path(x)
    }
    #[inline(always)]
    fn libm(x: f64) -> f64 {
        x.ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `exp_poly` against libm's `exp` (itself within 1 ulp): at most 2 ulp apart over 4
    /// million arguments spread over the whole range and densely over −60 … 0 (Sinkhorn's
    /// kernels); the four-lane version's bits equal; the edges and special values exact.
    #[test]
    fn exp_poly_is_within_two_ulp_of_libm() {
        let mut state = 7u64;
        let mut xs: Vec<f64> = (0..4_000_000)
            .map(|i| {
                let u = (lcg(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
                if i % 2 == 0 {
                    -745.0 + u * (709.7 + 745.0)
                } else {
                    -60.0 * u
                }
            })
            .collect();
        xs.extend([
            0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 709.78, -708.3, -745.0,
        ]);
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            for q in xs.chunks_exact(4) {
                let x4: pulp::f64x4 = pulp::cast([q[0], q[1], q[2], q[3]]);
                let y: [f64; 4] = pulp::cast(exp_poly_x4(simd, x4));
                for (&x, &y) in q.iter().zip(&y) {
                    assert_eq!(
                        y.to_bits(),
                        exp_poly(x).to_bits(),
                        "four lanes' bits at {x}"
                    );
                }
            }
        }
        let mut worst = 0;
        for &x in &xs {
            worst = worst.max(ulps(exp_poly(x), x.exp()));
        }
        assert!(worst <= 2, "{worst} ulp");
        assert_eq!(exp_poly(0.0), 1.0);
        assert_eq!(exp_poly(-800.0), 0.0);
        assert_eq!(exp_poly(710.0), f64::INFINITY);
        assert_eq!(exp_poly(f64::NEG_INFINITY), 0.0);
        assert!(exp_poly(f64::NAN).is_nan());
    }

    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state
    }

    /// Uniform on [0, 1) from the top 53 bits.
    fn unit(state: &mut u64) -> f64 {
        (lcg(state) >> 11) as f64 / (1u64 << 53) as f64
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
            args.push(-unit(&mut st) * 120.0);
        }
        for e in -60..=10 {
            for _ in 0..20_000 {
                let m = 1.0 + unit(&mut st);
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
        // On the main path the written-out core agrees on its own (not only by fallback).
        let x = -3.7;
        assert_eq!(exp_core(x).to_bits(), x.exp().to_bits());
    }

    /// The same bits as `f64::ln` (glibc's), as for `exp`.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    fn ln_bits_equal_libm_log() {
        let mut st = 9u64;
        let mut args = Vec::new();
        // Coupling entries (1e-12 … 1e-2), every binade from 2⁻¹⁰⁷⁰ (subnormal) to 2¹⁰²³,
        // around 1 (glibc's other path), random bit patterns (negative ones, NaNs).
        for _ in 0..1_000_000 {
            args.push(10f64.powf(-12.0 + 10.0 * unit(&mut st)));
        }
        for e in -1070..=1023 {
            for _ in 0..500 {
                let m = 1.0 + unit(&mut st);
                args.push(m * 2f64.powi(e));
            }
        }
        for _ in 0..200_000 {
            args.push(0.9 + 0.2 * unit(&mut st));
        }
        for _ in 0..300_000 {
            args.push(f64::from_bits(lcg(&mut st)));
        }
        args.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ]);
        let mut out = vec![0.0; args.len()];
        ln_map(&args, &mut out);
        let main = args.iter().filter(|&&x| ln_main_path(x)).count();
        assert!(main > 1_500_000, "{main} arguments on the main path");
        for (&x, &y) in args.iter().zip(&out) {
            let want = x.ln();
            assert!(
                y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
                "ln({x:e}) = {y:e}, libm {want:e}"
            );
        }
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
