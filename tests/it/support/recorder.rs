//! A loopback TCP proxy that records what the tool sends to a server (the
//! wire evidence of the commands or requests a run used): IMAP in
//! interop_sync.rs, HTTP (CardDAV/CalDAV) in export_dav.rs.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A loopback proxy to the server that records what the tool sends (the
/// wire evidence of which commands a sync used). Every run of a test goes
/// through it (the journal is keyed by the target's address); our own
/// reads go to the server directly.
pub struct Recorder {
    pub port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    pub fn start(upstream: u16) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let log = log.clone();
                std::thread::spawn(move || pump(client, server, Some(&log)));
                std::thread::spawn(move || pump(s2, c2, None));
            }
        });
        Recorder { port, sent }
    }

    /// Everything the tool sent so far, as text.
    pub fn sent(&self) -> String {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&sent).into_owned()
    }

    /// Forgets what was recorded so far.
    pub fn clear(&self) {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The command names of the recorded lines (`UID MOVE`, `CLOSE`, …):
    /// the words after the tag, up to the first argument.
    pub fn commands(&self) -> Vec<String> {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&sent)
            .split("\r\n")
            .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest.to_ascii_uppercase()))
            .map(|rest| {
                let mut w = rest.split(' ');
                match (w.next(), w.next()) {
                    (Some("UID"), Some(c)) => format!("UID {c}"),
                    (Some(c), _) => c.to_string(),
                    _ => String::new(),
                }
            })
            .collect()
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, log: Option<&Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(log) = log {
                    log.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&buf[..n]);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
