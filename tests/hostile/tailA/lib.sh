# source tests/hostile/tailA/lib.sh: tailA's own Dovecot (21643) and proxy port (21700),
# so the attacks do not share the account with other helpers; the helpers are ../lib.sh's.
NEW=${NEW:-/tmp/km3/kerio-migrate}
OLD=${OLD:-/tmp/km/kerio-migrate}
KM=${KM:-$NEW}
DC=${DC:-/tmp/tailA-dc}
DPORT=${DPORT:-21643}
PPORT=${PPORT:-21700}
T="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$T/../lib.sh"
