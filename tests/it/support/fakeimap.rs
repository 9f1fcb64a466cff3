//! A scripted IMAP server for what Dovecot will not do on demand (no
//! LITERAL+, NO [TOOBIG], [THROTTLED], a connection dropped mid-batch,
//! untagged data before `+`, BYE). It speaks just enough IMAP for the
//! migration: CAPABILITY, LOGIN, AUTHENTICATE PLAIN, LIST, CREATE,
//! SUBSCRIBE, EXAMINE, UNSELECT, CLOSE, STATUS, APPEND (MULTIAPPEND, sync
//! and non-sync literals, literal8), UID FETCH (UID RFC822.SIZE
//! INTERNALDATE / BODY.PEEK[]), UID SEARCH (UID set, HEADER), LOGOUT. A
//! script decides the fate of every APPEND command. Without UIDPLUS in its
//! capabilities it answers APPEND without APPENDUID; with `rewrite` it
//! stores every message with an extra header (like servers that rewrite
//! what they store); with `refuse_chars` it refuses to create names with
//! those characters (like Cyrus).
//!
//! Scripts: [`store_all`], [`only_nth`] (every APPEND stored but one) or
//! any closure through [`script`].

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What happens to one APPEND command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Store the messages and answer OK [APPENDUID].
    Store,
    /// Store them, then close the connection without answering.
    StoreThenDrop,
    /// Close the connection before storing (after the literals were read).
    DropBeforeStore,
    /// Answer `NO <text>` (instead of `+` when the first literal is
    /// synchronising); store nothing.
    No(String),
    /// Send `* BYE` and close, storing nothing.
    Bye,
    /// Close before storing, and refuse the next N logins.
    DropBeforeStoreRefuseLogins(usize),
    /// Store, close without answering, and refuse the next N logins.
    StoreThenDropRefuseLogins(usize),
    /// Take this many milliseconds, then store and answer (a slow server:
    /// the client may have given up by then).
    DelayThenStore(u64),
    /// Store at once (the message is there while the client still waits
    /// for its UID), answer once the server has received command lines
    /// containing each of these texts, in this order (another connection's
    /// check, say), or after 20 s: a condition, not a guess of how long the
    /// client takes.
    StoreThenAnswerAfter(Vec<&'static str>),
}

/// One APPEND command as the server saw it.
#[derive(Debug, Clone)]
pub struct AppendCmd {
    /// Connection number (1-based).
    pub conn: usize,
    /// Messages (bodies) in the command.
    pub bodies: Vec<Vec<u8>>,
    /// The command's lines as sent (without literal data).
    pub lines: Vec<String>,
}

/// The script: called for every APPEND command with its index (from 0,
/// over all connections).
pub type Script = Box<dyn FnMut(usize, &AppendCmd) -> Action + Send>;

/// A script from a closure.
pub fn script(f: impl FnMut(usize, &AppendCmd) -> Action + Send + 'static) -> Script {
    Box::new(f)
}

/// Stores every APPEND.
pub fn store_all() -> Script {
    script(|_, _| Action::Store)
}

/// Stores every APPEND but the `n`th (from 0), which gets `action`.
pub fn only_nth(n: usize, action: Action) -> Script {
    script(move |i, _| {
        if i == n {
            action.clone()
        } else {
            Action::Store
        }
    })
}

impl AppendCmd {
    /// True when one of the command's messages contains `needle`.
    pub fn carries(&self, needle: &str) -> bool {
        self.bodies
            .iter()
            .any(|b| String::from_utf8_lossy(b).contains(needle))
    }
}

