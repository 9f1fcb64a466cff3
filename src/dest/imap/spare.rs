//! The connection the probe opened before a run (TCP, TLS, greeting),
//! kept for the run's first login so that it does not pay those round
//! trips again; given up when it is old or the server has closed it.

use super::caps::Capabilities;
use super::conn::Conn;
use io_imap::client::ImapClientStd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A connection opened (TCP, TLS, greeting, STARTTLS) and not logged in:
/// the client, the capabilities shown before login, whether the greeting
/// was PREAUTH, the greeting's text.
pub(super) type Opened = (ImapClientStd, Capabilities, bool, String);

/// How long the probe's connection is kept for a login: longer than the
/// source walk of a first account, shorter than a server's timeout for a
/// connection that has not logged in (Dovecot 60 s, Gmail and Microsoft
/// 365 less, by observation).
const SPARE_FOR: Duration = Duration::from_secs(10);

/// The connection the probe opened before the run, for the run's first
/// login: it saves that login the round trips of TCP, TLS and the
/// greeting. Taken once; dropped when it is older than [`SPARE_FOR`] or the
/// server has closed it or written on it since its greeting.
#[derive(Default)]
pub(crate) struct Spare(Mutex<Option<(Instant, Opened)>>);

impl Spare {
    pub(super) fn keep(&self, opened: Opened) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), opened));
    }

    /// The kept connection, when it is still one to log in on.
    pub(super) fn take(&self) -> Option<Opened> {
        let (at, mut opened) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        (at.elapsed() < SPARE_FOR && quiet(&mut opened.0)).then_some(opened)
    }
}

/// True when nothing is waiting to be read on the connection, nor its end:
/// a server that said BYE or closed an idle connection has written since
/// its greeting. Checked without blocking (a peek at the socket).
fn quiet(client: &mut ImapClientStd) -> bool {
    // What the greeting's reads brought beyond it: a whole line (progress
    // gives it) or part of one (it is the message begun).
    if client.fragmentizer.progress().is_some() || !client.fragmentizer.message_bytes().is_empty() {
        return false;
    }
    let Some(conn) = client.stream.as_any_mut().downcast_mut::<Conn>() else {
        return false;
    };
    let tcp = match conn {
        Conn::Plain(t) => &*t,
        Conn::Tls(t) => t.get_ref(),
        Conn::Closed => return false,
    };
    if tcp.set_nonblocking(true).is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    let idle = matches!(tcp.peek(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    tcp.set_nonblocking(false).is_ok() && idle
}

#[cfg(test)]
mod tests {
    use super::*;
    use io_imap::client::ImapClient;
    use std::io::Write;
    use std::net::TcpListener;

    /// A server on loopback that greets, then does `then` with the
    /// connection; a connection to it, opened (greeting read).
    fn opened(then: impl FnOnce(&mut std::net::TcpStream) + Send + 'static) -> Opened {
        greeted_with(b"", then)
    }

    /// [`opened`] with `extra` in the greeting's write.
    fn greeted_with(
        extra: &'static [u8],
        then: impl FnOnce(&mut std::net::TcpStream) + Send + 'static,
    ) -> Opened {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            let mut greeting = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n".to_vec();
            greeting.extend_from_slice(extra);
            s.write_all(&greeting).expect("greet");
            then(&mut s);
            std::thread::sleep(Duration::from_secs(2));
        });
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut client = ImapClientStd::new(Conn::Plain(tcp));
        let greeting = client.greeting().expect("greeting");
        let caps = Capabilities::from_names(greeting.capability.iter().map(|c| c.to_string()));
        let o = (client, caps, false, "* OK ready".to_string());
        // What the server did after its greeting has arrived.
        std::thread::sleep(Duration::from_millis(100));
        o
    }

    #[test]
    fn a_quiet_young_connection_is_taken_once() {
        let spare = Spare::default();
        spare.keep(opened(|_| {}));
        let (mut client, caps, pre_auth, greeting) = spare.take().expect("taken");
        assert!(
            caps.raw.iter().any(|c| c.eq_ignore_ascii_case("IMAP4rev1")),
            "{:?}",
            caps.raw
        );
        assert!(!pre_auth);
        assert!(greeting.contains("ready"), "{greeting}");
        assert!(spare.take().is_none(), "taken twice");
        // Blocking again after the peek: a read waits for the server (and
        // times out here), it does not return at once.
        client
            .stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut b = [0u8; 1];
        let conn = client
            .stream
            .as_any_mut()
            .downcast_mut::<Conn>()
            .expect("conn");
        let t = Instant::now();
        let r = std::io::Read::read(conn, &mut b);
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
        assert!(
            matches!(&r, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "{r:?}"
        );
    }

    #[test]
    fn a_connection_the_server_closed_or_wrote_on_is_not_taken() {
        let spare = Spare::default();
        spare.keep(opened(|s| {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }));
        assert!(spare.take().is_none(), "closed by the server");
        spare.keep(opened(|s| {
            let _ = s.write_all(b"* BYE idle too long\r\n");
        }));
        assert!(spare.take().is_none(), "BYE waiting");
        // Read with the greeting (one segment): a whole line, or a part of
        // one (helper-62: a login on it waited a whole --io-timeout).
        spare.keep(greeted_with(b"* BYE bye\r\n", |_| {}));
        assert!(spare.take().is_none(), "a line behind the greeting");
        spare.keep(greeted_with(b"* BY", |_| {}));
        assert!(spare.take().is_none(), "part of a line behind the greeting");
    }

    #[test]
    fn an_old_connection_is_not_taken() {
        let spare = Spare::default();
        let o = opened(|_| {});
        let at = Instant::now()
            .checked_sub(SPARE_FOR)
            .expect("an instant that long ago");
        *spare.0.lock().expect("lock") = Some((at, o));
        assert!(spare.take().is_none());
    }
}
