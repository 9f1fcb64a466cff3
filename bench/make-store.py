#!/usr/bin/env python3
"""make-store.py CORPUS_FIXTURES OUT_INSTALL_DIR COPIES

Builds a Kerio store for benchmarks from real messages (the shared corpus):
one account bench@corpus.test, the corpus copied COPIES times into folders
Corpus-1 .. Corpus-N (so no folder holds a message twice), with an index.fld
per folder (flags and dates). Prints the number of messages.
"""
import os
import sys

src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = []
for root, _dirs, names in os.walk(src):
    for n in sorted(names):
        p = os.path.join(root, n)
        if os.path.isfile(p):
            files.append(p)
files.sort()
total = 0
for c in range(1, copies + 1):
    folder = os.path.join(out, "store", "mail", "corpus.test", "bench", f"Corpus-{c}")
    msgs = os.path.join(folder, "#msgs")
    os.makedirs(msgs, exist_ok=True)
    lines = []
    for i, f in enumerate(files, start=1):
        with open(f, "rb") as fh:
            data = fh.read()
        if not data:
            continue
        with open(os.path.join(msgs, f"{i:08x}.eml"), "wb") as fh:
            fh.write(data)
        t = 1_300_000_000 + i * 600
        lines.append(f"U{i:08x} F{1 if i % 3 else 5:x} S{len(data)} D{t:08x} T{t:08x} M{t:08x} CIPM.Note")
        total += 1
    with open(os.path.join(folder, "index.fld"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(folder, "status.fld"), "w") as fh:
        fh.write("T0\n")
print(total)