/// Server state.
pub struct State {
    /// Capabilities after login.
    pub caps: String,
    /// Send these untagged lines before every `+`.
    pub untagged_before_plus: Vec<String>,
    /// Mailboxes: name → (uid, body, flags line).
    pub mailboxes: BTreeMap<String, Vec<(u32, Vec<u8>)>>,
    /// Next UID.
    pub uid_next: u32,
    /// Every APPEND command received.
    pub appends: Vec<AppendCmd>,
    /// Every command line received (no literal data).
    pub lines: Vec<String>,
    /// Connections accepted.
    pub connections: usize,
    /// Refuse this many more logins.
    pub reject_auth: usize,
    /// Answer this many more logins with a temporary failure (`NO
    /// [UNAVAILABLE]`, as Dovecot does when its auth process is busy).
    pub busy_auth: usize,
    /// Refuse this many more `LIST "" ""` (the first command of a
    /// session's first flight) with `NO [UNAVAILABLE]`.
    pub refuse_list: usize,
    /// Refuse every login as one of these users (the authorization
    /// identity of an admin login): users missing on the server.
    pub refuse_logins: Vec<String>,
    /// Store every message with a header added in front.
    pub rewrite: bool,
    /// A scripted drop (`StoreThenDrop`, `DropBeforeStore`) first reads on
    /// until the connection has brought this many messages counting the
    /// dropped command's (at most 20 s; neither stored nor answered), so
    /// what is in doubt after the drop is at least that many, however slow
    /// the machine (a fixed wait of 400 ms was still a guess).
    pub drop_after_messages: usize,
    /// INTERNALDATE of every stored message, by UID, as sent in APPEND.
    pub dates: BTreeMap<u32, String>,
    /// CREATE refuses a name with any of these characters (`NO Invalid
    /// mailbox name`, as Cyrus does for `"`).
    pub refuse_chars: String,
    /// Once this many APPENDs were received the server stops answering
    /// (a stalled server or proxy): later commands, and the greeting of
    /// later connections, get nothing; the connection stays open.
    pub stall_after: Option<usize>,
    script: Script,
}

/// A running fake server.
pub struct Fake {
    /// Its port on 127.0.0.1.
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl Fake {
    /// Starts a server with these post-login capabilities.
    pub fn start(caps: &str, script: Script) -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let mut mailboxes = BTreeMap::new();
        mailboxes.insert("INBOX".to_string(), Vec::new());
        let state = Arc::new(Mutex::new(State {
            caps: caps.to_string(),
            untagged_before_plus: Vec::new(),
            mailboxes,
            uid_next: 1,
            appends: Vec::new(),
            lines: Vec::new(),
            connections: 0,
            reject_auth: 0,
            busy_auth: 0,
            refuse_list: 0,
            refuse_logins: Vec::new(),
            rewrite: false,
            drop_after_messages: 0,
            dates: BTreeMap::new(),
            refuse_chars: String::new(),
            stall_after: None,
            script,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, stp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                if stp.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(s) = s else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let n = {
                        let mut g = st.lock().expect("lock");
                        g.connections += 1;
                        g.connections
                    };
                    let _ = serve(s, st, n);
                });
            }
        });
        Fake { port, state, stop }
    }

    /// Starts a server that stores every APPEND.
    pub fn storing(caps: &str) -> Fake {
        Fake::start(caps, store_all())
    }

    /// `imap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("imap://127.0.0.1:{}", self.port)
    }

    /// The server's state, locked (drop it before the server needs it).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("lock")
    }

    /// Bodies stored in a mailbox, in UID order.
    pub fn bodies(&self, mailbox: &str) -> Vec<Vec<u8>> {
        self.state()
            .mailboxes
            .get(mailbox)
            .map(|v| v.iter().map(|(_, b)| b.clone()).collect())
            .unwrap_or_default()
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Parses an astring at the start of `s`: returns it and the rest.
fn astring(s: &str) -> (String, &str) {
    let s = s.trim_start();
    if let Some(r) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut it = r.char_indices();
        while let Some((i, c)) = it.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = it.next() {
                        out.push(n);
                    }
                }
                '"' => return (out, &r[i + 1..]),
                c => out.push(c),
            }
        }
        (out, "")
    } else {
        let end = s.find(' ').unwrap_or(s.len());
        (s[..end].to_string(), &s[end..])
    }
}

/// `{n}`, `{n+}`, `~{n+}` at the end of a line: (size, non-sync).
/// Reads (and drops) what the client pipelines until `messages` message
/// literals have come, the connection ends, or 20 s pass.
fn read_ahead(r: &mut BufReader<TcpStream>, messages: usize) {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    let _ = r.get_ref().set_read_timeout(Some(Duration::from_secs(2)));
    let mut seen = 0;
    let mut line = String::new();
    while seen < messages && std::time::Instant::now() < end {
        // A line cut by the timeout is read on, not thrown away.
        if line.ends_with('\n') {
            line.clear();
        }
        match r.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => break,
        }
        if let Some((n, _)) = literal_at_end(line.trim_end_matches(['\r', '\n'])) {
            let mut body = vec![0u8; n];
            if r.read_exact(&mut body).is_err() {
                break;
            }
            seen += 1;
        }
    }
}

