#!/usr/bin/env bash
# The test command (npm test): build, the native leak check, then the vitest suite; ends with one
# plain summary line "tests: N passed, M failed" counting both.
set -uo pipefail
cd "$(dirname "$0")/.."
npm run build --silent || exit 1
leak_passed=0
leak_failed=0
if bash test/leak/leak.sh; then leak_passed=1; else leak_failed=1; fi
mkdir -p build
rm -f build/vitest-results.json
npm run typecheck --silent || { echo "tests: typecheck failed (npm run typecheck)"; exit 1; }
npx vitest run --reporter=default --reporter=json --outputFile=build/vitest-results.json "$@"
rc=$?
node -e '
  const fs = require("fs");
  const [lp, lf] = process.argv.slice(1).map(Number);
  let r = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0 };
  try { r = JSON.parse(fs.readFileSync("build/vitest-results.json", "utf8")); } catch { r.numFailedTests = 1; }
  const skipped = r.numPendingTests + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests + lp} passed, ${r.numFailedTests + lf} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$leak_passed" "$leak_failed"
if [ "$leak_failed" -ne 0 ]; then exit 1; fi
exit $rc
