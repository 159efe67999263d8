//! A conditional GAN in the CTGAN manner (Xu et al. 2019): a generator of encoded rows from
//! noise and the conditional vector (two residual layers whose outputs are concatenated to their
//! inputs), a critic that sees `pac` rows at once (PacGAN, Lin et al. 2018, against mode
//! collapse), the Wasserstein loss with gradient penalty (WGAN-GP, Gulrajani et al. 2017), the
//! generator's one-hot blocks by Gumbel-softmax, and CTGAN's conditional loss: the cross-entropy
//! between the generated label block and the conditional vector (logit-adjusted when asked).
//!
//! The gradient penalty needs the critic's gradient with respect to its input, differentiated
//! again. burn has no double backward, so the input gradient of the (leaky-ReLU) critic is
//! written out as tensor operations — exact wherever the activations are differentiable — and
//! the ordinary backward pass differentiates it with respect to the weights.

use crate::transform::{Span, Transform};
use crate::{Layout, Shape};
use burn::module::{AutodiffModule, Module};
use burn::nn::{Linear, LinearConfig};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData, activation};
use rand::RngExt;
use sailkg_gen::GenError;

/// Rows the critic judges together.
pub const PAC: usize = 10;
/// The gradient penalty's weight.
const PENALTY: f64 = 10.0;
/// Gumbel-softmax temperature.
const GUMBEL_TAU: f64 = 0.2;
const LEAK: f64 = 0.2;

/// The generator: noise and conditional vector to a raw encoded row (activations applied by
/// the caller).
#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    residual1: Linear<B>,
    residual2: Linear<B>,
    out: Linear<B>,
}

impl<B: Backend> Generator<B> {
    pub fn new(shape: &Shape, device: &B::Device) -> Self {
        let input = shape.latent + shape.cond_width;
        Self {
            residual1: LinearConfig::new(input, shape.hidden).init(device),
            residual2: LinearConfig::new(input + shape.hidden, shape.hidden).init(device),
            out: LinearConfig::new(input + 2 * shape.hidden, shape.width).init(device),
        }
    }

    pub fn forward(&self, z: Tensor<B, 2>, cond: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = Tensor::cat(vec![z, cond], 1);
        let x = Tensor::cat(vec![activation::relu(self.residual1.forward(x.clone())), x], 1);
        let x = Tensor::cat(vec![activation::relu(self.residual2.forward(x.clone())), x], 1);
        self.out.forward(x)
    }
}

/// The critic: `pac` rows with their conditional vectors, side by side, to one score.
#[derive(Module, Debug)]
pub struct Critic<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    l3: Linear<B>,
}

fn leaky<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    activation::leaky_relu(x, LEAK)
}

/// The leaky ReLU's slope at `x`: 1 where positive, LEAK elsewhere (no gradient flows).
fn slope<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    x.detach().greater_elem(0.0).float().mul_scalar(1.0 - LEAK).add_scalar(LEAK)
}

