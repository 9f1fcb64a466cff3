#!/usr/bin/env python3
"""make-nul.py OUT: a Kerio store, account bench@corpus.test, folder INBOX with
8 messages holding NUL bytes (body, header, binary part, last byte) and 4
without; each has a unique Message-ID <tailb-N@x> and Subject "tailb N"."""
import os, sys
out = sys.argv[1]
H = b"From: a@x\r\nTo: b@x\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <tailb-%d@x>\r\n"
def simple(n, body, subj=None, extra=b""):
    s = subj if subj is not None else b"tailb %d" % n
    return H % n + b"Subject: " + s + b"\r\n" + extra + b"\r\n" + body
msgs = [
    simple(1, b"line one\r\nab\x00cd\r\nend\r\n"),
    simple(2, b"\x00\x00\x00 three NULs at the start of a line\r\n"),
    simple(3, b"text\r\n", subj=b"tailb 3 \x00 nul in subject"),
    simple(4, b"ends with a NUL\r\n\x00"),
    simple(5, b"binary\r\nab\x00cd\r\n", extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"),
    simple(6, b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02\xff\x00\r\n--b--\r\n",
           extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"),
    simple(7, b"8bit \xc3\xa9 and a \x00 NUL\r\n", extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"),
    simple(8, b"x" * 5000 + b"\x00" + b"y" * 5000 + b"\r\n"),
] + [simple(n, b"clean message %d\r\n" % n) for n in range(9, 13)]
d = os.path.join(out, "store", "mail", "corpus.test", "bench", "INBOX")
os.makedirs(os.path.join(d, "#msgs"), exist_ok=True)
lines = []
for i, data in enumerate(msgs, 1):
    open(os.path.join(d, "#msgs", f"{i:08x}.eml"), "wb").write(data)
    t = 1_300_000_000 + i * 600
    lines.append(f"U{i:08x} F1 S{len(data)} D{t:08x} T{t:08x} M{t:08x} CIPM.Note")
open(os.path.join(d, "index.fld"), "w").write("\n".join(lines) + "\n")
open(os.path.join(d, "status.fld"), "w").write("T0\n")
print(len(msgs))
