//! Verilog export: rust-hdl's text with unique, legal module names, and
//! the manifest beside it.
//!
//! rust-hdl names the top module `top` and each sub-module by its path
//! with `$` separators. Several exported blocks must coexist in one Vivado
//! project, so every module is renamed `hwformer_<block>` (the top) or
//! `hwformer_<block>__<path>` (the rest, `$` turned into `__`).
//!
//! Memory contents (the weight ROMs' words) travel inside the Verilog
//! text as a marked comment ([`memory_verilog`]); [`write`] moves each
//! into a file `<module>.mem` beside the Verilog, read by `$readmemh`, so
//! a simulator compiles the design without a million constants in it:
//!
//! ```text
//!  in memory:  module M ... initial $readmemh("@memory@") ... //@ 0a0b ... (one line a word)
//!  on disk:    <block>.v (the module reads "M.mem"), M.mem (the words), manifest `memories`
//! ```
//! Synthesis (`SYNTHESIS` defined) reads `M.mem` from the folder it runs
//! in; simulators read `<dir>/M.mem` with `dir` from the plusarg
//! `+hwformer_memory_dir=<dir>` (default `.`).

use crate::manifest::Manifest;
use hwformer_quant::QFormat;
use rust_hdl::core::check_error::check_all;
use rust_hdl::core::prelude::{generate_verilog_unchecked, Block};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why an export failed.
#[derive(Debug)]
pub enum ExportError {
    /// rust-hdl's checks (connections, latches, loops) refused the design.
    Check(String),
    /// The output folder or files could not be written.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Check(m) => write!(f, "design check failed: {m}"),
            ExportError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for ExportError {}

/// The `verilator --lint-only -Wall` warnings every rust-hdl export needs
/// waived, with the reason.
pub fn standard_waivers() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "WIDTH".to_string(),
            "rust-hdl writes 32-bit literals and relies on Verilog's width extension and truncation"
                .to_string(),
        ),
        (
            "DECLFILENAME".to_string(),
            "files are named <block>.v by the export contract; modules hwformer_<block>".to_string(),
        ),
    ])
}

/// The module name of a block's top.
pub fn module_name(block: &str) -> String {
    format!("hwformer_{block}")
}

/// The export stem of a block built for input format `input`: `block` for
/// its `default` format, else `<block>_x<fraction bits>`, so blocks in
/// several formats can share a project.
pub fn format_stem(block: &str, input: QFormat, default: QFormat) -> String {
    if input == default {
        block.to_string()
    } else {
        format!("{block}_x{}", input.frac())
    }
}

/// Verilog of a connected block, checked by rust-hdl and by
/// [`crate::final_values`], with modules renamed for `block`.
pub fn verilog<B: Block>(block: &str, uut: &B) -> Result<String, ExportError> {
    check_all(uut).map_err(|e| ExportError::Check(format!("{e:?}")))?;
    let verilog = rename_modules(&generate_verilog_unchecked(uut), block);
    crate::final_values::check(&verilog).map_err(ExportError::Check)?;
    Ok(verilog)
}

