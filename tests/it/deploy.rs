//! docs/deploy: the Kubernetes manifests validate against the Kubernetes
//! schema (PyPI `kubernetes-validate`, strict: unknown fields are errors)
//! for the oldest and the newest version the README names, a broken copy
//! does not, and the Job is what the README says: Indexed, the shard from
//! the completion index, the store read-only, a journal directory per
//! index, the password from a Secret file and no literal secret.
//!
//! The validator lives in the venv tests/harness/ci-install.sh creates
//! (`K8S_VALIDATE_VENV`, default `~/.cache/kerio-migrate/k8s-validate-venv`).

use crate::support::root;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFESTS: &[&str] = &[
    "kerio-migrate-job.yaml",
    "kerio-migrate-merge.yaml",
    "kerio-migrate-metrics-netpol.yaml",
];

/// The oldest and newest Kubernetes the manifests are checked against
/// (`backoffLimitPerIndex` and `podReplacementPolicy` are on by default
/// from 1.29/1.30).
const VERSIONS: &[&str] = &["1.30.0", "1.37.0"];

fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os("K8S_VALIDATE_VENV") {
        return PathBuf::from(v);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME");
    cache.join("kerio-migrate/k8s-validate-venv")
}

fn validator() -> PathBuf {
    let v = venv().join("bin/kubernetes-validate");
    assert!(
        v.is_file(),
        "{} is missing: run `bash tests/harness/ci-install.sh` (it creates the venv with \
         kubernetes-validate from PyPI; K8S_VALIDATE_VENV overrides where)",
        v.display()
    );
    v
}

fn validate(file: &Path, version: &str) -> (bool, String) {
    let out = Command::new(validator())
        .args(["--strict", "-k", version])
        .arg(file)
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The manifest's documents as JSON (PyYAML from the same venv).
fn documents(file: &Path) -> Vec<Value> {
    let out = Command::new(venv().join("bin/python"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(file)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn deploy() -> PathBuf {
    root().join("docs/deploy")
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schema() {
    for m in MANIFESTS {
        for v in VERSIONS {
            let (ok, text) = validate(&deploy().join(m), v);
            assert!(ok, "{m} against {v}: {text}");
            assert!(text.contains("passed"), "{text}");
        }
    }
    // The validator does reject what Kubernetes would.
    let job = std::fs::read_to_string(deploy().join(MANIFESTS[0])).expect("manifest");
    let tmp = tempfile::tempdir().expect("tmp");
    for (from, to) in [
        ("completionMode: Indexed", "completionsMode: Indexed"),
        ("readOnly: true", "readOnly: yes-please"),
    ] {
        assert!(job.contains(from));
        let bad = tmp.path().join("bad.yaml");
        std::fs::write(&bad, job.replacen(from, to, 1)).expect("write");
        let (ok, text) = validate(&bad, VERSIONS[1]);
        assert!(!ok, "{to:?} passed: {text}");
    }
}

#[test]
fn the_job_is_indexed_reads_the_store_read_only_and_keeps_a_journal_per_index() {
    let _ = validator();
    let docs = documents(&deploy().join(MANIFESTS[0]));
    assert_eq!(docs.len(), 1);
    let job = &docs[0];
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let pod = &spec["template"]["spec"];
    let c = &pod["containers"][0];
    let env = c["env"].as_array().expect("env");
    let var = |name: &str| env.iter().find(|e| e["name"] == name).cloned();
    // As many shards as completions, all at once.
    let shards = var("SHARDS").expect("SHARDS")["value"].clone();
    assert_eq!(shards.as_str().map(str::parse::<u64>), Some(Ok(3)));
    assert_eq!(spec["completions"], 3);
    assert_eq!(spec["parallelism"], 3);
    // The shard from the completion index.
    let args = c["args"][0].as_str().expect("args");
    assert!(
        args.contains(r#"--shard "$((JOB_COMPLETION_INDEX + 1))/$SHARDS""#),
        "{args}"
    );
    assert!(args.contains("--state /state/") && args.contains("--report /state/"));
    // The store read-only, in the mount and the claim.
    let mounts = c["volumeMounts"].as_array().expect("mounts");
    let mount = |name: &str| mounts.iter().find(|m| m["name"] == name).expect(name);
    assert_eq!(mount("store")["readOnly"], true);
    assert!(args.contains(mount("store")["mountPath"].as_str().expect("path")));
    let volumes = pod["volumes"].as_array().expect("volumes");
    let volume = |name: &str| volumes.iter().find(|v| v["name"] == name).expect(name);
    assert_eq!(volume("store")["persistentVolumeClaim"]["readOnly"], true);
    // One journal directory per index, named by the index annotation.
    assert_eq!(mount("state")["subPathExpr"], "shard-$(SHARD_INDEX)");
    assert_eq!(
        var("SHARD_INDEX").expect("SHARD_INDEX")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    // Secrets from a Secret, by file; no literal anywhere.
    assert!(volume("imap-secret")["secret"]["secretName"].is_string());
    assert!(args.contains("--admin-password-file /secrets/"));
    for e in env {
        let name = e["name"].as_str().expect("name").to_lowercase();
        if ["pass", "secret", "token"].iter().any(|s| name.contains(s)) {
            assert!(e.get("value").is_none(), "literal secret in {e}");
        }
    }
    for m in MANIFESTS {
        for d in documents(&deploy().join(m)) {
            assert_ne!(d["kind"], "Secret", "{m} holds a Secret");
        }
    }
    // The arguments as the pod's /bin/sh runs them: index 1 is shard 2/3.
    let bin = tempfile::tempdir().expect("tmp");
    let fake = bin.path().join("kerio-migrate");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n",
    )
    .expect("fake");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg(args)
        .env("PATH", path)
        .env("JOB_COMPLETION_INDEX", "1");
    for e in env {
        if let Some(v) = e["value"].as_str() {
            sh.env(e["name"].as_str().expect("name"), v);
        }
    }
    let out = sh.output().expect("sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let argv: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let after = |flag: &str| {
        let i = argv
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag}: {argv:?}"));
        argv[i + 1].clone()
    };
    assert_eq!(argv[..2], ["migrate", "/kerio"]);
    assert_eq!(after("--shard"), "2/3");
    assert_eq!(after("--to"), "imaps://imap.example.com");
    assert_eq!(after("--admin-user"), "admin");
    // Metrics on the port the NetworkPolicy guards.
    assert!(args.contains("--metrics-listen 0.0.0.0:9464"), "{args}");
    assert_eq!(c["ports"][0]["containerPort"], 9464);
    let policy = &documents(&deploy().join(MANIFESTS[2]))[0];
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], 9464);
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        job["spec"]["template"]["metadata"]["labels"]
    );
    // The merge Job reads every index's report.
    let merge = &documents(&deploy().join(MANIFESTS[1]))[0];
    let margs = merge["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .expect("args");
    assert!(
        margs.contains("report merge /state/shard-*/report.json"),
        "{margs}"
    );
}
