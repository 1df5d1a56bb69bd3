//! The softmax block in rust-hdl's simulator: every probability equals
//! `SoftmaxModel::run` bit for bit, rows of random lengths under random
//! input gaps and output back-pressure, and the documented cycle counts
//! when nothing stalls.

mod common;
use common::drive;
use hwformer_hdl::softmax::{first_output_delay, row_cycles, SoftmaxUnit};
use hwformer_quant::accuracy::random_logit_row;
use hwformer_quant::integer::{quantize_all, softmax::SoftmaxModel};
use hwformer_quant::random::seeded;
use rust_hdl::prelude::*;

fn rows(count: usize, n_max: usize, seed: u64) -> Vec<Vec<i64>> {
    let model = SoftmaxModel::default_design();
    let mut rng = seeded(seed);
    (0..count)
        .map(|_| quantize_all("logit", &random_logit_row(&mut rng, n_max), model.input()).unwrap())
        .collect()
}

fn beats_of(rows: &[Vec<i64>]) -> Vec<(u64, bool)> {
    rows.iter()
        .flat_map(|r| {
            r.iter()
                .enumerate()
                .map(move |(i, &x)| (u64::from(x as i16 as u16), i + 1 == r.len()))
        })
        .collect()
}

fn unit() -> (SoftmaxUnit, SoftmaxModel) {
    let model = SoftmaxModel::default_design();
    let mut uut = SoftmaxUnit::new(&model);
    uut.connect_all();
    (uut, model)
}

fn check_bit_exact(rows: &[Vec<i64>], valid_p: f64, ready_p: f64, seed: u64) {
    let (mut uut, model) = unit();
    let inputs = beats_of(rows);
    let (_, beats) = drive(&mut uut, &inputs, inputs.len(), valid_p, ready_p, seed);
    let mut k = 0;
    for (r, row) in rows.iter().enumerate() {
        let want = model.run(row).unwrap();
        for (i, &p) in want.iter().enumerate() {
            let beat = beats[k];
            assert_eq!(
                beat.data,
                u64::from(p),
                "row {r} (length {}), element {i}, cycle {}",
                row.len(),
                beat.cycle
            );
            assert_eq!(beat.last, i + 1 == row.len(), "row {r}, element {i}: tlast");
            k += 1;
        }
    }
}

#[test]
fn probabilities_are_bit_exact_under_gaps_and_back_pressure() {
    check_bit_exact(&rows(12, 256, 5), 0.7, 0.6, 6);
}

#[test]
fn extreme_rows_are_bit_exact() {
    let mut extreme = vec![
        vec![i64::from(i16::MIN), i64::from(i16::MAX)],
        vec![i64::from(i16::MIN); 256],
        vec![i64::from(i16::MAX); 256],
        vec![0],
        vec![-5, -5, -5, -5],
    ];
    let mut one_large = vec![0i64; 256];
    one_large[100] = 11_366;
    extreme.push(one_large);
    check_bit_exact(&extreme, 0.9, 0.5, 7);
}

#[test]
fn cycle_counts_without_stalls() {
    for n in [1usize, 2, 5, 17, 256] {
        let (mut uut, _) = unit();
        let count: usize = if n == 256 { 3 } else { 12 };
        let rows: Vec<Vec<i64>> = (0..count)
            .map(|r| (0..n as i64).map(|i| (i * 37 + r as i64) % 2000 - 1000).collect())
            .collect();
        let inputs = beats_of(&rows);
        let (taken, beats) = drive(&mut uut, &inputs, inputs.len(), 1.0, 1.0, 8);
        // first row: logits on cycles 0..n, its first probability later by
        // the documented delay, then one probability per cycle
        assert_eq!(taken[n - 1], n as u64 - 1, "n={n}");
        assert_eq!(
            beats[0].cycle - taken[n - 1],
            first_output_delay(n as u64),
            "n={n}"
        );
        assert_eq!(beats[n - 1].cycle - beats[0].cycle, n as u64 - 1);
        // rows overlap: the last two rows start row_cycles apart (steady state)
        let first = |r: usize| taken[r * n];
        assert_eq!(first(count - 1) - first(count - 2), row_cycles(n as u64), "n={n}");
        if row_cycles(n as u64) == n as u64 {
            // rows no shorter than the reciprocal's turn: one logit per
            // cycle from the first to the last
            assert_eq!(taken[taken.len() - 1], (taken.len() - 1) as u64, "n={n}");
        }
    }
}
