#!/usr/bin/env bash
# run.sh RULES NAME [km options]: fresh account and journal, one run of $KM through the
# proxy with RULES (--io-timeout ${IOT:-10}); prints exit code, wall time, report totals,
# altered / in-doubt / failed counts from the JSON report, and check.py's exactly-once line.
source "$(dirname "$0")/lib.sh"
rules=$1 name=$2; shift 2
S=${STORE:-/tmp/tailA-small}
L=/tmp/tailA-$name
reset_bench
rm -f $L.sqlite* $L.proxy.log $L.json
TRACE=${TRACE:-1} proxy_start $rules $L.proxy.log
s=$(date +%s.%N)
km $PPORT $S $L.sqlite --io-timeout ${IOT:-10} --report $L.json "$@" >$L.out 2>$L.err
rc=$?
e=$(date +%s.%N)
proxy_stop
printf "%s [%s]: rc=%s wall=%.1fs\n" $name "$(basename $(dirname $KM))" $rc $(python3 -c "print($e - $s)")
python3 - $L.json <<'PY'
import json,sys
try: d=json.load(open(sys.argv[1]))
except Exception as e: print("  no report:", e); sys.exit()
t=d['totals']; alt=sum(len(f.get('altered',[])) for a in d['accounts'] for f in a['folders'])
fails=[x['reason'] for a in d['accounts'] for f in a['folders'] for x in f.get('failed',[])]
doubt=[r for r in fails if 'doubt' in r.lower()]
print("  totals:", {k:v for k,v in t.items() if not isinstance(v,(list,dict))})
print(f"  altered={alt} failed={len(fails)} in_doubt={len(doubt)} exit_code={d.get('exit_code')} notes={len(d.get('notes',[]))}")
for r in sorted(set(fails))[:3]: print("   fail:", r[:200])
for a in d['accounts']:
  for f in a['folders']:
    for x in f.get('altered',[])[:2]: print("   altered:", f['folder'], x['reason'][:160])
for n in d.get('notes',[])[:3]: print("   note:", str(n)[:200])
PY
grep -v unencrypted $L.err | head -4
grep -E "rule|hang|stall|bye|close" $L.proxy.log | grep -v "closed$" | head -4
python3 $T/check.py $S $DPORT | tail -1
