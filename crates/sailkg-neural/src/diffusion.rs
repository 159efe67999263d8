//! Tabular diffusion in the TabDDPM manner (Kotelnikov et al. 2023): Gaussian diffusion on the
//! α values of the encoded row (ε-prediction, Ho et al. 2020) and multinomial diffusion on every
//! one-hot block — modes and labels — (Hoogeboom et al. 2021: q(xₜ|x₀) = Cat(ᾱₜ·x₀ + (1 − ᾱₜ)/K),
//! the network predicting x₀ and trained on the KL between the true and the predicted posterior
//! q(xₜ₋₁|xₜ, x₀)), a cosine schedule, one MLP denoiser given the step and the conditional vector.
//!
//! Conditioning is classifier-free guidance (Ho & Salimans 2022): the conditional vector is
//! dropped from a tenth of the training rows, and sampling mixes (1 + w)·f(x, c) − w·f(x, ∅).
//! A region's labels are imposed directly: the predicted x₀ of a label block is masked to the
//! allowed categories at every step, so the reverse process only ever reaches them.

use crate::transform::{Span, Transform};
use crate::{Layout, Shape};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData, activation};
use rand::RngExt;
use sailkg_gen::GenError;

/// Share of training rows whose conditional vector is dropped.
const DROP_CONDITION: f64 = 0.1;

/// The denoiser: the noisy row, its conditional vector and the step's features to ε at the α
/// positions and x₀'s logits over every one-hot block.
#[derive(Module, Debug)]
pub struct Denoiser<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    l3: Linear<B>,
    out: Linear<B>,
}

