//! Names on the Maildir target: a folder's Maildir++ directory name
//! (modified UTF-7, listescape `\NN` escapes, the folder mapping first),
//! a message file's deterministic base name, and the `:2,` info letters
//! of its flags.

use super::MaildirOptions;
use crate::dest::{FlagChange, MailFlags, MailboxPlan, MailboxSpec, Outgoing};
use crate::mapping::MapSource;
use crate::mutf7 as names;

/// Escapes one decoded folder-name component for a Maildir++ directory
/// name: modified UTF-7, then `\NN` for the characters listescape escapes.
pub fn escape_component(name: &str, dot_char: Option<char>) -> String {
    let replaced;
    let name = match dot_char {
        Some(c) => {
            replaced = name.replace('.', &c.to_string());
            replaced.as_str()
        }
        None => name,
    };
    let encoded = names::encode(name);
    let mut out = String::with_capacity(encoded.len() + 4);
    for (i, c) in encoded.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\5c"),
            '.' => out.push_str("\\2e"),
            '/' => out.push_str("\\2f"),
            '~' if i == 0 => out.push_str("\\7e"),
            c => out.push(c),
        }
    }
    out
}

/// The Maildir++ directory name of a folder (`None` for INBOX itself,
/// which is the account root).
pub fn folder_dir_name(components: &[String], dot_char: Option<char>) -> Option<String> {
    if components.len() == 1 && components[0] == "INBOX" {
        return None;
    }
    let mut s = String::new();
    for c in components {
        s.push('.');
        s.push_str(&escape_component(c, dot_char));
    }
    Some(s)
}

fn sanitize_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The deterministic base name (before `,S=`) of a message file.
pub fn base_name(msg: &Outgoing) -> String {
    format!(
        "{}.M{}K{}.kerio-migrate",
        msg.internal_date.timestamp().max(0),
        sanitize_id(&msg.item_id),
        &msg.message.hash.to_hex()[..16]
    )
}

/// A Maildir file name with `change` applied to its `:2,` info: the four
/// system letters (D F R S) added or removed, every other letter (`T`,
/// keywords) kept, in ASCII order as the Maildir spec wants.
pub(super) fn renamed_info(name: &str, change: &FlagChange) -> String {
    let (stem, info) = match name.split_once(":2,") {
        Some((stem, info)) => (stem, info),
        None => (name, ""),
    };
    let (add, remove) = change.delta();
    let mut letters: Vec<char> = info.chars().collect();
    let removed = info_flags(remove);
    letters.retain(|c| !removed.contains(*c));
    for c in info_flags(add).chars() {
        if !letters.contains(&c) {
            letters.push(c);
        }
    }
    letters.sort_unstable();
    letters.dedup();
    format!("{stem}:2,{}", letters.into_iter().collect::<String>())
}

/// The four system flags a Maildir file name's `:2,` info gives (none
/// without one: a file in `new/`).
pub(super) fn name_flags(name: &str) -> MailFlags {
    let info = name.split_once(":2,").map_or("", |(_, info)| info);
    MailFlags {
        draft: info.contains('D'),
        flagged: info.contains('F'),
        answered: info.contains('R'),
        seen: info.contains('S'),
    }
}

/// Maildir info flags, in the ASCII order Maildir requires.
pub fn info_flags(f: MailFlags) -> String {
    let mut s = String::new();
    if f.draft {
        s.push('D');
    }
    if f.flagged {
        s.push('F');
    }
    if f.answered {
        s.push('R');
    }
    if f.seen {
        s.push('S');
    }
    s
}

