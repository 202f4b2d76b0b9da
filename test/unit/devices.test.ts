import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { listProfiles, getProfile, probeHost, matchProfile, ReefError } from '../../src/index.js';
import { parseProfile } from '../../src/devices.js';
import { REPO_ROOT } from '../shared.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'hosts');

describe('device profiles', () => {
  it('ships the five boards, each with the required fields', () => {
    const all = listProfiles();
    expect(all.map((p) => p.id)).toEqual(['coral-dev-board', 'coral-usb-rpi4', 'generic-x86_64-linux', 'raspberry-pi-4', 'raspberry-pi-5']);
    expect(getProfile('raspberry-pi-4')).toMatchObject({ arch: 'arm64', cores: 4, defaultThreads: 4, accelerators: [] });
    expect(getProfile('coral-dev-board').accelerators).toEqual([{ type: 'edgetpu', interface: 'pcie', library: 'libedgetpu.so.1' }]);
  });

  it('reads the host facts from /proc and /sys (fixture trees)', () => {
    expect(probeHost(join(FIXTURES, 'rpi4-coral-usb'), 'linux', 'arm64')).toEqual({
      platform: 'linux', arch: 'arm64', deviceTreeModel: 'Raspberry Pi 4 Model B Rev 1.4', usbIds: ['18d1:9302', '1d6b:0002'],
    });
  });

  it.each([
    ['rpi4-coral-usb', 'arm64', 'coral-usb-rpi4'],
    ['rpi5', 'arm64', 'raspberry-pi-5'],
    ['coral-dev-board', 'arm64', 'coral-dev-board'],
    ['rpi5', 'x64', 'generic-x86_64-linux'],
  ])('host %s (%s) matches %s', (fixture, arch, id) => {
    expect(matchProfile(probeHost(join(FIXTURES, fixture), 'linux', arch), listProfiles())?.id).toBe(id);
  });

  it('a Pi 4 without the USB accelerator is a plain Pi 4', () => {
    const host = { platform: 'linux', arch: 'arm64', deviceTreeModel: 'Raspberry Pi 4 Model B Rev 1.1', usbIds: ['1d6b:0002'] };
    expect(matchProfile(host, listProfiles())?.id).toBe('raspberry-pi-4');
  });

  it('an unknown arm64 board matches nothing', () => {
    const host = { platform: 'linux', arch: 'arm64', deviceTreeModel: 'Pine64 RockPro64', usbIds: [] };
    expect(matchProfile(host, listProfiles())).toBeNull();
  });

  it('EXPECTED FAILURE - unknown profile id names the known ones', () => {
    expect(() => getProfile('toaster')).toThrow(new ReefError('REEF_DEVICE_PROFILE_INVALID',
      'unknown device profile "toaster"; known: coral-dev-board, coral-usb-rpi4, generic-x86_64-linux, raspberry-pi-4, raspberry-pi-5'));
  });

  it('EXPECTED FAILURE - malformed profile files', () => {
    expect(() => parseProfile('{', 'x.json')).toThrow(/^device profile x.json is not valid JSON: /);
    expect(() => parseProfile('{"id":"a","name":"b","arch":"x64","cpu":"c","accelerators":[],"match":{}}', 'y.json'))
      .toThrow('device profile y.json: field "defaultThreads" must be a number');
    expect(() => parseProfile('{"id":"a","name":"b","arch":"riscv","cpu":"c","accelerators":[],"defaultThreads":1,"match":{}}', 'z.json'))
      .toThrow('device profile z.json: arch must be "x64" or "arm64", got "riscv"');
    const dir = mkdtempSync(join(tmpdir(), 'reef-dev-'));
    writeFileSync(join(dir, 'bad.json'), '[]');
    expect(() => listProfiles(dir)).toThrow(`device profile ${join(dir, 'bad.json')}: field "id" must be a string`);
  });
});
