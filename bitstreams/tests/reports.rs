//! Report parsers against real third-party Vivado / HLS reports.
//!
//! The reports live outside the repository, in the folder named by
//! `HWFORMER_XILINX_FIXTURES` (default `<workspace>/../shared/fixtures/xilinx`),
//! with one sub-folder per kind and a `SOURCES.md` listing what each file
//! says. The numbers asserted here are the ones `SOURCES.md` gives, read
//! from the files by someone else. Without the folder these tests print
//! where they looked and pass, except under CI (`CI` set), where they fail.

use hwformer_bitstreams::report::{
    self, Bound, HlsLayout, HlsReport, PowerReport, Report, ReportError, ReportHeader, ReportKind,
    TimingSummary, UtilizationLayout, UtilizationReport,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

// ---------------------------------------------------------------- fixtures

fn fixtures_root() -> PathBuf {
    match std::env::var_os("HWFORMER_XILINX_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("../shared/fixtures/xilinx"),
    }
}

/// The fixture folder, or None (after saying so) when it is absent.
/// Under CI a missing folder is a failure.
fn fixtures() -> Option<PathBuf> {
    let root = fixtures_root();
    if root.is_dir() {
        return Some(root);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "the Xilinx report fixtures are missing: looked in {} (set HWFORMER_XILINX_FIXTURES)",
            root.display()
        );
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of a
    // passing test, so the user would never see why nothing was checked.
    // Once per test binary, not once per test.
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "skipping the fixture tests: the Xilinx report fixtures are missing; looked in {} \
             (set HWFORMER_XILINX_FIXTURES)",
            root.display()
        );
    });
    None
}

const FOLDERS: [&str; 4] = ["utilization", "timing", "power", "hls"];

fn expected_kind(folder: &str, path: &Path) -> ReportKind {
    match folder {
        "utilization" => ReportKind::Utilization,
        "timing" => ReportKind::TimingSummary,
        "power" => ReportKind::Power,
        _ if path.extension().is_some_and(|e| e == "xml") => ReportKind::HlsCsynthXml,
        _ => ReportKind::HlsCsynth,
    }
}

/// Every fixture file: (path, expected kind).
fn all_files(root: &Path) -> Vec<(PathBuf, ReportKind)> {
    let mut out = Vec::new();
    for folder in FOLDERS {
        let dir = root.join(folder);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no fixtures in {}", dir.display());
        out.extend(files.into_iter().map(|p| {
            let k = expected_kind(folder, &p);
            (p, k)
        }));
    }
    out
}

