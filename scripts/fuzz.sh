#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with Debian's clang (-fsanitize=fuzzer,address,undefined)
# into build-fuzz/ and runs each for SECONDS (default 20) over a copy of its seed corpus in
# tests/fuzz/corpus/. Fails on any finding; the crashing input is left in build-fuzz/findings/.
# usage: scripts/fuzz.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors config tokenizer readers timestamp server c_api)
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DEMOT5_BUILD_TESTS=OFF -DEMOT5_BUILD_TRAINER=OFF -DEMOT5_BUILD_PYTHON=OFF -DEMOT5_BUILD_FUZZERS=ON \
  -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")
mkdir -p build-fuzz/findings
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export EMOT5_SPM_MODULE="$PWD/build-fuzz/libemot5_spm.so"
status=0
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"
  rm -rf "$work" && mkdir -p "$work" && cp -r "tests/fuzz/corpus/$t/." "$work/"
  log="build-fuzz/fuzz_$t.log"
  if build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="build-fuzz/findings/${t}-" "$work" > "$log" 2>&1; then
    echo "fuzz_$t: $(grep -Eo '#[0-9]+[[:space:]]+DONE.*' "$log" | tail -1 || tail -1 "$log")"
  else
    echo "fuzz_$t: FINDING (see $log and build-fuzz/findings/)"
    tail -40 "$log"
    status=1
  fi
done
exit $status
