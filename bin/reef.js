#!/usr/bin/env node
// The `reef` command. Runs the compiled CLI (npm run build makes dist/).
import { writeSync } from 'node:fs';

// reef needs Node 20 (package.json engines, reef doctor's `node` check): on an older Node say so
// before loading anything that would fail less clearly.
const MIN_NODE_MAJOR = 20;
if (Number(process.versions.node.split('.')[0]) < MIN_NODE_MAJOR) {
  const { ERROR_CODES } = await import('../dist/errors.js');
  writeSync(2, `reef: REEF_NODE_TOO_OLD: Node ${process.versions.node} is too old: reef needs Node ${MIN_NODE_MAJOR} or newer\n  fix: ${ERROR_CODES.REEF_NODE_TOO_OLD.fix}\n`);
  process.exit(1);
}
const { main } = await import('../dist/cli/index.js');

// A reader that stops early (`reef ... | head`) closes the pipe: stop quietly, as other tools do.
// Any other failure to write what reef prints (a full disk, a hung-up terminal) is one line, exit 1.
for (const [stream, name] of [[process.stdout, 'stdout'], [process.stderr, 'stderr']]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    if (name === 'stdout') {
      try {
        writeSync(2, `reef: REEF_OUTPUT_UNWRITABLE: cannot write to ${name}: ${e.message}\n  fix: Check that the folder exists and is writable, and that the path is not a folder.\n`);
      } catch { /* stderr is gone too */ }
    }
    process.exit(1);
  });
}

process.exitCode = await main(process.argv);
