//! Stimulus and expectations for each block: seeded random inputs, the
//! integer model's output beats (the bit-exact oracle), the float64
//! reference of every output element, and the closed form's cycle of
//! every output beat when nothing stalls.

use crate::testbench::Beats;
use crate::SimError;
use hwformer_hdl::exp::EXP_LATENCY;
use hwformer_hdl::manifest::{Direction, Manifest};
use hwformer_hdl::sdpa::{output_delay, query_cycles};
use hwformer_hdl::softmax::{first_output_delay, row_cycles, SOFTMAX_N_MAX};
use hwformer_quant::accuracy::random_logit_row;
use hwformer_quant::integer::binary_attention::BinaryAttention;
use hwformer_quant::integer::softmax::SoftmaxModel;
use hwformer_quant::integer::{dequantize_all, quantize_all};
use hwformer_quant::random::{normal_vec, seeded};
use hwformer_quant::tables::ExpNeg;
use rand::Rng;

/// How much work to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadSize {
    /// Keys per query (sdpa), most logits per row (softmax; rows have
    /// random lengths up to it), inputs per group (exp).
    pub n: usize,
    /// Queries (sdpa), rows (softmax), groups (exp).
    pub queries: usize,
    /// Seed of the inputs.
    pub seed: u64,
}

/// Everything a run needs and is checked against.
#[derive(Debug, Clone)]
pub struct Workload {
    /// One beat list per input stream, in manifest order.
    pub inputs: Vec<Beats>,
    /// The integer model's beats, per output stream.
    pub expected: Vec<Beats>,
    /// Float64 value of every output element (fields in order, then
    /// elements), beat after beat, per output stream; NaN where there is
    /// none to compare with (inputs beyond the error bound's domain).
    pub reference: Vec<Vec<f64>>,
    /// The cycle of every output beat with no gaps and no back-pressure,
    /// per output stream, from the block's closed form; empty where the
    /// closed form does not apply (softmax rows of different lengths).
    pub full_speed_cycles: Vec<Vec<u64>>,
    /// The status output (sticky saturation) the integer model says it
    /// holds at each beat of the first output stream; empty for a block
    /// without one.
    pub expected_status: Vec<bool>,
}

impl Workload {
    /// The workload for the block a manifest describes.
    pub fn new(manifest: &Manifest, size: WorkloadSize) -> Result<Self, SimError> {
        if size.n == 0 || size.queries == 0 {
            return Err(SimError::Invalid("n and queries must be at least 1".into()));
        }
        match manifest.block.as_str() {
            "exp" => exp(
                &hwformer_hdl::exp::model_from_manifest(manifest).map_err(SimError::Invalid)?,
                size,
            ),
            "softmax" => softmax(
                &hwformer_hdl::softmax::model_from_manifest(manifest).map_err(SimError::Invalid)?,
                size,
            ),
            "sdpa" => sdpa(manifest, size),
            "fifo" => fifo(
                hwformer_hdl::fifo::depth_from_manifest(manifest).map_err(SimError::Invalid)?,
                size,
            ),
            block if hwformer_hdl::WEIGHT_BLOCKS.contains(&block) => Err(SimError::Invalid(format!(
                "{block} holds weights: build its workload with Workload::from_folder"
            ))),
            other => Err(SimError::Invalid(format!("no workload for block `{other}`"))),
        }
    }

