//! Tests of the folder mapping: presets, special folders, renames, rules,
//! prefix, sanitising, the account-wide check, and properties (no empty
//! component, never the delimiter, deterministic) over random names.

use super::*;
use proptest::prelude::*;

fn cfg(preset: Option<Preset>) -> MappingConfig {
    MappingConfig {
        preset,
        ..MappingConfig::default()
    }
}

fn offline(preset: Preset) -> Mapper {
    Mapper::new(&cfg(Some(preset)), &TargetFolders::offline(Some(preset)))
}

fn target(m: &Mapper, p: &str) -> String {
    m.display(&m.map(p))
}

/// What Gmail's LIST says for a German account.
fn gmail_de() -> TargetFolders {
    TargetFolders {
        delimiter: Some('/'),
        special_use: vec![
            (SpecialUse::Sent, "[Google Mail]/Gesendet".into()),
            (SpecialUse::Trash, "[Google Mail]/Papierkorb".into()),
            (SpecialUse::Junk, "[Google Mail]/Spam".into()),
            (SpecialUse::Drafts, "[Google Mail]/Entwürfe".into()),
            (SpecialUse::All, "[Google Mail]/Alle Nachrichten".into()),
        ],
        existing: vec![
            "INBOX".into(),
            "[Google Mail]".into(),
            "[Google Mail]/Gesendet".into(),
            "Projects".into(),
        ],
        utf8: true,
        namespace: None,
        well_known_fallback: true,
    }
}

#[test]
fn default_mapping_is_the_same_path() {
    let m = Mapper::new(&MappingConfig::default(), &TargetFolders::offline(None));
    for p in [
        "INBOX",
        "INBOX/Projects/2024",
        "Crédit Agricole",
        "Say \"Hello\"",
    ] {
        let r = m.map(p);
        assert_eq!(m.display(&r), p);
        assert_eq!(r.how, MapSource::Default);
        assert!(r.notes.is_empty(), "{p}: {:?}", r.notes);
    }
    // Special folders have nowhere to go without a preset or LIST.
    let r = m.map("Sent Items");
    assert_eq!(r.components, ["Sent Items"]);
    assert_eq!(r.how, MapSource::Special);
    assert!(r.notes[0].contains("no \\Sent mailbox known"));
}

#[test]
fn inbox_in_any_case_is_inbox() {
    let m = offline(Preset::Dovecot);
    assert_eq!(target(&m, "inbox"), "INBOX");
    assert_eq!(target(&m, "Inbox/Sub"), "INBOX/Sub");
    assert_eq!(m.map("INBOX").how, MapSource::Default);
}

#[test]
fn gmail_preset_offline() {
    let m = offline(Preset::Gmail);
    assert_eq!(target(&m, "Sent Items"), "[Gmail]/Sent Mail");
    assert_eq!(target(&m, "Deleted Items"), "[Gmail]/Trash");
    assert_eq!(target(&m, "Junk E-mail"), "[Gmail]/Spam");
    assert_eq!(target(&m, "Drafts"), "[Gmail]/Drafts");
    assert_eq!(target(&m, "sent messages"), "[Gmail]/Sent Mail");
    assert_eq!(target(&m, "Spam"), "[Gmail]/Spam");
    assert_eq!(m.map("Sent Items").how, MapSource::Special);
    // Trash and Spam are emptied by Gmail: said so.
    assert!(m
        .map("Deleted Items")
        .notes
        .iter()
        .any(|n| n.contains("30 days")));
    // Gmail's system labels have no children: subfolders stay folders.
    let r = m.map("Sent Items/2019");
    assert_eq!(m.display(&r), "Sent Items/2019");
    assert_eq!(r.how, MapSource::Default);
    assert!(r.notes[0].contains("ordinary folder"));
    // Whitespace and '^'.
    assert_eq!(target(&m, "  Old   Stuff "), "Old Stuff");
    assert_eq!(target(&m, "a^b/ c "), "a_b/c");
    assert!(m.case_insensitive());
}

