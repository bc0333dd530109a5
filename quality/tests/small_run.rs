//! The benchmark's `--small` mode end to end, as CI runs it.

use std::process::Command;

#[test]
fn small_run_writes_a_report_with_every_defect() {
    let out = std::env::temp_dir().join(format!("quality-small-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_quality"))
        .args(["--small", "--skip-baseline", "--out"])
        .arg(&out)
        .status()
        .expect("the quality binary starts");
    assert!(status.success(), "quality --small failed: {status}");

    let json = std::fs::read_to_string(out.join("report.json")).expect("report.json exists");
    let report: serde_json::Value = serde_json::from_str(&json).expect("report.json is JSON");
    let rows = report["rows"].as_array().expect("rows is a list");
    assert_eq!(rows.len(), 6, "one row per defect");
    for row in rows {
        let gain = row["pipeline_gain"]["psnr"].as_f64();
        assert!(gain.is_some_and(f64::is_finite), "bad row {row}");
    }
    assert!(out.join("report.md").is_file());
    assert!(out.join("contact-sheet.png").is_file());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_missing_baseline_tool_is_named_and_fails_the_run() {
    let output = Command::new(env!("CARGO_BIN_EXE_quality"))
        .args(["--small", "--convert", "/nonexistent/convert"])
        .output()
        .expect("the quality binary starts");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ImageMagick") && stderr.contains("--skip-baseline"),
        "{stderr}"
    );
}
