//! SAIL-KG neural generators on burn 0.21 (pinned: 0.22's CUDA backend downloads LLVM at build
//! time and cannot build offline). The CPU backend (ndarray) by default; CUDA behind the `cuda`
//! feature. Every model implements [`sailkg_gen::Synthesizer`], so the CLI samples, evaluates
//! and records it like the statistical methods.
//!
//! Built so far: the shared transform ([`transform`]) and a conditional TVAE ([`tvae`]) with
//! training-by-sampling, optional logit adjustment, progress, early stopping, seeded
//! determinism on CPU, and save/load. Not yet: the conditional GAN, tabular diffusion, the
//! sequence Transformer, LoRA.

pub mod transform;
pub mod tvae;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor, TensorData, activation};
use rand::RngExt;
use sailkg_gen::{Condition, Constraints, GenError, Region, Sample, Synthesizer, Table, Values, region};
use transform::{Encoding, Span, Transform};
use tvae::{Layout, Tvae, TvaeConfig};

/// The CPU backend.
pub type Cpu = NdArray<f32>;

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Cpu,
    Cuda,
}

/// Training settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Options {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Stop when the loss has not improved by 0.1 % for this many epochs (0: never).
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

/// A trained neural generator with everything to sample it again.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NeuralModel {
    /// `tvae`.
    pub method: String,
    /// The version of this format; another version is refused on load.
    pub format: u32,
    pub transform: Transform,
    pub config: TvaeConfig,
    pub constraints: Constraints,
    pub options: Options,
    pub report: TrainingReport,
    /// The label columns of the conditional vector: (column, offset in the vector, slots).
    cond: Vec<(usize, usize, usize)>,
    /// The network's weights (burn's binary record, hex).
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

/// Trains a conditional TVAE on `table`; `progress` is called after every epoch.
pub fn fit_tvae(
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
    region::regions(table, constraints, &Condition::default())?;
    match options.device {
        Device::Cpu => train::<Autodiff<Cpu>>(table, constraints, options, progress, &Default::default()),
        #[cfg(feature = "cuda")]
        Device::Cuda => {
            train::<Autodiff<burn::backend::Cuda>>(table, constraints, options, progress, &Default::default())
        }
        #[cfg(not(feature = "cuda"))]
        Device::Cuda => Err(GenError::Input(
            "this sailkg was built without CUDA: build with --features cuda, or train with --device cpu"
                .into(),
        )),
    }
}

