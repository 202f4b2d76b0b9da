import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, ReefError } from '../../src/index.js';
import { REPO_ROOT } from '../shared.js';

describe('error codes', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(REEF_[A-Z_]+)` \|/gm)].map((m) => m[1]);

  it('every code is documented in docs/errors.md, and nothing else', () => {
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('the documented meaning and fix are the ones in the code table', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row).toBe(`| \`${code}\` | ${info.http} | ${info.meaning} | ${info.fix} |`);
    }
  });

  it('a ReefError carries its code, message and fix', () => {
    const e = new ReefError('REEF_DISPOSED', 'gone');
    expect([e.name, e.code, e.message, e.fix]).toEqual(['ReefError', 'REEF_DISPOSED', 'gone', 'Load the model again with load().']);
    expect(e).toBeInstanceOf(Error);
  });
});

describe('every code the sources use exists', () => {
  it('native/*.cc and src/**/*.ts name only codes in ERROR_CODES (a typo would otherwise become REEF_INVALID_STATE)', async () => {
    const { readdirSync, statSync } = await import('node:fs');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(cc|h|ts)$/.test(f)) files.push(p);
      }
    };
    walk(join(REPO_ROOT, 'native'));
    walk(join(REPO_ROOT, 'src'));
    const used = new Set<string>();
    for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/["'`](REEF_[A-Z_]+)["'`]/g)) used.add(m[1]);
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });
});
