/**
 * reef camera --mqtt against a real Mosquitto broker (Debian package mosquitto), started by this test
 * on a free loopback port with its own config file in a temp dir, and stopped by its PID.
 */
import { describe, it, expect, afterAll, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { sharedPath } from '../shared.js';
import { cli } from '../cli.js';
import { parseMqttUrl } from '../../src/camera/mqtt.js';
import { isReefError } from '../../src/errors.js';

const SSD = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const VIDEO = sharedPath('video/vtest_h264_crf28.mp4');
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
const dir = mkdtempSync(join(tmpdir(), 'reef-mqtt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within ${ms} ms (log: ${join(dir, 'mosquitto.log')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const brokers = new Set<ChildProcess>();
/** Starts mosquitto on 127.0.0.1:port with a config of its own; resolves once it listens. */
async function startBroker(port: number): Promise<ChildProcess> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed (/usr/sbin/mosquitto): install the Debian package mosquitto (scripts/setup.sh does)');
  const conf = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', `log_dest file ${join(dir, 'mosquitto.log')}`, ''].join('\n'));
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  brokers.add(child);
  child.once('exit', () => brokers.delete(child));
  await waitForPort(port, 5000);
  return child;
}
async function stopBroker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid as number, 'SIGTERM');
  await exited;
}
afterEach(async () => { for (const b of [...brokers]) await stopBroker(b); });

interface Msg { topic: string; text: string; at: number }
/** A subscriber on TOPIC/# that records every message (and reconnects quickly). */
async function subscriber(port: number, topic: string): Promise<{ client: MqttClient; msgs: Msg[] }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200, clientId: `reef-test-sub-${process.pid}` });
  const msgs: Msg[] = [];
  client.on('message', (t, payload) => msgs.push({ topic: t, text: payload.toString(), at: Date.now() }));
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(`${topic}/#`, { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  });
  return { client, msgs };
}
const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

type Event = { type: string; label: string; frame: number; reason?: string; best: { score: number } };
type Line = { frame?: number; ts?: number; summary?: { processed: number; events: number; mqtt: { published: number; reconnects: number; dropped: number; pending: number } } };

describe('reef camera --mqtt (real Mosquitto on loopback)', () => {
  it('events go to TOPIC/events exactly as --events writes them; TOPIC/available says online, then offline', async () => {
    const port = await freePort();
    await startBroker(port);
    const sub = await subscriber(port, 'reef/cam1');
    try {
      const file = join(dir, 'events.jsonl');
      const r = await cli('camera', SSD, '--source', VIDEO, '--frames', '6', '--events', file, '--mqtt', `mqtt://127.0.0.1:${port}/reef/cam1`, '--json');
      expect(r.code, r.err).toBe(0);
      const summary = (JSON.parse(r.out.trim().split('\n').pop() as string) as Line).summary!;
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(2);
      await until(() => sub.msgs.filter((m) => m.topic === 'reef/cam1/events').length >= lines.length && sub.msgs.at(-1)?.text === 'offline', 5000, 'the events and "offline"');
      expect(sub.msgs.filter((m) => m.topic === 'reef/cam1/events').map((m) => m.text)).toEqual(lines);
      const person = lines.map((l) => JSON.parse(l) as Event).filter((e) => e.label === 'person');
      expect(person.map((e) => [e.type, e.frame, e.reason])).toEqual([['start', 2, undefined], ['end', 6, 'stopped']]);
      expect(sub.msgs.filter((m) => m.topic === 'reef/cam1/available').map((m) => m.text)).toEqual(['online', 'offline']);
      expect(summary.mqtt).toEqual({ published: lines.length, reconnects: 0, dropped: 0, pending: 0 });
      expect(summary.events).toBe(lines.length);
    } finally {
      await new Promise<void>((r) => sub.client.end(true, {}, () => r()));
    }
  });

  it('the broker dies mid-run and comes back: the camera keeps processing frames, reconnects (counted) and delivers the events held meanwhile', async () => {
    const port = await freePort();
    let broker = await startBroker(port);
    const sub = await subscriber(port, 'reef/cam2');
    try {
      // Person events start and end within the outage: --event-end 1 ends one on the first frame without it.
      const run = cli('camera', SSD, '--source', VIDEO, '--realtime', '--duration', '10', '--event-start', '1', '--event-end', '1',
        '--mqtt', `mqtt://127.0.0.1:${port}/reef/cam2`, '--json');
      await until(() => sub.msgs.some((m) => m.topic === 'reef/cam2/events'), 8000, 'the first event');
      const killedAt = Date.now();
      await stopBroker(broker);
      await new Promise((r) => setTimeout(r, 2500));
      const backAt = Date.now();
      broker = await startBroker(port);
      const r = await run;
      expect(r.code, r.err).toBe(0);
      const out = r.out.trim().split('\n').map((l) => JSON.parse(l) as Line);
      const summary = out.pop()!.summary!;
      // the camera went on during the outage
      const during = out.filter((l) => (l.ts as number) > killedAt + 100 && (l.ts as number) < backAt);
      expect(during.length).toBeGreaterThanOrEqual(2);
      expect(summary.mqtt.reconnects).toBe(1);
      expect([summary.mqtt.dropped, summary.mqtt.pending]).toEqual([0, 0]);
      expect(summary.mqtt.published).toBe(summary.events);
      expect(r.err).toContain(`camera: MQTT broker lost (`);
      expect(r.err).toContain(`camera: MQTT broker mqtt://127.0.0.1:${port} connected again`);
      // the last event (the run stopping) reached the subscriber after the broker came back
      await until(() => sub.msgs.some((m) => m.topic === 'reef/cam2/events' && (JSON.parse(m.text) as Event).reason === 'stopped'), 5000, 'the "stopped" event');
    } finally {
      await new Promise<void>((r) => sub.client.end(true, {}, () => r()));
    }
  });

  it('BAD CALL - a URL that is not mqtt://host:port/topic: REEF_INVALID_ARGUMENT before anything starts', async () => {
    expect(parseMqttUrl('mqtt://127.0.0.1:1883/reef/cam1')).toEqual({ url: 'mqtt://127.0.0.1:1883', topic: 'reef/cam1' });
    for (const bad of ['http://127.0.0.1/x', 'mqtt://127.0.0.1:1883', 'mqtt://127.0.0.1:1883/a/#', 'not a url']) {
      let e: unknown;
      try { parseMqttUrl(bad); } catch (x) { e = x; }
      expect(isReefError(e, 'REEF_INVALID_ARGUMENT'), bad).toBe(true);
    }
    const r = await cli('camera', SSD, '--source', VIDEO, '--mqtt', 'mqtt://127.0.0.1:1883', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.message).toBe('Expected a topic without wildcards in the --mqtt URL\'s path (mqtt://host:port/reef/camera1) but received "mqtt://127.0.0.1:1883"');
  });
});