/// Renames every module declared in `verilog` (and its instantiations) to
/// a `hwformer_<block>` name without `$`.
pub fn rename_modules(verilog: &str, block: &str) -> String {
    let top = module_name(block);
    let names: BTreeMap<String, String> = verilog
        .lines()
        .filter_map(declared_module)
        .map(|name| {
            let new = if name == "top" {
                top.clone()
            } else {
                format!("{top}__{}", name.trim_start_matches("top$").replace('$', "__"))
            };
            (name.to_string(), new)
        })
        .collect();
    let rename = |token: &str| names.get(token).cloned();
    verilog
        .lines()
        .map(|line| {
            let indent = &line[..line.len() - line.trim_start().len()];
            let body = line.trim_start();
            if let Some(rest) = body.strip_prefix("module ") {
                let (name, tail) = split_name(rest);
                if let Some(new) = rename(name) {
                    return format!("{indent}module {new}{tail}");
                }
            } else if let Some(rest) = body.strip_prefix("endmodule // ") {
                if let Some(new) = rename(rest.trim()) {
                    return format!("{indent}endmodule // {new}");
                }
            } else {
                // an instantiation: `<module> <instance>(`
                let (name, tail) = split_name(body);
                if tail.starts_with(' ') {
                    if let Some(new) = rename(name) {
                        return format!("{indent}{new}{tail}");
                    }
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The module a line declares (`module <name>(...`), if it declares one.
pub(crate) fn declared_module(line: &str) -> Option<&str> {
    line.trim_start()
        .strip_prefix("module ")
        .map(|rest| split_name(rest).0)
}

fn split_name(s: &str) -> (&str, &str) {
    let end = s.find(['(', ' ', ';']).unwrap_or(s.len());
    s.split_at(end)
}

/// The placeholder a memory's Verilog names its file by until [`write`].
const MEMORY_FILE: &str = "@memory@";
/// Marks a line of a memory's words (hexadecimal) inside the Verilog.
const MEMORY_WORD: &str = "//@ ";

/// Verilog that fills `array` from its memory file at power-up (see the
/// module doc), followed by its `words` (hexadecimal, one a line, the
/// first at index 0). For a hand-written module's text; one memory a
/// module.
pub fn memory_verilog<I: IntoIterator<Item = String>>(array: &str, words: I) -> String {
    let mut text = format!(
        "`ifdef SYNTHESIS\n\
         initial $readmemh(\"{MEMORY_FILE}\", {array});\n\
         `else\n\
         initial begin : load_{array}\n\
         \x20   reg [8*1024-1:0] memory_dir;\n\
         \x20   if (!$value$plusargs(\"hwformer_memory_dir=%s\", memory_dir)) memory_dir = \".\";\n\
         \x20   $readmemh({{memory_dir, \"/{MEMORY_FILE}\"}}, {array});\n\
         end\n\
         `endif\n"
    );
    for word in words {
        text.push_str(MEMORY_WORD);
        text.push_str(&word);
        text.push('\n');
    }
    text
}

/// Verilog declaring `array`, `depth` words of `width` bits, all zero at
/// power-up. Simulators get the zeros from a loop; synthesis (`SYNTHESIS`
/// defined) does not see it, as block and LUT RAM start at zero anyway,
/// and yosys 0.23 takes more than five minutes to unroll such a loop over
/// 49 151 words (a layer's residual FIFO) where it maps the memory in five
/// seconds without it.
pub fn zeroed_memory_verilog(array: &str, width: usize, depth: usize) -> String {
    format!(
        "reg [{top}:0] {array} [0:{last}];\n\
         `ifndef SYNTHESIS\n\
         integer {array}_word;\n\
         initial for ({array}_word = 0; {array}_word < {depth}; {array}_word = {array}_word + 1) {array}[{array}_word] = {width}'d0;\n\
         `endif\n",
        top = width - 1,
        last = depth - 1,
    )
}

/// A memory file of an exported design: its name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryFile {
    /// `<module>.mem`.
    pub name: String,
    /// One hexadecimal word a line.
    pub text: String,
}

/// `verilog` without its memories' words, each module's placeholder
/// replaced by its file's name, and the files.
pub fn split_memories(verilog: &str) -> (String, Vec<MemoryFile>) {
    let mut text = String::with_capacity(verilog.len());
    let mut files: Vec<MemoryFile> = Vec::new();
    let mut module = "";
    for line in verilog.lines() {
        if let Some(name) = declared_module(line) {
            module = name;
        }
        let body = line.trim_start();
        if let Some(word) = body.strip_prefix(MEMORY_WORD) {
            let name = format!("{module}.mem");
            if files.last().map(|f| &f.name) != Some(&name) {
                files.push(MemoryFile {
                    name,
                    text: String::new(),
                });
            }
            let file = files.last_mut().expect("pushed above");
            file.text.push_str(word.trim());
            file.text.push('\n');
        } else {
            text.push_str(&line.replace(MEMORY_FILE, &format!("{module}.mem")));
            text.push('\n');
        }
    }
    (text, files)
}

/// An exported block in memory: its Verilog, its manifest and, for blocks
/// that hold weights, the bytes of its weights file.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The Verilog.
    pub verilog: String,
    /// The manifest.
    pub manifest: Manifest,
    /// The safetensors file the manifest's `weights` entry names.
    pub weights: Option<Vec<u8>>,
}

impl Exported {
    /// A block without weights.
    pub fn new(verilog: String, manifest: Manifest) -> Self {
        Self {
            verilog,
            manifest,
            weights: None,
        }
    }

    /// Writes `<block>.v`, its memory files, `<block>.json` and the
    /// weights file into `dir`; returns the manifest as written (with its
    /// `memories`).
    pub fn write(&self, dir: &Path) -> Result<Manifest, ExportError> {
        let written = write(dir, &self.verilog, &self.manifest)?;
        if let (Some(bytes), Some(entry)) = (&self.weights, &self.manifest.weights) {
            let path = dir.join(&entry.file);
            std::fs::write(&path, bytes).map_err(|e| ExportError::Io(path.clone(), e))?;
        }
        Ok(written)
    }
}

/// Writes `<block>.v`, its memory files ([`split_memories`]) and
/// `<block>.json` (which lists them in `memories`) into `dir`; returns the
/// manifest as written.
pub fn write(dir: &Path, verilog: &str, manifest: &Manifest) -> Result<Manifest, ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Io(dir.to_path_buf(), e))?;
    let v = dir.join(&manifest.verilog);
    let j = dir.join(format!("{}.json", manifest.block));
    let (verilog, memories) = split_memories(verilog);
    std::fs::write(&v, verilog).map_err(|e| ExportError::Io(v.clone(), e))?;
    for memory in &memories {
        let path = dir.join(&memory.name);
        std::fs::write(&path, &memory.text).map_err(|e| ExportError::Io(path.clone(), e))?;
    }
    let mut manifest = manifest.clone();
    manifest.memories = memories.into_iter().map(|m| m.name).collect();
    let json = serde_json::to_string_pretty(&manifest).expect("manifests serialize");
    std::fs::write(&j, json + "\n").map_err(|e| ExportError::Io(j.clone(), e))?;
    Ok(manifest)
}

/// The stack of the threads blocks are built and simulated on.
const BUILD_STACK_BYTES: usize = 256 << 20;

/// Runs `work` on a thread of its own with a 256 MiB stack and returns
/// what it returns (an error only when no thread can be started; a panic
/// in `work` is passed on): rust-hdl builds a block as one value, and the
/// wide heads and layers outgrow a default thread's stack.
pub fn on_big_stack<T: Send>(name: &str, work: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .stack_size(BUILD_STACK_BYTES)
            .spawn_scoped(scope, work)?;
        Ok(handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Runs `build` (the building of block `name`) on a big-stack thread
/// ([`on_big_stack`]).
pub fn on_build_thread<T: Send>(
    name: &str,
    build: impl FnOnce() -> Result<T, ExportError> + Send,
) -> Result<T, ExportError> {
    on_big_stack(&format!("build {name}"), build)
        .map_err(|e| ExportError::Check(format!("no thread to build {name} on: {e}")))?
}
