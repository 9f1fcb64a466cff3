//! Calendars and tasks: a folder's items merged into one VCALENDAR.
//!
//! - every top-level component (VEVENT, VTODO, VJOURNAL, and anything
//!   else, never dropped) is kept with its sub-components (VALARM);
//! - each VTIMEZONE is written once; a second, different definition under
//!   the same TZID is reported;
//! - Windows / Outlook zone names ("Eastern Time (US & Canada)", "W. Europe
//!   Standard Time", the Outlook Connector's folded lists of cities; the
//!   whole Windows zone table is in `tzwin`) are renamed to their IANA zone
//!   everywhere, because Google Calendar ignores VTIMEZONE bodies and needs
//!   a zone it knows; the original definition is shipped under the new
//!   name. A name that maps
//!   only to a fixed `Etc/` offset is not renamed when its definition has
//!   daylight saving time;
//! - zones referenced but not defined get a VTIMEZONE generated from IANA;
//! - duplicates (same type, UID and RECURRENCE-ID) are left out, keeping
//!   the highest SEQUENCE, then the newest LAST-MODIFIED / DTSTAMP;
//! - recurrence exceptions are written right after their master;
//! - METHOD is dropped (CalDAV forbids it and importers ignore it), the
//!   calendar gets `X-WR-CALNAME` with the folder name; every other
//!   property, `X-KERIO-*` and other extensions included, is kept;
//! - output is CRLF, folded at 75 octets on UTF-8 boundaries (calcard).

use super::{Duplicate, FolderExport, ItemProblem, SourceRef};
use calcard::common::timezone::Tz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarParameterValue, ICalendarProperty, ICalendarValue,
};
use calcard::{Entry, Parser};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

/// The PRODID of what the exporter writes.
pub const PRODID: &str = "-//kerio-migrate//kerio-migrate//EN";

/// One top-level component with its sub-components.
#[derive(Debug, Clone)]
struct Obj {
    /// components[0] is the component; the rest its subtree.
    frag: ICalendar,
    source: SourceRef,
    index: usize,
    uid_added: bool,
}

impl Obj {
    fn comp(&self) -> &ICalendarComponent {
        &self.frag.components[0]
    }
    fn uid(&self) -> Option<&str> {
        self.comp().uid()
    }
    fn rid(&self) -> Option<String> {
        self.comp()
            .property(&ICalendarProperty::RecurrenceId)
            .map(entry_line)
    }
    fn describe(&self) -> String {
        format!("{} component {}", self.source.describe(), self.index + 1)
    }
    fn key(&self) -> Option<String> {
        let uid = self.uid()?;
        Some(format!(
            "{} UID:{}{}",
            self.comp().component_type.as_str(),
            uid,
            self.rid().map(|r| format!(" {r}")).unwrap_or_default()
        ))
    }
    fn rank(&self) -> (i64, String, String) {
        let c = self.comp();
        let seq = c
            .property(&ICalendarProperty::Sequence)
            .and_then(|e| e.values.first())
            .and_then(|v| v.as_integer())
            .unwrap_or(0);
        let lm = c
            .property(&ICalendarProperty::LastModified)
            .map(entry_value)
            .unwrap_or_default();
        let st = c
            .property(&ICalendarProperty::Dtstamp)
            .map(entry_value)
            .unwrap_or_default();
        (seq, lm, st)
    }
}

/// A property as one unfolded line without CRLF.
pub fn entry_line(e: &ICalendarEntry) -> String {
    let mut s = String::new();
    let _ = e.write_to(&mut s);
    s.replace("\r\n ", "").trim_end_matches("\r\n").to_string()
}

/// The value part of a property line.
fn entry_value(e: &ICalendarEntry) -> String {
    let l = entry_line(e);
    // The first unquoted colon ends name and parameters.
    let mut quoted = false;
    for (i, ch) in l.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ':' if !quoted => return l[i + 1..].to_string(),
            _ => {}
        }
    }
    l
}

