//! Weights in safetensors files: float tensors as PyTorch saves them
//! (`nn.Linear.weight` is `[out, in]`), and the raw integers a block holds
//! (dtype I8, I16 or I32), written beside its Verilog.
//!
//! Every malformed file, missing tensor, wrong shape or dtype is an error
//! naming the file and the tensor, never a panic.

use crate::error::{QuantError, Result};
use crate::format::QFormat;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;

/// One tensor of raw integers as a block holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTensor {
    /// Tensor name (`w`, `b`, `w1`, ...).
    pub name: String,
    /// The format of its elements.
    pub format: QFormat,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub values: Vec<i64>,
}

impl RawTensor {
    /// The safetensors dtype that holds the format: I8, I16 or I32.
    pub fn dtype_name(format: QFormat) -> Result<&'static str> {
        Ok(match (format.is_signed(), format.bits()) {
            (true, 1..=8) => "I8",
            (true, 9..=16) => "I16",
            (true, 17..=32) => "I32",
            _ => {
                return Err(QuantError::InvalidParameter(format!(
                    "no raw integer dtype holds {format} (signed, at most 32 bits)"
                )))
            }
        })
    }
}

fn invalid(what: impl std::fmt::Display) -> QuantError {
    QuantError::InvalidParameter(what.to_string())
}

/// The safetensors bytes of `tensors` (each element checked against its format).
pub fn write_raw(tensors: &[RawTensor]) -> Result<Vec<u8>> {
    let mut buffers = Vec::with_capacity(tensors.len());
    for t in tensors {
        super::integer::check_raw(&t.name, &t.values, t.format)?;
        let expected: usize = t.shape.iter().product();
        super::integer::check_len(&format!("tensor {} elements", t.name), t.values.len(), expected)?;
        let (dtype, bytes) = match RawTensor::dtype_name(t.format)? {
            "I8" => (
                Dtype::I8,
                t.values.iter().map(|&v| v as i8 as u8).collect::<Vec<_>>(),
            ),
            "I16" => (
                Dtype::I16,
                t.values.iter().flat_map(|&v| (v as i16).to_le_bytes()).collect(),
            ),
            _ => (
                Dtype::I32,
                t.values.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect(),
            ),
        };
        buffers.push((t.name.clone(), dtype, t.shape.clone(), bytes));
    }
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| invalid(format!("tensor {name}: {e:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let formats: HashMap<String, String> = tensors
        .iter()
        .map(|t| (t.name.clone(), t.format.to_string()))
        .collect();
    safetensors::serialize(views, &Some(formats)).map_err(|e| invalid(format!("safetensors: {e:?}")))
}

/// Reads tensor `name` of raw integers from safetensors `bytes` (from
/// `file`, for messages): it must have `dtype` and `shape`, and every
/// element must be inside `format`.
pub fn read_raw(bytes: &[u8], file: &str, name: &str, format: QFormat, shape: &[usize]) -> Result<RawTensor> {
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| invalid(format!("{file}: not a safetensors file ({e:?})")))?;
    let view = tensors
        .tensor(name)
        .map_err(|_| invalid(format!("{file}: no tensor `{name}`")))?;
    if view.shape() != shape {
        return Err(invalid(format!(
            "{file}: tensor `{name}` has shape {:?}, the block needs {shape:?}",
            view.shape()
        )));
    }
    let want = RawTensor::dtype_name(format)?;
    let data = view.data();
    let values: Vec<i64> = match (view.dtype(), want) {
        (Dtype::I8, "I8") => data.iter().map(|&b| i64::from(b as i8)).collect(),
        (Dtype::I16, "I16") => data
            .chunks_exact(2)
            .map(|c| i64::from(i16::from_le_bytes([c[0], c[1]])))
            .collect(),
        (Dtype::I32, "I32") => data
            .chunks_exact(4)
            .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        (found, _) => {
            return Err(invalid(format!(
                "{file}: tensor `{name}` is {found:?}, the block holds {format} as {want}"
            )))
        }
    };
    super::integer::check_raw(&format!("{file}: tensor `{name}`"), &values, format)?;
    Ok(RawTensor {
        name: name.into(),
        format,
        shape: shape.to_vec(),
        values,
    })
}

/// A float tensor read from a model's safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub values: Vec<f64>,
}