fn train<B: AutodiffBackend>(
    table: &Table,
    constraints: &Constraints,
    options: &Options,
    progress: &mut dyn FnMut(&Progress),
    device: &B::Device,
) -> Result<NeuralModel, GenError> {
    let transform = Transform::fit(table, options.max_width, options.seed)?;
    let encoded = transform.encode(table, options.seed);
    let width = transform.width;
    let n = table.rows();
    // The conditional vector: one block per label column.
    let mut cond = Vec::new();
    let mut cond_width = 0;
    for (c, e) in transform.encodings.iter().enumerate() {
        if let Encoding::Labels { .. } = e {
            cond.push((c, cond_width, e.label_slots()));
            cond_width += e.label_slots();
        }
    }
    // Rows of every category, and categories drawn by log-frequency.
    let rows_of: Vec<Vec<Vec<usize>>> = cond
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
    let config = TvaeConfig { width, cond_width: cond_width.max(1), hidden: 128, latent: 128 };
    let mut model: Tvae<B> = new_network(&config, device, Some(options.seed));
    let parameters = model.num_params();
    let layout = Layout::<B>::new(&transform, options.logit_adjustment, device);
    let mut optimizer =
        AdamConfig::new().with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(1e-5))).init();
    let batch = options.batch_size.min(n);
    let steps = n.div_ceil(batch);
    let started = std::time::Instant::now();
    let mut state = State { epoch: 0, first: f64::NAN, best: f64::INFINITY, last: f64::NAN, since_best: 0 };
    if options.resume {
        let dir = options
            .checkpoint
            .as_deref()
            .ok_or_else(|| GenError::Input("--resume needs --checkpoint DIR".into()))?;
        let checkpoint = Checkpoint::read(dir)?;
        checkpoint.check(&transform, &config, options)?;
        model = model.load_record(
            recorder()
                .load(checkpoint.weights(dir)?, device)
                .map_err(|e| GenError::Model(format!("{}: {e}", dir.display())))?,
        );
        optimizer = optimizer.load_record(
            recorder()
                .load(checkpoint.optimizer(dir)?, device)
                .map_err(|e| GenError::Model(format!("{}: {e}", dir.display())))?,
        );
        state = checkpoint.state;
    }
    let mut stopped_early = false;
    for epoch in state.epoch + 1..=options.epochs {
        // Each epoch's draws come from its own stream, so a resumed run continues exactly.
        let mut rng = sailkg_gen::stream(options.seed, 0x7472_6169 + epoch);
        let mut total = 0.0;
        for _ in 0..steps {
            let mut x = Vec::with_capacity(batch * width);
            let mut c = vec![0.0f32; batch * config.cond_width];
            for b in 0..batch {
                let row = if cond.is_empty() {
                    rng.random_range(0..n)
                } else {
                    let k = rng.random_range(0..cond.len());
                    let (_, offset, levels) = cond[k];
                    let weights: Vec<f64> =
                        (0..levels).map(|l| (1.0 + rows_of[k][l].len() as f64).ln()).collect();
                    let sum: f64 = weights.iter().sum();
                    let mut u = rng.random::<f64>() * sum;
                    let mut level = levels - 1;
                    for (l, w) in weights.iter().enumerate() {
                        if u < *w && !rows_of[k][l].is_empty() {
                            level = l;
                            break;
                        }
                        u -= w;
                    }
                    while rows_of[k][level].is_empty() {
                        level = (level + 1) % levels;
                    }
                    c[b * config.cond_width + offset + level] = 1.0;
                    rows_of[k][level][rng.random_range(0..rows_of[k][level].len())]
                };
                x.extend_from_slice(&encoded[row * width..(row + 1) * width]);
            }
            let value;
            (model, value) = step(
                model,
                &mut optimizer,
                (x, c),
                &config,
                &layout,
                options.learning_rate,
                &mut rng,
                device,
            )
            .map_err(|e| GenError::Input(format!("epoch {epoch}: {e}")))?;
            total += value;
        }
        let loss = total / steps as f64;
        state.epoch = epoch;
        if epoch == 1 {
            state.first = loss;
        }
        state.last = loss;
        if loss < state.best - 1e-3 * state.best.abs().max(1e-9) {
            state.best = loss;
            state.since_best = 0;
        } else {
            state.best = state.best.min(loss);
            state.since_best += 1;
        }
        if let Some(dir) = &options.checkpoint
            && (epoch % options.checkpoint_every.max(1) == 0 || epoch == options.epochs)
        {
            Checkpoint::write(dir, &transform, &config, options, &state, &model, &optimizer)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        progress(&Progress {
            epoch,
            epochs: options.epochs,
            loss,
            seconds,
            eta_seconds: seconds / epoch as f64 * (options.epochs - epoch) as f64,
        });
        if options.patience > 0 && state.since_best >= options.patience {
            stopped_early = true;
            if let Some(dir) = &options.checkpoint {
                Checkpoint::write(dir, &transform, &config, options, &state, &model, &optimizer)?;
            }
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let record = BinBytesRecorder::<FullPrecisionSettings>::default()
        .record(model.valid().into_record(), ())
        .map_err(|e| GenError::Model(format!("the weights cannot be written: {e}")))?;
    Ok(NeuralModel {
        method: "tvae".into(),
        format: FORMAT,
        transform,
        config,
        constraints: constraints.clone(),
        options: options.clone(),
        report: TrainingReport {
            epochs_run: state.epoch,
            stopped_early,
            first_loss: state.first,
            last_loss: state.last,
            best_loss: state.best,
            seconds,
            seconds_per_epoch: seconds / state.epoch.max(1) as f64,
            parameters,
        },
        cond,
        weights: hex(&record),
    })
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
}

/// A training checkpoint: `config.json` (format, transform, network shape, options, state),
/// `weights.bin` and `optimizer.bin` (burn binary records), each written whole then renamed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    format: u32,
    method: String,
    transform: Transform,
    config: TvaeConfig,
    options: Options,
    state: State,
}

impl Checkpoint {
    fn write<B: AutodiffBackend>(
        dir: &std::path::Path,
        transform: &Transform,
        config: &TvaeConfig,
        options: &Options,
        state: &State,
        model: &Tvae<B>,
        optimizer: &impl Optimizer<Tvae<B>, B>,
    ) -> Result<(), GenError> {
        let io = |e: std::io::Error| GenError::Model(format!("checkpoint {}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let checkpoint = Checkpoint {
            format: FORMAT,
            method: "tvae".into(),
            transform: transform.clone(),
            config: config.clone(),
            options: options.clone(),
            state: state.clone(),
        };
        let weights =
            recorder().record(model.clone().into_record(), ()).map_err(|e| GenError::Model(e.to_string()))?;
        let moments =
            recorder().record(optimizer.to_record(), ()).map_err(|e| GenError::Model(e.to_string()))?;
        let json = serde_json::to_vec_pretty(&checkpoint).map_err(|e| GenError::Model(e.to_string()))?;
        for (name, bytes) in [("weights.bin", weights), ("optimizer.bin", moments), ("config.json", json)] {
            let partial = dir.join(format!("{name}.partial"));
            std::fs::write(&partial, bytes).map_err(io)?;
            std::fs::rename(&partial, dir.join(name)).map_err(io)?;
        }
        Ok(())
    }

    fn read(dir: &std::path::Path) -> Result<Self, GenError> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| GenError::Input(format!("{}: {e} (no checkpoint to resume)", path.display())))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| GenError::Model(format!("{}: {e}", path.display())))?;
        match (
            value.get("format").and_then(serde_json::Value::as_u64),
            value.get("method").and_then(|m| m.as_str()),
        ) {
            (Some(f), Some("tvae")) if f == u64::from(FORMAT) => {}
            (f, m) => {
                return Err(GenError::Input(format!(
                    "{} was made by another model or version ({} format {}); this sailkg resumes tvae format {FORMAT}",
                    path.display(),
                    m.unwrap_or("unknown"),
                    f.map_or("unknown".into(), |f| f.to_string())
                )));
            }
        }
        serde_json::from_value(value).map_err(|e| GenError::Model(format!("{}: {e}", path.display())))
    }

    /// Refuses a checkpoint of another table, network or training setup.
    fn check(&self, transform: &Transform, config: &TvaeConfig, options: &Options) -> Result<(), GenError> {
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
        if self.state.epoch >= options.epochs {
            return Err(GenError::Input(format!(
                "the checkpoint has {} epochs already: ask for more than that with --epochs",
                self.state.epoch
            )));
        }
        Ok(())
    }

    fn weights(&self, dir: &std::path::Path) -> Result<Vec<u8>, GenError> {
        std::fs::read(dir.join("weights.bin")).map_err(|e| GenError::Model(format!("{}: {e}", dir.display())))
    }

    fn optimizer(&self, dir: &std::path::Path) -> Result<Vec<u8>, GenError> {
        std::fs::read(dir.join("optimizer.bin"))
            .map_err(|e| GenError::Model(format!("{}: {e}", dir.display())))
    }
}

