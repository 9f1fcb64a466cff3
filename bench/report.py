#!/usr/bin/env python3
"""report.py RESULTS.jsonl OUT_DIR [--readme README.md]

Turns the rows bench/run.sh wrote (one JSON object per measurement, same run) into one
table: medians per measurement and every ratio. Writes OUT_DIR/report.md and
OUT_DIR/report.json and prints the table; with --readme, replaces the README text between
<!-- bench:begin --> and <!-- bench:end --> with it.
"""
import json
import statistics
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def load(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    meta = next((r for r in rows if r.get("name") == "meta"), {})
    by = {}
    for r in rows:
        if r.get("name") != "meta":
            by.setdefault(r["name"], []).append(r)
    return meta, by


def med(by, name, key="wall_s"):
    v = [r[key] for r in by.get(name, []) if r.get(key) is not None]
    return statistics.median(v) if v else None


def fmt(x, unit=""):
    if x is None:
        return "–"
    return f"{x:,.0f}{unit}" if abs(x) >= 100 else f"{x:.2f}{unit}"


def ratio(a, b):
    return None if a is None or not b else a / b


def stored(by, name, n):
    rows = by.get(name, [])
    return f"{min(r['stored'] for r in rows):,} of {n:,}" if rows else "–"


def build(meta, by):
    n = meta.get("messages", 0)
    nets = [net for net in meta.get("networks", ["loopback"])]
    out = [f"{n:,} messages ({meta.get('bytes', 0) / 2**20:.0f} MiB), median of "
           f"{meta.get('runs', 1)} round(s), {meta.get('cpus', '?')} CPUs, {meta.get('date', '')}",
           "", "| measurement | kerio-migrate | reference | ratio |", "|---|---|---|---|"]
    summary = {"meta": meta, "rows": []}

    def row(label, ours, ref, r, key):
        out.append(f"| {label} | {ours} | {ref} | {fmt(r, '×') if r is not None else '–'} |")
        summary["rows"].append({"measurement": key, "ratio": r})

    ours_lo = med(by, "ingest-ours-loopback")
    for net in nets:
        o, p = med(by, f"ingest-ours-{net}", "msgs_per_s"), med(by, f"ingest-mbsync-{net}", "msgs_per_s")
        row(f"IMAP ingest, {net}: msg/s vs mbsync",
            f"{fmt(o)} ({stored(by, f'ingest-ours-{net}', n)})",
            f"{fmt(p)} ({stored(by, f'ingest-mbsync-{net}', n)})", ratio(o, p), f"ingest-{net}")
    for net in nets[1:]:
        t = med(by, f"ingest-ours-{net}")
        row(f"ours at {net} / ours on loopback (time)", fmt(t, " s"), fmt(ours_lo, " s"),
            ratio(t, ours_lo), f"wan-{net}")
    # The delay proxy is a Python process on the same CPUs as both tools and
    # the server: through it with 0 ms added, the difference to loopback is
    # its cost, and the ratio of a long link to it the round trips' alone.
    ours_p0 = med(by, "ingest-ours-rtt0ms")
    if ours_p0:
        for net in nets[1:]:
            if net == "rtt0ms":
                continue
            t = med(by, f"ingest-ours-{net}")
            row(f"ours at {net} / ours through the proxy with 0 ms added (time)",
                fmt(t, " s"), fmt(ours_p0, " s"), ratio(t, ours_p0), f"wan-{net}-vs-proxy0")
            # What the link adds, counted in its round trips: a fixed number
            # (connect, login, LIST, CREATE, the last answers) whatever the
            # store's size, or one that grows with it.
            rtt = float(net[3:-2]) / 1000.0
            if t is not None and rtt > 0:
                added = (t - ours_p0) / rtt
                out.append(f"| time added at {net}, in round trips of {net[3:-2]} ms | "
                           f"{added:.1f} |  | – |")
                summary["rows"].append({"measurement": f"round-trips-added-{net}",
                                        "value": round(added, 2)})
    pairs = [("Maildir target vs `cp -a` (time)", "maildir", "cp-a"),
             ("Maildir target (syncfs) vs `cp -a && sync` (time)", "maildir", "cp-a-sync"),
             ("`scan` vs `tar -cf - \\| cat` (time)", "scan", "tar")]
    for label, a, b in pairs:
        ta, tb = med(by, a), med(by, b)
        row(label, fmt(ta, " s"), fmt(tb, " s"), ratio(ta, tb), f"{a}-vs-{b}")
    for name, label in (("rerun-maildir", "Maildir"), ("rerun-imap", "IMAP, loopback")):
        row(f"rerun with nothing to do, {label}", fmt(med(by, name), " s"), "", None, name)
    for name in ("scan", "maildir", "ingest-ours-loopback"):
        rss = med(by, name, "max_rss_kb")
        row(f"max RSS, {name}", fmt(rss / 1024 if rss else None, " MiB"), "", None, f"rss-{name}")
    # BENCH_RSS_LARGE=1: max RSS against store size (hard-linked stores).
    sizes = sorted({r["messages"] for k, v in by.items() if k.startswith("rss-large-") for r in v})
    mib = lambda kb: fmt(kb / 1024 if kb else None, " MiB")
    for m in sizes:
        if by.get(f"rss-large-skipped-{m}"):
            need = by[f"rss-large-skipped-{m}"][0].get("need_gib")
            row(f"max RSS at {m:,} messages", f"not measured: needs ~{need} GiB free", "", None,
                f"rss-large-{m}")
            continue
        sc, md, im = (med(by, f"rss-large-{t}-{m}", "max_rss_kb") for t in ("scan", "maildir", "imap"))
        tm, ti = med(by, f"rss-large-maildir-{m}"), med(by, f"rss-large-imap-{m}")
        row(f"max RSS at {m:,} messages: scan / Maildir / IMAP (Maildir / IMAP time)",
            f"{mib(sc)} / {mib(md)} / {mib(im)}", f"{fmt(tm, ' s')} / {fmt(ti, ' s')}", None,
            f"rss-large-{m}")
    # The sync benchmark has its own (~200k-message) store: bulk, no-op sync, sync after changes.
    if by.get("sync-skipped"):
        sk = by["sync-skipped"][0]
        row(f"`migrate --sync` on {sk.get('copies')} copies of the corpus",
            f"not measured: needs ~{sk.get('need_gib')} GiB free", "", None, "sync-vs-bulk")
    s = by.get("sync", [])
    if s:
        t, c, bulk = med(by, "sync"), s[0], med(by, "sync-bulk")
        sm = c.get("messages", n)
        row(f"bulk IMAP migrate of the sync store, {sm:,} messages (loopback)",
            fmt(bulk, " s"), "", None, "sync-bulk")
        noop = med(by, "sync-noop")
        row("`migrate --sync` with nothing changed / bulk", fmt(noop, " s"), fmt(bulk, " s"),
            ratio(noop, bulk), "sync-noop-vs-bulk")
        row(f"`migrate --sync --propagate-deletes` after {c['changed']:,} changes "
            f"({c['changes']}) / bulk (goal < 0.1)", f"{fmt(t, ' s')} ({c['stored']:,} of "
            f"{c['expected']:,} on the server)", fmt(bulk, " s"), ratio(t, bulk), "sync-vs-bulk")
    return "\n".join(out) + "\n", summary


def main():
    args = sys.argv[1:]
    readme = None
    if "--readme" in args:
        i = args.index("--readme")
        readme = args[i + 1]
        del args[i:i + 2]
    meta, by = load(args[0])
    table, summary = build(meta, by)
    with open(f"{args[1]}/report.md", "w") as fh:
        fh.write(table)
    with open(f"{args[1]}/report.json", "w") as fh:
        json.dump(summary, fh, indent=1)
    print(table)
    if readme:
        text = open(readme).read()
        if BEGIN not in text or END not in text:
            sys.exit(f"report.py: {readme} lacks the {BEGIN} / {END} markers")
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        with open(readme, "w") as fh:
            fh.write(head + BEGIN + "\n" + table + END + tail)


main()
