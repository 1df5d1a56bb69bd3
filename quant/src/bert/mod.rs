//! A BERT-style encoder read from a model file (all-MiniLM-L6-v2 and its
//! kind): the exact float forward pass ([`BertModel::forward`]), the same
//! pass through the integer models in per-tensor formats
//! ([`integer::IntEncoder`]), and the choice of those formats from real
//! activations ([`calibrate`]).
//!
//! ```text
//!  ids ─▶ word + position + type embeddings ─▶ LayerNorm ─▶ x
//!  per layer:  q, k, v = x Wq, x Wk, x Wv (+ biases)
//!              context = per head softmax(q k^T / sqrt(d) + mask) v
//!              h = LN(x + context Wo)
//!              y = LN(h + GELU(h W1) W2)          (post-norm, exact-erf GELU)
//!  sentence embedding = L2-normalized mean of y over the real tokens
//! ```
//! The embeddings stay in float in every variant: hardware starts at the
//! first encoder layer.

pub mod calibrate;
pub mod compare;
pub mod integer;
pub mod layer_source;
pub mod seeded;

use crate::error::{QuantError, Result};
use crate::reference::{
    layer_norm, optional_layer_norm, sdpa, Activation, EncoderWeights, FfnWeights, Linear, MultiHeadWeights,
};
use crate::weights::{read_float, read_linear, FloatTensor};
use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// One sentence for the model: token ids and the attention mask (true
/// for a real token, false for padding).
pub type Tokens = (Vec<u32>, Vec<bool>);

/// The sizes of a BERT model, as its `config.json` states them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Width of every token vector (`hidden_size`).
    pub hidden_size: usize,
    /// Heads per layer (`num_attention_heads`).
    pub num_attention_heads: usize,
    /// Encoder layers (`num_hidden_layers`).
    pub num_hidden_layers: usize,
    /// FFN width (`intermediate_size`).
    pub intermediate_size: usize,
    /// Layer norm epsilon (`layer_norm_eps`).
    pub layer_norm_eps: f64,
}

