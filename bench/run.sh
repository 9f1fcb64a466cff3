#!/usr/bin/env bash
# bench/run.sh: `make bench`. Every figure from the same run, as ratios: IMAP ingest of
# kerio-migrate against mbsync (isync, the fastest pipelined uploader packaged by Debian)
# into a private Dovecot 2.3 (mdbox, mail_fsync=never: the server is not the bottleneck) on
# loopback and through delaying TCP proxies (RTTS, default 0, 50 and 200 ms: the proxy with
# 0 ms added measures what the proxy itself costs on these CPUs); the Maildir
# target against `cp -a`; `scan` against `tar | cat` (warm cache); reruns with nothing to
# do; max RSS (/usr/bin/time -v); and the sync benchmark on a ~200k-message store (bulk
# copy timed, bench/mutate-store.py changes SYNC_PERCENT % of the items, then
# `migrate --sync` is timed against that bulk copy).
#
#   KERIO_CORPUS=../shared/corpus  real messages (fixtures/), copied COPIES times
#   COPIES=3 RUNS=3 RTTS="0 50 200" DEPTH=50 (mbsync PipelineDepth) SYNC_PERCENT=1
#   SYNC_COPIES=143                the sync benchmark's own store (~200k messages: ~6 GB in
#                                  /tmp with its Dovecot user; skipped, and said, without it)
#   BENCH_LARGE=1                  COPIES=143 (~200k messages, one account: ~3 GB store, and
#                                  ~3 GB more per Dovecot user, 6 users per round, in /tmp)
#   OURS_ARGS="…"                  extra options for kerio-migrate (e.g. "--connections 1")
#   BENCH_RSS_LARGE=1              also max RSS of `scan`, the Maildir target and IMAP at ~10k,
#                                  ~200k and ~1M messages (bench/rss.sh: hard-linked stores,
#                                  ~0.1 GB each, but the outputs are real: ~3.5 GB at 200k,
#                                  ~17 GB at 1M, one at a time, in $W; ~25 min at 1M)
#
# Nothing is deleted while a tool is timed: ext4 without a journal (this build machine) skips
# inodes freed in the last 60-300 s when it allocates new ones, so a timed run right after an
# `rm -rf` of a large tree creates files several times slower. Outputs go to $W/trash and are
# deleted at the end.
#
# Writes target/bench/results.jsonl (one JSON line per measurement), then bench/report.py
# prints the table and writes target/bench/report.md and report.json.
# Every count is checked on the server (STATUS): kerio-migrate must store every message;
# the rate of each tool is computed over what it really stored (mbsync skips messages
# whose header it finds incomplete, with a warning and exit code 0).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CORPUS=${KERIO_CORPUS:-$ROOT/../shared/corpus}
if [ "${BENCH_LARGE:-0}" = 1 ]; then COPIES=${COPIES:-143}; else COPIES=${COPIES:-3}; fi
RUNS=${RUNS:-3}
RTTS=${RTTS:-0 50 200}
SYNC_PERCENT=${SYNC_PERCENT:-1}
SYNC_COPIES=${SYNC_COPIES:-143}
DEPTH=${DEPTH:-50}
OURS_ARGS=${OURS_ARGS:-}
[ -f "$CORPUS/MANIFEST.tsv" ] || { echo "bench: corpus not found at $CORPUS (set KERIO_CORPUS)" >&2; exit 1; }
command -v mbsync >/dev/null || { echo "bench: mbsync not installed (tests/harness/ci-install.sh)" >&2; exit 1; }
command -v dovecot >/dev/null || { echo "bench: dovecot not installed (tests/harness/ci-install.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not installed (apt-get install time)" >&2; exit 1; }

