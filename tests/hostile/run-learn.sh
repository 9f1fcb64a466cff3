#!/usr/bin/env bash
# run-learn.sh RULES NAME [km options]: one run through the proxy with RULES,
# fresh account and journal; prints time, exit code, report totals, counts.
source "$(dirname "$0")/lib.sh"
rules=$1 name=$2; shift 2
reset_bench
rm -f /tmp/hostile-$name.sqlite* /tmp/hostile-$name.proxy.log
proxy_start $rules /tmp/hostile-$name.proxy.log
cd /tmp
s=$(date +%s.%N)
km 21200 ${STORE:-/tmp/hostile-small} /tmp/hostile-$name.sqlite --io-timeout ${IOT:-5} --report /tmp/hostile-$name.json "$@" >/tmp/hostile-$name.out 2>/tmp/hostile-$name.err
rc=$?
e=$(date +%s.%N)
proxy_stop
printf "%s: rc=%s wall=%.1fs\n" $name $rc $(python3 -c "print($e - $s)")
grep -E "^  total|TOTAL|FAILED|stopped|failed" /tmp/hostile-$name.out | head -8
grep -v "unencrypted" /tmp/hostile-$name.err | head -8
echo "server total: $(total)"
grep -v open /tmp/hostile-$name.proxy.log | grep -v closed | head -5
