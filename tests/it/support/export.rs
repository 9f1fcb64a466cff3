//! Fixtures of the export tests: vCards and iCalendar objects wrapped as
//! Kerio stores them (a MIME message, in every transfer encoding), and a
//! small store with contacts, calendars, tasks and notes.

use super::store::{item_id, StoreBuilder};
use std::path::Path;

/// How an item's payload is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// 8bit body.
    Plain,
    /// quoted-printable body.
    Qp,
    /// base64 body.
    B64,
    /// base64 part inside multipart/mixed, after a text part.
    Multipart,
}

impl Enc {
    pub const ALL: [Enc; 4] = [Enc::Plain, Enc::Qp, Enc::B64, Enc::Multipart];
    pub fn name(self) -> &'static str {
        match self {
            Enc::Plain => "plain",
            Enc::Qp => "qp",
            Enc::B64 => "b64",
            Enc::Multipart => "multi",
        }
    }
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    let mut col = 0;
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
        col += 4;
        if col >= 76 {
            s.push_str("\r\n");
            col = 0;
        }
    }
    if col > 0 {
        s.push_str("\r\n");
    }
    s
}

/// Quoted-printable (RFC 2045): line breaks kept as CRLF, soft breaks at 76.
pub fn qp(data: &[u8]) -> String {
    let mut out = String::new();
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\n' {
            let end = if i > start && data[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            lines.push(&data[start..end]);
            start = i + 1;
        }
        i += 1;
    }
    let tail = &data[start..];
    for (li, line) in lines.iter().chain(std::iter::once(&tail)).enumerate() {
        if li > 0 {
            out.push_str("\r\n");
        }
        let mut col = 0;
        for (j, &b) in line.iter().enumerate() {
            let last = j + 1 == line.len();
            let printable = (33..=126).contains(&b) || (b == b' ' && !last);
            let enc = !printable || b == b'=';
            let piece = if enc {
                format!("={b:02X}")
            } else {
                (b as char).to_string()
            };
            if col + piece.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            out.push_str(&piece);
            col += piece.len();
        }
    }
    out
}

