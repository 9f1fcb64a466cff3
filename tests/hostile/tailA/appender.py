#!/usr/bin/env python3
"""appender.py PORT SECONDS OUT.json: attack 2's other client. For SECONDS, APPENDs
foreign messages (Subject "tailA-foreign N", Message-ID <tailA-foreign-N@x>) to INBOX
and A as bench, alternating; an APPEND that fails (A not there yet) is not counted.
Writes {"INBOX": n, "A": m} (the OK'd APPENDs) to OUT.json."""
import imaplib, sys, time, json
port, secs, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ok = {"INBOX": 0, "A": 0}; n = 0; t0 = time.time(); M = None
while time.time() - t0 < secs:
    try:
        if M is None:
            M = imaplib.IMAP4('127.0.0.1', port); M.login('bench', 'secret')
        box = ("INBOX", "A")[n % 2]; n += 1
        msg = (f"From: other@corpus.test\r\nTo: bench@corpus.test\r\nSubject: tailA-foreign {n}\r\n"
               f"Message-ID: <tailA-foreign-{n}@x>\r\nDate: Fri, 04 Dec 2026 07:00:00 +0000\r\n\r\nforeign body {n}\r\n").encode()
        typ, _ = M.append(box, None, None, msg)
        if typ == 'OK': ok[box] += 1
    except Exception:
        M = None; time.sleep(0.05)
    time.sleep(0.01)
json.dump(ok, open(out, 'w')); print("appender:", ok)
