/**
 * SIGTERM while `reef serve` is still loading its models: the handlers are in before the first load,
 * so the signal stops the loading (the load under way finishes, no other starts), nothing listens,
 * and the process exits 0 with the {"stopped":true} line -- not killed by the signal (143).
 */
import { expect, it } from 'vitest';
import { MODELS, addVersion, spawnServe, tempDir, until } from './helpers.js';

it('SIGTERM during start-up: loads nothing more, never listens, exits 0 with {"stopped":true}', async () => {
  const tmp = tempDir('startup-signal');
  const N = 12;
  for (let i = 0; i < N; i++) addVersion(tmp.dir, `m${String(i).padStart(2, '0')}`, 1, MODELS.mobilenet);
  const { child, out, exited } = spawnServe(['--model-repository', tmp.dir, '--log-level', 'info', '--interpreters', '1']);
  try {
    const loaded = () => out().split('\n').filter((l) => l.includes('"msg":"model m') && l.includes('loaded')).length;
    await until('the first model to load', async () => loaded() >= 1, 30000);
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15000))]);
    expect(code).toBe(0);
    const lines = out().trim().split('\n');
    expect(lines.pop()).toBe('{"stopped":true,"signal":"SIGTERM"}');
    expect(lines.some((l) => l.includes('"url"'))).toBe(false);
    // It stopped loading: the signal came after the first of N loads, each of which takes far longer than its delivery.
    expect(loaded()).toBeLessThan(N);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    tmp.cleanup();
  }
}, 60000);
