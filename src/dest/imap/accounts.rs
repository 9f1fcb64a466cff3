//! Which target login each source account goes to, and with which secret:
//! the `--accounts FILE.csv` file (`source,target_user,secret`, the format
//! `kerio-migrate users --format accounts-csv` writes) and the secret
//! references it and the flags use (`env:VAR`, `file:/path`). A secret is
//! never written in the file or on the command line itself.

use secrecy::SecretString;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Errors reading the account mapping.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path} line {line}: {reason}")]
    Syntax {
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A secret reference cannot be resolved.
    #[error("{0}")]
    Secret(String),
}

/// Where a secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file (first line, trailing newline removed).
    File(PathBuf),
    /// Not given: the admin login, or a prompt.
    None,
}

impl SecretRef {
    /// Parses `env:VAR`, `file:/path` or an empty field.
    pub fn parse(s: &str) -> Result<SecretRef, String> {
        let s = s.trim();
        if s.is_empty() {
            Ok(SecretRef::None)
        } else if let Some(v) = s.strip_prefix("env:") {
            if v.is_empty() {
                return Err("env: needs a variable name".into());
            }
            Ok(SecretRef::Env(v.to_string()))
        } else if let Some(p) = s.strip_prefix("file:") {
            if p.is_empty() {
                return Err("file: needs a path".into());
            }
            Ok(SecretRef::File(PathBuf::from(p)))
        } else {
            Err(
                "the secret column must be env:VAR, file:PATH or empty (never the password itself)"
                    .into(),
            )
        }
    }

    /// Reads the secret (`Ok(None)` for [`SecretRef::None`]).
    pub fn resolve(&self) -> Result<Option<SecretString>, AccountsError> {
        match self {
            SecretRef::None => Ok(None),
            SecretRef::Env(v) => match std::env::var(v) {
                Ok(s) if !s.is_empty() => Ok(Some(SecretString::from(s))),
                _ => Err(AccountsError::Secret(format!(
                    "environment variable {v} is not set or empty"
                ))),
            },
            SecretRef::File(p) => read_secret_file(p).map(Some),
        }
    }
}

/// The most a secret file is read: a password or a token is far shorter;
/// `/dev/zero` or a log file named by mistake is not read to its end.
pub const MAX_SECRET_BYTES: u64 = 4096;

/// Reads at most `max` bytes of `p` (one more, to tell that it is longer),
/// opening it only when it is a regular file (a FIFO or a device is
/// refused, saying which; the open does not block).
pub fn read_regular_bounded(p: &Path, max: u64) -> Result<Vec<u8>, AccountsError> {
    use std::io::Read;
    let io = |source: std::io::Error| AccountsError::Io {
        path: p.to_path_buf(),
        source,
    };
    let refuse = |why: String| AccountsError::Secret(format!("{}: {why}", p.display()));
    let meta = std::fs::metadata(p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            refuse("the file does not exist".into())
        } else {
            io(e)
        }
    })?;
    if !meta.is_file() {
        return Err(refuse(format!(
            "{} is not a regular file: a secret is read only from a regular file",
            file_kind(&meta.file_type())
        )));
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK);
    }
    let f = o.open(p).map_err(io)?;
    if !f.metadata().map_err(io)?.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    let mut buf = Vec::new();
    f.take(max + 1).read_to_end(&mut buf).map_err(io)?;
    Ok(buf)
}

/// Reads a secret file: its first line, without the line end. Only a
/// regular file is opened (see [`read_regular_bounded`]), and at most
/// [`MAX_SECRET_BYTES`] are read.
pub fn read_secret_file(p: &Path) -> Result<SecretString, AccountsError> {
    let refuse = |why: String| AccountsError::Secret(format!("{}: {why}", p.display()));
    let buf = read_regular_bounded(p, MAX_SECRET_BYTES)?;
    let end = buf.iter().position(|&b| b == b'\n');
    if end.is_none() && buf.len() as u64 > MAX_SECRET_BYTES {
        return Err(refuse(format!(
            "the first line is longer than {MAX_SECRET_BYTES} bytes: not a secret file"
        )));
    }
    let line = &buf[..end.unwrap_or(buf.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line)
        .map_err(|_| refuse("the first line is not UTF-8".into()))?
        .to_string();
    if line.is_empty() {
        return Err(AccountsError::Secret(format!(
            "{}: the first line is empty",
            p.display()
        )));
    }
    Ok(SecretString::from(line))
}

/// What a file that is not a regular file is (`the FIFO`, `the directory`).
fn file_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "the file"
    }
}

