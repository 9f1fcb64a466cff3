#!/usr/bin/env python3
"""nulcheck.py USER STORE_INBOX_MSGS: per store message, how many copies on the
server (Message-ID) and whether BODY[] equals the store bytes with NULs removed."""
import imaplib, os, re, sys
u, d = sys.argv[1], sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", 21443); m.login(u, "secret"); m.select("INBOX", readonly=True)
_, data = m.fetch("1:*", "(BODY.PEEK[])") if int(m.select("INBOX", readonly=True)[1][0]) else ("", [])
srv = {}
for it in data:
    if isinstance(it, tuple):
        b = it[1]; mid = re.search(rb"Message-ID: (<[^>]+>)", b)
        srv.setdefault(mid.group(1).decode() if mid else "?", []).append(b)
out = []
for f in sorted(os.listdir(d)):
    src = open(os.path.join(d, f), "rb").read(); mid = re.search(rb"Message-ID: (<[^>]+>)", src).group(1).decode()
    got = srv.pop(mid, [])
    st = "absent" if not got else ("same-as-src" if got[0] == src else "nul-stripped" if got[0] == src.replace(b"\0", b"") else "nul->0x80" if got[0] == src.replace(b"\0", b"\x80") else "other(%d vs %d bytes)" % (len(got[0]), len(src)))
    out.append(f"{mid}:{len(got)}:{st}")
print(" ".join(out), "extra:", sum(len(v) for v in srv.values()))
