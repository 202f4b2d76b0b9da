// Regenerates src/model/tflite/*.generated.ts from the .fbs files beside this script.
// Run: npx tsx schema/generate.ts   (test/model/schema.test.ts checks the committed output is current)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFbs } from '../src/model/fbs/parse.js';
import { generateTypeScript } from '../src/model/fbs/codegen.js';

const here = dirname(fileURLToPath(import.meta.url));
const jobs = [
  ['tflite_schema.fbs', '../src/model/tflite/schema.generated.ts'],
  ['metadata_schema.fbs', '../src/model/tflite/metadata_schema.generated.ts'],
] as const;
for (const [fbs, ts] of jobs) {
  const spec = parseFbs(readFileSync(join(here, fbs), 'utf8'));
  writeFileSync(join(here, ts), generateTypeScript(spec, `schema/${fbs}`));
  console.log(`${fbs} -> ${ts}: ${Object.keys(spec.tables).length} tables, ${Object.keys(spec.enums).length} enums, ${Object.keys(spec.unions).length} unions`);
}
