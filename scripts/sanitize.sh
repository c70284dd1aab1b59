#!/usr/bin/env bash
# Sanitizer builds without the trainer and the Python module (the sanitizers cover neither libtorch
# nor a module loaded into an uninstrumented python):
#   asan: AddressSanitizer + UBSan into build-asan/, running the unit, parity and golden tests;
#   tsan: ThreadSanitizer into build-tsan/, running the batcher's and the server's unit tests and the
#         server end to end (golden_serve, golden_serve_api); its reports are printed when one fails.
# usage: scripts/sanitize.sh [asan] [tsan]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(asan tsan)
configure() {  # DIR FLAGS
  cmake -S . -B "$1" -G Ninja -DEMOT5_BUILD_TRAINER=OFF -DEMOT5_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$2" -DCMAKE_CXX_FLAGS="$2" -DCMAKE_EXE_LINKER_FLAGS="$2" -DCMAKE_SHARED_LINKER_FLAGS="$2" >/dev/null
}
for kind in "${kinds[@]}"; do
  case "$kind" in
    asan)
      configure build-asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
      cmake --build build-asan -j "$(nproc)"
      EMOT5_SANITIZER=asan ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        ctest --test-dir build-asan -L "unit|parity|golden" -LE "slow|browser" --output-on-failure -j 2
      ;;
    tsan)
      configure build-tsan "-fsanitize=thread -fno-omit-frame-pointer"
      cmake --build build-tsan -j "$(nproc)" --target test_batcher test_http_api emot5_cli
      # libgomp, libdnnl and libstdc++ are not built with ThreadSanitizer: what happens inside them
      # cannot be seen, only suppressed (tests/tsan.supp says what and why).
      reports=$(mktemp -d)
      if ! EMOT5_SANITIZER=tsan TSAN_OPTIONS="halt_on_error=1:suppressions=$PWD/tests/tsan.supp:log_path=$reports/tsan" \
        ctest --test-dir build-tsan -R "^(Batcher|HttpApi|Metrics)\.|^golden_serve(_api)?$" --output-on-failure; then
        cat "$reports"/tsan.* 2>/dev/null || true
        exit 1
      fi
      rm -rf "$reports"
      ;;
    *) echo "unknown sanitizer '$kind' (asan, tsan)" >&2; exit 2 ;;
  esac
done
