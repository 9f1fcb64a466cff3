//! The file system a store is read through ([`StoreFs`]): listing a
//! directory, what a path is, reading a whole file or its head. The Kerio
//! walk (layout, folder listings, `index.fld` / `status.fld`, the cfg
//! files, the archive) reads only through it, so the same walk runs over
//! a directory on disk ([`DiskFs`]: the system calls it always made) or
//! over a backup set read in place
//! ([`ArchiveFs`](crate::source::kerio::backup::ArchiveFs): ZIP entries,
//! nothing unpacked). It also owns opening a regular file safely
//! ([`open_regular`]: a FIFO never blocks the reader) and reading one whole
//! ([`read_file`]; [`read_listed_file`] for an item the listing already
//! typed: open, `fstat`, one `read`).
//!
//! Paths stay [`Path`]s: a store read in place has paths below the backup
//! archive's own path (`/backups/F20240101T000000Z.zip/store/mail/…`), so
//! reports name the archive and the entry.

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a directory entry or a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only in a listing: [`StoreFs::stat`] follows it).
    Symlink,
    /// Anything else, in a few words (`a FIFO (named pipe)`).
    Special(&'static str),
}

impl Kind {
    /// What a path that is not a regular file is, or `None` for one.
    pub fn not_regular(self) -> Option<&'static str> {
        match self {
            Kind::File => None,
            Kind::Dir => Some("a directory"),
            Kind::Symlink => Some("a symbolic link"),
            Kind::Special(w) => Some(w),
        }
    }

    fn of(ft: &std::fs::FileType) -> Kind {
        if ft.is_symlink() {
            return Kind::Symlink;
        }
        match not_regular(ft) {
            None => Kind::File,
            Some("a directory") => Kind::Dir,
            Some(w) => Kind::Special(w),
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Its name.
    pub name: OsString,
    /// Its path (the directory's joined with the name).
    pub path: PathBuf,
    /// What it is, links not followed.
    pub kind: Kind,
}

/// What a path is, links followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// What it is (never [`Kind::Symlink`]).
    pub kind: Kind,
    /// Its size in bytes (0 for a directory read in place).
    pub len: u64,
    /// Its modification time, Unix seconds (negative before 1970).
    pub mtime: Option<i64>,
}

/// The file system a store is read through. Every method is safe to call
/// from several threads at once.
pub trait StoreFs: Send + Sync + std::fmt::Debug {
    /// The entries of directory `dir`, sorted by name.
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;

    /// What `path` is, links followed (`stat`).
    fn stat(&self, path: &Path) -> io::Result<Meta>;

    /// The bytes of regular file `path` and its modification time; any
    /// other kind of file is refused without being opened for long
    /// (a FIFO never blocks the reader).
    fn read(&self, path: &Path) -> io::Result<(Vec<u8>, Option<i64>)>;

    /// At most the first `limit` bytes of regular file `path`, and the
    /// file's whole size.
    fn read_head(&self, path: &Path, limit: u64) -> io::Result<(Vec<u8>, u64)>;

    /// Device and inode of `path` (to walk each directory once), when the
    /// file system has them.
    fn dev_ino(&self, _path: &Path) -> Option<(u64, u64)> {
        None
    }

    /// `path` with links resolved, or as given when that fails.
    fn canonical(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }

    /// True for the local file system: an item's file is then read by
    /// [`Origin::File`](super::Origin::File)'s own fast path.
    fn is_disk(&self) -> bool {
        false
    }

    /// True when `path` is a directory (links followed).
    fn is_dir(&self, path: &Path) -> bool {
        self.stat(path).is_ok_and(|m| m.kind == Kind::Dir)
    }

    /// True when `path` is a regular file (links followed).
    fn is_file(&self, path: &Path) -> bool {
        self.stat(path).is_ok_and(|m| m.kind == Kind::File)
    }
}

