//! The Icarus Verilog back end: a testbench generated from the manifest
//! reads the stimulus and the pacing patterns from `$readmemh` files,
//! drives the block exactly as [`crate::testbench::run`] does, and writes
//! every handshake with its cycle; the result is read back into a
//! [`Trace`]. A different simulator, so a disagreement is a finding.

use crate::error::{run_tool, SimError};
use crate::ports::PortMap;
use crate::testbench::{Beats, Stimulus, Trace, DRAIN_CYCLES};
use hwformer_hdl::manifest::Manifest;
use std::fmt::Write;
use std::path::Path;

/// Options of an Icarus run.
#[derive(Debug, Clone, Default)]
pub struct IcarusOptions {
    /// Write a VCD waveform to this file.
    pub vcd: Option<std::path::PathBuf>,
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<(), SimError> {
    let mut text = String::new();
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(SimError::io(path))
}

/// The testbench source for `manifest` (files named in it live in the
/// run folder).
pub fn testbench_source(
    manifest: &Manifest,
    inputs: &[Beats],
    expected: &[usize],
    max_cycles: u64,
    vcd: Option<&Path>,
) -> String {
    let ports = PortMap::new(manifest);
    let mut s =
        String::from("`timescale 1ns/1ps\nmodule tb;\n  reg clock = 0;\n  integer c, fin, f_in, f_out;\n");
    let mut connect = vec![format!(".{}(clock)", manifest.clock)];
    let (mut drive, mut sample, mut take, mut load, mut done) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        Vec::new(),
    );
    let mut drain_drive = String::new();
    // pacing patterns cover the run and its drain
    let last_cycle = max_cycles + DRAIN_CYCLES - 1;
    let (mut ni, mut no) = (0, 0);
    for stream in &manifest.streams {
        let p = &stream.port_prefix;
        let w = stream.tdata_bits - 1;
        if stream.dir == hwformer_hdl::manifest::Direction::In {
            let (i, n) = (ni, inputs[ni].len());
            let top = n.max(1) - 1;
            let _ = writeln!(
                s,
                "  reg [{w}:0] d{i} [0:{top}]; reg l{i} [0:{top}]; reg v{i} [0:{last_cycle}]; integer k{i} = 0; reg held{i} = 0;\n  \
                 reg [{w}:0] {p}_tdata = 0; reg {p}_tvalid = 0; reg {p}_tlast = 0; wire {p}_tready;"
            );
            if n > 0 {
                let _ = writeln!(
                    load,
                    "    $readmemh(\"in{i}.hex\", d{i}); $readmemh(\"in{i}_last.hex\", l{i});"
                );
            }
            let _ = writeln!(load, "    $readmemh(\"in{i}_valid.hex\", v{i});");
            let line = format!(
                "      {p}_tvalid = (k{i} < {n}) && (held{i} || v{i}[c]); if (k{i} < {n}) begin {p}_tdata = d{i}[k{i}]; {p}_tlast = l{i}[k{i}]; end\n"
            );
            drive.push_str(&line);
            drain_drive.push_str(&line);
            let _ = writeln!(take, "      held{i} = {p}_tvalid && !{p}_tready; if ({p}_tvalid && {p}_tready) begin $fwrite(f_in, \"{i} %0d\\n\", c); k{i} = k{i} + 1; end");
            ni += 1;
        } else {
            let (o, n) = (no, expected[no]);
            let _ = writeln!(
                s,
                "  reg r{o} [0:{last_cycle}]; integer g{o} = 0;\n  wire [{w}:0] {p}_tdata; wire {p}_tvalid; wire {p}_tlast; reg {p}_tready = 0;"
            );
            let _ = writeln!(load, "    $readmemh(\"out{o}_ready.hex\", r{o});");
            let _ = writeln!(drive, "      {p}_tready = r{o}[c];");
            let _ = writeln!(drain_drive, "      {p}_tready = 1;");
            let _ = writeln!(
                sample,
                "      if ({p}_tvalid && {p}_tready) begin $fwrite(f_out, \"{o} %h %0d %0d\\n\", {p}_tdata, {p}_tlast, c); g{o} = g{o} + 1; end"
            );
            // the status at the first output stream's handshakes
            if let (0, Some(status)) = (o, &manifest.status) {
                let port = &status.port;
                let _ = writeln!(s, "  wire {port};");
                connect.push(format!(".{port}({port})"));
                let _ = writeln!(
                    sample,
                    "      if ({p}_tvalid && {p}_tready) $fwrite(f_out, \"status %0d\\n\", {port});"
                );
            }
            done.push(format!("g{o} < {n}"));
            no += 1;
        }
        for suffix in ["tdata", "tvalid", "tready", "tlast"] {
            connect.push(format!(".{p}_{suffix}({p}_{suffix})"));
        }
    }
    if let Some((active_high, _)) = ports.reset {
        let port = manifest.reset.as_ref().map_or("reset", |r| r.port.as_str());
        connect.push(format!(".{port}(1'b{})", u8::from(!active_high)));
    }
    let _ = writeln!(s, "  {} dut({});", manifest.module, connect.join(", "));
    s.push_str("  initial begin\n");
    if let Some(path) = vcd {
        let _ = writeln!(s, "    $dumpfile(\"{}\"); $dumpvars(0, dut);", path.display());
    }
    s.push_str(&load);
    s.push_str("    f_in = $fopen(\"inputs.txt\", \"w\"); f_out = $fopen(\"outputs.txt\", \"w\");\n");
    let _ = writeln!(
        s,
        "    for (c = 0; c < {max_cycles} && ({}); c = c + 1) begin",
        done.join(" || ")
    );
    s.push_str(&drive);
    s.push_str("      #1;\n");
    s.push_str(&sample);
    s.push_str(&take);
    s.push_str("      #4 clock = 1; #5 clock = 0;\n    end\n    $fwrite(f_out, \"cycles %0d\\n\", c);\n");
    // the drain: every sink ready, any further beat recorded
    let _ = writeln!(
        s,
        "    fin = c;\n    for (c = fin; c < fin + {DRAIN_CYCLES}; c = c + 1) begin"
    );
    s.push_str(&drain_drive);
    s.push_str("      #1;\n");
    s.push_str(&sample);
    s.push_str(&take);
    s.push_str("      #4 clock = 1; #5 clock = 0;\n    end\n");
    s.push_str("    $fclose(f_in); $fclose(f_out); $finish;\n  end\nendmodule\n");
    s
}

