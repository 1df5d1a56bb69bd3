//! The tiny encoder layer as one design (`hdl::encoder_layer`) in
//! rust-hdl's simulator, and its exported Verilog on Verilator and Icarus:
//! every output element bit for bit the int16 layer model's
//! (`quant::bert::seeded`), every input and output handshake in the layer
//! graph's cycle (`dataflow::handshake::layer`, the tiny preset), under
//! seeded gaps and back-pressure, two sequences back to back.

use hwformer_dataflow::handshake::layer::LayerDepths;
use hwformer_dataflow::handshake::RunOptions;
use hwformer_dataflow::pacing::{sink_ready, Pacing, SourcePacer};
use hwformer_hdl::encoder_layer::{EncoderDepths, EncoderLayerUnit};
use rust_hdl::prelude::*;

/// Runs `work` on a thread with a 1 GiB stack: a layer is one large
/// struct of blocks, built and simulated as a value.
fn on_big_stack(work: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn the_tiny_layer_is_its_model_bit_for_bit_at_its_graphs_cycles() {
    // the design is one large struct of blocks: build and run it on a big stack
    on_big_stack(tiny_layer);
}

fn tiny_layer() {
    let design = hwformer_sim::layer::LayerDesign::new("tiny", 7).unwrap();
    let (plan, layer) = (design.plan, &design.layer);
    let s = plan.shape;
    let tokens = s.tokens as usize;
    let sequences = 2;
    let hwformer_sim::layer::LayerSequences { inputs, expected, .. } = design.sequences(sequences).unwrap();
    let depths = EncoderDepths {
        residual1: 128,
        hidden: 2,
        residual2: 40,
    };
    let token = s.d_model as usize;
    for (valid_p, ready_p, seed) in [(1.0, 1.0, 0), (0.7, 0.8, 1)] {
        let pacing = Pacing {
            valid_probability: valid_p,
            ready_probability: ready_p,
            seed,
        };
        let mut graph = plan
            .graph()
            .unwrap()
            .build(
                sequences,
                LayerDepths {
                    residual1: depths.residual1,
                    hidden: depths.hidden,
                    residual2: depths.residual2,
                },
            )
            .unwrap();
        let trace = graph.run(&pacing, RunOptions::default()).unwrap();
        let mut uut =
            EncoderLayerUnit::<4, 64, 128, 8, 8, 128, 256>::new(layer.integer(), tokens, depths).unwrap();
        uut.connect_all();
        let mut pacer = SourcePacer::default();
        let (mut next, mut cycle) = (0usize, 0u64);
        let (mut input_cycles, mut output_cycles, mut got) = (Vec::new(), Vec::new(), Vec::new());
        while got.len() < expected.len() {
            assert!(
                cycle < 20_000,
                "stuck at cycle {cycle}: {} of {} outputs",
                got.len(),
                expected.len()
            );
            let valid = pacer.valid(&pacing, 0, cycle, next < inputs.len());
            uut.s_axis_x_tvalid.next = valid;
            uut.s_axis_x_tdata.next = (inputs[next.min(inputs.len() - 1)] as u16 as u64).to_bits();
            uut.s_axis_x_tlast.next = next % token == token - 1;
            let ready = sink_ready(&pacing, 0, cycle, false);
            uut.m_axis_y_tready.next = ready;
            uut.clock.next = false.into();
            assert!(simulate(&mut uut, 1000), "did not settle at cycle {cycle}");
            if valid && uut.s_axis_x_tready.val() {
                input_cycles.push(cycle);
                next += 1;
                pacer.taken();
            }
            if ready && uut.m_axis_y_tvalid.val() {
                output_cycles.push(cycle);
                got.push(uut.m_axis_y_tdata.val().to_u64() as u16 as i16 as i64);
            }
            uut.clock.next = true.into();
            assert!(simulate(&mut uut, 1000), "did not settle after cycle {cycle}");
            cycle += 1;
        }
        assert_eq!(got, expected, "the outputs, pacing {pacing:?}");
        assert_eq!(
            input_cycles, trace.input_cycles[0],
            "input handshakes, {pacing:?}"
        );
        assert_eq!(
            output_cycles, trace.output_cycles[0],
            "output handshakes, {pacing:?}"
        );
    }
}

#[test]
fn the_tiny_layers_verilog_is_its_model_bit_for_bit_at_its_graphs_cycles_on_verilator_and_icarus() {
    on_big_stack(tiny_layer_verilog);
}

fn tiny_layer_verilog() {
    use hwformer_sim::layer::{check_layer, LayerDesign};
    use hwformer_sim::session::Backend;
    let design = LayerDesign::new("tiny", 7).unwrap();
    // the depths the layer graph chose
    let search = design.plan.graph().unwrap().search_depths(2, 256).unwrap();
    assert_eq!(design.depths.residual1, search.fifos[0].full_throughput_depth);
    let dir = std::env::temp_dir().join(format!("hwformer-encoder-layer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let manifest = design.write(&dir).unwrap();
    assert!(
        !manifest.memories.is_empty(),
        "the projections' weights are memory files"
    );
    for backend in [Backend::Verilator, Backend::Icarus] {
        for (valid_p, ready_p, seed) in [(1.0, 1.0, 0), (0.7, 0.8, 1)] {
            let pacing = Pacing {
                valid_probability: valid_p,
                ready_probability: ready_p,
                seed,
            };
            let v = check_layer(&design, &dir, &manifest, backend, 2, pacing)
                .unwrap_or_else(|e| panic!("{backend:?} {pacing:?}: {e}"));
            assert_eq!(v.beats, 2 * 8 * 16);
            // at full speed the found depths keep the graph's full-throughput cycles
            if valid_p == 1.0 && ready_p == 1.0 {
                assert_eq!(v.cycles, search.full_throughput_cycles, "{backend:?}");
            }
            assert!(v.float_error.worst_token_cosine > 0.999, "{:?}", v.float_error);
        }
    }
}

#[test]
fn the_jet_tagging_layer_without_layer_norms_is_its_model_bit_for_bit_at_its_graphs_cycles_on_verilator() {
    on_big_stack(jet_tagging_layer_verilog);
}

/// jet-tagging: tokens of 6, attention 64 wide (2 heads of 32), no layer
/// norm (each residual add feeds what follows it directly), ReLU in the
/// FFN, 2 lanes: another instance of the layer's const generics.
fn jet_tagging_layer_verilog() {
    use hwformer_quant::bert::Tensor;
    use hwformer_sim::layer::{check_layer, LayerDesign};
    use hwformer_sim::session::Backend;
    let design = LayerDesign::new("jet-tagging", 7).unwrap();
    let parts = design.layer.integer().parts();
    assert!(parts.norm1.is_none() && parts.norm2.is_none());
    assert_eq!(
        (parts.query.d_in(), parts.query.d_out(), parts.ffn.d_ff()),
        (6, 64, 8)
    );
    let search = design.plan.graph().unwrap().search_depths(2, 256).unwrap();
    let dir = std::env::temp_dir().join(format!("hwformer-encoder-layer-jet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let manifest = design.write(&dir).unwrap();
    assert_eq!(
        manifest.params["layer_norm"],
        hwformer_hdl::manifest::Param::from(0.0)
    );
    assert_eq!(
        manifest.streams[1].fields[0].format,
        design.layer.formats().tensor(Tensor::Residual2)
    );
    for (valid_p, ready_p, seed) in [(1.0, 1.0, 0), (0.6, 0.7, 4), (1.0, 0.3, 5)] {
        let pacing = Pacing {
            valid_probability: valid_p,
            ready_probability: ready_p,
            seed,
        };
        let v = check_layer(&design, &dir, &manifest, Backend::Verilator, 2, pacing)
            .unwrap_or_else(|e| panic!("{pacing:?}: {e}"));
        assert_eq!(v.beats, 2 * 15 * 6);
        if valid_p == 1.0 && ready_p == 1.0 {
            assert_eq!(v.cycles, search.full_throughput_cycles);
        }
        assert!(v.float_error.worst_token_cosine > 0.999, "{:?}", v.float_error);
    }
}

#[test]
fn the_tiny_layer_with_a_ternary_ffn_is_its_model_bit_for_bit_at_its_graphs_cycles_on_verilator_and_icarus() {
    on_big_stack(|| tiny_variant_layer_verilog(hwformer_quant::bert::integer::Variant::Ternary));
}

#[test]
fn the_tiny_layer_with_binary_heads_is_its_model_bit_for_bit_at_its_graphs_cycles_on_verilator_and_icarus() {
    on_big_stack(|| tiny_variant_layer_verilog(hwformer_quant::bert::integer::Variant::Binary));
}

/// The tiny layer as `variant`: with the FFN's weights ternary (and its
/// biases), the `TernaryFfnUnit` in the layer and the int16 FFN idle; or
/// with binary heads, the `BinaryAttentionUnit` in the layer and the sdpa
/// head idle.
fn tiny_variant_layer_verilog(variant: hwformer_quant::bert::integer::Variant) {
    use hwformer_quant::bert::integer::{LayerFfn, LayerHead, Variant};
    use hwformer_sim::layer::{check_layer, LayerDesign};
    use hwformer_sim::session::Backend;
    use hwformer_sim::timing::LayerPlan;
    let plan = LayerPlan {
        variant,
        ..LayerPlan::preset("tiny").unwrap()
    };
    let name = format!("tiny-{}", variant.name());
    let design = LayerDesign::build(&name, plan, 7, None).unwrap();
    let parts = design.layer.integer().parts();
    match (variant, parts.ffn, parts.head) {
        (Variant::Ternary, LayerFfn::Ternary(ffn), LayerHead::Streaming(_)) => {
            assert!(ffn.up().bias().iter().any(|&b| b != 0) && ffn.down().bias().iter().any(|&b| b != 0));
        }
        (Variant::Binary, LayerFfn::Int16(_), LayerHead::Binary(head)) => assert_eq!(head.bits(), 64),
        _ => panic!("{variant:?}: the layer's parts are another variant's"),
    }
    let search = plan.graph().unwrap().search_depths(2, 256).unwrap();
    let dir = std::env::temp_dir().join(format!("hwformer-encoder-layer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let manifest = design.write(&dir).unwrap();
    let (ternary, binary) = (variant == Variant::Ternary, variant == Variant::Binary);
    assert_eq!(
        (
            &manifest.params["ternary_ffn"],
            &manifest.params["binary_attention"]
        ),
        (
            &hwformer_hdl::manifest::Param::from(f64::from(u8::from(ternary))),
            &hwformer_hdl::manifest::Param::from(f64::from(u8::from(binary)))
        )
    );
    for (backend, valid_p, ready_p, seed) in [
        (Backend::Verilator, 1.0, 1.0, 0),
        (Backend::Verilator, 0.6, 0.7, 3),
        (Backend::Icarus, 0.8, 0.5, 2),
    ] {
        let pacing = Pacing {
            valid_probability: valid_p,
            ready_probability: ready_p,
            seed,
        };
        let v = check_layer(&design, &dir, &manifest, backend, 2, pacing)
            .unwrap_or_else(|e| panic!("{variant:?} {backend:?} {pacing:?}: {e}"));
        assert_eq!(v.beats, 2 * 8 * 16);
        if valid_p == 1.0 && ready_p == 1.0 {
            assert_eq!(v.cycles, search.full_throughput_cycles, "{backend:?}");
        }
    }
}

#[test]
fn one_slot_less_does_on_verilator_what_the_layer_graph_says() {
    on_big_stack(one_slot_less);
}

fn one_slot_less() {
    use hwformer_dataflow::handshake::GraphError;
    use hwformer_sim::layer::{check_layer, LayerDesign};
    use hwformer_sim::ports::PortMap;
    use hwformer_sim::session::Backend;
    use hwformer_sim::testbench::{run as drive, Beats, Stimulus};
    use hwformer_sim::verilator::{build, BuildOptions, VerilatedModel};
    let found = LayerDesign::new("tiny", 7).unwrap();
    let full = found.plan.graph().unwrap().cycles(2, found.depths).unwrap();
    // the second residual one slot short: the graph says slower, the RTL takes exactly that
    let mut short = LayerDesign::new("tiny", 7).unwrap();
    short.depths.residual2 -= 1;
    let dir = std::env::temp_dir().join(format!("hwformer-encoder-layer-short-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let manifest = short.write(&dir).unwrap();
    let v = check_layer(&short, &dir, &manifest, Backend::Verilator, 2, Pacing::FULL_SPEED).unwrap();
    assert!(v.cycles > full, "{} against {full}", v.cycles);
    // the first residual one slot short: the graph deadlocks, and so does the RTL
    let mut starved = LayerDesign::new("tiny", 7).unwrap();
    starved.depths.residual1 -= 1;
    assert!(matches!(
        starved.plan.graph().unwrap().cycles(2, starved.depths),
        Err(GraphError::Deadlock(_))
    ));
    let dir = std::env::temp_dir().join(format!("hwformer-encoder-layer-starved-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let manifest = starved.write(&dir).unwrap();
    let ports = PortMap::new(&manifest);
    let library = build(&dir, &manifest, &BuildOptions::default()).unwrap();
    let mut model = VerilatedModel::load(&library, &ports, &dir).unwrap();
    let mut x = Beats::new(16);
    for i in 0..2 * 8 * 16 {
        x.push_lanes16(&[i % 300], i % 16 == 15);
    }
    let inputs = [x];
    let stimulus = Stimulus {
        inputs: &inputs,
        expected: &[2 * 8 * 16],
        pacing: Pacing::FULL_SPEED,
        max_cycles: 4 * full,
    };
    let e = drive(&mut model, &ports, &stimulus).unwrap_err().to_string();
    assert!(e.contains("not finished within"), "{e}");
}

#[test]
fn the_tiny_small_jet_tagging_ternary_and_binary_layers_verilog_lints_clean_with_its_manifests_waivers() {
    on_big_stack(|| {
        use hwformer_quant::bert::integer::Variant;
        for preset in ["tiny", "small", "jet-tagging", "ternary", "binary"] {
            let variant = match preset {
                "ternary" => Some(Variant::Ternary),
                "binary" => Some(Variant::Binary),
                _ => None,
            };
            let design = match variant {
                Some(variant) => {
                    let plan = hwformer_sim::timing::LayerPlan {
                        variant,
                        ..hwformer_sim::timing::LayerPlan::preset("tiny").unwrap()
                    };
                    hwformer_sim::layer::LayerDesign::build(&format!("tiny-{preset}"), plan, 7, None).unwrap()
                }
                None => hwformer_sim::layer::LayerDesign::new(preset, 7).unwrap(),
            };
            let dir = std::env::temp_dir().join(format!(
                "hwformer-encoder-layer-lint-{preset}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            let manifest = design.write(&dir).unwrap();
            let mut args = vec!["--lint-only".to_string(), "-Wall".to_string()];
            args.extend(manifest.lint_waivers.keys().map(|w| format!("-Wno-{w}")));
            args.extend([
                "--top-module".to_string(),
                manifest.module.clone(),
                manifest.verilog.clone(),
            ]);
            let verilator = hwformer_sim::verilator::verilator_program().unwrap();
            let out = std::process::Command::new(verilator)
                .current_dir(&dir)
                .args(&args)
                .output()
                .expect("verilator runs");
            let text = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{preset}: {text}");
            assert!(
                !text.contains("%Warning") && !text.contains("%Error"),
                "{preset}: {text}"
            );
        }
    });
}

#[test]
fn a_layer_the_hardware_cannot_be_is_an_error_not_a_panic() {
    on_big_stack(|| {
        let mut design = hwformer_sim::layer::LayerDesign::new("tiny", 7).unwrap();
        let depths = EncoderDepths {
            residual1: 128,
            hidden: 2,
            residual2: 40,
        };
        // heads of 4 where the model's head has 8 lanes
        let e = EncoderLayerUnit::<4, 64, 128, 8, 4, 64, 128>::new(design.layer.integer(), 8, depths)
            .err()
            .expect("an error");
        assert!(e.contains("the head has d = 8"), "{e}");
        // 3 lanes divide no width of the layer
        let e = EncoderLayerUnit::<3, 48, 96, 6, 8, 128, 256>::new(design.layer.integer(), 8, depths)
            .err()
            .expect("an error");
        assert!(e.contains("lanes = 3"), "{e}");
        // FIFOs deeper than the unit's count, or than the hidden FIFO builds
        let dir = std::env::temp_dir().join(format!("hwformer-encoder-layer-deep-{}", std::process::id()));
        design.depths.residual1 = 70_000;
        let e = design.write(&dir).unwrap_err().to_string();
        assert!(e.contains("depths.residual1 = 70000"), "{e}");
        design.depths.residual1 = 128;
        design.depths.hidden = 5000;
        let e = design.write(&dir).unwrap_err().to_string();
        assert!(
            e.contains("depths.hidden = 5000: this FIFO is 1 to 4096 deep"),
            "{e}"
        );
    });
}
