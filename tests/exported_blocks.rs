//! Every exported block through the external tools: Verilator's lint with
//! the manifest's waivers, Icarus Verilog running it under random input
//! gaps and output back-pressure (bit-exact against the integer model, and
//! within the manifest's error bound against float64), and yosys mapping
//! it to Xilinx 7-series cells. The testbench knows only the manifest.

mod common;
use common::{assert_ok, hwformer, scratch, tool};
use hwformer_hdl::manifest::Manifest;
use hwformer_quant::accuracy::random_logit_row;
use hwformer_quant::integer::{dequantize_all, quantize_all, softmax::SoftmaxModel};
use hwformer_quant::random::seeded;
use hwformer_quant::tables::ExpNeg;
use hwformer_quant::QFormat;
use rand::Rng;
use std::fmt::Write;
use std::path::PathBuf;

fn export(block: &str, test: &str) -> (PathBuf, Manifest) {
    export_args(block, test, &[])
}

fn export_args(block: &str, test: &str, extra: &[&str]) -> (PathBuf, Manifest) {
    let dir = scratch(&format!("{block}-{test}"));
    let mut args = vec!["gen", block, "--out", dir.to_str().unwrap()];
    args.extend(extra);
    assert_ok("hwformer gen", &hwformer(&args));
    let json = std::fs::read_to_string(dir.join(format!("{block}.json"))).unwrap();
    (dir, serde_json::from_str(&json).unwrap())
}

fn lint(block: &str) {
    lint_args(block, &[]);
}

fn lint_args(block: &str, extra: &[&str]) {
    let (dir, manifest) = export_args(block, "lint", extra);
    assert!(
        manifest.module.starts_with(&format!("hwformer_{block}")),
        "{}",
        manifest.module
    );
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
    let source = std::fs::read_to_string(dir.join(&manifest.verilog)).unwrap();
    for line in source.lines().filter(|l| l.trim_start().starts_with("module ")) {
        let name = line.trim_start()["module ".len()..].split('(').next().unwrap();
        assert!(
            name.starts_with(&manifest.module) && !name.contains('$'),
            "{line}"
        );
    }
}

#[test]
fn exp_lints_clean() {
    lint("exp");
}

#[test]
fn softmax_lints_clean() {
    lint("softmax");
}

/// A testbench for a block with one input and one output stream, from its
/// manifest: beats, tlast, valid and ready patterns from hex files; one
/// output line (`data last cycle`) per output handshake.
fn testbench(manifest: &Manifest, beats: usize, outputs: usize, cycles: usize) -> String {
    let (i, o) = (&manifest.streams[0], &manifest.streams[1]);
    let (si, so) = (&i.port_prefix, &o.port_prefix);
    let (wi, wo) = (i.tdata_bits - 1, o.tdata_bits - 1);
    let mut tb = String::new();
    let mut line = |s: String| writeln!(tb, "{s}").unwrap();
    line("`timescale 1ns/1ps\nmodule tb;".into());
    line(format!(
        "  reg clock = 0; reg [{wi}:0] beats [0:{}]; reg lasts [0:{}];",
        beats - 1,
        beats - 1
    ));
    line(format!(
        "  reg vpat [0:{}]; reg rpat [0:{}];",
        cycles - 1,
        cycles - 1
    ));
    line(format!(
        "  reg [{wi}:0] tdata = 0; reg tvalid = 0; reg tlast = 0; reg oready = 0; wire tready;"
    ));
    line(format!("  wire [{wo}:0] odata; wire ovalid; wire olast;"));
    line(format!(
        "  {} dut(.{}(clock), .{si}_tdata(tdata), .{si}_tvalid(tvalid), .{si}_tready(tready), .{si}_tlast(tlast),",
        manifest.module, manifest.clock
    ));
    line(format!(
        "      .{so}_tdata(odata), .{so}_tvalid(ovalid), .{so}_tready(oready), .{so}_tlast(olast));"
    ));
    line("  integer i, c, f, got;\n  initial begin".into());
    line("    $readmemh(\"beats.hex\", beats); $readmemh(\"lasts.hex\", lasts);".into());
    line("    $readmemh(\"valid.hex\", vpat); $readmemh(\"ready.hex\", rpat);".into());
    line("    f = $fopen(\"out.txt\", \"w\"); i = 0; got = 0;".into());
    line(format!(
        "    for (c = 0; c < {cycles} && got < {outputs}; c = c + 1) begin"
    ));
    line(format!(
        "      tvalid = (i < {beats}) && vpat[c]; tdata = beats[i < {beats} ? i : 0];"
    ));
    line(format!(
        "      tlast = lasts[i < {beats} ? i : 0]; oready = rpat[c];"
    ));
    line("      #1;".into());
    line("      if (ovalid && oready) begin $fwrite(f, \"%h %0d %0d\\n\", odata, olast, c); got = got + 1; end".into());
    line("      if (tvalid && tready) i = i + 1;".into());
    line("      #4 clock = 1; #5 clock = 0;\n    end".into());
    line("    $fclose(f); $finish;\n  end\nendmodule".into());
    tb
}