fn literal_at_end(line: &str) -> Option<(usize, bool)> {
    let l = line.strip_suffix('}')?;
    let open = l.rfind('{')?;
    let inner = &l[open + 1..];
    let (num, non_sync) = match inner.strip_suffix('+') {
        Some(n) => (n, true),
        None => (inner, false),
    };
    Some((num.parse().ok()?, non_sync))
}

/// The quoted date-time of an APPEND line (before its literal), if any.
fn append_date(line: &str) -> Option<String> {
    let head = &line[..line.rfind('{')?];
    let end = head.rfind('"')?;
    let start = head[..end].rfind('"')?;
    let d = &head[start + 1..end];
    (d.len() == 26 && d.as_bytes()[2] == b'-').then(|| d.to_string())
}

/// Who a LOGIN or `AUTHENTICATE PLAIN <initial response>` line logs in
/// as: the login, or the authorization identity when there is one.
pub fn login_of(line: &str) -> String {
    let mut words = line.split(' ').skip(1);
    let cmd = words.next().unwrap_or("").to_ascii_uppercase();
    if cmd == "LOGIN" {
        let rest = line.splitn(3, ' ').nth(2).unwrap_or("");
        return astring(rest).0;
    }
    let b64 = words.nth(1).unwrap_or("");
    let sextet = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut bytes, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in b64.bytes().filter_map(sextet) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut parts = text.split('\0');
    let authzid = parts.next().unwrap_or("").to_string();
    if authzid.is_empty() {
        parts.next().unwrap_or("").to_string()
    } else {
        authzid
    }
}

/// The SEARCH keys the fake understands: UID set, HEADER name value
/// (substring, case-insensitive), OR a b, a parenthesised list; any other
/// key matches everything.
enum SearchKey {
    Uid(String),
    Header(String, String),
    Or(Box<SearchKey>, Box<SearchKey>),
    All(Vec<SearchKey>),
    Any,
}

/// An astring of a SEARCH, where an atom also ends at `)`.
fn search_word(s: &str) -> (String, &str) {
    let s = s.trim_start();
    if s.starts_with('"') {
        return astring(s);
    }
    let end = s.find([' ', ')']).unwrap_or(s.len());
    (s[..end].to_string(), &s[end..])
}

fn search_key(s: &str) -> (SearchKey, &str) {
    let s = s.trim_start();
    if let Some(mut rest) = s.strip_prefix('(') {
        let mut keys = Vec::new();
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix(')') {
                return (SearchKey::All(keys), r);
            }
            if rest.is_empty() {
                return (SearchKey::All(keys), rest);
            }
            let (k, r) = search_key(rest);
            keys.push(k);
            rest = r;
        }
    }
    let (word, r) = search_word(s);
    match word.to_ascii_uppercase().as_str() {
        "UID" => {
            let (set, r2) = search_word(r);
            (SearchKey::Uid(set), r2)
        }
        "HEADER" => {
            let (name, r2) = search_word(r);
            let (value, r3) = search_word(r2);
            (SearchKey::Header(name, value), r3)
        }
        "OR" => {
            let (a, r2) = search_key(r);
            let (b, r3) = search_key(r2);
            (SearchKey::Or(Box::new(a), Box::new(b)), r3)
        }
        _ => (SearchKey::Any, r),
    }
}

impl SearchKey {
    fn matches(&self, uid: u32, body: &[u8], max: u32) -> bool {
        match self {
            SearchKey::Uid(set) => uid_set(set, max)
                .iter()
                .any(|(a, b)| uid >= *a && uid <= *b),
            SearchKey::Header(name, value) => {
                let text = String::from_utf8_lossy(body).to_ascii_lowercase();
                let head = text.split("\r\n\r\n").next().unwrap_or("");
                let want = format!("{}:", name.to_ascii_lowercase());
                head.lines().any(|l| {
                    l.starts_with(&want) && l[want.len()..].contains(&value.to_ascii_lowercase())
                })
            }
            SearchKey::Or(a, b) => a.matches(uid, body, max) || b.matches(uid, body, max),
            SearchKey::All(keys) => keys.iter().all(|k| k.matches(uid, body, max)),
            SearchKey::Any => true,
        }
    }
}

fn uid_set(spec: &str, max: u32) -> Vec<(u32, u32)> {
    spec.split(',')
        .filter_map(|p| match p.split_once(':') {
            Some((a, b)) => {
                let a: u32 = a.parse().ok()?;
                let b: u32 = if b == "*" {
                    max.max(a)
                } else {
                    b.parse().ok()?
                };
                Some((a.min(b), a.max(b)))
            }
            None => p.parse().ok().map(|a: u32| (a, a)),
        })
        .collect()
}

