//! Autoencoders trained by gradient descent (tlab-nn on dfdx), on unlabelled rows.
//!
//! One hidden layer: `h = sigmoid(z W₁ + b₁)`, `ẑ = h W₂ + b₂`, where `z` are the rows
//! z-scored with the training mean and standard deviation. Loss: mean squared
//! reconstruction error of the clean `z`, plus `sparsity_weight · Σⱼ KL(ρ ‖ ρ̂ⱼ)` with ρ̂ⱼ
//! the batch mean of unit j (sparse autoencoder) when `sparsity` = ρ > 0. With `noise` > 0
//! each input entry is set to 0 with that probability before encoding (denoising
//! autoencoder, Vincent et al., ICML 2008: masking noise, clean target). Adam, mini-batches,
//! masks and initial weights all come from one seeded ChaCha8 stream: the same seed gives
//! the same weights.

use dfdx::prelude::*;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tlab_core::CoreError;
use tlab_nn::{batches, Activation, Adam, Mlp};

use crate::representation::RepresentationSpec;
use crate::Result;

/// A trained autoencoder with the standardisation it was trained under.
#[derive(Debug, Clone)]
pub struct Trained {
    mean: Array1<f64>,
    scale: Array1<f64>,
    encoder: Mlp,
    decoder: Mlp,
    /// Mean training loss of each epoch (reconstruction + sparsity penalty).
    pub losses: Vec<f32>,
}

fn f32s(x: ArrayView2<'_, f64>) -> Array2<f32> {
    x.mapv(|v| v as f32)
}

/// Trains the autoencoder `spec` (which must be `RepresentationSpec::Autoencoder`) on `x`.
pub fn train(spec: &RepresentationSpec, x: ArrayView2<'_, f64>, seed: u64) -> Result<Trained> {
    let RepresentationSpec::Autoencoder {
        hidden,
        epochs,
        batch,
        lr,
        noise,
        sparsity,
        sparsity_weight,
        weight_decay,
    } = *spec
    else {
        return Err(CoreError::invalid_param(
            "representation",
            "not an autoencoder",
            "autoencoder",
        )
        .into());
    };
    let d = x.ncols();
    let mean = x.mean_axis(Axis(0)).expect("checked non-empty");
    let scale = x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 1e-12 { s } else { 1.0 });
    let z = f32s(((&x - &mean) / &scale).view());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut encoder = Mlp::new(&[d, hidden], &[Activation::Sigmoid], rng.gen())?;
    let mut decoder = Mlp::new(&[hidden, d], &[Activation::Identity], rng.gen())?;
    let mut opt = Adam::new(lr as f32, weight_decay as f32)?;
    let (rho, beta) = (sparsity as f32, sparsity_weight as f32);
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        let (mut total, mut count) = (0.0f32, 0usize);
        for rows in batches(z.nrows(), batch, &mut rng) {
            let clean = tlab_nn::gather_rows(z.view(), &rows);
            let mut input = clean.clone();
            if noise > 0.0 {
                input.mapv_inplace(|v| if rng.gen::<f64>() < noise { 0.0 } else { v });
            }
            let h = encoder.forward_batch(input.view());
            let loss = if rho > 0.0 {
                // ρ̂ (batch mean per unit), used twice: a second handle on the same tape
                // node (dfdx merges tapes and orders their operations by creation time).
                let rho_hat = h
                    .retaped::<OwnedTape<f32, Cpu>>()
                    .mean::<(usize,), dfdx::shapes::Axis<0>>()
                    .clamp(1e-6, 1.0 - 1e-6);
                let other = rho_hat.retaped::<OwnedTape<f32, Cpu>>();
                // KL(ρ‖ρ̂) = ρ ln ρ − ρ ln ρ̂ + (1−ρ) ln(1−ρ) − (1−ρ) ln(1−ρ̂); constants dropped.
                let kl = rho_hat.ln() * (-rho) + (other.negate() + 1.0).ln() * (rho - 1.0);
                let rec = decoder.forward_taped(h);
                mse_loss(rec, decoder.tensor(clean.view())) + kl.sum::<(), _>() * beta
            } else {
                let rec = decoder.forward_taped(h);
                mse_loss(rec, decoder.tensor(clean.view()))
            };
            let value = loss.array();
            if !value.is_finite() {
                return Err(CoreError::Linalg(format!(
                    "autoencoder training diverged (loss {value}); lower `lr`"
                ))
                .into());
            }
            total += value * rows.len() as f32;
            count += rows.len();
            let grads = loss.backward();
            opt.step(&mut [&mut encoder, &mut decoder], &grads);
        }
        losses.push(total / count as f32);
    }
    Ok(Trained {
        mean,
        scale,
        encoder,
        decoder,
        losses,
    })
}