/// Runs the block exported in `dir` under Icarus with the same stimulus
/// and pacing as [`crate::testbench::run`]; `work` receives the files.
/// Returns the trace and the seconds `iverilog` took to compile.
pub fn run(
    dir: &Path,
    work: &Path,
    manifest: &Manifest,
    stimulus: &Stimulus,
    options: &IcarusOptions,
) -> Result<(Trace, f64), SimError> {
    let Stimulus {
        inputs,
        expected,
        pacing,
        max_cycles,
    } = *stimulus;
    let ports = PortMap::new(manifest);
    stimulus.fits(&ports)?;
    std::fs::create_dir_all(work).map_err(SimError::io(work))?;
    for (i, (beats, port)) in inputs.iter().zip(&ports.input_streams).enumerate() {
        if !beats.is_empty() {
            write_lines(
                &work.join(format!("in{i}.hex")),
                (0..beats.len()).map(|k| beats.hex(k, port.bits)),
            )?;
            write_lines(
                &work.join(format!("in{i}_last.hex")),
                beats.last.iter().map(|&l| u8::from(l).to_string()),
            )?;
        }
        write_lines(
            &work.join(format!("in{i}_valid.hex")),
            (0..max_cycles + DRAIN_CYCLES).map(|c| u8::from(pacing.bit(false, i, c)).to_string()),
        )?;
    }
    for o in 0..expected.len() {
        write_lines(
            &work.join(format!("out{o}_ready.hex")),
            (0..max_cycles + DRAIN_CYCLES).map(|c| u8::from(pacing.bit(true, o, c)).to_string()),
        )?;
    }
    let verilog = dir.join(&manifest.verilog);
    let verilog = std::fs::canonicalize(&verilog).map_err(SimError::io(&verilog))?;
    let tb = testbench_source(manifest, inputs, expected, max_cycles, options.vcd.as_deref());
    std::fs::write(work.join("tb.v"), tb).map_err(SimError::io(work.join("tb.v")))?;
    let verilog = verilog.to_string_lossy();
    let compile = std::time::Instant::now();
    run_tool(
        work,
        "iverilog",
        "iverilog",
        &["-g2005", "-o", "tb.vvp", "tb.v", &verilog],
    )?;
    let compile_seconds = compile.elapsed().as_secs_f64();
    // no result of an earlier run may be read back as this one's
    for stale in ["inputs.txt", "outputs.txt"] {
        let _ = std::fs::remove_file(work.join(stale));
    }
    // the memory files (the manifest's `memories`) are read from the export folder
    let memory_dir = std::fs::canonicalize(dir).map_err(SimError::io(dir))?;
    let memory_dir = format!("+hwformer_memory_dir={}", memory_dir.to_string_lossy());
    run_tool(work, "vvp", "vvp", &["-n", "tb.vvp", &memory_dir])?;
    Ok((read_trace(work, &ports, inputs.len())?, compile_seconds))
}

