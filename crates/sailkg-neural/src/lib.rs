//! SAIL-KG neural generators on burn 0.21 (pinned: 0.22's CUDA backend downloads LLVM at build
//! time and cannot build offline). The CPU backend (ndarray) by default; CUDA behind the `cuda`
//! feature. Every tabular model implements [`sailkg_gen::Synthesizer`], so the CLI samples,
//! evaluates and records it like the statistical methods.
//!
//! - [`transform`]: the shared encoding (mode-specific normalisation, one-hot labels).
//! - [`tvae`]: a conditional TVAE, with LoRA adapters for fine-tuning ([`fine_tune`]).
//! - [`ctgan`]: a conditional GAN in the CTGAN manner (PacGAN critic, WGAN-GP loss).
//! - [`diffusion`]: tabular diffusion in the TabDDPM manner (Gaussian and multinomial),
//!   classifier-free guidance.
//! - [`transformer`]: a decoder-only Transformer over token sequences (series windows, short
//!   text), with temperature and top-k sampling.
//!
//! The three tabular models share one training loop: CTGAN's training-by-sampling (a label
//! column at random, a category by log-frequency, a row of it) and a conditional vector, so a
//! rare class is sampled directly through its vector; optional logit adjustment (τ·log prior on
//! the label logits, Menon et al. 2021); progress after every epoch; early stopping; checkpoints
//! (`config.json`, weights, optimizer state) and resume; seeded determinism on CPU.

pub mod ctgan;
pub mod diffusion;
pub mod transform;
pub mod transformer;
pub mod tvae;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData, activation};
use rand::RngExt;
use sailkg_gen::{
    Condition, Constraints, GenError, Region, Regions, Sample, Synthesizer, Table, Values, region,
};
use transform::{Encoding, Span, Transform};
use tvae::Tvae;

/// The CPU backend.
pub type Cpu = NdArray<f32>;

/// The random stream of training and sampling.
pub(crate) type Rng = rand::rngs::Xoshiro256PlusPlus;

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Cpu,
    Cuda,
}

/// The tabular model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Tvae,
    Ctgan,
    Diffusion,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tvae => "tvae",
            Kind::Ctgan => "ctgan",
            Kind::Diffusion => "diffusion",
        }
    }

    /// The network's shape for an encoded width and conditional width.
    fn shape(self, width: usize, cond_width: usize, batch: usize) -> Shape {
        match self {
            Kind::Tvae => Shape { width, cond_width, hidden: 128, latent: 128, steps: 0, pac: 0 },
            Kind::Ctgan => Shape {
                width,
                cond_width,
                hidden: 256,
                latent: 128,
                steps: 0,
                pac: if batch >= ctgan::PAC { ctgan::PAC } else { 1 },
            },
            Kind::Diffusion => Shape { width, cond_width, hidden: 256, latent: 32, steps: 100, pac: 0 },
        }
    }
}

/// A network's shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    /// Encoded row width.
    pub width: usize,
    /// Conditional vector width (at least 1).
    pub cond_width: usize,
    pub hidden: usize,
    /// TVAE: the latent; CTGAN: the noise; diffusion: the time features.
    pub latent: usize,
    /// Diffusion steps (diffusion only).
    #[serde(default)]
    pub steps: usize,
    /// Rows the critic sees together (CTGAN's PacGAN).
    #[serde(default)]
    pub pac: usize,
}

/// Training settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Options {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Stop when the loss has not improved by 0.1 % for this many epochs (0: never; a GAN's
    /// loss says little about its progress, so CTGAN never stops early).
    pub patience: usize,
    /// τ of logit adjustment on label blocks (0: off).
    pub logit_adjustment: f64,
    /// Encoded width above which a table is refused.
    pub max_width: usize,
    pub seed: u64,
    pub device: Device,
    /// Write a checkpoint here every `checkpoint_every` epochs and at the end.
    #[serde(default)]
    pub checkpoint: Option<std::path::PathBuf>,
    #[serde(default)]
    pub checkpoint_every: usize,
    /// Continue from the checkpoint in `checkpoint` instead of starting afresh.
    #[serde(default)]
    pub resume: bool,
    /// Diffusion: the classifier-free guidance weight w when sampling a condition
    /// (ε = (1 + w)·ε(x, c) − w·ε(x, ∅)).
    #[serde(default = "default_guidance")]
    pub guidance: f64,
}

fn default_guidance() -> f64 {
    1.0
}

impl Default for Options {
    fn default() -> Self {
        Self {
            epochs: 300,
            batch_size: 500,
            learning_rate: 1e-3,
            patience: 30,
            logit_adjustment: 0.0,
            max_width: 4000,
            seed: 0,
            device: Device::Cpu,
            checkpoint: None,
            checkpoint_every: 10,
            resume: false,
            guidance: default_guidance(),
        }
    }
}

/// What training reports after every epoch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Progress {
    pub epoch: usize,
    pub epochs: usize,
    pub loss: f64,
    pub seconds: f64,
    /// Seconds left at the current pace.
    pub eta_seconds: f64,
}

/// How training went.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainingReport {
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub first_loss: f64,
    pub last_loss: f64,
    pub best_loss: f64,
    pub seconds: f64,
    pub seconds_per_epoch: f64,
    pub parameters: usize,
}

/// A trained tabular neural generator with everything to sample it again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NeuralModel {
    pub method: Kind,
    /// The version of this format; another version is refused on load.
    pub format: u32,
    pub transform: Transform,
    pub config: Shape,
    pub constraints: Constraints,
    pub options: Options,
    pub report: TrainingReport,
    /// The label columns of the conditional vector: (column, offset in the vector, slots).
    cond: Vec<(usize, usize, usize)>,
    /// The sampling network's weights (burn's binary record, hex).
    weights: String,
}

