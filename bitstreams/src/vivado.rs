//! Vivado flow generation: for one exported block, the clock constraint
//! (XDC), a non-project batch TCL script and a one-line run script.
//!
//! ```text
//!   <top>.v ... ──┐
//!   <top>.xdc ────┤  read_verilog / read_xdc
//!                 v
//!           synth_design -top -part [-mode out_of_context]
//!                 │──> post_synth.dcp, utilization_synth.rpt
//!                 v
//!           opt_design ─> place_design ─> route_design
//!                 │──> post_route.dcp
//!                 │──> utilization_routed.rpt, timing_summary_routed.rpt
//!                 v
//!           [read_saif <file> -strip_path <instance>]
//!                 v
//!           report_power ──> power_routed.rpt
//!                 v
//!           [write_bitstream <top>.bit]   (only for a top with I/O, not OOC)
//! ```
//!
//! A lone block is synthesized out of context by default: Vivado then adds
//! no I/O buffers and the block's ports need no pin constraints. The report
//! file names are fixed ([`UTILIZATION_REPORT`], [`TIMING_REPORT`],
//! [`POWER_REPORT`], ...) so the parsers in [`crate::report`] can find them.
//! Every path the script writes is relative to the directory holding the
//! script, whatever the working directory Vivado is started from.
//!
//! ```
//! use hwformer_bitstreams::vivado::{Part, VivadoProject};
//!
//! let part = Part::parse("xc7a100t").unwrap();
//! assert_eq!(part.name, "xc7a100tcsg324-1");
//! let project = VivadoProject::new("attention", ["attention.v"], "clk", part, 250.0).unwrap();
//! assert!(project.xdc().contains("create_clock -period 4.000 -name clk [get_ports clk]"));
//! assert!(project
//!     .tcl()
//!     .contains("synth_design -top attention -part xc7a100tcsg324-1 -mode out_of_context"));
//! ```
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Name of the generated TCL script.
pub const TCL_SCRIPT: &str = "build.tcl";
/// Name of the generated shell script that runs Vivado on [`TCL_SCRIPT`].
pub const RUN_SCRIPT: &str = "run.sh";
/// Checkpoint written after synthesis.
pub const SYNTH_CHECKPOINT: &str = "post_synth.dcp";
/// Checkpoint written after routing.
pub const ROUTED_CHECKPOINT: &str = "post_route.dcp";
/// `report_utilization` after synthesis.
pub const SYNTH_UTILIZATION_REPORT: &str = "utilization_synth.rpt";
/// `report_utilization` after routing.
pub const UTILIZATION_REPORT: &str = "utilization_routed.rpt";
/// `report_timing_summary` after routing.
pub const TIMING_REPORT: &str = "timing_summary_routed.rpt";
/// `report_power` after routing (with SAIF activity when one is given).
pub const POWER_REPORT: &str = "power_routed.rpt";

/// Highest accepted clock frequency, in MHz.
pub const MAX_CLOCK_MHZ: f64 = 1000.0;
/// Lowest accepted clock frequency, in MHz (1 kHz, a 1 ms period).
pub const MIN_CLOCK_MHZ: f64 = 0.001;

/// Bare device names accepted by [`Part::parse`] and the full part
/// (package and speed grade) each one stands for: the parts of common
/// evaluation boards (Arty A7-100, Basys 3, PYNQ-Z1, KC705, ZCU102,
/// Ultra96, VCU118), and the VU13P in its FLGA2577 package at speed -1.
pub const DEFAULT_PARTS: &[(&str, &str)] = &[
    ("xc7a100t", "xc7a100tcsg324-1"),
    ("xc7a35t", "xc7a35tcpg236-1"),
    ("xc7z020", "xc7z020clg400-1"),
    ("xc7k325t", "xc7k325tffg900-2"),
    ("xczu9eg", "xczu9eg-ffvb1156-2-e"),
    ("xczu3eg", "xczu3eg-sbva484-1-e"),
    ("xcvu9p", "xcvu9p-flga2104-2L-e"),
    ("xcvu13p", "xcvu13p-flga2577-1-e"),
];

/// Longest part name [`Part::parse`] looks at.
const MAX_PART_LEN: usize = 64;
/// Longest identifier accepted for the top module and the clock port.
const MAX_IDENTIFIER_LEN: usize = 1024;
/// Longest file name or SAIF instance path accepted.
const MAX_PATH_LEN: usize = 4096;
/// How much of a rejected input an error message repeats.
const SHOWN_CHARS: usize = 64;

/// Why a Vivado flow could not be generated.
#[derive(Debug, Error)]
pub enum VivadoError {
    /// The part name is not a supported Xilinx part.
    #[error(
        "unsupported FPGA part {0:?}: expected a 7-series part (xc7a, xc7k, xc7v, xc7z, xc7s; \
         e.g. xc7a100tcsg324-1), an UltraScale+ part (xczu, xcvu..p, xcku..p, xcau..p; \
         e.g. xczu9eg-ffvb1156-2-e, xcvu13p-flga2577-2-e), or one of the bare device names {bare}",
        bare = bare_device_names()
    )]
    UnsupportedPart(String),
    /// A bare device name without a default package and speed grade.
    #[error(
        "device {0:?} has no default package and speed grade: give the full part name \
         (e.g. xc7k160tffg676-2 or xczu7ev-ffvc1156-2-e), or one of the bare device names {bare}",
        bare = bare_device_names()
    )]
    NoDefaultPackage(String),
    /// The clock frequency is not a finite number in range.
    #[error(
        "clock frequency {0} MHz is out of range: it must be a finite number from \
         {MIN_CLOCK_MHZ} to {MAX_CLOCK_MHZ} MHz"
    )]
    InvalidClock(f64),
    /// A top module or port name that is not a plain Verilog identifier.
    #[error(
        "{what} {name:?} is not a Verilog identifier (an ASCII letter or `_`, then letters, \
         digits, `_` or `$`, at most {MAX_IDENTIFIER_LEN} characters)"
    )]
    InvalidIdentifier {
        /// What the name was for ("top module", "clock port").
        what: &'static str,
        /// The name, possibly shortened.
        name: String,
    },
    /// A file name or instance path that cannot be written into TCL safely.
    #[error("{what} {name:?} is not usable in the TCL script: {why}")]
    InvalidPath {
        /// What the path was for ("Verilog file", "SAIF file", ...).
        what: &'static str,
        /// The path, possibly shortened.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// No Verilog source was given.
    #[error("no Verilog files given: the flow needs at least one source")]
    NoVerilogFiles,
    /// `write_bitstream` was asked for an out-of-context block.
    #[error(
        "write_bitstream needs a top with I/O constraints: an out-of-context block has none; \
         disable out-of-context mode (and add pin constraints) to write a bitstream"
    )]
    BitstreamOutOfContext,
    /// Writing a generated file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The device families whose parts [`Part::parse`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// 7-series: Artix-7, Kintex-7, Virtex-7, Spartan-7 and Zynq-7000.
    Series7,
    /// UltraScale+: Zynq UltraScale+ (MPSoC, RFSoC), Virtex, Kintex and
    /// Artix UltraScale+.
    UltraScalePlus,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Series7 => "7-series",
            Family::UltraScalePlus => "UltraScale+",
        })
    }
}

