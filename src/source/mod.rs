//! Sources: where the items to migrate come from. [`kerio`] reads a Kerio
//! Connect store (an install directory, `store/`, `store/mail`, or backup
//! ZIPs unpacked by [`kerio::backup`]).

pub mod kerio;
