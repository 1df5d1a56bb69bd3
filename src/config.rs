//! `--config FILE.toml`: a block's configuration in a file, for `gen` and
//! `sim`. Blocks are built for the input formats asked (exp `x`: signed
//! 16-bit with 8 to 12 fraction bits; softmax `logit`: 8 to 10; sdpa `q`, `k`, `v`,
//! `o`: any signed 16-bit format); every other setting is checked against
//! what is built: a format or size the hardware does not have is an error
//! that says what it has.
//!
//! ```toml
//! block = "sdpa"        # exp | softmax | sdpa | binary_attention | fifo | linear | ...
//! d = 16                # sdpa, binary_attention: 1, 2, 4, 8, 16, 32 or 64
//! bits = 32             # binary_attention: code bits, 1 to 64
//! n_max = 65536         # sdpa, binary_attention: most keys a query, 1 to 1048576
//!                       # (default 256); other blocks: must be the built size
//! output_multipliers = 4 # sdpa, binary_attention: lanes of an output a cycle,
//!                       # a power of two from 1 to d (default 1)
//!
//! [formats]             # optional: field = format; inputs are built as asked
//!                       # (sdpa, binary_attention: also s, the score format, Q7.8 to Q4.11)
//! q = "Q1.14"           # (sdpa q, k, v, o: any signed 16-bit format; exp x,
//! o = "Q2.13"           # Q7.8 to Q3.12, softmax logit: Q7.8 to Q5.10), outputs are checked
//!
//! [sim]                 # optional defaults for `hwformer sim`
//! n = 256
//! queries = 8
//! seed = 1
//! valid = 0.9
//! ready = 0.9
//! ```

use hwformer_hdl::manifest::Manifest;
use hwformer_hdl::{LayerSettings, WeightsSource};
use hwformer_quant::QFormat;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Defaults for `hwformer sim`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimDefaults {
    /// Keys per query / logits per row.
    pub n: Option<usize>,
    /// Queries / rows.
    pub queries: Option<usize>,
    /// Seed.
    pub seed: Option<u64>,
    /// Source valid probability.
    pub valid: Option<f64>,
    /// Sink ready probability.
    pub ready: Option<f64>,
}

/// A block's configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockConfig {
    /// Block name.
    pub block: String,
    /// Head dimension (sdpa).
    pub d: Option<usize>,
    /// Longest row or query.
    pub n_max: Option<usize>,
    /// sdpa, binary_attention: output multipliers (a power of two, 1 to d).
    pub output_multipliers: Option<usize>,
    /// Field name to format (`Q3.12`, `UQ0.16`).
    #[serde(default)]
    pub formats: BTreeMap<String, String>,
    /// Simulation defaults.
    #[serde(default)]
    pub sim: SimDefaults,
    /// linear: inputs per token.
    pub d_in: Option<usize>,
    /// linear: outputs per token.
    pub d_out: Option<usize>,
    /// ffn: model width.
    pub d_model: Option<usize>,
    /// ffn: hidden width.
    pub d_ff: Option<usize>,
    /// linear, ffn: multiply-accumulate lanes.
    pub lanes: Option<usize>,
    /// linear, ffn: `none`, `relu` or `gelu`.
    pub activation: Option<String>,
    /// ffn: slots of the hidden FIFO (default 2).
    pub hidden_depth: Option<usize>,
    /// layernorm: eps (default 1e-5).
    pub eps: Option<f64>,
    /// binary_attention: code bits, 1 to 64 (default 32).
    pub bits: Option<usize>,
    /// linear, ffn: where the weights come from.
    pub weights: Option<WeightsConfig>,
    /// The folder of the config file (relative paths in it start there).
    #[serde(skip)]
    pub folder: std::path::PathBuf,
}