/// A Xilinx part as Vivado's `-part` option takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part {
    /// The full part name: device, package and speed grade (and temperature
    /// grade for UltraScale+), lower case except the speed-grade letters,
    /// e.g. `xc7a100tcsg324-1`, `xcvu9p-flga2104-2L-e`.
    pub name: String,
    /// The device family.
    pub family: Family,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Part {
    /// Parses a part name, ASCII case-insensitively, ignoring surrounding
    /// white space. Accepts full 7-series names (`xc7a100tcsg324-1`: device
    /// and package, then the speed grade), full UltraScale+ names
    /// (`xczu9eg-ffvb1156-2-e`: device, package, speed grade, temperature
    /// grade, optionally an `-es1` style suffix), and the bare device names
    /// of [`DEFAULT_PARTS`]. Never panics.
    pub fn parse(name: &str) -> Result<Part, VivadoError> {
        let unsupported = || VivadoError::UnsupportedPart(shown(name));
        let trimmed = name.trim();
        if trimmed.is_empty()
            || trimmed.len() > MAX_PART_LEN
            || !trimmed.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(unsupported());
        }
        let lower = trimmed.to_ascii_lowercase();
        let fields: Vec<&str> = lower.split('-').collect();
        let Some(first) = fields.first() else {
            return Err(unsupported());
        };
        let Some((family, body)) = family_of(first) else {
            return Err(unsupported());
        };
        match (family, fields.as_slice()) {
            (_, [device]) => {
                if let Some((_, full)) = DEFAULT_PARTS.iter().find(|(bare, _)| bare == device) {
                    return Ok(Part {
                        name: (*full).to_string(),
                        family,
                    });
                }
                let looks_like_device = match family {
                    Family::Series7 => series7_device(body),
                    Family::UltraScalePlus => ultrascale_plus_device(device),
                };
                Err(if looks_like_device {
                    VivadoError::NoDefaultPackage(shown(device))
                } else {
                    unsupported()
                })
            }
            (Family::Series7, [device_package, speed])
                if series7_device_package(body) && speed_grade(speed) =>
            {
                Ok(Part {
                    name: format!("{device_package}-{}", canonical_speed(speed)),
                    family,
                })
            }
            (Family::UltraScalePlus, [device, package, speed, temperature, rest @ ..])
                if ultrascale_plus_device(device)
                    && package_name(package)
                    && speed_grade(speed)
                    && temperature_grade(temperature)
                    && rest.len() <= 1
                    && rest.iter().all(|suffix| engineering_sample(suffix)) =>
            {
                let mut name = format!("{device}-{package}-{}-{temperature}", canonical_speed(speed));
                for suffix in rest {
                    name.push('-');
                    name.push_str(suffix);
                }
                Ok(Part { name, family })
            }
            _ => Err(unsupported()),
        }
    }
}

/// The family a lower-case name belongs to, by its prefix, and the rest of
/// the name after a 7-series family prefix (`xc7a` etc.).
fn family_of(first: &str) -> Option<(Family, &str)> {
    for prefix in ["xc7a", "xc7k", "xc7v", "xc7z", "xc7s"] {
        if let Some(body) = first.strip_prefix(prefix) {
            return Some((Family::Series7, body));
        }
    }
    for prefix in ["xczu", "xcvu", "xcku", "xcau"] {
        if let Some(body) = first.strip_prefix(prefix) {
            return Some((Family::UltraScalePlus, body));
        }
    }
    None
}

/// Strips a non-empty leading run of characters matching `f`.
fn run(s: &str, f: fn(char) -> bool) -> Option<&str> {
    let rest = s.trim_start_matches(f);
    (rest.len() < s.len()).then_some(rest)
}

fn lower(c: char) -> bool {
    c.is_ascii_lowercase()
}

fn digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// A 7-series device after its family prefix: optional letters, a number,
/// optional letters (`100t`, `x485t`, `020`, `007s`, `35ti`).
fn series7_device(body: &str) -> bool {
    run(body.trim_start_matches(lower), digit).is_some_and(|rest| rest.chars().all(lower))
}

/// A 7-series device and package after the family prefix: optional letters,
/// a number, letters, a number (`100tcsg324`, `x485tffg1761`, `020clg400`).
fn series7_device_package(body: &str) -> bool {
    run(body.trim_start_matches(lower), digit)
        .and_then(|rest| run(rest, lower))
        .and_then(|rest| run(rest, digit))
        .is_some_and(str::is_empty)
}

/// An UltraScale+ device: `xczu<n><2 letters>` (eg, ev, cg, dr), or
/// `xcvu<n>p`, `xcku<n>p`, `xcau<n>p`.
fn ultrascale_plus_device(device: &str) -> bool {
    if let Some(body) = device.strip_prefix("xczu") {
        return run(body, digit).is_some_and(|rest| rest.len() == 2 && rest.chars().all(lower));
    }
    ["xcvu", "xcku", "xcau"].iter().any(|prefix| {
        device
            .strip_prefix(prefix)
            .and_then(|body| run(body, digit))
            .is_some_and(|rest| rest == "p")
    })
}