OUT_DIR=$ROOT/target/bench
mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/results.jsonl
: > "$RESULTS"
W=$(mktemp -d /tmp/kerio-bench.XXXXXX)
chmod 755 "$W"
PROXY_PIDS=""
trash() { mkdir -p "$W/trash"; for d in "$@"; do [ -e "$d" ] && mv "$d" "$W/trash/$(basename "$d").$RANDOM"; done; true; }
cleanup() {
  for p in $PROXY_PIDS; do kill "$p" 2>/dev/null || true; done
  bash "$ROOT/tests/harness/dovecot-down.sh" "$W/dc" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

echo "[bench] building (release)" >&2
cargo build --release -q
BIN=$ROOT/target/release/kerio-migrate

N=$(python3 bench/make-store.py "$CORPUS/fixtures" "$W/kerio" "$COPIES")
BYTES=$(du -sb "$W/kerio/store" | cut -f1)
echo "[bench] store: $N messages from the corpus (x$COPIES), $BYTES bytes on disk" >&2

# mbsync's source: the same messages as a Maildir (our own Maildir export: CRLF, mtime =
# internal date, flags in the name), in mbsync's "Verbatim" layout. mbsync renames its
# source files, so every run gets a fresh, untimed copy.
"$BIN" -q migrate "$W/kerio" --to "maildir:$W/md" > /dev/null
mkdir -p "$W/mbsrc"
for d in "$W/md/bench@corpus.test"/.Corpus-*; do
  mv "$d" "$W/mbsrc/${d##*/.}"
done
FOLDERS=$(cd "$W/mbsrc" && for d in Corpus-*; do printf '"%s" ' "$d"; done)

NETS="loopback"
for rtt in $RTTS; do NETS="$NETS rtt${rtt}ms"; done
USERS=""
for r in $(seq 1 "$RUNS"); do for net in $NETS; do USERS="$USERS ours-$net-$r peer-$net-$r"; done; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
PORTS=$(free_port)
USERS="$USERS sync-bulk" MAIL_FORMAT=mdbox MAIL_FSYNC=never \
  bash tests/harness/dovecot-up.sh "$W/dc" "$PORT" "$PORTS" > "$W/dovecot-up.log" 2>&1 \
  || { cat "$W/dovecot-up.log" >&2; exit 1; }
declare -A NET_PORT=([loopback]=$PORT)
for rtt in $RTTS; do
  p=$(free_port)
  python3 bench/delay-proxy.py "$p" 127.0.0.1 "$PORT" "$rtt" > "$W/proxy-$rtt.log" 2>&1 &
  PROXY_PIDS="$PROXY_PIDS $!"
  NET_PORT[rtt${rtt}ms]=$p
done
sleep 0.5
python3 - "$N" "$BYTES" "$RUNS" "$(nproc)" $NETS <<'PY' | tee -a "$RESULTS"
import json, sys, datetime
n, b, runs, cpus, *nets = sys.argv[1:]
print(json.dumps({"name": "meta", "messages": int(n), "bytes": int(b), "runs": int(runs),
                  "cpus": int(cpus), "networks": nets, "date": datetime.date.today().isoformat()}))
PY

now() { date +%s.%N; }

server_count() {  # user -> messages stored in its Corpus-* folders
  python3 - "$PORT" "$1" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login(sys.argv[2], "secret")
total = 0
for line in m.list()[1]:
    name = line.decode().rsplit(' "/" ', 1)[-1].strip('"')
    if name.startswith("Corpus-"):
        total += int(m.status(name, "(MESSAGES)")[1][0].decode().split()[-1].rstrip(")"))
m.logout(); print(total)
PY
}

# row NAME START END TIMEFILE [KEY=VALUE…]: one result line (wall time, max RSS).
row() {
  python3 - "$@" <<'PY' | tee -a "$RESULTS"
import json, re, sys
name, s, e, tf, *kv = sys.argv[1:]
r = {"name": name, "wall_s": round(float(e) - float(s), 3)}
m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(tf).read())
r["max_rss_kb"] = int(m.group(1)) if m else None
for x in kv:
    k, v = x.split("=", 1)
    r[k] = int(v) if v.lstrip("-").isdigit() else v
if "stored" in r:
    r["msgs_per_s"] = round(r["stored"] / r["wall_s"], 1)
print(json.dumps(r))
PY
}

# timed NAME CMD…: runs CMD under /usr/bin/time -v (output to $W/NAME.out), one row
# (with ROW_EXTRA="KEY=VALUE …" added to it).
timed() {
  local name=$1 s e
  shift
  s=$(now)
  /usr/bin/time -v -o "$W/$name.time" "$@" > "$W/$name.out" 2>&1 \
    || { echo "bench: $name failed:" >&2; tail -20 "$W/$name.out" >&2; exit 1; }
  e=$(now)
  row "$name" "$s" "$e" "$W/$name.time" ${ROW_EXTRA:-}
}

