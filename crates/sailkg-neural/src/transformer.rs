//! A decoder-only Transformer over token sequences, for the two kinds of sequences tables hold:
//! time series (values in quantile bins, a bin of its own for a value that repeats, like the
//! zeros of rainfall) and short text fields (character level, optionally after a class token
//! so text is generated for a rare class directly). Pre-norm blocks with causal self-attention
//! (burn's `TransformerEncoder` with the autoregressive mask), learned token and position
//! embeddings; sampling with temperature and top-k. A series longer than the context window is
//! generated with a sliding window.

use crate::{Device, Progress, TrainingReport};
use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Module};
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData, activation};
use rand::RngExt;
use sailkg_gen::{GenError, Table, Values};

/// The network's shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SequenceShape {
    pub vocabulary: usize,
    /// Tokens the model sees at once.
    pub context: usize,
    pub width: usize,
    pub heads: usize,
    pub layers: usize,
}

/// The decoder.
#[derive(Module, Debug)]
pub struct Decoder<B: Backend> {
    tokens: Embedding<B>,
    positions: Embedding<B>,
    blocks: TransformerEncoder<B>,
    out: Linear<B>,
}

impl<B: Backend> Decoder<B> {
    pub fn new(shape: &SequenceShape, device: &B::Device) -> Self {
        Self {
            tokens: EmbeddingConfig::new(shape.vocabulary, shape.width)
                .with_initializer(burn::nn::Initializer::Normal { mean: 0.0, std: 0.02 })
                .init(device),
            positions: EmbeddingConfig::new(shape.context, shape.width)
                .with_initializer(burn::nn::Initializer::Normal { mean: 0.0, std: 0.02 })
                .init(device),
            // No dropout: burn's dropout draws from its global generator, which would make a
            // seeded training depend on what else runs.
            blocks: TransformerEncoderConfig::new(shape.width, 4 * shape.width, shape.heads, shape.layers)
                .with_dropout(0.0)
                .with_norm_first(true)
                .init(device),
            out: LinearConfig::new(shape.width, shape.vocabulary).init(device),
        }
    }

    /// Logits of the next token at every position: [batch, length, vocabulary].
    pub fn forward(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [batch, length] = tokens.dims();
        let device = tokens.device();
        let positions = Tensor::<B, 1, Int>::arange(0..length as i64, &device)
            .reshape([1, length])
            .expand([batch, length]);
        let x = self.tokens.forward(tokens) + self.positions.forward(positions);
        let mask = generate_autoregressive_mask::<B>(batch, length, &device);
        self.out.forward(self.blocks.forward(TransformerEncoderInput::new(x).mask_attn(mask)))
    }
}

fn decoder<B: Backend>(shape: &SequenceShape, device: &B::Device, seed: Option<u64>) -> Decoder<B> {
    crate::seeded::<B, _>(device, seed, || {
        let network = Decoder::new(shape, device);
        let _ = network.forward(Tensor::zeros([1, 2], device));
        network
    })
}

/// How values and characters become tokens.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Tokens {
    /// A series' values in bins of about equal counts: token b is a value in bins[b] = (lo, hi),
    /// the smallest and largest real value of the bin (lo = hi for a repeated value's own bin);
    /// the token after the last bin starts a series.
    Bins { column: String, bins: Vec<(f64, f64)>, integer: bool },
    /// The characters of a text column (the most frequent `alphabet`), then a start and an end
    /// token, then one token per class when the text is conditioned on a label column.
    Chars { column: String, alphabet: Vec<char>, classes: Option<Classes>, max_chars: usize },
}

/// The class tokens of text conditioned on a label column.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Classes {
    pub column: String,
    pub levels: Vec<String>,
    /// Share of every level among the rows with text.
    pub shares: Vec<f64>,
}

/// Characters kept at most (the rest are dropped from the text).
const ALPHABET: usize = 200;

impl Tokens {
    fn vocabulary(&self) -> usize {
        match self {
            Tokens::Bins { bins, .. } => bins.len() + 1,
            Tokens::Chars { alphabet, classes, .. } => {
                alphabet.len() + 2 + classes.as_ref().map_or(0, |c| c.levels.len())
            }
        }
    }

