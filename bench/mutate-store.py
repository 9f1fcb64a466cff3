#!/usr/bin/env python3
"""mutate-store.py STORE_INSTALL_DIR PERCENT SEED

Sync benchmark helper (issue 11): changes PERCENT % of the items of a bench store
(made by make-store.py) in place, like days of mail use on a live Kerio: a quarter each
flag changes (the index.fld F field rewritten), moves between folders (the #msgs file and
its index.fld record), new items (a copy of an existing message under a fresh id), and
deletions (file and record removed). Prints one JSON object: the change counts and the
number of messages the store holds afterwards.
"""
import json
import os
import random
import sys
import time

root, percent, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
acct = os.path.join(root, "store", "mail", "corpus.test", "bench")
folders = sorted(d for d in os.listdir(acct) if os.path.isdir(os.path.join(acct, d, "#msgs")))
if not folders:
    sys.exit(f"mutate-store: no folders under {acct}")


def load(folder):
    with open(os.path.join(acct, folder, "index.fld")) as fh:
        return [l for l in fh.read().splitlines() if l.strip()]


def save(folder, lines):
    with open(os.path.join(acct, folder, "index.fld"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def uid(line):
    return line.split()[0][1:]


def set_field(line, key, value):
    return " ".join(key + value if f.startswith(key) else f for f in line.split())


idx = {f: load(f) for f in folders}
items = [(f, i) for f in folders for i in range(len(idx[f]))]
total = len(items)
rng = random.Random(seed)
k = max(4, int(total * percent / 100))
chosen = rng.sample(items, k)
groups = [chosen[i::4] for i in range(4)]
counts = {"flags": 0, "moved": 0, "new": 0, "deleted": 0}
written = []
drop = {f: set() for f in folders}
add = {f: [] for f in folders}
next_id = {f: max(int(uid(l), 16) for l in idx[f]) + 1 for f in folders}

for f, i in groups[0]:  # flag changes: toggle \Seen and \Flagged
    line = idx[f][i]
    bits = int(next(x for x in line.split() if x.startswith("F"))[1:], 16)
    idx[f][i] = set_field(line, "F", f"{bits ^ 0x5:x}")
    counts["flags"] += 1
for f, i in groups[1] if len(folders) > 1 else []:  # moves to the next folder, fresh id
    line = idx[f][i]
    dst = folders[(folders.index(f) + 1) % len(folders)]
    new = f"{next_id[dst]:08x}"
    next_id[dst] += 1
    os.rename(os.path.join(acct, f, "#msgs", uid(line) + ".eml"),
              os.path.join(acct, dst, "#msgs", new + ".eml"))
    written.append(os.path.join(acct, dst, "#msgs", new + ".eml"))
    drop[f].add(i)
    add[dst].append(set_field(line, "U", new))
    counts["moved"] += 1
for f, i in groups[2]:  # new items: a copy of an existing message
    line = idx[f][i]
    new = f"{next_id[f]:08x}"
    next_id[f] += 1
    with open(os.path.join(acct, f, "#msgs", uid(line) + ".eml"), "rb") as fh:
        data = fh.read()
    data = b"X-Bench-New: " + new.encode() + b"\r\n" + data  # other bytes than its source
    with open(os.path.join(acct, f, "#msgs", new + ".eml"), "wb") as fh:
        fh.write(data)
    written.append(os.path.join(acct, f, "#msgs", new + ".eml"))
    add[f].append(set_field(set_field(line, "U", new), "S", str(len(data))))
    counts["new"] += 1
for f, i in groups[3]:  # deletions
    if i in drop[f]:
        continue
    os.remove(os.path.join(acct, f, "#msgs", uid(idx[f][i]) + ".eml"))
    drop[f].add(i)
    counts["deleted"] += 1
# The files written here (new and moved items) are dated an hour ago, as on a store caught
# up days later: outside kerio-migrate's --settle window, which leaves items modified in the
# last minute for the next run. Every other file keeps its mtime, as Kerio leaves it: a
# store whose every mtime changed would be read entirely by the sync, which is another
# benchmark (and what --sync costs after a copy that did not keep mtimes).
past = time.time() - 3600
for p in written:
    os.utime(p, (past, past))
for f in folders:
    save(f, [l for i, l in enumerate(idx[f]) if i not in drop[f]] + add[f])
counts["before"] = total
counts["after"] = total + counts["new"] - counts["deleted"]
print(json.dumps(counts))