/// `[weights]`: `seed = N`, or `safetensors = "FILE"` with `[weights.tensors]`
/// naming the file's tensor for each of the block's (`w`, `b`; `w1`, `b1`,
/// `w2`, `b2`; a missing bias is zero).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsConfig {
    /// Seeded random weights.
    pub seed: Option<u64>,
    /// A model file (PyTorch layout, weight `[out, in]`).
    pub safetensors: Option<String>,
    /// Block tensor to file tensor.
    #[serde(default)]
    pub tensors: BTreeMap<String, String>,
}

impl BlockConfig {
    /// The layer settings (linear, ffn) the file gives.
    pub fn layer_settings(&self) -> Result<LayerSettings, String> {
        let weights = match &self.weights {
            None => WeightsSource::default(),
            Some(w) => match (w.seed, &w.safetensors) {
                (Some(_), Some(_)) => return Err("weights: give seed or safetensors, not both".into()),
                (Some(seed), None) if w.tensors.is_empty() => WeightsSource::Seeded(seed),
                (Some(_), None) => {
                    return Err(
                        "weights.tensors: names tensors of a safetensors file; seeded weights have none"
                            .into(),
                    )
                }
                (None, Some(file)) => {
                    if w.tensors.is_empty() {
                        return Err("weights.tensors: name the file's tensor for each of the block's (w, b; w1, b1, w2, b2; gamma, beta)".into());
                    }
                    WeightsSource::Safetensors {
                        file: self.folder.join(file),
                        tensors: w.tensors.clone(),
                    }
                }
                (None, None) => WeightsSource::default(),
            },
        };
        Ok(LayerSettings {
            d_in: self.d_in,
            d_out: self.d_out,
            d_model: self.d_model,
            d_ff: self.d_ff,
            lanes: self.lanes,
            activation: self.activation.clone(),
            hidden_depth: self.hidden_depth,
            eps: self.eps,
            bits: self.bits,
            // the attention heads are built for the n_max asked; the other
            // blocks' is checked against what they are built for
            n_max: self
                .n_max
                .filter(|_| hwformer_hdl::ATTENTION_BLOCKS.contains(&self.block.as_str())),
            output_multipliers: self.output_multipliers,
            weights,
        })
    }
}

impl BlockConfig {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_text(&text, path)
    }

    /// The configuration in `text`, read from `path` (errors name it;
    /// relative paths in it start at its folder).
    pub fn from_text(text: &str, path: &Path) -> Result<Self, String> {
        let mut config: Self = toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !hwformer_hdl::BLOCKS.contains(&config.block.as_str()) {
            return Err(format!(
                "{}: block `{}` is not one of {}",
                path.display(),
                config.block,
                hwformer_hdl::BLOCKS.join(", ")
            ));
        }
        if config.d.is_some() && !hwformer_hdl::ATTENTION_BLOCKS.contains(&config.block.as_str()) {
            return Err(format!(
                "{}: `d` is a setting of sdpa and binary_attention, not {}",
                path.display(),
                config.block
            ));
        }
        Ok(config)
    }

    /// An error unless every size and format asked for is the one `manifest` was built with.
    pub fn check(&self, manifest: &Manifest) -> Result<(), String> {
        if let Some(n_max) = self.n_max {
            match manifest.params.get("n_max").and_then(|p| p.number()) {
                Some(built) if built == n_max as f64 => {}
                Some(built) => {
                    return Err(format!(
                        "n_max = {n_max}: {} is built for n_max = {built}",
                        manifest.block
                    ))
                }
                None => return Err(format!("n_max is not a setting of {}", manifest.block)),
            }
        }
        // the layer blocks are built in every format asked for
        let built_as_asked = hwformer_hdl::WEIGHT_BLOCKS.contains(&manifest.block.as_str());
        for (name, wanted) in self.formats.iter().filter(|_| !built_as_asked) {
            let wanted: QFormat = wanted.parse().map_err(|e| format!("formats.{name}: {e}"))?;
            // the attention heads' score format is a setting, not a stream field
            if name == hwformer_hdl::sdpa::SCORE_FIELD && manifest.params.contains_key("score_format") {
                let built = manifest.text("score_format")?;
                if built != wanted.to_string() {
                    return Err(format!(
                        "formats.{name} = {wanted}: {} is built with scores in {built}",
                        manifest.block
                    ));
                }
                continue;
            }
            let field = manifest.field(name).ok_or_else(|| {
                format!(
                    "formats.{name}: {} has no field `{name}` (its fields: {})",
                    manifest.block,
                    manifest.field_names().join(", ")
                )
            })?;
            if field.format != wanted {
                return Err(format!(
                    "formats.{name} = {wanted}: {} is built with {} (other formats are not built yet)",
                    manifest.block, field.format
                ));
            }
        }
        Ok(())
    }
}