    /// The first token of a sequence: the start token, or the class's token.
    fn start(&self, class: Option<usize>) -> u32 {
        match (self, class) {
            (Tokens::Bins { bins, .. }, _) => bins.len() as u32,
            (Tokens::Chars { alphabet, .. }, Some(c)) => (alphabet.len() + 2 + c) as u32,
            (Tokens::Chars { alphabet, .. }, None) => alphabet.len() as u32,
        }
    }

    /// Whether `token` may be generated (values, characters, the end; never a start).
    fn generable(&self, token: usize) -> bool {
        match self {
            Tokens::Bins { bins, .. } => token < bins.len(),
            Tokens::Chars { alphabet, .. } => token <= alphabet.len() + 1 && token != alphabet.len(),
        }
    }

    fn end(&self) -> Option<u32> {
        match self {
            Tokens::Bins { .. } => None,
            Tokens::Chars { alphabet, .. } => Some(alphabet.len() as u32 + 1),
        }
    }
}

/// Bins of about `count` equal shares of `values`; a value repeated more than half a bin's
/// share gets a bin of its own.
fn bins(values: &[f64], count: usize) -> Vec<(f64, f64)> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let share = (n as f64 / count as f64).max(1.0);
    let mut bins: Vec<(f64, f64)> = Vec::new();
    let mut i = 0;
    while i < n {
        let run = sorted[i..].iter().take_while(|v| **v == sorted[i]).count();
        if run as f64 >= share / 2.0 {
            bins.push((sorted[i], sorted[i]));
            i += run;
            continue;
        }
        // Gather values up to the share, stopping before a long run and never splitting one.
        let start = i;
        while i < n && ((i - start) as f64) < share {
            let run = sorted[i..].iter().take_while(|v| **v == sorted[i]).count();
            if run as f64 >= share / 2.0 {
                break;
            }
            i += run;
        }
        bins.push((sorted[start], sorted[i - 1]));
    }
    bins
}

/// The bin of a value (the nearest for one outside every bin).
fn bin_of(bins: &[(f64, f64)], v: f64) -> usize {
    let k = bins.partition_point(|(lo, _)| *lo <= v);
    if k == 0 {
        return 0;
    }
    let hi = bins[k - 1].1;
    if v <= hi || k == bins.len() {
        return k - 1;
    }
    // Between two bins: the nearer one.
    if v - hi <= bins[k].0 - v { k - 1 } else { k }
}

/// Training settings of a sequence model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SequenceOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub patience: usize,
    pub seed: u64,
    pub device: Device,
    /// Tokens the model sees at once.
    pub context: usize,
    /// Value bins of a series.
    pub bins: usize,
    /// Sampling: the logits are divided by this (below 1: safer, above: more varied).
    pub temperature: f64,
    /// Sampling: only the k likeliest tokens (0: all).
    pub top_k: usize,
    /// Write a checkpoint here every `checkpoint_every` epochs and at the end.
    #[serde(default)]
    pub checkpoint: Option<std::path::PathBuf>,
    #[serde(default)]
    pub checkpoint_every: usize,
    /// Continue from the checkpoint in `checkpoint`.
    #[serde(default)]
    pub resume: bool,
}

impl Default for SequenceOptions {
    fn default() -> Self {
        Self {
            epochs: 50,
            batch_size: 64,
            learning_rate: 1e-3,
            patience: 10,
            seed: 0,
            device: Device::Cpu,
            context: 32,
            bins: 64,
            temperature: 1.0,
            top_k: 0,
            checkpoint: None,
            checkpoint_every: 10,
            resume: false,
        }
    }
}

/// A trained sequence model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SequenceModel {
    /// `transformer`.
    pub method: String,
    pub format: u32,
    pub tokens: Tokens,
    pub shape: SequenceShape,
    pub options: SequenceOptions,
    pub report: TrainingReport,
    weights: String,
}

const FORMAT: u32 = 1;

/// A training checkpoint: `config.json` (format, tokens, shape, options, state), `weights.bin`,
/// `optimizer.bin`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    format: u32,
    method: String,
    tokens: Tokens,
    shape: SequenceShape,
    options: SequenceOptions,
    state: crate::State,
}

