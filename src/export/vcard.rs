//! Contacts: the vCards of an item parsed with `calcard`, normalised,
//! de-duplicated and written in the version asked for.
//!
//! Nothing is dropped: properties and parameters calcard does not know are
//! kept as they are. Normalisation is limited to what importers need:
//! vCard 2.1 bare parameters (`EMAIL;INTERNET;PREF:`) become `TYPE=`
//! values (and `PREF=1` in 4.0), and a card without UID gets a stable one
//! derived from its source (CardDAV needs one; the change is reported).

use super::wrapper::Payload;
use super::{load_item, Duplicate, FolderExport, ItemProblem, SourceRef};
use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty,
    VCardVersion,
};
use calcard::{Entry, Parser};
use std::collections::HashMap;

/// The vCard version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// vCard 3.0 (RFC 2426): what every importer takes.
    #[default]
    V3,
    /// vCard 4.0 (RFC 6350).
    V4,
}

impl Version {
    fn calcard(self) -> VCardVersion {
        match self {
            Version::V3 => VCardVersion::V3_0,
            Version::V4 => VCardVersion::V4_0,
        }
    }
}

/// One card and where it came from.
#[derive(Debug, Clone)]
pub struct Card {
    /// The card, normalised.
    pub card: VCard,
    /// Its item.
    pub source: SourceRef,
    /// Position in the item (an item may hold several cards).
    pub index: usize,
    /// True when the UID was added by the exporter.
    pub uid_added: bool,
}

impl Card {
    pub fn uid(&self) -> Option<&str> {
        self.card.uid()
    }

    /// Where it came from, for reports.
    pub fn describe(&self) -> String {
        if self.index == 0 {
            self.source.describe()
        } else {
            format!("{} card {}", self.source.describe(), self.index + 1)
        }
    }

    /// The card in `version`, CRLF, folded.
    pub fn to_text(&self, version: Version) -> String {
        write_card(&self.card, version)
    }
}

/// Writes one card.
pub fn write_card(card: &VCard, version: Version) -> String {
    let mut c = card.clone();
    normalize_params(&mut c, version);
    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = c.write_to(&mut s, version.calcard());
    s
}

/// Writes cards one after the other.
pub fn write_cards(cards: &[Card], version: Version) -> String {
    cards.iter().map(|c| c.to_text(version)).collect()
}

/// vCard 2.1 bare parameters become `TYPE=` values; `PREF` becomes
/// `TYPE=PREF` (3.0) or `PREF=1` (4.0). In 3.0, a 4.0 `TEL;VALUE=uri:tel:…`
/// becomes a plain number (3.0 has no URI phone values; importers show the
/// `tel:` otherwise).
fn normalize_params(card: &mut VCard, version: Version) {
    for e in &mut card.entries {
        if version == Version::V3 && e.name == VCardProperty::Tel {
            let is_uri = e.params.iter().any(|p| {
                p.name == VCardParameterName::Value
                    && p.value
                        .as_value_type()
                        .is_some_and(|v| format!("{v:?}").to_ascii_lowercase().contains("uri"))
            });
            if is_uri {
                if let Some(calcard::vcard::VCardValue::Text(t)) = e.values.first_mut() {
                    if let Some(num) = t.strip_prefix("tel:").or_else(|| t.strip_prefix("TEL:")) {
                        *t = num.to_string();
                        e.params.retain(|p| p.name != VCardParameterName::Value);
                    }
                }
            }
        }
        let mut changed = false;
        let mut params: Vec<VCardParameter> = Vec::with_capacity(e.params.len());
        for p in e.params.drain(..) {
            match (&p.name, &p.value) {
                (VCardParameterName::Pref, VCardParameterValue::Null) => {
                    changed = true;
                    params.push(match version {
                        Version::V3 => {
                            VCardParameter::typ(VCardParameterValue::Text("PREF".into()))
                        }
                        Version::V4 => VCardParameter::pref(VCardParameterValue::Integer(1)),
                    });
                }
                (VCardParameterName::Other(name), VCardParameterValue::Null) => {
                    changed = true;
                    params.push(VCardParameter::typ(VCardParameterValue::Text(
                        name.to_ascii_uppercase(),
                    )));
                }
                _ => params.push(p),
            }
        }
        if changed {
            // Keep the TYPE values together: the writer joins adjacent
            // parameters of one name with commas.
            params.sort_by_key(|p| p.name != VCardParameterName::Type);
        }
        e.params = params;
    }
}

/// Parses every card in `text`. Returns the cards and what could not be
/// read (invalid lines, other objects).
pub fn parse_all(text: &str) -> (Vec<VCard>, Vec<String>) {
    let mut cards = Vec::new();
    let mut problems = Vec::new();
    let mut p = Parser::new(text);
    // The parser always advances; the bound is a guard against a bug
    // turning a bad item into an endless loop.
    for _ in 0..1_000_000 {
        match p.entry() {
            Entry::Eof => break,
            Entry::VCard(c) => cards.push(c),
            Entry::ICalendar(_) => problems.push("an iCalendar object among the vCards".into()),
            Entry::InvalidLine(l) => {
                if !l.trim().is_empty() {
                    problems.push(format!("invalid line {:?}", crate::text::shorten(&l, 80)));
                }
            }
            other => problems.push(crate::text::shorten(&format!("{other:?}"), 120)),
        }
    }
    (cards, problems)
}