#[test]
fn gmail_online_localised_names() {
    let m = Mapper::new(&cfg(Some(Preset::Gmail)), &gmail_de());
    assert_eq!(target(&m, "Sent Items"), "[Google Mail]/Gesendet");
    assert_eq!(target(&m, "Drafts"), "[Google Mail]/Entwürfe");
    assert_eq!(
        m.map("Sent Items").notes,
        ["\\Sent mailbox (from the server's SPECIAL-USE)"]
    );
    // Existing spelling wins on a case-insensitive target.
    let r = m.map("projects/2020");
    assert_eq!(m.display(&r), "Projects/2020");
    assert!(r.notes.iter().any(|n| n.contains("existing mailbox")));
}

#[test]
fn special_use_from_list_wins_over_config_and_preset() {
    let mut c = cfg(Some(Preset::Gmail));
    c.special_targets
        .insert(SpecialUse::Sent, "[Google Mail]/Sent Mail".into());
    // Offline: the config beats the preset.
    let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Gmail)));
    assert_eq!(target(&m, "Sent Items"), "[Google Mail]/Sent Mail");
    // Online: the server beats the config.
    let m = Mapper::new(&c, &gmail_de());
    assert_eq!(target(&m, "Sent Items"), "[Google Mail]/Gesendet");
}

#[test]
fn office365_preset() {
    let m = offline(Preset::Office365);
    assert_eq!(target(&m, "Sent Items"), "Sent Items");
    assert_eq!(target(&m, "Deleted Items"), "Deleted Items");
    assert_eq!(target(&m, "Junk E-mail"), "Junk Email");
    assert_eq!(target(&m, "Trash"), "Deleted Items");
    // Files is reserved at the top level only.
    let r = m.map("Files");
    assert_eq!(m.display(&r), "Files (migrated)");
    assert!(r.notes[0].contains("reserved"));
    assert_eq!(target(&m, "files"), "files (migrated)");
    assert_eq!(target(&m, "Projects/Files"), "Projects/Files");
    // Subfolders of special folders follow them.
    assert_eq!(target(&m, "Sent Items/2019"), "Sent Items/2019");
    assert_eq!(m.map("Sent Items/2019").how, MapSource::Special);
}

#[test]
fn dovecot_preset_and_subfolders_follow() {
    let m = offline(Preset::Dovecot);
    assert_eq!(target(&m, "Sent Items"), "Sent");
    assert_eq!(target(&m, "Deleted Items"), "Trash");
    assert_eq!(target(&m, "Junk E-mail"), "Junk");
    assert_eq!(target(&m, "Drafts"), "Drafts");
    let r = m.map("Sent Items/2019/Q1");
    assert_eq!(r.components, ["Sent", "2019", "Q1"]);
    assert_eq!(r.how, MapSource::Special);
    assert!(!m.case_insensitive());
    // Case-sensitive target: nothing is respelled.
    assert_eq!(target(&m, "projects"), "projects");
}

#[test]
fn special_folders_switch_off() {
    let mut c = cfg(Some(Preset::Dovecot));
    c.special_folders = false;
    c.prefix = Some("Kerio/".into());
    let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Dovecot)));
    let r = m.map("Sent Items");
    assert_eq!(r.components, ["Kerio", "Sent Items"]);
    assert_eq!(r.how, MapSource::Prefix);
}

#[test]
fn well_known_existing_names_without_special_use() {
    let t = TargetFolders {
        delimiter: Some('.'),
        existing: vec![
            "INBOX".into(),
            "INBOX.Sent Messages".into(),
            "INBOX.Trash".into(),
        ],
        namespace: Some("INBOX.".into()),
        ..TargetFolders::default()
    };
    let m = Mapper::new(&MappingConfig::default(), &t);
    assert_eq!(target(&m, "Sent Items"), "INBOX.Sent Messages");
    assert_eq!(target(&m, "Deleted Items"), "INBOX.Trash");
    // The personal namespace holds everything else…
    assert_eq!(target(&m, "Projects/2024"), "INBOX.Projects.2024");
    // …but INBOX's subtree is already in it.
    assert_eq!(target(&m, "INBOX/Sub"), "INBOX.Sub");
    // The delimiter inside a name is replaced.
    let r = m.map("ivan.ivanov");
    assert_eq!(m.display(&r), "INBOX.ivan_ivanov");
    assert!(r.notes[0].contains("delimiter"));
    // Nothing for Junk: the Kerio name is kept (in the namespace).
    assert_eq!(target(&m, "Junk E-mail"), "INBOX.Junk E-mail");
}

