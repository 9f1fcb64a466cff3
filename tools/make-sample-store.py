#!/usr/bin/env python3
"""Generate the kerio-migrate sample store (a small, synthetic Kerio install dir).

Usage:
    python3 tools/make-sample-store.py            # (re)creates ./sample-store
    python3 tools/make-sample-store.py --out DIR  # writes somewhere else

Standard library only. The output is deterministic: no randomness, no use of
the current time, every file is written in binary mode, and every file and
directory gets a fixed mtime via os.utime. Running it twice gives identical
bytes and mtimes.

Layout written (see sample-store/README.md, which is generated too):
    users.cfg, mailserver.cfg              install-dir configuration (XML)
    store/mail/<domain>/<user>/<folders>   Kerio mailboxes
    store/mail/<domain>/#public/<folders>  public folders
    expected-counts.json                   the numbers tests assert
    README.md                              what each case is for

After writing, the generator re-scans the tree with an independent walker (the
way a reader would see it) and checks that the counts match the spec it wrote
from; any mismatch aborts with an error.

Everything on disk is fake: example.* / *.example domains, RFC 5737 IPs,
made-up people, fake password hashes.
"""

import argparse
import base64
import datetime as dt
import email.utils
import hashlib
import json
import os
import quopri
import re
import shutil
import struct
import sys
import uuid
import gzip
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "sample-store"

# mtime for everything that is not an item file: 2024-06-30T12:00:00Z
FIXED_MTIME = 1719748800
CRLF = b"\r\n"
LF = b"\n"

# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def when(y, mo, d, h=0, mi=0, s=0, tz=0):
    """Aware datetime; tz is the UTC offset in hours (may be fractional)."""
    return dt.datetime(y, mo, d, h, mi, s,
                       tzinfo=dt.timezone(dt.timedelta(minutes=round(tz * 60))))


def unix(d):
    return int(d.timestamp())


def rfcdate(d):
    return email.utils.format_datetime(d)


def prng_bytes(seed, n):
    """Deterministic pseudo-random bytes (SHA-256 in counter mode)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def short_hash(s, n=8):
    return hashlib.sha256(s.encode()).hexdigest()[:n]


def mutf7_encode(name):
    """RFC 3501 5.1.3 modified UTF-7."""
    out = []
    pending = []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            b = base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",")
            out.append("&" + b + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


B64ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"


def mutf7_decode(raw):
    """Strict decoder (bytes -> str), None when the name is not canonical mUTF-7."""
    out = []
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x26:  # '&'
            end = raw.find(b"-", i + 1)
            if end < 0:
                return None
            sec = raw[i + 1:end]
            i = end + 1
            if not sec:
                out.append("&")
                continue
            bits = nbits = 0
            units = []
            for c in sec:
                v = B64ALPHA.find(chr(c))
                if v < 0:
                    return None
                bits = ((bits << 6) | v) & 0x3FFFFF
                nbits += 6
                if nbits >= 16:
                    nbits -= 16
                    units.append((bits >> nbits) & 0xFFFF)
            if nbits >= 6 or (bits & ((1 << nbits) - 1)) or not units:
                return None
            try:
                s = b"".join(struct.pack(">H", u) for u in units).decode("utf-16-be")
            except UnicodeDecodeError:
                return None
            if any(0x20 <= ord(ch) <= 0x7E for ch in s):
                return None
            out.append(s)
        elif 0x20 <= b <= 0x7E:
            out.append(chr(b))
            i += 1
        else:
            return None
    return "".join(out)


# --------------------------------------------------------------------------
# RFC 2047 / MIME helpers (everything is authored with "\n"; the final
# message is converted to the wanted line ending in one place)
# --------------------------------------------------------------------------

Q_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def _q_word(raw, charset):
    s = "".join(chr(c) if c in Q_SAFE else ("_" if c == 0x20 else "=%02X" % c) for c in raw)
    return f"=?{charset}?Q?{s}?="


def _b_word(raw, charset):
    return f"=?{charset}?B?{base64.b64encode(raw).decode()}?="


def ew(text, charset="UTF-8", mode="B"):
    """Encode text as one or more RFC 2047 encoded-words (folded with "\\n ")."""
    words = []
    chunk = ""
    enc = _b_word if mode == "B" else _q_word
    for ch in text:
        cand = chunk + ch
        if len(enc(cand.encode(charset), charset)) > 75 and chunk:
            words.append(enc(chunk.encode(charset), charset))
            chunk = ch
        else:
            chunk = cand
    if chunk:
        words.append(enc(chunk.encode(charset), charset))
    return "\n ".join(words)


def hdr_text(text, charset="UTF-8", mode="B"):
    """ASCII text stays as is, anything else becomes encoded-words."""
    if all(ord(c) < 128 for c in text):
        return text
    return ew(text, charset, mode)


PEOPLE = {
    "alice": ("Alice Anderson", "alice@example.com"),
    "bob": ("Bob Bernard", "bob@example.com"),
    "carol": ("Carol Ivanova", "carol@example.com"),
    "dave": ("Dave Müller", "dave@example.org"),
    "it": ("Example Corp IT", "it@example.com"),
    "news": ("Example Corp Communications", "news@example.com"),
    "juergen": ("Jürgen Weiß", "j.weiss@lieferant.example"),
    "marie": ("Marie Dubois", "marie.dubois@banque.example"),
    "helene": ("Hélène Dupré", "helene.dupre@mairie.example"),
    "ivan": ("Иван Петров", "ivan.petrov@postavshik.example"),
    "ivanov": ("Иван Иванов", "ivan.ivanov@postavshik.example"),
    "petr": ("Пётр Сидоров", "p.sidorov@zavod.example"),
    "taro": ("山田 太郎", "taro.yamada@kaisha.example"),
    "hanako": ("佐藤 花子", "hanako.sato@kaisha.example"),
    "anna": ("Anna Groß", "anna.gross@verein.example"),
    "joerg": ("Jörg Schäfer", "joerg.schaefer@handwerk.example"),
    "ca": ("Crédit Agricole", "noreply@credit-agricole.example"),
    "shop": ("Chaussures Discount", "promo@chaussures.example"),
    "spam": ("Lucky Winner Dept.", "winner@lottery.example"),
    "bank": ("Sparkasse Köln", "service@sparkasse.example"),
    "gmbh": ("Lieferant GmbH Buchhaltung", "rechnung@lieferant.example"),
    "mailer": ("Mail Delivery System", "MAILER-DAEMON@mail.example.com"),
    "max": ("Max Mustermann", "m.mustermann@example.org"),
}


def addr(key, charset="UTF-8", mode="Q"):
    name, mail = PEOPLE[key]
    if all(ord(c) < 128 for c in name):
        if re.search(r"[^A-Za-z0-9 ]", name):
            return f'"{name}" <{mail}>'
        return f"{name} <{mail}>"
    return f"{ew(name, charset, mode)} <{mail}>"


def raw_addr(key):
    name, mail = PEOPLE[key]
    return f'"{name}" <{mail}>'


def kerio_version(year):
    if year < 2004:
        return "Kerio MailServer 5.7.10"
    if year < 2007:
        return "Kerio MailServer 6.2.1"
    if year < 2010:
        return "Kerio MailServer 6.7.3"
    if year < 2014:
        return "Kerio Connect 7.4.2"
    if year < 2018:
        return "Kerio Connect 8.5.3"
    return "Kerio Connect 9.4.1"


def received(frm_host, ip, by_host, rcpt, d, tls=True):
    ver = kerio_version(d.year)
    w = "ESMTPS" if tls and d.year >= 2010 else "ESMTP"
    sid = short_hash(f"{frm_host}{rcpt}{unix(d)}").upper()
    return (f"from {frm_host} ([{ip}])\n\tby {by_host} ({ver}) with {w} id {sid}"
            f"\n\tfor {rcpt}; {rfcdate(d)}")


class Part:
    """A MIME entity: list of (name, value) headers plus a body (bytes, \\n line ends)."""

    def __init__(self, headers, body):
        self.headers = headers
        self.body = body

    def render(self, charset="ascii"):
        h = "".join(f"{n}: {v}\n" for n, v in self.headers).encode(charset)
        return h + b"\n" + self.body


def text_part(text, charset="utf-8", cte="quoted-printable", subtype="plain", extra=()):
    raw = text.encode(charset)
    if cte == "quoted-printable":
        body = quopri.encodestring(raw)
    elif cte == "base64":
        body = base64.encodebytes(raw.replace(b"\n", b"\r\n"))
    else:
        body = raw
    if not body.endswith(b"\n"):
        body += b"\n"
    headers = [("Content-Type", f"text/{subtype}; charset={charset}"),
               ("Content-Transfer-Encoding", cte)] + list(extra)
    return Part(headers, body)


def attachment(filename, ctype, data, disposition="attachment"):
    if all(ord(c) < 128 for c in filename):
        ct = f'{ctype};\n\tname="{filename}"'
        cd = f'{disposition};\n\tfilename="{filename}"'
    else:
        pct = "".join(chr(b) if (b < 128 and chr(b).isalnum()) or chr(b) in ".-_" else "%%%02X" % b
                      for b in filename.encode("utf-8"))
        ct = f'{ctype};\n\tname="{ew(filename)}"'
        cd = f"{disposition};\n\tfilename*=utf-8''{pct}"
    return Part([("Content-Type", ct), ("Content-Transfer-Encoding", "base64"),
                 ("Content-Disposition", cd)], base64.encodebytes(data))


def multipart(subtype, parts, boundary, preamble=True, extra_ct=""):
    body = bytearray()
    if preamble:
        body += b"This is a multi-part message in MIME format.\n\n"
    for p in parts:
        body += b"--" + boundary.encode() + b"\n" + p.render()
        if not p.body.endswith(b"\n"):
            body += b"\n"
        body += b"\n"
    body += b"--" + boundary.encode() + b"--\n"
    return Part([("Content-Type", f'multipart/{subtype};{extra_ct}\n\tboundary="{boundary}"')],
                bytes(body))


def html_of(text):
    paras = [p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>\n")
             for p in text.strip().split("\n\n")]
    return ("<html>\n<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head>\n"
            "<body>\n" + "\n".join(f"<p>{p}</p>" for p in paras) + "\n</body>\n</html>\n")


def alternative(text, boundary, charset="utf-8"):
    return multipart("alternative",
                     [text_part(text, charset, "quoted-printable"),
                      text_part(html_of(text), charset, "quoted-printable", "html")],
                     boundary, preamble=False)


def message(headers, body_part, eol=CRLF, header_charset="ascii", mime=True):
    """headers: list of (name, value); value folding is written as "\\n\\t" or "\\n "."""
    hs = list(headers)
    if mime:
        hs.append(("MIME-Version", "1.0"))
    hs += body_part.headers
    data = "".join(f"{n}: {v}\n" for n, v in hs).encode(header_charset) + b"\n" + body_part.body
    assert b"\r" not in data
    return data if eol == LF else data.replace(b"\n", eol)


def std_headers(frm, to, subject, d, msgid, *, cc=None, rcvd=None, reply_to=None,
                in_reply_to=None, xmailer=None, extra=(), envelope_to=None, antispam=False):
    h = []
    if rcvd:
        h.append(("Return-Path", f"<{rcvd[3] if len(rcvd) > 3 else 'bounce@example.net'}>"))
        frm_host, ip, rcpt = rcvd[0], rcvd[1], rcvd[2]
        by = "mail." + rcpt.split("@")[1]
        if frm_host == by:
            # local submission: one hop, authenticated client of the same Kerio server
            h.append(("Received", received(f"[{ip}]", ip, by, rcpt, d + dt.timedelta(seconds=1), False)
                      .replace(" with ESMTP ", " with ESMTPA ")))
        else:
            h.append(("Received", received(frm_host, ip, by, rcpt, d + dt.timedelta(seconds=7))))
            h.append(("Received", received("localhost", "127.0.0.1", frm_host, rcpt, d + dt.timedelta(seconds=2),
                                           False).replace(f"({kerio_version(d.year)})", "(Postfix)")))
        if envelope_to:
            h.append(("X-Envelope-To", envelope_to))
        if antispam:
            h.append(("X-Kerio-Anti-Spam", "Build: [Engines: 2.16.3.1424, Stamp: 3], Multi: [Enabled, t: (0.000009,0.011271)], "
                      "\n BW: [Enabled, t: (0.000008)], RTDA: [Enabled, t: (0.054932), Hit: No, Details: v2.7.53; Id: 15.1i6cb63.1d1jqm1hh.2dn6], "
                      "\n total: 0(700)"))
    h.append(("Message-ID", msgid))
    h.append(("Date", rfcdate(d)))
    h.append(("From", frm))
    if reply_to:
        h.append(("Reply-To", reply_to))
    h.append(("To", to))
    if cc:
        h.append(("Cc", cc))
    h.append(("Subject", subject))
    if in_reply_to:
        h.append(("In-Reply-To", in_reply_to))
        h.append(("References", in_reply_to))
    if xmailer:
        h.append(("X-Mailer", xmailer))
    h += list(extra)
    return h


def mid(tag, domain):
    return f"<{short_hash(tag, 16)}.{short_hash(tag + '#', 6)}@{domain}>"


# --------------------------------------------------------------------------
# attachments that are real files
# --------------------------------------------------------------------------


def make_png(w, h, seed):
    raw = b"".join(b"\x00" + prng_bytes(f"{seed}:{y}", w * 3) for y in range(h))
    z = bytearray(b"\x78\x01")
    for i in range(0, len(raw), 65535):
        chunk = raw[i:i + 65535]
        final = 1 if i + 65535 >= len(raw) else 0
        z += bytes([final]) + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
    z += struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", bytes(z)) + chunk(b"IEND", b""))


def make_pdf(lines):
    def esc(s):
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = "BT /F1 11 Tf 72 780 Td 14 TL\n" + "".join(f"({esc(l)}) '\n" for l in lines) + "ET\n"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}endstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for o in offs:
        out += f"{o:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_csv(rows, seed):
    vals = prng_bytes(seed, rows * 4)
    lines = ["Region;Month;Units;Revenue EUR"]
    regions = ["North", "South", "East", "West", "Export"]
    for i in range(rows):
        units = 10 + vals[i * 4] % 90
        rev = units * (100 + vals[i * 4 + 1])
        lines.append(f"{regions[i % 5]};{2011}-{1 + (i // 5) % 12:02d};{units};{rev},{vals[i * 4 + 2] % 100:02d}")
    return ("\r\n".join(lines) + "\r\n").encode()


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------

KIND_STATUS_T = {"mail": 0, "contacts": 1, "calendar": 2, "tasks": 3, "notes": 4, "journal": 5}
KIND_CLASS = {"mail": "IPM.Note", "contacts": "IPM.Contact", "calendar": "IPM.Appointment",
              "tasks": "IPM.Task", "notes": "IPM.StickyNote", "journal": "IPM.Activity"}


@dataclass
class Item:
    id: int
    data: bytes = None            # None: stale index record, no file
    flags: int = 0x1
    when: dt.datetime = None      # received / created time -> index T (and D)
    moved_days: int = 0           # D = T + moved_days (item moved into the folder later)
    t_zero: bool = False          # write T00000000 (reader must fall back to D)
    klass: str = None             # index C token; default from folder kind
    indexed: bool = True          # False: file without an index.fld line
    kms61: bool = False           # 6.1-style record without T and without X token
    fname: str = None             # file name override (e.g. upper-case hex)
    size: int = None              # index S override (stale records)
    case: str = None              # nasty-case label (README)
    xtok: str = "X0"
    kind: str = None              # what the item is when not its folder's kind (groupware in a mail folder)
    generated: bool = False       # a contact Kerio generates for a user in #public/Contacts

    @property
    def t(self):
        return 0 if self.t_zero else unix(self.when)

    @property
    def d(self):
        return unix(self.when) + self.moved_days * 86400

    @property
    def m(self):
        return self.d + 60 * (1 + self.id % 7) + (3600 if self.flags & 0x2 else 0)

    @property
    def filename(self):
        return self.fname or f"{self.id:08x}.eml"


@dataclass
class Folder:
    path: list                    # decoded Unicode components
    kind: str = "mail"
    items: list = field(default_factory=list)
    status: bool = True           # write status.fld
    index: bool = True            # write index.fld
    index_mode: str = "fld"       # "fld": index.fld; "bad": index.bad only (copy taken mid-reindex);
                                  # "empty": a 0-byte index.fld (archiver scripts)
    acl: list = field(default_factory=list)       # extra status.fld ACL lines [(who, rights)]
    acl_first: bool = False       # write the extra ACL lines before the T line
    eol: bytes = LF               # line ending of index.fld / status.fld
    garbage: dict = field(default_factory=dict)   # {after item id or -1 for end: [bytes lines]}
    files: dict = field(default_factory=dict)     # extra folder-level files (search.fld, ...)
    msgs_extra: dict = field(default_factory=dict)  # non-.eml files inside #msgs
    assoc: str = "index"          # "index": #assoc/index.fld; "item": + an associated item; None
    disk: list = None             # raw on-disk names (default: mUTF-7 of path)
    created: dt.datetime = None   # for status.fld V
    note: str = ""

    def __post_init__(self):
        if self.disk is None:
            self.disk = [mutf7_encode(p) for p in self.path]

    @property
    def key(self):
        return "/".join(self.path)

    @property
    def disk_path(self):
        return "/".join(self.disk)


@dataclass
class Account:
    domain: str
    name: str                     # user name or "#public"
    owner: str                    # for status.fld ACL lines
    folders: list = field(default_factory=list)
    files: dict = field(default_factory=dict)     # per-user files
    sysdirs: dict = field(default_factory=dict)   # {relative path: bytes} for system dirs

    @property
    def email(self):
        return f"{self.name}@{self.domain}"


def I(id, data, when, flags=0x1, **kw):
    return Item(id=id, data=data, flags=flags, when=when, **kw)


# --------------------------------------------------------------------------
# mail builders
# --------------------------------------------------------------------------

def host_of(key):
    dom = PEOPLE[key][1].split("@")[1]
    return "mail." + dom if dom.startswith("example.") else "mx1." + dom


def ip_of(key):
    n = int(short_hash(key, 2), 16)
    return f"198.51.100.{n % 250 + 2}" if not PEOPLE[key][1].endswith((".com", ".org")) else f"192.0.2.{n % 250 + 2}"


def mail_in(rcpt, frm, subject, d, body, *, subj_cs="UTF-8", subj_mode="B", cc=None, irt=None,
            antispam=True, eol=CRLF, extra=(), msgid=None, xmailer=None, header_charset="ascii",
            raw_subject=False, raw_from=False):
    """Inbound message as delivered by Kerio into rcpt's mailbox."""
    frm_s = raw_addr(frm) if raw_from else addr(frm)
    subj_s = subject if raw_subject else hdr_text(subject, subj_cs, subj_mode)
    msgid = msgid or mid(f"{frm}{subject}{unix(d)}", PEOPLE[frm][1].split("@")[1].replace("MAILER-DAEMON", ""))
    hs = std_headers(frm_s, addr(rcpt), subj_s, d, msgid, cc=cc, in_reply_to=irt,
                     rcvd=(host_of(frm), ip_of(frm), PEOPLE[rcpt][1], PEOPLE[frm][1]),
                     antispam=antispam and d.year >= 2012, envelope_to=PEOPLE[rcpt][1] if d.year >= 2010 else None,
                     xmailer=xmailer, extra=extra)
    return message(hs, body, eol, header_charset)


def mail_out(frm, to, subject, d, body, *, subj_cs="UTF-8", subj_mode="B", cc=None, irt=None,
             eol=CRLF, extra=(), xmailer=None):
    """Message as stored in the sender's Sent Items (no Received lines)."""
    msgid = mid(f"{frm}{subject}{unix(d)}", PEOPLE[frm][1].split("@")[1])
    xm = xmailer or (f"{kerio_version(d.year)} WebMail" if d.year >= 2010
                     else "Microsoft Outlook, Build 10.0.6626")
    hs = std_headers(addr(frm), addr(to), hdr_text(subject, subj_cs, subj_mode), d, msgid, cc=cc,
                     in_reply_to=irt, xmailer=xm, extra=extra)
    return message(hs, body, eol)


