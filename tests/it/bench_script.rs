//! The benchmark scripts (`make bench`): every shell script parses (`bash -n`) and the
//! report generator turns a canned results.jsonl into the expected table, README splice
//! included. The measurements themselves are never run here (timing is for benchmarks).

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn bench_shell_scripts_parse() {
    for entry in std::fs::read_dir(root().join("bench")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sh") {
            let st = Command::new("bash").arg("-n").arg(&path).status().unwrap();
            assert!(st.success(), "bash -n {}", path.display());
        }
    }
}

#[test]
fn bench_report_builds_the_table_and_splices_the_readme() {
    let dir = tempfile::tempdir().unwrap();
    let readme = dir.path().join("README.md");
    std::fs::write(
        &readme,
        "a\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nb\n",
    )
    .unwrap();
    let data = root().join("bench/testdata");
    let st = Command::new("python3")
        .arg(root().join("bench/report.py"))
        .arg(data.join("results.jsonl"))
        .arg(dir.path())
        .arg("--readme")
        .arg(&readme)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let want = std::fs::read_to_string(data.join("report.md")).unwrap();
    let got = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert_eq!(got, want);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let sync = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["measurement"] == "sync-vs-bulk");
    assert_eq!(sync.unwrap()["ratio"], 0.05);
    let spliced = std::fs::read_to_string(&readme).unwrap();
    assert_eq!(
        spliced,
        format!("a\n<!-- bench:begin -->\n{want}<!-- bench:end -->\nb\n")
    );
}