fn serve(s: TcpStream, st: Arc<Mutex<State>>, conn: usize) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = s.try_clone()?;
    let mut r = BufReader::new(s);
    if stalled(&st) {
        return swallow(&mut r);
    }
    w.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] fake ready\r\n")?;
    let mut selected: Option<String> = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        st.lock().expect("lock").lines.push(line.clone());
        if stalled(&st) {
            return swallow(&mut r);
        }
        let (tag, rest) = line.split_once(' ').unwrap_or((&line, ""));
        let (cmd, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let cmd = cmd.to_ascii_uppercase();
        let out = |w: &mut TcpStream, s: String| w.write_all(s.as_bytes());
        match cmd.as_str() {
            "CAPABILITY" => {
                let caps = st.lock().expect("lock").caps.clone();
                out(&mut w, format!("* CAPABILITY {caps}\r\n{tag} OK done\r\n"))?;
            }
            "LOGIN" | "AUTHENTICATE" => {
                let (reject, busy) = {
                    let mut g = st.lock().expect("lock");
                    let user = login_of(&line);
                    let r = g.reject_auth > 0 || g.refuse_logins.contains(&user);
                    g.reject_auth = g.reject_auth.saturating_sub(1);
                    let busy = !r && g.busy_auth > 0;
                    g.busy_auth = g.busy_auth.saturating_sub(usize::from(busy));
                    (r, busy)
                };
                if busy {
                    out(
                        &mut w,
                        format!("{tag} NO [UNAVAILABLE] Temporary authentication failure.\r\n"),
                    )?;
                } else if reject {
                    out(
                        &mut w,
                        format!("{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"),
                    )?;
                } else {
                    out(&mut w, format!("{tag} OK logged in\r\n"))?;
                }
            }
            "LIST" => {
                let (_, rest) = astring(args);
                let (pat, _) = astring(rest);
                let mut resp = String::new();
                let refused = pat.is_empty() && {
                    let mut g = st.lock().expect("lock");
                    let r = g.refuse_list > 0;
                    g.refuse_list = g.refuse_list.saturating_sub(1);
                    r
                };
                if refused {
                    out(&mut w, format!("{tag} NO [UNAVAILABLE] try later\r\n"))?;
                } else {
                    if pat.is_empty() {
                        resp.push_str("* LIST (\\Noselect) \"/\" \"\"\r\n");
                    } else {
                        for name in st.lock().expect("lock").mailboxes.keys() {
                            resp.push_str(&format!("* LIST () \"/\" {}\r\n", quote(name)));
                        }
                    }
                    out(&mut w, format!("{resp}{tag} OK done\r\n"))?;
                }
            }
            "CREATE" => {
                let (name, _) = astring(args);
                let mut g = st.lock().expect("lock");
                if name.chars().any(|c| g.refuse_chars.contains(c)) {
                    drop(g);
                    out(&mut w, format!("{tag} NO Invalid mailbox name\r\n"))?;
                    continue;
                }
                g.mailboxes.entry(name).or_default();
                drop(g);
                out(&mut w, format!("{tag} OK created\r\n"))?;
            }
            "SUBSCRIBE" | "NOOP" => out(&mut w, format!("{tag} OK done\r\n"))?,
            "UNSELECT" | "CLOSE" => {
                selected = None;
                out(&mut w, format!("{tag} OK done\r\n"))?;
            }
            "EXAMINE" | "SELECT" => {
                let (name, _) = astring(args);
                let g = st.lock().expect("lock");
                let n = g.mailboxes.get(&name).map_or(0, Vec::len);
                let next = g.uid_next;
                drop(g);
                selected = Some(name);
                out(&mut w, format!(
                    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* OK [PERMANENTFLAGS ()] ro\r\n* {n} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT {next}] n\r\n{tag} OK [READ-ONLY] done\r\n"
                ))?;
            }
            "STATUS" => {
                let (name, _) = astring(args);
                let g = st.lock().expect("lock");
                let n = g.mailboxes.get(&name).map_or(0, Vec::len);
                let next = g.uid_next;
                drop(g);
                out(
                    &mut w,
                    format!(
                    "* STATUS {} (MESSAGES {n} UIDNEXT {next} UIDVALIDITY 42)\r\n{tag} OK done\r\n",
                    quote(&name)
                ),
                )?;
            }
            "UID" => {
                // UID FETCH set (items) | UID SEARCH criteria
                let mut parts = args.splitn(3, ' ');
                let sub = parts.next().unwrap_or("").to_ascii_uppercase();
                let g = st.lock().expect("lock");
                let msgs = selected
                    .as_ref()
                    .and_then(|m| g.mailboxes.get(m))
                    .cloned()
                    .unwrap_or_default();
                let dates = g.dates.clone();
                drop(g);
                let max = msgs.last().map_or(0, |m| m.0);
                if sub == "SEARCH" {
                    let criteria = args.split_once(' ').map_or("", |(_, c)| c);
                    let mut keys = Vec::new();
                    let mut rest = criteria.trim_start();
                    while !rest.is_empty() {
                        let (k, r) = search_key(rest);
                        keys.push(k);
                        rest = r.trim_start();
                    }
                    let all = SearchKey::All(keys);
                    let hits: Vec<String> = msgs
                        .iter()
                        .filter(|(uid, body)| all.matches(*uid, body, max))
                        .map(|(uid, _)| uid.to_string())
                        .collect();
                    let sp = if hits.is_empty() { "" } else { " " };
                    out(
                        &mut w,
                        format!("* SEARCH{sp}{}\r\n{tag} OK done\r\n", hits.join(" ")),
                    )?;
                    continue;
                }
                let set = parts.next().unwrap_or("");
                let items = parts.next().unwrap_or("").to_ascii_uppercase();
                let ranges = uid_set(set, max);
                let mut resp: Vec<u8> = Vec::new();
                for (i, (uid, body)) in msgs.iter().enumerate() {
                    if !ranges.iter().any(|(a, b)| uid >= a && uid <= b) {
                        continue;
                    }
                    let mut head = format!("* {} FETCH (UID {uid}", i + 1);
                    if items.contains("RFC822.SIZE") {
                        head.push_str(&format!(" RFC822.SIZE {}", body.len()));
                    }
                    if items.contains("INTERNALDATE") {
                        let d = dates
                            .get(uid)
                            .cloned()
                            .unwrap_or_else(|| "01-Jan-2020 00:00:00 +0000".into());
                        head.push_str(&format!(" INTERNALDATE \"{d}\""));
                    }
                    resp.extend(head.as_bytes());
                    if items.contains("BODY") {
                        resp.extend(format!(" BODY[] {{{}}}\r\n", body.len()).as_bytes());
                        resp.extend(body);
                    }
                    resp.extend(b")\r\n");
                }
                resp.extend(format!("{tag} OK done\r\n").as_bytes());
                w.write_all(&resp)?;
            }
            "APPEND" => {
                let (mailbox, mut rest_line) = {
                    let (m, r) = astring(args);
                    (m, r.to_string())
                };
                let mut cmd = AppendCmd {
                    conn,
                    bodies: Vec::new(),
                    lines: vec![line.clone()],
                };
                let mut dates = vec![append_date(&line)];
                let mut refused_early = None;
                while let Some((n, non_sync)) = literal_at_end(&rest_line) {
                    if !non_sync {
                        // Decide before `+` (like Dovecot, NO replaces `+`).
                        if cmd.bodies.is_empty() {
                            let probe = AppendCmd {
                                bodies: vec![b"(not yet read)".to_vec()],
                                ..cmd.clone()
                            };
                            let mut g = st.lock().expect("lock");
                            let app_index = g.appends.len();
                            let a = (g.script)(app_index, &probe);
                            if let Action::No(t) = &a {
                                refused_early = Some(t.clone());
                                g.appends.push(cmd.clone());
                                drop(g);
                                out(&mut w, format!("{tag} NO {t}\r\n"))?;
                                break;
                            }
                        }
                        let pre = st.lock().expect("lock").untagged_before_plus.clone();
                        let mut s = String::new();
                        for u in pre {
                            s.push_str(&u);
                            s.push_str("\r\n");
                        }
                        s.push_str("+ go ahead\r\n");
                        out(&mut w, s)?;
                    }
                    let mut body = vec![0u8; n];
                    r.read_exact(&mut body)?;
                    cmd.bodies.push(body);
                    let mut next = String::new();
                    if r.read_line(&mut next)? == 0 {
                        return Ok(());
                    }
                    rest_line = next.trim_end_matches(['\r', '\n']).to_string();
                    cmd.lines.push(rest_line.clone());
                    dates.push(append_date(&rest_line));
                }
                if refused_early.is_some() {
                    continue;
                }
                let action = {
                    let mut g = st.lock().expect("lock");
                    let app_index = g.appends.len();
                    let a = (g.script)(app_index, &cmd);
                    g.appends.push(cmd.clone());
                    if let Action::DropBeforeStoreRefuseLogins(n)
                    | Action::StoreThenDropRefuseLogins(n) = &a
                    {
                        g.reject_auth = *n;
                    }
                    a
                };
                let store = |st: &Arc<Mutex<State>>| -> (u32, u32) {
                    let mut g = st.lock().expect("lock");
                    let first = g.uid_next;
                    for (i, b) in cmd.bodies.iter().enumerate() {
                        let uid = g.uid_next;
                        g.uid_next += 1;
                        let mut body = b.clone();
                        if g.rewrite {
                            let mut r = b"X-Fake-Rewritten: yes\r\n".to_vec();
                            r.extend(body);
                            body = r;
                        }
                        if let Some(Some(d)) = dates.get(i) {
                            g.dates.insert(uid, d.clone());
                        }
                        g.mailboxes
                            .entry(mailbox.clone())
                            .or_default()
                            .push((uid, body));
                    }
                    (first, g.uid_next - 1)
                };
                if let Action::DelayThenStore(ms) = &action {
                    std::thread::sleep(Duration::from_millis(*ms));
                }
                if matches!(
                    action,
                    Action::StoreThenDrop
                        | Action::StoreThenDropRefuseLogins(_)
                        | Action::DropBeforeStore
                        | Action::DropBeforeStoreRefuseLogins(_)
                ) {
                    let want = st.lock().expect("lock").drop_after_messages;
                    read_ahead(&mut r, want.saturating_sub(cmd.bodies.len()));
                }
                let stored_early = match &action {
                    Action::StoreThenAnswerAfter(marks) => {
                        let from = st.lock().expect("lock").lines.len();
                        let r = store(&st);
                        let end = std::time::Instant::now() + Duration::from_secs(20);
                        let seen = |st: &Arc<Mutex<State>>| {
                            let g = st.lock().expect("lock");
                            let mut want = marks.iter().peekable();
                            for l in g.lines.iter().skip(from) {
                                if want.peek().is_some_and(|m| l.contains(**m)) {
                                    want.next();
                                }
                            }
                            want.peek().is_none()
                        };
                        while !seen(&st) && std::time::Instant::now() < end {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Some(r)
                    }
                    _ => None,
                };
                match action {
                    Action::Store | Action::DelayThenStore(_) | Action::StoreThenAnswerAfter(_) => {
                        let (a, b) = stored_early.unwrap_or_else(|| store(&st));
                        let set = if a == b {
                            a.to_string()
                        } else {
                            format!("{a}:{b}")
                        };
                        let uidplus = st.lock().expect("lock").caps.contains("UIDPLUS");
                        if uidplus {
                            out(&mut w, format!("{tag} OK [APPENDUID 42 {set}] stored\r\n"))?;
                        } else {
                            out(&mut w, format!("{tag} OK stored\r\n"))?;
                        }
                    }
                    Action::StoreThenDrop | Action::StoreThenDropRefuseLogins(_) => {
                        store(&st);
                        return Ok(());
                    }
                    Action::DropBeforeStore | Action::DropBeforeStoreRefuseLogins(_) => {
                        return Ok(())
                    }
                    Action::No(t) => out(&mut w, format!("{tag} NO {t}\r\n"))?,
                    Action::Bye => {
                        out(&mut w, "* BYE server shutting down\r\n".into())?;
                        return Ok(());
                    }
                }
            }
            "LOGOUT" => {
                out(&mut w, format!("* BYE bye\r\n{tag} OK bye\r\n"))?;
                return Ok(());
            }
            _ => out(&mut w, format!("{tag} BAD unknown command\r\n"))?,
        }
    }
}

/// True once the server stalls (see [`State::stall_after`]).
fn stalled(st: &Arc<Mutex<State>>) -> bool {
    let g = st.lock().expect("lock");
    g.stall_after.is_some_and(|n| g.appends.len() >= n)
}

/// Reads and drops whatever the client sends, answering nothing, until it
/// closes (or the read timeout).
fn swallow(r: &mut BufReader<TcpStream>) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    while r.read(&mut buf)? > 0 {}
    Ok(())
}
