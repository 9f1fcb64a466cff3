//! Faults for the exactly-once tests (tests/it/exactly_once.rs): a
//! loopback TCP proxy that forwards to a server and cuts every connection
//! after N bytes (or never: another address for the same server), a
//! Dovecot restart that keeps the mail, and reading a mailbox back with
//! `BINARY.PEEK[]` (the content as sent, however Dovecot re-encoded it).

use super::dovecot::Dovecot;
use super::imap::{mutf7_encode, quote, Imap};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A forwarding proxy on 127.0.0.1:`port` to 127.0.0.1:`upstream`.
pub struct Proxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// Connections cut so far.
    pub cuts: Arc<AtomicUsize>,
}

impl Proxy {
    /// Forwards every connection, cutting each (both directions) once
    /// `cut_after` bytes went through it in either direction together
    /// (`None`: never).
    pub fn start(upstream: u16, cut_after: Option<usize>) -> Proxy {
        Self::with_budgets(upstream, move |_| Budgets::Shared(cut_after))
    }

    /// Forwards every connection; the first one (the run's probe, which
    /// the first login reuses) is cut when the client first writes on it,
    /// after the greeting went through: as a server does that closed an
    /// idle connection just as the login went out.
    pub fn cutting_the_first_login(upstream: u16) -> Proxy {
        Self::with_budgets(upstream, |i| match i {
            0 => Budgets::Split {
                up: Some(0),
                down: None,
            },
            _ => Budgets::Shared(None),
        })
    }

    /// Forwards every connection; on the first one (the probe's, which
    /// the first login reuses) what the client sends after the greeting is
    /// read and dropped, and nothing more comes back: a connection that went
    /// dead while kept (a firewall that forgot it).
    pub fn holding_the_first_login(upstream: u16) -> Proxy {
        Self::with_budgets(upstream, |i| match i {
            0 => Budgets::Held,
            _ => Budgets::Shared(None),
        })
    }

    /// Forwards connection `i` (0-based, as accepted) with `budgets(i)`.
    fn with_budgets(upstream: u16, budgets: impl Fn(usize) -> Budgets + Send + 'static) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (stop2, cuts2) = (stop.clone(), cuts.clone());
        std::thread::spawn(move || {
            for (i, client) in listener.incoming().enumerate() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let bytes = |n: Option<usize>| Arc::new(AtomicUsize::new(n.unwrap_or(usize::MAX)));
                let (up, down) = match budgets(i) {
                    Budgets::Shared(n) => {
                        let b = bytes(n);
                        (b.clone(), b)
                    }
                    Budgets::Split { up, down } => (bytes(up), bytes(down)),
                    Budgets::Held => {
                        if let Ok(from) = client.try_clone() {
                            std::thread::spawn(move || sink(from));
                        }
                        let _ = server.try_clone().map(|s| {
                            std::thread::spawn(move || greeting_only(s, client));
                        });
                        continue;
                    }
                };
                let cut = Arc::new(AtomicBool::new(false));
                for (from, to, budget) in [
                    (client.try_clone(), server.try_clone(), up),
                    (server.try_clone(), client.try_clone(), down),
                ] {
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let (cut, cuts) = (cut.clone(), cuts2.clone());
                    std::thread::spawn(move || pump(from, to, &budget, &cut, &cuts));
                }
            }
        });
        Proxy { port, stop, cuts }
    }
}

/// The bytes a connection may carry before it is cut (`None`: no limit).
enum Budgets {
    /// Both directions together.
    Shared(Option<usize>),
    /// Client to server, server to client.
    Split {
        up: Option<usize>,
        down: Option<usize>,
    },
    /// The greeting passes, then the connection goes silent both ways.
    Held,
}

/// Reads and drops what `from` sends until it closes.
fn sink(mut from: TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(from.read(&mut buf), Ok(n) if n > 0) {}
}

/// Passes the server's greeting (its first line) to the client, then
/// nothing: the server's connection is closed, the client's left open.
fn greeting_only(server: TcpStream, mut client: TcpStream) {
    let mut line = Vec::new();
    let mut r = std::io::BufReader::new(server);
    if std::io::BufRead::read_until(&mut r, b'\n', &mut line).is_ok() {
        let _ = client.write_all(&line);
    }
    std::thread::sleep(Duration::from_secs(300));
}

