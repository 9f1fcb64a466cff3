//! Transport: TCP with timeouts and TCP_NODELAY, TLS through native-tls
//! (implicit, or after STARTTLS), the stream type both io-imap and our
//! pipeline run over.

use super::error::ImapError;
use std::any::Any;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (`imaps://`, port 993).
    Implicit,
    /// Plain connect, then STARTTLS; fails when the server does not offer it.
    StartTls,
    /// No TLS at all (only when asked for explicitly).
    None,
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    /// Host name or address.
    pub host: String,
    pub port: u16,
    /// TLS mode.
    pub tls: TlsMode,
    /// Extra trust anchors (PEM, one or more certificates).
    pub tls_ca: Option<PathBuf>,
    /// Accept any certificate and host name.
    pub insecure: bool,
    /// TCP connect timeout (per address).
    pub connect_timeout: Duration,
    /// Read and write timeout of every blocking socket call.
    pub io_timeout: Duration,
}

impl ConnectConfig {
    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The socket under io-imap and the pipeline.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
    Closed,
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
            Conn::Closed => Err(io::Error::new(io::ErrorKind::NotConnected, "closed")),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
            Conn::Closed => Err(io::Error::new(io::ErrorKind::NotConnected, "closed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
            Conn::Closed => Ok(()),
        }
    }
}

impl Conn {
    /// Ends our side of the connection: TLS close_notify, then a TCP FIN
    /// after what was written (errors ignored: the connection is over).
    pub(crate) fn close_write(&mut self) {
        match self {
            Conn::Plain(s) => {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
            Conn::Tls(s) => {
                let _ = s.shutdown();
                let _ = s.get_ref().shutdown(std::net::Shutdown::Write);
            }
            Conn::Closed => {}
        }
    }
}

impl io_imap::client::ImapStream for Conn {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.set_read_timeout(timeout),
            Conn::Tls(s) => s.get_ref().set_read_timeout(timeout),
            Conn::Closed => Ok(()),
        }
    }
}

/// TCP connect to every resolved address in turn (DNS itself has no
/// timeout), with TCP_NODELAY and the I/O timeouts set.
pub(crate) fn tcp_connect(cfg: &ConnectConfig) -> Result<TcpStream, ImapError> {
    let addrs: Vec<_> = (cfg.host.as_str(), cfg.port)
        .to_socket_addrs()
        .map_err(|source| ImapError::Resolve {
            host: cfg.host.clone(),
            source,
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, cfg.connect_timeout) {
            Ok(s) => {
                let err = |source| ImapError::Connect {
                    addr: addr.to_string(),
                    source,
                };
                s.set_nodelay(true).map_err(err)?;
                s.set_read_timeout(Some(cfg.io_timeout)).map_err(err)?;
                s.set_write_timeout(Some(cfg.io_timeout)).map_err(err)?;
                return Ok(s);
            }
            Err(e) => last = Some((addr.to_string(), e)),
        }
    }
    let (addr, source) = last.unwrap_or_else(|| {
        (
            cfg.server(),
            io::Error::new(io::ErrorKind::NotFound, "no address"),
        )
    });
    Err(ImapError::Connect { addr, source })
}

/// The TLS connector: TLS 1.2 or newer, the system roots plus `--tls-ca`,
/// or no verification at all with `--insecure`.
pub(crate) fn tls_connector(cfg: &ConnectConfig) -> Result<native_tls::TlsConnector, ImapError> {
    let mut b = native_tls::TlsConnector::builder();
    b.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
    if let Some(path) = &cfg.tls_ca {
        let pem = std::fs::read(path).map_err(|e| {
            ImapError::TlsConfig(format!("cannot read CA file {}: {e}", path.display()))
        })?;
        let certs = native_tls::Certificate::stack_from_pem(&pem)
            .map_err(|e| ImapError::TlsConfig(format!("bad PEM in {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(ImapError::TlsConfig(format!(
                "no certificate in {}",
                path.display()
            )));
        }
        for c in certs {
            b.add_root_certificate(c);
        }
    }
    if cfg.insecure {
        b.danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true);
    }
    b.build().map_err(|e| ImapError::TlsConfig(e.to_string()))
}

/// Runs the TLS handshake on a connected socket. A certificate that does
/// not verify is final ([`ImapError::TlsHandshake`] with the `--tls-ca`
/// hint); a reset, an EOF or a timeout during the handshake is a lost
/// connection ([`ImapError::Connection`]), which the caller retries.
pub(crate) fn tls_handshake(
    cfg: &ConnectConfig,
    tcp: TcpStream,
) -> Result<native_tls::TlsStream<TcpStream>, ImapError> {
    let connector = tls_connector(cfg)?;
    connector.connect(&cfg.host, tcp).map_err(|e| {
        let (detail, io_kind) = match &e {
            native_tls::HandshakeError::Failure(e) => (e.to_string(), io_error_kind(e)),
            native_tls::HandshakeError::WouldBlock(_) => {
                ("timed out".into(), Some(io::ErrorKind::TimedOut))
            }
        };
        handshake_error(cfg.server(), detail, io_kind)
    })
}

/// The kind of the I/O error somewhere in `e`'s source chain.
fn io_error_kind(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

/// What a failed handshake is: a certificate problem (final, with the
/// hint), a transport failure (retried), or another TLS failure (final,
/// without a hint that would blame the CA).
pub(crate) fn handshake_error(
    server: String,
    detail: String,
    io_kind: Option<io::ErrorKind>,
) -> ImapError {
    let lower = detail.to_ascii_lowercase();
    let certificate = lower.contains("certificate") || lower.contains("hostname mismatch");
    let transport = io_kind.is_some()
        || lower.contains("unexpected eof")
        || lower.contains("connection reset")
        || lower.contains("broken pipe")
        || lower.contains("timed out");
    if certificate {
        ImapError::TlsHandshake {
            server,
            detail,
            certificate: true,
        }
    } else if transport {
        ImapError::Connection {
            server,
            detail: format!("TLS handshake: {detail}"),
        }
    } else {
        ImapError::TlsHandshake {
            server,
            detail,
            certificate: false,
        }
    }
}

/// Writes all of `bytes` (one command: one call, so one TCP segment burst
/// with TCP_NODELAY).
pub(crate) fn write_all(conn: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
    conn.write_all(bytes).and_then(|()| conn.flush())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_certificate_that_does_not_verify_is_final_and_gets_the_hint() {
        let cert = handshake_error(
            "h:993".into(),
            "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed".into(),
            None,
        );
        assert!(!cert.is_connection());
        assert!(cert.to_string().contains("--tls-ca"), "{cert}");
        let reset = handshake_error(
            "h:993".into(),
            "Connection reset by peer (os error 104)".into(),
            Some(io::ErrorKind::ConnectionReset),
        );
        assert!(reset.is_connection(), "{reset}");
        assert!(!reset.to_string().contains("--tls-ca"), "{reset}");
        let eof = handshake_error(
            "h:993".into(),
            "error:0A000126:SSL routines::unexpected eof while reading".into(),
            None,
        );
        assert!(eof.is_connection(), "{eof}");
        let proto = handshake_error(
            "h:993".into(),
            "error:0A000102:SSL routines::unsupported protocol".into(),
            None,
        );
        assert!(!proto.is_connection());
        assert!(!proto.to_string().contains("--tls-ca"), "{proto}");
    }
}
