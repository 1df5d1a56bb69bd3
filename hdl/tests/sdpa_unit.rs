//! The streaming attention block in rust-hdl's simulator: every output
//! vector equals `StreamingSdpa::run_query` bit for bit, for queries of
//! different lengths under random gaps on both input streams and random
//! output back-pressure; one key per cycle without stalls.

use hwformer_hdl::sdpa::{min_query_cycles, output_delay, SdpaUnit, SDPA_N_MAX};
use hwformer_quant::integer::quantize_all;
use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
use hwformer_quant::random::{normal_vec, seeded};
use rand::Rng;
use rust_hdl::prelude::*;

/// One query and its keys and values (raw Q3.12).
struct Query {
    q: Vec<i64>,
    keys: Vec<Vec<i64>>,
    values: Vec<Vec<i64>>,
}

fn workload(d: usize, lengths: &[usize], sigma: f64, seed: u64) -> (StreamingSdpa, Vec<Query>) {
    let model = StreamingSdpa::new(SdpaConfig::with_d(d, SDPA_N_MAX)).unwrap();
    let f = model.config().key;
    let mut rng = seeded(seed);
    let vector = |rng: &mut _| quantize_all("x", &normal_vec(rng, d, sigma), f).unwrap();
    let queries = lengths
        .iter()
        .map(|&n| Query {
            q: vector(&mut rng),
            keys: (0..n).map(|_| vector(&mut rng)).collect(),
            values: (0..n).map(|_| vector(&mut rng)).collect(),
        })
        .collect();
    (model, queries)
}

fn pack(lanes: &[i64]) -> u128 {
    lanes.iter().enumerate().fold(0u128, |acc, (i, &x)| {
        acc | (u128::from(x as i16 as u16) << (16 * i))
    })
}

/// Output vectors (raw lanes) and the cycles of the kv and out handshakes.
fn run<const D: usize, const W: usize, const KV: usize, const M: usize>(
    model: &StreamingSdpa,
    queries: &[Query],
    valid_p: f64,
    ready_p: f64,
    seed: u64,
) -> (Vec<Vec<i64>>, Vec<u64>, Vec<u64>) {
    let mut uut = SdpaUnit::<D, W, KV, M>::new(model);
    uut.connect_all();
    let mut rng = seeded(seed);
    let keys: Vec<(u128, u128, bool)> = queries
        .iter()
        .flat_map(|q| {
            (0..q.keys.len()).map(move |j| (pack(&q.keys[j]), pack(&q.values[j]), j + 1 == q.keys.len()))
        })
        .collect();
    let (mut next_q, mut next_k, mut cycle) = (0, 0, 0u64);
    let (mut outputs, mut kv_cycles, mut out_cycles) = (Vec::new(), Vec::new(), Vec::new());
    while outputs.len() < queries.len() {
        assert!(cycle < 200 * (keys.len() as u64 + 10), "stuck at cycle {cycle}");
        let q_valid = next_q < queries.len() && rng.gen_bool(valid_p);
        let k_valid = next_k < keys.len() && rng.gen_bool(valid_p);
        let ready = rng.gen_bool(ready_p);
        uut.s_axis_query_tvalid.next = q_valid;
        uut.s_axis_query_tdata.next = queries.get(next_q).map_or(0, |q| pack(&q.q)).to_bits();
        uut.s_axis_query_tlast.next = false;
        let (k, v, last) = keys.get(next_k).copied().unwrap_or((0, 0, false));
        // v above k: for D <= 4 both fit a u128; wider D uses two shifts of Bits
        let kv: Bits<KV> = (bit_cast::<KV, W>(v.to_bits()) << (W as u64)) | bit_cast::<KV, W>(k.to_bits());
        uut.s_axis_kv_tvalid.next = k_valid;
        uut.s_axis_kv_tdata.next = kv;
        uut.s_axis_kv_tlast.next = last;
        uut.m_axis_out_tready.next = ready;
        uut.clock.next = false.into();
        assert!(simulate(&mut uut, 500), "did not settle at cycle {cycle}");
        if ready && uut.m_axis_out_tvalid.val() {
            assert!(uut.m_axis_out_tlast.val());
            let data = uut.m_axis_out_tdata.val();
            outputs.push(
                (0..D)
                    .map(|i| i64::from(data.get_bits::<16>(16 * i).to_u64() as u16 as i16))
                    .collect(),
            );
            out_cycles.push(cycle);
        }
        if q_valid && uut.s_axis_query_tready.val() {
            next_q += 1;
        }
        if k_valid && uut.s_axis_kv_tready.val() {
            kv_cycles.push(cycle);
            next_k += 1;
        }
        uut.clock.next = true.into();
        assert!(simulate(&mut uut, 500), "did not settle after cycle {cycle}");
        cycle += 1;
    }
    (outputs, kv_cycles, out_cycles)
}

fn check<const D: usize, const W: usize, const KV: usize, const M: usize>(
    lengths: &[usize],
    sigma: f64,
    valid_p: f64,
    ready_p: f64,
    seed: u64,
) {
    let (model, queries) = workload(D, lengths, sigma, seed);
    let (outputs, _, _) = run::<D, W, KV, M>(&model, &queries, valid_p, ready_p, seed + 1);
    for (i, (q, got)) in queries.iter().zip(&outputs).enumerate() {
        let want = model.run_query(&q.q, &q.keys, &q.values).unwrap();
        assert_eq!(got, &want, "query {i} ({} keys)", q.keys.len());
    }
}

