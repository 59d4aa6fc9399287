#!/usr/bin/env bash
# Instructions per simulated data segment, under valgrind's callgrind: load-independent, so two
# trees (or two commits) compare to within a fraction of a percent even on a busy machine, where
# wall-clock rates move by 15%.  Each figure is a difference of two runs, so start-up cancels out:
# one connection (5 MB less 1 MB) and many (50 connections less 10, 100 KB each), as in
# benchmarks/tcp_bulk.py.  Usage: bash benchmarks/callgrind_per_segment.sh [TREE]  (default: this one)
set -euo pipefail
TREE=$(cd "${1:-$(dirname "$0")/..}" && pwd)
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
python3 -m compileall -q "$TREE/netsim" "$TREE/benchmarks" >/dev/null
PYTHON=$(python3 -c 'import sys; print(sys.executable)')  # the interpreter itself, not a shim script
run() {  # mode arg -> "instructions segments"
  local out
  out=$(cd "$TREE" && valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PYTHON" -c "
import sys; sys.path.insert(0, 'benchmarks')
import tcp_bulk
from netsim.units import parse_size
if '$1' == 'one':
    segments = tcp_bulk.one_connection(parse_size('$2'))[1]
else:
    segments = tcp_bulk.many_connections(int('$2'), 100_000)[1]
print('segments', segments)" 2>&1)
  echo "$(echo "$out" | grep -o 'Collected : [0-9]*' | grep -o '[0-9]*') $(echo "$out" | awk '/^segments/ {print $2}')"
}
read -r a1 s1 < <(run one 1MB)
read -r a2 s2 < <(run one 5MB)
read -r b1 t1 < <(run many 10)
read -r b2 t2 < <(run many 50)
echo "one connection:  $(( (a2 - a1) / (s2 - s1) )) instructions per data segment ($s1 and $s2 segments)"
echo "50 connections:  $(( (b2 - b1) / (t2 - t1) )) instructions per data segment ($t1 and $t2 segments)"
