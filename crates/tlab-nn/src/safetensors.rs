//! Save and load an [`Mlp`]'s weights in the safetensors format (an 8-byte little-endian
//! header length, a JSON header naming each tensor's dtype, shape and byte range, then the
//! raw little-endian data), written here directly since dfdx's own save/load needs
//! compile-time shapes (DESIGN.md). Names follow PyTorch's `nn.Sequential` of `nn.Linear`:
//! `layers.{i}.weight` of shape (out, in) — PyTorch's layout, so the file loads with
//! `safetensors.torch.load_file` into such a model — and `layers.{i}.bias`; a layer with a
//! layer norm adds `layers.{i}.norm.weight` (γ) and `layers.{i}.norm.bias` (β). Our weights are
//! stored (in, out) in memory and transposed on the way in and out.
//!
//! Writes go to a temporary file that is renamed into place: nothing half-written is left.
//! A file for another architecture (layer count or any shape) is an error naming the tensor.

use std::collections::BTreeMap;
use std::path::Path;

use dfdx::prelude::*;
use serde_json::{json, Value};
use tlab_core::CoreError;

use crate::{Mlp, Result};

fn io_err(path: &Path, detail: impl std::fmt::Display) -> CoreError {
    CoreError::invalid_param(
        "weights file",
        path.display().to_string(),
        detail.to_string(),
    )
}

/// Writes every layer's weight and bias to `path` (f32), atomically.
pub fn save(model: &Mlp, path: &Path) -> Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    for (i, l) in model.layers.iter().enumerate() {
        let (inp, out) = *l.w.shape();
        let w = l.w.as_vec();
        // (in, out) row-major → (out, in) row-major.
        let mut t = vec![0.0f32; inp * out];
        for r in 0..inp {
            for c in 0..out {
                t[c * inp + r] = w[r * out + c];
            }
        }
        tensors.push((format!("layers.{i}.weight"), vec![out, inp], t));
        tensors.push((format!("layers.{i}.bias"), vec![out], l.b.as_vec()));
        if let Some(n) = &l.norm {
            tensors.push((
                format!("layers.{i}.norm.weight"),
                vec![out],
                n.gamma.as_vec(),
            ));
            tensors.push((format!("layers.{i}.norm.bias"), vec![out], n.beta.as_vec()));
        }
    }
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, shape, data) in &tensors {
        let end = offset + 4 * data.len();
        header.insert(
            name.clone(),
            json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut text = Value::Object(header).to_string().into_bytes();
    // Pad the header with spaces to a multiple of 8 bytes (as the reference writer does).
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + text.len() + offset);
    bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&text);
    for (_, _, data) in &tensors {
        for v in data {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let tmp = path.with_extension("safetensors.partial");
    std::fs::write(&tmp, &bytes).map_err(|e| io_err(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, e)
    })
}

/// Loads weights from `path` into `model`, whose architecture must match the file's
/// (same layer count and shapes); `model` is left unchanged on any error.
pub fn load_into(model: &mut Mlp, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let tensors = parse(&bytes).map_err(|e| io_err(path, e))?;
    let dev = Cpu::default();
    let mut layers = model.layers.clone();
    let expected = model.n_param_tensors();
    if tensors.len() != expected {
        return Err(io_err(
            path,
            format!(
                "holds {} tensors, the network has {} layers ({expected} tensors)",
                tensors.len(),
                layers.len()
            ),
        ));
    }
    for (i, l) in layers.iter_mut().enumerate() {
        let (inp, out) = *l.w.shape();
        let get = |name: String, shape: Vec<usize>| -> Result<Vec<f32>> {
            let (s, d) = tensors
                .get(&name)
                .ok_or_else(|| io_err(path, format!("has no tensor `{name}`")))?;
            if *s != shape {
                return Err(io_err(
                    path,
                    format!("`{name}` has shape {s:?}, the network needs {shape:?}"),
                ));
            }
            Ok(d.clone())
        };
        let w = get(format!("layers.{i}.weight"), vec![out, inp])?;
        let b = get(format!("layers.{i}.bias"), vec![out])?;
        let mut t = vec![0.0f32; inp * out];
        for r in 0..inp {
            for c in 0..out {
                t[r * out + c] = w[c * inp + r];
            }
        }
        l.w = dev.tensor_from_vec(t, (inp, out));
        l.b = dev.tensor_from_vec(b, (out,));
        if let Some(n) = &mut l.norm {
            n.gamma =
                dev.tensor_from_vec(get(format!("layers.{i}.norm.weight"), vec![out])?, (out,));
            n.beta = dev.tensor_from_vec(get(format!("layers.{i}.norm.bias"), vec![out])?, (out,));
        }
    }
    model.layers = layers;
    Ok(())
}