def sig(key):
    name, mail = PEOPLE[key]
    return f"\n-- \n{name}\n{mail}\n"


def plain(text, charset=None, cte=None):
    if charset is None:
        ascii_ = all(ord(c) < 128 for c in text)
        charset, cte = ("us-ascii", "7bit") if ascii_ else ("utf-8", "8bit")
    return text_part(text, charset, cte or "7bit")


def qp(text, charset="utf-8"):
    return text_part(text, charset, "quoted-printable")


def b64text(text, charset="utf-8"):
    return text_part(text, charset, "base64")


def with_attachments(text, atts, boundary, charset="utf-8", cte="quoted-printable", alt=False):
    first = alternative(text, boundary + "_alt", charset) if alt else text_part(text, charset, cte)
    return multipart("mixed", [first] + [attachment(*a) for a in atts], boundary)


LOREM_EN = (
    "Thanks for the quick turnaround on this. I went through the numbers with the team this\n"
    "morning and we agree with most of it. Two points are still open: the delivery window for\n"
    "the northern region and the discount for orders above 500 units. Could you check both with\n"
    "your colleagues and come back to me by the end of the week?\n"
)
LOREM_DE = (
    "vielen Dank für Ihre Nachricht. Wir haben die Unterlagen geprüft und würden gern einen\n"
    "Termin für die nächste Woche vereinbaren. Bitte schicken Sie uns außerdem die aktuelle\n"
    "Preisliste sowie die Lieferbedingungen für Österreich und die Schweiz.\n"
)
LOREM_FR = (
    "merci pour votre message. Nous avons bien reçu les documents et nous reviendrons vers vous\n"
    "dès que possible. En attendant, n'hésitez pas à nous contacter si vous avez des questions\n"
    "concernant la facture ou le calendrier de livraison prévu pour l'été.\n"
)
LOREM_RU = (
    "Добрый день!\n\nНаправляем вам счёт на оплату за поставку оборудования. Просим произвести\n"
    "оплату в течение пяти рабочих дней. Оригиналы документов будут отправлены почтой.\n"
)
LOREM_JA = (
    "お疲れ様です。山田です。\n\n先日の会議の議事録を送付いたします。\nご確認のほど、よろしくお願いいたします。\n"
)


def bnd(tag):
    return "----=_NextPart_" + short_hash(tag, 4).upper() + "_" + short_hash(tag + "b", 8).upper()


# --------------------------------------------------------------------------
# groupware builders (Kerio wraps vCard / iCalendar in a small MIME message)
# --------------------------------------------------------------------------

def gw_message(subject, d, payload, tag, domain, *, msgid=True, extra=()):
    hs = [("Subject", hdr_text(subject)), ("Date", rfcdate(d))]
    if msgid:
        hs.append(("Message-ID", mid(tag, domain)))
    hs += list(extra)
    return message(hs, payload, CRLF)


def vcard_payload(vcard, ctype="text/x-vcard", cte="8bit"):
    raw = vcard.encode("utf-8")
    if cte == "base64":
        body = base64.encodebytes(raw.replace(b"\n", b"\r\n"))
    elif cte == "quoted-printable":
        body = quopri.encodestring(raw)
    else:
        body = raw
    return Part([("Content-Type", f"{ctype}; charset=utf-8"), ("Content-Transfer-Encoding", cte)], body)


def ical_payload(ics, cte="8bit", method="PUBLISH"):
    raw = ics.encode("utf-8")
    if cte == "base64":
        body = base64.encodebytes(raw.replace(b"\n", b"\r\n"))
    else:
        body = raw
    return Part([("Content-Type", f"text/calendar; charset=utf-8; method={method}"),
                 ("Content-Transfer-Encoding", cte)], body)


def vcal(body, method="PUBLISH"):
    return ("BEGIN:VCALENDAR\nPRODID:-//Kerio Technologies//Kerio Connect//EN\nVERSION:2.0\n"
            f"METHOD:{method}\n" + body + "END:VCALENDAR\n")


def vtz(tzid, std_off, dst_off=None, std_name="", dst_name="", dst_rule="", std_rule="",
        dst_start="19700329T020000", std_start="19701025T030000"):
    if dst_off is None:
        return (f"BEGIN:VTIMEZONE\nTZID:{tzid}\nBEGIN:STANDARD\nTZOFFSETFROM:{std_off}\n"
                f"TZOFFSETTO:{std_off}\nTZNAME:{std_name}\nDTSTART:19700101T000000\n"
                "END:STANDARD\nEND:VTIMEZONE\n")
    return (f"BEGIN:VTIMEZONE\nTZID:{tzid}\n"
            f"BEGIN:DAYLIGHT\nTZOFFSETFROM:{std_off}\nTZOFFSETTO:{dst_off}\nTZNAME:{dst_name}\n"
            f"DTSTART:{dst_start}\nRRULE:{dst_rule}\nEND:DAYLIGHT\n"
            f"BEGIN:STANDARD\nTZOFFSETFROM:{dst_off}\nTZOFFSETTO:{std_off}\nTZNAME:{std_name}\n"
            f"DTSTART:{std_start}\nRRULE:{std_rule}\nEND:STANDARD\nEND:VTIMEZONE\n")


EU_DST = "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"
EU_STD = "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
VTZ_BERLIN = vtz("Europe/Berlin", "+0100", "+0200", "CET", "CEST", EU_DST, EU_STD)
VTZ_PARIS = vtz("Europe/Paris", "+0100", "+0200", "CET", "CEST", EU_DST, EU_STD)
VTZ_MOSCOW = vtz("Europe/Moscow", "+0300", None, "MSK")
VTZ_EASTERN = vtz("Eastern Time (US & Canada)", "-0500", "-0400", "EST", "EDT",
                  "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
                  "16010311T020000", "16011104T020000")


def vevent(uid, stamp, summary, start, end, *, extra="", organizer=None, location=None):
    s = f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:{stamp}\n{start}\n{end}\nSUMMARY:{summary}\n"
    if location:
        s += f"LOCATION:{location}\n"
    if organizer:
        s += f"ORGANIZER;CN={PEOPLE[organizer][0]}:mailto:{PEOPLE[organizer][1]}\n"
    return s + extra + "END:VEVENT\n"


def vtodo(uid, stamp, summary, *, due=None, status="NEEDS-ACTION", extra=""):
    s = f"BEGIN:VTODO\nUID:{uid}\nDTSTAMP:{stamp}\nSUMMARY:{summary}\n"
    if due:
        s += f"DUE;VALUE=DATE:{due}\n"
    s += f"STATUS:{status}\n" + extra + "END:VTODO\n"
    return s


def note_message(subject, d, text, tag, domain, *, msgid=True):
    return gw_message(subject, d, qp(text) if any(ord(c) > 127 for c in text) else plain(text),
                      tag, domain, msgid=msgid)


# --------------------------------------------------------------------------
# content: alice@example.com (English; most index.fld edge cases)
# --------------------------------------------------------------------------