/// Compiles the testbench `tb` with the block's Verilog in Icarus, runs
/// it, and returns what it wrote to `out.txt`.
fn run_icarus(dir: &std::path::Path, manifest: &Manifest, tb: &str) -> String {
    std::fs::write(dir.join("tb.v"), tb).unwrap();
    assert_ok(
        "iverilog",
        &tool(
            dir,
            "iverilog",
            &["-g2005", "-o", "tb.vvp", "tb.v", &manifest.verilog],
        ),
    );
    assert_ok("vvp", &tool(dir, "vvp", &["-n", "tb.vvp"]));
    std::fs::read_to_string(dir.join("out.txt")).unwrap()
}

/// Runs `inputs` through the exported block in Icarus; returns the output
/// beats (data, last).
fn icarus(block: &str, inputs: &[(u64, bool)], outputs: usize, seed: u64) -> (Manifest, Vec<(u64, bool)>) {
    let (dir, manifest) = export(block, "icarus");
    let cycles = 4 * (inputs.len() + outputs) + 200;
    let mut rng = seeded(seed);
    let digits = manifest.streams[0].tdata_bits.div_ceil(4);
    let write =
        |name: &str, lines: Vec<String>| std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
    write(
        "beats.hex",
        inputs.iter().map(|(d, _)| format!("{d:0digits$x}")).collect(),
    );
    write(
        "lasts.hex",
        inputs.iter().map(|&(_, l)| u8::from(l).to_string()).collect(),
    );
    write(
        "valid.hex",
        (0..cycles)
            .map(|_| u8::from(rng.gen_bool(0.7)).to_string())
            .collect(),
    );
    write(
        "ready.hex",
        (0..cycles)
            .map(|_| u8::from(rng.gen_bool(0.6)).to_string())
            .collect(),
    );
    let tb = testbench(&manifest, inputs.len(), outputs, cycles);
    let text = run_icarus(&dir, &manifest, &tb);
    let beats = text
        .lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let data = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            (data, parts.next().unwrap() == "1")
        })
        .collect::<Vec<_>>();
    assert_eq!(beats.len(), outputs, "every beat comes out once");
    (manifest, beats)
}

#[test]
fn icarus_runs_exp_bit_exact() {
    let exp = ExpNeg::new(QFormat::signed(16, 10).unwrap()).unwrap();
    let mut xs: Vec<i16> = (i16::MIN..=0).collect();
    xs.extend([1, 77, i16::MAX]);
    let inputs: Vec<(u64, bool)> = xs
        .iter()
        .enumerate()
        .map(|(k, &x)| (u64::from(x as u16), k % 7 == 6))
        .collect();
    let (manifest, beats) = icarus("exp", &inputs, inputs.len(), 17);
    let bound = manifest.error_bound.unwrap().value;
    for (k, (&x, &(data, last))) in xs.iter().zip(&beats).enumerate() {
        let (e, w) = ((data & 0xffff) as u32, (data >> 16) as u32);
        assert_eq!(e, exp.eval(i64::from(x)), "beat {k}, x = {x}");
        assert_eq!(w, exp.eval_wide(i64::from(x)), "beat {k}, x = {x} (wide)");
        assert_eq!(last, k % 7 == 6, "beat {k} tlast");
        let real = (f64::from(x.min(0)) / 1024.0).exp();
        assert!(
            (f64::from(e) / 32768.0 - real).abs() <= bound,
            "beat {k}: error above the manifest's bound"
        );
    }
}

