//! The faults `tests/imap_fake.rs` provokes over TCP, replayed on the core
//! with a scripted server: no sockets, no sleeps, no threads, so each
//! interleaving is exact and repeatable. Each test names the fake-server
//! test it mirrors.
//!
//! The harness: [`Server`] is a mailbox that parses what the client writes
//! (APPEND / MULTIAPPEND, sync and non-sync literals) and answers as its
//! script says, like `tests/common/fakeimap.rs`; [`Conns`] runs a [`Lane`]
//! over it the way `worker::worker` runs one over a socket (connect, pause,
//! recreate, [`drive`], [`Lane::recover`] with a check that reads the
//! server); [`World`] is the dispatcher's [`Link`] to those connections,
//! with a [`FakeClock`] that only moves when something waits.
//!
//! [`pipe`] talks to the append pipe alone with scripted bytes;
//! [`connection`] holds the scenarios of one connection (pipelining,
//! refusals, losses, checks); [`account`] those that need the dispatcher
//! (policies, the byte budget, the journal, the next run's check).

mod account;
mod connection;
mod harness;
mod pipe;
mod server;