#[test]
fn well_known_names_are_created_in_the_namespace_when_the_server_has_none() {
    // Courier: INBOX only, no SPECIAL-USE, NAMESPACE "INBOX.".
    let t = TargetFolders {
        delimiter: Some('.'),
        existing: vec!["INBOX".into(), "INBOX.Trash".into()],
        namespace: Some("INBOX.".into()),
        well_known_fallback: true,
        ..TargetFolders::default()
    };
    let m = Mapper::new(&MappingConfig::default(), &t);
    let r = m.map("Sent Items");
    assert_eq!(m.display(&r), "INBOX.Sent");
    assert_eq!(r.how, MapSource::Special);
    assert!(r.notes[0].contains("well-known name"), "{:?}", r.notes);
    assert_eq!(target(&m, "Sent Items/2019"), "INBOX.Sent.2019");
    // An existing one still wins.
    assert_eq!(target(&m, "Deleted Items"), "INBOX.Trash");
    assert_eq!(target(&m, "Junk E-mail"), "INBOX.Junk");
    assert_eq!(target(&m, "Drafts"), "INBOX.Drafts");
    // Without a namespace, at the top level.
    let flat = TargetFolders {
        delimiter: Some('/'),
        existing: vec!["INBOX".into()],
        well_known_fallback: true,
        ..TargetFolders::default()
    };
    let m = Mapper::new(&MappingConfig::default(), &flat);
    assert_eq!(target(&m, "Junk E-mail"), "Junk");
}

#[test]
fn prefix_spares_inbox_and_special_folders() {
    let mut c = cfg(Some(Preset::Dovecot));
    c.prefix = Some("Kerio/".into());
    let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Dovecot)));
    assert_eq!(target(&m, "INBOX"), "INBOX");
    assert_eq!(target(&m, "INBOX/Projects"), "INBOX/Projects");
    assert_eq!(target(&m, "Sent Items"), "Sent");
    let r = m.map("Crédit Agricole");
    assert_eq!(m.display(&r), "Kerio/Crédit Agricole");
    assert_eq!(r.how, MapSource::Prefix);
    c.prefix_inbox = true;
    let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Dovecot)));
    assert_eq!(target(&m, "INBOX"), "Kerio/INBOX");
    assert_eq!(target(&m, "INBOX/Projects"), "Kerio/INBOX/Projects");
}

#[test]
fn renames_win_and_subfolders_follow() {
    let text = r#"
        preset = "dovecot"
        prefix = "Kerio"
        [rename]
        "Sent Items" = "Old Sent"
        "inbox/Old" = "Archive/Old"
        [[rule]]
        match = '^Sent Items(.*)$'
        replace = 'Ruled${1}'
    "#;
    let c = MappingConfig::from_toml(text).expect("config");
    let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Dovecot)));
    let r = m.map("Sent Items");
    assert_eq!(r.components, ["Old Sent"]);
    assert_eq!(r.how, MapSource::Rename);
    let r = m.map("Sent Items/2019");
    assert_eq!(r.components, ["Old Sent", "2019"]);
    assert_eq!(r.how, MapSource::Rename);
    assert!(r.notes[0].contains("follows the rename"));
    // INBOX spelled any way in the config.
    assert_eq!(target(&m, "INBOX/Old/2019"), "Archive/Old/2019");
}

#[test]
fn rules_first_match_and_chains() {
    let text = r#"
        prefix = "K/"
        [[rule]]
        match = '^Projekte/(.*)$'
        replace = 'Projects/${1}'
        [[rule]]
        match = '^Projekte'
        replace = 'never'
        [[rule]]
        match = ' '
        replace = '_'
        all = true
        continue = true
        [[rule]]
        match = '^INBOX/(.*)$'
        replace = '$1'
    "#;
    let c = MappingConfig::from_toml(text).expect("config");
    let m = Mapper::new(&c, &TargetFolders::offline(None));
    let r = m.map("Projekte/2024");
    assert_eq!(m.display(&r), "K/Projects/2024");
    assert_eq!(r.how, MapSource::Rule);
    assert_eq!(target(&m, "Old Mail/a b"), "K/Old_Mail/a_b");
    // The chained rule goes on to the INBOX rule.
    assert_eq!(target(&m, "INBOX/x y"), "K/x_y");
    // A rule result in INBOX's subtree gets no prefix.
    let c = MappingConfig::from_toml(
        r#"
        prefix = "K/"
        [[rule]]
        match = '^Eingang/(.*)$'
        replace = 'INBOX/${1}'
    "#,
    )
    .expect("config");
    let m = Mapper::new(&c, &TargetFolders::offline(None));
    assert_eq!(target(&m, "Eingang/a"), "INBOX/a");
    assert_eq!(target(&m, "Other"), "K/Other");
}