const FORMAT: u32 = 1;

/// Prior of a label column's one-hot block (its null position included).
pub(crate) fn label_prior(transform: &Transform, column: usize, size: usize) -> Vec<f64> {
    match &transform.encodings[column] {
        e @ Encoding::Labels { .. } => {
            let mut prior = e.slot_shares();
            prior.resize(size, 1.0 / size as f64);
            prior
        }
        _ => vec![1.0 / size as f64; size],
    }
}

/// Where the α positions and the one-hot blocks are, as tensors for the losses.
pub struct Layout<B: Backend> {
    pub tanh_mask: Tensor<B, 1>,
    pub softmax: Vec<Block<B>>,
}

/// (start, size) of a one-hot block, with τ·log prior when it is a logit-adjusted label block.
pub type Block<B> = ((usize, usize), Option<Tensor<B, 1>>);

impl<B: Backend> Layout<B> {
    pub fn new(transform: &Transform, tau: f64, device: &B::Device) -> Self {
        let mut mask = vec![0.0f32; transform.width];
        let mut softmax = Vec::new();
        for span in transform.spans() {
            match span {
                Span::Tanh { start } => mask[start] = 1.0,
                Span::Softmax { start, size, label, column } => {
                    let prior = (label && tau > 0.0).then(|| {
                        let prior = label_prior(transform, column, size);
                        let values: Vec<f32> =
                            prior.iter().map(|p| (tau * p.max(1e-6).ln()) as f32).collect();
                        Tensor::from_data(TensorData::new(values, [size]), device)
                    });
                    softmax.push(((start, size), prior));
                }
            }
        }
        Self { tanh_mask: Tensor::from_data(TensorData::new(mask, [transform.width]), device), softmax }
    }
}

/// The raw output activated: tanh at α positions, softmax over every one-hot block.
pub(crate) fn activate<B: Backend>(out: Tensor<B, 2>, transform: &Transform) -> Tensor<B, 2> {
    let parts = transform
        .spans()
        .into_iter()
        .map(|span| match span {
            Span::Tanh { start } => activation::tanh(out.clone().narrow(1, start, 1)),
            Span::Softmax { start, size, .. } => activation::softmax(out.clone().narrow(1, start, size), 1),
        })
        .collect();
    Tensor::cat(parts, 1)
}

/// Trains a tabular model of `kind` on `table`; `progress` is called after every epoch.
pub fn fit(
    kind: Kind,
    table: &Table,
    constraints: &Constraints,
    options: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<NeuralModel, GenError> {
    if table.rows() < 2 {
        return Err(GenError::Input("a neural model needs at least two rows".into()));
    }
    if options.epochs == 0 || options.batch_size == 0 {
        return Err(GenError::Input("epochs and the batch size must be at least 1".into()));
    }
    if !(options.learning_rate > 0.0 && options.learning_rate.is_finite()) {
        return Err(GenError::Input(format!(
            "learning rate {}: give a positive number",
            options.learning_rate
        )));
    }
    region::regions(table, constraints, &Condition::default())?;
    match options.device {
        Device::Cpu => {
            train::<Autodiff<Cpu>>(kind, table, constraints, options, progress, &Default::default())
        }
        #[cfg(feature = "cuda")]
        Device::Cuda => on_cuda(|| {
            train::<Autodiff<burn::backend::Cuda>>(
                kind,
                table,
                constraints,
                options,
                progress,
                &Default::default(),
            )
        }),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda => Err(cuda_missing()),
    }
}

/// Runs a CUDA training; burn's CUDA backend panics when no driver or device is there, which
/// becomes an error that says so.
#[cfg(feature = "cuda")]
pub(crate) fn on_cuda<T>(train: impl FnOnce() -> Result<T, GenError>) -> Result<T, GenError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(train)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the CUDA backend failed");
        Err(GenError::Input(format!(
            "CUDA is not usable here ({}): check the NVIDIA driver (libcuda) and the GPU, or train with --device cpu",
            reason.lines().next().unwrap_or(reason)
        )))
    })
}

#[cfg(not(feature = "cuda"))]
pub(crate) fn cuda_missing() -> GenError {
    GenError::Input(
        "this sailkg was built without CUDA: build with --features cuda, or train with --device cpu".into(),
    )
}

/// One model's training: a step on a batch, its checkpoint files, its sampling weights.
pub(crate) trait Trainer<B: AutodiffBackend>: Sized {
    /// One optimisation step on a batch (encoded rows and conditional vectors, row-major);
    /// returns the trainer and the batch's loss, or why training cannot go on.
    fn step(self, x: Vec<f32>, c: Vec<f32>, rng: &mut Rng, learning_rate: f64)
    -> Result<(Self, f64), String>;
    fn parameters(&self) -> usize;
    /// The checkpoint's binary files: (name, bytes).
    fn save(&self) -> Result<Vec<(&'static str, Vec<u8>)>, GenError>;
    /// The trainer as the checkpoint left it; `file` reads one of the names `save` wrote.
    fn load(self, file: &dyn Fn(&str) -> Result<Vec<u8>, GenError>) -> Result<Self, GenError>;
    /// The weights of the network that samples.
    fn export(&self) -> Result<Vec<u8>, GenError>;
}

/// A single network's loss on a batch (encoded rows and conditional vectors, row-major).
pub(crate) trait Objective<B: AutodiffBackend, M> {
    fn loss(&self, model: &M, x: Vec<f32>, c: Vec<f32>, rng: &mut Rng, device: &B::Device) -> Tensor<B, 1>;
}

/// One network, its Adam and its objective: the TVAE's and the denoiser's trainer.
pub(crate) struct Optimized<B: AutodiffBackend, M: AutodiffModule<B>, O> {
    pub(crate) model: M,
    pub(crate) optimizer: OptimizerAdaptor<Adam, M, B>,
    pub(crate) objective: O,
    pub(crate) device: B::Device,
}

impl<B: AutodiffBackend, M: AutodiffModule<B>, O: Objective<B, M>> Trainer<B> for Optimized<B, M, O> {
    fn step(
        mut self,
        x: Vec<f32>,
        c: Vec<f32>,
        rng: &mut Rng,
        learning_rate: f64,
    ) -> Result<(Self, f64), String> {
        let loss = self.objective.loss(&self.model, x, c, rng, &self.device);
        let value = loss_value(&loss, "training")?;
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optimizer.step(learning_rate, self.model, grads);
        Ok((self, value))
    }