def alice_account(shared):
    A = "alice"
    acc = Account("example.com", "alice", "alice@example.com")
    F = acc.folders

    # ---- INBOX ------------------------------------------------------------
    d1 = when(2006, 3, 14, 8, 30, 12, 1)
    m1 = mail_in(A, "it", "Welcome to the new mail server", d1, plain(
        "Dear colleagues,\n\nas of today all mailboxes have been moved to our new Kerio MailServer.\n"
        "Webmail is available at https://mail.example.com/webmail/ and Outlook users\n"
        "should install the Kerio Outlook Connector from the intranet.\n\n"
        "Please report any problems to the helpdesk (extension 4357).\n" + sig("it")))
    d2 = when(2008, 11, 2, 10, 15, 0, 1)
    m2 = mail_in(A, "juergen", "Angebot für Büromöbel", d2, qp(
        "Sehr geehrte Frau Anderson,\n\n" + LOREM_DE +
        "\nAnbei unser Angebot für 12 Schreibtische (höhenverstellbar) und 12 Bürostühle.\n"
        "Gesamtpreis: 8.340,00 € zzgl. MwSt., Lieferung frei Haus.\n\nMit freundlichen Grüßen\n"
        "Jürgen Weiß\nLieferant GmbH · Hauptstraße 5 · 50667 Köln\n", "iso-8859-15"),
        subj_cs="ISO-8859-15", subj_mode="Q", xmailer="Microsoft Office Outlook 12.0")
    d3 = when(2011, 5, 20, 16, 45, 3, 2)
    m3 = mail_in(A, "bob", "Q2 sales figures", d3, with_attachments(
        "Hi Alice,\n\nhere are the Q2 figures per region as discussed. The export region\n"
        "is still missing June; I'll send an update next week.\n\nBob\n",
        [("q2-2011-sales.csv", "text/csv", make_csv(190, "q2"))], bnd("a3")))
    d4 = when(2013, 9, 9, 9, 0, 41, 2)
    m4 = mail_in(A, "marie", "Réunion de lancement – ordre du jour", d4, alternative(
        "Bonjour Alice,\n\nvoici l'ordre du jour de la réunion de lancement de jeudi :\n\n"
        "1. Présentation de l'équipe\n2. Périmètre du projet et calendrier\n"
        "3. Budget prévisionnel (en €)\n4. Questions diverses\n\nBien cordialement,\nMarie\n",
        bnd("a4")), subj_mode="Q", cc=addr("bob"))
    d5 = when(2015, 1, 12, 11, 11, 11, 1)
    m5 = mail_in(A, "carol", "Signed contract", d5, with_attachments(
        "Alice,\n\nattached is the signed contract and a photo of the signature page for\n"
        "your records. The originals are in the mail.\n\nCarol\n",
        [("contract-2015-001.pdf", "application/pdf",
          make_pdf([f"Contract 2015-001, clause {i}: the parties agree as set out below." for i in range(1, 60)])),
         ("signature-page.png", "image/png", make_png(104, 90, "sig"))], bnd("a5")))
    d6 = when(2016, 7, 1, 14, 0, 5, 2)
    m6 = mail_in(A, "dave", "Re: Lieferung", d6, plain(
        "Hi Alice,\n\nthe delivery arrived this morning, all 12 desks are fine. One chair was\n"
        "damaged in transit; I've asked Lieferant GmbH for a replacement.\n\nCheers,\nDave\n"),
        irt=mid("alice-lieferung", "example.com"))
    d7 = when(2017, 2, 14, 12, 0, 0, 1)
    m7 = mail_in(A, "carol", "Valentine's day lunch", d7, plain(
        "Lunch at the Italian place at 12:30? I booked a table for four.\n\nC.\n"))
    d8 = when(2018, 10, 30, 17, 30, 0, 1)
    m8 = mail_in(A, "it", "Server maintenance window", d8, plain(
        "The mail server will be unavailable on Saturday between 06:00 and 09:00 CET\n"
        "for the upgrade to Kerio Connect 9.2. Mobile devices will resync afterwards.\n" + sig("it")))
    d9 = when(2019, 4, 1, 8, 0, 0, 2)
    m9 = mail_in(A, "news", "Free pizza in the canteen", d9, plain(
        "Today only: free pizza for everybody in the canteen from 12:00.\n\n(Check the date.)\n"))
    da = when(2020, 3, 16, 9, 30, 0, 1)
    ma = mail_in(A, "it", "Working from home guidelines", da, alternative(
        "Dear all,\n\nstarting Monday everybody works from home. Please:\n\n"
        "- connect through the VPN before opening Outlook,\n- lock your screen,\n"
        "- use the phone bridge for meetings (PIN 4711).\n\nStay safe,\nIT\n", bnd("aa")))
    db = when(2021, 12, 20, 10, 0, 0, 1)
    req = vcal(VTZ_BERLIN + vevent(
        "xmas-party-2021@example.com", "20211220T090000Z", "Christmas party",
        "DTSTART;TZID=Europe/Berlin:20211222T180000", "DTEND;TZID=Europe/Berlin:20211222T230000",
        organizer="news", location="Canteen",
        extra="ATTENDEE;CN=Alice Anderson;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:alice@example.com\n"
              "SEQUENCE:0\n"), method="REQUEST")
    mb = mail_in(A, "news", "Invitation: Christmas party", db, multipart(
        "alternative", [plain("You are invited to the Christmas party on 22 December, 18:00, canteen.\n"),
                        ical_payload(req, method="REQUEST")], bnd("ab"), preamble=False))
    dc = when(2023, 6, 5, 13, 20, 0, 3)
    mc = mail_in(A, "ivan", "Счёт на оплату №1234", dc, with_attachments(
        LOREM_RU + "\nС уважением,\nИван Петров\n",
        [("Счёт-1234.pdf", "application/pdf", make_pdf(["Invoice 1234", "Total: 125 000,00 RUB"]))],
        bnd("ac"), cte="base64"))
    dd = when(2024, 2, 29, 9, 0, 0, 1)
    md = mail_in(A, "bob", "Leap day!", dd, plain("Happy 29 February! See you in four years.\n\nBob\n"))
    de = when(2024, 5, 10, 7, 45, 0, 2)
    me = mail_in(A, "it", "Delivered while the index was being rebuilt", de, plain(
        "This message has a file in #msgs but no line in index.fld.\n"))
    df = when(2024, 5, 12, 3, 0, 9, 2)
    lost = mid("lost-mail", "example.com")
    mf = message(
        [("Return-Path", "<>"),
         ("Received", received("localhost", "127.0.0.1", "mail.example.com", "alice@example.com", df, False)),
         ("Message-ID", mid("ndr-2024", "mail.example.com")), ("Date", rfcdate(df)),
         ("From", addr("mailer")), ("To", addr(A)),
         ("Subject", "Undelivered Mail Returned to Sender"), ("Auto-Submitted", "auto-replied")],
        multipart("report", [
            plain("This is the mail system at host mail.example.com.\n\nI'm sorry to have to inform you "
                  "that your message could not\nbe delivered to one or more recipients.\n\n"
                  "<nobody@lieferant.example>: host mx1.lieferant.example[198.51.100.9] said:\n"
                  "    550 5.1.1 <nobody@lieferant.example>: Recipient address rejected\n"),
            Part([("Content-Type", "message/delivery-status")],
                 b"Reporting-MTA: dns; mail.example.com\n\nFinal-Recipient: rfc822; nobody@lieferant.example\n"
                 b"Action: failed\nStatus: 5.1.1\n"),
            Part([("Content-Type", "text/rfc822-headers")],
                 f"From: {addr(A)}\nTo: nobody@lieferant.example\nSubject: Order\nMessage-ID: {lost}\n".encode()),
        ], bnd("af"), extra_ct=" report-type=delivery-status;"))
    F.append(Folder(["INBOX"], eol=CRLF, created=d1, items=[
        I(0x1, m1, d1),
        I(0x2, m2, d2, 0x3),
        I(0x3, m3, d3, 0x5),
        I(0x4, m4, d4),
        I(0x5, m5, d5),
        I(0x6, m6, d6, 0x0),
        I(0x7, m7, d7, t_zero=True, case="index T is 0 in INBOX, where D is a delivery or move time: "
          "internal date from the newest Received (D + 1 s here)"),
        I(0x8, m8, d8, 0x80000001, case="flag word with the high bit set (F80000001)"),
        I(0x9, m9, d9, 0x9, case="flag 0x8 set (probably deleted, not expunged)"),
        I(0xa, ma, da, xtok="X1 R0"),
        I(0xb, mb, db, klass="IPM.Schedule.Meeting.Request"),
        I(0xc, mc, dc),
        I(0xd, md, dd, 0x0),
        I(0xe, me, de, 0x0, indexed=False, case="unindexed file (in #msgs, no index.fld line)"),
        I(0xf, mf, df, 0x0, klass="REPORT.IPM.Note.NDR"),
        Item(0x11, None, 0x1, when(2024, 5, 20, 8, 0, 0, 2), size=3071,
             case="stale index record (U00000011, no file in #msgs)"),
    ], garbage={0x5: [b"this is not an index line"],
                -1: [b"\x00\x01\xfe\xff\x9c\x8bGARBAGE\x7f\x80 \x1b[0m\xc3(\x00"]},
        files={"search.fld": b"** This file contains an SQLite 2.1 database **\x00" + b"\x00" * 79,
               "properties.fld": b"U00000004 Pdavname=R%C3%A9union-de-lancement.eml\n"
                                 b"U0000000b Pkeywords=$Label1\n"},
        assoc="item", note="CRLF index.fld; index edge cases"))

    dp = [when(2022, 1, 10, 9, 0, 0, 1), when(2022, 8, 22, 15, 12, 0, 2), when(2023, 3, 3, 10, 10, 0, 1)]
    F.append(Folder(["INBOX", "Projects"], created=dp[0], items=[
        I(1, mail_in(A, "bob", "Project Phoenix kickoff", dp[0], plain(
            "Kickoff is on Thursday, room 2.14. Agenda to follow.\n\nBob\n")), dp[0], moved_days=3),
        I(2, mail_in(A, "carol", "Phoenix: status report", dp[1], with_attachments(
            "Status attached. We're green on scope, amber on schedule.\n\nCarol\n",
            [("status-2022-08.txt", "text/plain", ("Phoenix status\r\n" + "".join(
                f"Workstream {i}: {'green' if i % 3 else 'amber'}\r\n" for i in range(1, 40))).encode())],
            bnd("p2"))), dp[1], moved_days=10),
        I(3, mail_in(A, "bob", "Phoenix: lessons learned", dp[2], plain(LOREM_EN + "\nBob\n")), dp[2], 0x5,
          moved_days=1),
    ], files={"properties.fld": b""}, acl=[("bob@example.com", "lrsw"), ("#sales", "lr")],
        note="shared with bob and the sales group: ACL lines in status.fld"))
    dq = [when(2024, 1, 15, 8, 0, 0, 1), when(2024, 4, 2, 11, 0, 0, 2), when(2024, 9, 30, 16, 0, 0, 2)]
    F.append(Folder(["INBOX", "Projects", "2024"], created=dq[0], items=[
        I(1, mail_in(A, "it", "2024 roadmap", dq[0], alternative(
            "The 2024 roadmap is on the intranet. Highlights: new CRM, mail migration, office move.\n",
            bnd("q1"))), dq[0], moved_days=2),
        I(2, mail_in(A, "carol", "Budget approval", dq[1], plain("Budget approved. Go ahead.\n\nCarol\n")),
          dq[1], 0x3, moved_days=1),
        I(3, mail_in(A, "bob", "Q3 review", dq[2], plain(LOREM_EN)), dq[2], 0x0),
    ]))

    # ---- Sent Items ---------------------------------------------------------
    ds = [when(2006, 3, 15, 9, 2, 0, 1), when(2008, 11, 3, 8, 40, 0, 1), when(2013, 9, 10, 7, 55, 0, 2),
          when(2019, 6, 18, 18, 5, 0, 2), when(2024, 3, 1, 10, 30, 0, 1)]
    F.append(Folder(["Sent Items"], created=d1, items=[
        I(1, mail_out(A, "it", "Re: Welcome to the new mail server", ds[0], plain(
            "Thanks! Webmail works fine for me. Is there a way to import my old PST file?\n\nAlice\n"),
            irt=mid("itWelcome to the new mail server" + str(unix(d1)), "example.com")), ds[0]),
        I(2, mail_out(A, "juergen", "Re: Angebot für Büromöbel", ds[1], qp(
            "Sehr geehrter Herr Weiß,\n\nvielen Dank für Ihr Angebot. Wir bestellen wie angeboten.\n"
            "Bitte liefern Sie bis Ende November.\n\nMit freundlichen Grüßen\nAlice Anderson\n"),
            subj_mode="Q"), ds[1]),
        I(3, mail_out(A, "marie", "Re: Réunion de lancement – ordre du jour", ds[2], plain(
            "Hi Marie,\n\nthe agenda looks good. I will present item 3.\n\nBest regards,\nAlice\n")), ds[2]),
        I(4, mail_out(A, "bob", "Photos from the offsite", ds[3], with_attachments(
            "Bob,\n\nsome photos from the offsite. More on the shared drive.\n\nAlice\n",
            [("offsite-1.png", "image/png", make_png(64, 60, "off1"))], bnd("s4"))), ds[3]),
        I(5, mail_out(A, "dave", "Contract renewal", ds[4], plain(
            "Hi Dave,\n\nour contract with Lieferant GmbH expires in June. Shall we renew for\n"
            "another two years or go to tender?\n\nAlice\n")), ds[4], 0x3),
    ]))

    # ---- Deleted Items ------------------------------------------------------
    dx = [when(2010, 10, 10, 10, 10, 10, 2), when(2012, 12, 21, 11, 11, 0, 1), when(2014, 4, 4, 4, 4, 4, 2)]
    F.append(Folder(["Deleted Items"], created=d1, items=[
        I(1, mail_in(A, "it", "Your mailbox is almost full", dx[0], plain(
            "Your mailbox uses 1.9 GB of 2 GB. Please delete old messages.\n" + sig("it"))), dx[0], moved_days=30),
        I(2, mail_in(A, "news", "End of the world party", dx[1], plain(
            "If the world does not end today, drinks are on the house at 17:00.\n")), dx[1], 0x9, moved_days=1,
          case="flag 0x9 = Seen + 0x8"),
        I(3, mail_in(A, "spam", "You won!", dx[2], plain("Claim your prize now!!!\n")), dx[2], 0x8,
          case="flag 0x8 alone"),
        I(4, gw_message("Old supplier contact", dx[2] + dt.timedelta(days=100), vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nPRODID:-//Kerio Technologies//Kerio Connect//EN\n"
            "UID:alice-deleted-contact-0001\nN:Alt;Otto;;;\nFN:Otto Alt\nORG:Alter Lieferant KG\n"
            "EMAIL;TYPE=INTERNET:otto.alt@alter-lieferant.example\nEND:VCARD\n"), "dx4", "example.com"),
          dx[2] + dt.timedelta(days=100), klass="IPM.Contact", kind="contacts",
          case="a deleted contact in Deleted Items (class IPM.Contact): to the contacts export, not sent as mail"),
        I(5, gw_message("Cancelled: budget review", dx[2] + dt.timedelta(days=120), ical_payload(vcal(
            VTZ_BERLIN + vevent("alice-deleted-meeting-0001@example.com", "20140802T080000Z", "Budget review",
                                "DTSTART;TZID=Europe/Berlin:20140815T100000",
                                "DTEND;TZID=Europe/Berlin:20140815T110000", organizer="alice",
                                location="Room 1.01"))), "dx5", "example.com"),
          dx[2] + dt.timedelta(days=120), klass="IPM.Appointment", kind="calendar",
          case="a deleted meeting in Deleted Items (class IPM.Appointment): to the calendar export"),
        I(6, gw_message("Old to-do", dx[2] + dt.timedelta(days=130), ical_payload(vcal(vtodo(
            "alice-deleted-task-0001@example.com", "20140812T080000Z", "Order toner", status="COMPLETED"))),
            "dx6", "example.com"), dx[2] + dt.timedelta(days=130), indexed=False, kind="tasks",
          case="a deleted task in Deleted Items without an index line: its content (text/calendar, no From) says task"),
        I(7, mail_in(A, "bob", "Old thread", dx[0] - dt.timedelta(days=200), plain("An old message, deleted late.\n")),
          dx[0] - dt.timedelta(days=200), moved_days=40, t_zero=True,
          case="index T is 0 in Deleted Items and D is the move time (40 days later): internal date from the "
               "newest Received"),
    ]))

    # ---- Drafts -------------------------------------------------------------
    dr1 = when(2024, 6, 1, 9, 15, 0, 2)
    draft1 = message([("To", addr("bob")), ("Subject", "Draft: note to self"),
                      ("X-Mailer", "Microsoft Outlook 16.0")],
                     plain("Remember to ask Bob about the Q3 numbers before the review.\n"))
    dr2 = when(2024, 6, 2, 17, 40, 0, 2)
    draft2 = mail_out(A, "carol", "Offsite agenda (unfinished)", dr2, plain("Day 1:\n- \n"))
    F.append(Folder(["Drafts"], created=d1, items=[
        I(1, draft1, dr1, 0x10, case="draft (F10) without From, Date and Message-ID headers"),
        I(2, draft2, dr2, 0x11),
    ]))

    # ---- Junk E-mail --------------------------------------------------------
    dj = [when(2009, 1, 1, 0, 0, 1, -5), when(2016, 3, 3, 3, 3, 3, 0), when(2021, 7, 7, 7, 7, 7, 0)]
    spam_hdr = [("X-Spam-Status", "Yes, hits=9.8 required=5.0\n\ttests=BAYES_99,HTML_MESSAGE,URIBL_BLACK"),
                ("X-Spam-Flag", "YES")]
    nul_body = Part([("Content-Type", "text/plain; charset=us-ascii"), ("Content-Transfer-Encoding", "7bit")],
                    b"Your invoice is attached.\n\x00\n(The line above is a single NUL byte.)\n")
    F.append(Folder(["Junk E-mail"], created=d1, items=[
        I(1, mail_in(A, "spam", "Cheap watches", dj[0], alternative(
            "Best replica watches, 90% off. Visit http://watches.example/ now.\n", bnd("j1")), extra=spam_hdr),
          dj[0], 0x0),
        I(2, mail_in(A, "spam", "Your invoice", dj[1], nul_body, extra=spam_hdr), dj[1], 0x0,
          case="message containing a NUL byte"),
        I(3, mail_in(A, "spam", "Verify your account", dj[2], alternative(
            "Dear customer,\n\nyour account will be closed. Verify at http://phish.example/login\n",
            bnd("j3")), extra=spam_hdr), dj[2], 0x1),
    ]))

    # ---- odd folder names ----------------------------------------------------
    dt1 = [when(2005, 5, 5, 20, 0, 0, 2), when(2007, 7, 7, 21, 0, 0, 2)]
    F.append(Folder(["Tom & Jerry"], created=dt1[0], note="'&' encoded as '&-'", items=[
        I(1, mail_in(A, "bob", "Cartoon night", dt1[0], plain("Cartoon night on Friday? I bring popcorn.\n")),
          dt1[0], moved_days=2),
        I(2, mail_in(A, "carol", "Re: Cartoon night", dt1[1], plain("Count me in.\n")), dt1[1]),
    ]))
    dh = when(2012, 6, 12, 12, 0, 0, 2)
    F.append(Folder(['Say "Hello"'], created=dh, note="double quote in the name", items=[
        I(1, mail_in(A, "bob", "Hello", dh, plain("Just saying hello.\n")), dh),
    ]))
    dbk = when(2014, 10, 20, 8, 0, 0, 2)
    F.append(Folder(["Back\\slash"], created=dbk, note="backslash in the name", items=[
        I(1, mail_in(A, "it", "Path C:\\Temp\\old", dbk, plain("Files in C:\\Temp\\old will be deleted on Friday.\n")),
          dbk),
    ]))
    dpt = when(2023, 12, 31, 23, 59, 0, 1)
    F.append(Folder(["Party 🎉"], created=dpt, note="emoji (UTF-16 surrogate pair)", items=[
        I(1, mail_in(A, "news", "New Year's Eve 🎉", dpt, qp("Happy New Year 🎉🥂 from all of us!\n")), dpt),
    ]))

    # ---- groupware ------------------------------------------------------------
    gd = when(2019, 3, 14, 9, 0, 0, 1)
    c1 = gw_message("Jürgen Weiß", gd, vcard_payload(
        "BEGIN:VCARD\nVERSION:3.0\nPRODID:-//Kerio Technologies//Kerio Connect//EN\n"
        "UID:7e5b7f8a-1c1d-4b5e-9a0e-0f1d2c3b4a51\nN:Weiß;Jürgen;;Herr;\nFN:Jürgen Weiß\n"
        "ORG:Lieferant GmbH;Vertrieb\nTITLE:Außendienst\n"
        "EMAIL;TYPE=INTERNET,WORK,PREF:j.weiss@lieferant.example\nTEL;TYPE=WORK,VOICE:+49 221 555 0142\n"
        "ADR;TYPE=WORK:;;Hauptstraße 5;Köln;;50667;Deutschland\n"
        "NOTE:Met at the Hannover Messe 2008. Prefers phone calls in the morning\\; spe\n"
        " aks German\\, English and a little French. Birthday card every May.\n"
        "REV:2019-03-14T08:00:00Z\nEND:VCARD\n"), "c1", "example.com")
    c2 = gw_message("Marie Dubois", gd + dt.timedelta(days=1), vcard_payload(
        "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dubois;Marie;;Mme;\n"
        "FN:Marie Dubois\nORG:Banque Exemple\n"
        "ADR;WORK;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;12 rue de la R=C3=A9publique;Lyon;;69002;France\n"
        "TEL;WORK;VOICE:+33 4 72 00 00 00\nEMAIL;INTERNET;PREF:marie.dubois@banque.example\n"
        "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Pr=C3=A9f=C3=A8re le fran=C3=A7ais.\nEND:VCARD\n",
        cte="7bit"), "c2", "example.com")
    c4 = gw_message("Zoë O’Brien", gd + dt.timedelta(days=3), vcard_payload(
        "BEGIN:VCARD\nVERSION:4.0\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\n"
        "FN:Zoë O’Brien\nN:O’Brien;Zoë;;;\nEMAIL;TYPE=home:zoe@obrien.example\n"
        "TEL;VALUE=uri;TYPE=\"voice,cell\":tel:+353-1-555-0199\nBDAY:--0412\n"
        "KIND:individual\nREV:20190317T100000Z\nEND:VCARD\n", ctype="text/vcard", cte="base64"),
        "c4", "example.com")
    F.append(Folder(["Contacts"], "contacts", created=d1, items=[
        I(1, c1, gd, klass="IPM.Contact", case="vCard 3.0, 8bit UTF-8, folded NOTE line"),
        I(2, c2, gd + dt.timedelta(days=1), case="vCard 2.1 with QUOTED-PRINTABLE properties"),
        I(3, shared["dup_contact"], gd + dt.timedelta(days=2),
          case="exact duplicate of #public@example.com/Contacts/00000002.eml (same UID, same bytes)"),
        I(4, c4, gd + dt.timedelta(days=3), case="vCard 4.0, Content-Type text/vcard, base64 wrapper"),
    ]))

    ce = when(2024, 1, 5, 10, 0, 0, 1)
    rec_uid = "weekly-sales-sync-2024@example.com"
    e1 = gw_message("Weekly sales sync", ce, ical_payload(vcal(VTZ_BERLIN + vevent(
        rec_uid, "20240105T090000Z", "Weekly sales sync",
        "DTSTART;TZID=Europe/Berlin:20240108T090000", "DTEND;TZID=Europe/Berlin:20240108T093000",
        organizer="alice", location="Room 2.14",
        extra="RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=20\nEXDATE;TZID=Europe/Berlin:20240401T090000\n"
              "SEQUENCE:1\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY\n"))), "e1", "example.com")
    e2 = gw_message("Weekly sales sync (moved)", ce + dt.timedelta(days=10), ical_payload(vcal(VTZ_BERLIN + vevent(
        rec_uid, "20240115T120000Z", "Weekly sales sync (moved to 11:00)",
        "DTSTART;TZID=Europe/Berlin:20240122T110000", "DTEND;TZID=Europe/Berlin:20240122T113000",
        organizer="alice", location="Room 2.14",
        extra="RECURRENCE-ID;TZID=Europe/Berlin:20240122T090000\nSEQUENCE:2\n"))), "e2", "example.com")
    e3 = gw_message("New York trade show", when(2023, 8, 1, 12, 0, 0, 2), ical_payload(vcal(VTZ_EASTERN + vevent(
        "040000008200E00074C5B7101A82E00800000000D0F3A3D1B2C4D901000000000000000010000000",
        "20230801T100000Z", "New York trade show",
        'DTSTART;TZID="Eastern Time (US & Canada)":20230914T100000',
        'DTEND;TZID="Eastern Time (US & Canada)":20230914T170000',
        location="Javits Center\\, New York"))), "e3", "example.com")
    e4 = gw_message("Christmas Day", when(2023, 11, 20, 9, 0, 0, 1), ical_payload(vcal(vevent(
        "christmas-2023@example.com", "20231120T080000Z", "Christmas Day",
        "DTSTART;VALUE=DATE:20231225", "DTEND;VALUE=DATE:20231226",
        extra="TRANSP:TRANSPARENT\nX-MICROSOFT-CDO-ALLDAYEVENT:TRUE\n"))), "e4", "example.com")
    e5 = gw_message("Dentist", when(2024, 2, 20, 18, 0, 0, 1), ical_payload(vcal(vevent(
        "dentist-20240312@example.com", "20240220T170000Z", "Dentist",
        "DTSTART:20240312T073000Z", "DTEND:20240312T081500Z",
        extra="CLASS:PRIVATE\nBEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Dentist\nTRIGGER:-PT30M\n"
              "END:VALARM\n")), cte="base64"), "e5", "example.com")
    tz_display = "Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid, Paris, Prague, Stockholm"
    e6_ics = ("BEGIN:VCALENDAR\nPRODID:-//Kerio Technologies//Outlook Connector//EN\nVERSION:2.0\n"
              "X-VERSION-KMS:6.2.0\nMETHOD:PUBLISH\nBEGIN:VTIMEZONE\n"
              "TZID:Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid,\n  Paris, Prague, Stockholm\n"
              "BEGIN:STANDARD\nDTSTART:16011028T030000\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\n"
              "TZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:16010325T020000\n"
              "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\n"
              "END:VTIMEZONE\nBEGIN:VEVENT\nUID:outlook-connector-0001@example.com\nDTSTAMP:20240527T070000Z\n"
              f'DTSTART;TZID="{tz_display[:40]}\n {tz_display[40:]}":20240610T090000\n'
              f'DTEND;TZID="{tz_display}":20240610T100000\n'
              "SUMMARY:Quarterly review (Outlook)\nX-KERIO-ORIGINAL-PRODID:Microsoft Outlook 16.0\n"
              "X-KERIO-ITEM-ID:0000001F\nEND:VEVENT\nEND:VCALENDAR\n")
    e6 = gw_message("Quarterly review (Outlook)", when(2024, 5, 27, 9, 0, 0, 2), ical_payload(e6_ics),
                    "e6", "example.com")
    F.append(Folder(["Calendar"], "calendar", created=d1, items=[
        I(1, e1, ce, case="recurring event (RRULE, EXDATE)"),
        I(2, e2, ce + dt.timedelta(days=10), case="exception: same UID with RECURRENCE-ID"),
        I(3, e3, when(2023, 8, 1, 12, 0, 0, 2), case='Windows TZID "Eastern Time (US & Canada)" with VTIMEZONE'),
        I(4, e4, when(2023, 11, 20, 9, 0, 0, 1), case="all-day event (VALUE=DATE)"),
        I(5, e5, when(2024, 2, 20, 18, 0, 0, 1), case="base64-encoded text/calendar"),
        I(6, e6, when(2024, 5, 27, 9, 0, 0, 2),
          case="Outlook Connector event: Windows display name as TZID, folded over two lines, X-KERIO-* "
               "properties"),
    ]))

    tk = when(2024, 6, 3, 8, 0, 0, 2)
    F.append(Folder(["Tasks"], "tasks", created=d1, items=[
        I(1, gw_message("Prepare Q3 forecast", tk, ical_payload(vcal(vtodo(
            "task-q3-forecast@example.com", "20240603T060000Z", "Prepare Q3 forecast", due="20240715",
            extra="PRIORITY:1\nPERCENT-COMPLETE:25\n"))), "t1", "example.com"), tk),
        I(2, gw_message("Renew passport", tk - dt.timedelta(days=90), ical_payload(vcal(vtodo(
            "task-passport@example.com", "20240305T060000Z", "Renew passport", due="20240401",
            status="COMPLETED", extra="COMPLETED:20240322T101500Z\nPERCENT-COMPLETE:100\n"))), "t2",
            "example.com"), tk - dt.timedelta(days=90), 0x1),
    ]))
    nt = when(2022, 9, 1, 10, 0, 0, 2)
    F.append(Folder(["Notes"], "notes", created=d1, items=[
        I(1, note_message("Wi-Fi guest password", nt, "Wi-Fi guest password\n\nSSID: Example-Guest\n"
                          "Password: changes monthly, ask reception\n", "n1", "example.com"), nt),
        I(2, note_message("Ideas", nt + dt.timedelta(days=400), "Ideas\n\n- Kundenbefragung für Q4\n"
                          "- Newsletter über die Büroerweiterung\n", "n2", "example.com", msgid=False),
          nt + dt.timedelta(days=400), case="note without Message-ID (counts in no_message_id)"),
    ]))
    jd = when(2020, 11, 5, 15, 0, 0, 1)
    F.append(Folder(["Journal"], "journal", created=d1, items=[
        I(1, gw_message("Phone call with Jürgen Weiß", jd, qp(
            "Phone call, 15:00–15:20\n\nDiscussed the replacement chair and the 2021 price list.\n"),
            "j1", "example.com"), jd),
    ]))

    # ---- per-user files and system directories --------------------------------
    acc.files = {
        "filter.siv": b'require ["fileinto", "vacation"];\r\n# rule: Junk\r\nif header :contains "X-Spam-Flag" "YES" {\r\n'
                      b'  fileinto "Junk E-mail";\r\n  stop;\r\n}\r\n# rule: Phoenix\r\nif header :contains "Subject" '
                      b'"Phoenix" {\r\n  fileinto "INBOX/Projects";\r\n}\r\n',
        "folder.map": b'<?xml version="1.0" encoding="utf-8"?>\r\n<folderMap>\r\n  <folder owner="bob@example.com" '
                      b'path="Calendar" name="Bob\'s calendar"/>\r\n</folderMap>\r\n',
        "settings.usr": b'a:3:{s:8:"language";s:2:"en";s:8:"timezone";s:13:"Europe/Berlin";s:9:"signature";'
                        b's:14:"Alice Anderson";}',
        "stats.usr": b"LastLogin=1719392000\nLastLoginIP=192.0.2.45\nMessagesReceived=1234\n",
        "sub.fld": b"INBOX\nINBOX/Projects\nINBOX/Projects/2024\nSent Items\nTom &- Jerry\nParty &2DzfiQ-\n",
    }
    acc.sysdirs = deleted_tree("alice", [
        mail_in(A, "news", "Purged newsletter", when(2018, 1, 2, 9, 0, 0, 1), plain("Old newsletter.\n")),
        mail_in(A, "bob", "Purged reply", when(2018, 2, 3, 9, 0, 0, 1), plain("Old reply.\n")),
    ])
    acc.sysdirs.update(sync_tree("alice"))
    acc.sysdirs.update(keriomapi_tree("alice"))
    return acc


def deleted_tree(user, msgs):
    out = {}
    lines = []
    for i, m in enumerate(msgs, 1):
        out[f"#deleted/#msgs/{i:08x}.eml"] = m
        lines.append(f"U{i:08x} F1 S{len(m)} D5a4b3c00 T5a4b3c00 M5a4b3c00 I{i:04x} X0 CIPM.Note")
    out["#deleted/index.fld"] = ("\n".join(lines) + "\n").encode()
    out["#deleted/status.fld"] = b"T0\n"
    return out


def sync_tree(user):
    return {"#sync/devices.dat": f"ActiveSync device state for {user}\nDevice=Apple-iPhone12C1\n".encode(),
            "#sync/Apple-iPhone12C1/folders.sync": b"INBOX 1\nCalendar 7\nContacts 9\n"}