/// An RRULE / EXRULE that calcard kept as text because it was escaped
/// like a text value (`FREQ=DAILY\;COUNT=10`, seen in real exports): the
/// escapes are removed and the rule parsed again. Written as text it would
/// come out as `FREQ=DAILY\\;COUNT=10`, which no importer reads. Returns
/// how many were repaired.
fn repair_rules(cal: &mut ICalendar) -> usize {
    let mut n = 0;
    for c in &mut cal.components {
        for e in &mut c.entries {
            if !matches!(e.name, ICalendarProperty::Rrule | ICalendarProperty::Exrule) {
                continue;
            }
            let Some(ICalendarValue::Text(t)) = e.values.first() else {
                continue;
            };
            if !t.contains('\\') {
                continue;
            }
            let plain = t.replace("\\;", ";").replace("\\,", ",");
            let probe = format!("BEGIN:VEVENT\r\nRRULE:{plain}\r\nEND:VEVENT\r\n");
            let parsed = match Parser::new(&probe).entry() {
                Entry::ICalendar(p) => p
                    .components
                    .first()
                    .and_then(|c| c.property(&ICalendarProperty::Rrule))
                    .and_then(|r| r.values.first().cloned()),
                _ => None,
            };
            match parsed {
                Some(v @ ICalendarValue::RecurrenceRule(_)) => e.values = vec![v],
                _ => e.values = vec![ICalendarValue::Text(plain)],
            }
            n += 1;
        }
    }
    n
}

/// Cleans every name in a calendar; returns how many were changed.
fn clean_names(cal: &mut ICalendar) -> usize {
    let mut n = 0;
    for c in &mut cal.components {
        if let ICalendarComponentType::Other(t) = &mut c.component_type {
            if let Some(x) = super::common::clean_name(t) {
                *t = x;
                n += 1;
            }
        }
        for e in &mut c.entries {
            if let ICalendarProperty::Other(t) = &mut e.name {
                if let Some(x) = super::common::clean_name(t) {
                    *t = x;
                    n += 1;
                }
            }
            for p in &mut e.params {
                if let ICalendarParameterName::Other(t) = &mut p.name {
                    if let Some(x) = super::common::clean_name(t) {
                        *t = x;
                        n += 1;
                    }
                }
            }
        }
    }
    n
}

/// Copies component `id` of `src` and its subtree into a new calendar
/// whose component 0 is the copy.
fn extract(src: &ICalendar, id: u32) -> ICalendar {
    let mut out = ICalendar::default();
    let mut seen = HashSet::new();
    copy_into(src, id, &mut out, &mut seen, 0);
    out
}

fn copy_into(
    src: &ICalendar,
    id: u32,
    out: &mut ICalendar,
    seen: &mut HashSet<u32>,
    depth: usize,
) -> Option<u32> {
    // A parser bug must not become a loop: each component once, depth
    // bounded.
    if depth > 32 || !seen.insert(id) {
        return None;
    }
    let c = src.components.get(id as usize)?;
    let new_id = out.components.len() as u32;
    out.components.push(ICalendarComponent {
        component_type: c.component_type.clone(),
        entries: c.entries.clone(),
        component_ids: Vec::new(),
    });
    let mut kids = Vec::with_capacity(c.component_ids.len());
    for &k in &c.component_ids {
        if let Some(nk) = copy_into(src, k, out, seen, depth + 1) {
            kids.push(nk);
        }
    }
    out.components[new_id as usize].component_ids = kids;
    Some(new_id)
}

/// Appends a fragment to `dst` and returns the id of its root.
fn append(dst: &mut ICalendar, frag: &ICalendar) -> u32 {
    let offset = dst.components.len() as u32;
    for c in &frag.components {
        dst.components.push(ICalendarComponent {
            component_type: c.component_type.clone(),
            entries: c.entries.clone(),
            component_ids: c.component_ids.iter().map(|k| k + offset).collect(),
        });
    }
    offset
}

fn new_calendar(name: Option<&str>) -> ICalendar {
    let mut root = ICalendarComponent::new(ICalendarComponentType::VCalendar);
    root.entries
        .push(ICalendarEntry::new(ICalendarProperty::Version).with_value("2.0".to_string()));
    root.entries
        .push(ICalendarEntry::new(ICalendarProperty::Prodid).with_value(PRODID.to_string()));
    if let Some(n) = name {
        root.entries.push(
            ICalendarEntry::new(ICalendarProperty::Other("X-WR-CALNAME".into()))
                .with_value(n.to_string()),
        );
    }
    ICalendar {
        components: vec![root],
    }
}

