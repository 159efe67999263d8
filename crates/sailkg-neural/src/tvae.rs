//! A conditional TVAE (Xu et al. 2019's tabular VAE with CTGAN's conditional vector): an MLP
//! encoder to a Gaussian latent and an MLP decoder back to the encoded row, both given the
//! conditional vector (the one-hot of one label column's category). Training draws rows by
//! CTGAN's training-by-sampling — a label column at random, one of its categories by
//! log-frequency, a row of that category — so rare categories are seen, and sampling a rare
//! class sets its conditional vector: direct, never rejection.
//!
//! Loss: 2 × reconstruction (Gaussian for the α values with a learned σ, cross-entropy for
//! every one-hot block, label blocks optionally logit-adjusted: τ·log prior added to the logits,
//! Menon et al. 2021) + the KL divergence to N(0, I).

use crate::Shape;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData, activation};

#[derive(Module, Debug)]
pub struct Tvae<B: Backend> {
    pub(crate) enc1: Linear<B>,
    enc2: Linear<B>,
    pub(crate) mu: Linear<B>,
    logvar: Linear<B>,
    pub(crate) dec1: Linear<B>,
    dec2: Linear<B>,
    out: Linear<B>,
    /// Output noise of every position (used at the α positions), clamped to [0.01, 1].
    sigma: Param<Tensor<B, 1>>,
    /// LoRA adapters beside the decoder's layers, while fine-tuning (merged afterwards).
    adapters: Option<Adapters<B>>,
}

/// Low-rank adapters (Hu et al. 2021) beside the three decoder layers: W + A·B with A (in × r)
/// random and B (r × out) zero, so fine-tuning starts from the pretrained network exactly.
#[derive(Module, Debug)]
pub struct Adapters<B: Backend> {
    dec1: (Linear<B>, Linear<B>),
    dec2: (Linear<B>, Linear<B>),
    out: (Linear<B>, Linear<B>),
}

fn adapter<B: Backend>(base: &Linear<B>, rank: usize, device: &B::Device) -> (Linear<B>, Linear<B>) {
    let [input, output] = base.weight.dims();
    (
        LinearConfig::new(input, rank).with_bias(false).init(device),
        LinearConfig::new(rank, output)
            .with_bias(false)
            .with_initializer(burn::nn::Initializer::Zeros)
            .init(device),
    )
}

fn lora<B: Backend>(
    base: &Linear<B>,
    adapter: Option<&(Linear<B>, Linear<B>)>,
    x: Tensor<B, 2>,
) -> Tensor<B, 2> {
    match adapter {
        Some((down, up)) => base.forward(x.clone()) + up.forward(down.forward(x)),
        None => base.forward(x),
    }
}

fn merged<B: Backend>(base: Linear<B>, (down, up): (Linear<B>, Linear<B>)) -> Linear<B> {
    let delta = down.weight.val().matmul(up.weight.val());
    Linear { weight: Param::from_tensor(base.weight.val() + delta), bias: base.bias }
}

impl<B: Backend> Tvae<B> {
    pub fn new(config: &Shape, device: &B::Device) -> Self {
        let (w, c, h, z) = (config.width, config.cond_width, config.hidden, config.latent);
        Self {
            enc1: LinearConfig::new(w + c, h).init(device),
            enc2: LinearConfig::new(h, h).init(device),
            mu: LinearConfig::new(h, z).init(device),
            logvar: LinearConfig::new(h, z).init(device),
            dec1: LinearConfig::new(z + c, h).init(device),
            dec2: LinearConfig::new(h, h).init(device),
            out: LinearConfig::new(h, w).init(device),
            sigma: Param::from_tensor(Tensor::ones([w], device).mul_scalar(0.1)),
            adapters: None,
        }
    }

    /// The network frozen, with fresh rank-`rank` adapters beside its decoder: only they train.
    pub fn with_adapters(self, rank: usize, device: &B::Device) -> Self {
        let frozen = self.no_grad();
        let adapters = Adapters {
            dec1: adapter(&frozen.dec1, rank, device),
            dec2: adapter(&frozen.dec2, rank, device),
            out: adapter(&frozen.out, rank, device),
        };
        Self { adapters: Some(adapters), ..frozen }
    }

    /// The adapters folded into the decoder's weights: a plain network again.
    pub fn merge(self) -> Self {
        match self.adapters {
            None => self,
            Some(a) => Self {
                dec1: merged(self.dec1, a.dec1),
                dec2: merged(self.dec2, a.dec2),
                out: merged(self.out, a.out),
                adapters: None,
                ..self
            },
        }
    }

    /// Parameters of the adapters (0 without).
    pub fn adapter_params(&self) -> usize {
        self.adapters.as_ref().map_or(0, |a| a.num_params())
    }