impl<B: Backend> Critic<B> {
    pub fn new(shape: &Shape, device: &B::Device) -> Self {
        let input = shape.pac.max(1) * (shape.width + shape.cond_width);
        Self {
            l1: LinearConfig::new(input, shape.hidden).init(device),
            l2: LinearConfig::new(shape.hidden, shape.hidden).init(device),
            l3: LinearConfig::new(shape.hidden, 1).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.l3.forward(leaky(self.l2.forward(leaky(self.l1.forward(x)))))
    }

    /// The critic's loss on `groups` real, then `groups` generated, then `groups` mixed inputs
    /// stacked in one batch: E[critic(fake)] − E[critic(real)] + λ·E[(‖∇ₓ critic(mixed)‖ − 1)²],
    /// the input gradient written out.
    fn loss(&self, x: Tensor<B, 2>, groups: usize) -> Tensor<B, 1> {
        let h1 = self.l1.forward(x);
        let h2 = self.l2.forward(leaky(h1.clone()));
        let score = self.l3.forward(leaky(h2.clone()));
        let wasserstein = score.clone().narrow(0, groups, groups).mean() - score.narrow(0, 0, groups).mean();
        let (h1, h2) = (h1.narrow(0, 2 * groups, groups), h2.narrow(0, 2 * groups, groups));
        // ∂score/∂a₂ = w₃ᵀ, through the slopes and the weights back to the input.
        let g2 = slope(h2) * self.l3.weight.val().transpose();
        let g1 = g2.matmul(self.l2.weight.val().transpose()) * slope(h1);
        let gx = g1.matmul(self.l1.weight.val().transpose());
        let norm = gx.powf_scalar(2.0).sum_dim(1).add_scalar(1e-12).sqrt();
        wasserstein + (norm - 1.0).powf_scalar(2.0).mean().mul_scalar(PENALTY)
    }
}

fn tensor<C: Backend>(values: Vec<f32>, columns: usize, device: &C::Device) -> Tensor<C, 2> {
    let rows = values.len() / columns;
    Tensor::from_data(TensorData::new(values, [rows, columns]), device)
}

/// Standard normal noise for `rows` generator inputs.
fn noise<C: Backend>(rows: usize, latent: usize, rng: &mut crate::Rng, device: &C::Device) -> Tensor<C, 2> {
    tensor((0..rows * latent).map(|_| crate::transform::normal(rng)).collect(), latent, device)
}

/// The generator's raw output activated for the critic: tanh at α positions, Gumbel-softmax
/// over one-hot blocks (noise from `rng`).
fn activate<C: Backend>(out: Tensor<C, 2>, spans: &[Span], rng: &mut crate::Rng) -> Tensor<C, 2> {
    let rows = out.dims()[0];
    let device = out.device();
    let parts = spans
        .iter()
        .map(|span| match *span {
            Span::Tanh { start } => activation::tanh(out.clone().narrow(1, start, 1)),
            Span::Softmax { start, size, .. } => {
                let gumbel: Vec<f32> = (0..rows * size)
                    .map(|_| {
                        let u: f64 = rng.random::<f64>().clamp(1e-10, 1.0 - 1e-10);
                        -(-u.ln()).ln() as f32
                    })
                    .collect();
                let logits = out.clone().narrow(1, start, size) + tensor(gumbel, size, &device);
                activation::softmax(logits.div_scalar(GUMBEL_TAU), 1)
            }
        })
        .collect();
    Tensor::cat(parts, 1)
}

/// Both networks, trained by two optimizers.
#[derive(Module, Debug)]
pub struct Gan<B: Backend> {
    pub generator: Generator<B>,
    pub critic: Critic<B>,
}

/// A generator initialised from `seed` (None: to be replaced by trained weights).
pub fn generator<B: Backend>(shape: &Shape, device: &B::Device, seed: Option<u64>) -> Generator<B> {
    gan::<B>(shape, device, seed).generator
}

/// Both networks initialised from `seed`, every parameter drawn under the generator's lock.
fn gan<B: Backend>(shape: &Shape, device: &B::Device, seed: Option<u64>) -> Gan<B> {
    crate::seeded::<B, _>(device, seed, || {
        let gan = Gan { generator: Generator::new(shape, device), critic: Critic::new(shape, device) };
        let z = Tensor::<B, 2>::zeros([1, shape.latent], device);
        let c = Tensor::<B, 2>::zeros([1, shape.cond_width], device);
        let _ = gan.generator.forward(z, c);
        let x = Tensor::<B, 2>::zeros([1, shape.pac.max(1) * (shape.width + shape.cond_width)], device);
        let _ = gan.critic.forward(x);
        gan
    })
}

type CondBlock<B> = ((usize, usize), (usize, usize), Option<Tensor<B, 1>>);

pub(crate) struct Trainer<B: AutodiffBackend> {
    gan: Gan<B>,
    generator_optimizer: OptimizerAdaptor<Adam, Gan<B>, B>,
    critic_optimizer: OptimizerAdaptor<Adam, Gan<B>, B>,
    shape: Shape,
    spans: Vec<Span>,
    /// Per conditional column: its block in the encoded row (start, size), in the conditional
    /// vector (offset, slots), and its logit adjustment.
    cond_blocks: Vec<CondBlock<B>>,
    device: B::Device,
}

impl<B: AutodiffBackend> Trainer<B> {
    pub(crate) fn new(
        shape: &Shape,
        transform: &Transform,
        cond: &[(usize, usize, usize)],
        layout: Layout<B>,
        options: &crate::Options,
        device: &B::Device,
    ) -> Self {
        let adam = || {
            AdamConfig::new()
                .with_beta_1(0.5)
                .with_beta_2(0.9)
                .with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(1e-6)))
                .init()
        };
        let cond_blocks = cond
            .iter()
            .map(|&(column, offset, slots)| {
                let start = transform.offsets[column];
                let prior =
                    layout.softmax.iter().find(|((s, _), _)| *s == start).and_then(|(_, p)| p.clone());
                ((start, transform.encodings[column].width()), (offset, slots), prior)
            })
            .collect();
        Self {
            gan: gan(shape, device, Some(options.seed)),
            generator_optimizer: adam(),
            critic_optimizer: adam(),
            shape: shape.clone(),
            spans: transform.spans(),
            cond_blocks,
            device: device.clone(),
        }
    }

    fn tensor(&self, values: Vec<f32>, columns: usize) -> Tensor<B, 2> {
        tensor(values, columns, &self.device)
    }

    /// Rows with their conditional vectors, `pac` per critic input.
    fn packed(&self, rows: Tensor<B, 2>, cond: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = Tensor::cat(vec![rows, cond], 1);
        let [n, width] = x.dims();
        let pac = self.shape.pac.max(1);
        x.reshape([n / pac, pac * width])
    }

    /// CTGAN's conditional loss: the generated label block's cross-entropy against the
    /// category asked for, per row.
    fn conditional_loss(&self, out: &Tensor<B, 2>, cond: &Tensor<B, 2>) -> Tensor<B, 1> {
        let rows = out.dims()[0];
        let mut loss = Tensor::<B, 1>::zeros([1], &self.device);
        for ((start, size), (offset, slots), prior) in &self.cond_blocks {
            let (start, size, offset, slots) = (*start, *size, *offset, *slots);
            let mut logits = out.clone().narrow(1, start, size);
            if let Some(prior) = prior {
                logits = logits + prior.clone().unsqueeze::<2>();
            }
            let log_p = activation::log_softmax(logits, 1).narrow(1, 0, slots);
            let target = cond.clone().narrow(1, offset, slots);
            loss = loss - (target * log_p).sum();
        }
        loss.div_scalar(rows as f64)
    }
}