    fn parameters(&self) -> usize {
        self.model.num_params()
    }

    fn save(&self) -> Result<Vec<(&'static str, Vec<u8>)>, GenError> {
        Ok(vec![
            ("weights.bin", record(self.model.clone())?),
            ("optimizer.bin", record_optimizer(&self.optimizer)?),
        ])
    }

    fn load(mut self, file: &dyn Fn(&str) -> Result<Vec<u8>, GenError>) -> Result<Self, GenError> {
        self.model = load_record(self.model, file("weights.bin")?, &self.device)?;
        self.optimizer = load_optimizer(self.optimizer, file("optimizer.bin")?, &self.device)?;
        Ok(self)
    }

    fn export(&self) -> Result<Vec<u8>, GenError> {
        record(self.model.valid())
    }
}

/// A loss's value, or why training cannot go on when it is not finite.
pub(crate) fn loss_value<B: Backend>(loss: &Tensor<B, 1>, what: &str) -> Result<f64, String> {
    let value: f64 = loss.clone().into_scalar().elem();
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("{what} diverged (loss {value}): lower the learning rate"))
    }
}

/// Records a module as burn's binary record.
pub(crate) fn record<B: Backend, M: Module<B>>(module: M) -> Result<Vec<u8>, GenError> {
    recorder().record(module.into_record(), ()).map_err(|e| GenError::Model(format!("the weights: {e}")))
}