#[test]
fn icarus_runs_softmax_bit_exact_and_within_the_manifest_bound() {
    let model = SoftmaxModel::default_design();
    let mut rng = seeded(23);
    let mut rows: Vec<Vec<i64>> = (0..10)
        .map(|_| quantize_all("logit", &random_logit_row(&mut rng, 256), model.input()).unwrap())
        .collect();
    rows.push(vec![i64::from(i16::MIN), i64::from(i16::MAX), 0]);
    rows.push(vec![7]);
    let inputs: Vec<(u64, bool)> = rows
        .iter()
        .flat_map(|r| {
            r.iter()
                .enumerate()
                .map(move |(i, &x)| (u64::from(x as i16 as u16), i + 1 == r.len()))
        })
        .collect();
    let (manifest, beats) = icarus("softmax", &inputs, inputs.len(), 29);
    let bound = manifest.error_bound.unwrap().value;
    let prob = manifest.streams[1].fields[0].format;
    let mut k = 0;
    for (r, row) in rows.iter().enumerate() {
        let want = model.run(row).unwrap();
        let float = hwformer_quant::reference::softmax(&dequantize_all(row, model.input())).unwrap();
        for (i, (&p, f)) in want.iter().zip(&float).enumerate() {
            let (data, last) = beats[k];
            assert_eq!(data, u64::from(p), "row {r}, element {i}");
            assert_eq!(last, i + 1 == row.len(), "row {r}, element {i}: tlast");
            assert!(
                (prob.to_f64(i128::from(data)) - f).abs() <= bound,
                "row {r}, element {i}: above the bound"
            );
            k += 1;
        }
    }
}

