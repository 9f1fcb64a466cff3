#!/usr/bin/env python3
"""make-small.py CORPUS_FIXTURES OUT PER_FOLDER FOLDER...

A Kerio store with one account bench@corpus.test and the given folders
(directory names as Kerio writes them), PER_FOLDER messages each, taken
from the corpus in order with a different slice per folder (no message
twice in the store). Same index.fld/status.fld lines as bench/make-store.py.
"""
import os, sys
src, out, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
folders = sys.argv[4:]
files = []
for root, _d, names in os.walk(src):
    for n in sorted(names):
        p = os.path.join(root, n)
        if os.path.isfile(p) and os.path.getsize(p) > 0:
            files.append(p)
files.sort()
k = 0
total = 0
for f in folders:
    d = os.path.join(out, "store", "mail", "corpus.test", "bench", f)
    os.makedirs(os.path.join(d, "#msgs"), exist_ok=True)
    lines = []
    for i in range(1, per + 1):
        data = open(files[k % len(files)], "rb").read()
        k += 1
        with open(os.path.join(d, "#msgs", f"{i:08x}.eml"), "wb") as fh:
            fh.write(data)
        t = 1_300_000_000 + k * 600
        lines.append(f"U{i:08x} F{1 if i % 3 else 5:x} S{len(data)} D{t:08x} T{t:08x} M{t:08x} CIPM.Note")
        total += 1
    open(os.path.join(d, "index.fld"), "w").write("\n".join(lines) + "\n")
    open(os.path.join(d, "status.fld"), "w").write("T0\n")
print(total)
