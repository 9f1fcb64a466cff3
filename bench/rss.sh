#!/usr/bin/env bash
# bench/rss.sh: max RSS (/usr/bin/time -v) of `scan`, the Maildir target and IMAP against
# store size, to show memory is flat in the store (`BENCH_RSS_LARGE=1 make bench` runs it; it
# also runs alone: `bash bench/rss.sh [RESULTS.jsonl]`, then bench/report.py shows the rows).
#
#   RSS_SIZES="1x7 72x2 358x2"   ACCOUNTSxFOLDERS per store: 9,786 / 201,312 / 1,000,968
#                                messages (the 1,398 corpus messages per folder)
#   RSS_IMAP=1                   also IMAP into a private Dovecot (mdbox, mail_fsync=never,
#                                admin login for every account, default options)
#   BIN=target/release/kerio-migrate   KERIO_CORPUS=../shared/corpus   RSS_DIR=/tmp
#
# The stores are hard links to one copy of the corpus (bench/make-store.py --link: ~0.1 GB
# per store), but what the targets write is real: ~0.4 GB / 3.5 GB / 17 GB of Maildir and
# about as much in Dovecot's mdbox, one at a time (each output is deleted, untimed, before
# the next run). The script checks the free space in RSS_DIR before each size and skips a
# size that does not fit (a row says so). Every run is checked: `migrate` must exit 0 and
# IMAP must store every message (STATUS on the server).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CORPUS=${KERIO_CORPUS:-$ROOT/../shared/corpus}
BIN=${BIN:-$ROOT/target/release/kerio-migrate}
RESULTS=${1:-$ROOT/target/bench/rss.jsonl}
SIZES=${RSS_SIZES:-1x7 72x2 358x2}
IMAP=${RSS_IMAP:-1}
[ -x "$BIN" ] || { echo "rss: $BIN not built (cargo build --release)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "rss: /usr/bin/time not installed (apt-get install time)" >&2; exit 1; }
mkdir -p "$(dirname "$RESULTS")"
W=$(mktemp -d "${RSS_DIR:-/tmp}/kerio-rss.XXXXXX")
chmod 755 "$W"
cleanup() {
  bash "$ROOT/tests/harness/dovecot-down.sh" "$W/dc" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

# row NAME SECONDS TIMEFILE KEY=VALUE…: one JSON line (wall time, max RSS).
row() {
  python3 - "$@" <<'PY' | tee -a "$RESULTS"
import json, re, sys
name, secs, tf, *kv = sys.argv[1:]
r = {"name": name, "wall_s": round(float(secs), 3)}
m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(tf).read()) if tf else None
r["max_rss_kb"] = int(m.group(1)) if m else None
for x in kv:
    k, v = x.split("=", 1)
    r[k] = int(v) if v.lstrip("-").isdigit() else v
print(json.dumps(r))
PY
}

# timed NAME MESSAGES CMD…: CMD under /usr/bin/time -v; fails the script when CMD fails.
timed() {
  local name=$1 n=$2 s e
  shift 2
  s=$(date +%s.%N)
  /usr/bin/time -v -o "$W/$name.time" "$@" > "$W/$name.out" 2>&1 \
    || { echo "rss: $name failed:" >&2; tail -20 "$W/$name.out" >&2; exit 1; }
  e=$(date +%s.%N)
  row "$name" "$(echo "$e - $s" | bc)" "$W/$name.time" "messages=$n"
}

free_kb() { df -Pk "$W" | awk 'NR==2 {print $4}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for size in $SIZES; do
  accounts=${size%x*}
  folders=${size#*x}
  rm -rf "$W/store" "$W/md"
  n=$(python3 bench/make-store.py "$CORPUS/fixtures" "$W/store" "$folders" --accounts "$accounts" --link)
  # The output needs about the corpus' size (17 MiB on disk) per folder, plus a margin.
  need=$(( accounts * folders * 18 * 1024 + 2 * 1024 * 1024 ))
  if [ "$(free_kb)" -lt "$need" ]; then
    echo "rss: $n messages need ~$((need / 1024 / 1024)) GiB free in $W, skipped" >&2
    row "rss-large-skipped-$n" 0 "" "messages=$n" "need_gib=$((need / 1024 / 1024))"
    continue
  fi
  echo "[rss] $n messages ($accounts accounts x $folders folders)" >&2
  tar -cf - -C "$W/store" store | cat > /dev/null   # warm cache, as for the other figures
  timed "rss-large-scan-$n" "$n" "$BIN" -q scan "$W/store"
  sync
  timed "rss-large-maildir-$n" "$n" "$BIN" -q migrate "$W/store" --to "maildir:$W/md"
  got=$(find "$W/md" -path '*/cur/*' -type f | wc -l)
  [ "$got" = "$n" ] || { echo "rss: the Maildir holds $got of $n messages" >&2; exit 1; }
  rm -rf "$W/md"
  if [ "$IMAP" = 1 ]; then
    users=$(python3 -c 'import sys; n=int(sys.argv[1]); print(" ".join(["bench"] + [f"bench-{i}" for i in range(2, n + 1)]))' "$accounts")
    port=$(free_port)
    USERS="$users" MAIL_FORMAT=mdbox MAIL_FSYNC=never \
      bash tests/harness/dovecot-up.sh "$W/dc" "$port" "$(free_port)" > "$W/dovecot-up.log" 2>&1 \
      || { cat "$W/dovecot-up.log" >&2; exit 1; }
    RSS_ADMIN_PW=secret timed "rss-large-imap-$n" "$n" "$BIN" -q migrate "$W/store" \
      --to "imap://127.0.0.1:$port" --tls none --admin-user admin \
      --admin-password-env RSS_ADMIN_PW --state "$W/journal.sqlite"
    stored=$(python3 - "$port" $users <<'PY'
import imaplib, sys
port, *users = sys.argv[1:]
total = 0
for u in users:
    m = imaplib.IMAP4("127.0.0.1", int(port)); m.login(f"{u}*admin", "secret")
    for line in m.list()[1]:
        name = line.decode().rsplit(' "/" ', 1)[-1].strip('"')
        if name.startswith("Corpus-"):
            total += int(m.status(f'"{name}"', "(MESSAGES)")[1][0].decode().split()[-1].rstrip(")"))
    m.logout()
print(total)
PY
)
    [ "$stored" = "$n" ] || { echo "rss: Dovecot holds $stored of $n messages" >&2; exit 1; }
    bash tests/harness/dovecot-down.sh "$W/dc" > /dev/null 2>&1 || true
    rm -rf "$W/dc" "$W/journal.sqlite"*
  fi
done
echo "[rss] rows in $RESULTS" >&2
