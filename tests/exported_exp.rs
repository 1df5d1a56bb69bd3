//! The exported exponential unit through the external tools: Verilator's
//! lint, Icarus Verilog running it bit-exact against the integer model
//! (with random input gaps and output back-pressure), and yosys mapping it
//! to Xilinx 7-series cells.

mod common;
use common::{assert_ok, hwformer, scratch, tool};
use hwformer_hdl::manifest::Manifest;
use hwformer_quant::random::seeded;
use hwformer_quant::tables::ExpNeg;
use hwformer_quant::QFormat;
use rand::Rng;
use std::fmt::Write;
use std::path::PathBuf;

fn export(name: &str) -> (PathBuf, Manifest) {
    let dir = scratch(name);
    let out = hwformer(&["gen", "exp", "--out", dir.to_str().unwrap()]);
    assert_ok("hwformer gen exp", &out);
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(dir.join("exp.json")).unwrap()).unwrap();
    (dir, manifest)
}

#[test]
fn lints_clean_under_verilator_with_the_listed_waivers() {
    let (dir, manifest) = export("lint");
    assert_eq!(manifest.module, "hwformer_exp");
    let mut args = vec!["--lint-only".to_string(), "-Wall".to_string()];
    args.extend(manifest.lint_waivers.keys().map(|w| format!("-Wno-{w}")));
    args.extend([
        "--top-module".to_string(),
        manifest.module.clone(),
        manifest.verilog.clone(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tool(&dir, "verilator", &args);
    assert_ok("verilator --lint-only -Wall", &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("%Warning") && !stderr.contains("%Error"),
        "{stderr}"
    );
    let source = std::fs::read_to_string(dir.join("exp.v")).unwrap();
    for line in source.lines().filter(|l| l.trim_start().starts_with("module ")) {
        assert!(
            line.contains("module hwformer_exp") && !line.split('(').next().unwrap().contains('$'),
            "{line}"
        );
    }
}

/// A testbench that knows only the manifest's ports: stimulus, valid and
/// ready patterns from hex files, one output line per beat with its cycle.
fn testbench(manifest: &Manifest, beats: usize, cycles: usize) -> String {
    let (i, o) = (&manifest.streams[0], &manifest.streams[1]);
    let (si, so) = (&i.port_prefix, &o.port_prefix);
    let mut tb = String::new();
    writeln!(tb, "`timescale 1ns/1ps\nmodule tb;").unwrap();
    writeln!(
        tb,
        "  reg clock = 0; reg [{}:0] xs [0:{}]; reg vpat [0:{}]; reg rpat [0:{}];",
        i.tdata_bits - 1,
        beats - 1,
        cycles - 1,
        cycles - 1
    )
    .unwrap();
    writeln!(
        tb,
        "  reg [{}:0] tdata = 0; reg tvalid = 0; reg tlast = 0; reg oready = 0; wire tready;",
        i.tdata_bits - 1
    )
    .unwrap();
    writeln!(
        tb,
        "  wire [{}:0] odata; wire ovalid; wire olast;",
        o.tdata_bits - 1
    )
    .unwrap();
    writeln!(
        tb,
        "  {} dut(.{c}(clock), .{si}_tdata(tdata), .{si}_tvalid(tvalid), .{si}_tready(tready), .{si}_tlast(tlast),\n      .{so}_tdata(odata), .{so}_tvalid(ovalid), .{so}_tready(oready), .{so}_tlast(olast));",
        manifest.module,
        c = manifest.clock
    )
    .unwrap();
    writeln!(tb, "  integer i, c, f, got;").unwrap();
    writeln!(tb, "  initial begin").unwrap();
    writeln!(
        tb,
        "    $readmemh(\"x.hex\", xs); $readmemh(\"valid.hex\", vpat); $readmemh(\"ready.hex\", rpat);"
    )
    .unwrap();
    writeln!(tb, "    f = $fopen(\"out.txt\", \"w\"); i = 0; got = 0;").unwrap();
    writeln!(
        tb,
        "    for (c = 0; c < {cycles} && got < {beats}; c = c + 1) begin"
    )
    .unwrap();
    writeln!(tb, "      tvalid = (i < {beats}) && vpat[c]; tdata = xs[i < {beats} ? i : 0]; tlast = (i % 7 == 6); oready = rpat[c];").unwrap();
    writeln!(tb, "      #1;").unwrap();
    writeln!(tb, "      if (ovalid && oready) begin $fwrite(f, \"%h %0d %0d\\n\", odata, olast, c); got = got + 1; end").unwrap();
    writeln!(tb, "      if (tvalid && tready) i = i + 1;").unwrap();
    writeln!(tb, "      #4 clock = 1; #5 clock = 0;").unwrap();
    writeln!(tb, "    end\n    $fclose(f); $finish;\n  end\nendmodule").unwrap();
    tb
}

#[test]
fn icarus_runs_it_bit_exact_under_gaps_and_back_pressure() {
    let (dir, manifest) = export("icarus");
    let mut inputs: Vec<i16> = (i16::MIN..=0).collect();
    inputs.extend([1, 77, i16::MAX]);
    let cycles = 3 * inputs.len() + 64;
    let mut rng = seeded(17);
    let hex = |values: &mut dyn Iterator<Item = String>| values.collect::<Vec<_>>().join("\n") + "\n";
    std::fs::write(
        dir.join("x.hex"),
        hex(&mut inputs.iter().map(|&x| format!("{:04x}", x as u16))),
    )
    .unwrap();
    std::fs::write(
        dir.join("valid.hex"),
        hex(&mut (0..cycles).map(|_| u8::from(rng.gen_bool(0.7)).to_string())),
    )
    .unwrap();
    std::fs::write(
        dir.join("ready.hex"),
        hex(&mut (0..cycles).map(|_| u8::from(rng.gen_bool(0.6)).to_string())),
    )
    .unwrap();
    std::fs::write(dir.join("tb.v"), testbench(&manifest, inputs.len(), cycles)).unwrap();
    assert_ok(
        "iverilog",
        &tool(&dir, "iverilog", &["-g2005", "-o", "tb.vvp", "tb.v", "exp.v"]),
    );
    assert_ok("vvp", &tool(&dir, "vvp", &["-n", "tb.vvp"]));
    let exp = ExpNeg::new(QFormat::signed(16, 10).unwrap()).unwrap();
    let text = std::fs::read_to_string(dir.join("out.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), inputs.len(), "every beat comes out once");
    for (k, (line, &x)) in lines.iter().zip(&inputs).enumerate() {
        let mut parts = line.split(' ');
        let data = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
        let last = parts.next().unwrap() == "1";
        let (e, w) = ((data & 0xffff) as u32, (data >> 16) as u32);
        assert_eq!(e, exp.eval(i64::from(x)), "beat {k}, x = {x}");
        assert_eq!(w, exp.eval_wide(i64::from(x)), "beat {k}, x = {x} (wide)");
        assert_eq!(last, k % 7 == 6, "beat {k} tlast");
    }
}

#[test]
fn yosys_maps_it_to_xilinx_cells() {
    let (dir, manifest) = export("yosys");
    let script = format!(
        "read_verilog {}; synth_xilinx -family xc7 -flatten -top {}; tee -o stat.json stat -json",
        manifest.verilog, manifest.module
    );
    assert_ok("yosys synth_xilinx", &tool(&dir, "yosys", &["-q", "-p", &script]));
    let stat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("stat.json")).unwrap()).unwrap();
    let cells = &stat["design"]["num_cells_by_type"];
    // two 16x16 products: x * log2(e) and HIGH * LOW
    assert_eq!(cells["DSP48E1"], 2, "{cells}");
    assert!(cells["FDRE"].as_u64().unwrap_or(0) >= 60, "{cells}");
}