def keriomapi_tree(user):
    root = "__keriomapi__STORE"
    m = message([("Subject", "Free/busy"), ("Date", "Mon, 01 Jan 2024 00:00:00 +0000")],
                Part([("Content-Type", "application/octet-stream"), ("Content-Transfer-Encoding", "base64")],
                     base64.encodebytes(prng_bytes("fb" + user, 90))))
    idx = f"U00000001 F0 S{len(m)} D65920080 T65920080 M65920080 I0001 X0 CIPM.Microsoft.ScheduleData.FreeBusy\n"
    return {
        f"{root}/Failed_Conversions/status.fld": b"T0\n",
        f"{root}/Failed_Conversions/index.fld": b"",
        f"{root}/__keriomapi__STORE_ROOT/status.fld": b"T0\n",
        f"{root}/__keriomapi__STORE_ROOT/Freebusy Data/#msgs/00000001.eml": m,
        f"{root}/__keriomapi__STORE_ROOT/Freebusy Data/index.fld": idx.encode(),
        f"{root}/__keriomapi__STORE_ROOT/Freebusy Data/status.fld": b"T0\n",
        f"{root}/__keriomapi__STORE_ROOT/IPM_COMMON_VIEWS/status.fld": b"T0\n",
        f"{root}/__keriomapi__STORE_ROOT/IPM_VIEWS/status.fld": b"T0\n",
        f"{root}/__keriomapi__STORE_ROOT/Search Root/status.fld": b"T0\n",
        f"{root}/__keriomapi__STORE_ROOT/__keriomapi__IPM_ROOT/status.fld": b"T0\n",
    }


# --------------------------------------------------------------------------
# content: bob@example.com (French; line endings, odd file names, folder names)
# --------------------------------------------------------------------------

def bob_account(shared):
    B = "bob"
    acc = Account("example.com", "bob", "bob@example.com")
    F = acc.folders

    d = [when(2004, 2, 10, 9, 12, 0, 1), when(2007, 6, 21, 18, 0, 0, 2), when(2010, 9, 15, 14, 30, 0, 2),
         when(2014, 11, 11, 11, 0, 0, 1), when(2015, 5, 5, 5, 5, 5, 2), when(2016, 6, 6, 6, 6, 6, 2),
         when(2017, 7, 7, 7, 7, 7, 2), when(2018, 8, 8, 8, 8, 8, 2), when(2020, 1, 6, 12, 0, 0, 1),
         when(2022, 5, 17, 10, 0, 0, 2), when(2024, 1, 2, 8, 0, 0, 1)]
    m1 = mail_in(B, "it", "Bienvenue à bord", d[0], qp(
        "Bonjour Bob,\n\nbienvenue chez Example Corp ! Votre boîte aux lettres est prête.\n"
        "Le webmail est accessible à l'adresse https://mail.example.com/webmail/.\n\nL'équipe informatique\n",
        "iso-8859-1"), subj_cs="ISO-8859-1", subj_mode="Q")
    m2 = mail_in(B, "marie", "Fête de la musique", d[1], qp(
        "Salut Bob,\n\non se retrouve ce soir place Bellecour pour la Fête de la musique ?\n"
        "Il paraît qu'il y aura un groupe de jazz manouche vers 21 h.\n\nMarie\n"), subj_mode="Q")
    m3 = mail_in(B, "helene", "Compte rendu du conseil", d[2], with_attachments(
        "Bonjour,\n\nveuillez trouver ci-joint le compte rendu du conseil municipal.\n\nHélène Dupré\n",
        [("compte-rendu.txt", "text/plain", ("Compte rendu\r\n\r\n" + "".join(
            f"Point {i} : adopté à l'unanimité.\r\n" for i in range(1, 30))).encode("utf-8"))], bnd("b3")),
        subj_mode="Q")
    m4 = mail_in(B, "news", "Newsletter de novembre", d[3], alternative(
        "Au sommaire ce mois-ci :\n\n- le nouveau restaurant d'entreprise\n- les résultats du 3e trimestre\n"
        "- la tombola de Noël\n", bnd("b4")))

    # bare LF: the whole message uses "\n" only
    m5 = mail_in(B, "marie", "Message avec fins de ligne LF", d[4], qp(
        "Ce message a été enregistré avec des fins de ligne Unix (LF seul).\n" + LOREM_FR), subj_mode="Q", eol=LF)
    # bare CR: classic Mac OS line endings
    m6 = mail_in(B, "marie", "Message avec fins de ligne CR", d[5], qp(
        "Ce message utilise des fins de ligne CR seul (Mac OS classique).\n" + LOREM_FR),
        subj_mode="Q", eol=b"\r")
    # mixed: CRLF header, body lines alternate LF / CRLF / CR
    m7h = mail_in(B, "marie", "Fins de ligne mélangées", d[6],
                  Part([("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit")], b""),
                  subj_mode="Q")
    m7 = (m7h + "Ligne 1 terminée par CRLF\r\nLigne 2 terminée par LF\nLigne 3 terminée par CR\r"
          "Ligne 4 terminée par CRLF\r\nLigne 5 : fin.\n".encode("utf-8"))
    # truncated multipart: cut inside the base64 of the attachment, no closing boundary
    full = mail_in(B, "marie", "Photos de vacances", d[7], with_attachments(
        "Voici quelques photos de nos vacances en Bretagne !\n",
        [("plage.png", "image/png", make_png(48, 40, "plage"))], bnd("b8")), subj_mode="Q")
    cut = full.rfind(b"Content-Disposition") + 1200
    m8 = full[:cut]
    m8 = m8[:m8.rfind(b"\r\n") + 2] + m8[m8.rfind(b"\r\n") + 2:][:37]  # end mid base64 line
    m9 = mail_in(B, "helene", "Galette des rois", d[8], qp(
        "La galette des rois aura lieu vendredi à 16 h en salle des fêtes. Qui aura la fève ?\n"), subj_mode="Q")
    ma = mail_in(B, "alice", "Q2 planning", d[9], plain(LOREM_EN + "\nAlice\n"))
    mb = mail_in(B, "marie", "Bonne année 2024 !", d[10], qp(
        "Meilleurs vœux pour 2024 ! Santé, bonheur et réussite.\n\nMarie\n"), subj_mode="Q")
    F.append(Folder(["INBOX"], created=d[0], items=[
        I(1, m1, d[0]), I(2, m2, d[1]), I(3, m3, d[2], 0x3), I(4, m4, d[3], 0x0),
        I(5, m5, d[4], case="bare LF line endings"),
        I(6, m6, d[5], case="bare CR line endings"),
        I(7, m7, d[6], case="mixed line endings (CRLF header; LF, CRLF and CR in the body)"),
        I(8, m8, d[7], case="truncated multipart (cut inside base64, no closing boundary)"),
        I(9, m9, d[8], 0x5), I(0xa, ma, d[9]), I(0xb, mb, d[10], 0x0),
    ], files={"search.fld": b"** This file contains an SQLite 2.1 database **\x00" + b"\x00" * 15}))

    s = [when(2004, 2, 11, 8, 0, 0, 1), when(2010, 9, 16, 9, 0, 0, 2), when(2019, 3, 18, 15, 0, 0, 1),
         when(2023, 10, 1, 19, 0, 0, 2), when(2024, 1, 2, 9, 30, 0, 1)]
    F.append(Folder(["Sent Items"], created=d[0], items=[
        I(1, mail_out(B, "it", "Re: Bienvenue à bord", s[0], qp("Merci beaucoup !\n\nBob\n"), subj_mode="Q"), s[0]),
        I(2, mail_out(B, "helene", "Re: Compte rendu du conseil", s[1], qp("Bien reçu, merci.\n\nBob\n"),
                      subj_mode="Q"), s[1]),
        I(3, mail_out(B, "marie", "Devis", s[2], with_attachments(
            "Bonjour Marie,\n\nci-joint le devis demandé.\n\nCordialement,\nBob\n",
            [("devis-2019-03.pdf", "application/pdf", make_pdf(["Devis 2019-03", "Total : 1 250,00 EUR"]))],
            bnd("bs3"))), s[2]),
        I(4, mail_out(B, "alice", "Rendez-vous", s[3], plain("Alice, are we still on for Tuesday?\n\nBob\n")), s[3]),
        I(0x1a, mail_out(B, "marie", "Re: Bonne année 2024 !", s[4], qp(
            "Merci Marie, très bonne année à toi aussi !\n"), subj_mode="Q"), s[4], 0x3,
          fname="0000001A.eml", case="upper-case hex file name 0000001A.eml, index line U0000001a"),
    ], msgs_extra={"Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + prng_bytes("thumbs", 504)},
        note="Thumbs.db inside #msgs must be ignored"))

    fa = [when(2019, 1, 31, 9, 0, 0, 1), when(2019, 2, 28, 9, 0, 0, 1)]
    F.append(Folder(["Factures"], created=fa[0], index_mode="bad",
                    note="index.bad only: the store was copied while Kerio was reindexing the folder", items=[
        I(1, mail_in(B, "ca", "Votre facture de janvier", fa[0], plain("Votre facture est disponible.\n")), fa[0],
          0x5, moved_days=3, case="index.bad without index.fld: flags (Seen, Flagged) and T come from index.bad"),
        I(2, mail_in(B, "ca", "Votre facture de février", fa[1], plain("Votre facture est disponible.\n")), fa[1],
          0x0, moved_days=1),
    ]))

    dd = when(2012, 2, 2, 2, 2, 2, 1)
    F.append(Folder(["Deleted Items"], created=d[0], items=[
        I(1, mail_in(B, "news", "Ancien message", dd, plain("Vieux message sans importance.\n")), dd, moved_days=5)]))
    F.append(Folder(["Drafts"], created=d[0], note="empty folder"))
    dj = when(2011, 11, 11, 11, 11, 11, 1)
    F.append(Folder(["Junk E-mail"], created=d[0], items=[
        I(1, mail_in(B, "spam", "Gagnez un iPhone", dj, alternative("Cliquez ici pour gagner !\n", bnd("bj")),
                     extra=[("X-Spam-Status", "Yes, hits=12.1 required=5.0")]), dj, 0x0)]))

    cd = when(2016, 4, 4, 10, 0, 0, 2)
    F.append(Folder(["Contacts"], "contacts", created=d[0], items=[
        I(1, gw_message("Hélène Dupré", cd, vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:b0b-helene-dupre\nN:Dupré;Hélène;;;\nFN:Hélène Dupré\n"
            "ORG:Mairie de Villeurbanne\nEMAIL;TYPE=INTERNET:helene.dupre@mairie.example\n"
            "TEL;TYPE=CELL:+33 6 12 34 56 78\nEND:VCARD\n", ctype="text/directory",
            cte="quoted-printable"), "bc1", "example.com"), cd,
          case="Content-Type text/directory, quoted-printable wrapper"),
        I(2, gw_message("François Lefèvre", cd + dt.timedelta(days=1), vcard_payload(
            "BEGIN:VCARD\nVERSION:2.1\n"
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Lef=C3=A8vre;Fran=C3=A7ois\n"
            "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Fran=C3=A7ois Lef=C3=A8vre\n"
            "TEL;HOME:+33 4 78 00 11 22\n"
            "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Ancien voisin, tr=C3=A8s serviable. Appeler a=\n"
            "vant 18 h.\nEND:VCARD\n", cte="8bit"), "bc2", "example.com"), cd + dt.timedelta(days=1),
          case="vCard 2.1, QP soft line break inside NOTE"),
    ]))
    dv = when(2018, 2, 1, 9, 0, 0, 1)
    F.append(Folder(["Contacts", "divers"], "contacts", created=dv, note="contacts subfolder", items=[
        I(1, gw_message("Garage Martin", dv, multipart("mixed", [
            plain("Contact card attached.\n"),
            vcard_payload("BEGIN:VCARD\nVERSION:3.0\nUID:garage-martin-69\nN:;;;;\nFN:Garage Martin\n"
                          "ORG:Garage Martin SARL\nTEL;TYPE=WORK:+33 4 78 99 88 77\n"
                          "ADR;TYPE=WORK:;;3 avenue Jean Jaurès;Lyon;;69007;France\nEND:VCARD\n")],
            bnd("dv1")), "dv1", "example.com"), dv, case="vCard inside multipart/mixed"),
        I(2, gw_message("Plombier Rossi", dv + dt.timedelta(days=30), vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:plombier-rossi\nN:Rossi;Paolo;;;\nFN:Paolo Rossi (plombier)\n"
            "TEL;TYPE=CELL:+33 6 98 76 54 32\nCATEGORIES:Artisans\nEND:VCARD\n"), "dv2", "example.com"),
          dv + dt.timedelta(days=30)),
    ]))
    ev = when(2019, 9, 20, 9, 0, 0, 2)
    F.append(Folder(["Calendar"], "calendar", created=d[0], items=[
        I(1, gw_message("Conseil d'administration", ev, ical_payload(vcal(VTZ_PARIS + vevent(
            "ca-2019-10-15@example.com", "20190920T070000Z", "Conseil d'administration",
            "DTSTART;TZID=Europe/Paris:20191015T140000", "DTEND;TZID=Europe/Paris:20191015T170000",
            location="Salle du conseil\\, 3e étage"))), "be1", "example.com"), ev),
        I(2, gw_message("Vacances", ev + dt.timedelta(days=700), ical_payload(vcal(vevent(
            "vacances-2022@example.com", "20210820T070000Z", "Vacances",
            "DTSTART;VALUE=DATE:20220801", "DTEND;VALUE=DATE:20220816",
            extra="TRANSP:OPAQUE\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\n"))), "be2", "example.com"),
          ev + dt.timedelta(days=700)),
    ]))
    F.append(Folder(["Tasks"], "tasks", created=d[0], items=[
        I(1, gw_message("Déclarer les impôts", when(2024, 4, 10, 8, 0, 0, 2), ical_payload(vcal(vtodo(
            "impots-2024@example.com", "20240410T060000Z", "Déclarer les impôts", due="20240523"))),
            "bt1", "example.com"), when(2024, 4, 10, 8, 0, 0, 2), 0x0)]))
    F.append(Folder(["Notes"], "notes", created=d[0], items=[
        I(1, note_message("Code portail", when(2021, 3, 3, 9, 0, 0, 1),
                          "Code portail : 4711B\nInterphone : appuyer deux fois.\n", "bn1", "example.com"),
          when(2021, 3, 3, 9, 0, 0, 1))]))
    F.append(Folder(["Journal"], "journal", created=d[0], note="empty folder"))

    ca = [when(2009, 6, 30, 6, 0, 0, 2), when(2015, 12, 31, 6, 0, 0, 1), when(2021, 4, 30, 6, 0, 0, 2)]
    F.append(Folder(["Crédit Agricole"], created=ca[0], note="real-world name from research §1.3", items=[
        I(1, mail_in(B, "ca", "Votre relevé de compte de juin", ca[0], qp(
            "Votre relevé de compte du mois de juin est disponible dans votre espace client.\n"), subj_mode="Q"),
          ca[0], moved_days=1),
        I(2, mail_in(B, "ca", "Relevé annuel des frais 2015", ca[1], with_attachments(
            "Veuillez trouver ci-joint le récapitulatif annuel des frais bancaires.\n",
            [("frais-2015.pdf", "application/pdf", make_pdf(["Recapitulatif des frais 2015",
                                                             "Total : 84,60 EUR"]))], bnd("ca2")), subj_mode="Q"),
          ca[1], moved_days=3),
        I(3, mail_in(B, "ca", "Alerte : nouveau bénéficiaire", ca[2], qp(
            "Un nouveau bénéficiaire a été ajouté à votre compte.\n"), subj_mode="Q"), ca[2], 0x5),
    ]))
    tc = when(2013, 2, 2, 12, 0, 0, 1)
    F.append(Folder(["Télécollecte"], created=tc, items=[
        I(1, mail_in(B, "ca", "Télécollecte du 01/02/2013", tc, plain(
            "Remise TPE 000123 : 42 transactions, 3 128,50 EUR.\n", "utf-8", "8bit"), subj_mode="Q"), tc)]))
    fc = [when(2017, 3, 3, 9, 0, 0, 1), when(2018, 4, 4, 9, 0, 0, 2)]
    F.append(Folder(["Fraudes+Chaussures"], created=fc[0], note="'+' stays literal", items=[
        I(1, mail_in(B, "shop", "-70 % sur toutes les chaussures", fc[0], alternative(
            "Soldes exceptionnels : -70 % sur tout le site !\n", bnd("fc1")), subj_mode="Q"), fc[0], 0x0),
        I(2, mail_in(B, "shop", "Votre commande n° 88231", fc[1], plain(
            "Votre commande a été expédiée.\n", "utf-8", "8bit"), subj_mode="Q"), fc[1]),
    ]))
    fa = [when(2012, 5, 5, 9, 0, 0, 2), when(2013, 6, 6, 9, 0, 0, 2)]
    F.append(Folder(["Fraudes+Chaussures", "Archives"], created=fa[0], status=False,
                    note="mail subfolder without status.fld", items=[
        I(1, mail_in(B, "shop", "Commande n° 51200", fa[0], plain("Merci pour votre commande.\n")), fa[0],
          moved_days=300),
        I(2, mail_in(B, "shop", "Commande n° 53377", fa[1], plain("Merci pour votre commande.\n")), fa[1],
          moved_days=200),
    ]))
    bn = when(2020, 10, 10, 10, 10, 0, 2)
    F.append(Folder(["Bad&Jjo!-Name"], disk=["Bad&Jjo!-Name"], created=bn,
                    note="NOT valid modified UTF-7: '!' inside a base64 section; keep verbatim", items=[
        I(1, mail_in(B, "marie", "Dossier au nom invalide", bn, qp(
            "Ce dossier porte un nom qui n'est pas du UTF-7 modifié valide.\n"), subj_mode="Q"), bn)]))

    acc.files = {
        "filter.siv": b'require ["fileinto"];\nif address :domain "from" "credit-agricole.example" {\n'
                      b'  fileinto "Cr&AOk-dit Agricole";\n}\n',
        "settings.usr": b'a:2:{s:8:"language";s:2:"fr";s:8:"timezone";s:12:"Europe/Paris";}',
        "sub.fld": b"INBOX\nCr&AOk-dit Agricole\nT&AOk-l&AOk-collecte\nFraudes+Chaussures\n",
    }
    acc.sysdirs = deleted_tree("bob", [mail_in(B, "news", "Ancienne lettre", when(2015, 1, 1, 9, 0, 0, 1),
                                               plain("Effacé.\n"))])
    acc.sysdirs.update(sync_tree("bob"))
    return acc


def drop_header(data, name):
    """Remove one header line (not folded) from a CRLF message."""
    pat = re.compile(rb"^" + re.escape(name.encode()) + rb": [^\r\n]*\r\n", re.M)
    out, n = pat.subn(b"", data, count=1)
    assert n == 1, name
    return out


def replace_header(data, name, value):
    pat = re.compile(rb"^" + re.escape(name.encode()) + rb": [^\r\n]*\r\n", re.M)
    out, n = pat.subn(name.encode() + b": " + value + b"\r\n", data, count=1)
    assert n == 1, name
    return out


# --------------------------------------------------------------------------
# content: carol@example.com (Russian / Japanese)
# --------------------------------------------------------------------------