#[test]
fn bit_exact_d1_under_gaps_and_back_pressure() {
    check::<1, 16, 32, 1>(&[1, 5, 40, 2, 1, 256, 17], 1.0, 0.7, 0.5, 11);
}

#[test]
fn bit_exact_d4_with_large_scores_and_saturation() {
    // wide inputs make scores saturate and the maximum jump
    check::<4, 64, 128, 1>(&[3, 60, 1, 9], 3.0, 0.8, 0.6, 12);
}

#[test]
fn bit_exact_with_two_and_four_output_multipliers() {
    // short queries: the normalizer is the bottleneck, and its groups of
    // lanes must each land in their own lanes
    check::<4, 64, 128, 2>(&[3, 1, 9, 2, 30], 3.0, 0.8, 0.6, 16);
    check::<4, 64, 128, 4>(&[3, 1, 9, 2, 30], 3.0, 0.8, 0.6, 17);
    check::<8, 128, 256, 4>(&[12, 1, 33, 2], 1.0, 0.9, 0.7, 18);
}

#[test]
fn bit_exact_d8() {
    check::<8, 128, 256, 1>(&[12, 1, 33], 1.0, 0.9, 0.7, 13);
}

#[test]
fn one_key_per_cycle_and_the_documented_delay() {
    let (model, queries) = workload(2, &[50, 50, 50], 1.0, 14);
    let (_, kv, out) = run::<2, 32, 64, 1>(&model, &queries, 1.0, 1.0, 15);
    // the query register reloads in the cycle of a query's last key
    for (j, &c) in kv.iter().enumerate() {
        assert_eq!(c, kv[0] + j as u64, "key {j}");
    }
    for (i, &c) in out.iter().enumerate() {
        // thirteen stages (the products, six adder-tree levels, two of the
        // scale, three of rounding, the running max), six exp stages, the
        // issue; the merge factors (four into a six-stage exp unit), the
        // sum through the five-stage merge engine and one cycle to start
        // the reciprocal, its seven busy cycles, a cycle per lane, the
        // merge engine and the output multiply (two stages) and rounding
        // (three) for the last lane
        let delay = 13 + 6 + 1 + (4 + 6) + (5 + 1) + 7 + 2 + 5 + 5;
        assert_eq!(c - kv[50 * i + 49], delay, "query {i}");
        assert_eq!(output_delay(2, 1), delay);
    }
}

#[test]
fn d_over_m_cycles_a_query_for_the_lanes_with_m_output_multipliers() {
    // queries of 2 keys: back to back they are as far apart as the
    // normalizer's work, d / m + 35 cycles, and the first output comes
    // d / m + 53 after its last key
    let (model, queries) = workload(8, &[2; 6], 1.0, 19);
    let spacing = |out: &[u64]| -> Vec<u64> { out.windows(2).map(|w| w[1] - w[0]).collect() };
    let (_, kv1, out1) = run::<8, 128, 256, 1>(&model, &queries, 1.0, 1.0, 20);
    let (_, kv4, out4) = run::<8, 128, 256, 4>(&model, &queries, 1.0, 1.0, 20);
    assert_eq!(out1[0] - kv1[1], output_delay(8, 1));
    assert_eq!(out4[0] - kv4[1], output_delay(8, 4));
    assert_eq!(output_delay(8, 1) - output_delay(8, 4), 8 - 2);
    assert!(
        spacing(&out1).iter().all(|&c| c == min_query_cycles(8, 1)),
        "{out1:?}"
    );
    assert!(
        spacing(&out4).iter().all(|&c| c == min_query_cycles(8, 4)),
        "{out4:?}"
    );
    assert_eq!(min_query_cycles(8, 4), 8 / 4 + 35);
}

/// The heads saturate the gap `s - m` (as low as `-(2^16 - 1)` LSBs) at
/// `-2^15` before the exp unit; the model takes the exact gap. The two
/// agree exactly when `e^x` is already 0 in UQ1.15 at `-2^15`: so for
/// every score format the heads are built for, and not for the first one
/// refused.
#[test]
fn the_saturated_score_gap_is_exact_for_every_score_format_the_heads_take() {
    use hwformer_hdl::sdpa::SCORE_FRAC_MAX;
    use hwformer_quant::tables::ExpNeg;
    use hwformer_quant::QFormat;
    for frac in 8..=SCORE_FRAC_MAX + 1 {
        let exp = ExpNeg::new(QFormat::signed(16, frac).unwrap()).unwrap();
        let saturated = exp.eval(-(1 << 15));
        let differs = (-(1i64 << 16) + 1..=-(1 << 15)).any(|gap| exp.eval(gap) != saturated);
        if frac <= SCORE_FRAC_MAX {
            assert!(
                !differs && saturated == 0,
                "Q{}.{frac}: e^(-2^15 LSB) = {saturated}",
                15 - frac
            );
        } else {
            assert!(
                differs,
                "Q{}.{frac} would be exact too: raise SCORE_FRAC_MAX",
                15 - frac
            );
        }
    }
}
