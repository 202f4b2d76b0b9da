#!/usr/bin/env node
// The `reef` command. Runs the compiled CLI (npm run build makes dist/).
import { main } from '../dist/cli/index.js';

process.exitCode = await main(process.argv);