fn load(folder: &str, name: &str) -> Option<Report> {
    let path = fixtures()?.join(folder).join(name);
    assert!(
        path.is_file(),
        "fixture {} is missing (SOURCES.md lists it)",
        path.display()
    );
    Some(report::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn util(name: &str) -> Option<UtilizationReport> {
    match load("utilization", name)? {
        Report::Utilization(r) => Some(r),
        other => panic!("{name}: parsed as {:?}", other.kind()),
    }
}

fn timing(name: &str) -> Option<TimingSummary> {
    match load("timing", name)? {
        Report::Timing(r) => Some(r),
        other => panic!("{name}: parsed as {:?}", other.kind()),
    }
}

fn power(name: &str) -> Option<PowerReport> {
    match load("power", name)? {
        Report::Power(r) => Some(r),
        other => panic!("{name}: parsed as {:?}", other.kind()),
    }
}

fn hls(name: &str) -> Option<HlsReport> {
    match load("hls", name)? {
        Report::Hls(r) => Some(r),
        other => panic!("{name}: parsed as {:?}", other.kind()),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The Vivado release and platform of the `Tool Version` header field,
/// e.g. `Vivado v.2024.1 (lin64) Build ...`.
fn assert_vivado(h: &ReportHeader, version: &str, platform: &str) {
    assert_eq!(h.vivado_version.as_deref(), Some(version));
    let tool = h.tool_version.as_deref().unwrap_or_default();
    assert!(tool.contains(&format!("({platform})")), "{tool}");
}

/// Asserts (used, available, util%) of a resource row.
macro_rules! res {
    ($r:expr, $used:expr, $avail:expr, $pct:expr) => {{
        let r = &$r;
        assert_eq!(r.used, $used, "{} used", r.label);
        assert_eq!(r.available, Some($avail), "{} available", r.label);
        assert_eq!(r.util_pct.map(|u| u.value), Some($pct), "{} util%", r.label);
    }};
}

// ---------------------------------------------------------------- every file

#[test]
fn every_fixture_is_detected_and_parses() {
    let Some(root) = fixtures() else { return };
    let files = all_files(&root);
    assert!(
        files.len() >= 22,
        "expected at least the 22 fixtures of SOURCES.md, found {}",
        files.len()
    );
    for (path, kind) in files {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_eq!(report::detect(&text), Some(kind), "{}", path.display());
        let r = report::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(r.kind(), kind, "{}", path.display());
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["kind"].is_string(), "{}", path.display());
        let summary = r.summary_table();
        assert!(summary.lines().count() >= 4, "{}:\n{summary}", path.display());
    }
}

#[test]
fn line_endings_do_not_matter() {
    let Some(root) = fixtures() else { return };
    for (path, kind) in all_files(&root) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let lf = text.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        let a = serde_json::to_value(report::parse_as(kind, &lf).unwrap()).unwrap();
        let b = serde_json::to_value(report::parse_as(kind, &crlf).unwrap()).unwrap();
        assert_eq!(a, b, "{}", path.display());
    }
}

/// SOURCES.md: two files use CRLF line endings, all others LF.
#[test]
fn line_endings_are_those_sources_lists() {
    let Some(root) = fixtures() else { return };
    let crlf = [
        Path::new("hls/Taise228__topk_sort__csynth.rpt"),
        Path::new("timing/hsiang0103__piyan-FPGA__design_1_wrapper_timing_summary_routed.rpt"),
    ];
    let mut seen = 0;
    for (path, _) in all_files(&root) {
        let bytes = std::fs::read(&path).unwrap();
        let lf = bytes.iter().filter(|&&b| b == b'\n').count();
        let cr = bytes.iter().filter(|&&b| b == b'\r').count();
        let pairs = bytes.windows(2).filter(|w| w == b"\r\n").count();
        if crlf.contains(&path.strip_prefix(&root).unwrap()) {
            seen += 1;
            assert!(lf > 0 && cr == lf && pairs == lf, "{}: not CRLF", path.display());
        } else {
            assert_eq!(cr, 0, "{}: has CR", path.display());
        }
    }
    assert_eq!(seen, crlf.len());
}

// ---------------------------------------------------------------- utilization

#[test]
fn utilization_rfsoc_ultrascale_placed() {
    let Some(r) = util("samuelkravitz__RFSOC__design_1_wrapper_utilization_placed.rpt") else {
        return;
    };
    assert_eq!(r.part.as_deref(), Some("xczu48dr-ffvg1517-2-e"));
    assert_eq!(r.design_state.as_deref(), Some("Fully Placed"));
    assert_vivado(&r.header, "2024.1", "lin64");
    assert_eq!(r.layout, UtilizationLayout::UltraScale);
    assert_eq!(r.luts.label, "CLB LUTs");
    // Columns Used / Fixed / Prohibited / Available / Util%.
    assert_eq!((r.luts.fixed, r.luts.prohibited), (Some(0), Some(0)));
    res!(r.luts, 29992, 425280, 7.05);
    res!(r.registers, 25689, 850560, 3.02);
    res!(r.block_ram_tiles, 66.5, 1080.0, 6.16);
    assert_eq!(r.ramb36.as_ref().unwrap().used, 66);
    assert_eq!(r.ramb18.as_ref().unwrap().used, 1);
    let uram = r.uram.as_ref().unwrap();
    assert_eq!((uram.used, uram.available), (0, Some(80)));
    res!(r.dsps, 376, 4272, 8.80);
    // UltraScale+ section names, as headings and as the sections of rows.
    for s in ["1. CLB Logic", "3. BLOCKRAM", "4. ARITHMETIC"] {
        assert!(r.sections.iter().any(|x| x == s), "{s}: {:?}", r.sections);
        assert!(r.sites.iter().any(|x| x.section == s), "{s}");
    }
    assert_eq!(r.site("CLB LUTs").unwrap().section, "1. CLB Logic");
    assert_eq!(r.site("Block RAM Tile").unwrap().section, "3. BLOCKRAM");
    assert_eq!(r.site("DSPs").unwrap().section, "4. ARITHMETIC");
}

#[test]
fn utilization_artix_synth_starred_luts() {
    let Some(r) = util("picarro-kokunev__dig_board_xdma_plus_ddr__design_1_wrapper_utilization_synth.rpt")
    else {
        return;
    };
    assert_eq!(r.part.as_deref(), Some("xc7a100tfgg484-2"));
    assert_eq!(r.design_state.as_deref(), Some("Synthesized"));
    assert_vivado(&r.header, "2025.2", "lin64");
    assert_eq!(r.layout, UtilizationLayout::SevenSeries);
    assert_eq!(r.luts.label, "Slice LUTs*");
    assert!(r.luts.starred);
    assert!(!r
        .sites
        .iter()
        .any(|s| s.section.contains("Slice Logic Distribution")));
    assert!(
        r.sections.iter().any(|s| s == "1. Slice Logic"),
        "{:?}",
        r.sections
    );
    assert!(
        !r.sections.iter().any(|s| s.contains("Slice Logic Distribution")),
        "{:?}",
        r.sections
    );
    assert_eq!(r.luts.prohibited, Some(0));
    res!(r.luts, 31571, 63400, 49.80);
    res!(r.registers, 32088, 126800, 25.31);
    res!(r.block_ram_tiles, 35.5, 135.0, 26.30);
    assert_eq!(
        (r.ramb36.as_ref().unwrap().used, r.ramb18.as_ref().unwrap().used),
        (35, 1)
    );
    let d = &r.dsps;
    assert_eq!((d.used, d.available), (0, Some(240)));
    res!(r.bonded_iob.as_ref().unwrap(), 76, 285, 26.67);
}

#[test]
fn utilization_old_columns_routed() {
    let Some(r) = util("HenW__Masterarbeit__post_route_util.rpt") else {
        return;
    };
    assert_eq!(r.part.as_deref(), Some("7a100tcsg324-1"));
    assert_eq!(r.design_state.as_deref(), Some("Routed"));
    assert_eq!(r.design.as_deref(), Some("basereconfTop"));
    assert_vivado(&r.header, "2017.2", "lin64");
    // Columns Used / Fixed / Available / Util%.
    assert_eq!(
        (r.luts.fixed, r.luts.prohibited),
        (Some(0), None),
        "no Prohibited column"
    );
    res!(r.luts, 18577, 63400, 29.30);
    res!(r.registers, 10327, 126800, 8.14);
    res!(r.block_ram_tiles, 24.5, 135.0, 18.15);
    assert_eq!(
        (r.ramb36.as_ref().unwrap().used, r.ramb18.as_ref().unwrap().used),
        (23, 3)
    );
    res!(r.dsps, 4, 240, 1.67);
    res!(r.bonded_iob.as_ref().unwrap(), 92, 210, 43.81);
}

#[test]
fn utilization_io_over_100_percent() {
    let Some(r) = util("thaarres__dnd_hls4ml__vivado_synth.rpt") else {
        return;
    };
    assert_eq!(r.part.as_deref(), Some("xczu9egffvb1156-2"));
    assert_eq!(r.design_state.as_deref(), Some("Synthesized"));
    assert_vivado(&r.header, "2020.1", "lin64");
    assert_eq!(r.layout, UtilizationLayout::UltraScale);
    assert_eq!(r.luts.prohibited, None);
    assert_eq!(r.luts.label, "CLB LUTs*");
    res!(r.luts, 31277, 274080, 11.41);
    res!(r.registers, 4555, 548160, 0.83);
    res!(r.block_ram_tiles, 0.5, 912.0, 0.05);
    assert_eq!(r.ramb18.as_ref().unwrap().used, 1);
    assert_eq!((r.dsps.used, r.dsps.available), (0, Some(2520)));
    res!(r.bonded_iob.as_ref().unwrap(), 1626, 328, 495.73);
}

#[test]
fn utilization_alveo_multi_slr() {
    let Some(r) = util("nycu-pcs-lab__LFADs-model-template__vivado_synth.rpt") else {
        return;
    };
    assert_eq!(r.part.as_deref(), Some("xcu50-fsvh2104-2L-e"));
    assert_eq!(r.design_state.as_deref(), Some("Synthesized"));
    assert_vivado(&r.header, "2022.2", "lin64");
    assert_eq!(r.layout, UtilizationLayout::UltraScale);
    assert_eq!(r.luts.label, "CLB LUTs*");
    assert_eq!(r.luts.prohibited, Some(0));
    // Extra sections 11-14, in order, at the end.
    let extra = [
        "11. SLR Connectivity",
        "12. SLR Connectivity Matrix",
        "13. SLR CLB Logic and Dedicated Block Utilization",
        "14. SLR IO Utilization",
    ];
    assert!(r.sections.ends_with(&extra.map(String::from)), "{:?}", r.sections);
    assert!(r.sites.iter().any(|s| s.section == extra[0]));
    // 12-14 have no `Used` / `Available` columns: none of their rows are
    // read, and the key rows (also named in 13) come from section 1.
    for s in &extra[1..] {
        assert!(!r.sites.iter().any(|x| x.section == *s), "{s}");
    }
    assert_eq!(r.site("CLB LUTs").unwrap().section, "1. CLB Logic");
    res!(r.luts, 179437, 871680, 20.59);
    res!(r.registers, 227971, 1743360, 13.08);
    res!(r.block_ram_tiles, 251.0, 1344.0, 18.68);
    assert_eq!(
        (r.ramb36.as_ref().unwrap().used, r.ramb18.as_ref().unwrap().used),
        (248, 6)
    );
    let uram = r.uram.as_ref().unwrap();
    assert_eq!((uram.used, uram.available), (0, Some(640)));
    res!(r.dsps, 2058, 5952, 34.58);
    res!(r.bonded_iob.as_ref().unwrap(), 3678, 416, 884.13);
}

#[test]
fn utilization_zynq_placed() {
    let Some(r) = util("JustABear1210__64-conv-ecg-LSTM-GRU__design_1_wrapper_utilization_placed.rpt") else {
        return;
    };
    assert_eq!(r.part.as_deref(), Some("7z020clg484-1"));
    assert_eq!(r.design_state.as_deref(), Some("Fully Placed"));
    assert_vivado(&r.header, "2018.3", "win64");
    res!(r.luts, 7725, 53200, 14.52);
    res!(r.registers, 8605, 106400, 8.09);
    res!(r.block_ram_tiles, 2.0, 140.0, 1.43);
    assert_eq!(
        (r.ramb36.as_ref().unwrap().used, r.ramb18.as_ref().unwrap().used),
        (2, 0)
    );
    res!(r.dsps, 148, 220, 67.27);
}

#[test]
fn utilization_less_than_one_hundredth() {
    let Some(r) =
        util("qxynju2017__Nexys-Video-Microblaze-OV5640-HDMI__design_1_wrapper_utilization_placed.rpt")
    else {
        return;
    };
    assert_eq!(r.part.as_deref(), Some("7a200tsbg484-1"));
    assert_eq!(r.design_state.as_deref(), Some("Fully Placed"));
    assert_vivado(&r.header, "2018.2", "win64");
    let andor = r.site("Register as AND/OR").unwrap();
    assert_eq!(andor.line, 42);
    assert_eq!((andor.used, andor.available), (Some(16.0), Some(267600.0)));
    let u = andor.util_pct.unwrap();
    assert_eq!((u.value, u.bound), (0.01, Bound::LessThan));
    res!(r.luts, 16786, 133800, 12.55);
    res!(r.registers, 18495, 267600, 6.91);
    assert_eq!(r.registers.fixed, Some(2));
    res!(r.block_ram_tiles, 37.0, 365.0, 10.14);
    assert_eq!(
        (r.ramb36.as_ref().unwrap().used, r.ramb18.as_ref().unwrap().used),
        (36, 2)
    );
    assert_eq!((r.dsps.used, r.dsps.available), (0, Some(740)));
    res!(r.bonded_iob.as_ref().unwrap(), 74, 285, 25.96);
}

// ---------------------------------------------------------------- timing

#[allow(clippy::too_many_arguments)]
fn assert_timing(
    t: &TimingSummary,
    wns: f64,
    tns: f64,
    failing: u64,
    endpoints: u64,
    whs: f64,
    ths: f64,
    wpws: f64,
) {
    assert_eq!(t.wns_ns(), Some(wns));
    assert_eq!(t.tns_ns(), Some(tns));
    assert_eq!(t.totals.tns_failing_endpoints, Some(failing));
    assert_eq!(t.totals.tns_total_endpoints, Some(endpoints));
    assert_eq!(t.whs_ns(), Some(whs));
    assert_eq!(t.ths_ns(), Some(ths));
    assert_eq!(t.totals.wpws_ns, Some(wpws));
}

/// The speed grade: the first word of the `Speed File` header field
/// (`-1  PRODUCTION 1.12 2019-11-22`).
fn speed_grade(t: &TimingSummary) -> Option<&str> {
    t.header.speed_file.as_deref()?.split_whitespace().next()
}

fn assert_clock(t: &TimingSummary, name: &str, period: f64, mhz: f64) {
    let c = t.first_clock().expect("a clock");
    assert_eq!(c.name, name);
    assert_eq!((c.period_ns, c.frequency_mhz), (Some(period), Some(mhz)));
    assert_eq!(t.first_clock_period_ns(), Some(period));
}

#[test]
fn timing_not_met() {
    let Some(t) = timing("tori3112__CDD_Labs__wrap_adder_timing_summary_routed.rpt") else {
        return;
    };
    assert_eq!(t.part.as_deref(), Some("7z020-clg400"));
    assert_eq!(speed_grade(&t), Some("-1"));
    assert_vivado(&t.header, "2020.1", "lin64");
    assert_eq!(t.met(), Some(false));
    assert_eq!(t.verdict, "Timing constraints are not met.");
    assert_timing(&t, -2.319, -37.740, 27, 195, 0.210, 0.000, 3.500);
    assert_eq!(t.clocks.len(), 1);
    assert_clock(&t, "sys_clk_pin", 8.000, 125.000);
    assert_eq!(t.first_clock().unwrap().waveform_ns, Some(vec![0.0, 4.0]));
    assert!(t.summary_table().contains("NOT MET"));
}

#[test]
fn timing_met_ultrascale() {
    let Some(t) = timing("Promethees__Final_FPGA__design_1_wrapper_timing_summary_routed.rpt") else {
        return;
    };
    assert_eq!(t.part.as_deref(), Some("xczu3eg-sbva484"));
    assert_eq!(speed_grade(&t), Some("-1"));
    assert_eq!(
        t.header.fields.get("Temperature Grade").map(String::as_str),
        Some("I")
    );
    assert_vivado(&t.header, "2020.1", "win64");
    assert_eq!(t.met(), Some(true));
    assert_timing(&t, 3.800, 0.000, 0, 59119, 0.010, 0.000, 3.500);
    assert_eq!(t.totals.tpws_total_endpoints, Some(27896));
    assert_clock(&t, "clk_pl_0", 10.000, 100.000);
}

#[test]
fn timing_crlf_with_extra_sections() {
    let name = "hsiang0103__piyan-FPGA__design_1_wrapper_timing_summary_routed.rpt";
    let (Some(t), Some(text)) = (timing(name), read("timing", name)) else {
        return;
    };
    // parsed as it is, with CRLF line endings (line_endings_are_those_sources_lists)
    assert_eq!(t.part.as_deref(), Some("7z020-clg400"));
    assert_eq!(speed_grade(&t), Some("-1"));
    assert_eq!(t.header.design_state.as_deref(), Some("Routed"));
    assert_vivado(&t.header, "2023.2", "win64");
    assert!(t
        .header
        .command
        .as_deref()
        .unwrap()
        .contains("-report_unconstrained"));
    assert_eq!(t.met(), Some(true));
    assert_timing(&t, 1.438, 0.000, 0, 73745, 0.027, 0.000, 9.020);
    assert_eq!(t.totals.tpws_total_endpoints, Some(36792));
    assert_clock(&t, "clk_fpga_0", 20.000, 50.000);
    // The extra sections (Report Methodology before the summary, User
    // Ignored and Unconstrained Path Tables after the Intra Clock Table)
    // are skipped: every row read lies between the summary and the next
    // table, and their rows (`ULMTCS-1`, `(none)`) are nowhere.
    let methodology = line_of(&text, "| Report Methodology");
    let summary = line_of(&text, "| Design Timing Summary");
    let inter = line_of(&text, "| Inter Clock Table");
    let ignored = line_of(&text, "| User Ignored Path Table");
    let unconstrained = line_of(&text, "| Unconstrained Path Table");
    assert!(methodology < summary && inter < ignored && ignored < unconstrained);
    assert_eq!((t.clocks.len(), t.intra_clock.len()), (1, 1));
    let c = &t.intra_clock[0];
    assert_eq!(c.clock, "clk_fpga_0");
    for line in [t.clocks[0].line, c.line] {
        assert!((summary..inter).contains(&line), "row at line {line}");
    }
    let json = serde_json::to_string(&t).unwrap();
    for word in ["ULMTCS-1", "(none)", "async_default"] {
        assert!(!json.contains(word), "{word}");
    }
}

#[test]
fn timing_met_zynq_7010() {
    let Some(t) = timing("HaLoTaRiS__SOC_FPGA_S2__design_1_wrapper_timing_summary_routed.rpt") else {
        return;
    };
    assert_eq!(t.part.as_deref(), Some("7z010-clg400"));
    assert_eq!(speed_grade(&t), Some("-1"));
    assert_vivado(&t.header, "2019.1", "win64");
    assert_eq!(t.met(), Some(true));
    assert_timing(&t, 12.870, 0.000, 0, 2571, 0.027, 0.000, 9.020);
    assert_eq!(t.totals.tpws_total_endpoints, Some(1135));
    assert_clock(&t, "clk_fpga_0", 20.000, 50.000);
}

#[test]
fn timing_na_without_timed_paths() {
    let Some(t) = timing("buloruabutata__ax7z100_pynq__design_1_wrapper_timing_summary_routed.rpt") else {
        return;
    };
    assert_eq!(t.part.as_deref(), Some("7z100-ffg900"));
    assert_eq!(speed_grade(&t), Some("-2"));
    assert_vivado(&t.header, "2018.3", "lin64");
    let f = &t.totals;
    assert_eq!((f.wns_ns, f.tns_ns, f.whs_ns, f.ths_ns), (None, None, None, None));
    assert_eq!((f.tns_failing_endpoints, f.tns_total_endpoints), (None, None));
    assert_eq!((f.ths_failing_endpoints, f.ths_total_endpoints), (None, None));
    assert_eq!((f.wpws_ns, f.tpws_ns), (Some(18.592), Some(0.000)));
    assert_eq!(
        (f.tpws_failing_endpoints, f.tpws_total_endpoints),
        (Some(0), Some(1))
    );
    assert_eq!(t.met(), Some(true));
    assert_clock(&t, "clk_fpga_0", 20.000, 50.000);
    // Blank cells in the Intra Clock Table are None too.
    let c = &t.intra_clock[0];
    assert_eq!(
        (c.clock.as_str(), c.figures.wns_ns, c.figures.wpws_ns),
        ("clk_fpga_0", None, Some(18.592))
    );
    assert_eq!(t.estimated_fmax_mhz(), None);
    assert!(t.summary_table().contains("NA"));
}

// ---------------------------------------------------------------- power

/// The By Hierarchy table of a routed design's power report: its row
/// count, its first row (the top, at level 0, with the dynamic power) and
/// one named row deeper down (level, power).
fn assert_hierarchy(p: &PowerReport, rows: usize, top: (&str, f64), named: (&str, u32, f64)) {
    assert_eq!(p.design_state.as_deref(), Some("routed"));
    assert_eq!(p.design.as_deref(), Some(top.0));
    assert_eq!(p.hierarchy.len(), rows, "{:?}", p.hierarchy);
    let first = &p.hierarchy[0];
    assert_eq!(
        (first.name.as_str(), first.level, first.power_w),
        (top.0, 0, report::Reading::exact(top.1))
    );
    assert_eq!(
        first.power_w.value, p.dynamic_w,
        "the top row is the dynamic power"
    );
    let (name, level, w) = named;
    let row = p
        .hierarchy
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no hierarchy row {name}"));
    assert_eq!(
        (row.level, row.power_w),
        (level, report::Reading::exact(w)),
        "{name}"
    );
}

#[test]
fn power_rfsoc() {
    let Some(p) = power("samuelkravitz__RFSOC__design_1_wrapper_power_routed.rpt") else {
        return;
    };
    assert_eq!(p.part.as_deref(), Some("xczu48dr-ffvg1517-2-e"));
    assert_vivado(&p.header, "2024.1", "lin64");
    assert_eq!(
        (p.total_on_chip_w(), p.dynamic_w(), p.device_static_w),
        (5.613, 4.322, 1.290)
    );
    assert_eq!((p.ps_static_w, p.pl_static_w), (Some(0.099), Some(1.192)));
    assert_eq!((p.junction_temp_c, p.confidence_level.as_str()), (29.7, "Low"));
    assert_eq!(p.component("PS8").unwrap().power_w.value, 2.382);
    let bram = p.component("Block RAM").unwrap();
    assert_eq!((bram.power_w.value, bram.used), (0.025, Some(66.5)));
    for name in ["RFAMS", "RFDAC", "RFADC"] {
        assert!(p.component(name).is_some(), "{name}");
    }
    for name in ["CARRY8", "BUFG", "I/O"] {
        let w = p.component(name).unwrap().power_w;
        assert_eq!((w.value, w.bound), (0.001, Bound::LessThan), "{name}");
    }
    assert!(!p.junction_temp_exceeded);
    assert_hierarchy(
        &p,
        22,
        ("design_1_wrapper", 4.322),
        ("usp_rf_data_converter_0", 2, 1.637),
    );
}

#[test]
fn power_artix() {
    let Some(p) = power("picarro-kokunev__dig_board_xdma_plus_ddr__design_1_wrapper_power_routed.rpt") else {
        return;
    };
    assert_eq!(p.part.as_deref(), Some("xc7a100tfgg484-2"));
    assert_vivado(&p.header, "2025.2", "lin64");
    assert_eq!(
        (p.total_on_chip_w, p.dynamic_w, p.device_static_w),
        (2.528, 2.413, 0.115)
    );
    assert_eq!((p.ps_static_w, p.pl_static_w), (None, None));
    assert_eq!((p.junction_temp_c, p.confidence_level.as_str()), (31.8, "Low"));
    for (name, w) in [
        ("GTP", 0.676),
        ("MMCM", 0.310),
        ("I/O", 0.525),
        ("Block RAM", 0.114),
    ] {
        assert_eq!(p.component(name).unwrap().power_w.value, w, "{name}");
    }
    assert_eq!(p.component("Block RAM").unwrap().used, Some(35.5));
    assert_hierarchy(&p, 15, ("design_1_wrapper", 2.413), ("mig_7series_0", 2, 1.036));
}

#[test]
fn power_junction_temp_exceeded() {
    let Some(p) = power("pcsrule__zybo-audio__ac_interface_power_routed.rpt") else {
        return;
    };
    assert_eq!(p.part.as_deref(), Some("xc7z010clg400-1"));
    assert_vivado(&p.header, "2015.4", "lin64");
    assert_eq!(p.header.command, None, "the Command field is empty");
    assert_eq!(p.total_on_chip_w, 25.955);
    assert_eq!(p.total_on_chip_note.as_deref(), Some("Junction temp exceeded!"));
    assert!(p.junction_temp_exceeded);
    assert_eq!((p.dynamic_w, p.device_static_w), (25.207, 0.748));
    assert_eq!(p.component("I/O").unwrap().power_w.value, 23.911);
    assert_eq!((p.junction_temp_c, p.max_ambient_c), (125.0, Some(0.0)));
    assert_eq!(p.confidence_level, "Low");
    let mux = p.component("F7/F8 Muxes").unwrap().utilization_pct.unwrap();
    assert_eq!((mux.value, mux.bound), (0.01, Bound::LessThan));
    assert!(p.summary_table().contains("Junction temp exceeded!"));
    assert_hierarchy(&p, 3, ("ac_interface", 25.207), ("i2s_rx", 1, 0.137));
}

#[test]
#[allow(clippy::approx_constant)] // 0.318 W is a reading, not 1/pi
fn power_zynq_ultrascale() {
    let Some(p) = power("Promethees__Final_FPGA__design_1_wrapper_power_routed.rpt") else {
        return;
    };
    assert_eq!(p.part.as_deref(), Some("xczu3eg-sbva484-1-i"));
    assert_vivado(&p.header, "2020.1", "win64");
    assert_eq!(
        (p.total_on_chip_w, p.dynamic_w, p.device_static_w),
        (2.417, 2.098, 0.318)
    );
    assert_eq!((p.ps_static_w, p.pl_static_w), (Some(0.101), Some(0.217)));
    assert_eq!((p.junction_temp_c, p.confidence_level.as_str()), (31.6, "Medium"));
    assert_eq!(p.component("PS8").unwrap().power_w.value, 1.753);
    let dsp = p.component("DSPs").unwrap();
    assert_eq!(
        (dsp.power_w.value, dsp.used, dsp.available),
        (0.091, Some(181.0), Some(360.0))
    );
    let bram = p.component("Block RAM").unwrap().power_w;
    assert_eq!((bram.value, bram.bound), (0.001, Bound::LessThan));
    assert_hierarchy(&p, 12, ("design_1_wrapper", 2.098), ("hard_cnn_0", 2, 0.294));
}

#[test]
fn power_zynq_7010() {
    let Some(p) = power("sunglen__ebaz4205__design_1_wrapper_power_routed.rpt") else {
        return;
    };
    assert_eq!(p.part.as_deref(), Some("xc7z010clg400-1"));
    assert_vivado(&p.header, "2019.1", "lin64");
    assert_eq!(
        (p.total_on_chip_w, p.dynamic_w, p.device_static_w),
        (1.394, 1.279, 0.115)
    );
    assert_eq!((p.junction_temp_c, p.confidence_level.as_str()), (41.1, "Low"));
    assert_eq!(p.component("PS7").unwrap().power_w.value, 1.275);
    for name in ["Clocks", "Slice Logic", "Signals"] {
        assert_eq!(
            p.component(name).unwrap().power_w.bound,
            Bound::LessThan,
            "{name}"
        );
    }
    assert!(close(p.energy_nj(1000.0), 1394.0));
    assert_hierarchy(
        &p,
        4,
        ("design_1_wrapper", 1.279),
        ("processing_system7_0", 2, 1.275),
    );
}

// ---------------------------------------------------------------- HLS

#[test]
fn hls_vitis_2020_rpt() {
    let Some(h) = hls("hashi0203__Vitis_HLS_Gaussian__gaussian_csynth.rpt") else {
        return;
    };
    assert_eq!(h.layout, HlsLayout::VitisHls);
    assert_eq!(
        (h.tool.as_deref(), h.version.as_deref()),
        (Some("Vitis HLS"), Some("2020.2"))
    );
    assert_eq!(
        (h.top.as_str(), h.part.as_deref()),
        ("gaussian", Some("xczu7ev-ffvc1156-2-e"))
    );
    assert_eq!(h.product_family.as_deref(), Some("zynquplus"));
    assert_eq!(h.clock.as_deref(), Some("ap_clk"));
    assert_eq!(
        (h.target_clock_ns, h.estimated_clock_ns, h.clock_uncertainty_ns),
        (Some(10.0), Some(6.427), Some(2.70))
    );
    assert_eq!(
        (h.latency_min_cycles, h.latency_max_cycles),
        (Some(262673), Some(262673))
    );
    assert!(close(h.latency_max_ns.unwrap(), 2.627e6), "2.627 ms");
    assert_eq!(
        (h.interval_min_cycles, h.interval_max_cycles),
        (Some(262674), Some(262674))
    );
    assert_eq!(h.pipeline_type.as_deref(), Some("none"));
    let r = &h.resources;
    assert_eq!(
        (r.bram_18k, r.dsp, r.ff, r.lut, r.uram),
        (Some(3), Some(0), Some(973), Some(1870), Some(0))
    );
    let a = h.available.as_ref().unwrap();
    assert_eq!(
        (a.bram_18k, a.dsp, a.ff, a.lut, a.uram),
        (Some(624), Some(1728), Some(460800), Some(230400), Some(96))
    );
    assert_eq!(h.dsp_column.as_deref(), Some("DSP"));
}

#[test]
fn hls_vitis_2020_xml() {
    let Some(h) = hls("hashi0203__Vitis_HLS_Gaussian__gaussian_csynth.xml") else {
        return;
    };
    assert_eq!(h.layout, HlsLayout::CsynthXml);
    assert_eq!(h.version.as_deref(), Some("2020.2"));
    assert_eq!(
        (h.top.as_str(), h.part.as_deref()),
        ("gaussian", Some("xczu7ev-ffvc1156-2-e"))
    );
    assert_eq!(
        (h.target_clock_ns, h.clock_uncertainty_ns, h.estimated_clock_ns),
        (Some(10.0), Some(2.70), Some(6.427))
    );
    assert_eq!(
        (h.latency_min_cycles, h.latency_max_cycles),
        (Some(262673), Some(262673))
    );
    assert_eq!(
        (h.interval_min_cycles, h.interval_max_cycles),
        (Some(262674), Some(262674))
    );
    let r = &h.resources;
    assert_eq!(
        (r.bram_18k, r.ff, r.lut, r.dsp, r.uram),
        (Some(3), Some(973), Some(1870), Some(0), Some(0))
    );
}

#[test]
fn hls_vivado_2018_old_layout() {
    let Some(h) = hls("tony2278__Xilinx-Vivado-HLS__hls_sobel_csynth.rpt") else {
        return;
    };
    assert_eq!(h.layout, HlsLayout::VivadoHls);
    assert_eq!(
        (h.tool.as_deref(), h.version.as_deref()),
        (Some("Vivado HLS"), Some("2018.3"))
    );
    assert_eq!(
        (h.top.as_str(), h.part.as_deref()),
        ("hls_sobel", Some("xa7a12tcsg325-1q"))
    );
    assert_eq!(h.product_family.as_deref(), Some("aartix7"));
    assert_eq!(
        (h.target_clock_ns, h.estimated_clock_ns, h.clock_uncertainty_ns),
        (Some(10.0), Some(8.144), Some(1.25))
    );
    assert_eq!(
        (h.latency_min_cycles, h.latency_max_cycles),
        (Some(160), Some(2089114))
    );
    assert_eq!(
        (h.interval_min_cycles, h.interval_max_cycles),
        (Some(159), Some(2089113))
    );
    assert_eq!(h.pipeline_type.as_deref(), Some("dataflow"));
    let r = &h.resources;
    assert_eq!(
        (r.bram_18k, r.dsp, r.ff, r.lut, r.uram),
        (Some(9), Some(0), Some(1680), Some(4546), None)
    );
    assert_eq!(h.dsp_column.as_deref(), Some("DSP48E"));
    let u = h.utilization_pct.as_ref().unwrap();
    let v = |x: Option<report::Reading>| x.map(|x| x.value);
    assert_eq!(
        (v(u.bram_18k), v(u.dsp), v(u.ff), v(u.lut), v(u.uram)),
        (Some(22.0), Some(0.0), Some(10.0), Some(56.0), None)
    );
}

#[test]
fn hls_2022_synthesis_summary() {
    let name = "Taise228__topk_sort__csynth.rpt";
    let Some(h) = hls(name) else {
        return;
    };
    // parsed as it is, with CRLF line endings (line_endings_are_those_sources_lists)
    assert_eq!(h.layout, HlsLayout::SynthesisSummary);
    assert_eq!(
        (h.top.as_str(), h.version.as_deref()),
        ("topk_sort", Some("2022.1"))
    );
    assert_eq!(h.part.as_deref(), Some("xck26-sfvc784-2LV-c"));
    assert_eq!(h.slack_ns, Some(2.02));
    assert_eq!(
        (h.latency_min_cycles, h.latency_max_cycles),
        (Some(1208), Some(1208))
    );
    assert!(close(h.latency_max_ns.unwrap(), 1.208e4));
    assert_eq!(
        (h.interval_min_cycles, h.interval_max_cycles),
        (Some(1003), Some(1003))
    );
    assert_eq!(h.pipeline_type.as_deref(), Some("dataflow"));
    let r = &h.resources;
    assert_eq!((r.ff, r.lut), (Some(52110), Some(60981)));
    assert_eq!((r.bram_18k, r.dsp, r.uram), (None, None, None), "`-` is None");
    let u = h.utilization_pct.as_ref().unwrap();
    assert_eq!((u.ff.unwrap().value, u.lut.unwrap().value), (22.0, 52.0));
    assert_eq!(
        (h.target_clock_ns, h.estimated_clock_ns, h.clock_uncertainty_ns),
        (None, None, None)
    );
    assert_eq!(h.worst_latency_ns().map(|v| v.round()), Some(12080.0));
}

#[test]
fn hls_vivado_2020_hls4ml() {
    let Some(h) = hls("thaarres__dnd_hls4ml__myproject_csynth.rpt") else {
        return;
    };
    assert_eq!(h.layout, HlsLayout::VivadoHls);
    assert_eq!(
        (h.top.as_str(), h.version.as_deref()),
        ("myproject", Some("2020.1"))
    );
    assert_eq!(h.part.as_deref(), Some("xczu9eg-ffvb1156-2-e"));
    assert_eq!(
        (h.target_clock_ns, h.estimated_clock_ns, h.clock_uncertainty_ns),
        (Some(5.0), Some(4.218), Some(0.62))
    );
    assert_eq!((h.latency_min_cycles, h.latency_max_cycles), (Some(5), Some(5)));
    assert_eq!((h.latency_min_ns, h.latency_max_ns), (Some(25.0), Some(25.0)));
    assert_eq!((h.interval_min_cycles, h.interval_max_cycles), (Some(1), Some(1)));
    assert_eq!(h.pipeline_type.as_deref(), Some("function"));
    let r = &h.resources;
    assert_eq!(
        (r.bram_18k, r.dsp, r.ff, r.lut, r.uram),
        (Some(1), Some(0), Some(4561), Some(59561), Some(0))
    );
    assert_eq!(h.dsp_column.as_deref(), Some("DSP48E"));
    let u = h.utilization_pct.as_ref().unwrap();
    assert_eq!(u.lut.unwrap().value, 21.0);
    let about = u.bram_18k.unwrap();
    assert_eq!((about.value, about.bound), (0.0, Bound::About), "`~0`");
    assert!(close(h.estimated_fmax_mhz().unwrap(), 1000.0 / 4.218));
}

// ---------------------------------------------------------------- malformed input

fn read(folder: &str, name: &str) -> Option<String> {
    let p = fixtures()?.join(folder).join(name);
    Some(String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned())
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not found"))
        + 1
}

/// Replaces `from` by `to` on line `line` (1-based) only.
fn edit_line(text: &str, line: usize, from: &str, to: &str) -> String {
    text.split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                l.replacen(from, to, 1)
            } else {
                l.to_string()
            }
        })
        .collect()
}

