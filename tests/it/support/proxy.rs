//! The delay proxies of bench/ (delay-proxy.py, trace-proxy.py) started for
//! a test: each binds a port of its own choosing (port 0) and says which on
//! its first line, so no other test can take the port between choosing and
//! binding (a free port chosen first, then bound by the proxy, could be
//! another test's listener by the time the readiness probe connected).

use super::root;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running proxy; killed when dropped.
pub struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bench/{script}` between loopback and `target` with `rtt_ms`
/// added (and `trace`, for trace-proxy.py); returns it and its port.
pub fn start(script: &str, target: u16, rtt_ms: u64, trace: Option<&Path>) -> (Proxy, u16) {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("bench").join(script))
        .args(["0", "127.0.0.1"])
        .arg(target.to_string())
        .arg(rtt_ms.to_string());
    if let Some(t) = trace {
        cmd.arg(t);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {script}: {e}"));
    let out = child.stdout.take().expect("stdout");
    let p = Proxy(child);
    // "delay-proxy 127.0.0.1:PORT -> …": the first line, once listening.
    let mut line = String::new();
    let mut out = std::io::BufReader::new(out);
    out.read_line(&mut line)
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    // Whatever it prints later is read (a closed pipe would end it).
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let port = line
        .split_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p != 0)
        .unwrap_or_else(|| panic!("{script} did not say its port: {line:?}"));
    (p, port)
}
