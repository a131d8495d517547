#!/usr/bin/env bash
# Times compiling policies.cpp (umbrella header + four policies + four sandboxes) against
# baseline.cpp (the standard and fmt headers alone), best of N runs each, for g++ and clang++.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
include="$here/../../include"
runs=${RUNS:-5}
best() {
  local compiler=$1 file=$2 best=999999
  for _ in $(seq "$runs"); do
    local start end ms
    start=$(date +%s%N)
    "$compiler" -std=c++20 -O0 -I"$include" -c "$file" -o /dev/null
    end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 ))
    (( ms < best )) && best=$ms
  done
  echo "$best"
}
for compiler in g++-12 clang++-14; do  # fail loudly, not with a meaningless time
  "$compiler" -std=c++20 -I"$include" -fsyntax-only "$here/policies.cpp"
done
printf '%-12s %12s %12s %8s\n' compiler "baseline ms" "cordon ms" ratio
for compiler in g++-12 clang++-14; do
  base=$(best "$compiler" "$here/baseline.cpp")
  mine=$(best "$compiler" "$here/policies.cpp")
  printf '%-12s %12s %12s %7.2fx\n' "$compiler" "$base" "$mine" "$(echo "$mine / $base" | bc -l)"
done