fn read_trace(work: &Path, ports: &PortMap, inputs: usize) -> Result<Trace, SimError> {
    let read = |name: &str| std::fs::read_to_string(work.join(name)).map_err(SimError::io(work.join(name)));
    let bad = |line: &str| SimError::Invalid(format!("unreadable line in Icarus' output: `{line}`"));
    let mut trace = Trace {
        outputs: ports.output_streams.iter().map(|s| Beats::new(s.bits)).collect(),
        output_cycles: vec![Vec::new(); ports.output_streams.len()],
        input_cycles: vec![Vec::new(); inputs],
        status: Vec::new(),
        cycles: 0,
    };
    for line in read("inputs.txt")?.lines() {
        let (s, c) = line.split_once(' ').ok_or_else(|| bad(line))?;
        let s: usize = s.parse().map_err(|_| bad(line))?;
        let c: u64 = c.parse().map_err(|_| bad(line))?;
        trace.input_cycles.get_mut(s).ok_or_else(|| bad(line))?.push(c);
    }
    for line in read("outputs.txt")?.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["cycles", c] => trace.cycles = c.parse().map_err(|_| bad(line))?,
            ["status", bit] if ports.status.is_some() => match *bit {
                "0" | "1" => trace.status.push(*bit == "1"),
                _ => return Err(SimError::Invalid(format!("the status output was {bit}"))),
            },
            [s, data, last, c] => {
                let s: usize = s.parse().map_err(|_| bad(line))?;
                let beats = trace.outputs.get_mut(s).ok_or_else(|| bad(line))?;
                if data.contains(['x', 'z', 'X', 'Z']) {
                    return Err(SimError::Invalid(format!(
                        "output {s} carried unknown bits: {data}"
                    )));
                }
                let mut words = vec![0u32; beats.words_per_beat];
                for (i, chunk) in data.as_bytes().rchunks(8).enumerate() {
                    let text = std::str::from_utf8(chunk).map_err(|_| bad(line))?;
                    *words.get_mut(i).ok_or_else(|| bad(line))? =
                        u32::from_str_radix(text, 16).map_err(|_| bad(line))?;
                }
                beats.push(&words, *last == "1");
                trace.output_cycles[s].push(c.parse().map_err(|_| bad(line))?);
            }
            _ => return Err(bad(line)),
        }
    }
    Ok(trace)
}