/// A shared [`StoreFs`], as a store and its items hold it.
pub type SharedFs = Arc<dyn StoreFs>;

/// The local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFs;

impl DiskFs {
    /// A shared handle to the local file system.
    pub fn shared() -> SharedFs {
        Arc::new(DiskFs)
    }
}

fn mtime_of(m: &std::fs::Metadata) -> Option<i64> {
    m.modified()
        .ok()
        .map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        })
}

impl StoreFs for DiskFs {
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            // The type from the listing (no stat); unknown only on file
            // systems without d_type, where std stats.
            let kind = e
                .file_type()
                .map(|t| Kind::of(&t))
                .unwrap_or(Kind::Special("of an unknown type"));
            v.push(DirEntry {
                name: e.file_name(),
                path: e.path(),
                kind,
            });
        }
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    fn stat(&self, path: &Path) -> io::Result<Meta> {
        let m = std::fs::metadata(path)?;
        Ok(Meta {
            kind: Kind::of(&m.file_type()),
            len: m.len(),
            mtime: mtime_of(&m),
        })
    }

    fn read(&self, path: &Path) -> io::Result<(Vec<u8>, Option<i64>)> {
        read_file(path)
    }

    fn read_head(&self, path: &Path, limit: u64) -> io::Result<(Vec<u8>, u64)> {
        let f = open_regular(path)?;
        let len = f.metadata()?.len();
        let mut buf = Vec::new();
        f.take(limit).read_to_end(&mut buf)?;
        Ok((buf, len))
    }

    fn dev_ino(&self, path: &Path) -> Option<(u64, u64)> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }

    fn is_disk(&self) -> bool {
        true
    }
}

/// A [`SharedFs`] in an [`Origin`](super::Origin): compared by identity,
/// shown by its [`Debug`] (which never lists a whole index).
#[derive(Clone)]
pub struct FsHandle(pub SharedFs);

impl std::fmt::Debug for FsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for FsHandle {
    fn eq(&self, other: &FsHandle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for FsHandle {}

/// A file's bytes and its modification time (Unix seconds, negative before
/// 1970).
pub fn read_file(path: &Path) -> io::Result<(Vec<u8>, Option<i64>)> {
    let (f, meta) = open_regular_with_metadata(path)?;
    let mtime = meta.modified().ok().map(signed_secs);
    Ok((read_known_len(&f, meta.len())?, mtime))
}

/// [`read_file`] for a file its directory listing already said is regular
/// (`d_type`, or a link `stat`ed to one): no `stat` by path before the
/// open. The open is still non-blocking and without a controlling
/// terminal, and the open file is checked again (`fstat`), so whatever was
/// swapped in since the listing is refused as [`read_file`] refuses it. One
/// open, one `fstat`, one `read` for a file that did not change: the
/// system calls `tar` makes.
pub fn read_listed_file(path: &Path) -> io::Result<(Vec<u8>, Option<i64>)> {
    let (f, meta) = open_checked(path)?;
    let mtime = meta.modified().ok().map(signed_secs);
    Ok((read_known_len(&f, meta.len())?, mtime))
}

/// The whole content of `f`, whose `fstat` said `len` bytes. Asks for one
/// byte more than `len`: a read that returns exactly `len` bytes is the
/// whole file (a regular file's read is short only at its end), so no
/// second read to see the end; a file that grew or shrank since is read on
/// to its end. The buffer has room for a CR before every LF of lines of 32
/// bytes on average: a message with bare LF line ends is made CRLF in place
/// (`message::lines::normalize_known`), not copied into a larger buffer.
fn read_known_len(f: &std::fs::File, len: u64) -> io::Result<Vec<u8>> {
    let want = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(1))
        .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "file too large"))?;
    let room = want.saturating_add(want / 32 + 2);
    let mut buf: Vec<u8> = Vec::with_capacity(room);
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.len().clamp(8192, 1 << 20));
        }
        let n = read_into_spare(f, &mut buf)?;
        if n == 0 || (buf.len() as u64 == len && buf.len() < buf.capacity()) {
            return Ok(buf);
        }
    }
}

