#!/usr/bin/env bash
# bench/inplace.sh: a Kerio backup ZIP of the benchmark store migrated to a
# Maildir read in place (no --unpack-dir) against unpack + migrate
# (--unpack-dir, one step): wall time and peak RSS (/usr/bin/time -v, the
# median of RUNS runs each, cache warm), and the disk each needs beyond the
# ZIP and the Maildir.
#
#   COPIES=10 (13,980 messages, the corpus x10)  RUNS=3
#   KERIO_CORPUS=DIR (default ../shared/corpus)
#
# Prints one Markdown table on stdout; the README's "Migrating from Kerio
# backup archives" section quotes it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
COPIES=${COPIES:-10}
RUNS=${RUNS:-3}
CORPUS=${KERIO_CORPUS:-$ROOT/../shared/corpus}
W=$(mktemp -d /tmp/kerio-inplace.XXXXXX)
trap 'rm -rf "$W"' EXIT

cargo build --release -q
BIN=$ROOT/target/release/kerio-migrate

N=$(python3 bench/make-store.py "$CORPUS/fixtures" "$W/kerio" "$COPIES")
STORE_BYTES=$(du -sb "$W/kerio" | cut -f1)
ZIP=$W/F20240101T000000Z.zip
(cd "$W/kerio" && zip -qr "$ZIP" .)
rm -rf "$W/kerio"
ZIP_BYTES=$(stat -c %s "$ZIP")
echo "[inplace] $N messages, store $STORE_BYTES B, ZIP $ZIP_BYTES B" >&2

# run NAME CMD...: one timed run; appends "wall_s rss_kb" to $W/t.NAME.
run() {
  local name=$1
  shift
  /usr/bin/time -v "$@" >/dev/null 2>"$W/time.txt" || {
    cat "$W/time.txt" >&2
    exit 1
  }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$W/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")
  echo "$wall $rss" >>"$W/t.$name"
}

for _ in $(seq "$RUNS"); do
  rm -rf "$W/md"
  run inplace "$BIN" --quiet migrate "$ZIP" --to "maildir:$W/md"
  rm -rf "$W/md" "$W/unpacked"
  run unpacked "$BIN" --quiet migrate "$ZIP" --unpack-dir "$W/unpacked" --to "maildir:$W/md"
  rm -rf "$W/md"
  run disk_only "$BIN" --quiet migrate "$W/unpacked" --to "maildir:$W/md"
  run scan_inplace "$BIN" --quiet scan "$ZIP"
done
MD_BYTES=$(du -sb "$W/md" | cut -f1)
UNPACKED_BYTES=$(du -sb "$W/unpacked" | cut -f1)

median() { sort -n -k"$2" "$W/t.$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'; }
row() {
  printf '| %s | %s s | %s MB | %s |\n' "$2" "$(median "$1" 1)" \
    "$(awk -v k="$(median "$1" 2)" 'BEGIN {printf "%.0f", k/1024}')" "$3"
}
echo "| $N messages (store $((STORE_BYTES / 1048576)) MiB, ZIP $((ZIP_BYTES / 1048576)) MiB), to Maildir | wall | peak RSS | disk beyond the ZIP and the Maildir ($((MD_BYTES / 1048576)) MiB) |"
echo "|---|---|---|---|"
row inplace "read in place (\`migrate F….zip\`)" "0"
row unpacked "unpack + migrate (\`--unpack-dir\`, one step)" "$((UNPACKED_BYTES / 1048576)) MiB (the unpack)"
row disk_only "migrate of the unpacked copy alone" "$((UNPACKED_BYTES / 1048576)) MiB"
row scan_inplace "\`scan F….zip\` in place" "0"
for f in "$W"/t.*; do
  echo "[inplace] ${f##*/t.}: $(tr '\n' ' ' <"$f")(wall s, peak RSS KB per run)" >&2
done