def carol_account(shared):
    C = "carol"
    acc = Account("example.com", "carol", "carol@example.com")
    F = acc.folders
    d = [when(2005, 9, 1, 10, 0, 0, 4), when(2009, 12, 31, 21, 0, 0, 3), when(2012, 4, 12, 18, 0, 0, 9),
         when(2014, 8, 15, 9, 30, 0, 4), when(2015, 10, 10, 10, 10, 0, 2), when(2016, 2, 29, 13, 0, 0, 1),
         when(2019, 2, 14, 11, 0, 0, 1), when(2022, 11, 7, 9, 0, 0, 9), when(2024, 7, 1, 8, 0, 0, 3)]
    m1 = mail_in(C, "ivan", "Привет из Москвы", d[0], plain(
        "Кэрол, привет!\n\nВ Москве уже осень, по утрам холодно. Как дела в офисе?\n"
        "Пришли, пожалуйста, прайс-лист на следующий год.\n\nИван\n", "koi8-r", "8bit"), subj_cs="KOI8-R")
    m2 = mail_in(C, "ivan", "С Новым годом!", d[1], b64text(
        "С Новым годом и Рождеством!\nЖелаем здоровья, счастья и успехов в 2010 году.\n\n"
        "Коллектив ООО «Поставщик»\n"))
    m3 = mail_in(C, "taro", "会議の議事録", d[2], plain(LOREM_JA + "\n山田\n", "iso-2022-jp", "7bit"),
                 subj_cs="ISO-2022-JP")
    m4 = mail_in(C, "petr", "Отчёт за июль", d[3], plain(
        "Добрый день, Кэрол!\n\nОтчёт за июль во вложении будет завтра. Производство выполнило план на 104 %.\n\n"
        "Пётр\n", "utf-8", "8bit"), header_charset="utf-8", raw_subject=True, raw_from=True)
    m6 = ("Notes from the phone call with the Moscow office\r\n\r\n"
          "- deliveries resume in March\r\n- prices stay the same until the end of the year\r\n"
          "- next call in two weeks\r\n\r\n"
          "(This file was saved from a text editor straight into the folder and has no header lines.)\r\n"
          ).encode("utf-8")
    m7 = mail_in(C, "alice", "Lunch?", d[6], plain("Lunch today? Same place as last year.\n\nAlice\n"))
    m8 = mail_in(C, "hanako", "出張の件", d[7], alternative(
        "キャロルさん\n\n来週の大阪出張の件、ホテルを予約しました。\n詳細は添付をご覧ください。\n\n佐藤\n", bnd("c8")))
    m9 = mail_in(C, "ivan", "Отпуск", d[8], qp("Кэрол, я в отпуске до 15 июля.\n\nИван\n"))
    F.append(Folder(["INBOX"], created=d[0], items=[
        I(1, m1, d[0]), I(2, m2, d[1]), I(3, m3, d[2]),
        I(4, m4, d[3], case="raw 8-bit UTF-8 in header fields (Subject, From)"),
        I(5, b"", d[4], 0x0, case="empty (0-byte) file"),
        I(6, m6, d[5], case="no header at all (plain text file)"),
        I(7, m7, d[6], 0x3), I(8, m8, d[7], 0x0), I(9, m9, d[8], 0x0),
    ]))
    y19 = [when(2019, 3, 1, 9, 0, 0, 3), when(2019, 6, 1, 9, 0, 0, 3), when(2019, 9, 1, 9, 0, 0, 3)]
    F.append(Folder(["INBOX", "2019"], created=y19[0], index_mode="empty", files={"properties.fld": b""},
                    note="made by an archiver script: 0-byte index.fld and properties.fld, status.fld T0", items=[
        I(1, mail_in(C, "ivan", "Март", y19[0], plain("Март.\n")), y19[0], indexed=False,
          case="0-byte index.fld beside items (archiver script): no metadata, dated by file time"),
        I(2, mail_in(C, "ivan", "Июнь", y19[1], plain("Июнь.\n")), y19[1], indexed=False),
        I(3, mail_in(C, "ivan", "Сентябрь", y19[2], plain("Сентябрь.\n")), y19[2], indexed=False),
    ]))
    s = [when(2005, 9, 2, 9, 0, 0, 4), when(2012, 4, 13, 8, 0, 0, 4), when(2019, 2, 14, 11, 5, 0, 1)]
    F.append(Folder(["Sent Items"], created=d[0], items=[
        I(1, mail_out(C, "ivan", "Re: Привет из Москвы", s[0], plain(
            "Иван, привет! Прайс-лист отправлю в понедельник.\n", "koi8-r", "8bit"), subj_cs="KOI8-R"), s[0],
          kms61=True, case="KMS 6.1-style index line (no T token, no X token)"),
        I(2, mail_out(C, "taro", "Re: 会議の議事録", s[1], plain("ありがとうございます。確認しました。\n",
                                                             "iso-2022-jp", "7bit"), subj_cs="ISO-2022-JP"), s[1]),
        I(3, mail_out(C, "alice", "Re: Lunch?", s[2], plain("Sure, 12:30.\n")), s[2]),
    ]))
    F.append(Folder(["Deleted Items"], created=d[0], note="empty folder"))
    dr = when(2024, 7, 2, 16, 0, 0, 3)
    F.append(Folder(["Drafts"], created=d[0], items=[
        I(1, mail_out(C, "ivan", "Заказ на август", dr, qp("Иван, добрый день!\n\nНа август нам нужно\n")), dr,
          0x10)]))
    F.append(Folder(["Junk E-mail"], created=d[0], note="empty folder"))
    cd = when(2020, 6, 1, 9, 0, 0, 3)
    F.append(Folder(["Contacts"], "contacts", created=d[0], items=[
        I(1, gw_message("Пётр Сидоров", cd, vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:carol-petr-sidorov\nN:Сидоров;Пётр;Алексеевич;;\n"
            "FN:Пётр Сидоров\nORG:Завод «Пример»\nEMAIL;TYPE=INTERNET:p.sidorov@zavod.example\n"
            "TEL;TYPE=WORK:+7 495 555-01-23\nEND:VCARD\n"), "cc1", "example.com"), cd),
        I(2, gw_message("山田 太郎", cd + dt.timedelta(days=2), vcard_payload(
            "BEGIN:VCARD\nVERSION:4.0\nUID:urn:uuid:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\n"
            "FN:山田 太郎\nN:山田;太郎;;;\nX-PHONETIC-LAST-NAME:やまだ\nEMAIL;TYPE=work:taro.yamada@kaisha.example\n"
            "TEL;VALUE=uri;TYPE=work:tel:+81-3-5555-0123\nEND:VCARD\n", ctype="text/vcard"), "cc2",
            "example.com"), cd + dt.timedelta(days=2)),
    ]))
    ce = when(2022, 3, 1, 10, 0, 0, 3)
    F.append(Folder(["Calendar"], "calendar", created=d[0], items=[
        I(1, gw_message("Встреча с клиентом", ce, ical_payload(vcal(VTZ_MOSCOW + vevent(
            "carol-meeting-20220315@example.com", "20220301T070000Z", "Встреча с клиентом",
            "DTSTART;TZID=Europe/Moscow:20220315T110000", "DTEND;TZID=Europe/Moscow:20220315T123000",
            location="Москва\\, ул. Тверская 1"))), "ce1", "example.com"), ce)]))
    F.append(Folder(["Tasks"], "tasks", created=d[0], note="empty folder"))
    F.append(Folder(["Notes"], "notes", created=d[0], note="empty folder"))
    jd = when(2023, 5, 5, 18, 0, 0, 3)
    F.append(Folder(["Journal"], "journal", created=d[0], items=[
        I(1, gw_message("Звонок в Токио", jd, ical_payload(vcal(
            "BEGIN:VJOURNAL\nUID:carol-journal-20230505@example.com\nDTSTAMP:20230505T150000Z\n"
            "DTSTART;VALUE=DATE:20230505\nSUMMARY:Звонок в Токио\n"
            "DESCRIPTION:Обсудили сроки поставки. Следующий звонок через неделю.\nEND:VJOURNAL\n")),
            "cj1", "example.com"), jd, case="VJOURNAL in text/calendar")]))

    ar = [when(2010, 3, 3, 9, 0, 0, 3), when(2011, 4, 4, 9, 0, 0, 4), when(2019, 12, 12, 9, 0, 0, 3)]
    F.append(Folder(["Архив"], created=ar[0], note="Cyrillic name", items=[
        I(1, mail_in(C, "ivan", "Договор поставки", ar[0], qp("Договор подписан, оригинал отправлен курьером.\n")),
          ar[0], moved_days=400),
        I(2, mail_in(C, "petr", "Акт сверки", ar[1], with_attachments(
            "Акт сверки во вложении.\n", [("акт-сверки.pdf", "application/pdf", make_pdf(["Akt sverki", "2011"]))],
            bnd("ar2"))), ar[1], moved_days=100),
    ]))
    F.append(Folder(["Архив", "2019"], created=ar[2], items=[
        I(1, mail_in(C, "ivan", "Итоги года", ar[2], qp("Спасибо за сотрудничество в 2019 году!\n")), ar[2],
          moved_days=20)]))
    iv = [when(2018, 5, 14, 10, 0, 0, 3), when(2018, 5, 15, 11, 0, 0, 3)]
    F.append(Folder(["ivan.ivanov"], created=iv[0], note="dot inside a folder name", items=[
        I(1, mail_in(C, "ivanov", "Поставка №77", iv[0], qp("Поставка №77 отгружена.\n")), iv[0]),
        I(2, mail_in(C, "ivanov", "Re: Поставка №77", iv[1], qp("Получено, спасибо.\n")), iv[1], 0x3),
    ]))
    jp = [when(2012, 4, 20, 17, 0, 0, 9), when(2013, 1, 7, 9, 0, 0, 9)]
    F.append(Folder(["日本語"], created=jp[0], note="CJK name", items=[
        I(1, mail_in(C, "taro", "お花見のお知らせ", jp[0], plain("今週土曜日にお花見をします。\n", "iso-2022-jp", "7bit"),
                     subj_cs="ISO-2022-JP"), jp[0]),
        I(2, mail_in(C, "hanako", "新年のご挨拶", jp[1], b64text("あけましておめでとうございます。\n本年もよろしくお願いいたします。\n")),
          jp[1]),
    ]))

    acc.files = {
        "filter.siv": b'require ["fileinto"];\nif address :is "from" "ivan.ivanov@postavshik.example" {\n'
                      b'  fileinto "ivan.ivanov";\n}\n',
        "folder.map": b'<?xml version="1.0" encoding="utf-8"?>\n<folderMap/>\n',
        "settings.usr": b'a:2:{s:8:"language";s:2:"ru";s:8:"timezone";s:13:"Europe/Moscow";}',
        "stats.usr": b"LastLogin=1719400000\n",
        "sub.fld": b"INBOX\n&BBAEQARFBDgEMg-\nivan.ivanov\n&ZeVnLIqe-\n",
    }
    acc.sysdirs = deleted_tree("carol", [mail_in(C, "ivan", "Удалённое", when(2020, 1, 1, 9, 0, 0, 3),
                                                 qp("Удалено.\n"))])
    acc.sysdirs.update(sync_tree("carol"))
    acc.sysdirs.update(keriomapi_tree("carol"))
    return acc


# --------------------------------------------------------------------------
# content: dave@example.org (German; header/date edge cases)
# --------------------------------------------------------------------------

def dave_account(shared):
    D = "dave"
    acc = Account("example.org", "dave", "dave@example.org")
    F = acc.folders
    d = [when(2003, 4, 1, 9, 0, 0, 2), when(2008, 8, 8, 8, 8, 0, 2), when(2011, 1, 11, 11, 11, 0, 1),
         when(2012, 2, 12, 12, 12, 0, 1), when(2013, 3, 13, 13, 13, 0, 1), when(2014, 4, 14, 14, 14, 0, 2),
         when(2016, 7, 20, 20, 17, 40, 2), when(2018, 9, 9, 9, 9, 0, 2), when(2021, 3, 21, 10, 0, 0, 1),
         when(2024, 11, 29, 6, 0, 0, 1)]
    m1 = mail_in(D, "anna", "Willkommen im Verein", d[0], qp(
        "Lieber Dave,\n\nherzlich willkommen im Verein! Die nächste Sitzung ist am Donnerstag um 19 Uhr\n"
        "im Gemeindehaus. Bitte bring deinen Mitgliedsausweis mit.\n\nViele Grüße\nAnna\n", "iso-8859-1"),
        subj_cs="ISO-8859-1", subj_mode="Q", xmailer="Microsoft Outlook Express 6.00.2800.1106")
    m2 = mail_in(D, "juergen", "Übersicht der Straßenarbeiten", d[1], qp(
        "Hallo Herr Müller,\n\n" + LOREM_DE + "\nDie Übersicht der Straßenarbeiten für August:\n"
        "- Hauptstraße: 11.–15. August, halbseitig gesperrt\n- Lindenallee: ab 18. August Vollsperrung\n\n"
        "Mit freundlichen Grüßen\nJürgen Weiß\n"), subj_mode="Q")
    m3 = drop_header(mail_in(D, "anna", "Ohne Datum", d[2], qp(
        "Diese Nachricht hat keinen Date-Header.\n")), "Date")
    m4 = drop_header(mail_in(D, "anna", "Ohne Message-ID", d[3], qp(
        "Diese Nachricht hat keinen Message-ID-Header.\n")), "Message-ID")
    m5 = mail_in(D, "juergen", "Grüße aus Köln", d[4], plain(
        "Hallo Dave,\n\nviele Grüße aus Köln! Der Dom steht noch, das Kölsch ist kalt.\n\nJürgen\n",
        "iso-8859-1", "8bit"), header_charset="latin-1", raw_subject=True, raw_from=True)
    m6 = replace_header(mail_in(D, "anna", "Sitzungsprotokoll", d[5], qp(
        "Das Protokoll der letzten Sitzung liegt im Vereinsordner.\n")), "Date", b"irgendwann letzte Woche")
    m7 = replace_header(mail_in(D, "anna", "Mondlandung (Archivkopie)", d[6], qp(
        "„Das ist ein kleiner Schritt für einen Menschen, aber ein riesiger Sprung für die Menschheit.“\n"
        "(Aus dem Vereinsarchiv eingescannt.)\n")), "Date", rfcdate(when(1969, 7, 20, 20, 17, 40, 0)).encode())
    m8 = mail_in(D, "anna", "Kein Zeilenende am Schluss", d[7], qp(
        "Diese Nachricht endet ohne abschließenden Zeilenumbruch."))
    m8 = m8.rstrip(b"\r\n")
    m9 = mail_in(D, "gmbh", "Rechnung März 2021", d[8], with_attachments(
        "Sehr geehrter Herr Müller,\n\nanbei erhalten Sie unsere Rechnung für März 2021.\n"
        "Zahlbar innerhalb von 14 Tagen ohne Abzug.\n\nLieferant GmbH – Buchhaltung\n",
        [("Rechnung März 2021.pdf", "application/pdf",
          make_pdf([f"Rechnung 2021-03, Position {i}: Buerobedarf, 1 Stueck, 12,50 EUR" for i in range(1, 120)])),
         ("Lieferschein.png", "image/png", make_png(60, 50, "lieferschein"))], bnd("d9")), subj_mode="Q")
    ma = mail_in(D, "shop", "Black Friday: alles muss raus", d[9], alternative(
        "Nur heute: 50 % auf alles!\n", bnd("da")))
    F.append(Folder(["INBOX"], created=d[0], items=[
        I(1, m1, d[0]), I(2, m2, d[1], 0x3),
        I(3, m3, d[2], case="no Date header"),
        I(4, m4, d[3], case="no Message-ID header"),
        I(5, m5, d[4], case="raw 8-bit ISO-8859-1 in header fields (Subject, From)"),
        I(6, m6, d[5], case="unparsable Date header"),
        I(7, m7, d[6], case="Date header before 1970 (1969-07-20)"),
        I(8, m8, d[7], case="no final newline"),
        I(9, m9, d[8], 0x5), I(0xa, ma, d[9], 0x0),
    ], files={"properties.fld": b"", "deleted.fld": b"4f1c2d00 0000000b\n"}))
    s = [when(2008, 8, 9, 10, 0, 0, 2), when(2021, 3, 22, 9, 0, 0, 1)]
    F.append(Folder(["Sent Items"], eol=CRLF, created=d[0], items=[
        I(1, mail_out(D, "juergen", "Re: Übersicht der Straßenarbeiten", s[0], qp(
            "Danke für die Übersicht!\n\nDave Müller\n"), subj_mode="Q"), s[0]),
        I(2, mail_out(D, "gmbh", "Re: Rechnung März 2021", s[1], qp("Rechnung ist bezahlt.\n"), subj_mode="Q"), s[1]),
    ], note="CRLF index.fld"))
    go = [when(2022, 4, 4, 10, 0, 0, 2), when(2022, 9, 9, 10, 0, 0, 2)]
    F.append(Folder(["Gesendete Objekte"], created=go[0],
                    note="made by a German IMAP client beside Kerio's Sent Items (a localized duplicate)", items=[
        I(1, mail_out(D, "anna", "Protokoll", go[0], qp("Anbei das Protokoll.\n"), subj_mode="Q"), go[0],
          case="localized duplicate of Sent Items (German client): merged into the Sent mailbox with a mapping"),
        I(2, mail_out(D, "juergen", "Termin", go[1], qp("Passt der Dienstag?\n"), subj_mode="Q"), go[1]),
    ]))
    dd = when(2019, 5, 5, 5, 5, 0, 2)
    F.append(Folder(["Deleted Items"], created=d[0], items=[
        I(1, mail_in(D, "anna", "Alte Nachricht", dd, plain("Kann weg.\n")), dd, moved_days=2)]))
    F.append(Folder(["Drafts"], created=d[0], note="empty folder"))
    dj = when(2020, 2, 2, 2, 2, 0, 1)
    F.append(Folder(["Junk E-mail"], created=d[0], items=[
        I(1, mail_in(D, "spam", "Sie haben gewonnen!", dj, qp("Herzlichen Glückwunsch! Klicken Sie hier.\n"),
                     subj_mode="Q", extra=[("X-Spam-Status", "Yes, hits=15.0 required=5.0")]), dj, 0x0)]))
    cd = when(2017, 1, 9, 9, 0, 0, 1)
    F.append(Folder(["Contacts"], "contacts", created=d[0], items=[
        I(1, gw_message("Jörg Schäfer", cd, vcard_payload(
            "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Sch=E4fer;J=F6rg\n"
            "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=F6rg Sch=E4fer\nORG:Schäfer Haustechnik\n"
            "TEL;WORK;VOICE:+49 221 555 0177\nEMAIL;INTERNET:joerg.schaefer@handwerk.example\nEND:VCARD\n",
            cte="8bit"), "dc1", "example.org"), cd, case="vCard 2.1, QP properties in ISO-8859-1"),
        I(2, gw_message("Anna Groß", cd + dt.timedelta(days=1), vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:dave-anna-gross\nN:Groß;Anna;;;\nFN:Anna Groß\n"
            "EMAIL;TYPE=INTERNET,HOME:anna.gross@verein.example\nBDAY:1975-05-17\nEND:VCARD\n"),
            "dc2", "example.org"), cd + dt.timedelta(days=1)),
    ]))
    ce = when(2023, 5, 2, 12, 0, 0, 2)
    F.append(Folder(["Calendar"], "calendar", created=d[0], items=[
        I(1, gw_message("Betriebsausflug", ce, ical_payload(vcal(VTZ_BERLIN + vevent(
            "betriebsausflug-2023@example.org", "20230502T100000Z", "Betriebsausflug",
            "DTSTART;TZID=Europe/Berlin:20230623T090000", "DTEND;TZID=Europe/Berlin:20230623T180000",
            location="Drachenfels"))), "de1", "example.org"), ce)]))
    F.append(Folder(["Tasks"], "tasks", created=d[0], items=[
        I(1, gw_message("Steuererklärung", when(2024, 3, 1, 9, 0, 0, 1), ical_payload(vcal(vtodo(
            "steuer-2023@example.org", "20240301T080000Z", "Steuererklärung 2023", due="20240731",
            extra="PRIORITY:5\n"))), "dt1", "example.org"), when(2024, 3, 1, 9, 0, 0, 1), 0x0)]))
    F.append(Folder(["Notes"], "notes", created=d[0], items=[
        I(1, note_message("Einkaufsliste", when(2024, 8, 8, 18, 0, 0, 2),
                          "Einkaufsliste\n\n- Brötchen\n- Käse\n- Äpfel\n", "dn1", "example.org"),
          when(2024, 8, 8, 18, 0, 0, 2))]))
    F.append(Folder(["Journal"], "journal", created=d[0], note="empty folder"))

    ub = [when(2009, 9, 9, 9, 0, 0, 2), when(2010, 10, 10, 10, 0, 0, 2), when(2011, 11, 11, 11, 0, 0, 1)]
    F.append(Folder(["Übersicht"], created=ub[0], note="German Ü", items=[
        I(1, mail_in(D, "juergen", "Übersicht September", ub[0], qp("Übersicht für September im Anhang.\n"),
                     subj_mode="Q"), ub[0], moved_days=5),
        I(2, mail_in(D, "juergen", "Übersicht Oktober", ub[1], qp("Übersicht für Oktober.\n"), subj_mode="Q"),
          ub[1], moved_days=5),
    ]))
    F.append(Folder(["Übersicht", "Straßenbau"], created=ub[2], note="German ß, nested", items=[
        I(1, mail_in(D, "juergen", "Straßenbau Lindenallee", ub[2], qp("Die Lindenallee ist wieder frei.\n"),
                     subj_mode="Q"), ub[2], moved_days=1)]))
    im = [when(2004, 6, 1, 12, 0, 0, 2), when(2004, 6, 2, 12, 0, 0, 2)]
    F.append(Folder(["Import"], created=im[0], index=False, status=False, assoc=None,
                    note="no metadata: only #msgs (no index.fld, no status.fld, no #assoc)", items=[
        I(1, mail_in(D, "anna", "Alte Vereinsmail 1", im[0], plain("Importiert aus Outlook Express.\n")), im[0],
          indexed=False, case="folder without index.fld (all items unindexed)"),
        I(2, mail_in(D, "anna", "Alte Vereinsmail 2", im[1], plain("Importiert aus Outlook Express.\n")), im[1],
          indexed=False),
    ]))

    acc.files = {
        "settings.usr": b'a:1:{s:8:"language";s:2:"de";}',
        "stats.usr": b"LastLogin=1719300000\n",
    }
    acc.sysdirs = keriomapi_tree("dave")
    return acc