/// A package: letters then a pin count (`ffvb1156`, `flga2577`).
fn package_name(package: &str) -> bool {
    run(package, lower)
        .and_then(|rest| run(rest, digit))
        .is_some_and(str::is_empty)
}

/// A speed grade: one digit and up to three letters (`1`, `2L`, `2LE`, `1LV`).
fn speed_grade(speed: &str) -> bool {
    let mut chars = speed.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_digit())
        && speed.len() <= 4
        && chars.all(|c| c.is_ascii_alphabetic())
}

/// The speed grade as Vivado spells it: letters in upper case.
fn canonical_speed(speed: &str) -> String {
    speed.to_ascii_uppercase()
}

/// A temperature grade: one letter (`e`, `i`, `c`, ...).
fn temperature_grade(temperature: &str) -> bool {
    temperature.len() == 1 && temperature.chars().all(lower)
}

/// An engineering-sample suffix (`es1`, `es2`).
fn engineering_sample(suffix: &str) -> bool {
    suffix
        .strip_prefix("es")
        .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.chars().all(digit))
}

/// The bare device names of [`DEFAULT_PARTS`], comma-separated.
fn bare_device_names() -> String {
    DEFAULT_PARTS
        .iter()
        .map(|(bare, _)| *bare)
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most [`SHOWN_CHARS`] characters of `s`, for an error message.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(SHOWN_CHARS).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

/// A SAIF switching-activity file to annotate before `report_power`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaifInput {
    /// The SAIF file; relative names are relative to the script's directory.
    pub file: String,
    /// The instance path of the design in the SAIF file (e.g. `tb/dut`),
    /// passed to `read_saif -strip_path`; it must not begin with `/`.
    pub strip_path: String,
}

/// One block's Vivado flow: what to read, for which part and clock, and
/// what to produce. Build it with [`VivadoProject::new`] and the `with_*`
/// methods, which validate; [`VivadoProject::write`] validates again, since
/// the fields are public.
#[derive(Debug, Clone, PartialEq)]
pub struct VivadoProject {
    /// The top module (a Verilog identifier).
    pub top: String,
    /// The Verilog sources, read in this order; relative names are relative
    /// to the script's directory. Files ending in `.sv` are read as
    /// SystemVerilog.
    pub verilog_files: Vec<String>,
    /// The top's clock port (a Verilog identifier).
    pub clock_port: String,
    /// The target part.
    pub part: Part,
    /// The clock frequency in MHz.
    pub clock_mhz: f64,
    /// Synthesize out of context (no I/O buffers, no pin constraints);
    /// true by default, as fits a lone block.
    pub out_of_context: bool,
    /// Switching activity for `report_power`; without it the power report
    /// is vectorless.
    pub saif: Option<SaifInput>,
    /// Further constraint files (e.g. pin locations and I/O standards of a
    /// top with I/O), read after the generated clock constraint.
    pub extra_xdc: Vec<String>,
    /// End with `write_bitstream`; only for a top that is not out of
    /// context.
    pub write_bitstream: bool,
    /// Memory files the Verilog reads with `$readmemh` (an exported
    /// block's `memories`), read with `read_mem` after the sources.
    pub memory_files: Vec<String>,
}