/// Loads burn's binary record into a module.
pub(crate) fn load_record<B: Backend, M: Module<B>>(
    module: M,
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<M, GenError> {
    let record = recorder()
        .load(bytes, device)
        .map_err(|e| GenError::Model(format!("the weights do not load: {e}")))?;
    Ok(module.load_record(record))
}

/// Loads an optimizer's record.
pub(crate) fn load_optimizer<B: AutodiffBackend, M: AutodiffModule<B>, O: burn::optim::Optimizer<M, B>>(
    optimizer: O,
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<O, GenError> {
    let record = recorder()
        .load(bytes, device)
        .map_err(|e| GenError::Model(format!("the optimizer state does not load: {e}")))?;
    Ok(optimizer.load_record(record))
}

/// Records an optimizer's state.
pub(crate) fn record_optimizer<B: AutodiffBackend, M: AutodiffModule<B>, O: burn::optim::Optimizer<M, B>>(
    optimizer: &O,
) -> Result<Vec<u8>, GenError> {
    recorder().record(optimizer.to_record(), ()).map_err(|e| GenError::Model(format!("the optimizer: {e}")))
}

/// The encoded training rows and how training-by-sampling draws them.
struct Data {
    encoded: Vec<f32>,
    width: usize,
    rows: usize,
    cond: Vec<(usize, usize, usize)>,
    cond_width: usize,
    /// Per conditional column, the rows of every slot.
    rows_of: Vec<Vec<Vec<usize>>>,
}

impl Data {
    fn new(table: &Table, transform: &Transform, seed: u64) -> Self {
        let mut cond = Vec::new();
        let mut cond_width = 0;
        for (c, e) in transform.encodings.iter().enumerate() {
            if let Encoding::Labels { .. } = e {
                cond.push((c, cond_width, e.label_slots()));
                cond_width += e.label_slots();
            }
        }
        let rows_of = cond
            .iter()
            .map(|&(c, _, levels)| {
                let mut rows = vec![Vec::new(); levels];
                if let Values::Labels { codes, .. } = &table.columns[c].values {
                    for (r, code) in codes.iter().enumerate() {
                        if let Some(code) = code {
                            rows[transform.encodings[c].slot_of(*code)].push(r);
                        }
                    }
                }
                rows
            })
            .collect();
        Self {
            encoded: transform.encode(table, seed),
            width: transform.width,
            rows: table.rows(),
            cond,
            cond_width: cond_width.max(1),
            rows_of,
        }
    }

    /// A batch by training-by-sampling: per row a label column at random, one of its categories
    /// by log-frequency, a row of that category (any row when there are no label columns).
    fn batch(&self, size: usize, rng: &mut Rng) -> (Vec<f32>, Vec<f32>) {
        let (w, cw) = (self.width, self.cond_width);
        let mut x = Vec::with_capacity(size * w);
        let mut c = vec![0.0f32; size * cw];
        for b in 0..size {
            let row = if self.cond.is_empty() {
                rng.random_range(0..self.rows)
            } else {
                let k = rng.random_range(0..self.cond.len());
                let (_, offset, levels) = self.cond[k];
                let weights: Vec<f64> =
                    (0..levels).map(|l| (1.0 + self.rows_of[k][l].len() as f64).ln()).collect();
                let sum: f64 = weights.iter().sum();
                let mut u = rng.random::<f64>() * sum;
                let mut level = levels - 1;
                for (l, w) in weights.iter().enumerate() {
                    if u < *w && !self.rows_of[k][l].is_empty() {
                        level = l;
                        break;
                    }
                    u -= w;
                }
                while self.rows_of[k][level].is_empty() {
                    level = (level + 1) % levels;
                }
                c[b * cw + offset + level] = 1.0;
                self.rows_of[k][level][rng.random_range(0..self.rows_of[k][level].len())]
            };
            x.extend_from_slice(&self.encoded[row * w..(row + 1) * w]);
        }
        (x, c)
    }
}

fn train<B: AutodiffBackend>(
    kind: Kind,
    table: &Table,
    constraints: &Constraints,
    options: &Options,
    progress: &mut dyn FnMut(&Progress),
    device: &B::Device,
) -> Result<NeuralModel, GenError> {
    let transform = Transform::fit(table, options.max_width, options.seed)?;
    let data = Data::new(table, &transform, options.seed);
    let mut batch = options.batch_size.min(data.rows);
    let shape = kind.shape(transform.width, data.cond_width, batch);
    if shape.pac > 1 {
        batch -= batch % shape.pac;
    }
    let layout = Layout::<B>::new(&transform, options.logit_adjustment, device);
    let setup = Setup { kind, transform: &transform, shape: &shape, options, batch };
    let (state, stopped_early, weights, parameters) = match kind {
        Kind::Tvae => run(tvae::trainer(&shape, layout, options, device), &data, &setup, progress)?,
        Kind::Ctgan => run(
            ctgan::Trainer::new(&shape, &transform, &data.cond, layout, options, device),
            &data,
            &setup,
            progress,
        )?,
        Kind::Diffusion => {
            run(diffusion::trainer(&shape, &transform, layout, options, device), &data, &setup, progress)?
        }
    };
    Ok(NeuralModel {
        method: kind,
        format: FORMAT,
        config: shape,
        constraints: constraints.clone(),
        options: options.clone(),
        report: TrainingReport {
            epochs_run: state.epoch,
            stopped_early,
            first_loss: state.first,
            last_loss: state.last,
            best_loss: state.best,
            seconds: state.seconds,
            seconds_per_epoch: state.seconds / state.epoch.max(1) as f64,
            parameters,
        },
        cond: data.cond,
        transform,
        weights: hex(&weights),
    })
}

/// What one training is.
struct Setup<'a> {
    kind: Kind,
    transform: &'a Transform,
    shape: &'a Shape,
    options: &'a Options,
    batch: usize,
}

/// The shared loop: epochs of batches, progress, early stopping, checkpoints and resume.
/// Returns the final state, whether it stopped early, the sampling weights and the number of
/// parameters.
fn run<B: AutodiffBackend, T: Trainer<B>>(
    mut trainer: T,
    data: &Data,
    setup: &Setup,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(State, bool, Vec<u8>, usize), GenError> {
    let options = setup.options;
    let parameters = trainer.parameters();
    // An epoch is a pass over the rows; the GAN's is ⌊rows / batch⌋ steps, as CTGAN counts it.
    let steps = match setup.kind {
        Kind::Ctgan => (data.rows / setup.batch).max(1),
        Kind::Tvae | Kind::Diffusion => data.rows.div_ceil(setup.batch),
    };
    let patience = if setup.kind == Kind::Ctgan { 0 } else { options.patience };
    let mut state = State::default();
    if options.resume {
        let dir = options
            .checkpoint
            .as_deref()
            .ok_or_else(|| GenError::Input("--resume needs --checkpoint DIR".into()))?;
        let checkpoint: Checkpoint = read_checkpoint(dir, setup.kind.name())?;
        checkpoint.check(setup.transform, setup.shape, options)?;
        trainer = trainer.load(&|name| checkpoint_file(dir, name))?;
        state = checkpoint.state;
    }
    let checkpoint = (options.checkpoint.as_deref(), options.checkpoint_every);
    let mut epochs = Epochs::new(state, options.epochs, patience, checkpoint, progress)?;
    for epoch in epochs.left() {
        // Each epoch's draws come from its own stream, so a resumed run continues exactly.
        let mut rng = sailkg_gen::stream(options.seed, 0x7472_6169 + epoch);
        let mut total = 0.0;
        for _ in 0..steps {
            let (x, c) = data.batch(setup.batch, &mut rng);
            let value;
            (trainer, value) = trainer
                .step(x, c, &mut rng, options.learning_rate)
                .map_err(|e| GenError::Input(format!("epoch {epoch}: {e}")))?;
            total += value;
        }
        if epochs
            .end(epoch, total / steps as f64, |dir, state| Checkpoint::write(dir, setup, state, &trainer))?
        {
            break;
        }
    }
    let weights = trainer.export()?;
    Ok((epochs.state, epochs.stopped_early, weights, parameters))
}

fn recorder() -> BinBytesRecorder<FullPrecisionSettings> {
    BinBytesRecorder::default()
}

/// Where training stands.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct State {
    epoch: usize,
    first: f64,
    best: f64,
    last: f64,
    since_best: usize,
    /// Seconds of training so far (over resumes).
    #[serde(default)]
    seconds: f64,
}

impl Default for State {
    fn default() -> Self {
        Self { epoch: 0, first: f64::NAN, best: f64::INFINITY, last: f64::NAN, since_best: 0, seconds: 0.0 }
    }
}

impl State {
    /// An epoch's loss: an improvement is a fall of 0.1 % below the best.
    fn record(&mut self, epoch: usize, loss: f64) {
        self.epoch = epoch;
        if self.first.is_nan() {
            self.first = loss;
        }
        self.last = loss;
        if loss < self.best - 1e-3 * self.best.abs().max(1e-9) {
            self.best = loss;
            self.since_best = 0;
        } else {
            self.best = self.best.min(loss);
            self.since_best += 1;
        }
    }
}

/// What every training loop shares at the end of an epoch: the loss recorded, early stopping,
/// a checkpoint when one is due, progress with the ETA.
struct Epochs<'a> {
    state: State,
    epochs: usize,
    patience: usize,
    checkpoint: Option<&'a std::path::Path>,
    every: usize,
    started: std::time::Instant,
    /// Seconds and epochs of the run this one resumes.
    before: (f64, usize),
    stopped_early: bool,
    progress: &'a mut dyn FnMut(&Progress),
}