fn parse_error(kind: ReportKind, text: &str) -> ReportError {
    match report::parse_as(kind, text) {
        Ok(_) => panic!("{kind}: parsed a malformed report"),
        Err(e) => e,
    }
}

#[test]
fn non_number_in_used_column_names_its_line() {
    let name = "qxynju2017__Nexys-Video-Microblaze-OV5640-HDMI__design_1_wrapper_utilization_placed.rpt";
    let Some(text) = read("utilization", name) else {
        return;
    };
    let n = line_of(&text, "| Slice LUTs ");
    let bad = edit_line(&text, n, "16786", "16x86");
    let e = parse_error(ReportKind::Utilization, &bad);
    assert_eq!(e.line(), Some(n), "{e}");
    assert!(
        e.to_string().contains("`Used`") && e.to_string().contains("16x86"),
        "{e}"
    );
}

#[test]
fn deleted_ruler_names_its_line() {
    let Some(text) = read("utilization", "HenW__Masterarbeit__post_route_util.rpt") else {
        return;
    };
    // The ruler that closes the Memory table, right before its note.
    let note = line_of(&text, "* Note: Each Block RAM Tile");
    let bad: String = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(i, _)| i + 2 != note)
        .map(|(_, l)| l)
        .collect();
    let e = parse_error(ReportKind::Utilization, &bad);
    assert_eq!(e.line(), Some(note - 1), "{e}");
    assert!(e.to_string().contains("ruler"), "{e}");
}

