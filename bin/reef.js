#!/usr/bin/env node
// The `reef` command. Runs the compiled CLI (npm run build makes dist/).
import { main } from '../dist/cli/index.js';

// A reader that stops early (`reef ... | head`) closes the pipe: stop quietly, as other tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv);