# --------------------------------------------------------------------------
# content: public folders
# --------------------------------------------------------------------------

def public_com(shared):
    acc = Account("example.com", "#public", "alice@example.com")
    F = acc.folders
    cd = when(2019, 3, 1, 9, 0, 0, 1)
    F.append(Folder(["Contacts"], "contacts", created=cd, items=[
        I(1, gw_message("Example Corp Reception", cd, vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:reception-0001@example.com\nN:;;;;\nFN:Example Corp Reception\n"
            "ORG:Example Corp\nTEL;TYPE=WORK,VOICE:+49 221 555 0100\nEMAIL;TYPE=INTERNET:reception@example.com\n"
            "END:VCARD\n"), "pc1", "example.com"), cd),
        I(2, shared["dup_contact"], cd + dt.timedelta(days=15),
          case="exact duplicate of alice@example.com/Contacts/00000003.eml"),
        I(3, gw_message("Facility management", cd + dt.timedelta(days=20), vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:facility-0001@example.com\nN:;;;;\nFN:Facility management\n"
            "TEL;TYPE=WORK:+49 221 555 0111\nNOTE:Keys\\, parking cards\\, broken lights.\nEND:VCARD\n"),
            "pc3", "example.com"), cd + dt.timedelta(days=20)),
    ] + [I(4 + i, gw_message(full, cd + dt.timedelta(days=30 + i), vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nPRODID:-//Kerio Technologies//Kerio Connect//EN\n"
            f"UID:kerio-user-{user}-example-com\nN:{last};{first};;;\nFN:{full}\n"
            f"EMAIL;TYPE=INTERNET,PREF:{user}@example.com\nEND:VCARD\n"), f"gen-{user}", "example.com"),
           cd + dt.timedelta(days=30 + i), generated=True,
           case=f"contact Kerio generated for the user {user}@example.com (left out of the export by default)")
         for i, (user, first, last, full) in enumerate([
             ("alice", "Alice", "Anderson", "Alice Anderson"), ("bob", "Bob", "Bernard", "Bob Bernard"),
             ("carol", "Carol", "Ivanova", "Carol Ivanova (Кэрол Иванова)")])]))
    nd = [when(2015, 6, 1, 9, 0, 0, 2), when(2020, 12, 1, 9, 0, 0, 1), when(2024, 6, 3, 9, 0, 0, 2)]
    F.append(Folder(["Company News"], created=nd[0], note="public mail folder; ACL lines before the T line",
                    acl=[("#staff", "lrs"), ("news@example.com", "lrswipte")], acl_first=True, items=[
        I(1, mail_in("news", "news", "Summer party 2015", nd[0], plain("The summer party is on 26 June.\n")), nd[0]),
        I(2, mail_in("news", "news", "Office closed between the holidays", nd[1], alternative(
            "The office is closed from 24 December to 1 January.\n", bnd("pn2"))), nd[1]),
        I(3, mail_in("news", "news", "New coffee machine", nd[2], with_attachments(
            "We have a new coffee machine on the 2nd floor. Manual attached.\n",
            [("coffee-manual.pdf", "application/pdf", make_pdf(["Coffee machine manual", "Press the button."]))],
            bnd("pn3"))), nd[2]),
    ]))
    pe = when(2024, 5, 2, 9, 0, 0, 2)
    F.append(Folder(["Calendar"], "calendar", created=cd, note="public calendar", items=[
        I(1, gw_message("Company summer party", pe, ical_payload(vcal(VTZ_BERLIN + vevent(
            "summer-party-2024@example.com", "20240502T070000Z", "Company summer party",
            "DTSTART;TZID=Europe/Berlin:20240628T170000", "DTEND;TZID=Europe/Berlin:20240628T230000",
            location="Rooftop"))), "pe1", "example.com"), pe)]))
    return acc


def public_org(shared):
    acc = Account("example.org", "#public", "dave@example.org")
    F = acc.folders
    cd = when(2018, 1, 15, 9, 0, 0, 1)
    F.append(Folder(["Contacts"], "contacts", created=cd, items=[
        I(1, gw_message("Vereinsheim", cd, vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:vereinsheim@example.org\nN:;;;;\nFN:Vereinsheim\n"
            "ADR;TYPE=WORK:;;Am Sportplatz 1;Köln;;50999;Deutschland\nTEL:+49 221 555 0190\nEND:VCARD\n"),
            "oc1", "example.org"), cd),
        I(2, gw_message("Anna Groß (Vorstand)", cd + dt.timedelta(days=1), vcard_payload(
            "BEGIN:VCARD\nVERSION:3.0\nUID:vorstand-anna@example.org\nN:Groß;Anna;;;\nFN:Anna Groß\n"
            "TITLE:Vorsitzende\nEMAIL;TYPE=INTERNET:anna.gross@verein.example\nEND:VCARD\n"),
            "oc2", "example.org"), cd + dt.timedelta(days=1)),
    ]))
    an = [when(2019, 4, 4, 19, 0, 0, 2), when(2023, 11, 11, 11, 11, 0, 1)]
    F.append(Folder(["Ankündigungen"], created=an[0], note="public mail folder, German ü", items=[
        I(1, mail_in("dave", "anna", "Jahreshauptversammlung", an[0], qp(
            "Die Jahreshauptversammlung findet am 20. April statt.\n"), subj_mode="Q"), an[0]),
        I(2, mail_in("dave", "anna", "Karneval: Sitzung am 11.11.", an[1], qp("Alaaf! Beginn 11:11 Uhr.\n"),
                     subj_mode="Q"), an[1]),
    ]))
    return acc


def orphan_account(shared):
    """A deleted user's mailbox kept in the store: no users.cfg entry."""
    M = "max"
    acc = Account("example.org", "m.mustermann", "m.mustermann@example.org")
    F = acc.folders
    d = [when(2015, 3, 3, 9, 0, 0, 1), when(2016, 4, 4, 9, 0, 0, 2), when(2016, 4, 5, 9, 0, 0, 2)]
    F.append(Folder(["INBOX"], created=d[0], note="orphan mailbox", items=[
        I(1, mail_in(M, "anna", "Übergabe", d[0], qp("Bitte übernimm die Kasse.\n"), subj_mode="Q"), d[0],
          case="orphan mailbox (no users.cfg entry): scan marks it, users lists it commented out"),
        I(2, mail_in(M, "dave", "Letzter Tag", d[1], qp("Danke für alles!\n")), d[1]),
    ]))
    F.append(Folder(["Sent Items"], created=d[0], items=[
        I(1, mail_out(M, "dave", "Re: Letzter Tag", d[2], qp("Gern geschehen.\n")), d[2]),
    ]))
    return acc


def archive_items():
    """store/mail/archive (Kerio MailServer 6's place, so that a backup of store/mail carries it):
    {relative path: bytes}, plus the spec of its folders."""
    a1 = [when(2012, 12, 21, 8, 0, 0, 1), when(2012, 12, 21, 9, 30, 0, 1), when(2012, 12, 21, 17, 45, 0, 1)]
    a2 = [when(2013, 1, 7, 8, 0, 0, 1), when(2013, 1, 15, 12, 0, 0, 1), when(2013, 1, 20, 16, 0, 0, 1)]
    folders = [
        (["2012-12-21"], [
            I(1, mail_in("alice", "juergen", "Angebot (archiviert)", a1[0], qp("Das Angebot gilt bis Jahresende.\n"),
                         subj_mode="Q"), a1[0],
              case="archive period (a day): incoming mail, read like any folder"),
            I(2, mail_out("bob", "marie", "Rendez-vous", a1[1], plain("A demain.\n")), a1[1]),
            I(3, mail_in("carol", "ivan", "Счёт", a1[2], plain("Счёт во вложении.\n")), a1[2]),
        ]),
        (["2013-01", "INBOX"], [
            I(1, mail_in("dave", "anna", "Januar", a2[0], qp("Sitzung am Montag.\n")), a2[0],
              case="archive period (a month) holding nested folders: all go to one folder per period"),
            I(2, mail_in("alice", "bob", "January figures", a2[1], plain("Figures attached.\n")), a2[1]),
        ]),
        (["2013-01", "Sent Items"], [
            I(1, mail_out("alice", "bob", "Re: January figures", a2[2], plain("Thanks.\n")), a2[2]),
        ]),
    ]
    files = {}
    spec = {}
    for path, items in folders:
        f = Folder(path, created=a1[0])
        f.items = items
        rel = "/".join(path)
        for it in items:
            files[f"{rel}/#msgs/{it.filename}"] = (it.data, it.d)
        files[f"{rel}/index.fld"] = (index_lines(f), FIXED_MTIME)
        files[f"{rel}/status.fld"] = (b"T0\n", FIXED_MTIME)
        spec["#archive/" + rel] = f
    compressed = gzip.compress(b"archived mail of November 2012, compressed by Kerio (format unknown)\n" * 40,
                               mtime=0)
    files["2012-11.tar.gz"] = (compressed, FIXED_MTIME)
    return files, spec


def shared_items():
    return {"dup_contact": gw_message("Example Corp Helpdesk", when(2019, 3, 16, 9, 0, 0, 1), vcard_payload(
        "BEGIN:VCARD\nVERSION:3.0\nPRODID:-//Kerio Technologies//Kerio Connect//EN\n"
        "UID:helpdesk-0001@example.com\nN:;;;;\nFN:Example Corp Helpdesk\nORG:Example Corp;IT\n"
        "TEL;TYPE=WORK,VOICE:+49 221 555 4357\nEMAIL;TYPE=INTERNET:it@example.com\n"
        "URL:https://intranet.example.com/helpdesk\nEND:VCARD\n"), "dup-helpdesk", "example.com")}


def all_accounts():
    shared = shared_items()
    return [alice_account(shared), bob_account(shared), carol_account(shared), public_com(shared),
            dave_account(shared), public_org(shared), orphan_account(shared)]


# --------------------------------------------------------------------------
# install-dir configuration (element names are a plausible guess, §4.2)
# --------------------------------------------------------------------------

def fake_d3s(seed):
    return "D3S:" + prng_bytes("d3s" + seed, 24).hex()


def real_sha(password, salt_hex):
    """Kerio SHA: = 16 hex salt + 40 hex PBKDF2-HMAC-SHA1 (10000 rounds), salt used as raw bytes."""
    return "SHA:" + salt_hex + hashlib.pbkdf2_hmac("sha1", password.encode(), bytes.fromhex(salt_hex), 10000).hex()


SHA_PLAINTEXT = "Bob-Secret-2024"
SHA_SALT = "5f2c8a9e1b3d4c6a"


def users_cfg():
    def v(name, value):
        return f'      <variable name="{name}">{value}</variable>\n'

    def item(*vars_):
        return "    <listitem>\n" + "".join(v(n, x) for n, x in vars_) + "    </listitem>\n"

    users = [
        item(("Name", "alice"), ("Domain", "example.com"), ("FullName", "Alice Anderson"),
             ("Description", "Sales &amp; Marketing"), ("Password", fake_d3s("alice")),
             ("PasswordHistory", real_sha("old-alice-pw", "0011223344556677")),
             ("MailAddress", "alice;a.anderson;sales"), ("Groups", "staff,sales"),
             ("QuotaStorage", "2097152"), ("QuotaMessages", "0"), ("Rights", "3"), ("Enabled", "1"),
             ("AuthType", "0"), ("X-KerioSpamSettings", "{level=5;folder=Junk E-mail}")),
        item(("Name", "bob"), ("Domain", "example.com"), ("FullName", "Bob Bernard"),
             ("Description", "Comptabilit&#233; (Lyon)"), ("Password", real_sha(SHA_PLAINTEXT, SHA_SALT)),
             ("MailAddress", "bob"), ("MailAddress", "robert.bernard"), ("Groups", "staff"),
             ("QuotaStorage", "0"), ("Rights", "0"), ("Enabled", "1"), ("AuthType", "0")),
        item(("Name", "carol"), ("Domain", "example.com"), ("FullName", "Carol Ivanova (Кэрол Иванова)"),
             ("Description", "Export &lt;Russia &amp; Japan&gt;"), ("Password", fake_d3s("carol")),
             ("MailAddress", "carol,k.ivanova"), ("Groups", "staff;sales"),
             ("QuotaStorage", "1048576"), ("Rights", "1"), ("Enabled", "1"), ("AuthType", "0"),
             ("ForwardMode", "1"), ("ForwardAddress", "carol.backup@example.net")),
        item(("Name", "dave"), ("Domain", "example.org"), ("FullName", "Dave M&#252;ller"),
             ("Description", "Kassenwart"), ("Password", fake_d3s("dave")),
             ("MailAddress", "dave, kassenwart"), ("Groups", "vorstand"),
             ("QuotaStorage", "0"), ("Rights", "0"), ("Enabled", "1"), ("AuthType", "0"),
             ("HomeServer", "")),
        item(("Name", "Admin"), ("Domain", "example.com"), ("FullName", "Built-in administrator"),
             ("Description", "created by the installer"),
             # 96 hex digits: a 32-character password (openwall/john's published vector for 32 x "A").
             ("Password", "D3S:8742ddf7db1906c5d54ec948c500e587adfa4447eff8dc42adfa4447eff8dc42adfa4447eff8dc42"
                          "98558bad76110b35"),
             ("MailAddress", "admin"), ("Groups", ""), ("QuotaStorage", "0"), ("Rights", "3"),
             ("Enabled", "1"), ("AuthType", "0")),
        item(("Name", "eve"), ("Domain", "example.org"), ("FullName", "Eve Ehemalig"),
             ("Description", "disabled account, no mailbox in the store"), ("Password", "NUL:"),
             ("MailAddress", "eve"), ("Groups", ""), ("QuotaStorage", "0"), ("Rights", "0"),
             ("Enabled", "0"), ("AuthType", "0")),
    ]
    groups = [
        item(("Name", "staff"), ("Domain", "example.com"), ("Description", "All staff"),
             ("MailAddress", "staff;all"), ("Rights", "0")),
        item(("Name", "sales"), ("Domain", "example.com"), ("Description", "Sales &amp; export"),
             ("MailAddress", "sales-team"), ("Rights", "0")),
        item(("Name", "vorstand"), ("Domain", "example.org"), ("Description", "Vorstand des Vereins"),
             ("MailAddress", "vorstand"), ("Rights", "0")),
    ]
    aliases = [
        item(("Name", "info"), ("Domain", "example.com"), ("DeliverTo", "alice@example.com"),
             ("Description", "Info &amp; enquiries")),
        item(("Name", "webmaster"), ("Domain", "example.com"), ("DeliverTo", "bob@example.com;carol@example.com"),
             ("Description", "")),
        item(("Name", "postmaster"), ("Domain", "example.com"), ("DeliverTo", "#staff"),
             ("Description", "to a group")),
        item(("Name", "kontakt"), ("Domain", "example.org"), ("DeliverTo", "dave@example.org"),
             ("Description", "Kontaktformular f&#252;r die Webseite")),
    ]
    text = ('<?xml version="1.0" encoding="utf-8"?>\n<config>\n'
            '  <list name="User">\n' + "".join(users) + "  </list>\n"
            '  <list name="Group">\n' + "".join(groups) + "  </list>\n"
            '  <list name="Alias">\n' + "".join(aliases) + "  </list>\n"
            '  <list name="ResourceList">\n  </list>\n'
            '  <table name="UserTemplate">\n    <variable name="QuotaStorage">0</variable>\n  </table>\n'
            "</config>\n")
    return text.encode("utf-8")


def mailserver_cfg():
    text = ('<?xml version="1.0" encoding="utf-8"?>\n<config>\n'
            '  <table name="Administration">\n'
            '    <variable name="BuiltInAdminEnabled">1</variable>\n'
            '    <variable name="BuiltInAdminUsername">Admin</variable>\n'
            f'    <variable name="BuiltInAdminPassword">{fake_d3s("admin")}</variable>\n'
            "  </table>\n"
            '  <list name="Domain">\n'
            "    <listitem>\n"
            '      <variable name="Name">example.com</variable>\n'
            '      <variable name="Description">Example Corp &amp; Co.</variable>\n'
            '      <variable name="Primary">1</variable>\n'
            '      <variable name="Aliases">example.net</variable>\n'
            '      <variable name="PublicFolders">1</variable>\n'
            "    </listitem>\n"
            "    <listitem>\n"
            '      <variable name="Name">example.org</variable>\n'
            '      <variable name="Description">Verein Beispiel e.V. K&#246;ln</variable>\n'
            '      <variable name="Primary">0</variable>\n'
            '      <variable name="Aliases"></variable>\n'
            '      <variable name="PublicFolders">1</variable>\n'
            "    </listitem>\n"
            "  </list>\n"
            '  <table name="Store">\n'
            '    <variable name="StoreDir">/opt/kerio/mailserver/store</variable>\n'
            "  </table>\n"
            '  <table name="Archive">\n'
            '    <variable name="Enabled">1</variable>\n'
            '    <variable name="ArchiveDir">/opt/kerio/mailserver/store/mail/archive</variable>\n'
            '    <variable name="Interval">daily</variable>\n'
            '    <variable name="CompressOld">1</variable>\n'
            "  </table>\n"
            "</config>\n")
    return text.replace("\n", "\r\n").encode("utf-8")


# --------------------------------------------------------------------------
# writer
# --------------------------------------------------------------------------

def write_file(path, data, mtime=FIXED_MTIME):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


def index_lines(folder):
    lines = []
    n = 0
    for it in sorted(folder.items, key=lambda x: x.id):
        if it.indexed:
            n += 1
            size = len(it.data) if it.data is not None else it.size
            klass = it.klass or KIND_CLASS[folder.kind]
            if it.kms61:
                lines.append(f"U{it.id:08x} F{it.flags:x} S{size} D{it.d:08x} M{it.m:08x} I{n:04x} C{klass}".encode())
            else:
                lines.append(f"U{it.id:08x} F{it.flags:x} S{size} D{it.d:08x} T{it.t:08x} M{it.m:08x} "
                             f"I{n:04x} {it.xtok} C{klass}".encode())
        lines += folder.garbage.get(it.id, [])
    lines += folder.garbage.get(-1, [])
    for l in lines:
        assert b"\n" not in l and b"\r" not in l
    return b"".join(l + folder.eol for l in lines)