/// One `read` into `buf`'s spare capacity; the bytes read (0 at the end).
#[cfg(unix)]
fn read_into_spare(f: &std::fs::File, buf: &mut Vec<u8>) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    loop {
        let spare = buf.spare_capacity_mut();
        // SAFETY: `read` writes at most `spare.len()` bytes into `spare`,
        // which is allocated and owned by `buf`.
        let n = unsafe { libc::read(f.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let n = n as usize;
        // SAFETY: the kernel initialised the first `n` spare bytes.
        unsafe { buf.set_len(buf.len() + n) };
        return Ok(n);
    }
}

#[cfg(not(unix))]
fn read_into_spare(mut f: &std::fs::File, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = vec![0u8; buf.capacity() - buf.len()];
    let n = loop {
        match f.read(&mut chunk) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => break r?,
        }
    };
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// What a file that is not a regular file is, in a few words (`a FIFO`,
/// `a directory`), or `None` for a regular file.
pub fn not_regular(ft: &std::fs::FileType) -> Option<&'static str> {
    if ft.is_file() {
        return None;
    }
    if ft.is_dir() {
        return Some("a directory");
    }
    if ft.is_symlink() {
        return Some("a symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if ft.is_socket() {
            return Some("a socket");
        }
        if ft.is_block_device() {
            return Some("a block device");
        }
        if ft.is_char_device() {
            return Some("a character device");
        }
    }
    Some("not a regular file")
}

/// Opens `path` for reading only when it is a regular file. The type is
/// checked before opening (`stat`, which never blocks) and again on the
/// open file; the open itself is non-blocking, so a FIFO swapped in
/// between cannot hang the reader. Anything else fails with
/// [`io::ErrorKind::InvalidInput`] saying what the file is.
pub fn open_regular(path: &Path) -> io::Result<std::fs::File> {
    open_regular_with_metadata(path).map(|(f, _)| f)
}

/// [`open_regular`], with the open file's metadata (read once).
fn open_regular_with_metadata(path: &Path) -> io::Result<(std::fs::File, std::fs::Metadata)> {
    let refuse = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file: not opened"),
        )
    };
    if let Some(what) = not_regular(&std::fs::metadata(path)?.file_type()) {
        return Err(refuse(what));
    }
    open_checked(path)
}

/// Opens `path` non-blocking, without a controlling terminal, and refuses
/// it unless the open file is a regular file (its metadata, from `fstat`).
fn open_checked(path: &Path) -> io::Result<(std::fs::File, std::fs::Metadata)> {
    let refuse = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file: not opened"),
        )
    };
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let f = o.open(path)?;
    let meta = f.metadata()?;
    if let Some(what) = not_regular(&meta.file_type()) {
        return Err(refuse(what));
    }
    Ok((f, meta))
}

/// `stat` of many files, most of them in the same few directories (a
/// folder's items): each directory is opened once (`O_PATH`) and its files
/// are stat'ed relative to it, so the kernel walks one name per file, not
/// the whole path (a sync stats every item of the store). Follows a
/// symbolic link, as [`std::fs::metadata`]. One per thread.
#[derive(Default)]
pub struct DirStat {
    #[cfg(unix)]
    dir: Option<(PathBuf, std::os::fd::OwnedFd)>,
}