/// The sequences of a series table: one per group, values in time order.
pub fn fit_series(
    column: &str,
    groups: &[Vec<f64>],
    integer: bool,
    options: &SequenceOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SequenceModel, GenError> {
    let values: Vec<f64> = groups.concat();
    if values.len() < 3 {
        return Err(GenError::Input(format!("{column}: a sequence model needs at least three values")));
    }
    if options.bins < 2 {
        return Err(GenError::Input("a series needs at least two value bins".into()));
    }
    let bins = bins(&values, options.bins);
    let tokens = Tokens::Bins { column: column.to_owned(), bins, integer };
    let sequences: Vec<Vec<u32>> = groups
        .iter()
        .map(|g| {
            let Tokens::Bins { bins, .. } = &tokens else { unreachable!() };
            std::iter::once(bins.len() as u32).chain(g.iter().map(|v| bin_of(bins, *v) as u32)).collect()
        })
        .collect();
    fit(tokens, sequences, options, progress)
}

/// The text of `column` in `table`, after the class of `classes` (a label column) when given.
pub fn fit_text(
    table: &Table,
    column: &str,
    classes: Option<&str>,
    options: &SequenceOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SequenceModel, GenError> {
    let position = |name: &str| {
        table.position(name).ok_or_else(|| {
            GenError::Input(format!(
                "no column {name}; the table has {}",
                table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })
    };
    let text = &table.columns[position(column)?];
    if !matches!(text.values, Values::Labels { .. }) {
        return Err(GenError::Input(format!("{column} holds numbers, not text")));
    }
    let class_column = match classes {
        Some(name) => {
            let c = &table.columns[position(name)?];
            if !matches!(c.values, Values::Labels { .. }) {
                return Err(GenError::Input(format!(
                    "{name} holds numbers: condition text on a label column"
                )));
            }
            Some(c)
        }
        None => None,
    };
    let rows: Vec<(String, Option<String>)> = (0..table.rows())
        .filter_map(|r| {
            let t = text.text(r).filter(|t| !t.is_empty())?;
            Some((t, class_column.and_then(|c| c.text(r))))
        })
        .collect();
    if rows.len() < 2 {
        return Err(GenError::Input(format!("{column}: fewer than two texts to learn from")));
    }
    let mut counts: std::collections::HashMap<char, usize> = Default::default();
    for (t, _) in &rows {
        for ch in t.chars() {
            *counts.entry(ch).or_default() += 1;
        }
    }
    let mut alphabet: Vec<(char, usize)> = counts.into_iter().collect();
    alphabet.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    alphabet.truncate(ALPHABET);
    let mut alphabet: Vec<char> = alphabet.into_iter().map(|(c, _)| c).collect();
    alphabet.sort_unstable();
    let classes = class_column.map(|c| {
        let mut levels: Vec<String> = rows.iter().filter_map(|(_, k)| k.clone()).collect();
        levels.sort();
        levels.dedup();
        let shares = levels
            .iter()
            .map(|l| rows.iter().filter(|(_, k)| k.as_deref() == Some(l)).count() as f64 / rows.len() as f64)
            .collect();
        Classes { column: c.name.clone(), levels, shares }
    });
    let longest = rows.iter().map(|(t, _)| t.chars().count()).max().unwrap_or(1);
    let max_chars = longest.min(options.context.saturating_sub(2).max(1));
    let tokens = Tokens::Chars { column: column.to_owned(), alphabet, classes, max_chars };
    let Tokens::Chars { alphabet, classes, .. } = &tokens else { unreachable!() };
    let sequences = rows
        .iter()
        .map(|(t, k)| {
            let class =
                classes.as_ref().and_then(|c| k.as_ref().and_then(|k| c.levels.iter().position(|l| l == k)));
            let mut s = vec![tokens.start(class)];
            s.extend(
                t.chars().filter_map(|ch| alphabet.binary_search(&ch).ok()).take(max_chars).map(|i| i as u32),
            );
            s.push(alphabet.len() as u32 + 1);
            s
        })
        .collect();
    fit(tokens, sequences, options, progress)
}

fn fit(
    tokens: Tokens,
    sequences: Vec<Vec<u32>>,
    options: &SequenceOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SequenceModel, GenError> {
    if options.epochs == 0 || options.batch_size == 0 {
        return Err(GenError::Input("epochs and the batch size must be at least 1".into()));
    }
    if options.context < 2 || options.context > 1024 {
        return Err(GenError::Input(format!("context {}: give 2 to 1024 tokens", options.context)));
    }
    if !(options.temperature > 0.0 && options.temperature.is_finite()) {
        return Err(GenError::Input(format!("temperature {}: give a positive number", options.temperature)));
    }
    match options.device {
        Device::Cpu => {
            train::<Autodiff<crate::Cpu>>(tokens, sequences, options, progress, &Default::default())
        }
        #[cfg(feature = "cuda")]
        Device::Cuda => crate::on_cuda(|| {
            train::<Autodiff<burn::backend::Cuda>>(tokens, sequences, options, progress, &Default::default())
        }),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda => Err(crate::cuda_missing()),
    }
}

fn train<B: AutodiffBackend>(
    tokens: Tokens,
    sequences: Vec<Vec<u32>>,
    options: &SequenceOptions,
    progress: &mut dyn FnMut(&Progress),
    device: &B::Device,
) -> Result<SequenceModel, GenError> {
    let longest = sequences.iter().map(Vec::len).max().unwrap_or(2);
    // A window is `length` tokens: inputs its first length − 1, targets its last.
    let length = longest.min(options.context + 1).max(2);
    let shape = SequenceShape {
        vocabulary: tokens.vocabulary(),
        context: length - 1,
        width: 64,
        heads: 4,
        layers: 2,
    };
    let vocabulary = shape.vocabulary;
    let mut model: Decoder<B> = decoder(&shape, device, Some(options.seed));
    let parameters = model.num_params();
    let mut optimizer = AdamConfig::new().init();
    // Windows: every start of every sequence, padded at the end when short.
    let windows: Vec<(usize, usize)> = sequences
        .iter()
        .enumerate()
        .flat_map(|(s, seq)| (0..=seq.len().saturating_sub(length)).map(move |start| (s, start)))
        .collect();
    let batch = options.batch_size.min(windows.len()).max(1);
    let total_tokens: usize = sequences.iter().map(|s| s.len().saturating_sub(1)).sum();
    let steps = total_tokens.div_ceil(batch * (length - 1)).clamp(1, 200);
    let mut state = crate::State::default();
    if options.resume {
        let dir = options
            .checkpoint
            .as_deref()
            .ok_or_else(|| GenError::Input("--resume needs --checkpoint DIR".into()))?;
        let checkpoint: Checkpoint = crate::read_checkpoint(dir, "transformer")?;
        let same_tokens = serde_json::to_value(&checkpoint.tokens).ok() == serde_json::to_value(&tokens).ok();
        if !same_tokens || checkpoint.shape != shape {
            return Err(GenError::Input(
                "the checkpoint was trained on other sequences or another shape".into(),
            ));
        }
        if checkpoint.options.seed != options.seed || checkpoint.options.batch_size != options.batch_size {
            return Err(GenError::Input("the checkpoint was trained with another seed or batch size".into()));
        }
        model = crate::load_record(model, crate::checkpoint_file(dir, "weights.bin")?, device)?;
        optimizer = crate::load_optimizer(optimizer, crate::checkpoint_file(dir, "optimizer.bin")?, device)?;
        state = checkpoint.state;
    }
    let checkpoint = (options.checkpoint.as_deref(), options.checkpoint_every);
    let mut epochs = crate::Epochs::new(state, options.epochs, options.patience, checkpoint, progress)?;
    for epoch in epochs.left() {
        let mut rng = sailkg_gen::stream(options.seed, 0x7365_7100 + epoch);
        let mut total = 0.0;
        for _ in 0..steps {
            let mut inputs = Vec::with_capacity(batch * (length - 1));
            let mut targets = vec![0.0f32; batch * (length - 1) * vocabulary];
            let mut counted = 0usize;
            for b in 0..batch {
                let (s, start) = windows[rng.random_range(0..windows.len())];
                let seq = &sequences[s];
                for i in 0..length - 1 {
                    let input = seq.get(start + i).copied().unwrap_or(0);
                    inputs.push(i64::from(input));
                    if let Some(&target) = seq.get(start + i + 1) {
                        targets[(b * (length - 1) + i) * vocabulary + target as usize] = 1.0;
                        counted += 1;
                    }
                }
            }
            let inputs = Tensor::<B, 2, Int>::from_data(TensorData::new(inputs, [batch, length - 1]), device);
            let targets = Tensor::<B, 2>::from_data(
                TensorData::new(targets, [batch * (length - 1), vocabulary]),
                device,
            );
            let logits = model.forward(inputs).reshape([batch * (length - 1), vocabulary]);
            let loss =
                (targets * activation::log_softmax(logits, 1)).sum().neg().div_scalar(counted.max(1) as f64);
            let value = crate::loss_value(&loss, "training")
                .map_err(|e| GenError::Input(format!("epoch {epoch}: {e}")))?;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(options.learning_rate, model, grads);
            total += value;
        }
        let save = |dir: &std::path::Path, state: &crate::State| {
            let checkpoint = Checkpoint {
                format: FORMAT,
                method: "transformer".into(),
                tokens: tokens.clone(),
                shape: shape.clone(),
                options: options.clone(),
                state: state.clone(),
            };
            let json = serde_json::to_vec_pretty(&checkpoint).map_err(|e| GenError::Model(e.to_string()))?;
            let files = vec![
                ("weights.bin", crate::record(model.clone())?),
                ("optimizer.bin", crate::record_optimizer(&optimizer)?),
            ];
            crate::write_checkpoint(dir, files, json)
        };
        if epochs.end(epoch, total / steps as f64, save)? {
            break;
        }
    }
    let (state, stopped_early) = (epochs.state, epochs.stopped_early);
    let seconds = state.seconds;
    Ok(SequenceModel {
        method: "transformer".into(),
        format: FORMAT,
        tokens,
        shape,
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
        weights: crate::hex(&crate::record(model.valid())?),
    })
}

impl SequenceModel {
    /// Reads a model written by [`SequenceModel::to_json`].
    pub fn from_json(text: &str) -> Result<Self, GenError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| GenError::Model(e.to_string()))?;
        match (
            value.get("method").and_then(|m| m.as_str()),
            value.get("format").and_then(serde_json::Value::as_u64),
        ) {
            (Some("transformer"), Some(f)) if f == u64::from(FORMAT) => {}
            (Some("transformer"), f) => {
                return Err(GenError::Model(format!(
                    "a transformer of format {}; this sailkg reads format {FORMAT}: train it again",
                    f.map_or("unknown".into(), |f| f.to_string())
                )));
            }
            _ => return Err(GenError::Model("not a transformer model".into())),
        }
        serde_json::from_value(value).map_err(|e| GenError::Model(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model serializes")
    }

    /// The series column, for a series model.
    pub fn series_column(&self) -> Option<&str> {
        match &self.tokens {
            Tokens::Bins { column, .. } => Some(column),
            Tokens::Chars { .. } => None,
        }
    }

    /// The text column and the class column, for a text model.
    pub fn text_columns(&self) -> Option<(&str, Option<&Classes>)> {
        match &self.tokens {
            Tokens::Chars { column, classes, .. } => Some((column, classes.as_ref())),
            Tokens::Bins { .. } => None,
        }
    }

    fn network(&self) -> Result<Decoder<crate::Cpu>, GenError> {
        let device = Default::default();
        crate::load_record(decoder(&self.shape, &device, None), crate::unhex(&self.weights)?, &device)
    }

    /// Generates `starts.len()` sequences of at most `steps` tokens after their start tokens,
    /// each ending early at the end token (text).
    fn generate(&self, starts: &[u32], steps: usize, seed: u64) -> Result<Vec<Vec<u32>>, GenError> {
        let network = self.network()?;
        let device = Default::default();
        let mut rng = sailkg_gen::stream(seed, 0x0074_7261_6E73);
        let vocabulary = self.shape.vocabulary;
        let end = self.tokens.end();
        let mut sequences: Vec<Vec<u32>> = starts.iter().map(|s| vec![*s]).collect();
        let mut open: Vec<usize> = (0..starts.len()).collect();
        const CHUNK: usize = 512;
        for _ in 0..steps {
            if open.is_empty() {
                break;
            }
            let mut still = Vec::with_capacity(open.len());
            for chunk in open.chunks(CHUNK) {
                let length = sequences[chunk[0]].len().min(self.shape.context);
                let inputs: Vec<i64> = chunk
                    .iter()
                    .flat_map(|&s| {
                        let seq = &sequences[s];
                        seq[seq.len() - length..].iter().map(|t| i64::from(*t))
                    })
                    .collect();
                let inputs = Tensor::<crate::Cpu, 2, Int>::from_data(
                    TensorData::new(inputs, [chunk.len(), length]),
                    &device,
                );
                let logits =
                    network.forward(inputs).narrow(1, length - 1, 1).reshape([chunk.len(), vocabulary]);
                let logits: Vec<f32> = logits
                    .into_data()
                    .to_vec::<f32>()
                    .map_err(|e| GenError::Model(format!("the decoder: {e:?}")))?;
                for (i, &s) in chunk.iter().enumerate() {
                    let row = &logits[i * vocabulary..(i + 1) * vocabulary];
                    let token = self.pick(row, &mut rng);
                    sequences[s].push(token as u32);
                    if Some(token as u32) != end {
                        still.push(s);
                    }
                }
            }
            open = still;
        }
        Ok(sequences)
    }

    /// A token from logits, by temperature and top-k, among the tokens that may be generated.
    fn pick(&self, logits: &[f32], rng: &mut crate::Rng) -> usize {
        let mut candidates: Vec<(usize, f64)> = logits
            .iter()
            .enumerate()
            .filter(|(t, l)| self.tokens.generable(*t) && l.is_finite())
            .map(|(t, l)| (t, f64::from(*l) / self.options.temperature))
            .collect();
        if candidates.is_empty() {
            return 0;
        }
        if self.options.top_k > 0 && candidates.len() > self.options.top_k {
            candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
            candidates.truncate(self.options.top_k);
        }
        let top = candidates.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = candidates.iter().map(|c| (c.1 - top).exp()).collect();
        let total: f64 = weights.iter().sum();
        candidates[crate::transform::pick(&weights, total, rng)].0
    }

    /// `n` series of `length` values each.
    pub fn paths(&self, n: usize, length: usize, seed: u64) -> Result<Vec<Vec<f64>>, GenError> {
        let Tokens::Bins { bins, integer, .. } = &self.tokens else {
            return Err(GenError::Input("a text model generates text, not series".into()));
        };
        let starts = vec![self.tokens.start(None); n];
        let sequences = self.generate(&starts, length, seed)?;
        let mut rng = sailkg_gen::stream(seed, 0x7661_6C75);
        Ok(sequences
            .into_iter()
            .map(|s| {
                s[1..]
                    .iter()
                    .map(|&t| {
                        let (lo, hi) = bins[(t as usize).min(bins.len() - 1)];
                        let v = if hi > lo { lo + rng.random::<f64>() * (hi - lo) } else { lo };
                        if *integer { v.round().clamp(lo.ceil(), hi.floor().max(lo.ceil())) } else { v }
                    })
                    .collect()
            })
            .collect())
    }

    /// `n` texts, each after a class drawn by its share among `allowed` (all when None); returns
    /// (class, text) pairs.
    pub fn texts(
        &self,
        n: usize,
        allowed: Option<&[String]>,
        seed: u64,
    ) -> Result<Vec<(Option<String>, String)>, GenError> {
        let Tokens::Chars { alphabet, classes, max_chars, .. } = &self.tokens else {
            return Err(GenError::Input("a series model generates series, not text".into()));
        };
        let mut rng = sailkg_gen::stream(seed, 0x636C_6173);
        let chosen: Vec<Option<usize>> = match classes {
            Some(c) => {
                let candidates: Vec<usize> = (0..c.levels.len())
                    .filter(|&k| allowed.is_none_or(|a| a.contains(&c.levels[k])))
                    .collect();
                if candidates.is_empty() {
                    return Err(GenError::Impossible(format!(
                        "no class of {} satisfies the condition (the model knows {})",
                        c.column,
                        c.levels.join(", ")
                    )));
                }
                let weights: Vec<f64> = candidates.iter().map(|&k| c.shares[k].max(1e-12)).collect();
                let total: f64 = weights.iter().sum();
                (0..n).map(|_| Some(candidates[crate::transform::pick(&weights, total, &mut rng)])).collect()
            }
            None if allowed.is_some() => {
                return Err(GenError::Input("this text model has no class column to condition on".into()));
            }
            None => vec![None; n],
        };
        let starts: Vec<u32> = chosen.iter().map(|c| self.tokens.start(*c)).collect();
        let sequences = self.generate(&starts, max_chars + 1, seed)?;
        Ok(sequences
            .into_iter()
            .zip(chosen)
            .map(|(s, class)| {
                let text: String = s[1..]
                    .iter()
                    .take_while(|&&t| (t as usize) < alphabet.len())
                    .map(|&t| alphabet[t as usize])
                    .collect();
                (class.and_then(|k| classes.as_ref().map(|c| c.levels[k].clone())), text)
            })
            .collect())
    }
}

/// How generated texts compare with real ones.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TextMeasures {
    pub real: usize,
    pub synthetic: usize,
    /// 1 − the KS statistic of the lengths in characters.
    pub length_similarity: f64,
    /// 1 − the total variation distance of the character frequencies.
    pub character_similarity: f64,
    /// 1 − the total variation distance of the character-bigram frequencies.
    pub bigram_similarity: f64,
    /// Share of synthetic texts equal to a real one.
    pub exact_copies: f64,
    /// Share of distinct texts among the synthetic ones.
    pub distinct: f64,
}

/// Compares generated texts with the real ones.
pub fn text_measures(real: &[String], synthetic: &[String]) -> TextMeasures {
    let lengths = |t: &[String]| {
        let mut l: Vec<f64> = t.iter().map(|s| s.chars().count() as f64).collect();
        l.sort_by(f64::total_cmp);
        l
    };
    let (a, b) = (lengths(real), lengths(synthetic));
    let mut ks: f64 = 0.0;
    for x in a.iter().chain(&b) {
        let fa = a.partition_point(|v| v <= x) as f64 / a.len().max(1) as f64;
        let fb = b.partition_point(|v| v <= x) as f64 / b.len().max(1) as f64;
        ks = ks.max((fa - fb).abs());
    }
    let grams = |t: &[String], n: usize| {
        let mut counts: std::collections::HashMap<Vec<char>, f64> = Default::default();
        let mut total = 0.0;
        for s in t {
            let chars: Vec<char> = s.chars().collect();
            for w in chars.windows(n) {
                *counts.entry(w.to_vec()).or_default() += 1.0;
                total += 1.0;
            }
        }
        (counts, total)
    };
    let similarity = |n: usize| {
        let ((ra, ta), (sa, tb)) = (grams(real, n), grams(synthetic, n));
        if ta == 0.0 || tb == 0.0 {
            return 0.0;
        }
        let keys: std::collections::HashSet<&Vec<char>> = ra.keys().chain(sa.keys()).collect();
        let tv: f64 = keys
            .into_iter()
            .map(|k| (ra.get(k).copied().unwrap_or(0.0) / ta - sa.get(k).copied().unwrap_or(0.0) / tb).abs())
            .sum::<f64>()
            / 2.0;
        1.0 - tv
    };
    let known: std::collections::HashSet<&String> = real.iter().collect();
    let distinct: std::collections::HashSet<&String> = synthetic.iter().collect();
    let share = |count: usize| count as f64 / synthetic.len().max(1) as f64;
    TextMeasures {
        real: real.len(),
        synthetic: synthetic.len(),
        length_similarity: 1.0 - ks,
        character_similarity: similarity(1),
        bigram_similarity: similarity(2),
        exact_copies: share(synthetic.iter().filter(|s| known.contains(s)).count()),
        distinct: share(distinct.len()),
    }
}
