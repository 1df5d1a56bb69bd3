//! The leaf blocks whose Verilog is written by hand (`WideProduct`,
//! `LanePacker`, `LaneSelect`, `SignProjection`, `Popcount`,
//! `SequenceStore`) against their rust-hdl simulation models and exact
//! arithmetic, the Verilog run under Icarus on edge and random values
//! (the clocked ones one edge a case).

mod common;
use common::{assert_ok, scratch, tool};
use hwformer_hdl::fixed::WideProduct;
use hwformer_hdl::lanes::{LanePacker, LaneSelect};
use hwformer_quant::random::seeded;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

/// Runs `module` (exported as `hwformer_<name>`) under Icarus: each line
/// of `cases` (hex, `input_bits` wide) drives the concatenated inputs
/// `inputs`, and the value of `output` is read back after 1 time unit.
fn icarus(
    name: &str,
    verilog: &str,
    inputs: &str,
    input_bits: usize,
    output: &str,
    cases: &[String],
) -> Vec<String> {
    icarus_run(name, verilog, inputs, input_bits, output, cases, false)
}

/// [`icarus`] for a clocked module (port `clock`): each case's inputs are
/// driven, then one rising edge, and `output` is read after it.
fn icarus_clocked(
    name: &str,
    verilog: &str,
    inputs: &str,
    input_bits: usize,
    output: &str,
    cases: &[String],
) -> Vec<String> {
    icarus_run(name, verilog, inputs, input_bits, output, cases, true)
}

