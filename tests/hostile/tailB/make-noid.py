#!/usr/bin/env python3
"""make-noid.py OUT: a Kerio store, bench@corpus.test, INBOX with 6 messages that have
no usable identity (no Message-ID, Date, From, Subject; 2 of them byte-identical) and 3 normal ones."""
import os, sys
out = sys.argv[1]
msgs = [b"X-Note: %d\r\n\r\nno identity %d\r\n" % (n, n) for n in range(1, 5)]
msgs += [b"X-Note: same\r\n\r\ntwin\r\n"] * 2
msgs += [b"From: a@x\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nSubject: ok %d\r\nMessage-ID: <noid-ok-%d@x>\r\n\r\nbody\r\n" % (n, n) for n in range(7, 10)]
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