/// Reads float tensor `name` (F64, F32, F16 or BF16) from safetensors
/// `bytes` (from `file`, for messages).
pub fn read_float(bytes: &[u8], file: &str, name: &str) -> Result<FloatTensor> {
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| invalid(format!("{file}: not a safetensors file ({e:?})")))?;
    let view = tensors.tensor(name).map_err(|_| {
        let mut names: Vec<String> = tensors.names().into_iter().cloned().collect();
        names.sort();
        names.truncate(8);
        invalid(format!(
            "{file}: no tensor `{name}` (it has {} ...)",
            names.join(", ")
        ))
    })?;
    let data = view.data();
    let values: Vec<f64> = match view.dtype() {
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| f64::from(f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16)))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half_to_f64(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        other => {
            return Err(invalid(format!(
                "{file}: tensor `{name}` is {other:?}, not a float (F64, F32, F16, BF16)"
            )))
        }
    };
    crate::error::check_finite(&format!("{file}: tensor `{name}`"), &values)?;
    Ok(FloatTensor {
        shape: view.shape().to_vec(),
        values,
    })
}

/// IEEE 754 binary16 to f64.
fn half_to_f64(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let mantissa = f64::from(h & 0x3ff);
    sign * match exponent {
        0 => mantissa * (-24f64).exp2(),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mantissa / 1024.0) * f64::from(e - 15).exp2(),
    }
}

/// A float `nn.Linear` from a model file: weight tensor `weight` of shape
/// `[d_out, d_in]`, bias tensor `bias` of `[d_out]` (zeros when `None`),
/// as a [`crate::reference::Linear`] (weight (inputs, outputs)).
pub fn read_linear(
    bytes: &[u8],
    file: &str,
    weight: &str,
    bias: Option<&str>,
) -> Result<crate::reference::Linear> {
    let w = read_float(bytes, file, weight)?;
    let [d_out, d_in] = w.shape[..] else {
        return Err(invalid(format!(
            "{file}: tensor `{weight}` has shape {:?}; a linear weight is [out, in]",
            w.shape
        )));
    };
    let bias = match bias {
        Some(name) => {
            let b = read_float(bytes, file, name)?;
            if b.shape != [d_out] {
                return Err(invalid(format!(
                    "{file}: tensor `{name}` has shape {:?}; the bias of `{weight}` is [{d_out}]",
                    b.shape
                )));
            }
            b.values
        }
        None => vec![0.0; d_out],
    };
    Ok(crate::reference::Linear {
        weight: ndarray::Array2::from_shape_fn((d_in, d_out), |(i, j)| w.values[j * d_in + i]),
        bias: ndarray::Array1::from(bias),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(bits: u32, frac: u32) -> QFormat {
        QFormat::signed(bits, frac).unwrap()
    }

    #[test]
    fn raw_tensors_round_trip_with_their_dtype() {
        let tensors = vec![
            RawTensor {
                name: "w".into(),
                format: q(16, 14),
                shape: vec![2, 3],
                values: vec![-32768, 32767, 0, 1, -1, 12345],
            },
            RawTensor {
                name: "b".into(),
                format: q(32, 26),
                shape: vec![2],
                values: vec![i64::from(i32::MIN), i64::from(i32::MAX)],
            },
        ];
        let bytes = write_raw(&tensors).unwrap();
        for t in &tensors {
            assert_eq!(&read_raw(&bytes, "f", &t.name, t.format, &t.shape).unwrap(), t);
        }
        let wrong_shape = read_raw(&bytes, "f", "w", q(16, 14), &[3, 2]).unwrap_err();
        assert!(wrong_shape.to_string().contains("shape [2, 3]"), "{wrong_shape}");
        let wrong_dtype = read_raw(&bytes, "f", "w", q(8, 6), &[2, 3]).unwrap_err();
        assert!(wrong_dtype.to_string().contains("I16"), "{wrong_dtype}");
        let missing = read_raw(&bytes, "f", "w2", q(16, 14), &[2, 3]).unwrap_err();
        assert!(missing.to_string().contains("no tensor `w2`"), "{missing}");
    }

    #[test]
    fn a_value_outside_its_format_is_refused() {
        let t = RawTensor {
            name: "w".into(),
            format: q(8, 6),
            shape: vec![1],
            values: vec![200],
        };
        assert!(write_raw(&[t]).unwrap_err().to_string().contains("w[0] = 200"));
    }

    #[test]
    fn halves_decode() {
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0xc000), -2.0);
        assert_eq!(half_to_f64(0x0001), (-24f64).exp2());
        assert_eq!(half_to_f64(0x7bff), 65504.0);
    }

    proptest! {
        #[test]
        fn malformed_files_give_errors(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert!(read_float(&bytes, "f", "x").is_err());
            prop_assert!(read_raw(&bytes, "f", "x", q(16, 0), &[1]).is_err());
        }
    }
}