/// Name → (shape, values) of every F32 tensor in a safetensors byte string.
type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

fn parse(bytes: &[u8]) -> std::result::Result<Tensors, String> {
    if bytes.len() < 8 {
        return Err("is shorter than the 8-byte header length".into());
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let body = bytes.get(8..8usize.saturating_add(n)).ok_or_else(|| {
        format!(
            "declares a {n}-byte header but holds {} bytes",
            bytes.len() - 8
        )
    })?;
    let data = &bytes[8 + n..];
    let header: BTreeMap<String, Value> =
        serde_json::from_slice(body).map_err(|e| format!("has a corrupt header: {e}"))?;
    let mut out = BTreeMap::new();
    for (name, v) in header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = v["dtype"].as_str().unwrap_or("?");
        if dtype != "F32" {
            return Err(format!("`{name}` is {dtype}; only F32 is read"));
        }
        let shape: Vec<usize> = serde_json::from_value(v["shape"].clone())
            .map_err(|e| format!("`{name}` has a bad shape: {e}"))?;
        let offs: [usize; 2] = serde_json::from_value(v["data_offsets"].clone())
            .map_err(|e| format!("`{name}` has bad data_offsets: {e}"))?;
        let count: usize = shape.iter().product();
        if offs[1] < offs[0] || offs[1] - offs[0] != 4 * count || offs[1] > data.len() {
            return Err(format!(
                "`{name}`: byte range {offs:?} does not fit its shape {shape:?} or the file"
            ));
        }
        let values = data[offs[0]..offs[1]]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        out.insert(name, (shape, values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{flat_params, Activation};

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("tlab-nn-st-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trips_and_refuses_another_architecture_or_a_corrupt_file() {
        let acts = [Activation::Relu, Activation::Identity];
        let m = Mlp::new(&[4, 3, 2], &acts, 7).unwrap();
        let p = dir().join("m.safetensors");
        save(&m, &p).unwrap();
        let mut back = Mlp::new(&[4, 3, 2], &acts, 8).unwrap();
        load_into(&mut back, &p).unwrap();
        assert_eq!(flat_params(&back), flat_params(&m));
        // Another shape: the tensor is named, the model untouched.
        let mut other = Mlp::new(&[5, 3, 2], &acts, 8).unwrap();
        let before = flat_params(&other);
        let e = load_into(&mut other, &p).unwrap_err().to_string();
        assert!(e.contains("layers.0.weight") && e.contains("[3, 5]"), "{e}");
        assert_eq!(flat_params(&other), before);
        let mut deeper = Mlp::new(
            &[4, 3, 2, 2],
            &[Activation::Relu, Activation::Relu, Activation::Identity],
            0,
        )
        .unwrap();
        assert!(load_into(&mut deeper, &p)
            .unwrap_err()
            .to_string()
            .contains("4 tensors"));
        // Truncated and missing files.
        let bytes = std::fs::read(&p).unwrap();
        let cut = dir().join("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
        assert!(load_into(&mut back, &cut).is_err());
        std::fs::write(&cut, &bytes[..5]).unwrap();
        assert!(load_into(&mut back, &cut)
            .unwrap_err()
            .to_string()
            .contains("8-byte"));
        assert!(load_into(&mut back, &dir().join("none.safetensors")).is_err());
        // The header is what PyTorch's layout says: weight (out, in).
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let h: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(h["layers.0.weight"]["shape"], json!([3, 4]));
        assert_eq!(h["layers.1.bias"]["dtype"], "F32");
    }
}
