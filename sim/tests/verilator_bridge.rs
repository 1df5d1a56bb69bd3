//! The Verilator bridge itself: a larger design checked cycle by cycle,
//! the build cache, waveforms, and the errors a user sees when the tool
//! fails or is missing.

use hwformer_hdl::manifest::Manifest;
use hwformer_sim::error::{run_tool, SimError};
use hwformer_sim::session::{simulate, Backend, SimRequest};
use hwformer_sim::testbench::Pacing;
use hwformer_sim::verilator::{build, BuildOptions};
use hwformer_sim::workload::WorkloadSize;
use std::path::PathBuf;

fn export(block: &str, d: usize, test: &str) -> (PathBuf, Manifest) {
    let dir = std::env::temp_dir().join(format!("hwformer-bridge-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (
        dir.clone(),
        hwformer_hdl::export_block(block, d, &dir).unwrap_or_else(|e| panic!("{e}")),
    )
}

fn request(dir: &std::path::Path, manifest: &Manifest, size: WorkloadSize, pacing: Pacing) -> SimRequest {
    SimRequest {
        dir: dir.to_path_buf(),
        manifest: manifest.clone(),
        backend: Backend::Verilator,
        size,
        pacing,
        vcd: None,
        saif: None,
        build: BuildOptions::default(),
    }
}

#[test]
fn sdpa_d16_with_8192_keys_bit_exact_and_cycle_exact() {
    // 32 queries of 256 keys (the block's n_max): as many key steps as
    // 8 queries of 1024
    let (dir, manifest) = export("sdpa", 16, "large");
    let size = WorkloadSize {
        n: 256,
        queries: 32,
        seed: 21,
    };
    for pacing in [
        Pacing::FULL_SPEED,
        Pacing {
            valid_probability: 0.7,
            ready_probability: 0.4,
            seed: 22,
        },
    ] {
        let o = simulate(&request(&dir, &manifest, size, pacing)).unwrap_or_else(|e| panic!("{e}"));
        let v = o.result.unwrap_or_else(|m| panic!("FAIL: {m}"));
        assert_eq!(v.beats_checked, 32);
        assert!(v.cycles_checked, "every handshake against the handshake graph");
        assert_eq!(v.closed_form_checked, pacing == Pacing::FULL_SPEED);
        assert!(v.max_error <= v.error_bound.unwrap());
    }
}

#[test]
fn a_second_build_comes_from_the_cache() {
    let (dir, manifest) = export("exp", 0, "cache");
    let options = BuildOptions::default();
    let first = build(&dir, &manifest, &options).unwrap_or_else(|e| panic!("{e}"));
    let stamp = std::fs::metadata(&first).unwrap().modified().unwrap();
    let second = build(&dir, &manifest, &options).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        std::fs::metadata(&second).unwrap().modified().unwrap(),
        stamp,
        "rebuilt"
    );
    // another Verilog text is another build
    let verilog = dir.join(&manifest.verilog);
    let text = std::fs::read_to_string(&verilog).unwrap();
    std::fs::write(&verilog, text + "\n// changed\n").unwrap();
    assert_ne!(build(&dir, &manifest, &options).unwrap(), first);
}

#[test]
fn a_broken_design_shows_verilators_error() {
    let (dir, manifest) = export("exp", 0, "broken");
    let cache = dir.join("cache");
    std::fs::write(
        dir.join(&manifest.verilog),
        "module broken(input clock;\nendmodule\n",
    )
    .unwrap();
    let e = build(
        &dir,
        &manifest,
        &BuildOptions {
            trace: false,
            cache_dir: cache.clone(),
        },
    )
    .unwrap_err();
    let left: Vec<_> = std::fs::read_dir(cache.join("verilator")).unwrap().collect();
    assert!(left.is_empty(), "a failed build left {left:?} in the cache");
    match e {
        SimError::ToolFailed { what, tail } => {
            assert!(what.contains("verilator"), "{what}");
            assert!(tail.contains("%Error"), "{tail}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_missing_tool_says_what_to_install() {
    let e = run_tool(
        &std::env::temp_dir(),
        "verilator",
        "verilator-not-installed-here",
        &[],
    )
    .unwrap_err();
    assert!(matches!(e, SimError::ToolMissing { .. }), "{e}");
    assert!(e.to_string().contains("apt-get install"), "{e}");
}

#[test]
fn waveforms_from_verilator_and_icarus() {
    let (dir, manifest) = export("exp", 0, "vcd");
    for backend in [Backend::Verilator, Backend::Icarus] {
        let vcd = dir.join(format!("{}.vcd", backend.name()));
        let mut r = request(
            &dir,
            &manifest,
            WorkloadSize {
                n: 4,
                queries: 2,
                seed: 1,
            },
            Pacing::FULL_SPEED,
        );
        r.backend = backend;
        r.vcd = Some(vcd.clone());
        let o = simulate(&r).unwrap_or_else(|e| panic!("{e}"));
        assert!(o.result.is_ok());
        let text = std::fs::read_to_string(&vcd).unwrap_or_else(|e| panic!("{}: {e}", vcd.display()));
        assert!(
            text.contains("$enddefinitions") && text.contains("s_axis_x_tvalid"),
            "{}",
            backend.name()
        );
    }
}

#[test]
fn saif_activity_agrees_between_verilator_icarus_and_rusthdl() {
    use hwformer_sim::saif::Activity;
    let (dir, manifest) = export("exp", 0, "saif");
    let pacing = Pacing {
        valid_probability: 0.7,
        ready_probability: 0.6,
        seed: 3,
    };
    let mut toggles = Vec::new();
    for (backend, scope) in [
        (Backend::Verilator, "TOP"),
        (Backend::Icarus, "tb/dut"),
        (Backend::RustHdl, "uut"),
    ] {
        let vcd = dir.join(format!("{}.vcd", backend.name()));
        let saif = dir.join(format!("{}.saif", backend.name()));
        let mut r = request(
            &dir,
            &manifest,
            WorkloadSize {
                n: 8,
                queries: 4,
                seed: 2,
            },
            pacing,
        );
        r.backend = backend;
        r.vcd = Some(vcd.clone());
        r.saif = Some(saif.clone());
        let o = simulate(&r).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&saif).unwrap();
        // two clock edges a cycle, 5 ns apart on both simulators, over the
        // run and its drain
        let simulated = o.cycles + hwformer_sim::testbench::DRAIN_CYCLES;
        let clock = format!("(clock (T0 {}) (T1 {})", simulated * 5000, simulated * 5000);
        assert!(
            text.contains(&clock),
            "{}: {clock} not in the SAIF",
            backend.name()
        );
        assert!(
            text.contains(&format!("(TC {})", 2 * simulated)),
            "{}",
            backend.name()
        );
        let activity = Activity::from_vcd(&std::fs::read_to_string(&vcd).unwrap()).unwrap();
        toggles.push(
            ["m_axis_exp_tdata", "m_axis_exp_tvalid", "s_axis_x_tready"].map(|port| {
                activity
                    .toggles(scope, port)
                    .unwrap_or_else(|| panic!("{port} in {scope}"))
            }),
        );
    }
    assert_eq!(
        toggles[0], toggles[1],
        "port toggles differ between Verilator and Icarus"
    );
    assert_eq!(
        toggles[0], toggles[2],
        "port toggles differ between Verilator and rust-hdl"
    );
    assert!(toggles[0][0] > 0);
}
