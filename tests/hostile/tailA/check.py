#!/usr/bin/env python3
"""check.py STORE PORT [EXTRA_PER_MAILBOX_JSON]: exactly once, per mailbox.

For every folder of bench@corpus.test in the Kerio store, the multiset of
(Message-ID, Subject) of its .eml files against the mailbox of the same
name on 127.0.0.1:PORT (user bench / secret). Messages whose Subject
starts with "tailA-foreign" (attack 2's other client) are counted apart.
Prints missing / duplicated / foreign per mailbox and one total line.
"""
import sys, os, glob, imaplib, email.parser, collections, re
store, port = sys.argv[1], int(sys.argv[2])
def key(raw):
    # the header (up to the first empty line), unfolded; Message-ID and Subject as bytes
    m = re.search(rb'\r?\n\r?\n', raw)
    head = raw[:m.start()] if m else raw
    head = re.sub(rb'\r?\n[ \t]+', b' ', head)
    out = {}
    for line in re.split(rb'\r?\n', head):
        n, _, v = line.partition(b':')
        n = n.strip().lower()
        if n in (b'message-id', b'subject') and n not in out:
            out[n] = re.sub(rb'\s+', b' ', v).strip()
    return (out.get(b'message-id', b''), out.get(b'subject', b''))
base = os.path.join(store, 'store/mail/corpus.test/bench')
M = imaplib.IMAP4('127.0.0.1', port); M.login('bench', 'secret')
bad = 0; tot = 0; foreign = 0
for d in sorted(os.listdir(base)):
    want = collections.Counter()
    for p in glob.glob(os.path.join(base, d, '#msgs/*.eml')):
        want[key(open(p, 'rb').read())] += 1
    typ, ex = M.select('"%s"' % d, readonly=True)
    have = collections.Counter(); fr = 0
    if typ == 'OK' and int(ex[0]) == 0:
        M.close()
    elif typ == 'OK':
        typ, data = M.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)])')
        for part in data or []:
            if isinstance(part, tuple):
                k = key(part[1])
                if k[1].startswith(b'tailA-foreign'): fr += 1
                else: have[k] += 1
        M.close()
    miss = sum((want - have).values()); dup = sum((have - want).values())
    tot += sum(have.values()); foreign += fr
    if miss or dup: bad += 1
    print(f"{d}: want={sum(want.values())} have={sum(have.values())} missing={miss} extra={dup} foreign={fr}")
print(f"CHECK: {'OK exactly once' if not bad else 'MISMATCH in %d mailboxes' % bad}; stored={tot} foreign={foreign}")