#[test]
fn a_listed_section_out_of_place_names_the_next_heading() {
    let Some(text) = read(
        "utilization",
        "nycu-pcs-lab__LFADs-model-template__vivado_synth.rpt",
    ) else {
        return;
    };
    // The heading of section 13 (the second line with its title; the
    // first is in the Table of Contents), renamed: the check finds 14 where
    // 13 should be.
    let title = "13. SLR CLB Logic and Dedicated Block Utilization";
    let at: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == title)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(at.len(), 2, "{title}");
    let bad = edit_line(&text, at[1], "13. SLR CLB", "13. SLR XLB");
    let e = parse_error(ReportKind::Utilization, &bad);
    let fourteen = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "14. SLR IO Utilization")
        .map(|(i, _)| i + 1)
        .last();
    assert_eq!(e.line(), fourteen, "{e}");
    assert!(e.to_string().contains(title), "{e}");
}

#[test]
fn malformed_timing_power_and_hls_name_their_line() {
    let Some(t) = read(
        "timing",
        "tori3112__CDD_Labs__wrap_adder_timing_summary_routed.rpt",
    ) else {
        return;
    };
    let n = line_of(&t, "     -2.319      -37.740");
    let e = parse_error(ReportKind::TimingSummary, &edit_line(&t, n, "-37.740", "-37.7A0"));
    assert_eq!(e.line(), Some(n), "{e}");
    assert!(e.to_string().contains("TNS(ns)"), "{e}");
    let n = line_of(&t, "Timing constraints are not met.");
    let e = parse_error(
        ReportKind::TimingSummary,
        &edit_line(&t, n, "Timing constraints are not met.", "?"),
    );
    assert!(e.to_string().contains("verdict"), "{e}");

    let Some(p) = read("power", "pcsrule__zybo-audio__ac_interface_power_routed.rpt") else {
        return;
    };
    let n = line_of(&p, "| Junction Temperature (C)");
    let e = parse_error(ReportKind::Power, &edit_line(&p, n, "125.0", "12S.0"));
    assert_eq!(e.line(), Some(n), "{e}");

    let Some(h) = read("hls", "tony2278__Xilinx-Vivado-HLS__hls_sobel_csynth.rpt") else {
        return;
    };
    let n = line_of(&h, "|ap_clk  |");
    let e = parse_error(ReportKind::HlsCsynth, &edit_line(&h, n, "10.00", "1O.00"));
    assert_eq!(e.line(), Some(n), "{e}");

    let Some(x) = read("hls", "hashi0203__Vitis_HLS_Gaussian__gaussian_csynth.xml") else {
        return;
    };
    let n = line_of(&x, "<LUT>1870</LUT>");
    let e = parse_error(ReportKind::HlsCsynthXml, &edit_line(&x, n, "1870", "18-70"));
    assert_eq!(e.line(), Some(n), "{e}");
    let n = line_of(&x, "</UserAssignments>");
    let e = parse_error(
        ReportKind::HlsCsynthXml,
        &edit_line(&x, n, "</UserAssignments>", "</UserAssignment>"),
    );
    assert_eq!(e.line(), Some(n), "{e}");
}