fn icarus_run(
    name: &str,
    verilog: &str,
    inputs: &str,
    input_bits: usize,
    output: &str,
    cases: &[String],
    clocked: bool,
) -> Vec<String> {
    let (ports, step) = if clocked {
        (
            format!(".clock(clock), {inputs}"),
            "#1 clock = 1;\n      #1 $display(\"%h\", dut.{output});\n      clock = 0;",
        )
    } else {
        (inputs.to_string(), "#1 $display(\"%h\", dut.{output});")
    };
    let step = step.replace("{output}", output);
    let dir = scratch(&format!("hand-written-{name}"));
    std::fs::write(dir.join("dut.v"), verilog).unwrap();
    std::fs::write(dir.join("cases.hex"), cases.join("\n") + "\n").unwrap();
    let testbench = format!(
        "module tb;\n  reg [{top}:0] cases [0:{last}];\n  reg [{top}:0] drive;\n  reg clock = 0;\n  integer i;\n  \
         hwformer_{name} dut({ports});\n  \
         initial begin\n    $readmemh(\"cases.hex\", cases);\n    \
         for (i = 0; i <= {last}; i = i + 1) begin\n      drive = cases[i];\n      {step}\n    end\n    \
         $finish;\n  end\nendmodule\n",
        top = input_bits - 1,
        last = cases.len() - 1,
    );
    std::fs::write(dir.join("tb.v"), testbench).unwrap();
    assert_ok(
        "iverilog",
        &tool(&dir, "iverilog", &["-o", "tb.vvp", "tb.v", "dut.v"]),
    );
    let out = tool(&dir, "vvp", &["-n", "tb.vvp"]);
    assert_ok("vvp", &out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect()
}

/// `WideProduct<A>`'s Verilog under Icarus and its model against i128.
fn check_wide_product<const A: usize>() {
    let mut model = WideProduct::<A>::default();
    model.connect_all();
    let name = format!("wide_product_{A}");
    let verilog = hwformer_hdl::export::verilog(&name, &model).unwrap();
    let (min, max) = (-(1i64 << (A - 1)), (1i64 << (A - 1)) - 1);
    let mask = u64::MAX >> (64 - A);
    let mut cases: Vec<(i64, u16)> = [min, max, -1, 0, 1, min + 1, max - 1, max / 3, min / 5]
        .iter()
        .flat_map(|&a| [0u16, 1, 32768, 65535].map(|b| (a, b)))
        .collect();
    let mut rng = seeded(7 + A as u64);
    cases.extend((0..2000).map(|_| (rng.gen_range(min..=max), rng.gen::<u16>())));
    let lines: Vec<String> = cases
        .iter()
        .map(|&(a, b)| format!("{:0width$x}{b:04x}", (a as u64) & mask, width = A / 4))
        .collect();
    let got = icarus(
        &name,
        &verilog,
        &format!(".a(drive[{}:16]), .b(drive[15:0]), .product()", A + 15),
        A + 16,
        "product",
        &lines,
    );
    assert_eq!(got.len(), cases.len());
    for (&(a, b), line) in cases.iter().zip(&got) {
        let exact = (i128::from(a) * i128::from(b)) as u64;
        model.a.next = ((a as u64) & mask).to_bits();
        model.b.next = u64::from(b).to_bits();
        assert!(simulate(&mut model, 20));
        assert_eq!(model.product.val().to_u64(), exact, "model A = {A}: {a} * {b}");
        assert_eq!(
            u64::from_str_radix(line, 16).unwrap(),
            exact,
            "Verilog A = {A}: {a} * {b}"
        );
    }
}

#[test]
fn wide_product_verilog_is_exact_like_its_model() {
    check_wide_product::<16>();
    check_wide_product::<24>();
    check_wide_product::<40>();
    check_wide_product::<48>();
}

#[test]
fn lane_packer_verilog_puts_lane_i_at_bits_16i_like_its_model() {
    const D: usize = 4;
    let mut model = LanePacker::<D, { 16 * D }>::default();
    model.connect_all();
    let verilog = hwformer_hdl::export::verilog("lane_packer", &model).unwrap();
    let mut rng = seeded(8);
    let cases: Vec<[u16; D]> = (0..200)
        .map(|_| rng.gen())
        .chain([[0x8000, 0xffff, 0, 1]])
        .collect();
    // lane i drives bits [16 i + 15 : 16 i] of the case word
    let mut ports = String::new();
    for i in 0..D {
        write!(ports, ".lanes${i}(drive[{}:{}]), ", 16 * i + 15, 16 * i).unwrap();
    }
    ports.push_str(".word()");
    let lines: Vec<String> = cases
        .iter()
        .map(|c| c.iter().rev().map(|l| format!("{l:04x}")).collect())
        .collect();
    let got = icarus("lane_packer", &verilog, &ports, 16 * D, "word", &lines);
    assert_eq!(got.len(), cases.len());
    for ((lanes, line), driven) in cases.iter().zip(&got).zip(&lines) {
        for (i, &lane) in lanes.iter().enumerate() {
            model.lanes[i].next = u64::from(lane).to_bits();
        }
        assert!(simulate(&mut model, 20));
        // the packed word is the lanes written high lane first
        assert_eq!(line, driven, "Verilog: lanes {lanes:04x?}");
        for (i, &lane) in lanes.iter().enumerate() {
            assert_eq!(
                model.word.val().get_bits::<16>(16 * i).to_u64(),
                u64::from(lane),
                "model: lane {i}"
            );
        }
    }
}

#[test]
fn lane_select_verilog_picks_the_indexed_lane_like_its_model() {
    const D: usize = 5;
    let mut model = LaneSelect::<D, 48>::default();
    model.connect_all();
    let verilog = hwformer_hdl::export::verilog("lane_select", &model).unwrap();
    let mut rng = seeded(9);
    // every index, some out of range (lane 0), over random lanes
    let cases: Vec<([u64; D], u8)> = (0..120)
        .map(|k| {
            let lanes = std::array::from_fn(|_| rng.gen::<u64>() & ((1 << 48) - 1));
            let index = if k % 10 == 9 {
                rng.gen_range(D as u8..=255)
            } else {
                (k % D) as u8
            };
            (lanes, index)
        })
        .collect();
    // the index in the low 8 bits, lane i above it
    let mut ports = String::from(".index(drive[7:0]), ");
    for i in 0..D {
        write!(ports, ".lanes${i}(drive[{}:{}]), ", 8 + 48 * i + 47, 8 + 48 * i).unwrap();
    }
    ports.push_str(".lane()");
    let lines: Vec<String> = cases
        .iter()
        .map(|(lanes, index)| {
            let mut line: String = lanes.iter().rev().map(|l| format!("{l:012x}")).collect();
            write!(line, "{index:02x}").unwrap();
            line
        })
        .collect();
    let got = icarus("lane_select", &verilog, &ports, 8 + 48 * D, "lane", &lines);
    assert_eq!(got.len(), cases.len());
    for ((lanes, index), line) in cases.iter().zip(&got) {
        let want = lanes[if usize::from(*index) < D {
            usize::from(*index)
        } else {
            0
        }];
        assert_eq!(
            u64::from_str_radix(line, 16).unwrap(),
            want,
            "Verilog: index {index}"
        );
        for (i, &lane) in lanes.iter().enumerate() {
            model.lanes[i].next = lane.to_bits();
        }
        model.index.next = u64::from(*index).to_bits();
        assert!(simulate(&mut model, 20));
        assert_eq!(model.lane.val().to_u64(), want, "model: index {index}");
    }
}

#[test]
fn sign_projection_and_popcount_verilog_agree_with_their_models_and_exact_sums() {
    use hwformer_hdl::sign_codes::{Popcount, SignProjection, SIGN_PROJECTION_STAGES};
    const D: usize = 5;
    // 6 rows of +-1 and a row of -1 (bits 7..63 of the code stay 0); 5
    // lanes: an odd node at every level. The all -1 row on all-minimum
    // lanes is every level's largest sum (-(-2^15) = +2^15 per lane).
    let weights: Vec<i64> = (0..6 * D)
        .map(|i| if (i * 7 + i / 3) % 3 == 0 { -1 } else { 1 })
        .chain(std::iter::repeat_n(-1, D))
        .collect();
    let mut model = SignProjection::<D, { 16 * D }>::new(&weights);
    model.connect_all();
    let verilog = hwformer_hdl::export::verilog("sign_projection", &model).unwrap();
    let mut rng = seeded(11);
    // extremes (every row's sum at its largest magnitude, exact zeros) and
    // random lanes, each with a random load and advance
    let mut lanes: Vec<[i16; D]> = vec![
        [i16::MIN; D],
        [i16::MAX; D],
        [0; D],
        [1, -1, 1, -1, 1],
        [-1, 1, -1, 1, -1],
    ];
    lanes.extend((0..400).map(|_| rng.gen::<[i16; D]>()));
    let cases: Vec<([i16; D], bool, bool)> = lanes
        .iter()
        .enumerate()
        .map(|(k, &l)| (l, k < 12 || rng.gen_bool(0.7), k < 12 || rng.gen_bool(0.7)))
        .collect();
    let lines: Vec<String> = cases
        .iter()
        .map(|(c, load, advance)| {
            let x: String = c.iter().rev().map(|&l| format!("{:04x}", l as u16)).collect();
            format!("{}{x}", u8::from(*load) * 2 + u8::from(*advance))
        })
        .collect();
    let got = icarus_clocked(
        "sign_projection",
        &verilog,
        &format!(
            ".load(drive[{a}]), .advance(drive[{b}]), .x(drive[{c}:0]), .code()",
            a = 16 * D + 1,
            b = 16 * D,
            c = 16 * D - 1
        ),
        16 * D + 4,
        "code",
        &lines,
    );
    assert_eq!(got.len(), cases.len());
    let exact = |x: &[i16; D]| -> u64 {
        weights.chunks(D).enumerate().fold(0, |code, (r, row)| {
            let sum: i64 = row.iter().zip(x).map(|(w, &x)| w * i64::from(x)).sum();
            code | (u64::from(sum >= 0) << r)
        })
    };
    // the levels as a queue of exact codes: level 1 loads, the rest advance
    let mut levels = [exact(&[0; D]); SIGN_PROJECTION_STAGES];
    for (k, ((x, load, advance), line)) in cases.iter().zip(&got).enumerate() {
        if *advance {
            levels.copy_within(0..SIGN_PROJECTION_STAGES - 1, 1);
        }
        if *load {
            levels[0] = exact(x);
        }
        let want = levels[SIGN_PROJECTION_STAGES - 1];
        let mut word = Bits::<{ 16 * D }>::default();
        for (i, &l) in x.iter().enumerate() {
            for b in (0..16).filter(|b| (l as u16) >> b & 1 == 1) {
                word = word.replace_bit(16 * i + b, true);
            }
        }
        model.x.next = word;
        model.load.next = *load;
        model.advance.next = *advance;
        model.clock.next = false.into();
        assert!(simulate(&mut model, 20));
        model.clock.next = true.into();
        assert!(simulate(&mut model, 20));
        assert_eq!(model.code.val().to_u64(), want, "model: cycle {k}");
        assert_eq!(u64::from_str_radix(line, 16).unwrap(), want, "Verilog: cycle {k}");
    }

    let mut count = Popcount::default();
    count.connect_all();
    let verilog = hwformer_hdl::export::verilog("popcount", &count).unwrap();
    let mut words: Vec<u64> = vec![0, u64::MAX, 1, 1 << 63, 0x5555_5555_5555_5555];
    words.extend((0..300).map(|_| rng.gen::<u64>()));
    let lines: Vec<String> = words.iter().map(|w| format!("{w:016x}")).collect();
    let got = icarus(
        "popcount",
        &verilog,
        ".word(drive), .count()",
        64,
        "count",
        &lines,
    );
    for (&w, line) in words.iter().zip(&got) {
        count.word.next = w.to_bits();
        assert!(simulate(&mut count, 20));
        assert_eq!(
            count.count.val().to_u64(),
            u64::from(w.count_ones()),
            "model {w:x}"
        );
        assert_eq!(
            u64::from_str_radix(line, 16).unwrap(),
            u64::from(w.count_ones()),
            "Verilog {w:x}"
        );
    }
}

#[test]
fn sequence_store_verilog_reads_and_writes_like_its_model() {
    use hwformer_hdl::sequence_memory::SequenceStore;
    const W: usize = 32;
    let words = 6;
    let mut model = SequenceStore::<W>::new(words);
    model.connect_all();
    let verilog = hwformer_hdl::export::verilog("sequence_store", &model).unwrap();
    let mut rng = seeded(5);
    // write, write address, write data, read, read address; reads of the
    // address written at the same edge give the old word
    let cases: Vec<(bool, u64, u32, bool, u64)> = (0..400)
        .map(|k| {
            let at = rng.gen_range(0..words as u64);
            let same = rng.gen_bool(0.2);
            (
                rng.gen_bool(0.6),
                at,
                rng.gen::<u32>(),
                k > 3 && rng.gen_bool(0.7),
                if same { at } else { rng.gen_range(0..words as u64) },
            )
        })
        .collect();
    let lines: Vec<String> = cases
        .iter()
        .map(|&(w, wa, wd, r, ra)| format!("{}{wa:04x}{wd:08x}{}{ra:04x}", u8::from(w), u8::from(r)))
        .collect();
    let got = icarus_clocked(
        "sequence_store",
        &verilog,
        ".write(drive[68]), .write_address(drive[67:52]), .write_data(drive[51:20]), \
         .read(drive[16]), .read_address(drive[15:0]), .read_data()",
        72,
        "read_data",
        &lines,
    );
    // the words as a plain array: a read gives the word before this edge's write
    let mut memory = vec![0u32; words];
    let mut value = 0u32;
    for (k, (&(w, wa, wd, r, ra), line)) in cases.iter().zip(&got).enumerate() {
        if r {
            value = memory[ra as usize];
        }
        if w {
            memory[wa as usize] = wd;
        }
        model.write.next = w;
        model.write_address.next = wa.to_bits();
        model.write_data.next = u64::from(wd).to_bits();
        model.read.next = r;
        model.read_address.next = ra.to_bits();
        model.clock.next = false.into();
        assert!(simulate(&mut model, 20));
        model.clock.next = true.into();
        assert!(simulate(&mut model, 20));
        assert_eq!(
            model.read_data.val().to_u64(),
            u64::from(value),
            "model: cycle {k}"
        );
        assert_eq!(
            u64::from_str_radix(line, 16).unwrap(),
            u64::from(value),
            "Verilog: cycle {k}"
        );
    }
}