#[test]
fn rule_to_empty_falls_back() {
    let c = MappingConfig::from_toml(
        r#"
        [[rule]]
        match = '^.*$'
        replace = ''
    "#,
    )
    .expect("config");
    let m = Mapper::new(&c, &TargetFolders::offline(None));
    let r = m.map("Foo");
    assert_eq!(r.components, ["Foo"]);
    assert_eq!(r.how, MapSource::Default);
    assert!(r.notes[0].contains("empty name"));
}

#[test]
fn extra_special_source_names() {
    let c = MappingConfig::from_toml(
        r#"
        preset = "dovecot"
        [special_sources]
        sent = ["Gesendete Objekte"]
        archive = ["Archiv"]
    "#,
    )
    .expect("config");
    let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Dovecot)));
    assert_eq!(target(&m, "gesendete objekte"), "Sent");
    assert_eq!(target(&m, "Archiv/2019"), "Archive/2019");
}

#[test]
fn localized_duplicates_merge_with_kerios_folders_unless_kept_apart() {
    let t = TargetFolders::offline(Some(Preset::Dovecot));
    let dovecot = MappingConfig {
        preset: Some(Preset::Dovecot),
        ..MappingConfig::default()
    };
    let m = Mapper::new(&dovecot, &t);
    for (name, want) in [
        ("Gesendete Objekte", "Sent"),
        ("Éléments envoyés", "Sent"),
        ("Elements envoyes", "Sent"),
        ("E\u{301}le\u{301}ments envoye\u{301}s", "Sent"),
        ("Enviados", "Sent"),
        ("Posta inviata", "Sent"),
        ("Verzonden items", "Sent"),
        ("Elementy wysłane", "Sent"),
        ("Отправленные", "Sent"),
        ("Odeslaná pošta", "Sent"),
        ("Itens enviados", "Sent"),
        ("送信済みアイテム", "Sent"),
        ("已发送邮件", "Sent"),
        ("Papierkorb", "Trash"),
        ("Elementos eliminados", "Trash"),
        ("Удалённые", "Trash"),
        ("Корзина", "Trash"),
        ("Koš", "Trash"),
        ("ゴミ箱", "Trash"),
        ("Courrier indésirable", "Junk"),
        ("Nevyžádaná pošta", "Junk"),
        ("迷惑メール", "Junk"),
        ("Entwürfe", "Drafts"),
        ("Brouillons", "Drafts"),
        ("Черновики", "Drafts"),
        ("下書き", "Drafts"),
        ("草稿", "Drafts"),
    ] {
        let r = m.map(name);
        assert_eq!(m.display(&r), want, "{name}");
        assert_eq!(r.how, MapSource::Special, "{name}");
        assert!(
            r.notes.iter().any(|n| n.contains("localized")),
            "{name}: {:?}",
            r.notes
        );
    }
    // Kerio's own names are not "localized".
    assert!(!m
        .map("Sent Items")
        .notes
        .iter()
        .any(|n| n.contains("localized")));
    // Only at the top.
    assert_eq!(target(&m, "INBOX/Papierkorb"), "INBOX/Papierkorb");
    let (_, issues) = m.map_account(["Gesendete Objekte", "Sent Items", "INBOX"]);
    let merge = issues
        .iter()
        .find(|i| i.kind == IssueKind::Merge)
        .expect("merge");
    assert_eq!(merge.target, "Sent");
    assert_eq!(merge.sources, vec!["Gesendete Objekte", "Sent Items"]);

    let apart = MappingConfig::from_toml("preset = \"dovecot\"\nlocalized_special_folders = false")
        .expect("config");
    let m = Mapper::new(&apart, &t);
    assert_eq!(target(&m, "Gesendete Objekte"), "Gesendete Objekte");
    assert_eq!(target(&m, "Sent Items"), "Sent");
    let (_, issues) = m.map_account(["Gesendete Objekte", "Sent Items"]);
    assert!(issues.iter().all(|i| i.kind != IssueKind::Merge));
}

