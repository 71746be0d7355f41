//! Weights written by the reference `safetensors` package (PyTorch's layout) load into our
//! network and give numpy's output; `make_fixture.py` beside this file wrote the fixture
//! and printed the expected values.

use ndarray::array;
use tlab_nn::{Activation, Mlp};

#[test]
fn a_file_written_by_the_reference_package_loads_and_computes_numpys_output() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mlp-4-3-2.safetensors");
    let mut m = Mlp::new(&[4, 3, 2], &[Activation::Relu, Activation::Identity], 0).unwrap();
    tlab_nn::safetensors::load_into(&mut m, &path).unwrap();
    let y = m.forward(array![[1.0f32, -2.0, 0.5, 3.0]].view()).unwrap();
    for (g, w) in y.iter().zip([0.304_761_86f32, 2.404_761_8]) {
        assert!((g - w).abs() < 1e-6, "{y:?}");
    }
    // Saved again by us, the bytes load back to the same weights.
    let again = std::env::temp_dir().join(format!(
        "tlab-nn-interop-{}.safetensors",
        std::process::id()
    ));
    tlab_nn::safetensors::save(&m, &again).unwrap();
    let mut back = Mlp::new(&[4, 3, 2], &[Activation::Relu, Activation::Identity], 1).unwrap();
    tlab_nn::safetensors::load_into(&mut back, &again).unwrap();
    assert_eq!(tlab_nn::flat_params(&back), tlab_nn::flat_params(&m));
}