/// Copies `from` to `to` while the connection's byte budget lasts; when it
/// runs out, what fits is written and both sockets are shut down.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    budget: &AtomicUsize,
    cut: &AtomicBool,
    cuts: &AtomicUsize,
) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let left = budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| {
                Some(b.saturating_sub(n))
            })
            .unwrap_or(0);
        let send = n.min(left);
        if send > 0 && to.write_all(&buf[..send]).is_err() {
            break;
        }
        if send < n {
            if !cut.swap(true, Ordering::SeqCst) {
                cuts.fetch_add(1, Ordering::SeqCst);
            }
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Stops Dovecot, waits `down`, starts it again on the same ports with
/// the same mail (dovecot-up.sh keeps what is under its base directory).
pub fn restart_dovecot(dc: &Dovecot, env: &[(&str, &str)], down: Duration) {
    let root = super::root();
    let status = Command::new("bash")
        .arg(root.join("tests/harness/dovecot-down.sh"))
        .arg(dc.base())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("dovecot-down.sh");
    assert!(status.success(), "dovecot-down.sh failed");
    std::thread::sleep(down);
    let status = Command::new("bash")
        .arg(root.join("tests/harness/dovecot-up.sh"))
        .arg(dc.base())
        .arg(dc.imap_port.to_string())
        .arg(dc.imaps_port.to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("dovecot-up.sh");
    assert!(status.success(), "dovecot-up.sh (restart) failed");
}

/// One message as read back: UID, flags (without `\Recent`, sorted),
/// INTERNALDATE as sent by the server, and `BINARY[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub uid: u32,
    pub flags: Vec<String>,
    pub internal_date: String,
    pub content: Vec<u8>,
}

/// Every message of the mailbox `name` (Unicode), with `BINARY.PEEK[]`.
pub fn fetch_binary(imap: &mut Imap, name: &str) -> Vec<Stored> {
    let (_, st) = imap.cmd(&format!("EXAMINE {}", quote(&mutf7_encode(name))));
    assert!(st.starts_with("OK"), "EXAMINE {name}: {st}");
    let (lines, st) = imap.cmd("UID FETCH 1:* (UID FLAGS INTERNALDATE BINARY.PEEK[])");
    assert!(st.starts_with("OK"), "FETCH {name}: {st}");
    let mut out: Vec<Stored> = lines
        .iter()
        .filter(|l| l.starts_with(b"* ") && find(l, b" FETCH (").is_some())
        .map(|l| {
            parse(l).unwrap_or_else(|| {
                panic!(
                    "unparsable FETCH: {}",
                    String::from_utf8_lossy(&l[..l.len().min(300)])
                )
            })
        })
        .collect();
    out.sort_by_key(|s| s.uid);
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn parse(l: &[u8]) -> Option<Stored> {
    let num = |at: usize| -> Option<u32> {
        let d = l[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        std::str::from_utf8(&l[at..at + d]).ok()?.parse().ok()
    };
    let uid = num(find(l, b"UID ")? + 4)?;
    let f_at = find(l, b"FLAGS (")? + 7;
    let f_end = f_at + l[f_at..].iter().position(|b| *b == b')')?;
    let mut flags: Vec<String> = String::from_utf8_lossy(&l[f_at..f_end])
        .split_whitespace()
        .filter(|f| *f != "\\Recent")
        .map(str::to_string)
        .collect();
    flags.sort();
    let d_at = find(l, b"INTERNALDATE \"")? + 14;
    let d_end = d_at + l[d_at..].iter().position(|b| *b == b'"')?;
    let internal_date = String::from_utf8_lossy(&l[d_at..d_end]).to_string();
    // A literal8 (`~{n}`) when the content has NUL, else a literal.
    let b_at = match find(l, b"BINARY[] ~{") {
        Some(at) => at + 11,
        None => find(l, b"BINARY[] {")? + 10,
    };
    let b_close = b_at + l[b_at..].iter().position(|b| *b == b'}')?;
    let n: usize = std::str::from_utf8(&l[b_at..b_close]).ok()?.parse().ok()?;
    let start = b_close + 3;
    let content = l.get(start..start + n)?.to_vec();
    Some(Stored {
        uid,
        flags,
        internal_date,
        content,
    })
}
