#!/usr/bin/env bash
# Builds the Debian package (`make deb`), installs it with dpkg -i on this machine, and
# runs the installed binary on the sample store; checks that the man pages and the
# completions are where man and the shells look. Removes the package again when it was
# not installed before. Run as root (CI does). Prints how long the build took.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
make deb
t1=$(date +%s)
deb=$(ls -t target/debian/kerio-migrate_*.deb | head -1)
was_installed=0
dpkg-query -W -f='${Status}' kerio-migrate 2>/dev/null | grep -q 'install ok installed' && was_installed=1
dpkg -i "$deb"
[ "$was_installed" = 1 ] || trap 'dpkg -r kerio-migrate >/dev/null' EXIT
test "$(command -v kerio-migrate)" = /usr/bin/kerio-migrate || { echo "[deb] kerio-migrate is not /usr/bin/kerio-migrate on PATH" >&2; exit 1; }
/usr/bin/kerio-migrate scan sample-store > target/debian/scan.txt
grep -q "alice@example.com" target/debian/scan.txt || { echo "[deb] scan printed no account:" >&2; cat target/debian/scan.txt >&2; exit 1; }
for f in /usr/share/man/man1/kerio-migrate.1.gz /usr/share/man/man1/kerio-migrate-migrate.1.gz \
         /usr/share/bash-completion/completions/kerio-migrate \
         /usr/share/zsh/vendor-completions/_kerio-migrate \
         /usr/share/fish/vendor_completions.d/kerio-migrate.fish \
         /usr/share/doc/kerio-migrate/README.md /usr/share/doc/kerio-migrate/docs/run-example.toml; do
  test -s "$f" || { echo "[deb] missing after dpkg -i: $f" >&2; exit 1; }
done
zcat /usr/share/man/man1/kerio-migrate-migrate.1.gz | grep -q -- 'report\\-html' || { echo "[deb] the migrate man page lacks --report-html" >&2; exit 1; }
if readelf -S /usr/bin/kerio-migrate | grep -q -E "\.symtab|\.debug_(info|line)"; then echo "[deb] the installed binary is not stripped" >&2; exit 1; fi
echo "[deb] $deb: $(stat -c %s "$deb") bytes; binary $(stat -c %s /usr/bin/kerio-migrate) bytes stripped," \
     "symbols in target/debian/kerio-migrate.debug ($(stat -c %s target/debian/kerio-migrate.debug) bytes);" \
     "make deb took $((t1 - t0)) s; installed and scanned sample-store"
