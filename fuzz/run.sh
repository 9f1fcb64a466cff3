#!/usr/bin/env bash
# make fuzz: runs every target of fuzz/ for FUZZ_SECONDS (default 60) with
# cargo fuzz (nightly), seeded from sample-store and, when found, the shared
# corpus (KERIO_CORPUS or ../shared/corpus, read in place: seeds are copied
# into target/fuzz/, never into the repository). Writes the executions of
# each target to target/fuzz/report.md; exits 1 if any target crashed (the
# crashing input is in fuzz/artifacts/TARGET/: turn it into a regression
# test in the ordinary suite, then delete it).
set -uo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
secs=${FUZZ_SECONDS:-60}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
out=$root/target/fuzz
mkdir -p "$out"
corpus=${KERIO_CORPUS:-}
if [ -z "$corpus" ]; then
  for c in "$root/../shared/corpus" /work/shared/corpus; do
    [ -f "$c/MANIFEST.tsv" ] && corpus=$(cd "$c" && pwd) && break
  done
fi
[ -n "$corpus" ] || echo "[fuzz] shared corpus NOT FOUND: seeding from sample-store only" >&2
if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] needs cargo-fuzz on a nightly toolchain: rustup toolchain install nightly; cargo install cargo-fuzz --locked" >&2
  exit 2
fi
# Build every target first: a build failure is not a crash.
if ! cargo "+$toolchain" fuzz build > "$out/build.log" 2>&1; then
  tail -20 "$out/build.log" >&2
  echo "[fuzz] the fuzz targets do not build (see $out/build.log)" >&2
  exit 2
fi
store=$root/sample-store/store/mail
seed() { # seed TARGET FIND-ARGS...
  local t=$1; shift
  local d=$out/seeds/$t
  rm -rf "$d"; mkdir -p "$d"
  local i=0
  while IFS= read -r -d '' f; do
    i=$((i + 1)); [ $i -gt 400 ] && break
    head -c 65536 "$f" > "$d/$(printf %05d $i)"
  done < <(find "$@" -type f -print0 2>/dev/null | sort -z)
  echo "$d"
}
declare -A seeds
seeds[mutf7]=$(seed mutf7 "$store" -name status.fld)
printf 'Ank&APw-ndigungen' > "${seeds[mutf7]}/name1"; printf '&2D3eAQ-' > "${seeds[mutf7]}/name2"
seeds[index_fld]=$(seed index_fld "$store" -name 'index.*')
seeds[status_fld]=$(seed status_fld "$store" -name status.fld)
seeds[message]=$(seed message "$store" ${corpus:+"$corpus/fixtures"} -name '*.eml')
seeds[wrapper]=$(seed wrapper "$store" -path '*Contacts*' -name '*.eml' -o -path '*Calendar*' -name '*.eml' -o -path '*Tasks*' -name '*.eml' -o -path '*Notes*' -name '*.eml')
seeds[vcard]=$(seed vcard ${corpus:+"$corpus/calendar-contacts"} "$store" -name '*.vcf' -o -path '*Contacts*' -name '*.eml')
seeds[ical]=$(seed ical ${corpus:+"$corpus/calendar-contacts"} -name '*.ics' -o -name '*.vcs')
seeds[users_cfg]=$(seed users_cfg "$root/sample-store" -name '*.cfg')
seeds[backup_zip]=$(seed backup_zip "$root/tests" -name '*.zip')
python3 - "${seeds[backup_zip]}" <<'PY'
import sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(d + "/full.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("store/mail/example.com/alice/INBOX/#msgs/00000001.eml", "Subject: x\r\n\r\nbody\r\n")
    z.writestr("store/mail/example.com/alice/INBOX/index.fld", "")
    z.writestr("users.cfg", "<config></config>")
with zipfile.ZipFile(d + "/backslash.zip", "w") as z:
    z.writestr("mail\\example.com\\bob\\INBOX\\#msgs\\00000002.eml", "Subject: y\r\n\r\n")
PY
seeds[imap_append]=$out/seeds/imap_append
mkdir -p "${seeds[imap_append]}"
printf '\x0bA0 OK [APPENDUID 1 1:2] done\r\nA1 NO [TRYCREATE] no\r\n' > "${seeds[imap_append]}/ok"
printf '\x00+ go\r\n* 3 EXISTS\r\nA0 OK [APPENDUID 7 3] x\r\n' > "${seeds[imap_append]}/sync"
printf '\x01* BYE shutting down\r\n' > "${seeds[imap_append]}/bye"
report=$out/report.md
{
  echo "| target | seconds | executions | result |"
  echo "|---|---:|---:|---|"
} > "$report"
failed=0
for t in mutf7 index_fld status_fld message wrapper vcard ical users_cfg backup_zip imap_append; do
  work=$out/corpus/$t
  mkdir -p "$work"
  log=$out/$t.log
  echo "[fuzz] $t for ${secs}s" >&2
  cargo "+$toolchain" fuzz run "$t" "$work" "${seeds[$t]}" -- \
    -max_total_time="$secs" -print_final_stats=1 -max_len=262144 -rss_limit_mb=2048 -timeout=10 \
    > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc = 0 ]; then res="no crash"
  elif grep -q 'Test unit written to' "$log"; then
    res="CRASH: $(grep -o 'Test unit written to .*' "$log" | tail -1 | cut -c22-)"; failed=1
  else res="did not run (exit $rc, see $log)"; failed=1; fi
  echo "| $t | $secs | ${execs:-?} | $res |" >> "$report"
done
cat "$report"
exit $failed