impl VivadoProject {
    /// A project for `top` (read from `verilog_files`) on `part`, clocked at
    /// `clock_mhz` on `clock_port`: out of context, vectorless power, no
    /// bitstream. Fails on a top or clock port that is not a Verilog
    /// identifier, an empty or unusable file list, or a clock outside
    /// [`MIN_CLOCK_MHZ`]..=[`MAX_CLOCK_MHZ`]. Never panics.
    pub fn new<F, S>(
        top: impl Into<String>,
        verilog_files: F,
        clock_port: impl Into<String>,
        part: Part,
        clock_mhz: f64,
    ) -> Result<Self, VivadoError>
    where
        F: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let project = VivadoProject {
            top: top.into(),
            verilog_files: verilog_files.into_iter().map(Into::into).collect(),
            clock_port: clock_port.into(),
            part,
            clock_mhz,
            out_of_context: true,
            saif: None,
            extra_xdc: Vec::new(),
            write_bitstream: false,
            memory_files: Vec::new(),
        };
        project.validate()?;
        Ok(project)
    }

    /// Sets out-of-context synthesis on or off.
    pub fn with_out_of_context(mut self, out_of_context: bool) -> Self {
        self.out_of_context = out_of_context;
        self
    }

    /// Reads `saif` before `report_power`.
    pub fn with_saif(mut self, saif: SaifInput) -> Result<Self, VivadoError> {
        check_saif(&saif)?;
        self.saif = Some(saif);
        Ok(self)
    }

    /// Adds a constraint file read after the generated clock constraint.
    pub fn with_extra_xdc(mut self, file: impl Into<String>) -> Result<Self, VivadoError> {
        let file = file.into();
        check_path("XDC file", &file)?;
        self.extra_xdc.push(file);
        Ok(self)
    }

    /// Adds a memory file (`$readmemh` contents) read with `read_mem`.
    pub fn with_memory_file(mut self, file: impl Into<String>) -> Result<Self, VivadoError> {
        let file = file.into();
        check_path("memory file", &file)?;
        self.memory_files.push(file);
        Ok(self)
    }

    /// Ends the script with `write_bitstream`, or not; fails with
    /// [`VivadoError::BitstreamOutOfContext`] on an out-of-context project.
    pub fn with_write_bitstream(mut self, write_bitstream: bool) -> Result<Self, VivadoError> {
        if write_bitstream && self.out_of_context {
            return Err(VivadoError::BitstreamOutOfContext);
        }
        self.write_bitstream = write_bitstream;
        Ok(self)
    }

    /// Checks every field: identifiers, file names, clock range, and that a
    /// bitstream is not asked of an out-of-context block.
    pub fn validate(&self) -> Result<(), VivadoError> {
        check_identifier("top module", &self.top)?;
        check_identifier("clock port", &self.clock_port)?;
        if self.verilog_files.is_empty() {
            return Err(VivadoError::NoVerilogFiles);
        }
        for file in &self.verilog_files {
            check_path("Verilog file", file)?;
        }
        for file in &self.extra_xdc {
            check_path("XDC file", file)?;
        }
        if let Some(saif) = &self.saif {
            check_saif(saif)?;
        }
        check_clock(self.clock_mhz)?;
        // A hand-built Part must still be a name Part::parse accepts as is.
        match Part::parse(&self.part.name) {
            Ok(part) if part == self.part => {}
            _ => return Err(VivadoError::UnsupportedPart(shown(&self.part.name))),
        }
        if self.write_bitstream && self.out_of_context {
            return Err(VivadoError::BitstreamOutOfContext);
        }
        Ok(())
    }

    /// The clock period in nanoseconds.
    pub fn period_ns(&self) -> f64 {
        1000.0 / self.clock_mhz
    }

    /// The name of the generated constraint file, `<top>.xdc`.
    pub fn xdc_file_name(&self) -> String {
        format!("{}.xdc", self.top)
    }

    /// The name of the bitstream `write_bitstream` writes, `<top>.bit`.
    pub fn bitstream_file_name(&self) -> String {
        format!("{}.bit", self.top)
    }

    /// The clock constraint: a comment header and one `create_clock` on
    /// the clock port, period in ns with three decimals.
    pub fn xdc(&self) -> String {
        let port = tcl_word(&self.clock_port);
        format!(
            "# Generated by hwformer: clock constraint for {top} on {part}.\n\
             # {port_comment} at {mhz} MHz.\n\
             create_clock -period {period:.3} -name {port} [get_ports {port}]\n",
            top = self.top,
            part = self.part,
            port_comment = self.clock_port,
            mhz = self.clock_mhz,
            period = self.period_ns(),
        )
    }

    /// The non-project batch script: read sources and constraints,
    /// synthesize, implement, write checkpoints and the reports under their
    /// fixed names, then power (after `read_saif` when given) and, for a
    /// top that is not out of context, the bitstream if asked.
    pub fn tcl(&self) -> String {
        let mut lines: Vec<String> = vec![
            "# Generated by hwformer: non-project Vivado batch flow.".into(),
            format!("#   top:   {}", self.top),
            format!("#   part:  {} ({})", self.part, self.part.family),
            format!(
                "#   clock: {} at {} MHz (period {:.3} ns)",
                self.clock_port,
                self.clock_mhz,
                self.period_ns()
            ),
            format!(
                "#   mode:  {}",
                if self.out_of_context {
                    "out of context"
                } else {
                    "top level"
                }
            ),
            format!("# Run with ./{RUN_SCRIPT}, or: vivado -mode batch -source {TCL_SCRIPT}"),
            "set out_dir [file normalize [file dirname [info script]]]".into(),
        ];
        for file in &self.verilog_files {
            let sv = if file.ends_with(".sv") { "-sv " } else { "" };
            lines.push(format!("read_verilog {sv}{}", in_dir(file)));
        }
        for file in &self.memory_files {
            lines.push(format!("read_mem {}", in_dir(file)));
        }
        lines.push(format!("read_xdc {}", in_dir(&self.xdc_file_name())));
        for file in &self.extra_xdc {
            lines.push(format!("read_xdc {}", in_dir(file)));
        }
        let mode = if self.out_of_context {
            " -mode out_of_context"
        } else {
            ""
        };
        lines.push(format!(
            "synth_design -top {} -part {}{mode}",
            tcl_word(&self.top),
            self.part
        ));
        lines.push(format!("write_checkpoint -force {}", in_dir(SYNTH_CHECKPOINT)));
        lines.push(format!(
            "report_utilization -file {}",
            in_dir(SYNTH_UTILIZATION_REPORT)
        ));
        lines.push("opt_design".into());
        lines.push("place_design".into());
        lines.push("route_design".into());
        lines.push(format!("write_checkpoint -force {}", in_dir(ROUTED_CHECKPOINT)));
        lines.push(format!("report_utilization -file {}", in_dir(UTILIZATION_REPORT)));
        lines.push(format!("report_timing_summary -file {}", in_dir(TIMING_REPORT)));
        if let Some(saif) = &self.saif {
            lines.push(format!(
                "read_saif {} -strip_path {}",
                in_dir(&saif.file),
                tcl_word(&saif.strip_path)
            ));
        }
        lines.push(format!("report_power -file {}", in_dir(POWER_REPORT)));
        if self.write_bitstream {
            if self.out_of_context {
                lines.push("# write_bitstream skipped: an out-of-context block has no I/O.".into());
            } else {
                lines.push(format!(
                    "write_bitstream -force {}",
                    in_dir(&self.bitstream_file_name())
                ));
            }
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    /// The run script: a shebang and one command that runs Vivado in batch
    /// mode on [`TCL_SCRIPT`] from the script's own directory.
    pub fn run_script(&self) -> String {
        format!(
            "#!/bin/sh\ncd \"$(dirname \"$0\")\" && exec vivado -mode batch -nojournal -nolog -source {TCL_SCRIPT}\n"
        )
    }

    /// Validates, then writes `<top>.xdc`, [`TCL_SCRIPT`] and [`RUN_SCRIPT`]
    /// (executable on unix) into `dir`, creating it; returns the paths
    /// written. The Verilog files are the caller's to put there.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, VivadoError> {
        self.validate()?;
        std::fs::create_dir_all(dir).map_err(|source| VivadoError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let files = [
            (self.xdc_file_name(), self.xdc()),
            (TCL_SCRIPT.to_string(), self.tcl()),
            (RUN_SCRIPT.to_string(), self.run_script()),
        ];
        let mut written = Vec::with_capacity(files.len());
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| VivadoError::Io {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        let run = dir.join(RUN_SCRIPT);
        make_executable(&run).map_err(|source| VivadoError::Io { path: run, source })?;
        Ok(written)
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// A plain Verilog identifier: an ASCII letter or `_`, then letters,
/// digits, `_` or `$`.
fn check_identifier(what: &'static str, name: &str) -> Result<(), VivadoError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && name.len() <= MAX_IDENTIFIER_LEN;
    if ok {
        Ok(())
    } else {
        Err(VivadoError::InvalidIdentifier {
            what,
            name: shown(name),
        })
    }
}

/// A path that can go into the script inside braces: not empty, no control
/// characters, no braces or backslashes (which braces do not protect).
fn check_path(what: &'static str, name: &str) -> Result<(), VivadoError> {
    let why = if name.trim().is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_PATH_LEN {
        Some("it is too long")
    } else if name.chars().any(char::is_control) {
        Some("it contains control characters")
    } else if name.contains(['{', '}', '\\']) {
        Some("braces and backslashes are not allowed (use `/` as the separator)")
    } else {
        None
    };
    refuse_path(what, name, why)
}

/// `Ok` without a reason, else the invalid-path error with it.
fn refuse_path(what: &'static str, name: &str, why: Option<&'static str>) -> Result<(), VivadoError> {
    match why {
        None => Ok(()),
        Some(why) => Err(VivadoError::InvalidPath {
            what,
            name: shown(name),
            why,
        }),
    }
}

fn check_saif(saif: &SaifInput) -> Result<(), VivadoError> {
    check_path("SAIF file", &saif.file)?;
    let what = "SAIF instance path";
    check_path(what, &saif.strip_path)?;
    let why = if saif.strip_path.chars().any(char::is_whitespace) {
        Some("it contains white space")
    } else if saif.strip_path.starts_with(['/', '-']) {
        Some("it must not begin with `/` or `-`")
    } else {
        None
    };
    refuse_path(what, &saif.strip_path, why)
}

fn check_clock(mhz: f64) -> Result<(), VivadoError> {
    if mhz.is_finite() && (MIN_CLOCK_MHZ..=MAX_CLOCK_MHZ).contains(&mhz) {
        Ok(())
    } else {
        Err(VivadoError::InvalidClock(mhz))
    }
}

/// `s` as one TCL word: as is when it has only characters TCL treats
/// literally, otherwise in braces (callers have rejected braces and
/// backslashes, so the braces quote everything).
fn tcl_word(s: &str) -> String {
    let literal = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '+' | ':' | '@' | ','));
    if literal {
        s.to_string()
    } else {
        format!("{{{s}}}")
    }
}

/// `file` relative to the script's directory (an absolute path stays as
/// it is: that is what `file join` does).
fn in_dir(file: &str) -> String {
    format!("[file join $out_dir {}]", tcl_word(file))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The three parts the issue asks for: bare name, full name, family.
    const PARTS: [(&str, &str, Family); 3] = [
        ("xc7a100t", "xc7a100tcsg324-1", Family::Series7),
        ("xczu9eg", "xczu9eg-ffvb1156-2-e", Family::UltraScalePlus),
        ("xcvu13p", "xcvu13p-flga2577-2-e", Family::UltraScalePlus),
    ];

    fn project(part: &str, mhz: f64) -> VivadoProject {
        VivadoProject::new(
            "attention",
            ["attention.v", "softmax.v"],
            "clk",
            Part::parse(part).unwrap(),
            mhz,
        )
        .unwrap()
    }

    /// The index of the first line that starts with `prefix`.
    fn line_index(tcl: &str, prefix: &str) -> Option<usize> {
        tcl.lines().position(|line| line.starts_with(prefix))
    }

    /// The command lines of the script, in the order the flow needs.
    fn required_order(top: &str, part: &str, ooc: bool) -> Vec<String> {
        let mode = if ooc { " -mode out_of_context" } else { "" };
        vec![
            "set out_dir ".into(),
            "read_verilog [file join $out_dir attention.v]".into(),
            "read_verilog [file join $out_dir softmax.v]".into(),
            format!("read_xdc [file join $out_dir {top}.xdc]"),
            format!("synth_design -top {top} -part {part}{mode}"),
            format!("write_checkpoint -force [file join $out_dir {SYNTH_CHECKPOINT}]"),
            format!("report_utilization -file [file join $out_dir {SYNTH_UTILIZATION_REPORT}]"),
            "opt_design".into(),
            "place_design".into(),
            "route_design".into(),
            format!("write_checkpoint -force [file join $out_dir {ROUTED_CHECKPOINT}]"),
            format!("report_utilization -file [file join $out_dir {UTILIZATION_REPORT}]"),
            format!("report_timing_summary -file [file join $out_dir {TIMING_REPORT}]"),
            format!("report_power -file [file join $out_dir {POWER_REPORT}]"),
        ]
    }

    fn assert_in_order(tcl: &str, expected: &[String]) {
        let mut last = None;
        for prefix in expected {
            let at = line_index(tcl, prefix).unwrap_or_else(|| panic!("no line {prefix:?} in\n{tcl}"));
            if let Some(last) = last {
                assert!(
                    at > last,
                    "{prefix:?} (line {at}) is not after line {last} in\n{tcl}"
                );
            }
            last = Some(at);
        }
    }

    /// Command lines (not comments, not blank).
    fn commands(tcl: &str) -> Vec<&str> {
        tcl.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect()
    }

    #[test]
    fn bare_and_full_names_of_the_three_parts() {
        let bare_defaults = ["xc7a100tcsg324-1", "xczu9eg-ffvb1156-2-e", "xcvu13p-flga2577-1-e"];
        for ((bare, full, family), default) in PARTS.into_iter().zip(bare_defaults) {
            let from_bare = Part::parse(bare).unwrap();
            assert_eq!(from_bare.name, default);
            assert_eq!(from_bare.family, family);
            let from_full = Part::parse(full).unwrap();
            assert_eq!(from_full.name, full);
            assert_eq!(from_full.family, family);
            assert_eq!(Part::parse(&full.to_uppercase()).unwrap(), from_full);
            assert_eq!(Part::parse(&format!("  {full}\n")).unwrap(), from_full);
        }
    }

    #[test]
    fn more_part_names() {
        let series7 = [
            "xc7a35tcpg236-1",
            "xc7z020clg400-1",
            "xc7k325tffg900-2",
            "xc7vx485tffg1761-2",
            "xc7a35ticsg324-1L",
            "xc7s50csga324-1",
            "xc7z007sclg400-1",
        ];
        for name in series7 {
            let part = Part::parse(name).unwrap();
            assert_eq!((part.name.as_str(), part.family), (name, Family::Series7));
        }
        let ultrascale_plus = [
            "xcvu9p-flga2104-2L-e",
            "xczu3eg-sbva484-1-e",
            "xczu28dr-ffvg1517-2-e",
            "xcku5p-ffvb676-2-e",
            "xcau15p-ffvb676-1-e",
            "xcvu37p-fsvh2892-2L-e-es1",
        ];
        for name in ultrascale_plus {
            let part = Part::parse(name).unwrap();
            assert_eq!((part.name.as_str(), part.family), (name, Family::UltraScalePlus));
        }
        // Speed-grade letters are upper-cased, the rest lower-cased.
        assert_eq!(
            Part::parse("XCVU9P-FLGA2104-2l-E").unwrap().name,
            "xcvu9p-flga2104-2L-e"
        );
        // A known device family but no default package: its own error.
        for device in ["xc7k160t", "xczu7ev", "xcku5p"] {
            let err = Part::parse(device).unwrap_err();
            assert!(matches!(err, VivadoError::NoDefaultPackage(_)), "{device}: {err}");
            assert!(err.to_string().contains("xc7a100t"), "{err}");
        }
    }

    #[test]
    fn invalid_part_names_are_errors() {
        let bad = [
            "",
            "   ",
            "xc9z",
            "ＸＣ",
            "ＸＣ7a100t",
            "xc7a100t; rm -rf /",
            "xc7a100t\nquit",
            "xc7a100tcsg324",
            "xc7a100tcsg324-",
            "xc7a100tcsg324-1-e",
            "xc7a100t-csg324-1",
            "xczu9eg-ffvb1156-2",
            "xczu9eg-ffvb1156-2-e-x",
            "xczu9eg-ffvb1156-2-ee",
            "xczu9eg--2-e",
            "xcvu13-flga2577-2-e",
            "xcvu095-ffva2104-2-e",
            "xcku040-ffva1156-2-e",
            "xcvp1202-vsva2785-2MP-e-S",
            "xc7a100tcsg324-1;",
            "-",
            "---",
            "xc7",
            "xczu",
            "xczu9",
            "5csema5f31c6",
            &"x".repeat(10_000),
        ];
        for name in bad {
            let err = Part::parse(name).expect_err(name);
            let message = err.to_string();
            assert!(!message.is_empty());
            assert!(message.len() < 1000, "{message}");
        }
        let message = Part::parse("xc9z").unwrap_err().to_string();
        for listed in ["xc7a", "xczu", "xcvu", "xc7a100t", "xczu9eg", "xcvu13p"] {
            assert!(message.contains(listed), "{message}");
        }
    }

    #[test]
    fn tcl_commands_in_order_for_each_part() {
        for (bare, full, _) in PARTS {
            for name in [bare, full] {
                let p = project(name, 200.0);
                let tcl = p.tcl();
                let part = Part::parse(name).unwrap().name;
                assert_in_order(&tcl, &required_order("attention", &part, true));
                assert!(tcl.contains(&format!(" -part {part} ")));
                assert!(tcl.contains("-mode out_of_context"));
                assert!(!tcl.contains("read_saif"));
                assert!(!tcl.contains("write_bitstream"));
                assert_eq!(
                    commands(&tcl).len(),
                    required_order("attention", &part, true).len()
                );
                // synth_design exactly once, and naming the part exactly.
                let synth: Vec<&str> = tcl.lines().filter(|l| l.starts_with("synth_design")).collect();
                assert_eq!(synth.len(), 1);
                let words: Vec<&str> = synth[0].split_whitespace().collect();
                let at = words.iter().position(|w| *w == "-part").unwrap();
                assert_eq!(words[at + 1], part);
                let at = words.iter().position(|w| *w == "-top").unwrap();
                assert_eq!(words[at + 1], "attention");
            }
        }
    }

    #[test]
    fn out_of_context_can_be_disabled() {
        for (_, full, _) in PARTS {
            let tcl = project(full, 100.0).with_out_of_context(false).tcl();
            assert!(!tcl.contains("out_of_context"), "{tcl}");
            assert!(tcl.contains(&format!("synth_design -top attention -part {full}\n")));
            assert_in_order(&tcl, &required_order("attention", full, false));
        }
    }

    #[test]
    fn xdc_period_for_several_clocks() {
        for (mhz, period) in [
            (100.0, "10.000"),
            (250.0, "4.000"),
            (333.333, "3.000"),
            (1000.0, "1.000"),
            (150.0, "6.667"),
            (MIN_CLOCK_MHZ, "1000000.000"),
        ] {
            for (_, full, _) in PARTS {
                let p = project(full, mhz);
                let xdc = p.xdc();
                let constraint = format!("create_clock -period {period} -name clk [get_ports clk]");
                assert!(xdc.lines().any(|l| l == constraint), "{mhz} MHz:\n{xdc}");
                assert!(xdc.lines().next().unwrap().starts_with('#'));
                assert_eq!(commands(&xdc).len(), 1, "{xdc}");
                assert!(p.tcl().contains(&format!("(period {period} ns)")));
            }
        }
    }

    #[test]
    fn saif_is_read_before_report_power_only_when_asked() {
        for (_, full, _) in PARTS {
            let saif = SaifInput {
                file: "activity.saif".into(),
                strip_path: "tb/dut".into(),
            };
            let tcl = project(full, 100.0).with_saif(saif).unwrap().tcl();
            let read = line_index(
                &tcl,
                "read_saif [file join $out_dir activity.saif] -strip_path tb/dut",
            );
            let route = line_index(&tcl, "route_design").unwrap();
            let power = line_index(&tcl, "report_power").unwrap();
            let read = read.unwrap();
            assert!(route < read && read < power, "{tcl}");
            assert_eq!(tcl.matches("read_saif").count(), 1);
            assert!(!project(full, 100.0).tcl().contains("read_saif"));
        }
        // Paths that would need quoting are braced.
        let saif = SaifInput {
            file: "/tmp/my runs/act.saif".into(),
            strip_path: "tb/gen[0].dut".into(),
        };
        let tcl = project("xc7a100t", 100.0).with_saif(saif).unwrap().tcl();
        assert!(tcl
            .contains("read_saif [file join $out_dir {/tmp/my runs/act.saif}] -strip_path {tb/gen[0].dut}"));
    }

    #[test]
    fn bad_saif_inputs_are_errors() {
        let cases = [
            ("", "tb/dut"),
            ("a.saif", ""),
            ("a.saif", "/tb/dut"),
            ("a.saif", "-tb"),
            ("a.saif", "tb dut"),
            ("a{b}.saif", "tb"),
            ("a\\b.saif", "tb"),
            ("a.saif\nquit", "tb"),
            ("a.saif", "tb}\nexec rm"),
        ];
        for (file, strip_path) in cases {
            let saif = SaifInput {
                file: file.into(),
                strip_path: strip_path.into(),
            };
            let err = project("xczu9eg", 100.0).with_saif(saif.clone()).unwrap_err();
            assert!(
                matches!(err, VivadoError::InvalidPath { .. }),
                "{file:?} {strip_path:?}: {err}"
            );
            let mut p = project("xczu9eg", 100.0);
            p.saif = Some(saif);
            assert!(p.validate().is_err());
        }
    }

    #[test]
    fn write_bitstream_only_when_asked_and_not_out_of_context() {
        for (_, full, _) in PARTS {
            let err = project(full, 100.0).with_write_bitstream(true).unwrap_err();
            assert!(matches!(err, VivadoError::BitstreamOutOfContext));
            assert!(err.to_string().contains("I/O"));

            let p = project(full, 100.0)
                .with_out_of_context(false)
                .with_extra_xdc("pins.xdc")
                .unwrap()
                .with_write_bitstream(true)
                .unwrap();
            p.validate().unwrap();
            let tcl = p.tcl();
            let mut order = required_order("attention", full, false);
            order.insert(4, "read_xdc [file join $out_dir pins.xdc]".into());
            order.push("write_bitstream -force [file join $out_dir attention.bit]".into());
            assert_in_order(&tcl, &order);
            assert_eq!(commands(&tcl).len(), order.len(), "{tcl}");
            assert_eq!(tcl.lines().last().unwrap(), order.last().unwrap());

            // Not asked: no bitstream, even for a top level.
            let tcl = project(full, 100.0).with_out_of_context(false).tcl();
            assert!(!tcl.contains("write_bitstream"));

            // Fields set by hand: validate rejects, the script skips it.
            let mut p = project(full, 100.0);
            p.write_bitstream = true;
            assert!(matches!(p.validate(), Err(VivadoError::BitstreamOutOfContext)));
            assert!(!commands(&p.tcl())
                .iter()
                .any(|l| l.starts_with("write_bitstream")));
            // Turning out-of-context back on after asking is caught too.
            let p = project(full, 100.0)
                .with_out_of_context(false)
                .with_write_bitstream(true)
                .unwrap()
                .with_out_of_context(true);
            assert!(matches!(p.validate(), Err(VivadoError::BitstreamOutOfContext)));
        }
    }

    #[test]
    fn invalid_clocks_are_errors() {
        for mhz in [
            0.0,
            -0.0,
            -5.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5000.0,
            1000.000001,
            1e-300,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            let err = VivadoProject::new("top", ["top.v"], "clk", Part::parse("xc7a100t").unwrap(), mhz)
                .unwrap_err();
            assert!(matches!(err, VivadoError::InvalidClock(_)), "{mhz}: {err}");
            assert!(err.to_string().contains(&mhz.to_string()), "{err}");
        }
    }

    #[test]
    fn identifiers_are_checked() {
        let part = || Part::parse("xcvu13p").unwrap();
        for bad in [
            "",
            "1top",
            "$top",
            "top level",
            "top;quit",
            "top[0]",
            "top\n",
            "\\escaped ",
            "tøp",
            "a-b",
            "{x}",
        ] {
            let err = VivadoProject::new(bad, ["a.v"], "clk", part(), 100.0).unwrap_err();
            assert!(
                matches!(
                    err,
                    VivadoError::InvalidIdentifier {
                        what: "top module",
                        ..
                    }
                ),
                "{bad:?}"
            );
            let err = VivadoProject::new("top", ["a.v"], bad, part(), 100.0).unwrap_err();
            assert!(
                matches!(
                    err,
                    VivadoError::InvalidIdentifier {
                        what: "clock port",
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
        for good in ["top", "_t", "T0", "a$b", "ap_clk"] {
            VivadoProject::new(good, ["a.v"], good, part(), 100.0).unwrap();
        }
        // `$` is an identifier character but TCL substitution: it is braced.
        let p = VivadoProject::new("a$b", ["a.v"], "c$k", part(), 100.0).unwrap();
        assert!(p.tcl().contains("synth_design -top {a$b} -part "));
        assert!(p.tcl().contains("read_xdc [file join $out_dir {a$b.xdc}]"));
        assert!(p.xdc().contains("-name {c$k} [get_ports {c$k}]"));
    }

    #[test]
    fn memory_files_are_checked_and_read_after_the_sources() {
        let part = Part::parse("xczu9eg").unwrap();
        let p = VivadoProject::new("top", ["top.v"], "clk", part, 100.0).unwrap();
        assert!(matches!(
            p.clone().with_memory_file("a}.mem"),
            Err(VivadoError::InvalidPath { .. })
        ));
        let tcl = p.with_memory_file("top__rom.mem").unwrap().tcl();
        assert_in_order(
            &tcl,
            &[
                "read_verilog [file join $out_dir top.v]".into(),
                "read_mem [file join $out_dir top__rom.mem]".into(),
                "synth_design".into(),
            ],
        );
    }

    #[test]
    fn verilog_files_are_checked_and_quoted() {
        let part = || Part::parse("xczu9eg").unwrap();
        let none: [&str; 0] = [];
        assert!(matches!(
            VivadoProject::new("top", none, "clk", part(), 100.0),
            Err(VivadoError::NoVerilogFiles)
        ));
        for bad in ["", " ", "a}.v", "a\\b.v", "a.v\nexec rm", "x\u{0}.v"] {
            let err = VivadoProject::new("top", [bad], "clk", part(), 100.0).unwrap_err();
            assert!(matches!(err, VivadoError::InvalidPath { .. }), "{bad:?}");
        }
        let p = VivadoProject::new(
            "top",
            ["rtl/top.sv", "/abs/dir with space/x.v", "$HOME.v", "a;b.v"],
            "clk",
            part(),
            100.0,
        )
        .unwrap();
        let tcl = p.tcl();
        assert_in_order(
            &tcl,
            &[
                "read_verilog -sv [file join $out_dir rtl/top.sv]".into(),
                "read_verilog [file join $out_dir {/abs/dir with space/x.v}]".into(),
                "read_verilog [file join $out_dir {$HOME.v}]".into(),
                "read_verilog [file join $out_dir {a;b.v}]".into(),
                "read_xdc ".into(),
            ],
        );
        assert!(p.clone().with_extra_xdc("bad}.xdc").is_err());
    }

    #[test]
    fn hand_built_part_is_checked() {
        let mut p = project("xc7a100t", 100.0);
        p.part = Part {
            name: "xc7a100t; quit".into(),
            family: Family::Series7,
        };
        assert!(matches!(p.validate(), Err(VivadoError::UnsupportedPart(_))));
        p.part = Part {
            name: "xc7a100tcsg324-1".into(),
            family: Family::UltraScalePlus,
        };
        assert!(p.validate().is_err());
    }

    #[test]
    fn run_script_is_one_command() {
        let script = project("xczu9eg", 100.0).run_script();
        assert_eq!(
            script,
            "#!/bin/sh\ncd \"$(dirname \"$0\")\" && exec vivado -mode batch -nojournal -nolog -source build.tcl\n"
        );
        assert_eq!(script.lines().count(), 2);
    }

    #[test]
    fn write_creates_the_three_files() {
        let dir = std::env::temp_dir().join(format!("hwformer-vivado-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = dir.join("bitstreams").join("attention");
        let p = project("xcvu13p", 250.0);
        let written = p.write(&out).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["attention.xdc", TCL_SCRIPT, RUN_SCRIPT]);
        assert_eq!(
            std::fs::read_to_string(out.join("attention.xdc")).unwrap(),
            p.xdc()
        );
        assert_eq!(std::fs::read_to_string(out.join(TCL_SCRIPT)).unwrap(), p.tcl());
        assert_eq!(
            std::fs::read_to_string(out.join(RUN_SCRIPT)).unwrap(),
            p.run_script()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join(RUN_SCRIPT))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        // An invalid project writes nothing.
        let mut bad = p.clone();
        bad.clock_mhz = f64::NAN;
        let elsewhere = dir.join("bad");
        assert!(matches!(bad.write(&elsewhere), Err(VivadoError::InvalidClock(_))));
        assert!(!elsewhere.exists());
        // A directory that cannot be created is an I/O error.
        let blocked = out.join(RUN_SCRIPT).join("sub");
        assert!(matches!(p.write(&blocked), Err(VivadoError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    proptest! {
        #[test]
        fn part_parse_never_panics(name in any::<String>()) {
            if let Ok(part) = Part::parse(&name) {
                prop_assert!(part.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
                prop_assert_eq!(Part::parse(&part.name).unwrap(), part);
            }
        }

        #[test]
        fn part_parse_never_panics_on_part_like_names(name in "[xXcC7aAzZuUvVkKpP0-9eEgGlLfFbB-]{0,24}") {
            if let Ok(part) = Part::parse(&name) {
                prop_assert_eq!(Part::parse(&part.name).unwrap(), part);
            }
        }

        #[test]
        fn new_never_panics(
            top in any::<String>(),
            file in any::<String>(),
            port in any::<String>(),
            part in any::<String>(),
            mhz in any::<f64>(),
        ) {
            let part = Part::parse(&part).unwrap_or_else(|_| Part::parse("xc7a100t").unwrap());
            if let Ok(p) = VivadoProject::new(top, [file], port, part, mhz) {
                prop_assert!(p.validate().is_ok());
                let xdc = p.xdc();
                let constraint = format!("create_clock -period {:.3} ", p.period_ns());
                prop_assert!(xdc.contains(&constraint));
                let tcl = p.tcl();
                // One command per line, comments included: nothing smuggles a newline in.
                prop_assert_eq!(commands(&tcl).len(), 13);
                let period: f64 = format!("{:.3}", p.period_ns()).parse().unwrap();
                prop_assert!(period.is_finite() && period >= 1.0);
            }
        }

        #[test]
        fn valid_projects_give_well_formed_scripts(
            top in "[A-Za-z_][A-Za-z0-9_$]{0,12}",
            port in "[A-Za-z_][A-Za-z0-9_$]{0,12}",
            file in "[^{}\\\\]{1,24}",
            part in prop::sample::select(vec![
                "xc7a100t", "xc7a100tcsg324-1", "xczu9eg", "xczu9eg-ffvb1156-2-e", "xcvu13p",
                "xcvu13p-flga2577-2-e",
            ]),
            mhz in MIN_CLOCK_MHZ..=MAX_CLOCK_MHZ,
            ooc in any::<bool>(),
        ) {
            let part = Part::parse(part).unwrap();
            let result = VivadoProject::new(top.clone(), [file.clone()], port, part.clone(), mhz);
            if file.trim().is_empty() || file.chars().any(char::is_control) {
                prop_assert!(result.is_err());
            } else {
                let p = result.unwrap().with_out_of_context(ooc);
                let tcl = p.tcl();
                prop_assert_eq!(commands(&tcl).len(), 13);
                let synth = format!("synth_design -top {} -part {}", tcl_word(&top), part);
                prop_assert!(tcl.contains(&synth));
                prop_assert_eq!(tcl.contains("-mode out_of_context"), ooc);
                prop_assert_eq!(commands(&p.xdc()).len(), 1);
            }
        }

        #[test]
        fn new_accepts_every_clock_in_range(mhz in MIN_CLOCK_MHZ..=MAX_CLOCK_MHZ) {
            let p = VivadoProject::new("top", ["top.v"], "clk", Part::parse("xcvu13p").unwrap(), mhz);
            prop_assert!(p.is_ok());
        }
    }
}