#[test]
fn unknown_text_is_an_unknown_kind() {
    for text in [
        "",
        "hello\nworld\n",
        "| Tool Version : Vivado\n| Command : report_drc\n",
        "<html></html>",
    ] {
        assert!(
            matches!(report::parse(text), Err(ReportError::UnknownKind)),
            "{text:?}"
        );
    }
    let e = report::parse("x").unwrap_err().to_string();
    for k in [
        "report_utilization",
        "report_timing_summary",
        "report_power",
        "csynth",
    ] {
        assert!(e.contains(k), "{e}");
    }
    let missing = Path::new("/nonexistent/hwformer/report.rpt");
    let e = report::parse_file(missing).unwrap_err();
    assert!(
        matches!(e, ReportError::Io { .. }) && e.to_string().contains("report.rpt"),
        "{e}"
    );
}

// ---------------------------------------------------------------- never panics

/// A report text and the kind it is parsed as.
struct Fixture {
    kind: ReportKind,
    text: String,
}

/// The made-up reports the parser modules' unit tests use, compiled into
/// this test from the same file, so the property tests below run on them
/// even without the fixture folder.
#[path = "../src/report/samples.rs"]
mod samples;

/// Every made-up report, with LF and with CRLF line endings.
fn sample_texts() -> Vec<Fixture> {
    let samples = [
        (ReportKind::Utilization, samples::UTILIZATION),
        (ReportKind::TimingSummary, samples::TIMING),
        (ReportKind::Power, samples::POWER),
        (ReportKind::HlsCsynth, samples::HLS_CLASSIC),
        (ReportKind::HlsCsynth, samples::HLS_SUMMARY),
        (ReportKind::HlsCsynthXml, samples::HLS_XML),
    ];
    samples
        .into_iter()
        .flat_map(|(kind, text)| {
            [
                Fixture {
                    kind,
                    text: text.to_string(),
                },
                Fixture {
                    kind,
                    text: text.replace('\n', "\r\n"),
                },
            ]
        })
        .collect()
}