fn calendar_text(c: &ICalendar) -> String {
    let mut s = String::new();
    let _ = c.write_to(&mut s);
    s
}

/// The IANA name of a zone name when it is not one already and can be
/// mapped, from the name or from its VTIMEZONE (X-LIC-LOCATION,
/// X-MICROSOFT-CDO-TZID).
/// The Windows zone table ([`super::tzwin`]) is the last resort, for
/// display names calcard does not know (the Outlook Connector's lists of
/// cities, older `(GMT+01.00)` forms).
pub fn iana_for(tzid: &str, vtimezone: Option<&ICalendarComponent>) -> Option<String> {
    if let Ok(Tz::Tz(t)) = Tz::from_str(tzid) {
        if t.name() == tzid {
            return None;
        }
    }
    let resolved = vtimezone
        .and_then(|c| c.timezone().map(|(_, tz)| tz))
        .or_else(|| Tz::from_str(tzid).ok());
    match resolved {
        Some(Tz::Tz(t)) => Some(t.name().to_string()),
        _ => super::tzwin::iana_of(tzid).map(str::to_string),
    }
}

fn definition_has_dst(cal: &ICalendar, tz: &ICalendarComponent) -> bool {
    tz.component_ids.iter().any(|&k| {
        cal.components
            .get(k as usize)
            .is_some_and(|c| c.component_type == ICalendarComponentType::Daylight)
    })
}

fn tzid_of(c: &ICalendarComponent) -> Option<String> {
    c.property(&ICalendarProperty::Tzid)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(str::to_string)
}

/// Renames zones in `cal` per `map` (TZID of VTIMEZONEs and TZID params).
fn rename_zones(cal: &mut ICalendar, map: &HashMap<String, String>) {
    if map.is_empty() {
        return;
    }
    for c in &mut cal.components {
        let is_tz = c.component_type == ICalendarComponentType::VTimezone;
        for e in &mut c.entries {
            if is_tz && e.name == ICalendarProperty::Tzid {
                if let Some(ICalendarValue::Text(t)) = e.values.first_mut() {
                    if let Some(n) = map.get(t.as_str()) {
                        *t = n.clone();
                    }
                }
            }
            for p in &mut e.params {
                if p.name == ICalendarParameterName::Tzid {
                    if let ICalendarParameterValue::Text(t) = &mut p.value {
                        if let Some(n) = map.get(t.as_str()) {
                            *t = n.clone();
                        }
                    }
                }
            }
        }
    }
}

