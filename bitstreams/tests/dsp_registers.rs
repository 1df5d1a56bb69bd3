//! The Fmax estimate sees a DSP's own registers: a multiply whose operands
//! and product sit in the DSP's A/B, M and P registers estimates faster
//! than one with logic in front of an unregistered input, and no faster
//! than the DSP's slowest internal stage allows (yosys 0.23 packs A, B, M
//! and P into a DSP48E1; into a DSP48E2 it packs none, so there the
//! fabric registers around a combinational DSP decide; a missing yosys is
//! an error that says to install it).

use hwformer_bitstreams::yosys::{synthesize, Family};

fn estimate(name: &str, verilog: &str, family: Family) -> hwformer_bitstreams::logic_depth::LogicDepth {
    let dir = std::env::temp_dir().join(format!("hwformer-dsp-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.v")), verilog).unwrap();
    let s = synthesize(&dir, &format!("{name}.v"), name, family)
        .unwrap_or_else(|e| panic!("yosys (install it: apt-get install yosys): {e}"));
    assert_eq!(s.resources.dsp, 1, "{name}: one DSP");
    s.logic_depth
}

const REGISTERED: &str = "module registered(input clk, input [15:0] a, input [15:0] b, output reg [31:0] p);
  reg [15:0] ar, br; reg [31:0] m;
  always @(posedge clk) begin ar <= a; br <= b; m <= ar * br; p <= m; end
endmodule
";

const LOGIC_IN_FRONT: &str =
    "module logic_in_front(input clk, input [15:0] a, input [15:0] b, output reg [31:0] p);
  reg [15:0] ar, br;
  always @(posedge clk) begin ar <= a; br <= b; p <= (ar ^ {ar[0], ar[15:1]}) * (br + 16'd3); end
endmodule
";

#[test]
fn a_registered_multiply_estimates_faster_than_one_behind_logic() {
    for family in [Family::Xc7, Family::Xcup] {
        let d = family.delays();
        let fast = estimate("registered", REGISTERED, family);
        let slow = estimate("logic_in_front", LOGIC_IN_FRONT, family);
        assert!(
            fast.fmax_mhz > slow.fmax_mhz,
            "{}: registered {fast:?}, behind logic {slow:?}",
            d.name
        );
        // never faster than a DSP with every register in use can run
        let inside = d.dsp_to_register.max(d.dsp_from_register);
        assert!(fast.critical_path_ns >= inside - 1e-9, "{fast:?}");
        if let Family::Xc7 = family {
            // yosys packs A, B, M and P into the DSP48E1: its own stage decides
            assert!((fast.critical_path_ns - inside).abs() < 1e-9, "{fast:?}");
            assert!(fast.critical_path[0].starts_with("inside DSP"), "{fast:?}");
        }
    }
}