#[test]
fn empty_components_and_control_characters() {
    let c = MappingConfig::from_toml(
        r#"
        [rename]
        "A" = "x//y"
    "#,
    )
    .expect("config");
    let m = Mapper::new(&c, &TargetFolders::offline(None));
    let r = m.map("A");
    assert_eq!(r.components, ["x", "_", "y"]);
    assert!(r.notes.iter().any(|n| n.contains("empty name")));
    let r = m.map("tab\there");
    assert_eq!(r.components, ["tab_here"]);
    let r = m.map("");
    assert_eq!(r.components, ["_"]);
}

#[test]
fn flat_namespace_keeps_levels_in_one_name() {
    let t = TargetFolders {
        delimiter: None,
        ..TargetFolders::default()
    };
    let m = Mapper::new(&MappingConfig::default(), &t);
    let r = m.map("A/B");
    assert_eq!(r.components, ["A/B"]);
    assert!(r.notes[0].contains("no hierarchy"));
}

#[test]
fn replacements_that_would_break_names_are_refused() {
    let mut c = MappingConfig::default();
    c.sanitize.delimiter_replacement = Some("/".into());
    let m = Mapper::new(&c, &TargetFolders::offline(None));
    assert_eq!(m.warnings().len(), 1);
    assert_eq!(target(&m, "a/b"), "a/b");
    assert_eq!(m.map_components(&["a/b".into()]).components, ["a_b"]);
}

#[test]
fn a_reserved_suffix_that_would_break_names_is_refused() {
    let mut c = cfg(Some(Preset::Office365));
    c.sanitize.reserved_suffix = Some("/old".into());
    let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Office365)));
    assert_eq!(m.warnings().len(), 1);
    assert_eq!(target(&m, "Files"), "Files_migrated");
    let t = TargetFolders {
        delimiter: Some('_'),
        ..TargetFolders::default()
    };
    c.sanitize.reserved_suffix = Some("_old".into());
    let m = Mapper::new(&c, &t);
    assert_eq!(m.display(&m.map("Files")), "Files-migrated");
}

#[test]
fn config_errors_name_the_problem() {
    let e = MappingConfig::from_toml("prefx = 'x'").expect_err("typo");
    assert!(e.to_string().contains("prefx"), "{e}");
    let e = MappingConfig::from_toml("[[rule]]\nmatch = '('\nreplace = ''").expect_err("regex");
    assert!(matches!(e, MappingError::BadRegex { .. }), "{e}");
    let e = MappingConfig::from_toml("preset = 'yahoo'").expect_err("preset");
    assert!(e.to_string().contains("gmail, office365 or dovecot"), "{e}");
    let e = MappingConfig::from_toml("[rename]\n'A' = ''").expect_err("empty rename");
    assert!(e.to_string().contains("exclude"), "{e}");
    let e = MappingConfig::from_toml("[special_targets]\nsnet = 'x'").expect_err("use");
    assert!(e.to_string().contains("snet"), "{e}");
    let e = MappingConfig::from_toml("[sanitize]\nreplacement = ' '").expect_err("blank");
    assert!(e.to_string().contains("sanitize.replacement"), "{e}");
    // A file: the path is in the message.
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("m.toml");
    std::fs::write(&p, "prefix = [").expect("write");
    let e = MappingConfig::load(&p).expect_err("bad toml");
    assert!(e.to_string().contains("m.toml"), "{e}");
    let e = MappingConfig::load(&dir.path().join("none.toml")).expect_err("missing");
    assert!(matches!(e, MappingError::Io { .. }));
}

#[test]
fn example_file_parses() {
    let text = include_str!("../../docs/mapping-example.toml");
    let c = MappingConfig::from_toml(text).expect("docs/mapping-example.toml");
    assert_eq!(c.preset, Some(Preset::Gmail));
    assert!(!c.rules.is_empty() && !c.renames.is_empty());
}

