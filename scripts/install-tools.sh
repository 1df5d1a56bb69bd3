#!/usr/bin/env bash
# Installs the hardware tools hwformer drives (Verilator, Yosys, Icarus
# Verilog, and g++ and make to compile verilated models) with apt-get when they are missing, then prints their versions.
# Idempotent: a second run installs nothing. Fails with a clear message
# where it cannot install (not root, no apt-get).
set -euo pipefail

# tool command -> Debian package
declare -A packages=( [verilator]=verilator [yosys]=yosys [iverilog]=iverilog [g++]=g++ [make]=make )

missing=()
for tool in verilator yosys iverilog g++ make; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${packages[$tool]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-tools: missing: ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: error: apt-get not found; install ${missing[*]} with your package manager" >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-tools: error: not root; run 'sudo apt-get install ${missing[*]}' (or run this script as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" g++ make >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-tools: error: cargo not found; install a Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi

echo "install-tools: $(verilator --version | head -n1)"
echo "install-tools: $(yosys -V | head -n1)"
echo "install-tools: $(iverilog -V 2>&1 | head -n1)"
