#!/usr/bin/env node
// The `reef` command. Runs the compiled CLI (npm run build makes dist/).
import { writeSync } from 'node:fs';
import { main } from '../dist/cli/index.js';

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