fn yosys(block: &str) -> hwformer_bitstreams::yosys::Resources {
    let (dir, manifest) = export(block, "yosys");
    hwformer_bitstreams::yosys::synthesize(&dir, &manifest.verilog, &manifest.module)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn yosys_maps_exp_to_two_dsps() {
    let r = yosys("exp");
    // x * log2(e) and HIGH * LOW
    assert_eq!(r.dsp48e1, 2, "{r:?}");
    assert!(r.flip_flops >= 60, "{r:?}");
}

#[test]
fn yosys_maps_softmax_with_its_row_buffer_in_block_ram() {
    let r = yosys("softmax");
    assert!(r.ramb18 + r.ramb36 >= 1, "{r:?}");
    assert!(r.dsp48e1 >= 4, "{r:?}");
}

#[test]
fn sdpa_lints_clean() {
    lint_args("sdpa", &["--d", "8"]);
}

/// Packs raw lanes into a hex word, element 0 lowest.
fn hex_lanes(lanes: &[i64]) -> String {
    lanes
        .iter()
        .rev()
        .map(|&x| format!("{:04x}", x as i16 as u16))
        .collect()
}

#[test]
fn icarus_runs_sdpa_bit_exact_and_within_the_manifest_bound() {
    use hwformer_quant::integer::sdpa::{SdpaConfig, StreamingSdpa};
    let d = 4;
    let (dir, manifest) = export_args("sdpa", "icarus", &["--d", "4"]);
    let model = StreamingSdpa::new(SdpaConfig::with_d(d, 256)).unwrap();
    let c = *model.config();
    let x = manifest.params["max_abs_input"];
    let mut rng = seeded(31);
    let vector = |rng: &mut hwformer_quant::random::SeededRng| {
        quantize_all(
            "x",
            &(0..d).map(|_| rng.gen_range(-x..=x)).collect::<Vec<_>>(),
            c.key,
        )
        .unwrap()
    };
    let lengths = [1usize, 7, 40, 3, 256, 2];
    let queries: Vec<Vec<i64>> = lengths.iter().map(|_| vector(&mut rng)).collect();
    let keys: Vec<Vec<Vec<i64>>> = lengths
        .iter()
        .map(|&n| (0..n).map(|_| vector(&mut rng)).collect())
        .collect();
    let values: Vec<Vec<Vec<i64>>> = lengths
        .iter()
        .map(|&n| (0..n).map(|_| vector(&mut rng)).collect())
        .collect();
    let total: usize = lengths.iter().sum();
    let cycles = 4 * total + 100 * lengths.len() + 200;
    let write =
        |name: &str, lines: Vec<String>| std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
    write("q.hex", queries.iter().map(|q| hex_lanes(q)).collect());
    let mut kv_lines = Vec::new();
    let mut last_lines = Vec::new();
    for (ks, vs) in keys.iter().zip(&values) {
        for (j, (k, v)) in ks.iter().zip(vs).enumerate() {
            kv_lines.push(format!("{}{}", hex_lanes(v), hex_lanes(k)));
            last_lines.push(u8::from(j + 1 == ks.len()).to_string());
        }
    }
    write("kv.hex", kv_lines);
    write("kl.hex", last_lines);
    let pattern = |p: f64, rng: &mut hwformer_quant::random::SeededRng| -> Vec<String> {
        (0..cycles)
            .map(|_| u8::from(rng.gen_bool(p)).to_string())
            .collect()
    };
    write("qv.hex", pattern(0.5, &mut rng));
    write("kvv.hex", pattern(0.8, &mut rng));
    write("rp.hex", pattern(0.5, &mut rng));
    let (q, kv, o) = (&manifest.streams[0], &manifest.streams[1], &manifest.streams[2]);
    let (sq, skv, so) = (&q.port_prefix, &kv.port_prefix, &o.port_prefix);
    let nq = lengths.len();
    let tb = format!(
        "`timescale 1ns/1ps
module tb;
  reg clock = 0; reg [{wq}:0] qs [0:{lq}]; reg [{wkv}:0] kvs [0:{lk}]; reg kl [0:{lk}];
  reg qv [0:{lc}]; reg kvv [0:{lc}]; reg rp [0:{lc}];
  reg [{wq}:0] qdata = 0; reg qvalid = 0; wire qready; reg [{wkv}:0] kvdata = 0; reg kvvalid = 0; reg kvlast = 0; wire kvready;
  wire [{wo}:0] odata; wire ovalid; wire olast; reg oready = 0;
  {module} dut(.{clock}(clock), .{sq}_tdata(qdata), .{sq}_tvalid(qvalid), .{sq}_tready(qready), .{sq}_tlast(1'b0),
    .{skv}_tdata(kvdata), .{skv}_tvalid(kvvalid), .{skv}_tready(kvready), .{skv}_tlast(kvlast),
    .{so}_tdata(odata), .{so}_tvalid(ovalid), .{so}_tready(oready), .{so}_tlast(olast));
  integer qi, ki, c, f, got;
  initial begin
    $readmemh(\"q.hex\", qs); $readmemh(\"kv.hex\", kvs); $readmemh(\"kl.hex\", kl);
    $readmemh(\"qv.hex\", qv); $readmemh(\"kvv.hex\", kvv); $readmemh(\"rp.hex\", rp);
    f = $fopen(\"out.txt\", \"w\"); qi = 0; ki = 0; got = 0;
    for (c = 0; c < {cycles} && got < {nq}; c = c + 1) begin
      qvalid = (qi < {nq}) && qv[c]; qdata = qs[qi < {nq} ? qi : 0];
      kvvalid = (ki < {total}) && kvv[c]; kvdata = kvs[ki < {total} ? ki : 0]; kvlast = kl[ki < {total} ? ki : 0];
      oready = rp[c];
      #1;
      if (ovalid && oready) begin $fwrite(f, \"%h %0d\\n\", odata, olast); got = got + 1; end
      if (qvalid && qready) qi = qi + 1;
      if (kvvalid && kvready) ki = ki + 1;
      #4 clock = 1; #5 clock = 0;
    end
    $fclose(f); $finish;
  end
endmodule
",
        wq = q.tdata_bits - 1,
        wkv = kv.tdata_bits - 1,
        wo = o.tdata_bits - 1,
        lq = nq - 1,
        lk = total - 1,
        lc = cycles - 1,
        module = manifest.module,
        clock = manifest.clock,
    );
    let text = run_icarus(&dir, &manifest, &tb);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), nq, "one output per query");
    let bound = manifest.error_bound.unwrap().value;
    for (i, line) in lines.iter().enumerate() {
        let (word, last) = line.split_once(' ').unwrap();
        assert_eq!(last, "1", "tlast on every output");
        let lanes: Vec<i64> = (0..d)
            .map(|l| {
                i64::from(
                    u16::from_str_radix(&word[word.len() - 4 * (l + 1)..word.len() - 4 * l], 16).unwrap()
                        as i16,
                )
            })
            .collect();
        assert_eq!(
            lanes,
            model.run_query(&queries[i], &keys[i], &values[i]).unwrap(),
            "query {i}"
        );
        let real = |m: &Vec<Vec<i64>>| {
            ndarray::Array2::from_shape_fn((m.len(), d), |(a, b)| c.key.to_f64(i128::from(m[a][b])))
        };
        let want = hwformer_quant::reference::sdpa(
            real(&vec![queries[i].clone()]).view(),
            real(&keys[i]).view(),
            real(&values[i]).view(),
            manifest.params["scale"],
        )
        .unwrap();
        for (l, w) in lanes.iter().zip(want.row(0)) {
            assert!(
                (c.output.to_f64(i128::from(*l)) - w).abs() <= bound,
                "query {i}: above the manifest's bound"
            );
        }
    }
}

#[test]
fn yosys_synthesizes_sdpa_d8() {
    let (dir, manifest) = export_args("sdpa", "yosys", &["--d", "8"]);
    let r = hwformer_bitstreams::yosys::synthesize(&dir, &manifest.verilog, &manifest.module)
        .unwrap_or_else(|e| panic!("{e}"));
    // 8 lanes of q.k, the score scaling, the rescale and weight products,
    // the output products: far more than the softmax's handful
    assert!(r.dsp48e1 >= 40, "{r:?}");
    assert_eq!(r.ramb18 + r.ramb36, 0, "no storage grows with N: {r:?}");
}