#[test]
fn the_documented_example_parses() {
    // The TOML block of docs/mapping.md.
    let doc = include_str!("../../docs/mapping.md");
    let block: String = doc
        .lines()
        .skip_while(|l| !l.starts_with("```toml"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(block.contains("[rename]"));
    MappingConfig::from_toml(&block).expect("docs/mapping.md TOML");
}

#[test]
fn special_use_attributes() {
    assert_eq!(SpecialUse::from_attribute("\\Sent"), Some(SpecialUse::Sent));
    assert_eq!(SpecialUse::from_attribute("\\SPAM"), Some(SpecialUse::Junk));
    assert_eq!(
        SpecialUse::from_attribute("\\AllMail"),
        Some(SpecialUse::All)
    );
    assert_eq!(
        SpecialUse::from_attribute("\\Starred"),
        Some(SpecialUse::Flagged)
    );
    assert_eq!(SpecialUse::from_attribute("\\HasChildren"), None);
    for u in SpecialUse::ALL {
        assert_eq!(SpecialUse::from_attribute(u.attribute()), Some(u));
    }
}

#[test]
fn presets_parse_and_guess() {
    for p in Preset::ALL {
        assert_eq!(p.name().parse::<Preset>(), Ok(p));
    }
    assert_eq!(
        Preset::guess_from_host("imap.gmail.com"),
        Some(Preset::Gmail)
    );
    assert_eq!(
        Preset::guess_from_host("outlook.office365.com"),
        Some(Preset::Office365)
    );
    assert_eq!(Preset::guess_from_host("notgmail.com"), None);
    assert_eq!(Preset::guess_from_host("mail.example.org"), None);
    assert_eq!(Preset::Gmail.append_limit(), Some(35_651_584));
}

#[test]
fn wire_names() {
    let mut t = TargetFolders::offline(None);
    let c = vec!["Crédit".to_string(), "R&D".to_string()];
    assert_eq!(t.wire_name(&c), "Cr&AOk-dit/R&-D");
    t.utf8 = true;
    assert_eq!(t.wire_name(&c), "Crédit/R&D");
}

#[test]
fn account_check_reports_merges_and_case_clashes() {
    let m = offline(Preset::Gmail);
    let (folders, issues) = m.map_account([
        "INBOX",
        "Sent Items",
        "Sent",
        "Archive",
        "archive",
        "Files",
        " Old ",
    ]);
    assert_eq!(folders[1].target, "[Gmail]/Sent Mail");
    let merges: Vec<&MappingIssue> = issues
        .iter()
        .filter(|i| i.kind == IssueKind::Merge)
        .collect();
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].sources, ["Sent Items", "Sent"]);
    let clashes: Vec<&MappingIssue> = issues
        .iter()
        .filter(|i| i.kind == IssueKind::CaseClash)
        .collect();
    assert_eq!(clashes.len(), 1);
    assert_eq!(clashes[0].sources, ["Archive", "archive"]);
    assert!(issues
        .iter()
        .any(|i| i.kind == IssueKind::Note && i.sources == [" Old "]));
    // Dovecot is case-sensitive: no clash.
    let m = offline(Preset::Dovecot);
    let (_, issues) = m.map_account(["Archive", "archive"]);
    assert!(issues.is_empty(), "{issues:?}");
}

fn arb_component() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("INBOX".to_string()),
        Just("inbox".to_string()),
        Just("Sent Items".to_string()),
        Just("Deleted Items".to_string()),
        Just("Junk E-mail".to_string()),
        Just("Files".to_string()),
        Just("".to_string()),
        "[ a-zA-Z./^\\\\_\\t-]{0,8}",
        "\\PC{0,6}",
        proptest::collection::vec(any::<char>(), 0..6).prop_map(|v| v.into_iter().collect()),
    ]
}

fn arb_path() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(arb_component(), 1..5)
}

fn arb_target() -> impl Strategy<Value = TargetFolders> {
    let delim = prop_oneof![Just(Some('/')), Just(Some('.')), Just(None)];
    (delim, any::<bool>(), any::<bool>()).prop_map(|(d, ns, special)| TargetFolders {
        delimiter: d,
        namespace: if ns && d.is_some() {
            Some(format!("INBOX{}", d.unwrap_or('/')))
        } else {
            None
        },
        special_use: if special {
            vec![(
                SpecialUse::Sent,
                format!("[Gmail]{}Sent Mail", d.unwrap_or('/')),
            )]
        } else {
            Vec::new()
        },
        existing: vec!["INBOX".into(), "Projects".into()],
        utf8: false,
        well_known_fallback: special,
    })
}

