//! The wide product and the rounding shifter against quant's exact
//! arithmetic (`i128` products, `shift_right_rounded`, saturation), on
//! edge values and seeded random ones.

use hwformer_hdl::fixed::{RoundShift, WideProduct};
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
