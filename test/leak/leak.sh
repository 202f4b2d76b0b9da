#!/usr/bin/env bash
# Leak and memory-error check of the native addon: a load / run / dispose loop
# (with disposal during runs and a failed load) under valgrind memcheck.
# Fails on any definite leak and on any memory error outside the suppressions
# in valgrind.supp (third-party code only). Needs `npm run build` first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="$(cd "$root/.." && pwd)/shared"
model="$shared/models/tflite/vww_96_int8.tflite"
edgetpu="$shared/models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite"
for f in "$model" "$edgetpu"; do
  [ -f "$f" ] || { echo "leak check: test data missing: $f (see ../shared/README.md)" >&2; exit 1; }
done
[ -f "$root/dist/index.js" ] && [ -f "$root/build/Release/reef.node" ] || { echo "leak check: run 'npm run build' first" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "leak check: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
log="$(mktemp)"
status=0
valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --suppressions="$here/valgrind.supp" --error-exitcode=99 --num-callers=30 \
  node "$here/loop.mjs" "$model" 5 "$edgetpu" >"$log" 2>&1 || status=$?
grep -E "leak loop|definitely lost|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== //'
if [ "$status" -ne 0 ]; then
  echo "leak check: FAILED (exit $status); valgrind output:" >&2
  grep -v "INFO: Created TensorFlow Lite" "$log" | tail -80 >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "leak check: passed"