impl<'a> Epochs<'a> {
    /// Training from `state` (a resumed checkpoint's, or a fresh one) up to `epochs`.
    fn new(
        state: State,
        epochs: usize,
        patience: usize,
        checkpoint: (Option<&'a std::path::Path>, usize),
        progress: &'a mut dyn FnMut(&Progress),
    ) -> Result<Self, GenError> {
        if state.epoch > 0 && state.epoch >= epochs {
            return Err(GenError::Input(format!(
                "the checkpoint has {} epochs already: ask for more than that with --epochs",
                state.epoch
            )));
        }
        Ok(Self {
            before: (state.seconds, state.epoch),
            state,
            epochs,
            patience,
            checkpoint: checkpoint.0,
            every: checkpoint.1.max(1),
            started: std::time::Instant::now(),
            stopped_early: false,
            progress,
        })
    }

    /// The epochs left to run.
    fn left(&self) -> std::ops::RangeInclusive<usize> {
        self.state.epoch + 1..=self.epochs
    }

    /// Ends `epoch` with its mean loss; `save` writes a checkpoint into a folder when one is due.
    /// Returns whether training stops early.
    fn end(
        &mut self,
        epoch: usize,
        loss: f64,
        save: impl FnOnce(&std::path::Path, &State) -> Result<(), GenError>,
    ) -> Result<bool, GenError> {
        self.state.record(epoch, loss);
        let seconds = self.started.elapsed().as_secs_f64();
        self.state.seconds = self.before.0 + seconds;
        self.stopped_early = self.patience > 0 && self.state.since_best >= self.patience;
        if let Some(dir) = self.checkpoint
            && (epoch.is_multiple_of(self.every) || epoch == self.epochs || self.stopped_early)
        {
            save(dir, &self.state)?;
        }
        (self.progress)(&Progress {
            epoch,
            epochs: self.epochs,
            loss,
            seconds: self.state.seconds,
            eta_seconds: seconds / (epoch - self.before.1) as f64 * (self.epochs - epoch) as f64,
        });
        Ok(self.stopped_early)
    }
}

/// Writes a checkpoint's files into `dir`, each whole then renamed, `config.json` last: a
/// checkpoint is complete once it names its state.
fn write_checkpoint(
    dir: &std::path::Path,
    mut files: Vec<(&str, Vec<u8>)>,
    config: Vec<u8>,
) -> Result<(), GenError> {
    let io = |e: std::io::Error| GenError::Model(format!("checkpoint {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    files.push(("config.json", config));
    for (name, bytes) in files {
        let partial = dir.join(format!("{name}.partial"));
        std::fs::write(&partial, bytes).map_err(io)?;
        std::fs::rename(&partial, dir.join(name)).map_err(io)?;
    }
    Ok(())
}

/// Reads a checkpoint's `config.json`, refusing one of another method or format version.
fn read_checkpoint<T: serde::de::DeserializeOwned>(
    dir: &std::path::Path,
    method: &str,
) -> Result<T, GenError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| GenError::Input(format!("{}: {e} (no checkpoint to resume)", path.display())))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| GenError::Model(format!("{}: {e}", path.display())))?;
    match (
        value.get("format").and_then(serde_json::Value::as_u64),
        value.get("method").and_then(|m| m.as_str()),
    ) {
        (Some(f), Some(m)) if f == u64::from(FORMAT) && m == method => {}
        (f, m) => {
            return Err(GenError::Input(format!(
                "{} was made by another model or version ({} format {}); this training resumes {method} format {FORMAT}",
                path.display(),
                m.unwrap_or("unknown"),
                f.map_or("unknown".into(), |f| f.to_string()),
            )));
        }
    }
    serde_json::from_value(value).map_err(|e| GenError::Model(format!("{}: {e}", path.display())))
}

/// Reads one of a checkpoint's binary files.
fn checkpoint_file(dir: &std::path::Path, name: &str) -> Result<Vec<u8>, GenError> {
    std::fs::read(dir.join(name)).map_err(|e| GenError::Model(format!("{}: {e}", dir.join(name).display())))
}

/// A training checkpoint: `config.json` (format, method, transform, network shape, options,
/// state) and the trainer's binary files (burn records), each written whole then renamed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    format: u32,
    method: Kind,
    transform: Transform,
    config: Shape,
    options: Options,
    state: State,
}

impl Checkpoint {
    fn write<B: AutodiffBackend, T: Trainer<B>>(
        dir: &std::path::Path,
        setup: &Setup,
        state: &State,
        trainer: &T,
    ) -> Result<(), GenError> {
        let checkpoint = Checkpoint {
            format: FORMAT,
            method: setup.kind,
            transform: setup.transform.clone(),
            config: setup.shape.clone(),
            options: setup.options.clone(),
            state: state.clone(),
        };
        let json = serde_json::to_vec_pretty(&checkpoint).map_err(|e| GenError::Model(e.to_string()))?;
        write_checkpoint(dir, trainer.save()?, json)
    }