impl BertConfig {
    /// Reads a Hugging Face `config.json` of a BERT model; anything but a
    /// post-norm BERT with exact GELU and absolute positions is refused.
    pub fn from_json(text: &str, file: &str) -> Result<Self> {
        let invalid = |why: String| QuantError::InvalidParameter(format!("{file}: {why}"));
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("not JSON ({e})")))?;
        let number = |key: &str| -> Result<usize> {
            json.get(key)
                .and_then(serde_json::Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| invalid(format!("no integer `{key}`")))
        };
        let text_of = |key: &str| json.get(key).and_then(serde_json::Value::as_str);
        if let Some(kind) = text_of("model_type").filter(|k| *k != "bert") {
            return Err(invalid(format!(
                "model_type is `{kind}`; only `bert` is supported"
            )));
        }
        if let Some(act) = text_of("hidden_act").filter(|a| *a != "gelu") {
            return Err(invalid(format!(
                "hidden_act is `{act}`; only `gelu` (exact erf) is supported"
            )));
        }
        if let Some(pos) = text_of("position_embedding_type").filter(|p| *p != "absolute") {
            return Err(invalid(format!(
                "position_embedding_type is `{pos}`; only `absolute` is supported"
            )));
        }
        let config = Self {
            hidden_size: number("hidden_size")?,
            num_attention_heads: number("num_attention_heads")?,
            num_hidden_layers: number("num_hidden_layers")?,
            intermediate_size: number("intermediate_size")?,
            layer_norm_eps: json
                .get("layer_norm_eps")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1e-12),
        };
        if config.num_attention_heads == 0 || config.hidden_size % config.num_attention_heads != 0 {
            return Err(invalid(format!(
                "{} heads do not divide hidden_size {}",
                config.num_attention_heads, config.hidden_size
            )));
        }
        Ok(config)
    }

    /// Elements of one head's q, k and v.
    pub fn head_size(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// A BERT encoder's weights, held as f64.
#[derive(Debug, Clone)]
pub struct BertModel {
    config: BertConfig,
    /// Word embeddings `[vocab][hidden]`, as stored (f64).
    words: FloatTensor,
    positions: Array2<f64>,
    token_type: Array1<f64>,
    embedding_norm: (Array1<f64>, Array1<f64>),
    layers: Vec<EncoderWeights>,
    prefix: &'static str,
}

fn vector(bytes: &[u8], file: &str, name: &str, len: usize) -> Result<Array1<f64>> {
    let t = read_float(bytes, file, name)?;
    if t.shape != [len] {
        return Err(QuantError::InvalidParameter(format!(
            "{file}: tensor `{name}` has shape {:?}, expected [{len}]",
            t.shape
        )));
    }
    Ok(Array1::from(t.values))
}

fn matrix(bytes: &[u8], file: &str, name: &str, cols: usize) -> Result<Array2<f64>> {
    let t = read_float(bytes, file, name)?;
    match t.shape[..] {
        [rows, c] if c == cols => Array2::from_shape_vec((rows, cols), t.values)
            .map_err(|e| QuantError::InvalidParameter(format!("{file}: `{name}`: {e}"))),
        _ => Err(QuantError::InvalidParameter(format!(
            "{file}: tensor `{name}` has shape {:?}, expected [rows, {cols}]",
            t.shape
        ))),
    }
}

impl BertModel {
    /// Reads the first `layers` encoder layers (all when `None`) from
    /// the safetensors `bytes` of a Hugging Face `BertModel` (tensor names
    /// with or without the `bert.` prefix), checking every shape.
    pub fn from_safetensors(
        bytes: &[u8],
        file: &str,
        config: BertConfig,
        layers: Option<usize>,
    ) -> Result<Self> {
        let hidden = config.hidden_size;
        let prefix = if read_float(bytes, file, "embeddings.LayerNorm.weight").is_ok() {
            ""
        } else {
            "bert."
        };
        let name = |n: &str| format!("{prefix}{n}");
        let layers = layers.unwrap_or(config.num_hidden_layers);
        if !(1..=config.num_hidden_layers).contains(&layers) {
            return Err(QuantError::InvalidParameter(format!(
                "layers = {layers}: the model has 1 to {} layers",
                config.num_hidden_layers
            )));
        }
        let words = read_float(bytes, file, &name("embeddings.word_embeddings.weight"))?;
        if words.shape.len() != 2 || words.shape[1] != hidden {
            return Err(QuantError::InvalidParameter(format!(
                "{file}: word embeddings have shape {:?}, expected [vocab, {hidden}]",
                words.shape
            )));
        }
        let positions = matrix(
            bytes,
            file,
            &name("embeddings.position_embeddings.weight"),
            hidden,
        )?;
        let token_types = matrix(
            bytes,
            file,
            &name("embeddings.token_type_embeddings.weight"),
            hidden,
        )?;
        let embedding_norm = (
            vector(bytes, file, &name("embeddings.LayerNorm.weight"), hidden)?,
            vector(bytes, file, &name("embeddings.LayerNorm.bias"), hidden)?,
        );
        let linear = |n: &str, d_in: usize, d_out: usize| -> Result<Linear> {
            let layer = read_linear(
                bytes,
                file,
                &name(&format!("{n}.weight")),
                Some(&name(&format!("{n}.bias"))),
            )?;
            if layer.weight.dim() != (d_in, d_out) {
                return Err(QuantError::InvalidParameter(format!(
                    "{file}: `{n}.weight` is [{}, {}], expected [{d_out}, {d_in}]",
                    layer.weight.ncols(),
                    layer.weight.nrows()
                )));
            }
            Ok(layer)
        };
        let ff = config.intermediate_size;
        let layers = (0..layers)
            .map(|l| -> Result<EncoderWeights> {
                let at = |n: &str| format!("encoder.layer.{l}.{n}");
                let norm = |n: &str| -> Result<(Array1<f64>, Array1<f64>)> {
                    Ok((
                        vector(bytes, file, &name(&at(&format!("{n}.weight"))), hidden)?,
                        vector(bytes, file, &name(&at(&format!("{n}.bias"))), hidden)?,
                    ))
                };
                Ok(EncoderWeights {
                    attention: MultiHeadWeights {
                        query: linear(&at("attention.self.query"), hidden, hidden)?,
                        key: linear(&at("attention.self.key"), hidden, hidden)?,
                        value: linear(&at("attention.self.value"), hidden, hidden)?,
                        output: linear(&at("attention.output.dense"), hidden, hidden)?,
                        heads: config.num_attention_heads,
                    },
                    ffn: FfnWeights {
                        up: linear(&at("intermediate.dense"), hidden, ff)?,
                        down: linear(&at("output.dense"), ff, hidden)?,
                        activation: Activation::Gelu,
                    },
                    norm1: Some(norm("attention.output.LayerNorm")?),
                    norm2: Some(norm("output.LayerNorm")?),
                    eps: config.layer_norm_eps,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config,
            words,
            positions,
            token_type: token_types.row(0).to_owned(),
            embedding_norm,
            layers,
            prefix,
        })
    }

    /// The model's sizes.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The file's name of tensor `name` (e.g.
    /// `encoder.layer.0.output.dense.weight`): with the file's prefix.
    pub fn tensor_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The encoder layers read.
    pub fn layers(&self) -> &[EncoderWeights] {
        &self.layers
    }

    /// The first layer's input: embeddings of `ids` (one sentence, token
    /// type 0) after their LayerNorm.
    pub fn embed(&self, ids: &[u32]) -> Result<Array2<f64>> {
        let hidden = self.config.hidden_size;
        let vocab = self.words.shape[0];
        if ids.is_empty() {
            return Err(QuantError::Empty("token ids".into()));
        }
        if ids.len() > self.positions.nrows() {
            return Err(QuantError::InvalidParameter(format!(
                "{} tokens: the model has {} positions",
                ids.len(),
                self.positions.nrows()
            )));
        }
        let mut x = Array2::zeros((ids.len(), hidden));
        for (t, &id) in ids.iter().enumerate() {
            let id = id as usize;
            if id >= vocab {
                return Err(QuantError::InvalidParameter(format!(
                    "token id {id} is outside the vocabulary of {vocab}"
                )));
            }
            let word = &self.words.values[id * hidden..(id + 1) * hidden];
            for (i, v) in x.row_mut(t).iter_mut().enumerate() {
                *v = word[i] + self.positions[[t, i]] + self.token_type[i];
            }
        }
        layer_norm(
            x.view(),
            self.embedding_norm.0.view(),
            self.embedding_norm.1.view(),
            self.config.layer_norm_eps,
        )
    }

    /// Every layer's tensors for the tokens `ids` with `mask` (1 = a real
    /// token, 0 = padding: no query attends to it).
    pub fn forward(&self, ids: &[u32], mask: &[bool]) -> Result<Vec<LayerTensors>> {
        check_mask(ids.len(), mask)?;
        let mut x = self.embed(ids)?;
        let mut out = Vec::with_capacity(self.layers.len());
        for w in &self.layers {
            let t = float_layer(x.view(), w, mask)?;
            x = t.get(Tensor::Output).clone();
            out.push(t);
        }
        Ok(out)
    }
}

fn check_mask(tokens: usize, mask: &[bool]) -> Result<()> {
    crate::integer::check_len("attention mask", mask.len(), tokens)?;
    if !mask.iter().any(|&m| m) {
        return Err(QuantError::Empty("attention mask (no real token)".into()));
    }
    Ok(())
}

/// The tensors of one encoder layer, in the order they are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tensor {
    /// The layer's input (tokens, hidden).
    Input,
    /// Queries, all heads side by side.
    Query,
    /// Keys.
    Key,
    /// Values.
    Value,
    /// The heads' attention outputs, side by side.
    Context,
    /// The output projection of the context.
    Attention,
    /// Input plus attention: the first LayerNorm's input.
    Residual1,
    /// After the first LayerNorm.
    Norm1,
    /// The FFN's hidden layer after GELU (tokens, intermediate).
    Hidden,
    /// The FFN's output.
    Ffn,
    /// Norm1 plus FFN: the second LayerNorm's input.
    Residual2,
    /// After the second LayerNorm: the layer's output.
    Output,
}

impl Tensor {
    /// Every tensor, in order.
    pub const ALL: [Tensor; 12] = [
        Tensor::Input,
        Tensor::Query,
        Tensor::Key,
        Tensor::Value,
        Tensor::Context,
        Tensor::Attention,
        Tensor::Residual1,
        Tensor::Norm1,
        Tensor::Hidden,
        Tensor::Ffn,
        Tensor::Residual2,
        Tensor::Output,
    ];

    /// Its name in reports and format files.
    pub fn name(self) -> &'static str {
        match self {
            Tensor::Input => "input",
            Tensor::Query => "query",
            Tensor::Key => "key",
            Tensor::Value => "value",
            Tensor::Context => "context",
            Tensor::Attention => "attention",
            Tensor::Residual1 => "residual1",
            Tensor::Norm1 => "norm1",
            Tensor::Hidden => "hidden",
            Tensor::Ffn => "ffn",
            Tensor::Residual2 => "residual2",
            Tensor::Output => "output",
        }
    }
}

/// One layer's tensors (tokens, width), padding rows included.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTensors {
    tensors: Vec<Array2<f64>>,
}

