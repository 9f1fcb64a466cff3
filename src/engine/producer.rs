//! The producer: reads and prepares the items a folder's work list says to
//! read, in parallel, and hands them over in work-list order.
//!
//! Items are read in chunks of `chunk` items (and at most [`CHUNK_BYTES`])
//! on the rayon pool; each chunk is sent, in order, into a channel bounded
//! by count (`queue`) and by bytes ([`ByteGate`], [`QUEUE_BYTES`]), so at
//! most one chunk plus the queue of prepared messages is in memory
//! whatever the folder's size, and a queue of large messages is not 64 of
//! them.
//!
//! Invariants a maintainer must keep:
//! - one [`Produced`] per item handed over, in the work list's order, and
//!   [`Producer::run`] returns how many were handed over: the caller
//!   accounts for the rest (never produced) itself;
//! - the stop signal is looked at before each chunk, so a stop costs at
//!   most one chunk of reading;
//! - the producer decides nothing about the journal or the report: it says
//!   what it found (ready, empty, unreadable, already there by hash).

use super::worklist::{DoneRows, SrcStat};
use crate::dest::Outgoing;
use crate::message::{self, Anomalies, DateInputs, DateSource};
use crate::model::ContentHash;
use crate::source::Item;
use crossbeam_channel::Sender;
use rayon::prelude::*;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// The most message bytes waiting in the queue between the producer and
/// the session (a message larger than this still goes, alone).
pub(super) const QUEUE_BYTES: u64 = 64 * 1024 * 1024;

/// Bounds the bytes of the prepared messages in the queue: the producer
/// [`ByteGate::acquire`]s a message's size before sending it, the feed
/// [`ByteGate::release`]s it when it takes the message out.
#[derive(Debug)]
pub(super) struct ByteGate {
    cap: u64,
    held: Mutex<u64>,
    freed: Condvar,
}

impl ByteGate {
    pub fn new(cap: u64) -> ByteGate {
        ByteGate {
            cap,
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until `n` more bytes fit under the cap (at once when the queue
    /// holds none, so one large message always goes) or `stopped()` says
    /// so (the consumer drains after a stop), then counts them.
    pub fn acquire(&self, n: u64, stopped: &(dyn Fn() -> bool + Sync)) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while *held > 0 && held.saturating_add(n) > self.cap && !stopped() {
            held = match self.freed.wait_timeout(held, Duration::from_millis(100)) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        *held = held.saturating_add(n);
    }

    /// `n` bytes left the queue.
    pub fn release(&self, n: u64) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        *held = held.saturating_sub(n);
        self.freed.notify_all();
    }

    /// The bytes in the queue now.
    #[cfg(test)]
    pub fn held(&self) -> u64 {
        *self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Produced {
    /// The bytes this holds in memory (the prepared message's).
    pub fn queued_bytes(&self) -> u64 {
        match self {
            Produced::Ready(r) => r.outgoing.message.bytes.len() as u64,
            _ => 0,
        }
    }
}

/// An item the work list says to read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Work<'a> {
    pub item: &'a Item,
    /// Its stat when the work list was made.
    pub stat: SrcStat,
}

/// A message ready for the destination, with what the report and the
/// journal need to know about it.
#[derive(Debug)]
pub(super) struct Ready {
    pub outgoing: Outgoing,
    /// The source file as read (size of the bytes read, mtime).
    pub src: SrcStat,
    pub date_source: DateSource,
    pub anomalies: Anomalies,
}

/// What reading one item gave.
#[derive(Debug)]
pub(super) enum Produced {
    Ready(Box<Ready>),
    /// A 0-byte file.
    Empty {
        item: String,
    },
    /// The file could not be read.
    Unreadable {
        item: String,
        reason: String,
    },
    /// The journal has this content for the item already (its file changed
    /// size or mtime, not its content).
    KnownByHash {
        item: String,
        hash: ContentHash,
        src: SrcStat,
    },
}

/// Reads and prepares one folder's items.
pub(super) struct Producer<'a> {
    /// The journal's done rows of the folder (by content hash).
    pub done: &'a DoneRows,
    /// Unix seconds, for plausible internal dates.
    pub now: i64,
    /// Items read in parallel at a time.
    pub chunk: usize,
    /// Items larger than this are not read.
    pub max_size: u64,
    /// The queue's byte bound (released by the consumer).
    pub gate: &'a ByteGate,
}

/// The most bytes read in parallel in one chunk (a chunk always holds at
/// least one item): 32 large messages are not read at once.
const CHUNK_BYTES: u64 = 256 * 1024 * 1024;

/// `work` cut into runs of at most `n` items and `bytes` bytes (by the
/// work list's sizes; an item larger than `bytes` is a run of its own).
fn chunks<'w, 'a>(
    work: &'w [Work<'a>],
    n: usize,
    bytes: u64,
) -> impl Iterator<Item = &'w [Work<'a>]> {
    let mut rest = work;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut total = 0u64;
        let mut end = 0;
        while end < rest.len() && end < n {
            let size = rest[end].stat.size;
            if end > 0 && total.saturating_add(size) > bytes {
                break;
            }
            total = total.saturating_add(size);
            end += 1;
        }
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head)
    })
}