    /// Refuses a checkpoint of another table, network or training setup.
    fn check(&self, transform: &Transform, config: &Shape, options: &Options) -> Result<(), GenError> {
        let same_table = self.transform.names == transform.names && self.transform.width == transform.width;
        let same_setup = self.options.seed == options.seed
            && self.options.batch_size == options.batch_size
            && self.options.logit_adjustment == options.logit_adjustment;
        if !same_table || &self.config != config {
            return Err(GenError::Input(
                "the checkpoint was trained on another table or network shape".into(),
            ));
        }
        if !same_setup {
            return Err(GenError::Input(
                "the checkpoint was trained with another seed, batch size or logit adjustment".into(),
            ));
        }
        Ok(())
    }
}

/// How a fine-tuning went.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FineTuneReport {
    /// `lora` or `full`.
    pub mode: String,
    pub rank: Option<usize>,
    /// Real rows inside the condition it was tuned on.
    pub rows: usize,
    pub epochs: usize,
    pub trainable_parameters: usize,
    pub total_parameters: usize,
    pub seconds: f64,
    pub first_loss: f64,
    pub last_loss: f64,
}

/// Fine-tunes a trained model on the rows of `table` inside `condition` (one rare class, say):
/// with `rank`, LoRA adapters beside the frozen decoder (merged into it afterwards), else every
/// parameter. The table must have the model's columns and label levels.
pub fn fine_tune(
    base: &NeuralModel,
    table: &Table,
    condition: &Condition,
    rank: Option<usize>,
    epochs: usize,
    seed: u64,
) -> Result<(NeuralModel, FineTuneReport), GenError> {
    type B = Autodiff<Cpu>;
    let device = burn::backend::ndarray::NdArrayDevice::default();
    if base.method != Kind::Tvae {
        return Err(GenError::Input(format!(
            "fine-tuning adapts a TVAE; this is a {} model",
            base.method.name()
        )));
    }
    for (c, (name, e)) in base.transform.names.iter().zip(&base.transform.encodings).enumerate() {
        let column = table.columns.get(c).filter(|column| &column.name == name).ok_or_else(|| {
            GenError::Input(format!(
                "the table's columns are not the model's (expected {name} at position {})",
                c + 1
            ))
        })?;
        if let (Encoding::Labels { levels, .. }, Values::Labels { levels: have, .. }) = (e, &column.values)
            && levels != have
        {
            return Err(GenError::Input(format!("the labels of {name} are not those the model learnt")));
        }
    }
    if epochs == 0 {
        return Err(GenError::Input("fine-tuning needs at least one epoch".into()));
    }
    let regions = region::regions(table, &base.constraints, condition)?;
    let rows: Vec<usize> = (0..table.rows()).filter(|&r| regions.contains(table, r)).collect();
    if rows.is_empty() {
        return Err(GenError::Impossible(
            "no real row satisfies the condition: nothing to fine-tune on".into(),
        ));
    }
    let subset = table.select(&rows);
    let encoded = base.transform.encode(&subset, seed);
    let (width, cw) = (base.config.width, base.config.cond_width);
    // Every row's conditional vector: its own category of the label column the condition
    // restricts most (or of the first label column).
    let column = base
        .cond
        .iter()
        .position(|&(c, _, _)| matches!(regions.columns[c].0, Region::Labels { allowed: Some(_) }))
        .or((!base.cond.is_empty()).then_some(0));
    let conds: Vec<f32> = (0..subset.rows())
        .flat_map(|r| {
            let mut c = vec![0.0f32; cw];
            if let Some(k) = column {
                let (col, offset, _) = base.cond[k];
                if let Values::Labels { codes, .. } = &subset.columns[col].values
                    && let Some(code) = codes[r]
                {
                    c[offset + base.transform.encodings[col].slot_of(code)] = 1.0;
                }
            }
            c
        })
        .collect();
    let mut model: Tvae<B> = base.load_network::<B>(&device)?;
    let total_parameters = model.num_params();
    if let Some(rank) = rank {
        model = with_adapters_seeded(model, &base.config, rank, &device, seed);
    }
    let trainable_parameters = if rank.is_some() { model.adapter_params() } else { total_parameters };
    let layout = Layout::<B>::new(&base.transform, base.options.logit_adjustment, &device);
    let mut trainer = Optimized {
        model,
        optimizer: AdamConfig::new().init(),
        objective: tvae::Objective { layout },
        device,
    };
    let mut rng = sailkg_gen::stream(seed, 0x6669_6E65);
    let n = subset.rows();
    let batch = base.options.batch_size.min(n).max(1);
    let steps = n.div_ceil(batch);
    let started = std::time::Instant::now();
    let (mut first, mut last) = (f64::NAN, f64::NAN);
    for epoch in 1..=epochs {
        let mut total = 0.0;
        for _ in 0..steps {
            let picks: Vec<usize> = (0..batch).map(|_| rng.random_range(0..n)).collect();
            let x: Vec<f32> =
                picks.iter().flat_map(|&r| encoded[r * width..(r + 1) * width].iter().copied()).collect();
            let c: Vec<f32> =
                picks.iter().flat_map(|&r| conds[r * cw..(r + 1) * cw].iter().copied()).collect();
            let value;
            (trainer, value) = trainer
                .step(x, c, &mut rng, base.options.learning_rate)
                .map_err(|e| GenError::Input(format!("fine-tuning epoch {epoch}: {e}")))?;
            total += value;
        }
        last = total / steps as f64;
        if epoch == 1 {
            first = last;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let tuned = trainer.model.valid().merge();
    let record = BinBytesRecorder::<FullPrecisionSettings>::default()
        .record(tuned.into_record(), ())
        .map_err(|e| GenError::Model(format!("the weights cannot be written: {e}")))?;
    let report = FineTuneReport {
        mode: if rank.is_some() { "lora".into() } else { "full".into() },
        rank,
        rows: n,
        epochs,
        trainable_parameters,
        total_parameters,
        seconds,
        first_loss: first,
        last_loss: last,
    };
    Ok((NeuralModel { weights: hex(&record), ..base.clone() }, report))
}

/// Adds adapters with their initialisation seeded and done under the generator's lock.
fn with_adapters_seeded<B: Backend>(
    model: Tvae<B>,
    config: &Shape,
    rank: usize,
    device: &B::Device,
    seed: u64,
) -> Tvae<B> {
    seeded::<B, _>(device, Some(seed ^ 0x6C6F_7261), || {
        let model = model.with_adapters(rank, device);
        let z = Tensor::<B, 2>::zeros([1, config.latent], device);
        let c = Tensor::<B, 2>::zeros([1, config.cond_width], device);
        let _ = model.decode(z, c);
        model
    })
}

static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `build` with burn's generator seeded from `seed` (None: unseeded, the parameters are
/// about to be replaced) under one lock. burn's generator is global and parameters initialise
/// lazily, so `build` constructs a network and runs it once: concurrent trainings (tests, a
/// server's jobs) never draw from each other's stream.
pub(crate) fn seeded<B: Backend, T>(device: &B::Device, seed: Option<u64>, build: impl FnOnce() -> T) -> T {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(seed) = seed {
        B::seed(device, seed);
    }
    build()
}

/// A new TVAE, its parameters initialised from `seed`.
pub fn new_network<B: Backend>(config: &Shape, device: &B::Device, seed: Option<u64>) -> Tvae<B> {
    seeded::<B, _>(device, seed, || {
        let model = Tvae::new(config, device);
        let x = Tensor::<B, 2>::zeros([1, config.width], device);
        let c = Tensor::<B, 2>::zeros([1, config.cond_width], device);
        let (mu, _) = model.encode(x, c.clone());
        let _ = model.decode(mu, c);
        model
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, GenError> {
    if !text.len().is_multiple_of(2) {
        return Err(GenError::Model("the weights are cut short".into()));
    }
    (0..text.len() / 2)
        .map(|i| {
            u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| GenError::Model("the weights are not hex".into()))
        })
        .collect()
}

/// The sampling network of a model, on the CPU.
enum Net {
    Tvae(Box<Tvae<Cpu>>),
    Ctgan(Box<ctgan::Generator<Cpu>>),
    Diffusion(Box<diffusion::Denoiser<Cpu>>),
}

impl NeuralModel {
    /// Reads a model written by [`Synthesizer::to_json`]; another format version is refused.
    pub fn from_json(text: &str) -> Result<Self, GenError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| GenError::Model(e.to_string()))?;
        match value.get("format").and_then(serde_json::Value::as_u64) {
            Some(f) if f == u64::from(FORMAT) => {}
            Some(f) => {
                return Err(GenError::Model(format!(
                    "a model of format {f}; this sailkg reads format {FORMAT}: train it again"
                )));
            }
            None => return Err(GenError::Model("not a neural model (no format)".into())),
        }
        serde_json::from_value(value).map_err(|e| GenError::Model(e.to_string()))
    }

    /// The trained TVAE on any backend (TVAE models only).
    pub fn load_network<B: Backend>(&self, device: &B::Device) -> Result<Tvae<B>, GenError> {
        if self.method != Kind::Tvae {
            return Err(GenError::Input(format!("a {} model, not a TVAE", self.method.name())));
        }
        load_record(new_network::<B>(&self.config, device, None), unhex(&self.weights)?, device)
    }

    fn network(&self) -> Result<Net, GenError> {
        let device = Default::default();
        let bytes = unhex(&self.weights)?;
        Ok(match self.method {
            Kind::Tvae => Net::Tvae(Box::new(self.load_network::<Cpu>(&device)?)),
            Kind::Ctgan => Net::Ctgan(Box::new(load_record(
                ctgan::generator::<Cpu>(&self.config, &device, None),
                bytes,
                &device,
            )?)),
            Kind::Diffusion => Net::Diffusion(Box::new(load_record(
                diffusion::denoiser::<Cpu>(&self.config, &device, None),
                bytes,
                &device,
            )?)),
        })
    }
}

/// 1 at every position of the encoded row a region allows, 0 at label slots (and null slots)
/// it rules out.
fn allowed_positions(transform: &Transform, regions: &Regions) -> Vec<f32> {
    let mut mask = vec![1.0f32; transform.width];
    for (c, e) in transform.encodings.iter().enumerate() {
        let (region, nullable) = &regions.columns[c];
        let at = transform.offsets[c];
        match (e, region) {
            (Encoding::Labels { slots, rest, nullable: has_null, .. }, Region::Labels { allowed }) => {
                let ok = |code: &u32| allowed.as_ref().is_none_or(|a| a.contains(code));
                for (k, code) in slots.iter().enumerate() {
                    mask[at + k] = f32::from(u8::from(ok(code)));
                }
                if !rest.is_empty() {
                    mask[at + slots.len()] = f32::from(u8::from(rest.iter().any(ok)));
                }
                if *has_null {
                    mask[at + e.label_slots()] = f32::from(u8::from(*nullable && allowed.is_none()));
                }
            }
            (Encoding::Numbers { modes, nullable: true, .. }, _) if !*nullable => {
                mask[at + 1 + modes.len()] = 0.0;
            }
            _ => {}
        }
    }
    mask
}

impl Synthesizer for NeuralModel {
    fn method_name(&self) -> &'static str {
        self.method.name()
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model serializes")
    }

    fn sample(&self, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        let template = template(&self.transform);
        let regions = region::regions(&template, &self.constraints, condition)?;
        let network = self.network()?;
        let device = Default::default();
        let mut rng = sailkg_gen::stream(seed, 0x7361_6D70);
        // The conditional block: the label column restricted the most (its allowed
        // categories by frequency); else, per row, a column at random and a category by frequency.
        let restricted = self
            .cond
            .iter()
            .enumerate()
            .filter_map(|(k, &(c, _, _))| match &regions.columns[c].0 {
                Region::Labels { allowed: Some(allowed) } => {
                    let e = &self.transform.encodings[c];
                    let Encoding::Labels { frequencies, .. } = e else { return None };
                    let share: f64 = allowed.iter().map(|&a| frequencies[a as usize]).sum();
                    let mut slots: Vec<u32> = allowed.iter().map(|&a| e.slot_of(a) as u32).collect();
                    slots.sort_unstable();
                    slots.dedup();
                    Some((k, slots, share))
                }
                _ => None,
            })
            .min_by(|a, b| a.2.total_cmp(&b.2));
        let allowed = allowed_positions(&self.transform, &regions);
        let guidance = if restricted.is_some() { self.options.guidance } else { 0.0 };
        let (w, cw) = (self.config.width, self.config.cond_width);
        let mut rows = Vec::with_capacity(n * w);
        const CHUNK: usize = 2048;
        let mut done = 0;
        while done < n {
            let m = CHUNK.min(n - done);
            let mut c = vec![0.0f32; m * cw];
            for b in 0..m {
                let choice = match &restricted {
                    Some((k, allowed, _)) => Some((*k, allowed.clone())),
                    None if !self.cond.is_empty() => {
                        let k = rng.random_range(0..self.cond.len());
                        Some((k, (0..self.cond[k].2 as u32).collect()))
                    }
                    None => None,
                };
                if let Some((k, allowed)) = choice {
                    let (column, offset, _) = self.cond[k];
                    let shares = self.transform.encodings[column].slot_shares();
                    let weights: Vec<f64> = allowed.iter().map(|&a| shares[a as usize].max(1e-9)).collect();
                    let total: f64 = weights.iter().sum();
                    let mut u = rng.random::<f64>() * total;
                    let mut level = allowed[allowed.len() - 1];
                    for (a, w) in allowed.iter().zip(&weights) {
                        if u < *w {
                            level = *a;
                            break;
                        }
                        u -= w;
                    }
                    c[b * cw + offset + level as usize] = 1.0;
                }
            }
            let values: Vec<f32> = match &network {
                Net::Tvae(_) | Net::Ctgan(_) => {
                    let z: Vec<f32> =
                        (0..m * self.config.latent).map(|_| transform::normal(&mut rng)).collect();
                    let z = Tensor::<Cpu, 2>::from_data(TensorData::new(z, [m, self.config.latent]), &device);
                    let c = Tensor::<Cpu, 2>::from_data(TensorData::new(c, [m, cw]), &device);
                    let out = match &network {
                        Net::Tvae(network) => network.decode(z, c),
                        Net::Ctgan(generator) => generator.forward(z, c),
                        Net::Diffusion(_) => unreachable!("matched above"),
                    };
                    activate(out, &self.transform)
                        .into_data()
                        .to_vec::<f32>()
                        .map_err(|e| GenError::Model(format!("the network's output: {e:?}")))?
                }
                Net::Diffusion(denoiser) => diffusion::generate(
                    denoiser,
                    &self.config,
                    &self.transform,
                    &c,
                    &allowed,
                    guidance,
                    &mut rng,
                )?,
            };
            rows.extend_from_slice(&values);
            done += m;
        }
        // The spread of each numeric column's value around its decoded α: TVAE's learned
        // output noise; for the others a small fixed spread (in α units).
        let sigma: Vec<f32> = match &network {
            Net::Tvae(network) => {
                network.noise().into_data().to_vec::<f32>().map_err(|e| GenError::Model(format!("{e:?}")))?
            }
            _ => vec![0.05; w],
        };
        let noise: Vec<f32> = self
            .transform
            .encodings
            .iter()
            .zip(&self.transform.offsets)
            .map(|(e, &at)| if matches!(e, Encoding::Numbers { .. }) { sigma[at] } else { 0.0 })
            .collect();
        let table = self.transform.decode(&rows, &noise, &regions, seed)?;
        let mut warnings = Vec::new();
        if self.report.stopped_early {
            warnings.push(format!("training stopped early at epoch {}", self.report.epochs_run));
        }
        Ok(Sample { table, weights: None, warnings, mcmc: None, tilt: None })
    }
}

/// A table with the transform's columns and no rows, for regions.
fn template(transform: &Transform) -> Table {
    let columns = transform
        .encodings
        .iter()
        .zip(&transform.names)
        .zip(&transform.roles)
        .map(|((e, name), role)| sailkg_gen::Column {
            name: name.clone(),
            role: *role,
            values: match e {
                Encoding::Numbers { kind, timezone, .. } => {
                    Values::Numbers { kind: *kind, values: Vec::new(), timezone: timezone.clone() }
                }
                Encoding::Id { numeric: true } => Values::Numbers {
                    kind: sailkg_gen::NumberKind::Integer,
                    values: Vec::new(),
                    timezone: None,
                },
                Encoding::Labels { levels, boolean, .. } => {
                    Values::Labels { levels: levels.clone(), codes: Vec::new(), boolean: *boolean }
                }
                Encoding::Id { numeric: false } => {
                    Values::Labels { levels: Vec::new(), codes: Vec::new(), boolean: false }
                }
                Encoding::Null { numeric: true, kind, .. } => {
                    Values::Numbers { kind: *kind, values: Vec::new(), timezone: None }
                }
                Encoding::Null { numeric: false, boolean, .. } => {
                    Values::Labels { levels: Vec::new(), codes: Vec::new(), boolean: *boolean }
                }
            },
        })
        .collect();
    Table::new(columns).expect("no rows, one per column")
}

#[cfg(test)]
mod tests;
