//! `cargo run --release --example journal-bench [-- ROWS]`: the journal's
//! own cost on a Maildir-sized run, without the messages. Records ROWS
//! (default 199,914: 143 folders of 1,398) done rows as the Maildir target's
//! driver does (batches of 512, one transaction each), then reads every
//! folder back as a rerun does (`done_items`), and prints user and system
//! CPU of each half. For A/B under `perf stat -e instructions:u`.

use kerio_migrate::journal::{ItemRow, Journal};
use kerio_migrate::model::{ContentHash, MailFlags};
use std::time::Instant;

fn cpu() -> (f64, f64) {
    // SAFETY: getrusage fills the struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    (t(u.ru_utime), t(u.ru_stime))
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(199_914);
    let dir = std::env::temp_dir().join(format!("journal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("kerio-migrate-journal.sqlite");
    let target = format!("maildir:{}", dir.join("maildir").display());
    let journal = Journal::open_exclusive(&path, &target, "bench").expect("journal");
    let per_folder = 1398;
    let make = |n: usize| {
        let folder = format!("Corpus-{}", n / per_folder + 1);
        let item = format!("{:08}", n % per_folder + 1);
        let hash = ContentHash::of(format!("{folder}/{item}").as_bytes());
        let size = 2000 + (n % 50_000) as u64;
        ItemRow {
            account: "bench@corpus.test".into(),
            mailbox: format!(".{folder}"),
            target_id: Some(format!(
                "1300000600.M{item}K{}.kerio-migrate,S={size},W={size}:2,S",
                &hash.to_hex()[..16]
            )),
            folder,
            item,
            hash,
            src_size: Some(size - 20),
            src_mtime: Some(1_796_316_519),
            size: Some(size),
            internal_date: Some(1_300_000_600 + n as i64),
            message_id: Some(format!("{n:012}.07B7061D-2676-487E@makita.example")),
            flags: Some(MailFlags {
                seen: true,
                ..MailFlags::default()
            }),
            ..ItemRow::default()
        }
    };
    let (u0, s0) = cpu();
    let t0 = Instant::now();
    let mut batch = Vec::with_capacity(512);
    for n in 0..rows {
        batch.push(make(n));
        if batch.len() == 512 {
            journal.record_done(&batch).expect("record");
            batch.clear();
        }
    }
    journal.record_done(&batch).expect("record");
    let (u1, s1) = cpu();
    let t1 = Instant::now();
    let mut read = 0;
    for f in 0..rows.div_ceil(per_folder) {
        let folder = format!("Corpus-{}", f + 1);
        read += journal
            .done_items("bench@corpus.test", &folder)
            .expect("read")
            .len();
    }
    let (u2, s2) = cpu();
    assert_eq!(read, rows);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "write {rows} rows: user {:.2} s, sys {:.2} s, wall {:.2} s; journal {:.1} MiB",
        u1 - u0,
        s1 - s0,
        (t1 - t0).as_secs_f64(),
        size as f64 / 1048576.0
    );
    println!(
        "read {read} rows back (done_items per folder): user {:.2} s, sys {:.2} s, wall {:.2} s",
        u2 - u1,
        s2 - s1,
        t1.elapsed().as_secs_f64()
    );
    drop(journal);
    let _ = std::fs::remove_dir_all(&dir);
}
