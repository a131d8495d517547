#!/usr/bin/env bash
# Runs cordon's libFuzzer harnesses for DURATION seconds each over a copy of their seed corpora,
# failing when any harness finds a crash, leak, timeout or broken property.
#
#   tests/fuzz/run.sh DURATION [HARNESS...]      (default: every harness that was built)
#
# CORDON_FUZZ_BUILD names the directory holding the harness binaries (default build/fuzz/tests/fuzz);
# CORDON_FUZZ_JOBS runs that many libFuzzer workers per harness (default 1); extra libFuzzer flags
# go in CORDON_FUZZ_FLAGS (with -fork and -ignore_crashes=1 a run goes on past findings, and
# still fails). Findings are kept in the temporary directory the script prints.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
duration="${1:?usage: run.sh DURATION [HARNESS...]}"
shift
build="${CORDON_FUZZ_BUILD:-${here}/../../build/fuzz/tests/fuzz}"
jobs="${CORDON_FUZZ_JOBS:-1}"
harnesses=("$@")
if [[ ${#harnesses[@]} -eq 0 ]]; then
  for dir in "${here}"/corpus/*/; do
    name="$(basename "${dir}")"
    [[ -x "${build}/${name}" ]] && harnesses+=("${name}")
  done
fi
[[ ${#harnesses[@]} -gt 0 ]] || { echo "run.sh: no harness binaries in ${build}" >&2; exit 2; }

status=0
for name in "${harnesses[@]}"; do
  binary="${build}/${name}"
  [[ -x "${binary}" ]] || { echo "run.sh: ${binary} is not built" >&2; exit 2; }
  work="$(mktemp -d "${TMPDIR:-/tmp}/cordon-fuzz-${name}.XXXXXX")"
  mkdir -p "${work}/corpus" "${work}/findings"
  cp -r "${here}/corpus/${name}/." "${work}/corpus/"
  echo "== fuzz ${name}: ${duration}s over $(ls "${work}/corpus" | wc -l) seeds in ${work}"
  flags=(-max_total_time="${duration}" -timeout=10 -rss_limit_mb=2560
         -print_final_stats=1 -artifact_prefix="${work}/findings/")
  [[ -f "${here}/${name}.dict" ]] && flags+=(-dict="${here}/${name}.dict")
  if [[ "${jobs}" -gt 1 ]]; then flags+=(-fork="${jobs}"); fi
  # shellcheck disable=SC2086
  if ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}" \
     UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
     "${binary}" "${flags[@]}" ${CORDON_FUZZ_FLAGS:-} "${work}/corpus" >"${work}/log" 2>&1 &&
     [[ -z "$(ls -A "${work}/findings")" ]]; then
    # One worker prints its executions at the end; -fork prints a running total.
    grep -E '^stat::number_of_executed_units|^Done |^#[0-9]+: cov' "${work}/log" | tail -2 || true
    rm -rf "${work}"
  else
    status=1
    echo "!! fuzz ${name} found a problem; log and input in ${work}" >&2
    grep -E -A25 'ERROR|property broken|runtime error' "${work}/log" | head -60 >&2 || tail -40 "${work}/log" >&2
    ls "${work}/findings" >&2
  fi
done
exit "${status}"