/// The Maildir directory a source folder goes to, and how that was chosen.
pub(super) fn explain(opts: &MaildirOptions, spec: &MailboxSpec) -> MailboxPlan {
    let (components, how, notes) = match &opts.mapper {
        Some(m) => {
            let r = m.map_components(&spec.components);
            (r.components, r.how, r.notes)
        }
        None => (spec.components.clone(), MapSource::Default, Vec::new()),
    };
    MailboxPlan {
        name: folder_dir_name(&components, opts.dot_char).unwrap_or_else(|| "INBOX".into()),
        how: Some(how),
        notes,
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MaildirDest, MaildirOptions};
    use super::*;
    use crate::dest::{DestRef, Planner};
    use crate::mapping::Mapper;
    use crate::model::Account;
    use std::sync::Arc;

    fn comps(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    #[test]
    fn folder_names() {
        assert_eq!(folder_dir_name(&comps("INBOX"), None), None);
        assert_eq!(
            folder_dir_name(&comps("INBOX/Projects"), None).as_deref(),
            Some(".INBOX.Projects")
        );
        assert_eq!(
            folder_dir_name(&comps("Sent Items"), None).as_deref(),
            Some(".Sent Items")
        );
        assert_eq!(
            folder_dir_name(&comps("Crédit Agricole/ivan.ivanov"), None).as_deref(),
            Some(".Cr&AOk-dit Agricole.ivan\\2eivanov")
        );
        assert_eq!(
            folder_dir_name(&comps("ivan.ivanov"), Some('_')).as_deref(),
            Some(".ivan_ivanov")
        );
        assert_eq!(
            folder_dir_name(&comps("a\\b"), None).as_deref(),
            Some(".a\\5cb")
        );
        assert_eq!(
            folder_dir_name(&comps("~x~"), None).as_deref(),
            Some(".\\7ex~")
        );
        assert_eq!(
            folder_dir_name(&comps("R&D"), None).as_deref(),
            Some(".R&-D")
        );
        assert_eq!(
            folder_dir_name(&comps(".."), None).as_deref(),
            Some(".\\2e\\2e")
        );
        assert_eq!(
            folder_dir_name(&["a/b".to_string()], None).as_deref(),
            Some(".a\\2fb")
        );
    }

    #[test]
    fn mapped_names_and_planning_sessions() {
        use crate::mapping::{MappingConfig, Preset, TargetFolders};
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("not-yet");
        let config = MappingConfig {
            preset: Some(Preset::Dovecot),
            prefix: Some("Kerio/".into()),
            ..MappingConfig::default()
        };
        let opts = MaildirOptions {
            mapper: Some(Arc::new(Mapper::new(&config, &TargetFolders::maildir()))),
            ..MaildirOptions::default()
        };
        let target = MaildirDest::for_plan(&root, opts).expect("target");
        let account = Account {
            domain: "example.com".into(),
            local: "alice".into(),
            dir: dir.path().join("src"),
            public: false,
        };
        let mut s = target.plan_session(&account);
        let name = |s: &mut Box<dyn Planner>, p: &str| {
            s.plan_mailbox(&MailboxSpec {
                source_path: p.into(),
                components: comps(p),
            })
            .expect("name")
        };
        assert_eq!(name(&mut s, "INBOX"), "INBOX");
        assert_eq!(name(&mut s, "INBOX/Sub"), ".INBOX.Sub");
        assert_eq!(name(&mut s, "Sent Items"), ".Sent");
        assert_eq!(name(&mut s, "Sent Items/2019"), ".Sent.2019");
        assert_eq!(
            name(&mut s, "Crédit/ivan.ivanov"),
            ".Kerio.Cr&AOk-dit.ivan\\2eivanov"
        );
        let spec = MailboxSpec {
            source_path: "Junk E-mail".into(),
            components: comps("Junk E-mail"),
        };
        let p = s.explain_mailbox(&spec).expect("explain");
        assert_eq!(p.name, ".Junk");
        assert_eq!(p.how, Some(MapSource::Special));
        // Planning creates nothing, not even on finish (a planner cannot
        // create mailboxes or deliver).
        s.finish().expect("finish");
        assert!(!root.exists());
        // Without a mapper the names are as they always were.
        let target = MaildirDest::for_plan(&root, MaildirOptions::default()).expect("target");
        let mut s = target.plan_session(&account);
        assert_eq!(name(&mut s, "Sent Items"), ".Sent Items");
    }

    #[test]
    fn sync_renames_only_the_four_system_letters() {
        let ch = FlagChange {
            target: DestRef::default(),
            from: MailFlags {
                flagged: true,
                ..MailFlags::default()
            },
            to: MailFlags {
                seen: true,
                ..MailFlags::default()
            },
        };
        assert_eq!(
            renamed_info("1.M1,S=5,W=5:2,FTa", &ch),
            "1.M1,S=5,W=5:2,STa"
        );
        assert_eq!(renamed_info("1.M1", &ch), "1.M1:2,S");
    }

    #[test]
    fn flags_in_order() {
        let f = MailFlags {
            seen: true,
            answered: true,
            flagged: true,
            draft: true,
        };
        assert_eq!(info_flags(f), "DFRS");
        assert_eq!(info_flags(MailFlags::default()), "");
        assert_eq!(name_flags("1.M1,S=5,W=5:2,DFRSa"), f);
        assert_eq!(name_flags("1.M1,S=5,W=5:2,Ta"), MailFlags::default());
        assert_eq!(name_flags("1.M1,S=5,W=5"), MailFlags::default());
    }
}
