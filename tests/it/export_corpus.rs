//! Every vCard / iCalendar file of the real corpus (`../shared/corpus/
//! calendar-contacts`, or `$KERIO_CORPUS/calendar-contacts`), wrapped as a
//! Kerio item in every transfer encoding, must come out of `contacts` /
//! `calendar`, parse again and keep its UID, names, e-mails, phones, dates
//! and recurrences; what the exporter could not read must be in its report
//! with the source file, and is counted here.

use crate::support::export::{wrap, Enc};
use crate::support::store::item_id;
use crate::support::{corpus_dir, Run, StoreBuilder};
use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarProperty, ICalendarValue};
use calcard::vcard::{VCard, VCardProperty};
use calcard::{Entry, Parser};
use kerio_migrate::export::wrapper::decode_unlabelled;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A component of a parsed output calendar.
type CompRef = (Rc<ICalendar>, usize);

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["vcf", "ics", "vcs"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    v.sort();
    v
}

fn entries(text: &str) -> Vec<Entry> {
    let mut p = Parser::new(text);
    let mut v = Vec::new();
    loop {
        match p.entry() {
            Entry::Eof => break,
            e => v.push(e),
        }
    }
    v
}

fn card_values(c: &VCard, prop: &VCardProperty) -> Vec<String> {
    c.properties(prop)
        .map(|e| {
            let v = format!("{:?}", e.values);
            // vCard 3.0 output writes a 4.0 `tel:` URI as the bare number.
            if *prop == VCardProperty::Tel {
                v.replacen("Text(\"tel:", "Text(\"", 1)
            } else {
                v
            }
        })
        .collect()
}

/// Top-level components (not VTIMEZONE) of a parsed object.
fn top_components(cal: &ICalendar) -> Vec<usize> {
    let Some(root) = cal.components.first() else {
        return vec![];
    };
    let ids: Vec<usize> = if root.component_type == ICalendarComponentType::VCalendar {
        root.component_ids.iter().map(|&i| i as usize).collect()
    } else {
        vec![0]
    };
    ids.into_iter()
        .filter(|&i| {
            cal.components
                .get(i)
                .is_some_and(|c| c.component_type != ICalendarComponentType::VTimezone)
        })
        .collect()
}

fn comp_values(cal: &ICalendar, i: usize, prop: &ICalendarProperty) -> Vec<String> {
    cal.components[i]
        .properties(prop)
        .map(|e| match (prop, e.values.first()) {
            // The exporter repairs rules escaped like text (`FREQ=DAILY\;COUNT=10`).
            (ICalendarProperty::Rrule, Some(ICalendarValue::RecurrenceRule(r))) => r.to_string(),
            (ICalendarProperty::Rrule, Some(ICalendarValue::Text(t))) => {
                t.replace("\\;", ";").replace("\\,", ",")
            }
            _ => format!("{:?}", e.values),
        })
        .collect()
}

fn rid_key(cal: &ICalendar, i: usize) -> String {
    comp_values(cal, i, &ICalendarProperty::RecurrenceId).join("|")
}

#[derive(Default, Debug)]
struct Tally {
    items: u64,
    objects: u64,
    checked: u64,
    uid_added: u64,
    deduplicated: u64,
    failed_items: u64,
    partial_items: u64,
    mismatches: Vec<String>,
}

#[test]
fn corpus_round_trip_in_every_encoding() {
    let Some(dir) = corpus_dir("corpus_round_trip_in_every_encoding", "calendar-contacts") else {
        return;
    };
    let files = corpus_files(&dir);
    assert!(
        files.len() > 100,
        "corpus looks empty: {} files",
        files.len()
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let sb = StoreBuilder::new(&tmp.path().join("kerio"));
    // item path -> (corpus file, encoding)
    let mut items: HashMap<PathBuf, (PathBuf, Enc)> = HashMap::new();
    for enc in Enc::ALL {
        let account = format!("{}@example.com", enc.name());
        sb.inbox(&account);
        for (n, f) in files.iter().enumerate() {
            let raw = std::fs::read(f).expect("read corpus");
            let is_card = f.extension().is_some_and(|e| e.eq_ignore_ascii_case("vcf"));
            let (folder, ct) = if is_card {
                ("Contacts", "text/x-vcard")
            } else {
                ("Calendar", "text/calendar")
            };
            let subject = f.file_name().and_then(|s| s.to_str()).unwrap_or("item");
            let p = sb.item(
                &account,
                folder,
                &item_id(n + 1),
                &wrap(&raw, ct, enc, subject),
            );
            items.insert(p, (f.clone(), enc));
        }
    }
    let out = tmp.path().join("out");
    let mut tally = Tally::default();
    for command in ["contacts", "calendar"] {
        let report_path = tmp.path().join(format!("{command}.json"));
        let o = Run::new(command)
            .arg(&sb.install)
            .arg("--out")
            .arg(&out)
            .report(&report_path)
            .run();
        assert!(matches!(o.code, 0 | 3), "{command}: {o}");
        assert!(o.report.is_object(), "{command}: no report: {o}");
        check(command, &o.report, &items, &mut tally);
    }
    eprintln!(
        "corpus: {} files x {} encodings = {} items; {} objects checked field by field, \
         {} UIDs added, {} left out as duplicates (reported), {} items reported unparsable, \
         {} items reported partly readable",
        files.len(),
        Enc::ALL.len(),
        tally.items,
        tally.checked,
        tally.uid_added,
        tally.deduplicated,
        tally.failed_items,
        tally.partial_items
    );
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches:\n{}",
        tally.mismatches.len(),
        tally.mismatches.join("\n")
    );
    assert!(tally.checked > 1000, "too few objects checked: {tally:?}");
}

