/**
 * Environment probes on fixture trees of /proc and /sys (test/fixtures/bench/)
 * and a stand-in for vcgencmd (a function returning canned output).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseCpuinfo, parseLoadavg, parseThrottled, parseVcgencmdTemp, probeEnv, type CommandRunner } from '../../src/bench/env.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'bench');
const base = { platform: 'linux', kernel: '6.1.0-test', node: 'v20.0.0' };

/** Stand-in for vcgencmd on a Raspberry Pi that is throttling now. */
const vcgencmd: CommandRunner = async (cmd, args) => {
  if (cmd !== 'vcgencmd') return null;
  if (args[0] === 'get_throttled') return 'throttled=0x50005\n';
  if (args[0] === 'measure_temp') return "temp=84.3'C\n";
  return null;
};
const noCommands: CommandRunner = async () => null;

describe('probeEnv on a Raspberry Pi 4 tree', () => {
  it('reads the CPU, board, governor, frequencies, temperature and throttling, and warns', async () => {
    const env = await probeEnv({ ...base, root: join(FIXTURES, 'rpi4'), arch: 'arm64', run: vcgencmd });
    expect(env.cpu).toEqual({ model: 'Cortex-A72', cores: 4, hardware: 'BCM2835' });
    expect(env.board).toBe('Raspberry Pi 4 Model B Rev 1.4');
    expect(env.governor).toBe('ondemand');
    expect(env.freqMHz).toEqual({ cur: 1500, min: 600, max: 1800 });
    expect(env.thermal).toEqual([{ zone: 'thermal_zone0', type: 'cpu-thermal', celsius: 84.312 }]);
    expect(env.throttled).toEqual({ raw: '0x50005', now: ['under-voltage', 'throttled'], sinceBoot: ['under-voltage', 'throttled'] });
    expect(env.coreThrottleCount).toBeNull();
    expect(env.loadAvg).toEqual([0.1, 0.2, 0.3]);
    expect(env.warnings).toEqual([
      'CPU frequency governor is "ondemand", not "performance": latency varies with frequency scaling ' +
        '(set it with `echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor`)',
      'thermal_zone0 (cpu-thermal) is at 84.3 C: the CPU may throttle',
      'the firmware reports under-voltage, throttled now (throttled=0x50005)',
    ]);
  });

  it('without vcgencmd: throttled is null and nothing is said about it', async () => {
    const env = await probeEnv({ ...base, root: join(FIXTURES, 'rpi4'), arch: 'arm64', run: noCommands });
    expect(env.throttled).toBeNull();
    expect(env.warnings.some((w) => w.includes('firmware'))).toBe(false);
  });
});

describe('probeEnv on an x86 tree', () => {
  it('reads model name, performance governor (no warning), zones in numeric order, throttle counts', async () => {
    const env = await probeEnv({ ...base, root: join(FIXTURES, 'x86'), arch: 'x64', run: noCommands });
    expect(env.cpu).toEqual({ model: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz', cores: 2, hardware: null });
    expect(env.board).toBeNull();
    expect(env.governor).toBe('performance');
    expect(env.freqMHz).toEqual({ cur: 2900, min: null, max: null });
    expect(env.thermal).toEqual([
      { zone: 'thermal_zone0', type: 'x86_pkg_temp', celsius: 45 },
      { zone: 'thermal_zone2', type: 'acpitz', celsius: 27.8 },
      { zone: 'thermal_zone10', type: 'iwlwifi_1', celsius: 39 },
    ]);
    expect(env.coreThrottleCount).toBe(7);
    expect(env.loadAvg).toEqual([2.5, 1, 0.5]);
    expect(env.warnings).toEqual(['load average 2.50 over the last minute on 2 cores: other work competes for the CPU']);
    expect(env).toMatchObject({ platform: 'linux', arch: 'x64', kernel: '6.1.0-test', node: 'v20.0.0' });
  });
});

describe('probeEnv on a VM with /proc/cpuinfo only', () => {
  it('says the governor could not be checked', async () => {
    const env = await probeEnv({ ...base, root: join(FIXTURES, 'bare'), arch: 'x64', run: noCommands });
    expect(env.cpu).toEqual({ model: 'AMD EPYC', cores: 2, hardware: null });
    expect(env.governor).toBeNull();
    expect(env.freqMHz).toBeNull();
    expect(env.thermal).toEqual([]);
    expect(env.loadAvg).toBeNull();
    expect(env.warnings).toEqual(['CPU frequency governor not exposed (no cpufreq in /sys): frequency scaling could not be checked']);
  });

  it('vcgencmd temperature stands in when there are no thermal zones', async () => {
    const env = await probeEnv({ ...base, root: join(FIXTURES, 'bare'), arch: 'arm64', run: vcgencmd });
    expect(env.thermal).toEqual([{ zone: 'vcgencmd', type: 'soc', celsius: 84.3 }]);
  });

  it('a root with nothing at all: unknown CPU, no cores, no throw', async () => {
    const env = await probeEnv({ ...base, root: join(FIXTURES, 'does-not-exist'), arch: 'x64', run: noCommands });
    expect(env.cpu).toEqual({ model: 'unknown', cores: 0, hardware: null });
  });
});

describe('parsers', () => {
  it('parseThrottled: bits 0-3 now, 16-19 since boot', () => {
    expect(parseThrottled('throttled=0x0')).toEqual({ raw: '0x0', now: [], sinceBoot: [] });
    expect(parseThrottled('throttled=0x80008')).toEqual({ raw: '0x80008', now: ['soft temperature limit'], sinceBoot: ['soft temperature limit'] });
    expect(parseThrottled('throttled=0x20000')).toEqual({ raw: '0x20000', now: [], sinceBoot: ['arm frequency capped'] });
    expect(parseThrottled('VCHI initialization failed')).toBeNull();
  });
  it('parseLoadavg', () => {
    expect(parseLoadavg('0.89 0.46 0.23 1/123 4567\n')).toEqual([0.89, 0.46, 0.23]);
    expect(parseLoadavg('')).toBeNull();
  });
  it('parseVcgencmdTemp', () => {
    expect(parseVcgencmdTemp("temp=48.3'C")).toBe(48.3);
    expect(parseVcgencmdTemp('error')).toBeNull();
  });
  it('parseCpuinfo: an unknown ARM part is named by its id', () => {
    expect(parseCpuinfo('processor\t: 0\nCPU part\t: 0xfff\n')).toEqual({ model: 'ARM CPU part 0xfff', cores: 1, hardware: null });
  });
});
