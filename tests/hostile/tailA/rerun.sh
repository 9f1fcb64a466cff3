#!/usr/bin/env bash
# rerun.sh NAME [km options]: a second run of $KM on the same account and journal as
# run.sh's NAME (no reset), through the proxy with no fault; prints rc, totals, check.
source "$(dirname "$0")/lib.sh"
name=$1; shift
S=${STORE:-/tmp/tailA-small}
L=/tmp/tailA-$name
TRACE=${TRACE:-1} proxy_start $H/rules/none.json $L.re.proxy.log
s=$(date +%s.%N)
km $PPORT $S $L.sqlite --io-timeout ${IOT:-10} --report $L.re.json "$@" >$L.re.out 2>$L.re.err
rc=$?
e=$(date +%s.%N)
proxy_stop
printf "%s rerun (no fault): rc=%s wall=%.1fs\n" $name $rc $(python3 -c "print($e - $s)")
python3 -c "
import json,sys; d=json.load(open('$L.re.json')); t=d['totals']
fails=[x['reason'] for a in d['accounts'] for f in a['folders'] for x in f.get('failed',[])]
print('  totals:', {k:v for k,v in t.items() if not isinstance(v,(list,dict))}, 'failed=',len(fails))
for r in sorted(set(fails))[:3]: print('   fail:', r[:200])"
grep -v unencrypted $L.re.err | head -4
python3 $T/check.py $S $DPORT | tail -1