/// Reads `item` (described by `src`) into `cards`, recording problems in `fr`.
pub fn collect_item(
    item: &crate::source::Item,
    src: &SourceRef,
    cards: &mut Vec<Card>,
    fr: &mut FolderExport,
) {
    let u = match load_item(item, src) {
        Ok(u) => u,
        Err(p) => {
            fr.failed.push(p);
            return;
        }
    };
    let text = match u.payload {
        Payload::VCard(t) => t,
        Payload::Calendar(_) => {
            fr.failed.push(ItemProblem::new(
                src,
                "an iCalendar object in a contacts folder: export it with `calendar`",
            ));
            return;
        }
        Payload::Text { .. } => {
            fr.failed
                .push(ItemProblem::new(src, "no vCard in the item (plain text)"));
            return;
        }
        Payload::Empty => {
            fr.empty_items += 1;
            return;
        }
    };
    let (parsed, problems) = parse_all(&text);
    if parsed.is_empty() {
        let reason = if problems.is_empty() {
            "no vCard in the item".to_string()
        } else {
            format!("no readable vCard: {}", problems.join("; "))
        };
        fr.failed.push(ItemProblem::new(src, reason));
        return;
    }
    if !problems.is_empty() {
        fr.partial.push(ItemProblem::new(
            src,
            format!(
                "{} cards read; not read: {}",
                parsed.len(),
                problems.join("; ")
            ),
        ));
    }
    for (index, mut card) in parsed.into_iter().enumerate() {
        let cleaned = clean_names(&mut card);
        if cleaned > 0 {
            fr.changes.push(ItemProblem::new(
                src,
                format!(
                    "card {}: {cleaned} names with invalid characters cleaned",
                    index + 1
                ),
            ));
        }
        let uid_added = card.uid().is_none_or(|u| u.trim().is_empty());
        if uid_added {
            card.entries.retain(|e| e.name != VCardProperty::Uid);
            card.entries.push(
                VCardEntry::new(VCardProperty::Uid)
                    .with_value(super::common::derived_uid(src, index)),
            );
            fr.changes.push(ItemProblem::new(
                src,
                format!("card {}: UID added", index + 1),
            ));
        }
        cards.push(Card {
            card,
            source: src.clone(),
            index,
            uid_added,
        });
    }
}

/// Cleans property, group and parameter names (see
/// [`super::common::clean_name`]); returns how many were changed.
fn clean_names(card: &mut VCard) -> usize {
    use super::common::clean_name;
    let mut n = 0;
    for e in &mut card.entries {
        if let VCardProperty::Other(t) = &mut e.name {
            if let Some(x) = clean_name(t) {
                *t = x;
                n += 1;
            }
        }
        if let Some(g) = &mut e.group {
            if let Some(x) = clean_name(g) {
                *g = x;
                n += 1;
            }
        }
        for p in &mut e.params {
            if let VCardParameterName::Other(t) = &mut p.name {
                if let Some(x) = clean_name(t) {
                    *t = x;
                    n += 1;
                }
            }
        }
    }
    n
}

fn first_text(card: &VCard, prop: &VCardProperty) -> Option<String> {
    card.property(prop)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(str::to_string)
}

