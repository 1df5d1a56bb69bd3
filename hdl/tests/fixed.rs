//! The wide product and the rounding shifter against quant's exact
//! arithmetic (`i128` products, `shift_right_rounded`, saturation), on
//! edge values and seeded random ones.

use hwformer_hdl::fixed::{PipelinedProduct, PipelinedRescale, PipelinedRoundShift, RoundShift, WideProduct};
use hwformer_quant::format::shift_right_rounded;
use hwformer_quant::random::seeded;
use hwformer_quant::{Overflow, QFormat, Rounding};
use rand::Rng;
use rust_hdl::prelude::*;

/// `WideProduct<A>` against i128 products on edge and seeded values.
fn check_wide_product<const A: usize>() {
    let mut uut = WideProduct::<A>::default();
    uut.connect_all();
    let mut rng = seeded(A as u64);
    let (min, max) = (-(1i64 << (A - 1)), (1i64 << (A - 1)) - 1);
    let edges = [min, max, -1, 0, 1, min + 1, max - 1, max / 3, min / 5];
    let mut cases: Vec<(i64, u16)> = edges
        .iter()
        .flat_map(|&a| [0u16, 1, 32768, 65535].map(|b| (a, b)))
        .collect();
    cases.extend((0..20000).map(|_| (rng.gen_range(min..=max), rng.gen::<u16>())));
    for (a, b) in cases {
        uut.a.next = ((a as u64) & (u64::MAX >> (64 - A))).to_bits();
        uut.b.next = u64::from(b).to_bits();
        assert!(simulate(&mut uut, 20));
        let got = uut.product.val().to_u64() as i64;
        assert_eq!(
            i128::from(got),
            i128::from(a) * i128::from(b),
            "A = {A}: {a} * {b}"
        );
    }
}

#[test]
fn wide_product_is_exact_at_every_width_used() {
    check_wide_product::<16>();
    check_wide_product::<24>();
    check_wide_product::<40>();
    check_wide_product::<48>();
}

#[test]
fn round_shift_matches_quant() {
    let mut uut = RoundShift::default();
    uut.connect_all();
    let q16 = QFormat::signed(16, 0).unwrap();
    let mut rng = seeded(2);
    let mut cases: Vec<(i64, u32)> = vec![
        (i64::MIN / 4, 1),
        (-1, 1),
        (-3, 1),
        (3, 1),
        (-(1 << 40), 20),
        ((1 << 40) + 5, 28),
    ];
    cases.extend((0..20000).map(|_| (rng.gen_range(-(1i64 << 57)..(1i64 << 57)), rng.gen_range(1..=48))));
    for (x, k) in cases {
        uut.value.next = (x as u64).to_bits();
        uut.shift.next = u64::from(k).to_bits();
        assert!(simulate(&mut uut, 20));
        let want = shift_right_rounded(i128::from(x), k, Rounding::HalfUp);
        assert_eq!(i128::from(uut.shifted.val().to_u64() as i64), want, "{x} >> {k}");
        let saturated = q16.fit(want, Overflow::Saturate);
        assert_eq!(
            i128::from(uut.saturated.val().to_u64() as u16 as i16),
            saturated,
            "{x} >> {k} saturated"
        );
    }
}

/// A clocked block's outputs against the expected values of its inputs,
/// `depth` register stages deep (after the enabled edge that takes an
/// input, the output is the input taken `depth - 1` enabled edges
/// before): the inputs change every cycle, `enable` is low one cycle in
/// four (a stalled pipeline must hold).
fn check_pipeline<B: Block, T: std::fmt::Debug + PartialEq + Clone>(
    uut: &mut B,
    depth: usize,
    cases: &[T],
    mut drive: impl FnMut(&mut B, &T, bool, bool),
    read: impl Fn(&B) -> T,
    expected: impl Fn(&T) -> T,
) {
    let mut rng = seeded(9);
    let mut taken: Vec<T> = Vec::new();
    for case in cases.iter().cycle().take(cases.len() * 2) {
        let enable = rng.gen_range(0..4) != 0;
        drive(uut, case, enable, false);
        assert!(simulate(uut, 50));
        drive(uut, case, enable, true);
        assert!(simulate(uut, 50));
        if enable {
            taken.push(expected(case));
            if taken.len() >= depth {
                let want = &taken[taken.len() - depth];
                assert_eq!(&read(uut), want, "{case:?}");
            }
        }
    }
    assert!(taken.len() > depth + 100);
}