    /// The workload for the block exported in `dir` (the layer blocks read
    /// their weights file there): `size.queries` tokens of seeded inputs
    /// (normal, sigma 1, saturated into the input format) for the layer
    /// blocks, [`Workload::new`] for the others.
    pub fn from_folder(
        dir: &std::path::Path,
        manifest: &Manifest,
        size: WorkloadSize,
    ) -> Result<Self, SimError> {
        if size.n == 0 || size.queries == 0 {
            return Err(SimError::Invalid("n and queries must be at least 1".into()));
        }
        if let Some(block) = TokenBlock::from_folder(dir, manifest)? {
            let mut rng = seeded(size.seed);
            let fail = |e: hwformer_quant::QuantError| SimError::Invalid(e.to_string());
            let rows = (0..size.queries)
                .map(|_| quantize_all("x", &normal_vec(&mut rng, block.d_in, 1.0), block.input).map_err(fail))
                .collect::<Result<Vec<_>, _>>()?;
            return block.workload(&rows);
        }
        match manifest.block.as_str() {
            "binary_attention" => binary_attention(
                &hwformer_hdl::binary_attention::model_from_folder(dir, manifest)
                    .map_err(SimError::Invalid)?,
                multipliers(manifest)?,
                size,
            ),
            _ => Self::new(manifest, size),
        }
    }

    /// The workload of a token block (linear, ffn, ternary_ffn, layernorm)
    /// exported in `dir` on tokens given by the caller (e.g. a real
    /// model's activations), raw in the block's input format.
    pub fn token_rows(
        dir: &std::path::Path,
        manifest: &Manifest,
        rows: &[Vec<i64>],
    ) -> Result<Self, SimError> {
        TokenBlock::from_folder(dir, manifest)?
            .ok_or_else(|| SimError::Invalid(format!("{} is not a token block", manifest.block)))?
            .workload(rows)
    }

    /// Output beats expected on stream `s`.
    pub fn expected_beats(&self) -> Vec<usize> {
        self.expected.iter().map(Beats::len).collect()
    }
}

type TokenRun = Box<dyn Fn(&[i64]) -> hwformer_quant::Result<Vec<i64>>>;
type TokenReference = Box<dyn Fn(&[i64]) -> hwformer_quant::Result<Vec<f64>>>;

/// A token block's model: one token in, one token out.
struct TokenBlock {
    d_in: usize,
    input: hwformer_quant::QFormat,
    run: TokenRun,
    reference: TokenReference,
}

impl TokenBlock {
    /// A model's token function and float reference, boxed.
    fn of<M: Clone + 'static>(
        d_in: usize,
        input: hwformer_quant::QFormat,
        model: M,
        run: fn(&M, &[i64]) -> hwformer_quant::Result<Vec<i64>>,
        reference: fn(&M, &[i64]) -> hwformer_quant::Result<Vec<f64>>,
    ) -> Self {
        let other = model.clone();
        Self {
            d_in,
            input,
            run: Box::new(move |x| run(&model, x)),
            reference: Box::new(move |x| reference(&other, x)),
        }
    }

    /// The model of the token block exported in `dir`; `None` for other blocks.
    fn from_folder(dir: &std::path::Path, manifest: &Manifest) -> Result<Option<Self>, SimError> {
        let invalid = |e: String| SimError::Invalid(e);
        Ok(Some(match manifest.block.as_str() {
            "linear" => {
                let m = hwformer_hdl::linear::model_from_folder(dir, manifest).map_err(invalid)?;
                Self::of(
                    m.d_in(),
                    m.formats().input,
                    m,
                    |m, x| m.run(x),
                    |m, x| m.float_reference(x),
                )
            }
            "ffn" => {
                let m = hwformer_hdl::ffn::model_from_folder(dir, manifest).map_err(invalid)?;
                let (d, f) = (m.up().d_in(), m.up().formats().input);
                Self::of(d, f, m, |m, x| m.run(x), |m, x| m.float_reference(x))
            }
            "ternary_ffn" => {
                let m = hwformer_hdl::ternary_ffn::model_from_folder(dir, manifest).map_err(invalid)?;
                let (d, f) = (m.up().d_in(), m.up().formats().input);
                Self::of(d, f, m, |m, x| m.run(x), |m, x| m.float_reference(x))
            }
            "layernorm" => {
                let m = hwformer_hdl::layer_norm::model_from_folder(dir, manifest).map_err(invalid)?;
                Self::of(
                    m.n(),
                    m.formats().input,
                    m,
                    |m, x| m.run(x),
                    |m, x| m.float_reference(x),
                )
            }
            _ => return Ok(None),
        }))
    }

    /// Every row through the model: one beat an element, tlast on a
    /// token's last.
    fn workload(&self, rows: &[Vec<i64>]) -> Result<Workload, SimError> {
        if rows.is_empty() {
            return Err(SimError::Invalid("no token".into()));
        }
        let fail = |e: hwformer_quant::QuantError| SimError::Invalid(e.to_string());
        let (mut x_beats, mut y_beats, mut float) = (Beats::new(16), Beats::new(16), Vec::new());
        for x in rows {
            for (i, &v) in x.iter().enumerate() {
                x_beats.push(&[u32::from(v as u16)], i + 1 == x.len());
            }
            let y = (self.run)(x).map_err(fail)?;
            for (j, &v) in y.iter().enumerate() {
                y_beats.push(&[u32::from(v as u16)], j + 1 == y.len());
            }
            float.extend((self.reference)(x).map_err(fail)?);
        }
        Ok(Workload {
            inputs: vec![x_beats],
            expected: vec![y_beats],
            reference: vec![float],
            full_speed_cycles: vec![Vec::new()],
            expected_status: Vec::new(),
        })
    }
}