impl<B: AutodiffBackend> crate::Trainer<B> for Trainer<B> {
    fn step(
        mut self,
        x: Vec<f32>,
        c: Vec<f32>,
        rng: &mut crate::Rng,
        learning_rate: f64,
    ) -> Result<(Self, f64), String> {
        let learning_rate = learning_rate * 0.2;
        let (w, cw) = (self.shape.width, self.shape.cond_width);
        let rows = x.len() / w;
        let real = self.tensor(x, w);
        let cond_inner = tensor::<B::InnerBackend>(c.clone(), cw, &self.device);
        let cond = self.tensor(c, cw);
        // The critic: real against generated rows (generated without a graph), and the penalty
        // between them, in one batch.
        let fake = {
            let generator = self.gan.generator.valid();
            let out = generator.forward(noise(rows, self.shape.latent, rng, &self.device), cond_inner);
            Tensor::<B, 2>::from_inner(activate(out, &self.spans, rng))
        };
        let real = self.packed(real, cond.clone());
        let fake = self.packed(fake, cond.clone());
        let groups = real.dims()[0];
        let mix: Vec<f32> = (0..groups).map(|_| rng.random::<f32>()).collect();
        let mix = self.tensor(mix, 1);
        let between = real.clone() * mix.clone() + fake.clone() * (mix.neg() + 1.0);
        let critic_loss = self.gan.critic.loss(Tensor::cat(vec![real, fake, between], 0), groups);
        crate::loss_value(&critic_loss, "the critic")?;
        let grads = GradientsParams::from_grads(critic_loss.backward(), &self.gan.critic);
        self.gan = self.critic_optimizer.step(learning_rate, self.gan, grads);
        // The generator: fool the critic, and give the category asked for.
        let out = self.gan.generator.forward(noise(rows, self.shape.latent, rng, &self.device), cond.clone());
        let fake = self.packed(activate(out.clone(), &self.spans, rng), cond.clone());
        let generator_loss = self.gan.critic.forward(fake).mean().neg() + self.conditional_loss(&out, &cond);
        let value = crate::loss_value(&generator_loss, "the generator")?;
        let grads = GradientsParams::from_grads(generator_loss.backward(), &self.gan.generator);
        self.gan = self.generator_optimizer.step(learning_rate, self.gan, grads);
        Ok((self, value))
    }

    fn parameters(&self) -> usize {
        self.gan.num_params()
    }

    fn save(&self) -> Result<Vec<(&'static str, Vec<u8>)>, GenError> {
        Ok(vec![
            ("weights.bin", crate::record(self.gan.clone())?),
            ("optimizer.bin", crate::record_optimizer(&self.generator_optimizer)?),
            ("critic-optimizer.bin", crate::record_optimizer(&self.critic_optimizer)?),
        ])
    }

    fn load(mut self, file: &dyn Fn(&str) -> Result<Vec<u8>, GenError>) -> Result<Self, GenError> {
        self.gan = crate::load_record(self.gan, file("weights.bin")?, &self.device)?;
        self.generator_optimizer =
            crate::load_optimizer(self.generator_optimizer, file("optimizer.bin")?, &self.device)?;
        self.critic_optimizer =
            crate::load_optimizer(self.critic_optimizer, file("critic-optimizer.bin")?, &self.device)?;
        Ok(self)
    }

    fn export(&self) -> Result<Vec<u8>, GenError> {
        crate::record(self.gan.valid().generator)
    }
}