/// The block and head dimension from the command line and the config:
/// either may give them, and where both do they must agree.
pub fn block_and_d(
    cli_block: Option<&str>,
    cli_d: Option<usize>,
    config: Option<&BlockConfig>,
) -> Result<(String, usize), String> {
    let block = match (cli_block, config) {
        (Some(b), Some(c)) if b != c.block => {
            return Err(format!("the command line says {b}, the config says {}", c.block))
        }
        (Some(b), _) => b.to_string(),
        (None, Some(c)) => c.block.clone(),
        (None, None) => return Err("name a block, or give --config".into()),
    };
    let d = match (cli_d, config.and_then(|c| c.d)) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!("the command line says d = {a}, the config says d = {b}"))
        }
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => 8,
    };
    Ok((block, d))
}

/// Builds the block, checks it against the config (if any), then writes
/// `<block>.v` and `<block>.json` into `dir`: nothing is written for a
/// config the hardware does not match.
pub fn export_checked(
    block: &str,
    d: usize,
    config: Option<&BlockConfig>,
    dir: &Path,
) -> Result<Manifest, String> {
    export_checked_n_max(block, d, None, config, dir)
}

/// [`export_checked`] with the command line's `--n-max` (sdpa and
/// binary_attention), which must agree with the config's if both say it.
pub fn export_checked_n_max(
    block: &str,
    d: usize,
    n_max: Option<usize>,
    config: Option<&BlockConfig>,
    dir: &Path,
) -> Result<Manifest, String> {
    let mut formats = BTreeMap::new();
    for (name, text) in config.map(|c| &c.formats).into_iter().flatten() {
        let format: QFormat = text.parse().map_err(|e| format!("formats.{name}: {e}"))?;
        formats.insert(name.clone(), format);
    }
    let mut settings = match config {
        Some(c) => c.layer_settings()?,
        None => LayerSettings::default(),
    };
    settings.n_max = match (n_max, settings.n_max) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "the command line says n_max = {a}, the config says n_max = {b}"
            ))
        }
        (Some(a), _) => Some(a),
        (None, asked) => asked,
    };
    let built = hwformer_hdl::build_block_with(block, d, &formats, &settings).map_err(|e| e.to_string())?;
    if let Some(c) = config {
        c.check(&built.manifest)?;
    }
    built.write(dir).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<BlockConfig, String> {
        // one file per call: the tests run in parallel
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("hwformer-config-{}-{call}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        BlockConfig::load(&path)
    }

    #[test]
    fn blocks_are_built_for_the_input_formats_asked_and_outputs_are_checked() {
        let dir = std::env::temp_dir().join(format!("hwformer-config-build-{}", std::process::id()));
        let asked =
            config("block = \"sdpa\"\nd = 2\n[formats]\nq = \"Q1.14\"\nv = \"Q4.11\"\no = \"Q0.15\"\n")
                .unwrap();
        let manifest = export_checked("sdpa", 2, Some(&asked), &dir).unwrap();
        let format = |name: &str| manifest.field_format(name).unwrap();
        assert_eq!(format("q"), "Q1.14".parse().unwrap());
        assert_eq!(format("k"), "Q3.12".parse().unwrap());
        assert_eq!(format("v"), "Q4.11".parse().unwrap());
        assert_eq!(format("o"), "Q0.15".parse().unwrap());
        // the worst error measured at export stays under 64 LSBs of even
        // the finest output format, so the bound is those 64 LSBs
        let worst = manifest.number("bound_measured_worst").unwrap();
        assert!(worst > 0.0 && worst < 64.0 * 2f64.powi(-15), "{worst}");
        assert_eq!(
            manifest.error_bound.as_ref().unwrap().value,
            64.0 * 2f64.powi(-15)
        );
        assert_eq!(
            manifest.number("max_abs_input").unwrap(),
            0.875,
            "inputs kept where the Q0.15 output holds them"
        );
        for (block, text, says) in [
            (
                "sdpa",
                "block = \"sdpa\"\n[formats]\nq = \"UQ0.16\"\n",
                "signed 16-bit",
            ),
            (
                "sdpa",
                "block = \"sdpa\"\n[formats]\nq = \"Q3.4\"\n",
                "signed 16-bit",
            ),
            (
                "sdpa",
                "block = \"sdpa\"\n[formats]\no = \"Q-1.16\"\n",
                "signed 16-bit",
            ),
            (
                "sdpa",
                "block = \"sdpa\"\n[formats]\nz = \"Q3.12\"\n",
                "sdpa has no field `z` (its fields: q, k, v, o, and s for the scores)",
            ),
            (
                "sdpa",
                "block = \"sdpa\"\n[formats]\ns = \"Q2.13\"\n",
                "formats.s: Q2.13",
            ),
            (
                "softmax",
                "block = \"softmax\"\n[formats]\nlogit = \"Q4.11\"\n",
                "8 to 10 fraction bits",
            ),
            (
                "exp",
                "block = \"exp\"\n[formats]\nx = \"Q1.14\"\n",
                "8 to 12 fraction bits",
            ),
            (
                "softmax",
                "block = \"softmax\"\n[formats]\nprob = \"UQ1.15\"\n",
                "other formats are not built yet",
            ),
        ] {
            let e = export_checked(block, 2, Some(&config(text).unwrap()), &dir).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        let logits = config("block = \"softmax\"\n[formats]\nlogit = \"Q6.9\"\n").unwrap();
        let manifest = export_checked("softmax", 1, Some(&logits), &dir).unwrap();
        assert_eq!(manifest.module, "hwformer_softmax_x9");
        assert_eq!(manifest.field("logit").unwrap().format, "Q6.9".parse().unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_config_of_what_is_built_passes_and_anything_else_says_why() {
        let (_, manifest) = hwformer_hdl::sdpa::export(2).unwrap();
        let good = config(
            "block = \"sdpa\"\nd = 2\nn_max = 256\n[formats]\nq = \"Q3.12\"\no = \"Q3.12 (16 bits)\"\n",
        )
        .unwrap();
        assert_eq!(good.d, Some(2));
        good.check(&manifest).unwrap();
        for (text, says) in [
            ("block = \"sdpa\"\n[formats]\nq = \"Q4.11\"\n", "built with Q3.12"),
            ("block = \"sdpa\"\nn_max = 1024\n", "n_max = 256"),
            ("block = \"sdpa\"\n[formats]\nz = \"Q3.12\"\n", "no field `z`"),
            (
                "block = \"sdpa\"\n[formats]\nq = \"Q3\"\n",
                "expected Q<int>.<frac>",
            ),
        ] {
            let e = config(text).unwrap().check(&manifest).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        for (text, says) in [
            ("block = \"fft\"\n", "not one of"),
            ("block = \"exp\"\nd = 4\n", "setting of sdpa"),
            ("block = \"sdpa\"\nwidth = 3\n", "unknown field"),
            ("block = sdpa\n", "line 1"),
        ] {
            let e = config(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
