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
