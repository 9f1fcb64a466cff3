//! Which messages of a mailbox the journal does not account for, asked of
//! the server instead of read from it: `EXAMINE` and `UID SEARCH NOT UID
//! <known>` in one flight, the known UIDs as ranges. A mailbox this tool
//! filled answers with no UID at all, where reading every UID and size
//! (`UID FETCH 1:*`) costs a line per message; `deliver` asks it before
//! every folder of a rerun or a sync. The same flight also gives EXISTS:
//! EXISTS less the unknown UIDs is how many of the known ones are still
//! there, so `sync` learns that none of its copies is gone without a line
//! per message ([`ImapSession::examine_counted`]).

use super::{wire_mailbox, ImapSession};
use crate::dest::imap::error::ImapError;
use imap_next::imap_types::{
    command::CommandBody,
    core::Vec1,
    response::{Code, Data},
    search::SearchKey,
    sequence::{SeqOrUid, Sequence, SequenceSet},
};
use std::num::NonZeroU32;

/// Ranges a `NOT UID` set may have before the probe is not worth its
/// command line (servers bound a line; 1,000 ranges are ~12 KB).
const MAX_RANGES: usize = 1000;

/// A mailbox's UIDVALIDITY and the UIDs it holds that were not known.
pub(crate) type Unknown = (Option<u32>, Vec<u32>);

/// What [`ImapSession::examine_counted`] learns of a mailbox.
pub(crate) struct Counted {
    pub uid_validity: Option<u32>,
    /// EXISTS (`None`: the server sent none).
    pub exists: Option<u32>,
    /// The UIDs it holds that were not known.
    pub unknown: Vec<u32>,
}

impl ImapSession {
    /// EXAMINE `name`, `UID SEARCH NOT UID known` and leaving the mailbox
    /// (UNSELECT, where the server has it) in one flight: one round trip
    /// where the answer is "nothing unknown", as it usually is. Without
    /// UNSELECT the mailbox stays examined (call [`Self::unselect`]). A
    /// caller that reads on opens it again and checks its UIDVALIDITY. Its
    /// UIDVALIDITY and the UIDs it holds that are not in `known`.
    /// `Ok(None)` when `known` is empty or too scattered for one command
    /// line (no command sent): the caller reads the mailbox instead.
    pub(crate) fn examine_unknown(
        &mut self,
        name: &str,
        known: &[u32],
    ) -> Result<Option<Unknown>, ImapError> {
        Ok(self
            .examine_counted(name, known)?
            .map(|c| (c.uid_validity, c.unknown)))
    }

    /// [`Self::examine_unknown`], with the EXISTS the mailbox answered.
    pub(crate) fn examine_counted(
        &mut self,
        name: &str,
        known: &[u32],
    ) -> Result<Option<Counted>, ImapError> {
        let Some(set) = ranges(known) else {
            return Ok(None);
        };
        self.unselect()?;
        let not_known = SearchKey::Not(Box::new(SearchKey::Uid(set)));
        let mut cmds = vec![
            CommandBody::examine(wire_mailbox(name)?)
                .map_err(|e| ImapError::Invalid(format!("{e:?}")))?,
            CommandBody::search(None, Vec1::from(not_known), true),
        ];
        let leave = self.caps.unselect;
        if leave {
            cmds.push(CommandBody::Unselect);
        }
        let answers = self.flight(cmds)?;
        self.refused(&answers[0], "EXAMINE", name)?;
        // Left when the UNSELECT was answered OK (a failed SEARCH does not
        // stop it).
        self.selected = !leave || self.refused(&answers[2], "UNSELECT", name).is_err();
        self.refused(&answers[1], "UID SEARCH", "NOT UID")?;
        let uv = answers[0].codes.iter().find_map(|c| match c {
            Code::UidValidity(n) => Some(n.get()),
            _ => None,
        });
        // The last EXISTS (a message arriving meanwhile raises it, and its
        // UID is then among the unknown ones too).
        let exists = answers
            .iter()
            .flat_map(|a| a.data.iter())
            .filter_map(|d| match d {
                Data::Exists(n) => Some(*n),
                _ => None,
            })
            .next_back();
        let mut unknown: Vec<u32> = answers
            .iter()
            .flat_map(|a| a.data.iter())
            .filter_map(|d| match d {
                Data::Search(uids, ..) => Some(uids.iter().map(|u| u.get())),
                _ => None,
            })
            .flatten()
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        Ok(Some(Counted {
            uid_validity: uv,
            exists,
            unknown,
        }))
    }
}

/// `uids` as a set of ranges (`1:1398,1400:1412`), `None` when empty or
/// more than [`MAX_RANGES`] ranges.
fn ranges(uids: &[u32]) -> Option<SequenceSet> {
    let mut sorted: Vec<u32> = uids.iter().copied().filter(|u| *u > 0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<Sequence> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        let v = |n: u32| NonZeroU32::new(n).map(SeqOrUid::Value);
        out.push(if start == end {
            Sequence::Single(v(start)?)
        } else {
            Sequence::Range(v(start)?, v(end)?)
        });
        if out.len() > MAX_RANGES {
            return None;
        }
        i += 1;
    }
    Vec1::try_from(out).ok().map(SequenceSet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_next::imap_types::IntoStatic;

    #[test]
    fn uids_become_ranges_and_scattered_sets_are_refused() {
        let set = ranges(&[5, 1, 2, 3, 9, 10, 0, 3]).expect("a set");
        let got: Vec<String> = set
            .into_static()
            .0
            .into_iter()
            .map(|s| match s {
                Sequence::Single(a) => a.to_non_zero_u32().to_string(),
                Sequence::Range(a, b) => {
                    format!("{}:{}", a.to_non_zero_u32(), b.to_non_zero_u32())
                }
            })
            .collect();
        assert_eq!(got, ["1:3", "5", "9:10"]);
        assert!(ranges(&[]).is_none());
        let scattered: Vec<u32> = (1..=2 * MAX_RANGES as u32 + 4).step_by(2).collect();
        assert!(ranges(&scattered).is_none());
    }
}
