import { ERROR_CODES } from '../src/errors.js';
let s = `# reef error codes

Every error reef throws is a \`ReefError\` with one of these stable codes. The CLI prints the code,
the message and the fix, and exits 1 (2 for bad arguments); \`--json\` prints
\`{"error":{"code","message","fix"}}\`. The HTTP column is the status the REST server answers with.
This table is generated from \`src/errors.ts\` (\`npm run docs:errors\`); a test keeps the two equal.

| code | HTTP | meaning | what to do |
|---|---|---|---|
`;
for (const [code, info] of Object.entries(ERROR_CODES)) s += `| \`${code}\` | ${info.http} | ${info.meaning} | ${info.fix} |\n`;
process.stdout.write(s);
