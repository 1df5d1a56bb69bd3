//! Helpers shared by the cross-crate tests: running the hwformer program
//! and the external hardware tools (which must be installed: a missing
//! tool fails the test with the command that installs it).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the hwformer program with `args`.
pub fn hwformer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hwformer"))
        .args(args)
        .output()
        .expect("hwformer runs")
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hwformer-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs an external tool in `dir`; a missing tool is a failure that says
/// what to install.
pub fn tool(dir: &Path, program: &str, args: &[&str]) -> Output {
    let package = match program {
        "vvp" => "iverilog",
        other => other,
    };
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{program} could not run ({e}): install it with `apt-get install {package}` \
             (or run scripts/install-tools.sh)"
            )
        })
}

/// Asserts a tool succeeded, showing the tail of its output if not.
pub fn assert_ok(what: &str, out: &Output) {
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        panic!(
            "{what} failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}