impl DirStat {
    /// The size and the modification time (seconds; `None` before 1970)
    /// of `path`.
    pub fn stat(&mut self, path: &Path) -> io::Result<(u64, Option<i64>)> {
        #[cfg(unix)]
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            if let Some(fd) = self.dir_fd(parent) {
                return fstatat(fd, name);
            }
        }
        let m = std::fs::metadata(path)?;
        let mtime = m.modified().ok().map(signed_secs).filter(|t| *t >= 0);
        Ok((m.len(), mtime))
    }

    /// The open directory `parent` (opened now when it is another one);
    /// `None` when it cannot be opened (the full path is stat'ed then, for
    /// the error it gives).
    #[cfg(unix)]
    fn dir_fd(&mut self, parent: &Path) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::{AsFd, FromRawFd, OwnedFd};
        use std::os::unix::ffi::OsStrExt;
        if self.dir.as_ref().is_none_or(|(p, _)| p != parent) {
            self.dir = None;
            let dir = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
            // SAFETY: `c` is a NUL-terminated path; the fd returned (if
            // any) is owned by the OwnedFd below and closed when dropped.
            let fd = unsafe {
                libc::open(
                    c.as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                return None;
            }
            // SAFETY: `fd` was just opened and nothing else owns it.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            self.dir = Some((parent.to_path_buf(), owned));
        }
        self.dir.as_ref().map(|(_, fd)| fd.as_fd())
    }
}

/// `fstatat(dir, name)`, following a symbolic link.
#[cfg(unix)]
fn fstatat(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::OsStr,
) -> io::Result<(u64, Option<i64>)> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(name.as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `dir` is an open directory, `c` NUL-terminated, and `st` is
    // written by the call before it is read (only when it succeeded).
    let rc = unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), st.as_mut_ptr(), 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatat returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    let mtime = Some(st.st_mtime).filter(|t| *t >= 0);
    Ok((st.st_size.max(0) as u64, mtime))
}

