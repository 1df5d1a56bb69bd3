//! `hwformer sweep`: a small plan run on the local cores and, as one job
//! array, on a one-node Slurm cluster started here (scripts/slurm-cluster.sh:
//! munge, slurmctld, slurmd; stopped at the end); the collected results
//! are the same. A point whose tool fails is recorded with its error and
//! the commands that reproduce it; a rerun runs only the points without
//! a result, and a lost result is listed, never dropped.

mod common;

use common::{hwformer, scratch};
use std::path::Path;
use std::process::Command;

/// exp in three input formats on two families: 6 points, of which the
/// two in Q2.13 (not a format the exp unit is built for) fail at export.
const PLAN: &str = r#"
[base]
block = "exp"

[axes]
"formats.x" = ["Q7.8", "Q5.10", "Q2.13"]
family = ["xc7", "xcup"]

[check]
n = 16
queries = 2

[slurm]
mem = "1G"
time = "00:10:00"
"#;

/// The results without what differs from run to run (seconds).
fn comparable(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    for point in v["points"].as_array_mut().unwrap() {
        let point = point.as_object_mut().unwrap();
        point.remove("seconds");
    }
    v
}

/// Stops the test's cluster however the test ends.
struct Cluster(std::path::PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args(["scripts/slurm-cluster.sh", "stop"])
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_sweep_runs_locally_and_as_a_slurm_job_array_with_the_same_results() {
    let dir = scratch("sweep");
    let plan = dir.join("exp.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let plan = plan.to_str().unwrap();

    // on the local cores
    let local = dir.join("local");
    let out = hwformer(&["sweep", plan, "--jobs", "2", "--out", local.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !out.status.success(),
        "two points fail: the exit code says so\n{text}"
    );
    assert!(text.contains("6 points, 6 to run"), "{text}");
    assert!(text.contains("4 of 6 points passed"), "{text}");
    let results = comparable(&local);
    let points = results["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    for p in points {
        let format = p["values"][0][1].as_str().unwrap();
        if format == "Q2.13" {
            assert_eq!(p["status"], "error", "{p}");
            assert!(p["error"].as_str().unwrap().starts_with("sim: "), "{p}");
        } else {
            assert_eq!(p["status"], "pass", "{p}");
            assert!(p["luts"].as_u64().unwrap() > 0 && p["fmax_estimate_mhz"].as_f64().unwrap() > 50.0);
            assert!(p["max_error"].as_f64().unwrap() <= p["error_bound"].as_f64().unwrap());
            let latency = p["latency_ns"].as_f64().unwrap();
            let cycles = p["cycles"].as_f64().unwrap();
            assert!((latency - cycles * 1e3 / p["fmax_estimate_mhz"].as_f64().unwrap()).abs() < 1e-6);
        }
    }
    assert!(points.iter().any(|p| p["pareto"] == true));
    // the failing point's commands reproduce it, in the sweep's folder
    let failed = points.iter().find(|p| p["status"] == "error").unwrap();
    let hash = failed["hash"].as_str().unwrap();
    let replay = failed["reproduce"][0].as_str().unwrap();
    assert_eq!(
        replay,
        format!(
            "hwformer sim --config work/{hash}/config.toml --backend verilator --valid 1 --ready 1 --seed 1"
        )
    );
    let out = Command::new(env!("CARGO_BIN_EXE_hwformer"))
        .args(replay.split(' ').skip(1))
        .current_dir(&local)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let why = err.trim().trim_start_matches("hwformer: error: ");
    assert!(
        !out.status.success() && !why.is_empty() && failed["error"].as_str().unwrap().contains(why),
        "{err} / {failed}"
    );
    let csv = std::fs::read_to_string(local.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(
        csv.starts_with("index,hash,formats.x,family,status,pareto,luts,"),
        "{csv}"
    );
    for plot in ["pareto.svg", "pareto.png"] {
        assert!(
            std::fs::metadata(local.join(plot)).unwrap().len() > 1000,
            "{plot}"
        );
    }

    // a rerun runs nothing; a lost result and a broken one are run again
    let out = hwformer(&["sweep", plan, "--out", local.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 points, 0 to run"));
    let files: Vec<_> = std::fs::read_dir(local.join("points"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 6);
    std::fs::remove_file(&files[0]).unwrap();
    std::fs::write(&files[1], "{ truncated").unwrap();
    let out = hwformer(&["sweep", "collect", local.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("missing"), "a lost point is listed: {text}");
    let out = hwformer(&["sweep", plan, "--out", local.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("6 points, 2 to run"));
    assert_eq!(comparable(&local), results, "the rerun gives the same results");

    // on a one-node Slurm cluster, as one job array
    let cluster_dir = dir.join("cluster");
    let start = Command::new("bash")
        .args(["scripts/slurm-cluster.sh", "start"])
        .arg(&cluster_dir)
        .output()
        .expect("bash runs");
    let _cluster = Cluster(cluster_dir.clone());
    assert!(
        start.status.success(),
        "the one-node Slurm cluster did not start (scripts/install-tools.sh installs slurmctld, slurmd, \
         slurm-client and munge): {}",
        String::from_utf8_lossy(&start.stderr)
    );
    let conf = String::from_utf8_lossy(&start.stdout).trim().to_string();
    let slurm = dir.join("slurm");
    let out = Command::new(env!("CARGO_BIN_EXE_hwformer"))
        .args([
            "sweep",
            plan,
            "--slurm",
            "--wait",
            "--out",
            slurm.to_str().unwrap(),
        ])
        .env("SLURM_CONF", &conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("Slurm job") && text.contains("4 of 6 points passed"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = std::fs::read_to_string(slurm.join("sweep.sbatch")).unwrap();
    assert!(
        script.contains("#SBATCH --array=0,1,2,3,4,5") && script.contains("#SBATCH --mem=1G"),
        "{script}"
    );
    let logs = std::fs::read_dir(slurm.join("logs")).unwrap().count();
    assert_eq!(logs, 6, "a Slurm log a task");
    assert_eq!(
        comparable(&slurm),
        results,
        "the job array's results are the local run's"
    );
}

#[test]
fn a_bad_plan_is_an_error_naming_the_key() {
    let dir = scratch("sweep-bad");
    let plan = dir.join("bad.toml");
    std::fs::write(&plan, PLAN.replace("\"xcup\"]", "\"xcvu\"]")).unwrap();
    let out = hwformer(&[
        "sweep",
        plan.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("axes.family: xcvu is not xc7 or xcup"),
        "{err}"
    );
    assert!(!dir.join("out").exists(), "nothing is written for a bad plan");
    let out = hwformer(&["sweep", "collect", dir.join("nowhere").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("plan.toml"), "{err}");
}
