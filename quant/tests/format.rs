//! Number formats: invalid formats, round trips, saturation, rounding ties,
//! and no panic anywhere in the domain (property tests).

use hwformer_quant::format::{round_f64, shift_right_rounded, shift_right_rounded_i64};
use hwformer_quant::{Fixed, Overflow, QFormat, QuantError, Rounding};
use proptest::prelude::*;

const ROUNDINGS: [Rounding; 4] = [
    Rounding::HalfUp,
    Rounding::NearestEven,
    Rounding::TowardZero,
    Rounding::Floor,
];

fn any_format() -> impl Strategy<Value = QFormat> {
    (any::<bool>(), 1u32..=64)
        .prop_flat_map(|(signed, bits)| (Just(signed), Just(bits), 0..=bits))
        .prop_map(|(s, b, f)| QFormat::new(s, b, f).unwrap())
}

fn any_rounding() -> impl Strategy<Value = Rounding> {
    prop::sample::select(ROUNDINGS.to_vec())
}

fn any_overflow() -> impl Strategy<Value = Overflow> {
    prop::sample::select(vec![Overflow::Saturate, Overflow::Wrap])
}

#[test]
fn invalid_formats_are_named_errors() {
    for (signed, bits, frac, needle) in [
        (true, 0, 0, "at least 1 bit"),
        (false, 65, 0, "more than the 64"),
        (true, 8, 9, "do not fit"),
    ] {
        match QFormat::new(signed, bits, frac) {
            Err(QuantError::InvalidFormat(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{bits}/{frac}: {other:?}"),
        }
    }
    assert!(QFormat::new(false, 64, 64).is_ok());
    let bad: Result<QFormat, _> = serde_json::from_str(r#"{"signed":true,"bits":0,"frac":0}"#);
    assert!(bad.is_err(), "deserialization validates too");
}

#[test]
fn range_ends_of_common_formats() {
    let q = QFormat::signed(16, 10).unwrap();
    assert_eq!((q.min_raw(), q.max_raw()), (-32768, 32767));
    assert_eq!(q.min_value(), -32.0);
    let u = QFormat::unsigned(16, 16).unwrap();
    assert_eq!((u.min_raw(), u.max_raw()), (0, 65535));
    let wide = QFormat::unsigned(64, 0).unwrap();
    assert_eq!(wide.max_raw(), u64::MAX as i128);
    assert_eq!(QFormat::signed(64, 0).unwrap().min_raw(), i64::MIN as i128);
}

#[test]
fn non_finite_floats_are_errors() {
    let q = QFormat::signed(16, 10).unwrap();
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            q.quantize(x, Rounding::HalfUp, Overflow::Saturate),
            Err(QuantError::NonFinite { .. })
        ));
    }
}

#[test]
fn rounding_ties() {
    // value / 2 for odd values: every tie, both signs
    let cases = [
        (5, [3, 2, 2, 2]),
        (-5, [-2, -2, -2, -3]),
        (7, [4, 4, 3, 3]),
        (-7, [-3, -4, -3, -4]),
    ];
    for (value, expected) in cases {
        for (rounding, want) in ROUNDINGS.iter().zip(expected) {
            assert_eq!(
                shift_right_rounded(value, 1, *rounding),
                want,
                "{value}/2 {rounding:?}"
            );
            assert_eq!(
                round_f64(value as f64 / 2.0, *rounding),
                want as f64,
                "{value}/2 {rounding:?} (f64)"
            );
        }
    }
}

#[test]
fn wrap_and_saturate_at_both_ends() {
    let q = QFormat::signed(8, 0).unwrap();
    assert_eq!(q.fit(128, Overflow::Wrap), -128);
    assert_eq!(q.fit(-129, Overflow::Wrap), 127);
    assert_eq!(q.fit(1000, Overflow::Saturate), 127);
    assert_eq!(q.fit(-1000, Overflow::Saturate), -128);
    let u = QFormat::unsigned(8, 0).unwrap();
    assert_eq!(u.fit(-1, Overflow::Wrap), 255);
    assert_eq!(u.fit(-1, Overflow::Saturate), 0);
    assert_eq!(
        q.quantize(1e300, Rounding::HalfUp, Overflow::Saturate).unwrap(),
        127
    );
    assert_eq!(
        q.quantize(-1e300, Rounding::HalfUp, Overflow::Saturate).unwrap(),
        -128
    );
    assert_eq!(q.quantize(1e300, Rounding::HalfUp, Overflow::Wrap).unwrap(), 0);
}

