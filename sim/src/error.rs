//! What can go wrong while building or running a simulation.

use std::path::PathBuf;

/// An error of this crate: every message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An external tool is not installed.
    #[error("{tool} not found ({reason}): install it with `apt-get install {package}` or run scripts/install-tools.sh")]
    ToolMissing {
        /// The command.
        tool: String,
        /// Debian package that provides it.
        package: String,
        /// What the system said.
        reason: String,
    },
    /// An external tool ran and failed.
    #[error("{what} failed; the last lines it printed:\n{tail}")]
    ToolFailed {
        /// The step ("verilator", "g++ link", "vvp").
        what: String,
        /// The tail of its output.
        tail: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The compiled model could not be loaded.
    #[error("loading {path}: {message}")]
    Load {
        /// The shared library.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// The design or the run was asked for something it cannot do.
    #[error("{0}")]
    Invalid(String),
}

impl SimError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Runs `program` with `args` in `dir`; a missing program or a failure
/// becomes the matching [`SimError`], with the last 30 lines of output.
pub fn run_tool(
    dir: &std::path::Path,
    what: &str,
    program: &str,
    args: &[&str],
) -> Result<std::process::Output, SimError> {
    let package = match program {
        "vvp" | "iverilog" => "iverilog",
        "g++" => "g++",
        path if path.ends_with("verilator") => "verilator",
        other => other,
    };
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| SimError::ToolMissing {
            tool: program.into(),
            package: package.into(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        return Err(SimError::ToolFailed {
            what: what.into(),
            tail,
        });
    }
    Ok(out)
}