ours_imap() {  # port user [extra options…]
  local port=$1 user=$2
  shift 2
  BENCH_PASSWORD=secret /usr/bin/time -v -o "$W/$user.time" "$BIN" -q migrate "$W/kerio" \
    --to "imap://127.0.0.1:$port" --tls none --account bench@corpus.test --user "$user" \
    --password-env BENCH_PASSWORD --state "$W/journal-$user.sqlite" \
    --report "$W/report-$user.json" $OURS_ARGS "$@" > "$W/ours-$user.out" 2>&1
}

run_ours() {  # network user
  local s e count
  s=$(now)
  ours_imap "${NET_PORT[$1]}" "$2" \
    || { echo "kerio-migrate failed:" >&2; tail -20 "$W/ours-$2.out" >&2; exit 1; }
  e=$(now)
  count=$(server_count "$2")
  row "ingest-ours-$1" "$s" "$e" "$W/$2.time" "stored=$count"
  # kerio-migrate must deliver everything; a peer's losses are recorded, not fatal.
  [ "$count" = "$N" ] || { echo "bench: kerio-migrate stored $count of $N" >&2; exit 1; }
}

run_mbsync() {  # network user
  local st="$W/mbsync-$2" s e count
  mkdir -p "$st"
  cp -a "$W/mbsrc" "$st/src"
  sleep 1.1   # mbsync sleeps when a maildir was modified within the last second
  cat > "$st/mbsyncrc" <<EOC
IMAPAccount bench
Host 127.0.0.1
Port ${NET_PORT[$1]}
User $2
Pass secret
AuthMechs LOGIN PLAIN
SSLType None
PipelineDepth $DEPTH
Timeout 120

IMAPStore remote
Account bench

MaildirStore local
Path $st/src/
Inbox $st/src/INBOX
SubFolders Verbatim

Channel upload
Far :remote:
Near :local:
Patterns $FOLDERS
Create Far
Sync Push
Expunge None
CopyArrivalDate yes
SyncState $st/
EOC
  s=$(now)
  /usr/bin/time -v -o "$st/time" mbsync -c "$st/mbsyncrc" upload > "$st/mbsync.out" 2>&1 \
    || { tail -20 "$st/mbsync.out" >&2; exit 1; }
  e=$(now)
  count=$(server_count "$2")
  row "ingest-mbsync-$1" "$s" "$e" "$st/time" "stored=$count" "messages=$N" "tool=mbsync-depth$DEPTH"
  grep -c "skipping" "$st/mbsync.out" > "$OUT_DIR/mbsync-skipped-$1.txt" || true
  grep "Warning" "$st/mbsync.out" | head -20 > "$OUT_DIR/mbsync-warnings-$1.txt" || true
  trash "$st"
}

for r in $(seq 1 "$RUNS"); do
  echo "[bench] round $r/$RUNS" >&2
  for net in $NETS; do
    run_ours "$net" "ours-$net-$r"
    run_mbsync "$net" "peer-$net-$r"
  done
  tar -cf - -C "$W/kerio" store | cat > /dev/null   # warm the cache for both
  timed scan "$BIN" -q scan "$W/kerio"
  timed tar bash -c "tar -cf - -C '$W/kerio' store | cat > /dev/null"
  sync   # nobody's dirty pages but its own for the Maildir target's syncfs
  timed maildir "$BIN" -q migrate "$W/kerio" --to "maildir:$W/md-$r"
  timed rerun-maildir "$BIN" -q migrate "$W/kerio" --to "maildir:$W/md-$r"
  sync
  timed cp-a cp -a "$W/kerio/store" "$W/cp-$r"
  sync
  # The Maildir target makes its files durable (syncfs) before it journals them; cp does not.
  timed cp-a-sync bash -c "cp -a '$W/kerio/store' '$W/cps-$r' && sync"
  trash "$W/md-$r" "$W/cp-$r" "$W/cps-$r"
  s=$(now)
  ours_imap "$PORT" "ours-loopback-$r" || { tail -20 "$W/ours-ours-loopback-$r.out" >&2; exit 1; }
  e=$(now)
  row rerun-imap "$s" "$e" "$W/ours-loopback-$r.time"
done