def write_account(base, acc):
    adir = base / "store" / "mail" / acc.domain / acc.name
    adir.mkdir(parents=True, exist_ok=True)
    for name, data in acc.files.items():
        write_file(adir / name, data)
    for rel, data in acc.sysdirs.items():
        write_file(adir / rel, data, FIXED_MTIME - 86400)
    for f in acc.folders:
        fdir = adir.joinpath(*f.disk)
        (fdir / "#msgs").mkdir(parents=True, exist_ok=True)
        for it in f.items:
            if it.data is None:
                continue
            write_file(fdir / "#msgs" / it.filename, it.data, it.d if it.indexed else unix(it.when))
        for name, data in f.msgs_extra.items():
            write_file(fdir / "#msgs" / name, data)
        if f.index and f.index_mode == "fld":
            write_file(fdir / "index.fld", index_lines(f))
        elif f.index and f.index_mode == "bad":
            write_file(fdir / "index.bad", index_lines(f))
        elif f.index and f.index_mode == "empty":
            write_file(fdir / "index.fld", b"")
        if f.status:
            ids = [it.id for it in f.items]
            nxt = max(ids) + 1 if ids else 1
            size = sum(len(it.data) for it in f.items if it.data is not None)
            guid = uuid.uuid5(uuid.NAMESPACE_URL, f"kerio-sample:{acc.email}/{f.disk_path}")
            v = unix(f.created) if f.created else FIXED_MTIME
            owner = acc.owner
            t_line = (f"T{KIND_STATUS_T[f.kind]} G{guid} V{v:08x} U{nxt:08x} C00000001 M6 D0 R0 N0 S{size} A{owner}"
                      .encode() + f.eol)
            acl = [(owner, "lrswipkxtea")] + (f.acl if not f.acl_first else [])
            if acc.name == "#public":
                acl.append(("anyone", "lrs"))
            extra = b"".join(f"A{w} {r}".encode() + f.eol for w, r in f.acl) if f.acl_first else b""
            if f.index_mode == "empty":
                t_line = b"T0" + f.eol      # what the archiver script writes
                acl = []
            txt = extra + t_line + b"".join(f"A{w} {r}".encode() + f.eol for w, r in acl)
            write_file(fdir / "status.fld", txt)
        for name, data in f.files.items():
            write_file(fdir / name, data)
        if f.assoc == "index":
            write_file(fdir / "#assoc" / "index.fld", b"")
        elif f.assoc == "item":
            view = message([("Subject", "IPM.Microsoft.FolderDesign.NamedView"),
                            ("Date", "Wed, 01 Mar 2006 12:00:00 +0100")],
                           Part([("Content-Type", "application/x-kerio-mapi-properties"),
                                 ("Content-Transfer-Encoding", "base64")],
                                base64.encodebytes(prng_bytes("view" + acc.email + f.disk_path, 120))))
            write_file(fdir / "#assoc" / "#msgs" / "00000001.eml", view)
            write_file(fdir / "#assoc" / "index.fld",
                       f"U00000001 F0 S{len(view)} D44057a40 T44057a40 M44057a40 I0001 X0 "
                       f"CIPM.Microsoft.FolderDesign.NamedView\n".encode())


# --------------------------------------------------------------------------
# counting (the definitions the README and expected-counts.json use)
# --------------------------------------------------------------------------

FIELD_RE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+):(.*)$")
SYSTEM_DIRS = ("#assoc", "#deleted", "#sync")
COUNT_KEYS = ("items", "bytes", "index_records", "unindexed", "stale", "garbage_lines", "deleted_flagged",
              "empty", "nul", "no_header", "no_date", "no_message_id")


def is_system_dir(name):
    return name in SYSTEM_DIRS or name.startswith("__keriomapi__")


def analyze(data):
    """empty / nul / no_header / no_date / no_message_id for one item file.

    Line ends: CRLF, bare LF and bare CR all count as line ends. The header is
    everything before the first empty line. no_header: the first line is not a
    "name:" field line. no_date: no Date field, or one that
    email.utils.parsedate_to_datetime cannot parse. The empty file counts as
    empty only.
    """
    r = dict(empty=0, nul=0, no_header=0, no_date=0, no_message_id=0)
    if not data:
        r["empty"] = 1
        return r
    if b"\x00" in data:
        r["nul"] = 1
    norm = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = norm.split(b"\n\n", 1)[0].split(b"\n")
    if not FIELD_RE.match(lines[0]):
        r["no_header"] = r["no_date"] = r["no_message_id"] = 1
        return r
    fields = {}
    cur = None
    for line in lines:
        if line[:1] in (b" ", b"\t") and cur is not None:
            fields[cur][-1] += b" " + line.strip()
            continue
        m = FIELD_RE.match(line)
        cur = m.group(1).lower() if m else None
        if m:
            fields.setdefault(cur, []).append(m.group(2).strip())
    ok = False
    if fields.get(b"date"):
        try:
            ok = email.utils.parsedate_to_datetime(fields[b"date"][0].decode("latin-1")) is not None
        except (TypeError, ValueError, IndexError):
            ok = False
    r["no_date"] = 0 if ok else 1
    r["no_message_id"] = 0 if (fields.get(b"message-id") and fields[b"message-id"][0]) else 1
    return r


def spec_counts(accounts):
    """Counts derived from the model that was written."""
    out = {}
    for acc in accounts:
        folders = {}
        sysdirs = len({rel.split("/")[0] for rel in acc.sysdirs})
        nested = len({"/".join(rel.split("/")[:i + 1]) for rel in acc.sysdirs
                      for i, c in enumerate(rel.split("/")[:-1]) if i > 0 and is_system_dir(c)})
        for f in acc.folders:
            files = [it for it in f.items if it.data is not None]
            has_records = f.index and f.index_mode in ("fld", "bad")
            c = dict(kind=f.kind, items=len(files), bytes=sum(len(it.data) for it in files),
                     index_records=sum(1 for it in f.items if it.indexed) if has_records else 0,
                     unindexed=sum(1 for it in files if not it.indexed or not has_records),
                     stale=sum(1 for it in f.items if it.data is None),
                     garbage_lines=sum(len(v) for v in f.garbage.values()),
                     deleted_flagged=sum(1 for it in f.items if it.indexed and has_records and it.flags & 0x8))
            for k in ("empty", "nul", "no_header", "no_date", "no_message_id"):
                c[k] = sum(analyze(it.data)[k] for it in files)
            folders[f.key] = c
            if f.assoc:
                sysdirs += 1
        out[acc.email] = dict(folders=folders, skipped_system_dirs=sysdirs, nested_system_dirs=nested,
                              skipped_files=len(acc.files))
    return out


def scan(base):
    """Walk the written tree like a reader would and count, independently of the model."""
    out = {}
    mail = base / "store" / "mail"
    for domain in sorted(os.listdir(mail)):
        if domain == "archive":
            continue  # Kerio MailServer 6's archive: not a domain (counted by scan_archive)
        for name in sorted(os.listdir(mail / domain)):
            adir = mail / domain / name
            acc = dict(folders={}, skipped_system_dirs=0, nested_system_dirs=0, skipped_files=0, meta={})
            out[f"{name}@{domain}"] = acc
            for entry in sorted(os.listdir(adir)):
                p = adir / entry
                if p.is_file():
                    acc["skipped_files"] += 1
                elif entry.startswith(("#", "__")):
                    assert is_system_dir(entry), p
                    acc["skipped_system_dirs"] += 1
                    for dp, dns, _ in os.walk(p):
                        acc["nested_system_dirs"] += sum(1 for d in dns if is_system_dir(d))
                else:
                    scan_folder(p, [entry], acc)
    return out


def scan_folder(p, disk, acc):
    decoded = [mutf7_decode(c.encode()) for c in disk]
    key = "/".join(d if d is not None else c for d, c in zip(decoded, disk))
    files = []
    ignored = 0
    msgs = p / "#msgs"
    if msgs.is_dir():
        for dp, dns, fns in os.walk(msgs):
            dns.sort()
            for fn in sorted(fns):
                if fn.lower().endswith(".eml"):
                    files.append(Path(dp) / fn)
                else:
                    ignored += 1
    file_ids = {}
    for fp in files:
        file_ids[int(fp.stem, 16)] = fp
    records = {}
    classes = []
    garbage = 0
    idx = p / "index.fld"
    source = idx if idx.exists() else (p / "index.bad" if (p / "index.bad").exists() else None)
    if source is not None:
        for line in source.read_bytes().split(b"\n"):
            line = line.rstrip(b"\r")
            if not line:
                continue
            toks = line.split(b" ")
            if not re.fullmatch(rb"U[0-9A-Fa-f]{1,8}", toks[0]):
                garbage += 1
                continue
            flags = next(int(t[1:], 16) for t in toks if t.startswith(b"F"))
            records[int(toks[0][1:], 16)] = flags
            classes.append(toks[-1][1:].decode())
    status_t = None
    acl = []
    st = p / "status.fld"
    if st.exists():
        for line in st.read_bytes().splitlines():
            toks = line.split()
            for i, t in enumerate(toks):
                if t.startswith(b"T") and status_t is None:
                    status_t = int(t[1:])
                if t.startswith(b"A") and len(t) > 1:
                    rights = toks[i + 1].decode() if i + 1 < len(toks) and re.fullmatch(rb"[lrswipkxteacd]+",
                                                                                          toks[i + 1]) else ""
                    who = t[1:].decode()
                    known = [a for a in acl if a[0] == who]
                    if known and not known[0][1]:
                        known[0][1] = rights
                    elif not known:
                        acl.append([who, rights])
    c = dict(items=len(files), bytes=sum(fp.stat().st_size for fp in files),
             index_records=len(records), unindexed=sum(1 for i in file_ids if i not in records),
             stale=sum(1 for i in records if i not in file_ids), garbage_lines=garbage,
             deleted_flagged=sum(1 for i, fl in records.items() if fl & 0x8))
    for k in ("empty", "nul", "no_header", "no_date", "no_message_id"):
        c[k] = sum(analyze(fp.read_bytes())[k] for fp in files)
    # kind, the way research §1.8 suggests: status T (only 0 and 2 trusted) -> name -> class -> content
    kind = {0: "mail", 2: "calendar"}.get(status_t)
    top = {"Contacts": "contacts", "Calendar": "calendar", "Tasks": "tasks", "Notes": "notes", "Journal": "journal"}
    if kind is None and len(disk) == 1 and disk[0] in top:
        kind = top[disk[0]]
    if kind is None and len(disk) > 1 and disk[0] in top:
        kind = top[disk[0]]
    if kind is None and classes:
        cls = max(set(classes), key=classes.count)
        kind = {v: k for k, v in KIND_CLASS.items()}.get(cls, "mail")
    if kind is None:
        kind = "mail"
    c["kind"] = kind
    acc["folders"][key] = c
    acc["meta"][key] = dict(disk_path="/".join(disk), has_index_fld=idx.exists(), has_status_fld=st.exists(),
                            index_source=None if source is None else source.name,
                            status_type=status_t, valid_mutf7=all(d is not None for d in decoded),
                            ignored_files_in_msgs=ignored, acl=acl)
    for entry in sorted(os.listdir(p)):
        q = p / entry
        if not q.is_dir() or entry == "#msgs":
            continue
        if entry.startswith(("#", "__")):
            assert is_system_dir(entry), q
            acc["skipped_system_dirs"] += 1
            for dp, dns, _ in os.walk(q):
                acc["nested_system_dirs"] += sum(1 for d in dns if is_system_dir(d))
        else:
            scan_folder(q, disk + [entry], acc)


# --------------------------------------------------------------------------
# output: expected-counts.json and README.md
# --------------------------------------------------------------------------

def totals_of(folders):
    t = {k: 0 for k in COUNT_KEYS}
    t.update(folders=len(folders), mail_items=0, mail_bytes=0, non_mail_items=0, non_mail_bytes=0)
    for c in folders.values():
        for k in COUNT_KEYS:
            t[k] += c[k]
        if c["kind"] == "mail":
            gw = c.get("not_mail_bytes", 0)
            t["mail_items"] += c["items"] - len(c.get("not_mail", {}))
            t["mail_bytes"] += c["bytes"] - gw
            t["non_mail_items"] += len(c.get("not_mail", {}))
            t["non_mail_bytes"] += gw
        else:
            t["non_mail_items"] += c["items"]
            t["non_mail_bytes"] += c["bytes"]
    return t


def received_dates(data):
    """Unix dates of every Received header (the date after the last ';')."""
    out = []
    norm = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    head = norm.split(b"\n\n", 1)[0].decode("latin-1")
    fields, cur = [], None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            fields[-1][1] += " " + line.strip()
            continue
        name, _, value = line.partition(":")
        cur = name.strip().lower()
        fields.append([cur, value.strip()])
    for name, value in fields:
        if name == "received" and ";" in value:
            try:
                out.append(unix(email.utils.parsedate_to_datetime(value.rsplit(";", 1)[1].strip())))
            except (TypeError, ValueError, IndexError):
                pass
    return out


PLAUSIBLE_FROM = 315532800   # 1980-01-01, as the reader
D_RESET_FOLDERS = ("INBOX", "Deleted Items")   # Kerio re-dates D on a move into these


def internal_date(acc, f, it):
    """The internal date the reader must give an indexed item: T; else, where D is a
    move time (INBOX, Deleted Items of a user), the newest plausible Received not after
    D + 1 day; else D; else None (the test's own rule: the file time)."""
    if not (f.index and it.indexed) or not it.data:
        return None
    if it.t >= PLAUSIBLE_FROM and not it.kms61:
        return it.t
    if acc.name != "#public" and f.key in D_RESET_FOLDERS:
        rcv = [t for t in received_dates(it.data) if PLAUSIBLE_FROM <= t <= it.d + 86400]
        if rcv:
            return max(rcv)
    if it.d >= PLAUSIBLE_FROM:
        return it.d
    return None


def build_expected(accounts, scanned):
    doc = {"schema": 1, "accounts": {}, "totals": {}, "cases": []}
    grand = None
    for acc in accounts:
        s = scanned[acc.email]
        folders = {}
        for f in acc.folders:
            c = {"kind": f.kind}
            c.update({k: s["folders"][f.key][k] for k in COUNT_KEYS})
            c.update(s["meta"][f.key])
            if f.kind == "mail":
                c["internal_dates"] = {f"{it.id:08x}": internal_date(acc, f, it) for it in f.items
                                       if internal_date(acc, f, it) is not None and not it.kind}
                gw = [it for it in f.items if it.kind and it.data is not None]
                c["not_mail"] = {f"{it.id:08x}": it.kind for it in gw}
                c["not_mail_bytes"] = sum(len(it.data) for it in gw)
                if f.index_mode == "bad":
                    # index.bad is the metadata here: the flags the reader must set.
                    c["flags"] = {f"{it.id:08x}": it.flags & 0x17 for it in f.items if it.data is not None}
            gen = [f"{it.id:08x}" for it in f.items if it.generated]
            if gen:
                c["generated_contacts"] = gen
            folders[f.key] = c
        t = totals_of(folders)
        doc["accounts"][acc.email] = {
            "folders": folders, "skipped_system_dirs": s["skipped_system_dirs"],
            "nested_system_dirs": s["nested_system_dirs"], "skipped_files": s["skipped_files"],
            "skipped_file_names": sorted(acc.files), "totals": t}
        if grand is None:
            grand = {k: 0 for k in t}
            grand.update(skipped_system_dirs=0, nested_system_dirs=0, skipped_files=0)
        for k in t:
            grand[k] += t[k]
        for k in ("skipped_system_dirs", "nested_system_dirs", "skipped_files"):
            grand[k] += s[k]
        for f in acc.folders:
            for it in f.items:
                if it.case:
                    doc["cases"].append({
                        "case": it.case, "account": acc.email, "folder": f.key,
                        "file": None if it.data is None else f"#msgs/{it.filename}", "id": f"{it.id:08x}",
                        "path": f"store/mail/{acc.domain}/{acc.name}/{f.disk_path}/"
                                + ("index.fld" if it.data is None else f"#msgs/{it.filename}")})
    grand["domains"] = len({a.domain for a in accounts})
    grand["accounts"] = len(accounts)
    grand["invalid_folder_names"] = sum(1 for a in doc["accounts"].values()
                                        for f in a["folders"].values() if not f["valid_mutf7"])
    doc["totals"] = grand
    return doc


def archive_expected(spec):
    """The archive: where, its periods and folders, and where each item goes with --archive-to."""
    folders = {}
    periods = {}
    for key, f in spec.items():
        items = [it for it in f.items if it.data is not None]
        folders[key] = dict(disk_path="archive/" + "/".join(f.path), items=len(items),
                            bytes=sum(len(it.data) for it in items), period=f.path[0],
                            mailbox="Archive/" + f.path[0],
                            internal_dates={f"{it.id:08x}": it.t for it in items})
        p = periods.setdefault(f.path[0], dict(compressed=None, folders=0, items=0, bytes=0))
        p["folders"] += 1
        p["items"] += len(items)
        p["bytes"] += folders[key]["bytes"]
    periods["2012-11"] = dict(compressed="gzip", folders=1, items=1, bytes=0, file="archive/2012-11.tar.gz")
    return {"root": "store/mail/archive", "found_by": "mailserver.cfg (table \"Archive\", variable ArchiveDir)",
            "periods": dict(sorted(periods.items())), "folders": folders,
            "compressed": {"#archive/2012-11.tar.gz": "archive/2012-11.tar.gz"}}