/// Every EMAIL of a card, trimmed and lower-cased.
pub fn emails(c: &Card) -> Vec<String> {
    c.card
        .entries
        .iter()
        .filter(|e| e.name == VCardProperty::Email)
        .filter_map(|e| e.values.first().and_then(|v| v.as_text()))
        .map(|t| t.trim().trim_start_matches("mailto:").to_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The card's FN, white space collapsed.
pub fn full_name(c: &Card) -> Option<String> {
    first_text(&c.card, &VCardProperty::Fn)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The de-duplication key: `UID:…`, else `FN+EMAIL:…` when both exist.
pub fn dedup_key(c: &Card) -> Option<String> {
    if !c.uid_added {
        if let Some(u) = c.uid().map(str::trim).filter(|u| !u.is_empty()) {
            return Some(format!("UID:{u}"));
        }
    }
    let fname = first_text(&c.card, &VCardProperty::Fn).map(|s| normalise(&s))?;
    let email = first_text(&c.card, &VCardProperty::Email).map(|s| normalise(&s))?;
    if fname.is_empty() || email.is_empty() {
        return None;
    }
    Some(format!("FN+EMAIL:{fname} <{email}>"))
}

fn rev(c: &Card) -> Option<String> {
    c.card.property(&VCardProperty::Rev).map(|e| {
        let mut s = String::new();
        let _ = e.write_to(&mut s, true);
        let s = s.replace("\r\n ", "");
        s.split_once(':')
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or(s)
    })
}

/// Removes duplicates (same UID, then same normalised FN + EMAIL). The
/// card with the newest REV is kept, else the first; order is kept.
pub fn dedup(cards: Vec<Card>) -> (Vec<Card>, Vec<Duplicate>) {
    let mut out: Vec<Card> = Vec::with_capacity(cards.len());
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut dups = Vec::new();
    for c in cards {
        let Some(key) = dedup_key(&c) else {
            out.push(c);
            continue;
        };
        match by_key.get(&key) {
            None => {
                by_key.insert(key, out.len());
                out.push(c);
            }
            Some(&i) => {
                let identical = out[i].to_text(Version::V3) == c.to_text(Version::V3);
                let newer = match (rev(&c), rev(&out[i])) {
                    (Some(a), Some(b)) => a > b,
                    (Some(_), None) => true,
                    _ => false,
                };
                if newer {
                    dups.push(Duplicate {
                        key,
                        kept: c.describe(),
                        dropped: out[i].describe(),
                        identical,
                    });
                    out[i] = c;
                } else {
                    dups.push(Duplicate {
                        key,
                        kept: out[i].describe(),
                        dropped: c.describe(),
                        identical,
                    });
                }
            }
        }
    }
    (out, dups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn src(item: &str) -> SourceRef {
        SourceRef {
            account: "a@x".into(),
            folder: "Contacts".into(),
            item: item.into(),
            path: PathBuf::from(format!("/s/{item}.eml")),
        }
    }

    fn card(text: &str, item: &str) -> Card {
        let (mut v, p) = parse_all(text);
        assert!(p.is_empty(), "{p:?}");
        Card {
            card: v.remove(0),
            source: src(item),
            index: 0,
            uid_added: false,
        }
    }

    #[test]
    fn v21_to_v3_and_v4() {
        let c = card("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Sch=E4fer;J=F6rg\r\nFN:Jörg\r\nEMAIL;INTERNET;PREF:j@x.de\r\nTEL;WORK;VOICE:+49 1\r\nX-CUSTOM;X-P=1:keep me\r\nEND:VCARD\r\n", "1");
        let v3 = c.to_text(Version::V3);
        assert!(v3.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{v3}");
        assert!(
            v3.contains("N;CHARSET=UTF-8:Schäfer;Jörg\r\n") || v3.contains("N:Schäfer;Jörg\r\n"),
            "{v3}"
        );
        assert!(v3.contains("EMAIL;TYPE=INTERNET,PREF:j@x.de\r\n"), "{v3}");
        assert!(v3.contains("TEL;TYPE=WORK,VOICE:+49 1\r\n"), "{v3}");
        assert!(v3.contains("X-CUSTOM;X-P=1:keep me\r\n"), "{v3}");
        let t = card("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:t\r\nFN:T\r\nTEL;VALUE=uri;TYPE=cell:tel:+353-1-555\r\nEND:VCARD\r\n", "2");
        assert!(
            t.to_text(Version::V3)
                .contains("TEL;TYPE=CELL:+353-1-555\r\n"),
            "{}",
            t.to_text(Version::V3)
        );
        assert!(t.to_text(Version::V4).contains("tel:+353-1-555"));
        let v4 = c.to_text(Version::V4);
        assert!(v4.contains("VERSION:4.0\r\n"));
        assert!(v4.contains("EMAIL;TYPE=INTERNET;PREF=1:j@x.de\r\n"), "{v4}");
    }

    #[test]
    fn dedup_by_uid_then_fn_email() {
        let a = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:1\r\nFN:A\r\nEND:VCARD\r\n",
            "1",
        );
        let b = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:1\r\nFN:A\r\nEND:VCARD\r\n",
            "2",
        );
        let mut c = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob  Smith\r\nEMAIL:BOB@x\r\nEND:VCARD\r\n",
            "3",
        );
        c.uid_added = true;
        let mut d = card("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:bob smith\r\nEMAIL:bob@x\r\nREV:2020\r\nEND:VCARD\r\n", "4");
        d.uid_added = true;
        let e = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nobody\r\nEND:VCARD\r\n",
            "5",
        );
        let (out, dups) = dedup(vec![a, b, c, d, e]);
        assert_eq!(out.len(), 3);
        assert_eq!(dups.len(), 2);
        assert_eq!(dups[0].key, "UID:1");
        assert!(dups[0].identical);
        assert_eq!(dups[1].key, "FN+EMAIL:bob smith <bob@x>");
        // The one with a REV wins.
        assert_eq!(out[1].source.item, "4");
    }

    #[test]
    fn folding_is_utf8_safe() {
        let long = "Ü".repeat(100);
        let c = card(
            &format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:x\r\nNOTE:{long}\r\nEND:VCARD\r\n"),
            "1",
        );
        let t = c.to_text(Version::V3);
        for line in t.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        let unfolded = t.replace("\r\n ", "");
        assert!(unfolded.contains(&long));
    }
}
