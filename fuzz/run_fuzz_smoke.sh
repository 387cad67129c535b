#!/usr/bin/env bash
# The `fuzz_smoke` test: builds the libFuzzer targets with clang in a build
# directory of their own (the ordinary build uses gcc) and runs each for a
# short while (BRIGADE_FUZZ_SECONDS, default 25) on a corpus that starts from
# valid seeds and grows across runs.
#   usage: fuzz/run_fuzz_smoke.sh SOURCE_DIR BUILD_DIR
#   exit:  0 no finding, 1 a finding or a build failure, 77 skipped (no clang)
set -euo pipefail

src=${1:?source dir}
out=${2:?build dir}
seconds=${BRIGADE_FUZZ_SECONDS:-25}
# -O0 would compile about 40% faster but runs 10 to 60 times fewer inputs.
cxxflags=${BRIGADE_FUZZ_CXXFLAGS:-"-O1 -gline-tables-only"}
targets=(session_fuzzer record_fuzzer)

if ! command -v clang++ >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
  echo "fuzz_smoke: SKIPPED: clang is not installed (scripts/setup installs clang and libclang-rt-14-dev)"
  exit 77
fi
mkdir -p "$out"
probe="$out/probe.cpp"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe"
if ! clang++ -fsanitize=fuzzer,address,undefined,float-cast-overflow "$probe" -o "$out/probe" >"$out/probe.log" 2>&1; then
  echo "fuzz_smoke: SKIPPED: clang cannot link libFuzzer (install libclang-rt-14-dev):"
  cat "$out/probe.log"
  exit 77
fi

began=$(date +%s)
if [ ! -f "$out/build.ninja" ]; then
  cmake -S "$src" -B "$out" -G Ninja -DBRIGADE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$cxxflags" \
    >"$out/configure.log" 2>&1 || { cat "$out/configure.log"; exit 1; }
fi
# brigade_client is built too (not fuzzed): this clang build is where the
# thread-safety annotations of server and client are proven (-Wthread-safety).
ninja -C "$out" "${targets[@]}" brigade_client >"$out/build.log" 2>&1 || { tail -n 60 "$out/build.log"; exit 1; }
echo "fuzz_smoke: built ${targets[*]} in $(( $(date +%s) - began )) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
pids=()
for target in "${targets[@]}"; do
  corpus="$out/corpus/$target"
  mkdir -p "$corpus" "$out/artifacts"
  BRIGADE_FUZZ_SEEDS="$corpus" "$out/fuzz/$target" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$out/artifacts/$target-" \
    "$corpus" >"$out/$target.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  target=${targets[$i]}
  if wait "${pids[$i]}"; then
    echo "fuzz_smoke: $target: no finding ($(grep -E 'stat::number_of_executed_units' "$out/$target.log" | awk '{print $2}') runs," \
         "corpus $(ls "$out/corpus/$target" | wc -l) inputs)"
  else
    echo "fuzz_smoke: $target FOUND A PROBLEM; its log ends with:"
    tail -n 60 "$out/$target.log"
    echo "reproduce: $out/fuzz/$target $out/artifacts/$target-<crash file>"
    status=1
  fi
done
exit $status