impl Trained {
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    pub fn hidden(&self) -> usize {
        self.encoder.n_outputs()
    }

    fn standardised(&self, x: ArrayView2<'_, f64>) -> Array2<f32> {
        f32s(((&x - &self.mean) / &self.scale).view())
    }

    /// The hidden activations of each row.
    pub fn encode(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        Ok(self
            .encoder
            .forward(self.standardised(x).view())?
            .mapv(f64::from))
    }

    /// Squared reconstruction error of each row's z-scores.
    pub fn reconstruction_error(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        let z = self.standardised(x);
        let rec = self
            .decoder
            .forward(self.encoder.forward(z.view())?.view())?;
        Ok((&z - &rec).map_axis(Axis(1), |r| r.iter().map(|v| f64::from(v * v)).sum()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 400 rows on a 2-D plane in 8-D plus a little noise.
    fn plane() -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut x = Array2::zeros((400, 8));
        for mut r in x.rows_mut() {
            let (a, b): (f64, f64) = (rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0));
            for j in 0..8 {
                r[j] = a * (j as f64 + 1.0) / 8.0 - b * ((j % 3) as f64) + 0.01 * rng.gen::<f64>();
            }
        }
        x
    }

    fn ae(noise: f64, sparsity: f64) -> RepresentationSpec {
        RepresentationSpec::Autoencoder {
            hidden: 4,
            epochs: 60,
            batch: 32,
            lr: 1e-2,
            noise,
            sparsity,
            sparsity_weight: 0.1,
            weight_decay: 0.0,
        }
    }

    #[test]
    fn training_lowers_the_loss_learns_the_plane_and_is_seeded() {
        let x = plane();
        for spec in [ae(0.0, 0.0), ae(0.2, 0.0), ae(0.0, 0.1)] {
            let t = train(&spec, x.view(), 1).unwrap();
            let (first, last) = (t.losses[0], *t.losses.last().unwrap());
            assert!(
                last < 0.5 * first,
                "{}: {first} → {last}",
                spec.short_name()
            );
            // Off-plane rows reconstruct far worse than on-plane ones.
            let err = t.reconstruction_error(x.view()).unwrap();
            let mut off = x.slice(ndarray::s![..20, ..]).to_owned();
            off.column_mut(7).mapv_inplace(|v| v + 3.0);
            let off_err = t.reconstruction_error(off.view()).unwrap();
            assert!(
                off_err.mean().unwrap() > 5.0 * err.mean().unwrap(),
                "{}",
                spec.short_name()
            );
            let again = train(&spec, x.view(), 1).unwrap();
            assert_eq!(again.losses, t.losses);
            assert_ne!(train(&spec, x.view(), 2).unwrap().losses, t.losses);
        }
    }

    #[test]
    fn the_sparsity_penalty_lowers_mean_activations() {
        let x = plane();
        let dense = train(&ae(0.0, 0.0), x.view(), 3).unwrap();
        let mut sparse_spec = ae(0.0, 0.05);
        if let RepresentationSpec::Autoencoder {
            sparsity_weight, ..
        } = &mut sparse_spec
        {
            *sparsity_weight = 1.0;
        }
        let sparse = train(&sparse_spec, x.view(), 3).unwrap();
        let mean_act = |t: &Trained| t.encode(x.view()).unwrap().mean().unwrap();
        assert!(
            mean_act(&sparse) < 0.5 * mean_act(&dense),
            "{} vs {}",
            mean_act(&sparse),
            mean_act(&dense)
        );
    }
}