impl Producer<'_> {
    /// Reads `work` chunk by chunk into `tx` until it is done, `stopped()`
    /// says so before a chunk, or the receiver is gone. Returns how many
    /// items were handed over (a prefix of `work`).
    pub fn run(
        &self,
        work: &[Work<'_>],
        tx: Sender<Produced>,
        stopped: &(dyn Fn() -> bool + Sync),
    ) -> usize {
        let mut handed = 0;
        for chunk in chunks(work, self.chunk.max(1), CHUNK_BYTES) {
            if stopped() {
                break;
            }
            let batch: Vec<Produced> = chunk
                .par_iter()
                .map(|w| self.prepare(w.item, w.stat))
                .collect();
            for p in batch {
                self.gate.acquire(p.queued_bytes(), stopped);
                if tx.send(p).is_err() {
                    return handed;
                }
                handed += 1;
            }
        }
        handed
    }

    /// Reads and prepares one item.
    pub fn prepare(&self, item: &Item, stat: SrcStat) -> Produced {
        if stat.size > self.max_size {
            return Produced::Unreadable {
                item: item.id.clone(),
                reason: super::reason::too_large(stat.size, self.max_size),
            };
        }
        let (raw, mtime) = match item.read() {
            Ok(d) => (d.bytes, d.mtime),
            Err(e) => {
                return Produced::Unreadable {
                    item: item.id.clone(),
                    reason: super::reason::unreadable(e.source),
                }
            }
        };
        let src = SrcStat {
            size: raw.len() as u64,
            mtime: mtime.or(stat.mtime),
        };
        if src.size > self.max_size {
            // The file grew after it was listed.
            return Produced::Unreadable {
                item: item.id.clone(),
                reason: super::reason::too_large(src.size, self.max_size),
            };
        }
        // The Received: fields are parsed only where they can decide the
        // internal date (most items have a plausible index T).
        let before_headers = DateInputs {
            index_received: item.received(),
            index_created: item.created(),
            mtime: src.mtime,
            received_header: None,
            date_header: None,
            created_is_move_time: item.meta.as_ref().is_some_and(|m| m.created_is_move_time),
            received_newest: None,
        };
        let p = message::prepare_for(raw, message::received_needed(&before_headers, self.now));
        if p.anomalies.empty {
            return Produced::Empty {
                item: item.id.clone(),
            };
        }
        let hash = p.hash;
        if self
            .done
            .get(&item.id)
            .is_some_and(|rows| rows.iter().any(|d| d.hash == hash))
        {
            return Produced::KnownByHash {
                item: item.id.clone(),
                hash,
                src,
            };
        }
        let (internal_date, date_source) = message::internal_date(
            &DateInputs {
                received_header: p.received_header,
                date_header: p.date_header,
                received_newest: p.newest_received(self.now, item.created().map(|d| d + 86_400)),
                ..before_headers
            },
            self.now,
        );
        let anomalies = p.anomalies;
        Produced::Ready(Box::new(Ready {
            outgoing: Outgoing {
                item_id: item.id.clone(),
                flags: item.flags(),
                internal_date,
                message: p,
            },
            src,
            date_source,
            anomalies,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::DoneItem;
    use crate::model::DestRef;
    use std::path::PathBuf;

    struct Dir {
        _tmp: tempfile::TempDir,
        items: Vec<Item>,
    }

    /// A `#msgs` directory with these files (id, bytes); `None` is listed
    /// but not written (gone since the listing).
    fn dir(files: &[(&str, Option<&[u8]>)]) -> Dir {
        let tmp = tempfile::tempdir().expect("tempdir");
        let msgs = tmp.path().join("#msgs");
        std::fs::create_dir_all(&msgs).expect("mkdir");
        let mut items = Vec::new();
        for (id, bytes) in files {
            let rel = PathBuf::from(format!("{id}.eml"));
            if let Some(b) = bytes {
                std::fs::write(msgs.join(&rel), b).expect("write");
            }
            items.push(Item::new(
                id.to_string(),
                crate::source::Origin::File(msgs.join(&rel)),
                None,
            ));
        }
        Dir { _tmp: tmp, items }
    }

    /// A producer of `d` whose "now" is in 2033.
    fn producer(done: &DoneRows, chunk: usize) -> Producer<'_> {
        Producer {
            done,
            now: 2_000_000_000,
            chunk,
            max_size: super::super::DEFAULT_MAX_MESSAGE_SIZE,
            gate: Box::leak(Box::new(ByteGate::new(QUEUE_BYTES))),
        }
    }

    #[test]
    fn the_queue_is_bounded_by_bytes() {
        let d = three();
        let done = DoneRows::new();
        // Each prepared message is 17 bytes (CRLF): a 20-byte gate lets one
        // wait in the queue, never two, whatever the channel's count bound.
        let gate = ByteGate::new(20);
        let p = Producer {
            gate: &gate,
            ..producer(&done, 8)
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::scope(|s| {
            let h = s.spawn(|| p.run(&work(&d.items), tx, &|| false));
            let mut got = Vec::new();
            while got.len() < 3 {
                std::thread::sleep(std::time::Duration::from_millis(150));
                assert_eq!(rx.len(), 1, "one message queued, the next waits for bytes");
                assert_eq!(gate.held(), 17);
                let m: Produced = rx.recv().expect("message");
                gate.release(m.queued_bytes());
                got.push(kind(&m));
            }
            assert_eq!(h.join().expect("producer"), 3);
            assert_eq!(got, vec!["ready 1", "ready 2", "ready 3"]);
        });
        assert_eq!(gate.held(), 0);
    }

    fn three() -> Dir {
        let body: &[u8] = b"Subject: b\n\nx\n";
        dir(&[("1", Some(body)), ("2", Some(body)), ("3", Some(body))])
    }

    fn work(items: &[Item]) -> Vec<Work<'_>> {
        items
            .iter()
            .map(|item| Work {
                item,
                stat: SrcStat {
                    size: 0,
                    mtime: Some(7),
                },
            })
            .collect()
    }

    fn kind(p: &Produced) -> String {
        match p {
            Produced::Ready(r) => format!("ready {}", r.outgoing.item_id),
            Produced::Empty { item } => format!("empty {item}"),
            Produced::Unreadable { item, reason } => {
                format!("unreadable {item} {}", reason.starts_with("unreadable: "))
            }
            Produced::KnownByHash { item, src, .. } => format!("known {item} {}", src.size),
        }
    }

    #[test]
    fn chunks_are_bounded_by_count_and_bytes() {
        let d = three();
        let w = |size: u64| Work {
            item: &d.items[0],
            stat: SrcStat { size, mtime: None },
        };
        let work = [w(10), w(10), w(10), w(100), w(5), w(5), w(5)];
        let sizes: Vec<Vec<u64>> = chunks(&work, 3, 25)
            .map(|c| c.iter().map(|x| x.stat.size).collect())
            .collect();
        assert_eq!(
            sizes,
            vec![vec![10, 10], vec![10], vec![100], vec![5, 5, 5]]
        );
        assert_eq!(chunks(&work[..0], 3, 25).count(), 0);
    }

    #[test]
    fn says_what_it_found_in_work_list_order() {
        let msg = b"Subject: a\n\nbody\n";
        let known = message::prepare(msg.to_vec()).hash;
        let d = dir(&[
            ("1", Some(b"Subject: b\n\nx\n")),
            ("2", Some(b"")),
            ("3", None),
            ("4", Some(msg)),
        ]);
        let done: DoneRows = [(
            "4".to_string(),
            vec![DoneItem {
                hash: known,
                src_size: Some(1),
                src_mtime: None,
                mailbox: "INBOX".into(),
                target: DestRef::default(),
                size: None,
                stored_size: None,
                message_id: None,
                flags: None,
            }],
        )]
        .into();
        let p = producer(&done, 2);
        let (tx, rx) = crossbeam_channel::bounded(8);
        let handed = p.run(&work(&d.items), tx, &|| false);
        assert_eq!(handed, 4);
        let got: Vec<String> = rx.iter().map(|p| kind(&p)).collect();
        let size = msg.len();
        assert_eq!(
            got,
            vec![
                "ready 1".to_string(),
                "empty 2".into(),
                "unreadable 3 true".into(),
                format!("known 4 {size}"),
            ]
        );
    }

    #[test]
    fn a_ready_message_carries_the_file_time_and_bytes_read() {
        let d = dir(&[("1", Some(b"Subject: b\n\nx\n"))]);
        let done = DoneRows::new();
        let p = producer(&done, 1);
        let Produced::Ready(r) = p.prepare(
            &d.items[0],
            SrcStat {
                size: 99,
                mtime: None,
            },
        ) else {
            panic!("not ready");
        };
        assert_eq!(r.src.size, 14, "the size read, not the stat's");
        assert!(r.src.mtime.is_some(), "the file's mtime");
        assert_eq!(r.outgoing.message.bytes, b"Subject: b\r\n\r\nx\r\n");
        assert!(r.anomalies.bare_lf);
    }

    #[test]
    fn the_received_date_is_read_only_where_it_decides_the_internal_date() {
        // 2018-01-01 09:59:58 in Received; the index T says 2019-06-01.
        let raw: &[u8] =
            b"Received: from a by b; Mon, 1 Jan 2018 09:59:58 +0000\nSubject: r\n\nx\n";
        let d = dir(&[("1", Some(raw)), ("2", Some(raw))]);
        // The file's mtime before 1980: not plausible.
        for item in &d.items {
            let crate::source::Origin::File(path) = &item.origin else {
                panic!("a file");
            };
            let f = std::fs::File::options()
                .write(true)
                .open(path)
                .expect("open");
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000))
                .expect("mtime");
        }
        let meta = |received| crate::source::ItemMeta {
            flags: Default::default(),
            deleted: false,
            unknown_flags: false,
            received,
            created: None,
            class: None,
            created_is_move_time: false,
            index: std::sync::Arc::from(std::path::Path::new("index.fld")),
        };
        let with_t = Item {
            meta: Some(meta(Some(1_559_347_200))),
            ..d.items[0].clone()
        };
        let without = Item {
            meta: Some(meta(None)),
            ..d.items[1].clone()
        };
        let done = DoneRows::new();
        let p = producer(&done, 1);
        let stat = SrcStat {
            size: raw.len() as u64,
            mtime: None,
        };
        let Produced::Ready(r) = p.prepare(&with_t, stat) else {
            panic!("not ready");
        };
        assert_eq!(
            (r.outgoing.internal_date.timestamp(), r.date_source),
            (1_559_347_200, DateSource::IndexReceived)
        );
        assert!(
            r.outgoing.message.received_header.is_none(),
            "Received not parsed where the index T decides"
        );
        let Produced::Ready(r) = p.prepare(&without, stat) else {
            panic!("not ready");
        };
        assert_eq!(
            (r.outgoing.internal_date.timestamp(), r.date_source),
            (1_514_800_798, DateSource::ReceivedHeader)
        );
    }

    #[test]
    fn stops_before_the_next_chunk() {
        let d = three();
        let done = DoneRows::new();
        let p = producer(&done, 2);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        // Asked to stop after the first chunk: one chunk (2 items) only.
        let stop = || calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 1;
        let (tx, rx) = crossbeam_channel::bounded(8);
        assert_eq!(p.run(&work(&d.items), tx, &stop), 2);
        assert_eq!(rx.iter().count(), 2);
        // Stopped from the start: nothing is read.
        let (tx, rx) = crossbeam_channel::bounded(8);
        assert_eq!(p.run(&work(&d.items), tx, &|| true), 0);
        assert_eq!(rx.iter().count(), 0);
    }

    #[test]
    fn a_receiver_that_goes_away_ends_the_run_with_the_count_handed_over() {
        let d = three();
        let done = DoneRows::new();
        let p = producer(&done, 8);
        let (tx, rx) = crossbeam_channel::bounded(0);
        let handed = std::thread::scope(|s| {
            let h = s.spawn(|| p.run(&work(&d.items), tx, &|| false));
            let first = rx.recv().expect("one");
            assert!(matches!(first, Produced::Ready(_)));
            drop(rx);
            h.join().expect("producer")
        });
        assert_eq!(handed, 1);
    }
}