/// One row of the mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    /// Source account (`alice@example.com`, `#public@example.com`).
    pub source: String,
    /// Target login.
    pub target_user: String,
    pub secret: SecretRef,
}

/// Splits one CSV line (RFC 4180 quoting; no line breaks inside fields).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() && !was_quoted {
            quoted = true;
            was_quoted = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
            was_quoted = false;
        } else {
            cur.push(c);
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

/// `#` starts a comment, but `#public@domain` (Kerio's public folders) is a
/// source account.
fn is_comment(line: &str) -> bool {
    let head = line.get(..8).unwrap_or(line);
    line.starts_with('#') && !head.eq_ignore_ascii_case("#public@")
}

/// A cell as `users --format accounts-csv` wrote it, without the `'` put
/// in front of a value that starts like a spreadsheet formula (`=`, `+`,
/// `-`, `@`, TAB, CR).
fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::text::FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// Parses the `--accounts` CSV: a header naming `source`, `target_user`
/// and `secret` (any order, other columns ignored), then one row per
/// account. Source accounts are matched case-insensitively. A line whose
/// first character is `#` is a comment (`users --format accounts-csv`
/// lists mailboxes `users.cfg` does not know that way, for the admin to
/// decide), except a row for a domain's public folders (`#public@domain`),
/// which is an account.
pub fn parse_accounts_csv(path: &Path, text: &str) -> Result<Vec<AccountRow>, AccountsError> {
    let syntax = |line: usize, reason: String| AccountsError::Syntax {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            (
                i + 1,
                l.trim_start_matches('\u{feff}').trim_end_matches('\r'),
            )
        })
        .filter(|(_, l)| !l.trim().is_empty() && !is_comment(l));
    let Some((hn, header)) = lines.next() else {
        return Err(syntax(1, "empty file".into()));
    };
    let header = csv_fields(header).map_err(|e| syntax(hn, e))?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(cs), Some(ct)) = (col("source"), col("target_user")) else {
        return Err(syntax(
            hn,
            "the header must name the columns source,target_user,secret".into(),
        ));
    };
    let csec = col("secret");
    let mut rows = Vec::new();
    let mut seen = HashMap::new();
    for (n, line) in lines {
        let f = csv_fields(line).map_err(|e| syntax(n, e))?;
        let get = |i: usize| {
            f.get(i)
                .map(|s| unneutralise(s.trim()).to_string())
                .unwrap_or_default()
        };
        let source = get(cs);
        let target_user = get(ct);
        if source.is_empty() || target_user.is_empty() {
            return Err(syntax(n, "source and target_user must not be empty".into()));
        }
        let secret = match csec {
            Some(i) => SecretRef::parse(&get(i)).map_err(|e| syntax(n, e))?,
            None => SecretRef::None,
        };
        if let Some(prev) = seen.insert(source.to_lowercase(), n) {
            return Err(syntax(
                n,
                format!("{source} is already mapped on line {prev}"),
            ));
        }
        rows.push(AccountRow {
            source,
            target_user,
            secret,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_lines_are_not_accounts() {
        let text = "source,target_user,secret\n# orphan@example.org,orphan@example.org,,not in users.cfg\n#orphan2@example.org,o,\nalice@example.com,alice,\n#public@example.com,pub,\n\"#PUBLIC@example.org\",pub,\n";
        let rows = parse_accounts_csv(Path::new("a.csv"), text).expect("parse");
        let sources: Vec<&str> = rows.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(
            sources,
            [
                "alice@example.com",
                "#public@example.com",
                "#PUBLIC@example.org"
            ],
            "comments are left out, public-folder rows are accounts"
        );
    }

    #[test]
    fn reads_what_users_writes() {
        let p = Path::new("a.csv");
        let rows = parse_accounts_csv(
            p,
            "source,target_user,secret\r\nalice@example.com,alice@example.com,\r\n\"#public@example.com\",shared,env:PUB_PW\r\nbob@example.com,\"b,ob\",file:/run/pw\r\n",
        )
        .expect("parse");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].secret, SecretRef::None);
        assert_eq!(rows[1].source, "#public@example.com");
        assert_eq!(rows[1].secret, SecretRef::Env("PUB_PW".into()));
        assert_eq!(rows[2].target_user, "b,ob");
        assert_eq!(rows[2].secret, SecretRef::File("/run/pw".into()));
        // A value neutralised for spreadsheets reads back as it was.
        let rows = parse_accounts_csv(p, "source,target_user,secret\r\n'-x@example.com,'=x,\r\n")
            .expect("parse");
        assert_eq!(rows[0].source, "-x@example.com");
        assert_eq!(rows[0].target_user, "=x");
    }

    #[test]
    fn refuses_passwords_and_bad_rows() {
        let p = Path::new("a.csv");
        let e = parse_accounts_csv(p, "source,target_user,secret\nalice,alice,hunter2\n")
            .expect_err("plain password");
        let msg = e.to_string();
        assert!(msg.contains("line 2") && !msg.contains("hunter2"), "{msg}");
        assert!(parse_accounts_csv(p, "a,b\nx,y\n").is_err());
        assert!(parse_accounts_csv(p, "source,target_user\nx,y\nX,z\n").is_err());
        assert!(parse_accounts_csv(p, "source,target_user\n,y\n").is_err());
    }

    #[test]
    fn secret_files_are_bounded_regular_files() {
        let err = |p: &Path| match read_secret_file(p) {
            Ok(_) => panic!("{} was read", p.display()),
            Err(e) => e.to_string(),
        };
        let e = err(Path::new("/dev/zero"));
        assert!(
            e.contains("a character device is not a regular file"),
            "{e}"
        );
        let d = tempfile::tempdir().expect("tmp");
        let e = err(&d.path().join("nonexistent"));
        assert!(e.contains("nonexistent: the file does not exist"), "{e}");
        let e = err(d.path());
        assert!(e.contains("a directory is not a regular file"), "{e}");
        let long = d.path().join("long");
        std::fs::write(&long, "x".repeat(5000)).expect("write");
        let e = err(&long);
        assert!(e.contains("longer than 4096 bytes"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let fifo = d.path().join("fifo");
            let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).expect("path");
            // SAFETY: mkfifo(3) with a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let e = err(&fifo);
            assert!(
                e.contains("a FIFO (named pipe) is not a regular file"),
                "{e}"
            );
        }
        // A long file whose first line is short is fine.
        let ok = d.path().join("ok");
        std::fs::write(&ok, format!("pw\r\n{}", "y".repeat(100_000))).expect("write");
        let s = read_secret_file(&ok).expect("read");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&s), "pw");
    }

    #[test]
    fn secrets_resolve() {
        std::env::set_var("KM_TEST_SECRET_RESOLVE", "s3cret");
        let s = SecretRef::Env("KM_TEST_SECRET_RESOLVE".into())
            .resolve()
            .expect("env")
            .expect("some");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&s), "s3cret");
        assert!(SecretRef::Env("KM_TEST_SECRET_UNSET_XYZ".into())
            .resolve()
            .is_err());
        let d = tempfile::tempdir().expect("tmp");
        let f = d.path().join("pw");
        std::fs::write(&f, "line1\nline2\n").expect("write");
        let s = SecretRef::File(f).resolve().expect("file").expect("some");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&s), "line1");
    }
}