impl<B: Backend> Denoiser<B> {
    pub fn new(shape: &Shape, device: &B::Device) -> Self {
        let input = shape.width + shape.cond_width + shape.latent;
        Self {
            l1: LinearConfig::new(input, shape.hidden).init(device),
            l2: LinearConfig::new(shape.hidden, shape.hidden).init(device),
            l3: LinearConfig::new(shape.hidden, shape.hidden).init(device),
            out: LinearConfig::new(shape.hidden, shape.width).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 2>, cond: Tensor<B, 2>, time: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = activation::silu(self.l1.forward(Tensor::cat(vec![x, cond, time], 1)));
        let h = activation::silu(self.l2.forward(h));
        let h = activation::silu(self.l3.forward(h));
        self.out.forward(h)
    }
}

/// A denoiser initialised from `seed` (None: to be replaced by trained weights).
pub fn denoiser<B: Backend>(shape: &Shape, device: &B::Device, seed: Option<u64>) -> Denoiser<B> {
    crate::seeded::<B, _>(device, seed, || {
        let network = Denoiser::new(shape, device);
        let _ = network.forward(
            Tensor::zeros([1, shape.width], device),
            Tensor::zeros([1, shape.cond_width], device),
            Tensor::zeros([1, shape.latent], device),
        );
        network
    })
}

/// The cosine schedule (Nichol & Dhariwal 2021): ᾱ for steps 0..=T (ᾱ₀ = 1) and αₜ.
pub fn schedule(steps: usize) -> (Vec<f64>, Vec<f64>) {
    let f = |t: f64| (((t / steps as f64) + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos().powi(2);
    let mut alpha_bar = vec![1.0];
    let mut alpha = vec![1.0];
    for t in 1..=steps {
        let beta = (1.0 - f(t as f64) / f(t as f64 - 1.0)).clamp(1e-5, 0.999);
        alpha.push(1.0 - beta);
        alpha_bar.push(alpha_bar[t - 1] * (1.0 - beta));
    }
    (alpha_bar, alpha)
}

/// Sinusoidal features of step `t`.
fn time_features(t: usize, size: usize, out: &mut Vec<f32>) {
    let half = size / 2;
    for i in 0..size {
        let frequency = (-(10_000f64.ln()) * (i % half.max(1)) as f64 / half.max(1) as f64).exp();
        let angle = t as f64 * frequency;
        out.push(if i < half { angle.sin() } else { angle.cos() } as f32);
    }
}

/// Draws an index by weights.
fn draw(weights: &[f64], rng: &mut crate::Rng) -> usize {
    crate::transform::pick(weights, weights.iter().sum(), rng)
}

/// The denoiser's loss: the schedule and the layout of the encoded row.
pub(crate) struct Objective<B: Backend> {
    shape: Shape,
    spans: Vec<Span>,
    alpha_bar: Vec<f64>,
    alpha: Vec<f64>,
    layout: Layout<B>,
}

/// A new denoiser with its Adam.
pub(crate) fn trainer<B: AutodiffBackend>(
    shape: &Shape,
    transform: &Transform,
    layout: Layout<B>,
    options: &crate::Options,
    device: &B::Device,
) -> crate::Optimized<B, Denoiser<B>, Objective<B>> {
    let (alpha_bar, alpha) = schedule(shape.steps);
    crate::Optimized {
        model: denoiser(shape, device, Some(options.seed)),
        optimizer: AdamConfig::new().init(),
        objective: Objective { shape: shape.clone(), spans: transform.spans(), alpha_bar, alpha, layout },
        device: device.clone(),
    }
}

fn tensor<B: Backend>(values: Vec<f32>, columns: usize, device: &B::Device) -> Tensor<B, 2> {
    let rows = values.len() / columns;
    Tensor::from_data(TensorData::new(values, [rows, columns]), device)
}

impl<B: AutodiffBackend> crate::Objective<B, Denoiser<B>> for Objective<B> {
    fn loss(
        &self,
        network: &Denoiser<B>,
        x0: Vec<f32>,
        mut c: Vec<f32>,
        rng: &mut crate::Rng,
        device: &B::Device,
    ) -> Tensor<B, 1> {
        let (w, cw, tw) = (self.shape.width, self.shape.cond_width, self.shape.latent);
        let rows = x0.len() / w;
        let mut xt = vec![0.0f32; rows * w];
        let mut eps = vec![0.0f32; rows * w];
        // Per block position: αₜ·xₜ + (1 − αₜ)/K (the posterior's data factor) and the true
        // posterior q(xₜ₋₁|xₜ, x₀).
        let mut left = vec![0.0f32; rows * w];
        let mut posterior = vec![0.0f32; rows * w];
        let mut previous = Vec::with_capacity(rows);
        let mut time = Vec::with_capacity(rows * tw);
        let mut entropy = 0.0f64;
        for r in 0..rows {
            let t = rng.random_range(1..=self.shape.steps);
            let (ab, abp, a) = (self.alpha_bar[t], self.alpha_bar[t - 1], self.alpha[t]);
            previous.push(abp as f32);
            time_features(t, tw, &mut time);
            if rng.random::<f64>() < DROP_CONDITION {
                c[r * cw..(r + 1) * cw].fill(0.0);
            }
            let row = r * w;
            for span in &self.spans {
                match *span {
                    Span::Tanh { start } => {
                        let e = crate::transform::normal(rng);
                        eps[row + start] = e;
                        xt[row + start] = (ab.sqrt() * f64::from(x0[row + start])
                            + (1.0 - ab).sqrt() * f64::from(e))
                            as f32;
                    }
                    Span::Softmax { start, size, .. } => {
                        let k = size as f64;
                        let block = &x0[row + start..row + start + size];
                        let sum: f32 = block.iter().sum();
                        let x0k = |j: usize| if sum > 0.0 { f64::from(block[j] / sum) } else { 1.0 / k };
                        let probs: Vec<f64> = (0..size).map(|j| ab * x0k(j) + (1.0 - ab) / k).collect();
                        let chosen = draw(&probs, rng);
                        xt[row + start + chosen] = 1.0;
                        let mut q: Vec<f64> = (0..size)
                            .map(|j| {
                                let l = a * f64::from(u8::from(j == chosen)) + (1.0 - a) / k;
                                left[row + start + j] = l as f32;
                                l * (abp * x0k(j) + (1.0 - abp) / k)
                            })
                            .collect();
                        let total: f64 = q.iter().sum();
                        for (j, v) in q.iter_mut().enumerate() {
                            *v /= total;
                            posterior[row + start + j] = *v as f32;
                            if *v > 0.0 {
                                entropy += *v * v.ln();
                            }
                        }
                    }
                }
            }
        }
        let out = network.forward(tensor(xt, w, device), tensor(c, cw, device), tensor(time, tw, device));
        let eps = tensor(eps, w, device);
        let alphas = self.layout.tanh_mask.clone().sum().into_scalar().elem::<f64>().max(1.0);
        let gaussian = ((out.clone() - eps).powf_scalar(2.0)
            * self.layout.tanh_mask.clone().unsqueeze::<2>())
        .sum()
        .div_scalar(rows as f64 * alphas);
        let left = tensor(left, w, device);
        let posterior = tensor(posterior, w, device);
        let previous = tensor(previous, 1, device);
        let mut cross = Tensor::<B, 1>::zeros([1], device);
        for ((start, size), prior) in &self.layout.softmax {
            let mut logits = out.clone().narrow(1, *start, *size);
            if let Some(prior) = prior {
                logits = logits + prior.clone().unsqueeze::<2>();
            }
            let x0_hat = activation::softmax(logits, 1);
            let right = x0_hat * previous.clone() + (previous.clone().neg() + 1.0).div_scalar(*size as f64);
            let p = left.clone().narrow(1, *start, *size) * right;
            let p = p.clone() / p.sum_dim(1);
            cross = cross - (posterior.clone().narrow(1, *start, *size) * p.add_scalar(1e-12).log()).sum();
        }
        let blocks = self.layout.softmax.len().max(1) as f64;
        // KL = Σ q log q − Σ q log p; the first term is data.
        let multinomial = cross.add_scalar(entropy).div_scalar(rows as f64 * blocks);
        gaussian + multinomial
    }
}

/// Rows by the reverse process, one per conditional vector in `cond` (row-major); `allowed` is
/// 1 at every position the region allows; `guidance` is w (0: the conditional model alone).
/// Returns encoded rows: α values and one-hot blocks.
pub(crate) fn generate<B: Backend>(
    network: &Denoiser<B>,
    shape: &Shape,
    transform: &Transform,
    cond: &[f32],
    allowed: &[f32],
    guidance: f64,
    rng: &mut crate::Rng,
) -> Result<Vec<f32>, GenError> {
    let (w, cw, tw) = (shape.width, shape.cond_width, shape.latent);
    let rows = cond.len() / cw;
    let device = Default::default();
    let spans = transform.spans();
    let (alpha_bar, alpha) = schedule(shape.steps);
    // xₜ: noise at the α positions, a uniform category in every block.
    let mut x = vec![0.0f32; rows * w];
    for r in 0..rows {
        for span in &spans {
            match *span {
                Span::Tanh { start } => x[r * w + start] = crate::transform::normal(rng),
                Span::Softmax { start, size, .. } => x[r * w + start + rng.random_range(0..size)] = 1.0,
            }
        }
    }
    let guided = guidance > 0.0;
    let copies = if guided { 2 } else { 1 };
    let mut c = cond.to_vec();
    if guided {
        c.extend(std::iter::repeat_n(0.0, rows * cw));
    }
    let c = Tensor::<B, 2>::from_data(TensorData::new(c, [copies * rows, cw]), &device);
    // One block's weights, reused.
    let mut weights: Vec<f64> = Vec::new();
    for t in (1..=shape.steps).rev() {
        let (ab, abp, a) = (alpha_bar[t], alpha_bar[t - 1], alpha[t]);
        let mut time = Vec::with_capacity(tw);
        time_features(t, tw, &mut time);
        let time: Vec<f32> = time.iter().copied().cycle().take(copies * rows * tw).collect();
        let input: Vec<f32> = x.iter().copied().cycle().take(copies * rows * w).collect();
        let out = network.forward(
            Tensor::from_data(TensorData::new(input, [copies * rows, w]), &device),
            c.clone(),
            Tensor::from_data(TensorData::new(time, [copies * rows, tw]), &device),
        );
        let out: Vec<f32> =
            out.into_data().to_vec::<f32>().map_err(|e| GenError::Model(format!("the denoiser: {e:?}")))?;
        let value = |i: usize| {
            if guided {
                (1.0 + guidance) * f64::from(out[i]) - guidance * f64::from(out[rows * w + i])
            } else {
                f64::from(out[i])
            }
        };
        let beta = 1.0 - a;
        for r in 0..rows {
            let row = r * w;
            for span in &spans {
                match *span {
                    Span::Tanh { start } => {
                        let i = row + start;
                        let e = value(i);
                        let x0 = ((f64::from(x[i]) - (1.0 - ab).sqrt() * e) / ab.sqrt()).clamp(-1.0, 1.0);
                        let mean = abp.sqrt() * beta / (1.0 - ab) * x0
                            + a.sqrt() * (1.0 - abp) / (1.0 - ab) * f64::from(x[i]);
                        let variance = beta * (1.0 - abp) / (1.0 - ab);
                        x[i] = if t > 1 {
                            (mean + variance.sqrt() * f64::from(crate::transform::normal(rng))) as f32
                        } else {
                            x0 as f32
                        };
                    }
                    Span::Softmax { start, size, .. } => {
                        let (k, at) = (size as f64, row + start);
                        let top = (0..size).map(|j| value(at + j)).fold(f64::NEG_INFINITY, f64::max);
                        weights.clear();
                        weights.extend(
                            (0..size).map(|j| (value(at + j) - top).exp() * f64::from(allowed[start + j])),
                        );
                        let mut total: f64 = weights.iter().sum();
                        if !(total > 0.0 && total.is_finite()) {
                            // Nothing allowed has mass: uniform over the allowed.
                            for (j, w) in weights.iter_mut().enumerate() {
                                *w = f64::from(allowed[start + j]).max(1e-12);
                            }
                            total = weights.iter().sum();
                        }
                        let current = (0..size).position(|j| x[at + j] > 0.5).unwrap_or(0);
                        // The posterior q(xₜ₋₁ | xₜ, x̂₀) in place; at the last step only x̂₀
                        // matters: land on an allowed category.
                        if t > 1 {
                            for (j, w) in weights.iter_mut().enumerate() {
                                let left = a * f64::from(u8::from(j == current)) + (1.0 - a) / k;
                                *w = left * (abp * *w / total + (1.0 - abp) / k);
                            }
                        }
                        let chosen = draw(&weights, rng);
                        x[row + start..row + start + size].fill(0.0);
                        x[row + start + chosen] = 1.0;
                    }
                }
            }
        }
    }
    Ok(x)
}