/// The property tests below would only reach error paths if the samples
/// did not parse: check that they do, as their kind, detected or not.
#[test]
fn samples_are_detected_and_parse() {
    let texts = sample_texts();
    assert_eq!(texts.len(), 12);
    for fx in &texts {
        assert_eq!(report::detect(&fx.text), Some(fx.kind), "{:?}", fx.text);
        let r = report::parse(&fx.text).unwrap_or_else(|e| panic!("{e}\n{}", fx.text));
        assert_eq!(r.kind(), fx.kind);
    }
}

fn fixture_texts() -> Option<Vec<Fixture>> {
    let root = fixtures()?;
    Some(
        all_files(&root)
            .into_iter()
            .map(|(p, kind)| Fixture {
                kind,
                text: String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            })
            .collect(),
    )
}

/// Parses `text` both as `kind` and with detection; checks that an error
/// names a line within 1..=line_count+1.
fn check_no_panic(kind: ReportKind, text: &str) -> Result<(), TestCaseError> {
    let lines = text.lines().count();
    for r in [report::parse_as(kind, text), report::parse(text)] {
        match r {
            Ok(_) | Err(ReportError::UnknownKind) => {}
            Err(ReportError::Parse { line, .. }) => {
                prop_assert!((1..=lines + 1).contains(&line), "line {line} of {lines}");
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
    Ok(())
}

/// A runner for `cases` cases (`HWFORMER_PROPTEST_CASES` overrides, for a
/// longer local run).
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("HWFORMER_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Cuts a text at a random char boundary (`cases` cases over `files`).
fn truncation(files: &[Fixture], cases: u32) {
    runner(cases)
        .run(&(any::<Index>(), any::<Index>()), |(f, cut)| {
            let fx = f.get(files);
            let n = fx.text.chars().count();
            let at = fx
                .text
                .char_indices()
                .nth(cut.index(n + 1))
                .map(|(i, _)| i)
                .unwrap_or(fx.text.len());
            check_no_panic(fx.kind, &fx.text[..at])
        })
        .unwrap();
}

#[test]
fn truncation_never_panics() {
    let Some(files) = fixture_texts() else { return };
    truncation(&files, 160);
}

#[test]
fn truncating_the_samples_never_panics() {
    truncation(&sample_texts(), 256);
}

/// An edit of a report text. `head` aims it at the first lines (where the
/// parsed sections of long timing reports are) rather than anywhere.
#[derive(Debug, Clone)]
enum Mangle {
    DeleteLine {
        at: Index,
        head: bool,
    },
    Junk {
        at: Index,
        head: bool,
        len: usize,
        junk: String,
    },
    Duplicate {
        at: Index,
        head: bool,
        times: usize,
    },
}

fn junk() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('|'),
            Just('+'),
            Just('-'),
            Just(' '),
            Just('\n'),
            Just('<'),
            Just('>'),
            Just('/'),
            Just('('),
            Just('~'),
            Just('*'),
            prop::char::range('0', '9'),
            any::<char>(),
        ],
        0..24,
    )
    .prop_map(String::from_iter)
}

fn mangle() -> impl Strategy<Value = Mangle> {
    prop_oneof![
        (any::<Index>(), any::<bool>()).prop_map(|(at, head)| Mangle::DeleteLine { at, head }),
        (any::<Index>(), any::<bool>(), 0usize..40, junk()).prop_map(|(at, head, len, junk)| Mangle::Junk {
            at,
            head,
            len,
            junk
        }),
        (any::<Index>(), any::<bool>(), 1usize..4).prop_map(|(at, head, times)| Mangle::Duplicate {
            at,
            head,
            times
        }),
    ]
}

/// Picks a position below `len`, within the first `head_len` when `head`.
fn pick(at: &Index, head: bool, len: usize, head_len: usize) -> usize {
    at.index(if head { len.min(head_len) } else { len }.max(1))
}

fn apply(text: &str, m: &Mangle) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match m {
        Mangle::DeleteLine { at, head } if !lines.is_empty() => {
            let k = pick(at, *head, lines.len(), 250);
            lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, l)| *l)
                .collect()
        }
        Mangle::Duplicate { at, head, times } if !lines.is_empty() => {
            let k = pick(at, *head, lines.len(), 250);
            let mut out = String::new();
            for (j, l) in lines.iter().enumerate() {
                out.push_str(l);
                if j == k {
                    for _ in 0..*times {
                        out.push_str(l);
                        if !l.ends_with('\n') {
                            out.push('\n');
                        }
                    }
                }
            }
            out
        }
        Mangle::Junk { at, head, len, junk } => {
            let chars: Vec<char> = text.chars().collect();
            let a = pick(at, *head, chars.len() + 1, 15_000);
            let b = (a + len).min(chars.len());
            chars[..a]
                .iter()
                .copied()
                .chain(junk.chars())
                .chain(chars[b..].iter().copied())
                .collect()
        }
        _ => text.to_string(),
    }
}

