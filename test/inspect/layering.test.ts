/**
 * The imports between the tooling modules point one way: inspect -> model, edgetpu;
 * edgetpu -> model; model imports neither (issue 9: model/inspect.ts used to import edgetpu/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../shared.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Files of src/<from> that import from src/<to>, as "file -> specifier". */
function importsOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (const f of sources(join(REPO_ROOT, 'src', from))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/from '((?:\.\.\/)+)([^']+)'/g)) {
      const target = relative(join(REPO_ROOT, 'src'), join(f, '..', m[1]!, m[2]!));
      if (target.startsWith(`${to}/`)) out.push(`${relative(REPO_ROOT, f)} -> ${m[1]}${m[2]}`);
    }
  }
  return out;
}

describe('tooling imports point one way', () => {
  it('src/model imports neither src/edgetpu nor src/inspect', () => {
    expect([...importsOf('model', 'edgetpu'), ...importsOf('model', 'inspect')]).toEqual([]);
  });

  it('src/edgetpu does not import src/inspect', () => {
    expect(importsOf('edgetpu', 'inspect')).toEqual([]);
  });

  it('src/inspect does import both (the check above would pass vacuously otherwise)', () => {
    expect(importsOf('inspect', 'model').length).toBeGreaterThan(0);
    expect(importsOf('inspect', 'edgetpu')).toEqual(['src/inspect/report.ts -> ../edgetpu/custom_op.js']);
  });
});