/// One optimisation step on a batch (encoded rows and conditional vectors, row-major); the
/// reparameterisation noise comes from `rng`. Returns the model and the batch's loss.
#[allow(clippy::too_many_arguments)]
fn step<B: AutodiffBackend>(
    model: Tvae<B>,
    optimizer: &mut impl Optimizer<Tvae<B>, B>,
    (x, c): (Vec<f32>, Vec<f32>),
    config: &TvaeConfig,
    layout: &Layout<B>,
    learning_rate: f64,
    rng: &mut rand::rngs::Xoshiro256PlusPlus,
    device: &B::Device,
) -> Result<(Tvae<B>, f64), String> {
    let batch = x.len() / config.width;
    let x = Tensor::<B, 2>::from_data(TensorData::new(x, [batch, config.width]), device);
    let c = Tensor::<B, 2>::from_data(TensorData::new(c, [batch, config.cond_width]), device);
    let eps: Vec<f32> = (0..batch * config.latent).map(|_| transform::normal(rng)).collect();
    let eps = Tensor::<B, 2>::from_data(TensorData::new(eps, [batch, config.latent]), device);
    let loss = model.loss(x, c, eps, layout);
    let value: f64 = loss.clone().into_scalar().elem();
    if !value.is_finite() {
        return Err(format!("training diverged (loss {value}): lower the learning rate"));
    }
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    Ok((optimizer.step(learning_rate, model, grads), value))
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
    let mut optimizer = AdamConfig::new().init();
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
            (model, value) = step(
                model,
                &mut optimizer,
                (x, c),
                &base.config,
                &layout,
                base.options.learning_rate,
                &mut rng,
                &device,
            )
            .map_err(|e| GenError::Input(format!("fine-tuning epoch {epoch}: {e}")))?;
            total += value;
        }
        last = total / steps as f64;
        if epoch == 1 {
            first = last;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let tuned = model.valid().merge();
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
fn with_adapters_seeded<B: burn::tensor::backend::Backend>(
    model: Tvae<B>,
    config: &TvaeConfig,
    rank: usize,
    device: &B::Device,
    seed: u64,
) -> Tvae<B> {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    B::seed(device, seed ^ 0x6C6F_7261);
    let model = model.with_adapters(rank, device);
    let z = Tensor::<B, 2>::zeros([1, config.latent], device);
    let c = Tensor::<B, 2>::zeros([1, config.cond_width], device);
    let _ = model.decode(z, c);
    model
}

static RNG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A new network, its parameters initialised from `seed` (None: whatever, they are about to be
/// replaced). burn's generator is global and parameters initialise lazily, so seeding and first
/// use happen under one lock: concurrent trainings (tests, a server's jobs) never draw from each
/// other's stream.
pub fn new_network<B: burn::tensor::backend::Backend>(
    config: &TvaeConfig,
    device: &B::Device,
    seed: Option<u64>,
) -> Tvae<B> {
    let _guard = RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(seed) = seed {
        B::seed(device, seed);
    }
    let model = Tvae::new(config, device);
    let x = Tensor::<B, 2>::zeros([1, config.width], device);
    let c = Tensor::<B, 2>::zeros([1, config.cond_width], device);
    let (mu, _) = model.encode(x, c.clone());
    let _ = model.decode(mu, c);
    model
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

    fn network(&self) -> Result<Tvae<Cpu>, GenError> {
        self.load_network::<Cpu>(&Default::default())
    }

    /// The trained network on any backend.
    pub fn load_network<B: burn::tensor::backend::Backend>(
        &self,
        device: &B::Device,
    ) -> Result<Tvae<B>, GenError> {
        let bytes = unhex(&self.weights)?;
        let record = BinBytesRecorder::<FullPrecisionSettings>::default()
            .load(bytes, device)
            .map_err(|e| GenError::Model(format!("the weights do not load: {e}")))?;
        Ok(new_network::<B>(&self.config, device, None).load_record(record))
    }
}

impl Synthesizer for NeuralModel {
    fn method_name(&self) -> &'static str {
        "tvae"
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
        let (w, cw) = (self.config.width, self.config.cond_width);
        let spans = self.transform.spans();
        let mut rows = Vec::with_capacity(n * w);
        const CHUNK: usize = 2048;
        let mut done = 0;
        while done < n {
            let m = CHUNK.min(n - done);
            let z: Vec<f32> = (0..m * self.config.latent).map(|_| transform::normal(&mut rng)).collect();
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
            let z = Tensor::<Cpu, 2>::from_data(TensorData::new(z, [m, self.config.latent]), &device);
            let c = Tensor::<Cpu, 2>::from_data(TensorData::new(c, [m, cw]), &device);
            let out = network.decode(z, c);
            let mut parts = Vec::new();
            let mut at = 0;
            for span in &spans {
                let (start, size, softmax) = match *span {
                    Span::Tanh { start } => (start, 1, false),
                    Span::Softmax { start, size, .. } => (start, size, true),
                };
                debug_assert_eq!(start, at);
                let block = out.clone().narrow(1, start, size);
                parts.push(if softmax { activation::softmax(block, 1) } else { activation::tanh(block) });
                at = start + size;
            }
            let activated = Tensor::cat(parts, 1);
            let values: Vec<f32> = activated
                .into_data()
                .to_vec::<f32>()
                .map_err(|e| GenError::Model(format!("the decoder's output: {e:?}")))?;
            rows.extend_from_slice(&values);
            done += m;
        }
        let sigma: Vec<f32> =
            network.noise().into_data().to_vec::<f32>().map_err(|e| GenError::Model(format!("{e:?}")))?;
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