fn check(
    command: &str,
    report: &serde_json::Value,
    items: &HashMap<PathBuf, (PathBuf, Enc)>,
    tally: &mut Tally,
) {
    let accounts = report["accounts"].as_array().expect("accounts");
    for acc in accounts {
        for folder in acc["folders"].as_array().expect("folders") {
            let list = |k: &str| -> HashMap<PathBuf, String> {
                folder[k]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|p| {
                                (
                                    PathBuf::from(p["source"].as_str().unwrap_or_default()),
                                    p["reason"].as_str().unwrap_or_default().to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let failed = list("failed");
            let partial = list("partial");
            let dup_keys: HashSet<String> = folder["duplicates"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d["key"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let file = PathBuf::from(folder["file"].as_str().expect("folder file written"));
            let out_text = std::fs::read_to_string(&file).expect("output file");
            for line in out_text.split("\r\n") {
                assert!(
                    line.len() <= 75,
                    "{}: line over 75 octets: {line}",
                    file.display()
                );
            }
            if let Some(p) = out_text.replace("\r\n", "\u{1}").find('\n') {
                let t = out_text.replace("\r\n", "\u{1}");
                panic!(
                    "bare LF in {}: {:?}",
                    file.display(),
                    &t[p.saturating_sub(200)..(p + 50).min(t.len())]
                );
            }
            let out_entries = entries(&out_text);
            let mut out_cards: HashMap<String, Vec<VCard>> = HashMap::new();
            let mut out_comps: HashMap<(String, String), Vec<CompRef>> = HashMap::new();
            for e in out_entries {
                match e {
                    Entry::VCard(c) => out_cards
                        .entry(c.uid().unwrap_or_default().to_string())
                        .or_default()
                        .push(c),
                    Entry::ICalendar(cal) => {
                        let cal = Rc::new(cal);
                        for i in top_components(&cal) {
                            let uid = cal.components[i].uid().unwrap_or_default().to_string();
                            let rid = rid_key(&cal, i);
                            out_comps
                                .entry((uid, rid))
                                .or_default()
                                .push((Rc::clone(&cal), i));
                        }
                    }
                    other => panic!(
                        "{command}: output {} does not parse: {other:?}",
                        file.display()
                    ),
                }
            }
            // Every item of this folder.
            let mut folder_items: Vec<(&PathBuf, &(PathBuf, Enc))> = items
                .iter()
                .filter(|(p, _)| {
                    p.to_string_lossy().contains(&format!(
                        "/{}/{}/",
                        acc["account"]
                            .as_str()
                            .unwrap_or_default()
                            .split('@')
                            .next()
                            .unwrap_or_default(),
                        folder["folder"].as_str().unwrap_or_default()
                    ))
                })
                .collect();
            folder_items.sort_by(|a, b| a.0.cmp(b.0));
            assert_eq!(
                folder_items.len() as u64,
                folder["items"].as_u64().unwrap_or(0),
                "items in {}",
                folder["folder"]
            );
            for (item_path, (src, enc)) in folder_items {
                tally.items += 1;
                let src_text = decode_unlabelled(&std::fs::read(src).expect("corpus"));
                if let Some(reason) = failed.get(item_path) {
                    tally.failed_items += 1;
                    // Genuinely unparsable: calcard finds no object either.
                    let readable = entries(&src_text).iter().any(|e| match e {
                        Entry::VCard(_) => command == "contacts",
                        Entry::ICalendar(c) => {
                            command == "calendar" && !top_components(c).is_empty()
                        }
                        _ => false,
                    });
                    if readable {
                        tally.mismatches.push(format!(
                            "{} ({}) reported failed but calcard reads it: {reason}",
                            src.display(),
                            enc.name()
                        ));
                    }
                    continue;
                }
                if partial.contains_key(item_path) {
                    tally.partial_items += 1;
                }
                let item_id = item_path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                let src_ref = kerio_migrate::export::SourceRef {
                    account: acc["account"].as_str().unwrap_or_default().to_string(),
                    folder: folder["folder"].as_str().unwrap_or_default().to_string(),
                    item: item_id,
                    path: item_path.clone(),
                };
                let mut index = 0usize;
                for e in entries(&src_text) {
                    match e {
                        Entry::VCard(c) if command == "contacts" => {
                            tally.objects += 1;
                            let (uid, added) = match c.uid().filter(|u| !u.trim().is_empty()) {
                                Some(u) => (u.to_string(), false),
                                None => (kerio_migrate::export::derived_uid(&src_ref, index), true),
                            };
                            index += 1;
                            if added {
                                tally.uid_added += 1;
                            }
                            let same = |o: &VCard| {
                                [
                                    VCardProperty::Fn,
                                    VCardProperty::N,
                                    VCardProperty::Email,
                                    VCardProperty::Tel,
                                ]
                                .iter()
                                .all(|p| card_values(o, p) == card_values(&c, p))
                            };
                            match out_cards.get(&uid) {
                                Some(v) if v.iter().any(same) => tally.checked += 1,
                                Some(_) if dup_keys.contains(&format!("UID:{uid}")) => {
                                    tally.deduplicated += 1
                                }
                                _ if added
                                    && kerio_migrate::export::vcard::dedup_key(&kerio_migrate::export::vcard::Card {
                                        card: c.clone(),
                                        source: src_ref.clone(),
                                        index: index - 1,
                                        uid_added: true,
                                    })
                                    .is_some_and(|k| dup_keys.contains(&k)) =>
                                {
                                    tally.deduplicated += 1
                                }
                                found => tally.mismatches.push(format!(
                                    "{} ({}): card UID {uid:?} {}: FN {:?} N {:?} EMAIL {:?} TEL {:?}",
                                    src.display(),
                                    enc.name(),
                                    if found.is_some() { "differs" } else { "missing" },
                                    card_values(&c, &VCardProperty::Fn),
                                    card_values(&c, &VCardProperty::N),
                                    card_values(&c, &VCardProperty::Email),
                                    card_values(&c, &VCardProperty::Tel),
                                )),
                            }
                        }
                        Entry::ICalendar(cal) if command == "calendar" => {
                            for i in top_components(&cal) {
                                tally.objects += 1;
                                let comp = &cal.components[i];
                                let uploadable = matches!(
                                    comp.component_type,
                                    ICalendarComponentType::VEvent
                                        | ICalendarComponentType::VTodo
                                        | ICalendarComponentType::VJournal
                                );
                                let (uid, added) = match comp.uid().filter(|u| !u.trim().is_empty())
                                {
                                    Some(u) => (u.to_string(), false),
                                    None if uploadable => {
                                        (kerio_migrate::export::derived_uid(&src_ref, index), true)
                                    }
                                    None => (String::new(), false),
                                };
                                index += 1;
                                if added {
                                    tally.uid_added += 1;
                                }
                                let props = [
                                    ICalendarProperty::Summary,
                                    ICalendarProperty::Dtstart,
                                    ICalendarProperty::Dtend,
                                    ICalendarProperty::Due,
                                    ICalendarProperty::Rrule,
                                    ICalendarProperty::RecurrenceId,
                                ];
                                let same = |(o, j): &CompRef| {
                                    o.components[*j].component_type == comp.component_type
                                        && props.iter().all(|p| {
                                            comp_values(o, *j, p) == comp_values(&cal, i, p)
                                        })
                                };
                                let key = (uid.clone(), rid_key(&cal, i));
                                match out_comps.get(&key) {
                                    Some(v) if v.iter().any(same) => tally.checked += 1,
                                    Some(_)
                                        if dup_keys
                                            .iter()
                                            .any(|k| k.contains(&format!("UID:{uid}"))) =>
                                    {
                                        tally.deduplicated += 1
                                    }
                                    found => tally.mismatches.push(format!(
                                        "{} ({}): {} UID {uid:?} RID {:?} {}",
                                        src.display(),
                                        enc.name(),
                                        comp.component_type.as_str(),
                                        key.1,
                                        if found.is_some() {
                                            "differs"
                                        } else {
                                            "missing"
                                        },
                                    )),
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