/// The widths of a manifest's streams in one direction.
pub fn stream_bits(manifest: &Manifest, dir: Direction) -> Vec<usize> {
    manifest
        .streams
        .iter()
        .filter(|s| s.dir == dir)
        .map(|s| s.tdata_bits)
        .collect()
}

fn exp(exp: &ExpNeg, size: WorkloadSize) -> Result<Workload, SimError> {
    let mut rng = seeded(size.seed);
    let (mut beats, mut output) = (Beats::new(16), Beats::new(40));
    let mut reference = Vec::new();
    let total = size.n * size.queries;
    for k in 0..total {
        let x: i16 = if rng.gen_bool(0.1) {
            rng.gen()
        } else {
            rng.gen_range(-16384..=0)
        };
        let last = k % size.n == size.n - 1;
        beats.push(&[u32::from(x as u16)], last);
        let (e, w) = (exp.eval(i64::from(x)), exp.eval_wide(i64::from(x)));
        output.push(&[e | (w << 16), w >> 16], last);
        let real = exp.input().to_f64(i128::from(x.min(0))).exp();
        reference.extend([real, real]);
    }
    let cycles = (0..total as u64).map(|k| k + EXP_LATENCY).collect();
    Ok(Workload {
        inputs: vec![beats],
        expected: vec![output],
        reference: vec![reference],
        full_speed_cycles: vec![cycles],
        expected_status: Vec::new(),
    })
}

/// Random 16-bit elements in groups of `n` (tlast on each group's last);
/// the FIFO gives them back unchanged, a beat one cycle after it came at
/// full speed (every other cycle at depth 1).
fn fifo(depth: usize, size: WorkloadSize) -> Result<Workload, SimError> {
    let mut rng = seeded(size.seed);
    let (mut input, mut output) = (Beats::new(16), Beats::new(16));
    let mut reference = Vec::new();
    let total = size.n * size.queries;
    for k in 0..total {
        let x: i16 = rng.gen();
        let last = k % size.n == size.n - 1;
        input.push(&[u32::from(x as u16)], last);
        output.push(&[u32::from(x as u16)], last);
        reference.push(f64::from(x));
    }
    let interval = if depth == 1 { 2 } else { 1 };
    let cycles = (0..total as u64).map(|k| interval * k + 1).collect();
    Ok(Workload {
        inputs: vec![input],
        expected: vec![output],
        reference: vec![reference],
        full_speed_cycles: vec![cycles],
        expected_status: Vec::new(),
    })
}

