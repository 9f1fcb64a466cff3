#!/usr/bin/env python3
"""make-store.py CORPUS_FIXTURES OUT_INSTALL_DIR COPIES [--accounts N] [--link]

Builds a Kerio store for benchmarks from real messages (the shared corpus):
one account bench@corpus.test, the corpus copied COPIES times into folders
Corpus-1 .. Corpus-N (so no folder holds a message twice), with an index.fld
per folder (flags and dates). Prints the number of messages.

--accounts N: N accounts (bench, bench-2 .. bench-N @corpus.test), each with
COPIES folders; default 1 (the store above, unchanged).
--link: every message file after the first copy is a hard link to the first
copy's file (index.fld/status.fld still written per folder), so a large store
costs about one corpus copy of disk plus directory entries and index files.
"""
import argparse
import os

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("out")
ap.add_argument("copies", type=int)
ap.add_argument("--accounts", type=int, default=1)
ap.add_argument("--link", action="store_true")
args = ap.parse_args()
files = []
for root, _dirs, names in os.walk(args.src):
    for n in sorted(names):
        p = os.path.join(root, n)
        if os.path.isfile(p):
            files.append(p)
files.sort()
first = {}  # message number -> path of its first written copy (for --link)
total = 0
for a in range(1, args.accounts + 1):
    user = "bench" if a == 1 else f"bench-{a}"
    for c in range(1, args.copies + 1):
        folder = os.path.join(args.out, "store", "mail", "corpus.test", user, f"Corpus-{c}")
        msgs = os.path.join(folder, "#msgs")
        os.makedirs(msgs, exist_ok=True)
        lines = []
        for i, f in enumerate(files, start=1):
            dst = os.path.join(msgs, f"{i:08x}.eml")
            if args.link and i in first:
                os.link(first[i][0], dst)
                size = first[i][1]
            else:
                with open(f, "rb") as fh:
                    data = fh.read()
                if not data:
                    continue
                with open(dst, "wb") as fh:
                    fh.write(data)
                size = len(data)
                first[i] = (dst, size)
            t = 1_300_000_000 + i * 600
            lines.append(f"U{i:08x} F{1 if i % 3 else 5:x} S{size} D{t:08x} T{t:08x} M{t:08x} CIPM.Note")
            total += 1
        with open(os.path.join(folder, "index.fld"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        with open(os.path.join(folder, "status.fld"), "w") as fh:
            fh.write("T0\n")
print(total)