#[test]
fn arithmetic_with_declared_result_formats() {
    let q = QFormat::signed(16, 8).unwrap();
    let a = Fixed::from_f64(1.5, q, Rounding::HalfUp, Overflow::Saturate).unwrap();
    let b = Fixed::from_f64(-0.25, q, Rounding::HalfUp, Overflow::Saturate).unwrap();
    let out = QFormat::signed(32, 16).unwrap();
    let h = Rounding::HalfUp;
    let s = Overflow::Saturate;
    assert_eq!(a.add(&b, out, h, s).unwrap().to_f64(), 1.25);
    assert_eq!(a.sub(&b, out, h, s).unwrap().to_f64(), 1.75);
    assert_eq!(a.mul(&b, out, h, s).unwrap().to_f64(), -0.375);
    let small = QFormat::signed(4, 0).unwrap();
    assert_eq!(
        a.mul(&b, small, Rounding::NearestEven, s).unwrap().raw(),
        0,
        "-0.375 rounds to 0"
    );
    assert_eq!(a.mul(&b, small, Rounding::Floor, s).unwrap().raw(), -1);
    assert!(Fixed::from_raw(40000, q).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn raw_round_trips_through_f64(format in any_format(), seed in any::<u64>()) {
        // every representable value of up to 53 significant bits survives
        let raw = if format.bits() <= 53 {
            let span = (format.max_raw() - format.min_raw()) as u128 + 1;
            format.min_raw() + (seed as u128 % span) as i128
        } else {
            (seed as i128 >> 11).clamp(format.min_raw(), format.max_raw())
        };
        let x = format.to_f64(raw);
        for rounding in ROUNDINGS {
            prop_assert_eq!(format.quantize(x, rounding, Overflow::Saturate).unwrap(), raw);
        }
    }

    #[test]
    fn quantize_never_panics_and_stays_in_range(
        format in any_format(), x in any::<f64>(), rounding in any_rounding(), overflow in any_overflow()
    ) {
        match format.quantize(x, rounding, overflow) {
            Ok(raw) => prop_assert!(format.contains(raw)),
            Err(_) => prop_assert!(!x.is_finite()),
        }
    }

    #[test]
    fn saturation_clamps_to_the_nearest_end(format in any_format(), x in -1e30f64..1e30) {
        let raw = format.quantize(x, Rounding::NearestEven, Overflow::Saturate).unwrap();
        if x >= format.max_value() {
            prop_assert_eq!(raw, format.max_raw());
        } else if x <= format.min_value() {
            prop_assert_eq!(raw, format.min_raw());
        } else {
            // inside the range: within half an LSB
            prop_assert!((format.to_f64(raw) - x).abs() <= format.lsb() / 2.0 * (1.0 + 1e-12));
        }
    }

    #[test]
    fn wrap_is_modular(format in any_format(), value in any::<i64>()) {
        let wrapped = format.fit(value as i128, Overflow::Wrap);
        prop_assert!(format.contains(wrapped));
        let modulus = 1i128 << format.bits();
        prop_assert_eq!((wrapped - value as i128).rem_euclid(modulus), 0);
    }

    #[test]
    fn shift_matches_exact_division(value in any::<i128>(), shift in 0u32..140, rounding in any_rounding()) {
        let got = shift_right_rounded(value, shift, rounding);
        if shift <= 60 && value.unsigned_abs() < 1u128 << 100 {
            // compare against the float-free definition: floor division
            let d = 1i128 << shift;
            let (q, r) = (value.div_euclid(d), value.rem_euclid(d));
            let want = match rounding {
                Rounding::Floor => q,
                Rounding::TowardZero => if value < 0 && r != 0 { q + 1 } else { q },
                Rounding::HalfUp => if shift > 0 && 2 * r >= d { q + 1 } else { q },
                Rounding::NearestEven => if shift > 0 && (2 * r > d || (2 * r == d && q & 1 == 1)) { q + 1 } else { q },
            };
            prop_assert_eq!(got, want);
        }
        // |result| never exceeds |value| by more than rounding up one step
        prop_assert!(got.unsigned_abs() <= (value.unsigned_abs() >> shift.min(127)) + 1);
    }

    #[test]
    fn the_i64_round_and_shift_agrees_with_the_i128_one(value in any::<i64>(), shift in 0u32..70, rounding in any_rounding()) {
        prop_assert_eq!(
            i128::from(shift_right_rounded_i64(value, shift, rounding)),
            shift_right_rounded(i128::from(value), shift, rounding)
        );
    }

    #[test]
    fn arithmetic_never_panics(
        fa in any_format(), fb in any_format(), out in any_format(),
        ra in any::<i64>(), rb in any::<i64>(), rounding in any_rounding(), overflow in any_overflow()
    ) {
        let a = Fixed::from_raw((ra as i128).clamp(fa.min_raw(), fa.max_raw()), fa).unwrap();
        let b = Fixed::from_raw((rb as i128).clamp(fb.min_raw(), fb.max_raw()), fb).unwrap();
        for result in [a.add(&b, out, rounding, overflow), a.sub(&b, out, rounding, overflow),
                       a.mul(&b, out, rounding, overflow), a.requantize(out, rounding, overflow)] {
            match result {
                Ok(v) => prop_assert!(out.contains(v.raw())),
                Err(e) => prop_assert!(matches!(e, QuantError::IntermediateTooWide(_))),
            }
        }
    }

    #[test]
    fn exact_sums_of_small_formats_are_exact(a in any::<i16>(), b in any::<i16>()) {
        let q = QFormat::signed(16, 8).unwrap();
        let wide = QFormat::signed(17, 8).unwrap();
        let (x, y) = (Fixed::from_raw(a as i128, q).unwrap(), Fixed::from_raw(b as i128, q).unwrap());
        let sum = x.add(&y, wide, Rounding::HalfUp, Overflow::Saturate).unwrap();
        prop_assert_eq!(sum.raw(), a as i128 + b as i128);
        let product = x.mul(&y, QFormat::signed(32, 16).unwrap(), Rounding::HalfUp, Overflow::Saturate).unwrap();
        prop_assert_eq!(product.raw(), a as i128 * b as i128);
    }
}

#[test]
fn formats_are_read_from_their_notation() {
    use hwformer_quant::QFormat;
    assert_eq!(
        "Q3.12".parse::<QFormat>().unwrap(),
        QFormat::signed(16, 12).unwrap()
    );
    assert_eq!(
        "UQ0.16".parse::<QFormat>().unwrap(),
        QFormat::unsigned(16, 16).unwrap()
    );
    assert_eq!(
        "Q5.10 (16 bits)".parse::<QFormat>().unwrap(),
        QFormat::signed(16, 10).unwrap()
    );
    for bad in [
        "",
        "Q",
        "Q3",
        "Q3.x",
        "X3.12",
        "Q3.12 (17 bits)",
        "Q-20.3",
        "Q60.60",
        "UQ0.0",
    ] {
        assert!(bad.parse::<QFormat>().is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn notation_round_trips(signed: bool, bits in 1u32..=64, frac_seed: u32) {
        let frac = frac_seed % (bits + 1);
        if let Ok(f) = hwformer_quant::QFormat::new(signed, bits, frac) {
            prop_assert_eq!(f.to_string().parse::<hwformer_quant::QFormat>().unwrap(), f);
        }
    }

    #[test]
    fn any_text_gives_a_format_or_an_error(text in "\\PC{0,20}") {
        let _ = text.parse::<hwformer_quant::QFormat>();
    }
}