impl LayerTensors {
    /// The tensors in [`Tensor::ALL`] order.
    pub fn new(tensors: Vec<Array2<f64>>) -> Result<Self> {
        crate::integer::check_len("layer tensors", tensors.len(), Tensor::ALL.len())?;
        Ok(Self { tensors })
    }

    /// One tensor.
    pub fn get(&self, t: Tensor) -> &Array2<f64> {
        &self.tensors[t as usize]
    }
}

/// One head's columns of a (tokens, hidden) tensor.
pub fn head_columns(x: ArrayView2<f64>, head: usize, head_size: usize) -> ArrayView2<f64> {
    x.slice_move(s![.., head * head_size..(head + 1) * head_size])
}

/// Rows of `x` where `mask` holds.
pub fn masked_rows(x: ArrayView2<f64>, mask: &[bool]) -> Array2<f64> {
    let rows: Vec<usize> = (0..x.nrows()).filter(|&r| mask[r]).collect();
    x.select(Axis(0), &rows)
}

/// The exact float encoder layer (post-norm BERT), every tensor kept.
/// Padded keys are left out of every softmax, as an additive mask of
/// minus infinity would.
pub fn float_layer(x: ArrayView2<f64>, w: &EncoderWeights, mask: &[bool]) -> Result<LayerTensors> {
    check_mask(x.nrows(), mask)?;
    let a = &w.attention;
    let q = a.query.apply("query projection", x)?;
    let k = a.key.apply("key projection", x)?;
    let v = a.value.apply("value projection", x)?;
    let head_size = a.head_size()?;
    let scale = 1.0 / (head_size as f64).sqrt();
    let mut context = Array2::zeros(q.dim());
    for h in 0..a.heads {
        let keys = masked_rows(head_columns(k.view(), h, head_size), mask);
        let values = masked_rows(head_columns(v.view(), h, head_size), mask);
        let out = sdpa(
            head_columns(q.view(), h, head_size),
            keys.view(),
            values.view(),
            scale,
        )?;
        context
            .slice_mut(s![.., h * head_size..(h + 1) * head_size])
            .assign(&out);
    }
    let attention = a.output.apply("attention output projection", context.view())?;
    let residual1 = &x + &attention;
    let norm1 = optional_layer_norm(residual1.clone(), w.norm1.as_ref(), w.eps)?;
    let hidden = w
        .ffn
        .up
        .apply("FFN input", norm1.view())?
        .mapv(|h| w.ffn.activation.apply(h));
    let ffn = w.ffn.down.apply("FFN hidden", hidden.view())?;
    let residual2 = &norm1 + &ffn;
    let output = optional_layer_norm(residual2.clone(), w.norm2.as_ref(), w.eps)?;
    LayerTensors::new(vec![
        x.to_owned(),
        q,
        k,
        v,
        context,
        attention,
        residual1,
        norm1,
        hidden,
        ffn,
        residual2,
        output,
    ])
}