fn softmax(model: &SoftmaxModel, size: WorkloadSize) -> Result<Workload, SimError> {
    if size.n > SOFTMAX_N_MAX {
        return Err(SimError::Invalid(format!(
            "softmax rows hold at most {SOFTMAX_N_MAX} logits, not {}",
            size.n
        )));
    }
    let mut rng = seeded(size.seed);
    // rows of random lengths up to n: full, short and single logits
    let rows = (0..size.queries)
        .map(|_| quantize_all("logit", &random_logit_row(&mut rng, size.n), model.input()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SimError::Invalid(e.to_string()))?;
    Workload::softmax_rows(model, &rows)
}

impl Workload {
    /// The softmax workload of `size.queries` rows of exactly `size.n`
    /// seeded random logits (normal, sigma 2): rows of one length, which
    /// the closed form covers when `n >= 4` (the sim command's rows have
    /// random lengths).
    pub fn softmax_rows_of_one_length(model: &SoftmaxModel, size: WorkloadSize) -> Result<Self, SimError> {
        if size.n == 0 || size.queries == 0 || size.n > SOFTMAX_N_MAX {
            return Err(SimError::Invalid(format!(
                "softmax rows of 1 to {SOFTMAX_N_MAX} logits and at least one row, not {} x {}",
                size.queries, size.n
            )));
        }
        let mut rng = seeded(size.seed);
        let rows = (0..size.queries)
            .map(|_| quantize_all("logit", &normal_vec(&mut rng, size.n, 2.0), model.input()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SimError::Invalid(e.to_string()))?;
        Workload::softmax_rows(model, &rows)
    }

    /// The softmax workload of given rows of raw logits in `model`'s format.
    pub fn softmax_rows(model: &SoftmaxModel, rows: &[Vec<i64>]) -> Result<Self, SimError> {
        let (mut input, mut output) = (Beats::new(16), Beats::new(16));
        let mut reference = Vec::new();
        for row in rows {
            let probs = model.run(row).map_err(|e| SimError::Invalid(e.to_string()))?;
            let float = hwformer_quant::reference::softmax(&dequantize_all(row, model.input()))
                .map_err(|e| SimError::Invalid(e.to_string()))?;
            for (i, (&x, &p)) in row.iter().zip(&probs).enumerate() {
                let last = i + 1 == row.len();
                input.push(&[u32::from(x as u16)], last);
                output.push(&[p], last);
            }
            reference.extend(float);
        }
        // the closed form holds for rows of one length no shorter than the
        // reciprocal's turn (row_cycles(n) = n): logits back to back, each
        // row's probabilities first_output_delay after its last
        let mut cycles = Vec::new();
        let n = rows.first().map_or(0, |r| r.len() as u64);
        if n >= 1 && row_cycles(n) == n && rows.iter().all(|r| r.len() as u64 == n) {
            for r in 0..rows.len() as u64 {
                let last_logit = (r + 1) * row_cycles(n) - 1;
                cycles.extend((0..n).map(|i| last_logit + first_output_delay(n) + i));
            }
        }
        Ok(Self {
            inputs: vec![input],
            expected: vec![output],
            reference: vec![reference],
            full_speed_cycles: vec![cycles],
            expected_status: Vec::new(),
        })
    }
}

fn sdpa(manifest: &Manifest, size: WorkloadSize) -> Result<Workload, SimError> {
    sdpa_in_range(manifest, size, false)
}

impl Workload {
    /// The sdpa workload over its formats' full ranges (beyond the
    /// manifest's `max_abs_input`): scores and outputs saturate, and the
    /// status output must say so. Outputs are checked bit for bit against
    /// the integer model; the float reference is NaN (not compared), since
    /// the error bound holds only inside `max_abs_input`.
    pub fn sdpa_full_range(manifest: &Manifest, size: WorkloadSize) -> Result<Self, SimError> {
        sdpa_in_range(manifest, size, true)
    }
}

/// sdpa's queries with elements up to `max_abs_input` (checked against
/// float64), or over the formats' full ranges (no float reference).
/// The output multipliers of an attention head's manifest.
fn multipliers(manifest: &Manifest) -> Result<usize, SimError> {
    hwformer_hdl::sdpa::output_multipliers_from_manifest(manifest).map_err(SimError::Invalid)
}

fn sdpa_in_range(manifest: &Manifest, size: WorkloadSize, full_range: bool) -> Result<Workload, SimError> {
    let model = hwformer_hdl::sdpa::model_from_manifest(manifest).map_err(SimError::Invalid)?;
    let c = *model.config();
    let m = multipliers(manifest)?;
    let range = |f: hwformer_quant::QFormat| {
        (
            f,
            if full_range {
                f.max_value()
            } else {
                model.max_abs_input()
            },
        )
    };
    attention(
        (c.d, c.n_max, m),
        [range(c.query), range(c.key), range(c.value)],
        size,
        |q, k, v| model.run_query_with_status(q, k, v),
        |q, k, v| {
            if full_range {
                Ok(vec![f64::NAN; c.d])
            } else {
                model.float_reference(q, k, v)
            }
        },
    )
}

fn binary_attention(model: &BinaryAttention, m: usize, size: WorkloadSize) -> Result<Workload, SimError> {
    // every input the formats hold: the projections are exact and the
    // scores cannot saturate
    let full = |f: hwformer_quant::QFormat| (f, f.max_value());
    let c = *model.attention().config();
    attention(
        (c.d, c.n_max, m),
        [full(c.query), full(c.key), full(c.value)],
        size,
        |q, k, v| model.run_query_with_status(q, k, v),
        |q, k, v| model.float_reference(q, k, v),
    )
}

type Rows = [Vec<i64>];

/// One query of an attention head, raw: its query, keys and values (rows
/// of `d` elements in the head's formats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionQuery {
    /// The query.
    pub query: Vec<i64>,
    /// Its keys, in stream order.
    pub keys: Vec<Vec<i64>>,
    /// One value per key.
    pub values: Vec<Vec<i64>>,
}

impl Workload {
    /// The sdpa workload of queries given by the caller (e.g. a real
    /// model's q, k and v): outputs from the manifest's integer model; the
    /// float reference where every input is inside `max_abs_input` (NaN,
    /// not compared, elsewhere); the closed form's cycles when all queries
    /// have the same number of keys.
    pub fn sdpa_queries(manifest: &Manifest, queries: &[AttentionQuery]) -> Result<Self, SimError> {
        let model = hwformer_hdl::sdpa::model_from_manifest(manifest).map_err(SimError::Invalid)?;
        let c = *model.config();
        let m = multipliers(manifest)?;
        let limit = model.max_abs_input();
        let inside = |rows: &Rows, f: hwformer_quant::QFormat| {
            rows.iter()
                .flatten()
                .all(|&x| f.to_f64(i128::from(x)).abs() <= limit)
        };
        attention_queries(
            (c.d, c.n_max, m),
            queries,
            |q, k, v| model.run_query_with_status(q, k, v),
            |q, k, v| {
                if inside(&[q.to_vec()], c.query) && inside(k, c.key) && inside(v, c.value) {
                    model.float_reference(q, k, v)
                } else {
                    Ok(vec![f64::NAN; c.d])
                }
            },
        )
    }
}

/// Queries of `size.n` keys (at most `n_max`) for an attention head of `d`
/// lanes and `m` output multipliers: elements
/// uniform in `[-x, x]` for each (format, x) of q, k and v.
fn attention<O, R>(
    (d, n_max, m): (usize, usize, usize),
    inputs: [(hwformer_quant::QFormat, f64); 3],
    size: WorkloadSize,
    run: O,
    reference: R,
) -> Result<Workload, SimError>
where
    O: Fn(&[i64], &Rows, &Rows) -> hwformer_quant::Result<(Vec<i64>, bool)>,
    R: Fn(&[i64], &Rows, &Rows) -> hwformer_quant::Result<Vec<f64>>,
{
    if size.n > n_max {
        return Err(SimError::Invalid(format!(
            "the block is built for at most n_max = {n_max} keys per query, not {}",
            size.n
        )));
    }
    let mut rng = seeded(size.seed);
    let mut vector = |(format, x): (hwformer_quant::QFormat, f64)| -> Result<Vec<i64>, SimError> {
        let real: Vec<f64> = (0..d).map(|_| rng.gen_range(-x..=x)).collect();
        quantize_all("x", &real, format).map_err(|e| SimError::Invalid(e.to_string()))
    };
    let [query, key, value] = inputs;
    let mut queries = Vec::with_capacity(size.queries);
    for _ in 0..size.queries {
        let q = vector(query)?;
        let (mut keys, mut values) = (Vec::with_capacity(size.n), Vec::with_capacity(size.n));
        for _ in 0..size.n {
            keys.push(vector(key)?);
            values.push(vector(value)?);
        }
        queries.push(AttentionQuery {
            query: q,
            keys,
            values,
        });
    }
    attention_queries((d, n_max, m), &queries, run, reference)
}

/// The beats, model outputs, float references and closed-form cycles of
/// `queries` for a head of `d` lanes and `m` output multipliers built for
/// `n_max` keys.
fn attention_queries<O, R>(
    (d, n_max, m): (usize, usize, usize),
    queries: &[AttentionQuery],
    run: O,
    reference: R,
) -> Result<Workload, SimError>
where
    O: Fn(&[i64], &Rows, &Rows) -> hwformer_quant::Result<(Vec<i64>, bool)>,
    R: Fn(&[i64], &Rows, &Rows) -> hwformer_quant::Result<Vec<f64>>,
{
    let fail = |e: hwformer_quant::QuantError| SimError::Invalid(e.to_string());
    let (mut q_beats, mut kv_beats, mut out) = (Beats::new(16 * d), Beats::new(32 * d), Beats::new(16 * d));
    let (mut float, mut cycles, mut status) = (Vec::new(), Vec::new(), Vec::new());
    let same_length = queries.windows(2).all(|w| w[0].keys.len() == w[1].keys.len());
    for (
        i,
        AttentionQuery {
            query: q,
            keys,
            values,
        },
    ) in queries.iter().enumerate()
    {
        let n = keys.len();
        if n == 0 || n > n_max || values.len() != n {
            return Err(SimError::Invalid(format!(
                "query {i} has {n} keys and {} values: the block takes 1 to n_max = {n_max} keys, one value each",
                values.len()
            )));
        }
        for (j, (k, v)) in keys.iter().zip(values).enumerate() {
            let lanes: Vec<i64> = k.iter().chain(v).copied().collect();
            kv_beats.push_lanes16(&lanes, j + 1 == n);
        }
        q_beats.push_lanes16(q, false);
        let (o, saturated) = run(q, keys, values).map_err(fail)?;
        out.push_lanes16(&o, true);
        // sticky: this query's saturation or any earlier one's
        status.push(saturated || status.last().copied().unwrap_or(false));
        float.extend(reference(q, keys, values).map_err(fail)?);
        // keys flow one per cycle from cycle 1 (the query loads in cycle 0);
        // short queries wait for the normalizer
        if same_length {
            let first = n as u64 + output_delay(d as u64, m as u64);
            cycles.push(first + i as u64 * query_cycles(n as u64, d as u64, m as u64));
        }
    }
    Ok(Workload {
        inputs: vec![q_beats, kv_beats],
        expected: vec![out],
        reference: vec![float],
        full_speed_cycles: vec![cycles],
        expected_status: status,
    })
}
