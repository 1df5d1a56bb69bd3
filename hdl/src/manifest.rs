//! The data sheet of an exported block: `<block>.json` beside `<block>.v`.
//! Testbenches and scripts read it instead of guessing ports and formats.

use hwformer_quant::QFormat;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A block's reset port, if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// Port name.
    pub port: String,
    /// True when the block is held in reset while the port is 1.
    pub active_high: bool,
}

/// One field packed in a stream's tdata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Consecutive elements, element 0 in the lowest bits.
    pub count: usize,
    /// Number format of each element.
    pub format: QFormat,
}

/// Direction of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Into the block (`s_axis_...`).
    In,
    /// Out of the block (`m_axis_...`).
    Out,
}

/// One AXI4-Stream port group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// Stream name.
    pub name: String,
    /// Direction.
    pub dir: Direction,
    /// Prefix of its ports: `<prefix>_tdata`, `_tvalid`, `_tready`, `_tlast`.
    pub port_prefix: String,
    /// Width of tdata.
    pub tdata_bits: usize,
    /// Fields packed from the least significant bit.
    pub fields: Vec<Field>,
}

impl Stream {
    /// A stream whose tdata is exactly its fields, packed in order.
    pub fn new(name: &str, dir: Direction, fields: Vec<Field>) -> Self {
        let prefix = match dir {
            Direction::In => "s_axis",
            Direction::Out => "m_axis",
        };
        Self {
            name: name.into(),
            dir,
            port_prefix: format!("{prefix}_{name}"),
            tdata_bits: fields.iter().map(|f| f.count * f.format.bits() as usize).sum(),
            fields,
        }
    }
}

/// The documented worst-case error of the block's outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBound {
    /// "max_abs".
    pub metric: String,
    /// "float64".
    pub versus: String,
    /// The bound, in real units of the output.
    pub value: f64,
}

/// A block parameter: a number (`d`, `lanes`, `eps`) or a word (`activation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    /// A number.
    Number(f64),
    /// A word.
    Text(String),
}

impl From<f64> for Param {
    fn from(v: f64) -> Self {
        Param::Number(v)
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_string())
    }
}

impl Param {
    /// The number, if it is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Param::Number(v) => Some(*v),
            Param::Text(_) => None,
        }
    }
}

/// One tensor of the block's weights file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightTensor {
    /// Tensor name in the file (`w`, `b`, `w1`, `b1`, `w2`, `b2`, ...).
    pub name: String,
    /// Element format of the raw integers.
    pub format: QFormat,
    /// safetensors dtype (`I8`, `I16`, `I32`).
    pub dtype: String,
    /// Shape, outermost first (a weight is `[out, in]`, as `nn.Linear`'s).
    pub shape: Vec<usize>,
}

/// The weights a block holds in ROM, as raw integers in a safetensors
/// file beside its Verilog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    /// File name, in the manifest's folder.
    pub file: String,
    /// Where the numbers came from (`seed 1`, or a model file and its tensors).
    pub source: String,
    /// The tensors.
    pub tensors: Vec<WeightTensor>,
}

/// A status output: a one-bit port the user may wire to a register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Port name.
    pub port: String,
    /// Once high it stays high (until the device is configured again).
    pub sticky: bool,
    /// What it reports.
    pub meaning: String,
}

/// The manifest of an exported block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Block kind ("exp", "softmax", "sdpa").
    pub block: String,
    /// Verilog module name (unique per block).
    pub module: String,
    /// Verilog file name.
    pub verilog: String,
    /// Clock port.
    pub clock: String,
    /// Reset port, if any.
    pub reset: Option<Reset>,
    /// Stream ports.
    pub streams: Vec<Stream>,
    /// Block parameters, numbers or words.
    pub params: BTreeMap<String, Param>,
    /// Cycles from an input beat's handshake to its output beat's tvalid,
    /// with no gaps and no back-pressure.
    pub latency_cycles: u64,
    /// Cycles between input beats at full throughput.
    pub initiation_interval: u64,
    /// Worst-case error against float64.
    pub error_bound: Option<ErrorBound>,
    /// `verilator --lint-only -Wall` warnings waived, with the reason.
    pub lint_waivers: BTreeMap<String, String>,
    /// The weights file, for blocks that hold weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Weights>,
    /// The saturation status output, for blocks that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Memory files beside the Verilog, read by `$readmemh` (see
    /// `export`): synthesis reads them from its folder, simulators from
    /// the plusarg `+hwformer_memory_dir=<dir>`. Filled in when written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memories: Vec<String>,
}

impl Manifest {
    /// Reads a manifest file (errors name the file).
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The field called `name`, in any stream.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.streams
            .iter()
            .flat_map(|s| &s.fields)
            .find(|f| f.name == name)
    }

    /// The format of field `name`, or an error naming the block and field.
    pub fn field_format(&self, name: &str) -> Result<QFormat, String> {
        self.field(name)
            .map(|f| f.format)
            .ok_or_else(|| format!("the {} manifest has no field `{name}`", self.block))
    }

    /// Parameter `name` as a number, or an error naming the block and parameter.
    pub fn number(&self, name: &str) -> Result<f64, String> {
        match self.params.get(name) {
            Some(Param::Number(v)) => Ok(*v),
            Some(Param::Text(t)) => Err(format!(
                "the {} manifest's params.{name} is `{t}`, not a number",
                self.block
            )),
            None => Err(format!("the {} manifest has no params.{name}", self.block)),
        }
    }

    /// Parameter `name` as a whole number from `min` to `max`.
    pub fn count(&self, name: &str, min: usize, max: usize) -> Result<usize, String> {
        let v = self.number(name)?;
        if v.fract() != 0.0 || v < min as f64 || v > max as f64 {
            return Err(format!(
                "the {} manifest's params.{name} must be a whole number from {min} to {max}, not {v}",
                self.block
            ));
        }
        Ok(v as usize)
    }

    /// Parameter `name` as a word.
    pub fn text(&self, name: &str) -> Result<&str, String> {
        match self.params.get(name) {
            Some(Param::Text(t)) => Ok(t),
            Some(Param::Number(v)) => Err(format!(
                "the {} manifest's params.{name} is {v}, not a word",
                self.block
            )),
            None => Err(format!("the {} manifest has no params.{name}", self.block)),
        }
    }

    /// The names of every stream's fields, in order.
    pub fn field_names(&self) -> Vec<&str> {
        self.streams
            .iter()
            .flat_map(|s| &s.fields)
            .map(|f| f.name.as_str())
            .collect()
    }
}