fn arb_config() -> impl Strategy<Value = MappingConfig> {
    let preset = prop_oneof![
        Just(None),
        Just(Some(Preset::Gmail)),
        Just(Some(Preset::Office365)),
        Just(Some(Preset::Dovecot)),
    ];
    let prefix = prop_oneof![
        Just(None),
        Just(Some("Kerio/".to_string())),
        Just(Some("a.b/ c ".to_string()))
    ];
    (preset, prefix, any::<bool>(), any::<bool>()).prop_map(|(preset, prefix, inbox, special)| {
        let mut c = MappingConfig {
            preset,
            prefix,
            prefix_inbox: inbox,
            special_folders: special,
            ..MappingConfig::default()
        };
        c.renames.insert("Renamed".into(), "To/ Here ".into());
        c.rules
            .push(Rule::new("^Rule(.*)$", "Ruled/$1").expect("rule"));
        c
    })
}

proptest! {
    #[test]
    fn never_empty_or_containing_the_delimiter(
        path in arb_path(), t in arb_target(), c in arb_config()
    ) {
        let m = Mapper::new(&c, &t);
        let r = m.map_components(&path);
        prop_assert!(!r.components.is_empty());
        for comp in &r.components {
            prop_assert!(!comp.is_empty(), "{:?} → {:?}", path, r.components);
            if let Some(d) = t.delimiter {
                prop_assert!(!comp.contains(d), "{:?} → {:?}", path, r.components);
            }
            prop_assert!(!comp.chars().any(char::is_control), "{:?} → {:?}", path, r.components);
        }
        if t.delimiter.is_none() {
            prop_assert_eq!(r.components.len(), 1);
        }
    }

    #[test]
    fn gmail_names_are_acceptable(path in arb_path(), c in arb_config()) {
        let c = MappingConfig { preset: Some(Preset::Gmail), ..c };
        let t = TargetFolders::offline(Some(Preset::Gmail));
        let m = Mapper::new(&c, &t);
        let r = m.map_components(&path);
        for comp in &r.components {
            prop_assert_eq!(comp.trim(), comp.as_str());
            prop_assert!(!comp.contains("  ") && !comp.contains('^') && !comp.contains('\t'));
        }
    }

    #[test]
    fn office365_never_creates_files_at_the_top(path in arb_path(), c in arb_config()) {
        let c = MappingConfig { preset: Some(Preset::Office365), ..c };
        let m = Mapper::new(&c, &TargetFolders::offline(Some(Preset::Office365)));
        let r = m.map_components(&path);
        prop_assert!(!r.components[0].eq_ignore_ascii_case("files"));
    }

    #[test]
    fn renames_win(path in arb_path(), t in arb_target(), c in arb_config()) {
        // Rename the path itself (and give a rule and special folders a
        // chance to match it too).
        let mut c = c;
        let key = path.join("/");
        prop_assume!(!config::split_config_path(&key).is_empty());
        c.renames.insert(key.clone(), "Chosen/Name".into());
        c.rules.insert(0, Rule::new(".*", "Rule").expect("rule"));
        let m = Mapper::new(&c, &t);
        let r = m.map_components(&path);
        prop_assert_eq!(r.how, MapSource::Rename);
        // Subfolders follow.
        let mut sub = path.clone();
        sub.push("child".into());
        prop_assert_eq!(m.map_components(&sub).how, MapSource::Rename);
    }

    #[test]
    fn deterministic(path in arb_path(), t in arb_target(), c in arb_config()) {
        let a = Mapper::new(&c, &t).map_components(&path);
        let b = Mapper::new(&c.clone(), &t.clone()).map_components(&path);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(Mapper::new(&c, &t).map_components(&path), a);
    }

    #[test]
    fn sane_config_paths_map_by_default_to_themselves(
        path in proptest::collection::vec("[A-Za-z0-9 &é-]{1,8}", 1..4)
    ) {
        // No preset, no prefix: a name without specials, delimiter or
        // control characters is kept as it is.
        let m = Mapper::new(&MappingConfig::default(), &TargetFolders::offline(None));
        prop_assume!(m.special_source(&path[0]).is_none());
        prop_assume!(!path[0].eq_ignore_ascii_case("INBOX"));
        let r = m.map_components(&path);
        prop_assert_eq!(r.components, path);
    }
}