/// TZIDs referenced by parameters in `cal` outside VTIMEZONEs.
fn referenced_zones(cal: &ICalendar) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &cal.components {
        if matches!(
            c.component_type,
            ICalendarComponentType::VTimezone
                | ICalendarComponentType::Standard
                | ICalendarComponentType::Daylight
        ) {
            continue;
        }
        for e in &c.entries {
            for p in &e.params {
                if p.name == ICalendarParameterName::Tzid {
                    if let Some(t) = p.value.as_text() {
                        if !out.iter().any(|o| o == t) {
                            out.push(t.to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

/// Parses every iCalendar object in `text`; returns them and what could
/// not be read.
pub fn parse_all(text: &str) -> (Vec<ICalendar>, Vec<String>) {
    let mut cals = Vec::new();
    let mut problems = Vec::new();
    let mut p = Parser::new(text);
    for _ in 0..1_000_000 {
        match p.entry() {
            Entry::Eof => break,
            Entry::ICalendar(c) => {
                if c.components.is_empty() {
                    problems.push("an empty calendar object".into());
                } else {
                    cals.push(c);
                }
            }
            Entry::VCard(_) => problems.push("a vCard among the calendar objects".into()),
            Entry::InvalidLine(l) => {
                if !l.trim().is_empty() {
                    problems.push(format!("invalid line {:?}", crate::text::shorten(&l, 80)));
                }
            }
            other => problems.push(crate::text::shorten(&format!("{other:?}"), 120)),
        }
    }
    (cals, problems)
}

/// Components that CalDAV stores.
fn uploadable(t: &ICalendarComponentType) -> bool {
    matches!(
        t,
        ICalendarComponentType::VEvent
            | ICalendarComponentType::VTodo
            | ICalendarComponentType::VJournal
    )
}

/// One CalDAV resource: the components of one UID and their zones.
#[derive(Debug, Clone)]
pub struct Resource {
    pub uid: String,
    /// Component type (`VEVENT`).
    pub kind: String,
    /// The resource text (a VCALENDAR).
    pub text: String,
    /// Where its components came from.
    pub sources: Vec<SourceRef>,
}

/// What [`Merger::finish`] produces.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// The folder's VCALENDAR, CRLF.
    pub text: String,
    /// Top-level components found (without VTIMEZONE).
    pub objects_found: u64,
    /// Components written.
    pub objects_written: u64,
    /// Per-UID resources for CalDAV.
    pub resources: Vec<Resource>,
    /// Components written to the file that CalDAV cannot store.
    pub not_uploadable: u64,
}

/// Collects a folder's calendar items.
pub struct Merger {
    name: String,
    objs: Vec<Obj>,
    zones: Vec<(String, ICalendar, String)>,
    zone_conflicts: BTreeMap<String, Vec<String>>,
    renamed: BTreeMap<String, String>,
    root_extra: Vec<ICalendarEntry>,
}

impl Merger {
    /// A merger for the folder named `name`.
    pub fn new(name: &str) -> Merger {
        Merger {
            name: name.rsplit('/').next().unwrap_or(name).to_string(),
            objs: Vec::new(),
            zones: Vec::new(),
            zone_conflicts: BTreeMap::new(),
            renamed: BTreeMap::new(),
            root_extra: Vec::new(),
        }
    }

    /// Adds one item's iCalendar text.
    pub fn add_item(&mut self, src: &SourceRef, text: &str, fr: &mut FolderExport) {
        let (cals, problems) = parse_all(text);
        let parsed = cals.len();
        let before = self.objs.len();
        for mut cal in cals {
            self.add_calendar(src, &mut cal, before, fr);
        }
        let added = self.objs.len() - before;
        if added == 0 && problems.is_empty() && parsed > 0 {
            // A VCALENDAR without components (only calendar properties, or
            // only VTIMEZONEs): nothing to lose, its properties are kept on
            // the folder's VCALENDAR.
            fr.empty_items += 1;
            fr.changes.push(ItemProblem::new(
                src,
                "a calendar without components; its calendar properties and time zones are kept on the folder's calendar",
            ));
        } else if added == 0 {
            let reason = if problems.is_empty() {
                "no calendar component in the item".to_string()
            } else {
                format!("no readable calendar component: {}", problems.join("; "))
            };
            fr.failed.push(ItemProblem::new(src, reason));
        } else if !problems.is_empty() {
            fr.partial.push(ItemProblem::new(
                src,
                format!("{added} components read; not read: {}", problems.join("; ")),
            ));
        }
    }

    /// `first`: where this item's objects start in `self.objs`.
    fn add_calendar(
        &mut self,
        src: &SourceRef,
        cal: &mut ICalendar,
        first: usize,
        fr: &mut FolderExport,
    ) {
        let root_is_cal = cal.components[0].component_type == ICalendarComponentType::VCalendar;
        if root_is_cal {
            let v1 = cal.components[0]
                .property(&ICalendarProperty::Version)
                .and_then(|e| e.values.first())
                .and_then(|v| v.as_text())
                .is_some_and(|v| v.trim() == "1.0");
            if v1 {
                fr.changes.push(ItemProblem::new(
                    src,
                    "vCalendar 1.0 object written into an iCalendar 2.0 file as it is",
                ));
            }
        }
        // Zone renames, decided on this object's own definitions.
        let mut map: HashMap<String, String> = HashMap::new();
        let defined: Vec<(String, usize)> = cal
            .components
            .iter()
            .enumerate()
            .filter(|(_, c)| c.component_type == ICalendarComponentType::VTimezone)
            .filter_map(|(i, c)| tzid_of(c).map(|t| (t, i)))
            .collect();
        for (tzid, i) in &defined {
            let c = &cal.components[*i];
            if let Some(n) = iana_for(tzid, Some(c)) {
                if !(n.starts_with("Etc/") && definition_has_dst(cal, c)) {
                    map.insert(tzid.clone(), n);
                }
            }
        }
        for tzid in referenced_zones(cal) {
            if !map.contains_key(&tzid) && !defined.iter().any(|(d, _)| *d == tzid) {
                if let Some(n) = iana_for(&tzid, None) {
                    map.insert(tzid, n);
                }
            }
        }
        for (from, to) in &map {
            self.renamed.insert(from.clone(), to.clone());
        }
        rename_zones(cal, &map);
        let repaired = repair_rules(cal);
        if repaired > 0 {
            fr.changes.push(ItemProblem::new(
                src,
                format!("{repaired} recurrence rules written with text escapes repaired"),
            ));
        }
        let cleaned = clean_names(cal);
        if cleaned > 0 {
            fr.changes.push(ItemProblem::new(
                src,
                format!("{cleaned} property/component names with invalid characters cleaned"),
            ));
        }

        let top: Vec<u32> = if root_is_cal {
            for e in &cal.components[0].entries {
                match &e.name {
                    ICalendarProperty::Version
                    | ICalendarProperty::Prodid
                    | ICalendarProperty::Method
                    | ICalendarProperty::Calscale => {}
                    ICalendarProperty::Other(n) if n.eq_ignore_ascii_case("X-WR-CALNAME") => {}
                    _ => {
                        if !self.root_extra.contains(e) {
                            self.root_extra.push(e.clone());
                        }
                    }
                }
            }
            cal.components[0].component_ids.clone()
        } else {
            vec![0]
        };
        for id in top {
            let Some(c) = cal.components.get(id as usize) else {
                continue;
            };
            if c.component_type == ICalendarComponentType::VTimezone {
                let frag = extract(cal, id);
                let tzid = tzid_of(&frag.components[0]).unwrap_or_default();
                let text = calendar_text(&frag);
                match self.zones.iter().find(|(t, _, _)| *t == tzid) {
                    None => self.zones.push((tzid, frag, text)),
                    Some((_, _, known)) if *known == text => {}
                    Some(_) => self
                        .zone_conflicts
                        .entry(tzid)
                        .or_default()
                        .push(src.describe()),
                }
                continue;
            }
            let frag = extract(cal, id);
            let index = self.objs.len() - first;
            let mut obj = Obj {
                frag,
                source: src.clone(),
                index,
                uid_added: false,
            };
            if uploadable(&obj.comp().component_type)
                && obj.uid().is_none_or(|u| u.trim().is_empty())
            {
                let uid = super::common::derived_uid(src, index);
                let c = &mut obj.frag.components[0];
                c.entries.retain(|e| e.name != ICalendarProperty::Uid);
                c.entries
                    .push(ICalendarEntry::new(ICalendarProperty::Uid).with_value(uid));
                obj.uid_added = true;
                fr.changes.push(ItemProblem::new(
                    src,
                    format!("component {}: UID added", index + 1),
                ));
            }
            self.objs.push(obj);
        }
    }

    /// De-duplicates, orders and writes the folder's calendar.
    pub fn finish(self, fr: &mut FolderExport) -> Merged {
        let found = self.objs.len() as u64;
        // De-duplicate.
        let mut kept: Vec<Obj> = Vec::with_capacity(self.objs.len());
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for o in self.objs {
            let Some(key) = o.key() else {
                kept.push(o);
                continue;
            };
            match by_key.get(&key) {
                None => {
                    by_key.insert(key, kept.len());
                    kept.push(o);
                }
                Some(&i) => {
                    let identical = calendar_text(&kept[i].frag) == calendar_text(&o.frag);
                    if o.rank() > kept[i].rank() {
                        fr.duplicates.push(Duplicate {
                            key,
                            kept: o.describe(),
                            dropped: kept[i].describe(),
                            identical,
                        });
                        kept[i] = o;
                    } else {
                        fr.duplicates.push(Duplicate {
                            key,
                            kept: kept[i].describe(),
                            dropped: o.describe(),
                            identical,
                        });
                    }
                }
            }
        }
        // Group by (type, UID) in order of first appearance; master first,
        // then exceptions in RECURRENCE-ID order.
        let mut groups: Vec<(String, String, Vec<Obj>)> = Vec::new();
        let mut loose: Vec<Obj> = Vec::new();
        let mut gidx: HashMap<(String, String), usize> = HashMap::new();
        for o in kept {
            match o.uid().map(str::to_string) {
                Some(uid) => {
                    let t = o.comp().component_type.as_str().to_string();
                    let k = (t.clone(), uid.clone());
                    match gidx.get(&k) {
                        Some(&i) => groups[i].2.push(o),
                        None => {
                            gidx.insert(k, groups.len());
                            groups.push((t, uid, vec![o]));
                        }
                    }
                }
                None => loose.push(o),
            }
        }
        for g in &mut groups {
            g.2.sort_by_key(|o| o.rid());
        }
        let mut cal = new_calendar(Some(&self.name));
        cal.components[0]
            .entries
            .extend(self.root_extra.iter().cloned());
        for (_, frag, _) in &self.zones {
            let id = append(&mut cal, frag);
            cal.components[0].component_ids.push(id);
        }
        let mut written = 0u64;
        let mut not_uploadable = 0u64;
        for o in groups.iter().flat_map(|g| g.2.iter()).chain(loose.iter()) {
            let id = append(&mut cal, &o.frag);
            cal.components[0].component_ids.push(id);
            written += 1;
            if !uploadable(&o.comp().component_type) {
                not_uploadable += 1;
            }
        }
        let generated = cal.add_missing_timezones();
        if generated > 0 {
            fr.notes.push(format!(
                "{generated} VTIMEZONE definitions generated from IANA for zones referenced but not defined"
            ));
        }
        for (from, to) in &self.renamed {
            fr.notes
                .push(format!("time zone {from:?} written as IANA {to:?}"));
        }
        for (tzid, srcs) in &self.zone_conflicts {
            fr.notes.push(format!(
                "VTIMEZONE {tzid:?} defined differently in {} other item(s) (first definition kept): {}",
                srcs.len(),
                srcs.join(", ")
            ));
        }
        let defined: HashSet<String> = cal
            .components
            .iter()
            .filter(|c| c.component_type == ICalendarComponentType::VTimezone)
            .filter_map(tzid_of)
            .collect();
        for z in referenced_zones(&cal) {
            if !defined.contains(&z) {
                fr.notes.push(format!(
                    "time zone {z:?} is neither defined nor known: importers will treat its times as floating"
                ));
            }
        }
        // CalDAV resources.
        let mut resources = Vec::new();
        for (kind, uid, objs) in &groups {
            if !objs.iter().any(|o| uploadable(&o.comp().component_type)) {
                continue;
            }
            let mut r = new_calendar(None);
            let mut part = ICalendar::default();
            part.components
                .push(ICalendarComponent::new(ICalendarComponentType::VCalendar));
            for o in objs {
                let id = append(&mut part, &o.frag);
                part.components[0].component_ids.push(id);
            }
            let needed = referenced_zones(&part);
            for z in &needed {
                if let Some((_, frag, _)) = self.zones.iter().find(|(t, _, _)| t == z) {
                    let id = append(&mut r, frag);
                    r.components[0].component_ids.push(id);
                }
            }
            for o in objs {
                let id = append(&mut r, &o.frag);
                r.components[0].component_ids.push(id);
            }
            r.add_missing_timezones();
            resources.push(Resource {
                uid: uid.clone(),
                kind: kind.clone(),
                text: calendar_text(&r),
                sources: objs.iter().map(|o| o.source.clone()).collect(),
            });
        }
        Merged {
            text: calendar_text(&cal),
            objects_found: found,
            objects_written: written,
            resources,
            not_uploadable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn src(item: &str) -> SourceRef {
        SourceRef {
            account: "a@x".into(),
            folder: "Calendar".into(),
            item: item.into(),
            path: PathBuf::from(format!("/s/{item}.eml")),
        }
    }

    const EASTERN: &str = "BEGIN:VTIMEZONE\r\nTZID:Eastern Time (US & Canada)\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

    fn cal(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kerio Technologies//Kerio Connect//EN\r\nMETHOD:PUBLISH\r\n{body}END:VCALENDAR\r\n")
    }

    #[test]
    fn merge_zones_exceptions_and_duplicates() {
        let mut fr = FolderExport::default();
        let mut m = Merger::new("Calendar");
        let master = format!("{EASTERN}BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20200101T000000Z\r\nDTSTART;TZID=Eastern Time (US & Canada):20200106T090000\r\nDTEND;TZID=Eastern Time (US & Canada):20200106T100000\r\nRRULE:FREQ=WEEKLY;COUNT=5\r\nSUMMARY:Weekly\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\nEND:VALARM\r\nEND:VEVENT\r\n");
        let other = "BEGIN:VEVENT\r\nUID:u2\r\nDTSTAMP:20200101T000000Z\r\nDTSTART;TZID=W. Europe Standard Time:20200107T090000\r\nSUMMARY:No zone def\r\nEND:VEVENT\r\n";
        let exception = format!("{EASTERN}BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20200101T000000Z\r\nRECURRENCE-ID;TZID=Eastern Time (US & Canada):20200113T090000\r\nDTSTART;TZID=Eastern Time (US & Canada):20200113T110000\r\nDTEND;TZID=Eastern Time (US & Canada):20200113T120000\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n");
        m.add_item(&src("1"), &cal(&master), &mut fr);
        m.add_item(&src("2"), &cal(other), &mut fr);
        m.add_item(&src("3"), &cal(&exception), &mut fr);
        m.add_item(&src("4"), &cal(&master), &mut fr);
        let r = m.finish(&mut fr);
        assert!(fr.failed.is_empty() && fr.partial.is_empty(), "{fr:?}");
        assert_eq!(r.objects_found, 4);
        assert_eq!(r.objects_written, 3);
        assert_eq!(fr.duplicates.len(), 1);
        assert!(fr.duplicates[0].identical);
        let t = &r.text;
        assert!(t.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{t}");
        assert!(!t.contains("METHOD"));
        assert!(t.contains("X-WR-CALNAME:Calendar\r\n"));
        assert_eq!(
            t.matches("BEGIN:VTIMEZONE\r\nTZID:America/New_York")
                .count(),
            1,
            "{t}"
        );
        assert!(t.contains("TZID:Europe/Berlin"), "generated zone: {t}");
        assert!(t.contains("DTSTART;TZID=America/New_York:20200106T090000"));
        assert!(!t.contains("Eastern Time"));
        // Exception right after its master.
        let p_master = t.find("SUMMARY:Weekly").expect("master");
        let p_exc = t.find("SUMMARY:Moved").expect("exception");
        let p_other = t.find("SUMMARY:No zone def").expect("other");
        assert!(p_master < p_exc && p_exc < p_other);
        assert!(t.contains("BEGIN:VALARM"));
        for line in t.split("\r\n") {
            assert!(line.len() <= 75);
        }
        assert!(!t.replace("\r\n", "").contains('\n'));
        // Resources: one per UID, with the zone they need.
        assert_eq!(r.resources.len(), 2);
        let u1 = &r.resources[0];
        assert_eq!(u1.uid, "u1");
        assert_eq!(u1.text.matches("BEGIN:VEVENT").count(), 2);
        assert!(u1.text.contains("TZID:America/New_York\r\n"));
        let (again, probs) = parse_all(t);
        assert!(probs.is_empty());
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn uid_added_and_failures() {
        let mut fr = FolderExport::default();
        let mut m = Merger::new("Tasks");
        m.add_item(
            &src("1"),
            &cal("BEGIN:VTODO\r\nSUMMARY:no uid\r\nEND:VTODO\r\n"),
            &mut fr,
        );
        m.add_item(&src("2"), "garbage\r\n", &mut fr);
        let r = m.finish(&mut fr);
        assert_eq!(r.objects_written, 1);
        assert_eq!(fr.failed.len(), 1);
        assert_eq!(fr.changes.len(), 1);
        assert!(r.text.contains("UID:kerio-migrate-"));
    }
}