/// The sentence embedding: the mean of the real tokens' rows, L2-normalized
/// (sentence-transformers' mean pooling and Normalize).
pub fn sentence_embedding(hidden: ArrayView2<f64>, mask: &[bool]) -> Result<Vec<f64>> {
    check_mask(hidden.nrows(), mask)?;
    let mean = masked_rows(hidden, mask)
        .mean_axis(Axis(0))
        .expect("a real token");
    let norm = mean.dot(&mean).sqrt().max(1e-12);
    Ok(mean.iter().map(|v| v / norm).collect())
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"model_type": "bert", "hidden_act": "gelu", "hidden_size": 384,
        "num_attention_heads": 12, "num_hidden_layers": 6, "intermediate_size": 1536,
        "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"}"#;

    #[test]
    fn a_bert_config_is_read_and_anything_else_is_refused() {
        let c = BertConfig::from_json(MINILM, "config.json").unwrap();
        assert_eq!(
            (c.hidden_size, c.num_attention_heads, c.head_size()),
            (384, 12, 32)
        );
        for (change, why) in [
            (("\"gelu\"", "\"gelu_new\""), "only `gelu`"),
            (("\"bert\"", "\"gpt2\""), "only `bert`"),
            (
                ("\"num_attention_heads\": 12", "\"num_attention_heads\": 7"),
                "7 heads do not divide",
            ),
            (("\"hidden_size\": 384,", ""), "no integer `hidden_size`"),
        ] {
            let text = MINILM.replace(change.0, change.1);
            let e = BertConfig::from_json(&text, "config.json")
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{e}");
        }
        assert!(BertConfig::from_json("{", "c")
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
    }

    #[test]
    fn pooling_ignores_padding_and_normalizes() {
        let hidden = ndarray::array![[3.0, 4.0], [100.0, -7.0], [3.0, 4.0]];
        let e = sentence_embedding(hidden.view(), &[true, false, true]).unwrap();
        assert_eq!(e, vec![0.6, 0.8]);
        assert!(sentence_embedding(hidden.view(), &[false; 3]).is_err());
    }
}