def md_table(doc):
    out = []
    hdr = ("| Folder (decoded) | kind | items | bytes | idx rec | unidx | stale | garbage | 0x8 | empty | NUL "
           "| no hdr | no Date | no MsgID |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
    for email_, a in doc["accounts"].items():
        out.append(f"\n#### `{email_}`\n\n" + hdr)
        for key, c in a["folders"].items():
            name = key.replace("|", "\\|")
            disk = c["disk_path"]
            label = f"`{name}`" + ("" if disk == key else f" (disk `{disk}`)")
            out.append(f"| {label} | {c['kind']} | " + " | ".join(str(c[k]) for k in COUNT_KEYS) + " |\n")
        t = a["totals"]
        out.append("| **total** | | " + " | ".join(f"**{t[k]}**" for k in COUNT_KEYS) + " |\n")
        out.append(f"\nmail items **{t['mail_items']}** ({t['mail_bytes']} bytes), non-mail items "
                   f"**{t['non_mail_items']}** ({t['non_mail_bytes']} bytes), folders {t['folders']}, "
                   f"skipped system dirs **{a['skipped_system_dirs']}** (+{a['nested_system_dirs']} nested, "
                   f"not visited), skipped per-user files **{a['skipped_files']}**"
                   + (f" ({', '.join(a['skipped_file_names'])})" if a["skipped_file_names"] else "") + ".\n")
    return "".join(out)


def totals_table(doc):
    t = doc["totals"]
    rows = [("domains", t["domains"]), ("accounts (incl. 2 × #public)", t["accounts"]), ("folders", t["folders"]),
            ("item files (.eml)", t["items"]), ("item bytes", t["bytes"]),
            ("mail items (folders of kind mail)", t["mail_items"]), ("mail bytes", t["mail_bytes"]),
            ("non-mail items (contacts/calendar/tasks/notes/journal)", t["non_mail_items"]),
            ("non-mail bytes", t["non_mail_bytes"]), ("index records (valid lines, incl. stale)", t["index_records"]),
            ("unindexed files", t["unindexed"]), ("stale records", t["stale"]),
            ("garbage index lines", t["garbage_lines"]), ("records with flag 0x8", t["deleted_flagged"]),
            ("empty files", t["empty"]), ("files with NUL", t["nul"]), ("no header", t["no_header"]),
            ("no parsable Date", t["no_date"]), ("no Message-ID", t["no_message_id"]),
            ("skipped system dirs (visited and skipped)", t["skipped_system_dirs"]),
            ("nested system dirs inside skipped ones (never visited)", t["nested_system_dirs"]),
            ("skipped per-user files", t["skipped_files"]),
            ("folder names that are not valid mUTF-7", t["invalid_folder_names"])]
    return "| What | Count |\n|---|--:|\n" + "".join(f"| {a} | {b} |\n" for a, b in rows)


def cases_table(doc):
    out = "| Case | Account | Folder | Path (relative to `sample-store/`) |\n|---|---|---|---|\n"
    for c in doc["cases"]:
        path = c["path"] if c["file"] else c["path"] + " (record U" + c["id"] + ")"
        out += f"| {c['case']} | `{c['account']}` | `{c['folder']}` | `{path}` |\n"
    return out


README_HEAD = """\
# sample-store: a synthetic Kerio Connect install directory

**Generated file. Do not edit by hand.** Change `tools/make-sample-store.py` and run

    python3 tools/make-sample-store.py

It recreates this directory deterministically (same bytes and mtimes on every run, standard
library only) and re-checks every count below against an independent walk of the tree.
Everything here is fake: `example.*` and `*.example` domains, RFC 5737 addresses, invented people
and password hashes.

The layout follows `research/kerio-store.md` §1–§4:

```
sample-store/
  users.cfg, mailserver.cfg        install-dir XML (§4)
  expected-counts.json             the numbers below, machine-readable
  store/mail/example.com/{alice,bob,carol,#public}/...
  store/mail/example.org/{dave,#public,m.mustermann}/...
  store/mail/archive/                Kerio's archive (periods; see below)
```

Each folder directory has `#msgs/<8 hex>.eml`, `index.fld`, `status.fld` and `#assoc/` (with an
empty `index.fld`, or in a few folders an associated view item), except where noted. Subfolders are
nested directories; directory names are IMAP modified UTF-7. File mtimes of items equal the index
`D` value (the time the item entered the folder); unindexed items get the time of their Date header;
everything else has mtime 2024-06-30T12:00:00Z.

## Accounts

| Account | Language | What it exercises |
|---|---|---|
| `alice@example.com` | English | most index.fld cases (CRLF index.fld, T=0, high bit, 0x8, unindexed, stale, garbage), nested INBOX folders, names with `&`, `"`, `\\`, emoji; all groupware kinds incl. recurring event + exception, Windows TZID, all-day, base64; NUL byte; draft without From/Date; all system dirs and all five per-user files |
| `bob@example.com` | French | bare LF / bare CR / mixed line endings, truncated multipart, upper-case file name, `Thumbs.db` in `#msgs`, `Crédit Agricole`, `Télécollecte`, `Fraudes+Chaussures`, a subfolder without `status.fld`, an invalid mUTF-7 name, `Contacts/divers`, text/directory + QP contact, vCard in multipart/mixed |
| `carol@example.com` | Russian, Japanese | KOI8-R / ISO-2022-JP / UTF-8 encoded-words, raw 8-bit UTF-8 headers, empty file, file without header, KMS 6.1 index line, Cyrillic and CJK folder names, `ivan.ivanov`, VJOURNAL |
| `dave@example.org` | German | missing Date, missing Message-ID, unparsable Date, Date before 1970, raw Latin-1 headers, no final newline, RFC 2231 attachment name, folder with no metadata at all (`Import`), `Übersicht/Straßenbau`, CRLF index.fld in Sent Items |
| `#public@example.com` | English | public Contacts (contains the duplicate contact), public mail folder `Company News`, public Calendar |
| `#public@example.org` | German | public Contacts, public mail folder `Ankündigungen` |
| `m.mustermann@example.org` | German | an **orphan mailbox**: a deleted user's folders kept in the store, with no `users.cfg` entry |

Shapes of real stores that issue 10 added (those in accounts are also rows of the case table below):

- `alice/Deleted Items` holds a deleted contact (class `IPM.Contact`), a deleted meeting
  (`IPM.Appointment`) and a deleted task without an index line (its content says so): they
  go to the exporters, not to the mail target (`not_mail` in `expected-counts.json`); and a
  mail whose `T` is 0 while `D` is the move time 40 days later: its internal date is the
  newest `Received:` (`internal_dates`).
- `alice/Calendar/00000006`: an Outlook Connector event whose TZID is a Windows display name
  folded over two lines, with `X-KERIO-*` properties.
- `status.fld` ACL lines: `alice/INBOX/Projects` is shared with bob and `#sales`;
  `#public@example.com/Company News` has its ACL lines **before** the `T` line (`acl`).
- `bob/Factures` has `index.bad` and no `index.fld` (a copy taken mid-reindex): flags and
  dates come from `index.bad` (`flags`, `internal_dates`).
- `carol/INBOX/2019` was made by an archiver script: 0-byte `index.fld` and `properties.fld`,
  `status.fld` `T0`, three items: no metadata.
- `dave/Gesendete Objekte` is a German client's duplicate of `Sent Items`: merged into the Sent
  mailbox when a folder mapping is used (`--keep-localized-folders` keeps it apart).
- `#public@example.com/Contacts` 4–6 are the contacts Kerio generates for alice, bob and carol
  (`generated_contacts`): left out of the contacts export by default.
- The archive is in `store/mail/archive` (Kerio MailServer 6's place, so that a backup of
  `store/mail` carries it; `mailserver.cfg` names it in a `<table name="Archive">`, a guess at
  the variable names): period `2012-12-21` (one folder), `2013-01` (folders `INBOX` and
  `Sent Items`: both go to `Archive/2013-01`) and `2012-11.tar.gz`, a compressed period that
  cannot be read. `expected-counts.json` `archive` gives each folder's items, bytes, target
  mailbox and internal dates.

`users.cfg` also lists `eve@example.org`, a disabled user **with no mailbox directory** (Kerio
backups skip disabled users, research §5): the reader must not expect a store directory for every
user; and `Admin@example.com`, the built-in administrator (left out of the migration CSVs by
default), whose `D3S:` value has 96 hex digits (a 32-character password).

## Folder kinds and status.fld `T` codes

`status.fld` is written as
`T<type> G<guid> V<hex> U<next id> C00000001 M6 D0 R0 N0 S<sum of sizes> A<owner>` plus a line
`A<owner> lrswipkxtea` (public folders add `Aanyone lrs`). Type codes: `T0` mail and `T2` calendar
come from the research; **`T1` contacts, `T3` tasks, `T4` notes, `T5` journal are guesses** made up
for this sample. A reader should trust only `T0`/`T2` and otherwise decide by default folder name,
then by the majority index class (`IPM.Contact`, `IPM.Task`, `IPM.StickyNote`, `IPM.Activity`), then by
content. The expected kind in the tables is what the folder really is (subfolders of `Contacts`
are contacts; every user-created folder elsewhere is mail; `Deleted Items`, `Drafts`, `Junk E-mail` are
mail).

## index.fld shape

Modern lines (research §3.2):
`U<8 hex> F<hex flags> S<decimal size> D<8 hex> T<8 hex> M<8 hex> I<4 hex> X0 C<class>`
(a few have `X1 R0` as unknown tokens). `T` = received time, `D` = time the item entered the folder
(later than `T` for items that were moved, e.g. in `INBOX/Projects`, `Deleted Items`, `Архив`), `M` = D +
a few minutes. `S` always equals the file size. Flags used: 0x0, 0x1 Seen, 0x3 Seen+Answered,
0x5 Seen+Flagged, 0x8, 0x9, 0x10 Draft, 0x11, 0x80000001. Most index.fld and status.fld files
use LF; `alice/INBOX` and `dave/Sent Items` use CRLF.

Classes: `IPM.Note` (mail), `IPM.Schedule.Meeting.Request` (alice/INBOX 0000000b),
`REPORT.IPM.Note.NDR` (alice/INBOX 0000000f), `IPM.Contact`, `IPM.Appointment`, `IPM.Task`,
`IPM.StickyNote`, `IPM.Activity`.

## Nasty cases (exact paths)

"""

README_DEFS = """
Also (folder level, not per item):

| Case | Path |
|---|---|
| garbage index line `this is not an index line` (after record 5) | `store/mail/example.com/alice/INBOX/index.fld` |
| garbage index line of binary junk incl. NUL and invalid UTF-8 (last line) | `store/mail/example.com/alice/INBOX/index.fld` |
| non-.eml file in `#msgs`, must be ignored (not counted in items/bytes) | `store/mail/example.com/bob/Sent Items/#msgs/Thumbs.db` |
| mail subfolder with **no status.fld** (Kerio would not list it, research §1.4; the reader should still migrate it) | `store/mail/example.com/bob/Fraudes+Chaussures/Archives/` |
| mail folder with **no index.fld and no status.fld** (only `#msgs/`; both items are unindexed) | `store/mail/example.org/dave/Import/` |
| folder name that is **not valid modified UTF-7** (`!` inside a base64 section): report it, keep `Bad&Jjo!-Name` verbatim | `store/mail/example.com/bob/Bad&Jjo!-Name/` |
| `#assoc` holding an associated item (`#assoc/#msgs/00000001.eml` + `#assoc/index.fld`): must not become a folder or items | `store/mail/example.com/alice/INBOX/#assoc/` |
| `search.fld`, `properties.fld`, `deleted.fld` in folders (ignore) | `alice/INBOX`, `alice/INBOX/Projects`, `bob/INBOX`, `dave/INBOX` |
| empty folders (0 items; `#msgs/` is empty, so **git does not keep it**: the folder is still detected by `index.fld`/`status.fld`) | `bob/Drafts`, `bob/Journal`, `carol/Deleted Items`, `carol/Junk E-mail`, `carol/Tasks`, `carol/Notes`, `dave/Drafts`, `dave/Journal` |

Folder names covered: `Crédit Agricole` (`Cr&AOk-dit Agricole`), `Télécollecte` (`T&AOk-l&AOk-collecte`),
`Fraudes+Chaussures` (`+` literal), `Tom & Jerry` (`Tom &- Jerry`), `Say "Hello"`, `Back\\slash`,
`Party 🎉` (surrogate pair), `Архив` and `Архив/2019`, `日本語`, `ivan.ivanov`, `Übersicht` and
`Übersicht/Straßenbau`, `Ankündigungen`, `INBOX/Projects/2024`, `Contacts/divers`. Note: names with
`"` and `\\` cannot be checked out on Windows.

System directories the reader must skip (never migrate, never descend):
`#deleted/` (with `#msgs/*.eml` and `index.fld`: alice, bob, carol), `#sync/` (alice, bob, carol),
`__keriomapi__STORE/` with `Failed_Conversions/` and `__keriomapi__STORE_ROOT/{Freebusy Data,IPM_VIEWS,
IPM_COMMON_VIEWS,Search Root,__keriomapi__IPM_ROOT}` (alice, carol, dave; `Freebusy Data` looks like
a normal folder with `#msgs`, `index.fld`, `status.fld`), and `#assoc/` in every folder except
`dave/Import`. Per-user files to skip: `filter.siv`, `folder.map`, `settings.usr`, `stats.usr`,
`sub.fld` (alice has all five, bob 3, carol 5, dave 2, public accounts none).

Duplicate for dedup tests: `store/mail/example.com/alice/Contacts/#msgs/00000003.eml` and
`store/mail/example.com/#public/Contacts/#msgs/00000002.eml` are byte-identical (UID
`helpdesk-0001@example.com`).

## Definitions used by the counts

- **items**: files in the folder's `#msgs/` whose name ends in `.eml` (recursively; there are no
  subdirectories in this sample). `Thumbs.db` is not an item. **bytes**: the sum of their sizes.
- **index_records**: lines of `index.fld` whose first space-separated token is `U` + 1–8 hex digits
  (either case). This includes the stale record and the KMS 6.1-style line. Empty lines are ignored.
- **garbage_lines**: other non-empty lines of `index.fld`.
- **unindexed**: item files whose hex id (file stem parsed as hex, case-insensitive) has no record.
  All files of a folder without `index.fld` are unindexed. **stale**: records without a file.
- **deleted_flagged**: records with flag bit 0x8 (there are no stale ones with it).
- **empty**: 0-byte files (counted as empty only, not as no_header/no_date/no_message_id).
- **nul**: files containing a 0x00 byte.
- CRLF, bare LF and bare CR all count as line ends for the next three; the header is everything
  before the first empty line. (So the bare-CR message in `bob/INBOX` **has** a Date and a
  Message-ID: a reader that only splits on LF will see one long header line instead.)
- **no_header**: the first line is not a header field line (`name:` with a printable-ASCII name).
  Such a file also counts as no_date and no_message_id.
- **no_date**: no `Date:` field, or one that Python's `email.utils.parsedate_to_datetime` rejects
  (the 1969 date is parsable and does **not** count).
- **no_message_id**: no non-empty `Message-ID:` field.
- **mail items / mail bytes**: items of kind mail in folders of kind `mail` (including public
  mail folders); **non-mail**: everything else, including the groupware items of mail folders
  (`not_mail`). A folder's `items` counts all its item files.
- **skipped_system_dirs**: directories named `#assoc`, `#deleted`, `#sync` or `__keriomapi__*` that a
  reader meets while walking an account (account level and inside folders) and skips without
  descending; each occurrence counts, `#msgs` does not. `nested_system_dirs` (JSON only and the
  per-account line) counts the `__keriomapi__*` directories inside a skipped `__keriomapi__STORE`,
  which a correct reader never visits.
- **skipped_files**: regular files directly in an account directory.

In `expected-counts.json` each folder also has `disk_path`, `has_index_fld`, `index_source`
(`index.fld`, `index.bad` or null), `has_status_fld`, `status_type`, `acl` (`[who, rights]` from
`status.fld`), `valid_mutf7` and `ignored_files_in_msgs`; mail folders have `internal_dates` (the
internal date the reader must give each indexed mail item: `T`, else in a user's INBOX and
Deleted Items the newest plausible `Received:` not after `D` + 1 day, else `D`), `not_mail`
(item → kind of the groupware items) and, where the metadata is `index.bad`, `flags` (item →
the flag bits that apply); `#public` contacts folders list `generated_contacts`. `cases` lists
every per-item case with its path; `archive` describes the archive.

## users.cfg and mailserver.cfg

XML in the style of research §4: `<?xml version="1.0" encoding="utf-8"?>`, `<config>`, then
`<list name="User">`, `<list name="Group">`, `<list name="Alias">` (plus an empty
`<list name="ResourceList">` and a `<table name="UserTemplate">`), each entry a `<listitem>` of
`<variable name="…">` elements. **The list, table and variable names beyond `Name`, `Password` and
`Rights` are a plausible guess** (research §4.2: unconfirmed); a reader should parse the file
generically. Details worth testing:

- `MailAddress` is written in three styles: `alice;a.anderson;sales` (semicolons), bob has two separate
  `MailAddress` elements, `carol,k.ivanova` (comma), `dave, kassenwart` (comma and space).
- `Groups` uses commas (`staff,sales`) and semicolons (`staff;sales`).
- Entities: `&amp;`, `&lt;`/`&gt;` (carol's Description), `&#233;` (bob), `&#252;` (dave's FullName
  `Dave Müller`, an alias description); carol's FullName contains raw UTF-8 Cyrillic.
- Passwords: alice, carol, dave and the built-in admin in `mailserver.cfg` have **fake** `D3S:` values
  (48 random-looking hex digits; they do not decrypt to anything meaningful). bob has a **real**
  `SHA:` value: 16 hex salt + PBKDF2-HMAC-SHA1(password `Bob-Secret-2024`, salt = the 8 raw salt bytes,
  10000 rounds) in hex, computed with Python's `hashlib.pbkdf2_hmac` (the salt-as-raw-bytes reading of
  research §4.3 is an assumption). alice also has a `PasswordHistory` `SHA:` value (password
  `old-alice-pw`, salt `0011223344556677`). eve has `NUL:`.
- Unknown/extra variables: `X-KerioSpamSettings`, `ForwardMode`, `ForwardAddress`, `HomeServer`,
  `AuthType`, `QuotaMessages`, `Enabled` (eve is `0`).
- Aliases: `info` → alice, `webmaster` → bob and carol (semicolon list), `postmaster` → `#staff`
  (a group), `kontakt@example.org` → dave.
- `mailserver.cfg` (CRLF line endings; `users.cfg` uses LF) has a `<table name="Administration">`
  and `<list name="Domain">` with `example.com` (primary, alias domain `example.net`: its users get
  the same addresses in `example.net`) and `example.org`, a `<table name="Store">` with the old
  server's `StoreDir`, and a `<table name="Archive">` whose `ArchiveDir` is below that `StoreDir`.

## Expected counts

### Whole store

"""


def write_readme(base, doc):
    text = (README_HEAD + cases_table(doc) + README_DEFS + totals_table(doc)
            + "\n### Per account and folder\n\nColumns: items, bytes, index records, unindexed, stale, "
              "garbage lines, records with 0x8, empty, NUL, no header, no Date, no Message-ID.\n"
            + md_table(doc))
    write_file(base / "README.md", text.encode("utf-8"))


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def hand_checks(doc):
    """Numbers counted by hand from the case list; a change to the content must update them."""
    t = doc["totals"]
    expect = dict(domains=2, accounts=7, empty=1, nul=1, no_header=1, stale=1, garbage_lines=2,
                  unindexed=7,          # alice/INBOX 0000000e, alice/Deleted Items 6, carol/INBOX/2019 3,
                                        # dave/Import 2
                  deleted_flagged=3,    # alice/INBOX 9, alice/Deleted Items 2 and 3
                  no_date=4,            # alice draft, carol no-header, dave no Date, dave unparsable
                  no_message_id=4,      # alice draft, alice note "Ideas", carol no-header, dave no Message-ID
                  invalid_folder_names=1,
                  skipped_files=15,     # alice 5 + bob 3 + carol 5 + dave 2
                  )
    for k, v in expect.items():
        assert t[k] == v, (k, t[k], v)
    a = doc["accounts"]
    # system dirs: #assoc per folder (all but dave/Import) + account-level dirs
    assert a["alice@example.com"]["skipped_system_dirs"] == len(a["alice@example.com"]["folders"]) + 3
    assert a["bob@example.com"]["skipped_system_dirs"] == len(a["bob@example.com"]["folders"]) + 2
    assert a["carol@example.com"]["skipped_system_dirs"] == len(a["carol@example.com"]["folders"]) + 3
    assert a["dave@example.org"]["skipped_system_dirs"] == len(a["dave@example.org"]["folders"]) - 1 + 1
    assert a["#public@example.com"]["skipped_system_dirs"] == 3
    assert a["#public@example.org"]["skipped_system_dirs"] == 2
    assert a["m.mustermann@example.org"]["skipped_system_dirs"] == 2
    assert t["nested_system_dirs"] == 6   # __keriomapi__STORE_ROOT + __keriomapi__IPM_ROOT, 3 users
    assert 60 <= t["mail_items"] <= 140, t["mail_items"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    out = args.out.resolve()
    if out.exists():
        if any(out.iterdir()) and not (out / "store").is_dir():
            sys.exit(f"refusing to delete {out}: it does not look like a sample store")
        shutil.rmtree(out)
    out.mkdir(parents=True)

    accounts = all_accounts()
    arch_files, arch_spec = archive_items()
    ucfg, mcfg = users_cfg(), mailserver_cfg()
    ET.fromstring(ucfg)
    ET.fromstring(mcfg)
    write_file(out / "users.cfg", ucfg)
    write_file(out / "mailserver.cfg", mcfg)
    for acc in accounts:
        write_account(out, acc)
    for rel, (data, mtime) in arch_files.items():
        write_file(out / "store" / "mail" / "archive" / rel, data, mtime)

    spec = spec_counts(accounts)
    scanned = scan(out)
    assert sorted(spec) == sorted(scanned), (sorted(spec), sorted(scanned))
    for email_, sp in spec.items():
        sc = scanned[email_]
        assert sorted(sp["folders"]) == sorted(sc["folders"]), email_
        for key, c in sp["folders"].items():
            for k, v in c.items():
                assert sc["folders"][key][k] == v, (email_, key, k, sc["folders"][key][k], v)
        for k in ("skipped_system_dirs", "nested_system_dirs", "skipped_files"):
            assert sp[k] == sc[k], (email_, k, sp[k], sc[k])

    doc = build_expected(accounts, scanned)
    doc["archive"] = archive_expected(arch_spec)
    hand_checks(doc)
    write_file(out / "expected-counts.json",
               (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8"))
    write_readme(out, doc)

    for dp, dns, fns in os.walk(out, topdown=False):
        os.utime(dp, (FIXED_MTIME, FIXED_MTIME))

    if not args.quiet:
        print(json.dumps(doc["totals"], indent=2))
        for email_, a in doc["accounts"].items():
            t = a["totals"]
            print(f"{email_:22} folders={t['folders']:3} items={t['items']:3} bytes={t['bytes']:7} "
                  f"mail={t['mail_items']:3}/{t['mail_bytes']:7} non-mail={t['non_mail_items']:3} "
                  f"sysdirs={a['skipped_system_dirs']:3} files={a['skipped_files']}")
            for key, c in a["folders"].items():
                print(f"    {key:32} {c['kind']:8} " + " ".join(f"{k}={c[k]}" for k in COUNT_KEYS if c[k]))


if __name__ == "__main__":
    main()