#[test]
fn pipelined_round_shift_matches_quant_and_holds_when_stalled() {
    let mut uut = PipelinedRoundShift::default();
    uut.connect_all();
    let q16 = QFormat::signed(16, 0).unwrap();
    let mut rng = seeded(3);
    // (x, shift) in; (rounded and saturated, clipped) out, as i64 pairs
    let mut cases: Vec<(i64, i64)> = vec![
        (i64::MIN / 4, 1),
        (-1, 1),
        (-3, 1),
        (65535, 1),
        (-65537, 1),
        (1 << 62, 40),
    ];
    cases.extend((0..3000).map(|_| {
        let x = rng.gen_range(-(1i64 << 57)..(1i64 << 57)) >> rng.gen_range(0..50);
        (x, rng.gen_range(1..=48))
    }));
    let expected = |&(x, k): &(i64, i64)| -> (i64, i64) {
        let want = shift_right_rounded(i128::from(x), k as u32, Rounding::HalfUp);
        let saturated = q16.fit(want, Overflow::Saturate);
        (saturated as i64, i64::from(saturated != want))
    };
    check_pipeline(
        &mut uut,
        3,
        &cases,
        |u, &(x, k), enable, edge| {
            u.clock.next = edge.into();
            u.value.next = (x as u64).to_bits();
            u.pre_shift.next = ((k - 1) as u64).to_bits();
            u.enable.next = enable;
        },
        |u| {
            (
                i64::from(u.saturated.val().to_u64() as u16 as i16),
                i64::from(u.clipped.val()),
            )
        },
        expected,
    );
}

#[test]
fn pipelined_product_and_rescale_are_exact_and_hold_when_stalled() {
    let mut rng = seeded(4);
    let (min, max) = (-(1i64 << 47), (1i64 << 47) - 1);
    let mut cases: Vec<(i64, i64)> = [min, max, -1, 0, 1, min + 1, max - 1]
        .iter()
        .flat_map(|&a| [0i64, 1, 32768, 65535].map(|b| (a, b)))
        .collect();
    cases.extend((0..3000).map(|_| {
        (
            rng.gen_range(min..=max) >> rng.gen_range(0..40),
            rng.gen_range(0..65536),
        )
    }));
    let mut product = PipelinedProduct::default();
    product.connect_all();
    check_pipeline(
        &mut product,
        2,
        &cases,
        |u, &(a, b), enable, edge| {
            u.clock.next = edge.into();
            u.a.next = ((a as u64) & (u64::MAX >> 16)).to_bits();
            u.b.next = (b as u64).to_bits();
            u.enable.next = enable;
        },
        |u| (u.product.val().to_u64() as i64, 0),
        |&(a, b)| (a * b, 0),
    );
    // the rescale takes factors up to 1.0 (2^15) and sums below 2^47
    let rescale_cases: Vec<(i64, i64)> = cases.iter().map(|&(a, b)| (a, b.min(1 << 15))).collect();
    let mut rescale = PipelinedRescale::default();
    rescale.connect_all();
    check_pipeline(
        &mut rescale,
        2,
        &rescale_cases,
        |u, &(a, f), enable, edge| {
            u.clock.next = edge.into();
            u.a.next = ((a as u64) & (u64::MAX >> 16)).to_bits();
            u.factor.next = (f as u64).to_bits();
            u.enable.next = enable;
        },
        |u| {
            // 48-bit two's complement, sign-extended
            (((u.rescaled.val().to_u64() << 16) as i64) >> 16, 0)
        },
        |&(a, f)| {
            (
                shift_right_rounded(i128::from(a) * i128::from(f), 15, Rounding::HalfUp) as i64,
                0,
            )
        },
    );
}