/// A Kerio item wrapping `payload` with content type `ctype`.
pub fn wrap(payload: &[u8], ctype: &str, enc: Enc, subject: &str) -> Vec<u8> {
    let charset = if std::str::from_utf8(payload).is_ok() {
        "; charset=utf-8"
    } else {
        ""
    };
    let mut m = format!(
        "Subject: {subject}\r\nDate: Tue, 14 Mar 2006 08:30:12 +0100\r\nMIME-Version: 1.0\r\nX-Mailer: Kerio Connect\r\n"
    )
    .into_bytes();
    match enc {
        Enc::Plain => {
            m.extend_from_slice(
                format!(
                    "Content-Type: {ctype}{charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                )
                .as_bytes(),
            );
            m.extend_from_slice(payload);
        }
        Enc::Qp => {
            m.extend_from_slice(
                format!("Content-Type: {ctype}{charset}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}", qp(payload))
                    .as_bytes(),
            );
        }
        Enc::B64 => {
            m.extend_from_slice(
                format!(
                    "Content-Type: {ctype}{charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                    base64(payload)
                )
                .as_bytes(),
            );
        }
        Enc::Multipart => {
            m.extend_from_slice(
                format!(
                    "Content-Type: multipart/mixed; boundary=\"----=_NextPart_000_0001\"\r\n\r\n\
                     This is a multi-part message in MIME format.\r\n\r\n\
                     ------=_NextPart_000_0001\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{subject}\r\n\r\n\
                     ------=_NextPart_000_0001\r\nContent-Type: {ctype}{charset}; name=\"item\"\r\n\
                     Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"item\"\r\n\r\n{}\r\n\
                     ------=_NextPart_000_0001--\r\n",
                    base64(payload)
                )
                .as_bytes(),
            );
        }
    }
    m
}

pub const CARD_V3: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Kerio Technologies//Kerio Connect//EN\r\nUID:c1-juergen\r\nN:Weiß;Jürgen;;;\r\nFN:Jürgen Weiß\r\nEMAIL;TYPE=INTERNET,WORK:j.weiss@lieferant.example\r\nTEL;TYPE=WORK:+49 221 555 0100\r\nNOTE:Met at the Hannover Messe 2008. Prefers phone calls in the morning\\; spe\r\n aks French.\r\nX-KERIO-CUSTOM;X-FOO=bar:keep me\r\nEND:VCARD\r\n";
pub const CARD_V21_QP: &str = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Sch=E4fer;J=F6rg\r\nFN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=F6rg Sch=E4fer\r\nTEL;WORK;VOICE:+49 221 555 0177\r\nEMAIL;INTERNET:joerg.schaefer@handwerk.example\r\nEND:VCARD\r\n";
pub const CARD_V4: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nFN:Zoë O’Brien\r\nN:O’Brien;Zoë;;;\r\nEMAIL;TYPE=home:zoe@example.ie\r\nTEL;VALUE=uri;TYPE=cell:tel:+353-1-555-0101\r\nKIND:individual\r\nEND:VCARD\r\n";
pub const CARD_SUB: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:garage-martin-69\r\nN:;;;;\r\nFN:Garage Martin\r\nTEL;TYPE=WORK:+33 4 72 00 00 00\r\nEND:VCARD\r\n";
pub const CARD_PUBLIC: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:reception-0001@example.com\r\nFN:Example Corp Reception\r\nEMAIL:reception@example.com\r\nEND:VCARD\r\n";

pub const VTZ_EASTERN: &str = "BEGIN:VTIMEZONE\r\nTZID:Eastern Time (US & Canada)\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

pub fn vcal(body: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nPRODID:-//Kerio Technologies//Kerio Connect//EN\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\n{body}END:VCALENDAR\r\n")
}

pub fn ev_master() -> String {
    vcal(&format!("{VTZ_EASTERN}BEGIN:VEVENT\r\nUID:weekly-sync@example.com\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Eastern Time (US & Canada):20240108T090000\r\nDTEND;TZID=Eastern Time (US & Canada):20240108T093000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10\r\nSUMMARY:Weekly sync\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:Weekly sync\r\nEND:VALARM\r\nEND:VEVENT\r\n"))
}

pub fn ev_exception() -> String {
    vcal(&format!("{VTZ_EASTERN}BEGIN:VEVENT\r\nUID:weekly-sync@example.com\r\nDTSTAMP:20240101T000000Z\r\nRECURRENCE-ID;TZID=Eastern Time (US & Canada):20240115T090000\r\nDTSTART;TZID=Eastern Time (US & Canada):20240115T110000\r\nDTEND;TZID=Eastern Time (US & Canada):20240115T113000\r\nSUMMARY:Weekly sync (moved)\r\nEND:VEVENT\r\n"))
}

pub fn ev_berlin() -> String {
    vcal("BEGIN:VEVENT\r\nUID:kickoff-2024@example.com\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=W. Europe Standard Time:20240301T100000\r\nDTEND;TZID=W. Europe Standard Time:20240301T113000\r\nSUMMARY:Projekt-Kickoff Übersicht\r\nLOCATION:Köln\r\nEND:VEVENT\r\n")
}

pub fn todo() -> String {
    vcal("BEGIN:VTODO\r\nUID:todo-1@example.com\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Steuererklärung\r\nDUE;VALUE=DATE:20240531\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\n")
}

/// alice@example.com with contacts (a subfolder too), a calendar, tasks,
/// notes, one broken contact and one duplicate; #public contacts.
pub fn small_store(install: &Path) -> StoreBuilder {
    let sb = StoreBuilder::new(install);
    let (alice, public) = ("alice@example.com", "#public@example.com");
    sb.inbox(alice).inbox(public);
    let (master, berlin, exception, task) = (ev_master(), ev_berlin(), ev_exception(), todo());
    // account, folder, item, payload, content type, encoding, subject
    let wrapped: [(&str, &str, usize, &str, &str, Enc, &str); 11] = [
        (
            alice,
            "Contacts",
            1,
            CARD_V3,
            "text/x-vcard",
            Enc::Plain,
            "Jürgen Weiß",
        ),
        (
            alice,
            "Contacts",
            2,
            CARD_V21_QP,
            "text/x-vcard",
            Enc::Qp,
            "Jörg",
        ),
        (alice, "Contacts", 3, CARD_V4, "text/vcard", Enc::B64, "Zoë"),
        (
            alice,
            "Contacts",
            4,
            CARD_V3,
            "text/x-vcard",
            Enc::Multipart,
            "dup",
        ),
        (
            alice,
            "Contacts",
            5,
            "this is not a vcard at all\r\n",
            "text/x-vcard",
            Enc::Plain,
            "broken",
        ),
        (
            alice,
            "Contacts/Garage",
            1,
            CARD_SUB,
            "text/directory",
            Enc::Qp,
            "Garage",
        ),
        (
            public,
            "Contacts",
            1,
            CARD_PUBLIC,
            "text/x-vcard",
            Enc::Plain,
            "Reception",
        ),
        (
            alice,
            "Calendar",
            1,
            &master,
            "text/calendar",
            Enc::Plain,
            "Weekly sync",
        ),
        (
            alice,
            "Calendar",
            2,
            &berlin,
            "text/calendar",
            Enc::B64,
            "Kickoff",
        ),
        (
            alice,
            "Calendar",
            3,
            &exception,
            "text/calendar",
            Enc::Qp,
            "moved",
        ),
        (
            alice,
            "Tasks",
            1,
            &task,
            "text/calendar",
            Enc::Multipart,
            "Steuer",
        ),
    ];
    for (account, folder, n, payload, ctype, enc, subject) in wrapped {
        let bytes = wrap(payload.as_bytes(), ctype, enc, subject);
        sb.item(account, folder, &item_id(n), &bytes);
    }
    sb.item(
        alice,
        "Notes",
        &item_id(1),
        b"Subject: Wi-Fi guest password\r\nDate: Thu, 01 Sep 2022 10:00:00 +0200\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nWi-Fi guest password\r\n\r\nSSID: Example-Guest, f=C3=BCr G=C3=A4ste\r\n",
    );
    sb
}