fn signed_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_lf_message_read_is_made_crlf_in_its_own_buffer() {
        // Lines of 40 bytes with bare LF: the read's room takes the CRs,
        // the prepared bytes are where the file was read to (not copied).
        let t = tempfile::tempdir().expect("tmp");
        let line = format!("{}\n", "x".repeat(39));
        let text = format!("Subject: s\n\n{}", line.repeat(2000));
        let p = t.path().join("m.eml");
        std::fs::write(&p, &text).expect("write");
        let f = std::fs::File::open(&p).expect("open");
        let buf = read_known_len(&f, text.len() as u64).expect("read");
        assert_eq!(buf, text.as_bytes());
        let at = buf.as_ptr();
        let prepared = crate::message::prepare(buf);
        assert_eq!(prepared.bytes.len(), text.len() + 2002);
        assert!(prepared.bytes.windows(2).filter(|w| w == b"\r\n").count() == 2002);
        assert_eq!(prepared.bytes.as_ptr(), at, "normalised in place");
    }

    #[test]
    fn disk_lists_sorted_with_kinds_and_reads_heads() {
        let t = tempfile::tempdir().expect("tmp");
        std::fs::write(t.path().join("b.eml"), b"0123456789").expect("write");
        std::fs::create_dir(t.path().join("a")).expect("mkdir");
        let fs = DiskFs;
        let names: Vec<(String, Kind)> = fs
            .read_dir(t.path())
            .expect("list")
            .into_iter()
            .map(|e| (e.name.to_string_lossy().into_owned(), e.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("a".to_string(), Kind::Dir),
                ("b.eml".to_string(), Kind::File)
            ]
        );
        let (head, len) = fs.read_head(&t.path().join("b.eml"), 4).expect("head");
        assert_eq!((head.as_slice(), len), (&b"0123"[..], 10));
        assert!(fs.is_dir(&t.path().join("a")) && !fs.is_file(&t.path().join("a")));
        assert_eq!(fs.stat(&t.path().join("b.eml")).expect("stat").len, 10);
        assert!(
            fs.read(&t.path().join("a")).is_err(),
            "a directory is not read"
        );
        assert!(fs.read_dir(&t.path().join("none")).is_err());
    }

    #[test]
    fn listed_files_are_read_whole_and_non_regular_ones_refused() {
        let t = tempfile::tempdir().expect("tmp");
        for len in [0usize, 1, 8191, 8192, 100_000] {
            let p = t.path().join(format!("{len}.eml"));
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&p, &bytes).expect("write");
            let (got, mtime) = read_listed_file(&p).expect("read");
            assert_eq!(got, bytes, "{len} bytes");
            assert!(mtime.is_some());
            assert_eq!(read_file(&p).expect("read").0, bytes);
        }
        // A file longer than its fstat said (appended to in between) is read
        // to its end, one shorter stops at its end.
        let p = t.path().join("g.eml");
        std::fs::write(&p, b"0123456789").expect("write");
        let f = std::fs::File::open(&p).expect("open");
        assert_eq!(read_known_len(&f, 4).expect("read"), b"0123456789");
        let f = std::fs::File::open(&p).expect("open");
        assert_eq!(read_known_len(&f, 20).expect("read"), b"0123456789");
        let e = read_listed_file(t.path()).expect_err("a directory");
        assert!(e.to_string().contains("a directory"), "{e}");
        #[cfg(unix)]
        {
            let fifo = t.path().join("fifo.eml");
            let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("cstring");
            // SAFETY: mkfifo with a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            // Swapped in after the listing: opened without blocking, refused.
            let e = read_listed_file(&fifo).expect_err("a FIFO");
            assert!(e.to_string().contains("FIFO"), "{e}");
        }
    }

    #[test]
    fn stats_relative_to_the_directory_agree_with_the_full_path() {
        let t = tempfile::tempdir().expect("tmp");
        let a = t.path().join("a");
        let b = t.path().join("b");
        std::fs::create_dir(&a).expect("mkdir");
        std::fs::create_dir(&b).expect("mkdir");
        std::fs::write(a.join("1.eml"), b"12345").expect("write");
        std::fs::write(b.join("2.eml"), b"123").expect("write");
        let old = filetime::FileTime::from_unix_time(1_000_000_000, 0);
        filetime::set_file_mtime(b.join("2.eml"), old).expect("mtime");
        let before = filetime::FileTime::from_unix_time(-5, 0);
        std::fs::write(a.join("old.eml"), b"1").expect("write");
        filetime::set_file_mtime(a.join("old.eml"), before).expect("mtime");
        let mut dirs = DirStat::default();
        // One directory, another, back: each answer is its own file's.
        let one = dirs.stat(&a.join("1.eml")).expect("stat");
        let m = std::fs::metadata(a.join("1.eml")).expect("metadata");
        assert_eq!(one, (5, Some(signed_secs(m.modified().expect("mtime")))));
        assert_eq!(
            dirs.stat(&b.join("2.eml")).expect("stat"),
            (3, Some(1_000_000_000))
        );
        assert_eq!(
            dirs.stat(&a.join("old.eml")).expect("stat"),
            (1, None),
            "before 1970"
        );
        // A missing file, a missing directory: the errors of the full path.
        let e = dirs.stat(&a.join("none.eml")).expect_err("missing");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = dirs
            .stat(&t.path().join("c/3.eml"))
            .expect_err("no directory");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        // A file replaced after its directory was opened is seen as it is now.
        std::fs::remove_file(a.join("1.eml")).expect("rm");
        std::fs::write(a.join("1.eml"), b"1234567").expect("write");
        assert_eq!(dirs.stat(&a.join("1.eml")).expect("stat").0, 7);
        #[cfg(unix)]
        {
            // A symbolic link is followed, as std::fs::metadata does.
            std::os::unix::fs::symlink(b.join("2.eml"), a.join("link.eml")).expect("symlink");
            assert_eq!(dirs.stat(&a.join("link.eml")).expect("stat").0, 3);
            std::os::unix::fs::symlink(a.join("loop.eml"), a.join("loop.eml")).expect("loop");
            assert!(dirs.stat(&a.join("loop.eml")).is_err(), "a symlink loop");
        }
    }
}
