//! The calendar driver: walks the selected accounts' calendar, tasks, notes
//! and journal folders (and such items found in mail folders), writes one
//! `.ics` per folder and notes as text, and uploads over CalDAV when asked.

use super::*;

/// Options of the calendar export.
pub struct CalendarOptions<'a> {
    /// Output directory (`None`: upload only).
    pub out: Option<PathBuf>,
    pub selection: Selection,
    /// Upload target.
    pub dav: Option<&'a dav::Uploader>,
}

/// Exports every selected calendar, tasks, notes and journal folder: one
/// `.ics` per folder with iCalendar content in `OUT/<account>/<folder>.ics`,
/// notes and text journal entries as `OUT/<account>/<folder>/<id>
/// <subject>.txt`, and the upload when asked.
pub fn export_calendars(
    source: &dyn Source,
    opts: &CalendarOptions<'_>,
    progress: &Progress,
) -> ExportReport {
    let (mut report, accounts) = begin(
        "calendar",
        source,
        opts.out.as_deref(),
        opts.dav,
        &opts.selection,
    );
    let Some(accounts) = accounts else {
        return report;
    };
    let kinds = [
        FolderKind::Calendar,
        FolderKind::Tasks,
        FolderKind::Notes,
        FolderKind::Journal,
    ];
    let mut top_names = UniqueNames::default();
    for account in &accounts {
        let id = account.id();
        let mut ar = AccountExport {
            account: id.clone(),
            ..AccountExport::default()
        };
        let folders = match groupware_folders(source, account, &opts.selection, &kinds) {
            Ok(f) => f,
            Err(e) => {
                ar.error = Some(e.to_string());
                report.accounts.push(ar);
                continue;
            }
        };
        if folders.is_empty() {
            continue;
        }
        let account_dir = opts
            .out
            .as_ref()
            .map(|o| o.join(top_names.take(&safe_name(&id), "")));
        let mut names = UniqueNames::default();
        for sf in &folders {
            progress.add_total(sf.items.len() as u64);
            let mut fr = FolderExport {
                folder: sf.path.clone(),
                kind: export_kind(sf),
                items: sf.items.len() as u64,
                ..FolderExport::default()
            };
            let mut merger = ical::Merger::new(&sf.path);
            let mut texts: Vec<notes::TextNote> = Vec::new();
            for item in &sf.items {
                let src = SourceRef::of(&id, sf, item);
                match load_item(item, &src) {
                    Err(p) => fr.failed.push(p),
                    Ok(u) => match u.payload {
                        wrapper::Payload::Calendar(text) => {
                            merger.add_item(&src, &text, &mut fr);
                        }
                        wrapper::Payload::VCard(_) => fr.failed.push(ItemProblem::new(
                            &src,
                            "a vCard in a calendar folder: export it with `contacts`",
                        )),
                        wrapper::Payload::Text { subject, body } => {
                            if matches!(item.kind, FolderKind::Notes | FolderKind::Journal) {
                                texts.push(notes::TextNote {
                                    source: src,
                                    subject,
                                    body,
                                    date: u.date,
                                });
                            } else {
                                fr.failed.push(ItemProblem::new(
                                    &src,
                                    "no iCalendar object in the item",
                                ));
                            }
                        }
                        wrapper::Payload::Empty => fr.empty_items += 1,
                    },
                }
                progress.inc(1, 0);
            }
            let merged = merger.finish(&mut fr);
            fr.objects += merged.objects_found;
            fr.exported += merged.objects_written;
            let stem = folder_stem(sf);
            if let Some(dir) = &account_dir {
                if merged.objects_written > 0 || merged.objects_found > 0 {
                    let path = dir.join(names.take(&stem, "ics"));
                    match write_file(&path, merged.text.as_bytes()) {
                        Ok(()) => fr.file = Some(path.display().to_string()),
                        Err(e) => report.fatal = Some(e.to_string()),
                    }
                }
                if !texts.is_empty() {
                    let tdir = dir.join(names.take(&stem, ""));
                    match notes::write_notes(&tdir, &texts) {
                        Ok(n) => fr.text_notes = n,
                        Err(e) => report.fatal = Some(e.to_string()),
                    }
                }
            } else {
                fr.text_notes = 0;
            }
            if !texts.is_empty() && account_dir.is_none() {
                fr.notes.push(format!(
                    "{} text notes not written (no --out; DAV has no place for them)",
                    texts.len()
                ));
            }
            if let Some(up) = opts.dav {
                if merged.objects_written > 0 {
                    fr.dav = Some(up.upload_calendar(
                        &id,
                        sf,
                        &dav_stem(sf, &stem, "calendar"),
                        &merged,
                    ));
                }
            }
            ar.folders.push(fr);
            if report.fatal.is_some() {
                break;
            }
        }
        report.accounts.push(ar);
        if report.fatal.is_some() {
            break;
        }
    }
    report.finalize();
    report
}