/// Applies 1 to 4 [`Mangle`]s to a text (`cases` cases over `files`).
fn mangling(files: &[Fixture], cases: u32) {
    runner(cases)
        .run(
            &(any::<Index>(), prop::collection::vec(mangle(), 1..5)),
            |(f, ms)| {
                let fx = f.get(files);
                let mut text = fx.text.clone();
                for m in &ms {
                    text = apply(&text, m);
                }
                check_no_panic(fx.kind, &text)
            },
        )
        .unwrap();
}

#[test]
fn mangling_never_panics() {
    let Some(files) = fixture_texts() else { return };
    mangling(&files, 192);
}

#[test]
fn mangling_the_samples_never_panics() {
    mangling(&sample_texts(), 256);
}

/// Inserts runs of bytes 0x80..=0xff (invalid UTF-8 on their own) and
/// parses the bytes (`cases` cases over `files`).
fn non_ascii_bytes(files: &[Fixture], cases: u32) {
    let strategy = (
        any::<Index>(),
        prop::collection::vec((any::<Index>(), prop::collection::vec(0x80u8..=0xff, 1..6)), 1..6),
    );
    runner(cases)
        .run(&strategy, |(f, inserts)| {
            let fx = f.get(files);
            let mut bytes = fx.text.clone().into_bytes();
            for (at, junk) in &inserts {
                let k = at.index(bytes.len() + 1);
                bytes.splice(k..k, junk.iter().copied());
            }
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            let lines = lossy.lines().count();
            match report::parse_bytes(&bytes) {
                Ok(_) | Err(ReportError::UnknownKind) => {}
                Err(ReportError::Parse { line, .. }) => {
                    prop_assert!((1..=lines + 1).contains(&line), "line {line} of {lines}")
                }
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
            check_no_panic(fx.kind, &lossy)
        })
        .unwrap();
}

#[test]
fn non_ascii_bytes_never_panic() {
    let Some(files) = fixture_texts() else { return };
    non_ascii_bytes(&files, 96);
}

#[test]
fn non_ascii_bytes_in_the_samples_never_panic() {
    non_ascii_bytes(&sample_texts(), 192);
}
