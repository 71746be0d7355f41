//! The readers on damaged input: every fixture of tests/fixtures/own mutated thousands of
//! times (seeded bit flips, overwritten words, truncations, cut-and-spliced ranges) gives an
//! `Ok` or an error, never a panic. A cheap, always-on stand-in for a fuzzer over the MAT
//! v5 / v7.3, NPY, NPZ and CSV readers.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tlab_core::io::{parse_npy, read_npz_bytes, MatFile};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/own")
}

fn mutate(bytes: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.gen_range(0..5) {
        0 => {
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..b.len());
                b[i] ^= 1 << rng.gen_range(0..8);
            }
        }
        1 => {
            // A size or dimension field overwritten with an extreme value.
            let i = rng.gen_range(0..b.len().saturating_sub(4).max(1));
            let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, rng.gen()][rng.gen_range(0..5)];
            for (k, x) in v.to_le_bytes().iter().enumerate() {
                if i + k < b.len() {
                    b[i + k] = *x;
                }
            }
        }
        2 => b.truncate(rng.gen_range(0..b.len())),
        3 => {
            let (i, j) = (rng.gen_range(0..b.len()), rng.gen_range(0..b.len()));
            let (lo, hi) = (i.min(j), i.max(j));
            b.drain(lo..hi);
        }
        _ => {
            let i = rng.gen_range(0..b.len());
            let extra: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.gen()).collect();
            b.splice(i..i, extra);
        }
    }
    b
}

fn no_panic(file: &str, rounds: usize, parse: &dyn Fn(&Path, &[u8])) {
    let bytes = std::fs::read(dir().join(file)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(27);
    let path = dir().join(file);
    for round in 0..rounds {
        let m = mutate(&bytes, &mut rng);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&path, &m)));
        assert!(r.is_ok(), "{file}: mutation {round} panicked");
    }
}

#[test]
fn mat_v5_and_v73_readers_never_panic_on_damaged_files() {
    let mat = |p: &Path, b: &[u8]| {
        if let Ok(f) = MatFile::parse(p, b) {
            for v in &f.variables {
                let _ = f.matrix(&v.name);
            }
        }
    };
    for file in [
        "cols_plain.mat",
        "sparse.mat",
        "allsparse.mat",
        "both.mat",
        "classes.mat",
        "mixed.mat",
        "square.mat",
    ] {
        no_panic(file, 1000, &mat);
    }
    no_panic("v73.mat", 300, &mat);
}

#[test]
fn npy_npz_and_csv_readers_never_panic_on_damaged_files() {
    for file in ["src_x.npy", "src_y.npy"] {
        no_panic(file, 3000, &|p, b| {
            let _ = parse_npy(p, "", b);
        });
    }
    for file in ["tgt.npz", "tgt_stored.npz"] {
        no_panic(file, 3000, &|p, b| {
            let _ = read_npz_bytes(p, b);
        });
    }
    let tmp = tempfile::tempdir().unwrap();
    for file in ["src.csv", "tgt_text.csv"] {
        no_panic(file, 500, &|_, b| {
            let p = tmp.path().join("m.csv");
            std::fs::write(&p, b).unwrap();
            let _ = tlab_core::io::read_csv(&p, b',', &Default::default(), "label");
            let _ = tlab_core::io::read_csv(&p, b';', &Default::default(), "kind");
        });
    }
}
