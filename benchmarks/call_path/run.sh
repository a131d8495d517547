#!/usr/bin/env bash
# Re-measures the call path in one command: builds bench_call_path (preset release), runs it five
# times, writes its JSON (Google Benchmark's, with the ratios) beside this script, redraws
# docs/benchmarks-call-path.svg from every JSON there, and prints the rows for docs/benchmarks.md.
#
#   benchmarks/call_path/run.sh [NAME] [extra cmake configure options...]
#
# NAME is the JSON's name, `after` when not given; before.json holds the figures of the code
# before the call protocol moved into the facade. Needs gnuplot (Debian package gnuplot-nox)
# and jq (rows.jq joins the runs' rows for plot.gp); the plot is redrawn by hand, not in CI.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
name=${1:-after}
(($# > 0)) && shift
for tool in gnuplot jq cmake; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (Debian: apt-get install gnuplot-nox jq cmake)" >&2; exit 1; }
done

cd "$root"
cmake --preset release "$@" >/dev/null
cmake --build build/release --target bench_call_path -j2
build/release/benchmarks/call_path/bench_call_path --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out="$here/$name.json" --benchmark_out_format=json

args="before='$here/before.json'; rows_jq='$here/rows.jq'; out='$root/docs/benchmarks-call-path.svg'"
[[ -f "$here/before.json" ]] || args="before='$here/$name.json'; rows_jq='$here/rows.jq'; out='$root/docs/benchmarks-call-path.svg'"
[[ "$name" != before && -f "$here/before.json" ]] && args+="; after='$here/$name.json'"
gnuplot -e "$args" "$here/plot.gp"
echo "run.sh: wrote $here/$name.json and docs/benchmarks-call-path.svg"

# The table of docs/benchmarks.md, from this run.
echo
echo "| benchmark | time | baseline | ratio | target | met? |"
echo "|---|---|---|---|---|---|"
jq -r '
  def ns: if . == null then "-" elif . >= 1000 then "\(. / 1000 * 100 | round / 100) us" else "\(. * 10 | round / 10) ns" end;
  def target: [(if .max_ns then "<= \(.max_ns) ns" else empty end), (if .max_ratio then "<= \(.max_ratio)x" else empty end)]
              | if length == 0 then "-" else join(", ") end;
  .ratios[] | "| \(.label) | \(.time_ns | ns) | \(.baseline_ns | ns) | \(if .ratio then "\(.ratio * 100 | round / 100)x" else "-" end) | \(target) | \(if .met == null then "-" elif .met then "yes" else "**no**" end) |"
' "$here/$name.json"
