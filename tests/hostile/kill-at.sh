#!/usr/bin/env bash
# kill-at.sh RULES NAME PATTERN [km options]: fresh account and journal; a run
# through the proxy with RULES; SIGKILL when the proxy log shows PATTERN (grep -E);
# then a rerun (same journal, proxy without rules); prints counts per mailbox.
source "$(dirname "$0")/lib.sh"
rules=$1 name=$2 pat=$3; shift 3
reset_bench
rm -f /tmp/hostile-$name.sqlite* /tmp/hostile-$name.proxy.log /tmp/hostile-$name.rerun.proxy.log
TRACE=1 proxy_start $rules /tmp/hostile-$name.proxy.log
cd /tmp
( exec $KM migrate --to imap://127.0.0.1:21200 --tls none --account bench@corpus.test --user bench --password-env PW --state /tmp/hostile-$name.sqlite -q --io-timeout ${IOT:-30} "$@" ${STORE:-/tmp/hostile-small} >/tmp/hostile-$name.out 2>/tmp/hostile-$name.err ) &
kp=$!
for i in $(seq 1 3000); do [ "$(grep -cE "$pat" /tmp/hostile-$name.proxy.log)" -ge "${NTH:-1}" ] && break; kill -0 $kp 2>/dev/null || break; sleep 0.01; done
sleep ${KILL_DELAY:-0}
if kill -0 $kp 2>/dev/null; then kill -9 $kp; echo "killed at: $(grep -E "$pat" /tmp/hostile-$name.proxy.log | head -1)"; else echo "run ended before the pattern"; fi
wait $kp 2>/dev/null
proxy_stop
echo "after kill: $(total) on the server: $(counts | tr '\n' ' ')"
TRACE=1 proxy_start $H/rules/none.json /tmp/hostile-$name.rerun.proxy.log
km 21200 ${STORE:-/tmp/hostile-small} /tmp/hostile-$name.sqlite --io-timeout ${IOT:-30} "$@" --report /tmp/hostile-$name.rerun.json >/tmp/hostile-$name.rerun.out 2>/tmp/hostile-$name.rerun.err
echo "rerun rc=$?: $(grep -E '^TOTAL' /tmp/hostile-$name.rerun.out)"
proxy_stop
echo "after rerun: $(total): $(counts | tr '\n' ' ')"
dups
