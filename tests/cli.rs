//! The command-line program, run as a user would.

use std::process::Command;

fn hwformer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hwformer"))
        .args(args)
        .output()
        .expect("hwformer runs")
}

#[test]
fn quant_json_is_machine_readable_and_every_limit_holds() {
    let out = hwformer(&["quant", "--json", "--seed", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(report["seed"], 3);
    let rows = report["measurements"].as_array().expect("measurements");
    for subject in [
        "softmax",
        "streaming SDPA",
        "GELU",
        "FFN int16",
        "FFN ternary",
        "layer norm",
    ] {
        assert!(rows.iter().any(|r| r["subject"] == subject), "missing {subject}");
    }
    for row in rows {
        if let Some(limit) = row["limit"].as_f64() {
            assert!(row["measured"].as_f64().unwrap() <= limit, "{row}");
        }
    }
}

#[test]
fn run_prints_the_accuracy_table() {
    let out = hwformer(&["run"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("| softmax | max abs error |"), "{text}");
}

#[test]
fn bad_arguments_are_reported_not_panicked() {
    let out = hwformer(&["quant", "--seed", "minus-one"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value"), "{err}");
    assert!(!err.contains("panicked"));
}