# Sync benchmark (issue 11), on its own store of SYNC_COPIES copies (default 143: ~200k
# messages in 143 folders, the size the goal is stated for; ~3 GB for the store and ~3 GB
# for its Dovecot user, checked below; SYNC_COPIES=$COPIES reuses the main store's size):
# a bulk migrate (timed: the denominator), a no-op sync, then bench/mutate-store.py
# changes SYNC_PERCENT % of the items (flags, moves, new, deletions mixed) and
# `migrate --sync --propagate-deletes` is timed; the server must then hold exactly the
# store (STATUS counts), else the exit code says so after the table.
SYNC_OK=1
sync_bench() {
  local store="$W/kerio-sync" user=sync-bulk s e count need free
  need=$(( SYNC_COPIES * 45 * 1024 * 1024 ))   # ~21 MB store + ~21 MB on the server per copy, with margin
  free=$(( $(df -Pk "$W" | awk 'NR==2 {print $4}') * 1024 ))
  if [ "$free" -lt "$need" ]; then
    echo "[bench] sync: skipped, needs ~$(( need >> 30 )) GiB free in $W" >&2
    row sync-skipped "$(now)" "$(now)" /dev/null "need_gib=$(( need >> 30 ))" "copies=$SYNC_COPIES"
    return
  fi
  echo "[bench] sync: store of $SYNC_COPIES copies" >&2
  SN=$(python3 bench/make-store.py "$CORPUS/fixtures" "$store" "$SYNC_COPIES")
  sync_run() {  # row-name [extra options…]
    local name=$1; shift
    s=$(now)
    BENCH_PASSWORD=secret /usr/bin/time -v -o "$W/$name.time" "$BIN" -q migrate "$store" \
      --to "imap://127.0.0.1:$PORT" --tls none --account bench@corpus.test --user "$user" \
      --password-env BENCH_PASSWORD --state "$W/journal-$user.sqlite" \
      --report "$W/report-$name.json" $OURS_ARGS "$@" > "$W/$name.out" 2>&1 \
      || { echo "kerio-migrate ($name) failed:" >&2; tail -20 "$W/$name.out" >&2; exit 1; }
    e=$(now)
  }
  sync_run sync-bulk
  count=$(server_count "$user")
  row sync-bulk "$s" "$e" "$W/sync-bulk.time" "stored=$count" "messages=$SN"
  [ "$count" = "$SN" ] || { echo "bench: sync store: bulk stored $count of $SN" >&2; exit 1; }
  sync_run sync-noop --sync --propagate-deletes
  row sync-noop "$s" "$e" "$W/sync-noop.time"
  echo "[bench] sync: changing $SYNC_PERCENT % of the $SN items" >&2
  CHANGES=$(python3 bench/mutate-store.py "$store" "$SYNC_PERCENT" 11)
  EXPECTED=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["after"])' "$CHANGES")
  DESC=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print("%d flags, %d moves, %d new, %d deleted" % (c["flags"], c["moved"], c["new"], c["deleted"]))' "$CHANGES")
  CHANGED=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c["flags"]+c["moved"]+c["new"]+c["deleted"])' "$CHANGES")
  sync_run sync --sync --propagate-deletes
  count=$(server_count "$user")
  row sync "$s" "$e" "$W/sync.time" "stored=$count" "expected=$EXPECTED" \
    "changed=$CHANGED" "changes=$DESC" "messages=$SN"
  [ "$count" = "$EXPECTED" ] || { SYNC_OK=0; echo "bench: after --sync the server holds $count, the store $EXPECTED" >&2; }
  trash "$store"
}
sync_bench

if [ "${BENCH_RSS_LARGE:-0}" = 1 ]; then
  # Memory flat in store size: scan, Maildir and IMAP at ~10k, ~200k and ~1M messages
  # (hard-linked stores; bench/rss.sh says what it needs and skips a size that does not fit).
  rm -rf "$W/trash"   # untimed: the RSS runs need the disk
  BIN="$BIN" KERIO_CORPUS="$CORPUS" RSS_DIR="$W" bash bench/rss.sh "$RESULTS"
fi

python3 bench/report.py "$RESULTS" "$OUT_DIR" ${BENCH_README:+--readme "$ROOT/README.md"}
echo "[bench] results: $RESULTS, $OUT_DIR/report.md, $OUT_DIR/report.json" >&2
[ "$SYNC_OK" = 1 ] || exit 1