    /// The latent mean and log-variance of rows given their conditional vectors.
    pub fn encode(&self, x: Tensor<B, 2>, cond: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let h = activation::relu(self.enc1.forward(Tensor::cat(vec![x, cond], 1)));
        let h = activation::relu(self.enc2.forward(h));
        (self.mu.forward(h.clone()), self.logvar.forward(h))
    }

    /// The raw decoder output (before the activations) for latents and conditional vectors.
    pub fn decode(&self, z: Tensor<B, 2>, cond: Tensor<B, 2>) -> Tensor<B, 2> {
        let a = self.adapters.as_ref();
        let h = activation::relu(lora(&self.dec1, a.map(|a| &a.dec1), Tensor::cat(vec![z, cond], 1)));
        let h = activation::relu(lora(&self.dec2, a.map(|a| &a.dec2), h));
        lora(&self.out, a.map(|a| &a.out), h)
    }

    /// σ clamped to [0.01, 1].
    pub fn noise(&self) -> Tensor<B, 1> {
        self.sigma.val().clamp(0.01, 1.0)
    }

    /// The training loss of a batch: 2 × reconstruction + KL, per row; `eps` are the standard
    /// normal draws of the reparameterisation (drawn by the caller, from its seed).
    pub fn loss(
        &self,
        x: Tensor<B, 2>,
        cond: Tensor<B, 2>,
        eps: Tensor<B, 2>,
        layout: &crate::Layout<B>,
    ) -> Tensor<B, 1> {
        let [batch, _] = x.dims();
        let (mu, logvar) = self.encode(x.clone(), cond.clone());
        let z = mu.clone() + eps * logvar.clone().mul_scalar(0.5).exp();
        let out = self.decode(z, cond);
        let sigma = self.noise().unsqueeze::<2>();
        // α positions: Gaussian with σ.
        let tanh_out = activation::tanh(out.clone());
        let squared =
            (x.clone() - tanh_out).powf_scalar(2.0) / sigma.clone().powf_scalar(2.0).mul_scalar(2.0);
        let gaussian = (squared + sigma.log()) * layout.tanh_mask.clone().unsqueeze::<2>();
        let mut reconstruction = gaussian.sum();
        // One-hot blocks: cross-entropy (label blocks logit-adjusted).
        for (span, adjust) in layout.softmax.iter() {
            let logits = out.clone().narrow(1, span.0, span.1);
            let logits = match adjust {
                Some(prior) => logits + prior.clone().unsqueeze::<2>(),
                None => logits,
            };
            let target = x.clone().narrow(1, span.0, span.1);
            reconstruction = reconstruction - (target * activation::log_softmax(logits, 1)).sum();
        }
        let kl = (logvar.clone().exp() + mu.powf_scalar(2.0) - logvar - 1.0).sum().mul_scalar(0.5);
        (reconstruction.mul_scalar(2.0) + kl).div_scalar(batch as f64)
    }
}

/// The TVAE's loss: its layout (α positions and one-hot blocks).
pub(crate) struct Objective<B: Backend> {
    pub(crate) layout: crate::Layout<B>,
}

/// A new TVAE with its Adam.
pub(crate) fn trainer<B: AutodiffBackend>(
    shape: &Shape,
    layout: crate::Layout<B>,
    options: &crate::Options,
    device: &B::Device,
) -> crate::Optimized<B, Tvae<B>, Objective<B>> {
    crate::Optimized {
        model: crate::new_network(shape, device, Some(options.seed)),
        optimizer: AdamConfig::new().with_weight_decay(Some(WeightDecayConfig::new(1e-5))).init(),
        objective: Objective { layout },
        device: device.clone(),
    }
}

impl<B: AutodiffBackend> crate::Objective<B, Tvae<B>> for Objective<B> {
    fn loss(
        &self,
        model: &Tvae<B>,
        x: Vec<f32>,
        c: Vec<f32>,
        rng: &mut crate::Rng,
        device: &B::Device,
    ) -> Tensor<B, 1> {
        let width = self.layout.tanh_mask.dims()[0];
        let cond_width = model.enc1.weight.dims()[0] - width;
        let latent = model.mu.weight.dims()[1];
        let batch = x.len() / width;
        let x = Tensor::<B, 2>::from_data(TensorData::new(x, [batch, width]), device);
        let c = Tensor::<B, 2>::from_data(TensorData::new(c, [batch, cond_width]), device);
        // The reparameterisation noise, from the seeded stream.
        let eps: Vec<f32> = (0..batch * latent).map(|_| crate::transform::normal(rng)).collect();
        let eps = Tensor::<B, 2>::from_data(TensorData::new(eps, [batch, latent]), device);
        model.loss(x, c, eps, &self.layout)
    }
}
