/**
 * Camera events to an MQTT broker (Frigate's idea: camera -> detector -> events -> MQTT). One client
 * per run; the `mqtt` package reconnects on its own (every `reconnectMs`), and while the broker is
 * away events wait in a bounded queue (oldest dropped first, counted), then go out in order. The
 * camera never waits for the broker and never dies because of it.
 *
 * Topics, under the URL's path (`mqtt://host:port/TOPIC`): `TOPIC/events` gets every event as JSON
 * (QoS 1); `TOPIC/available` is `online` while the run lasts and `offline` after it (retained; also
 * the client's last will, so a crash says `offline` too).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { ReefError } from '../errors.js';
import type { CameraEvent } from './events.js';

export interface MqttTarget {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  /** The topic prefix (the URL's path without its leading slash). */
  topic: string;
}

/**
 * Reads `mqtt://host[:port]/topic[/sub...]` (also mqtts://, ws://, wss://).
 * @throws ReefError REEF_INVALID_ARGUMENT for another scheme, no host, or no topic.
 */
export function parseMqttUrl(text: string): MqttTarget {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected mqtt://host:port/topic for --mqtt but received "${text}"`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol) || u.hostname === '') {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected mqtt://host:port/topic (or mqtts://, ws://, wss://) for --mqtt but received "${text}"`);
  }
  const topic = decodeURIComponent(u.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
  if (topic === '' || /[#+]/.test(topic) || /[#?]/.test(text)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a topic without wildcards in the --mqtt URL's path (mqtt://host:port/reef/camera1) but received "${text}"`);
  }
  const auth = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return { url: `${u.protocol}//${auth}${u.host}`, topic };
}

export interface MqttStats {
  /** Events the broker acknowledged (QoS 1 PUBACK). */
  published: number;
  /** Events dropped from the full queue while the broker was away. */
  dropped: number;
  /** Times the connection was lost and made again. */
  reconnects: number;
  /** Events still waiting when the run ended (not delivered). */
  pending: number;
  connected: boolean;
}

export interface MqttSinkOptions {
  /** Reconnect period (default 1000 ms). */
  reconnectMs?: number;
  /** Events kept while the broker is away (default 1000). */
  maxQueue?: number;
  /** Called when the connection is lost and when it is back. */
  onStatus?(s: 'lost' | 'connected', detail: string): void;
}

/** Publishes camera events to a broker; see the file comment. */
export class MqttEventSink {
  private readonly client: MqttClient;
  private readonly queue: string[] = [];
  private inflight = 0;
  private everConnected = false;
  private lost = false;
  readonly stats: MqttStats = { published: 0, dropped: 0, reconnects: 0, pending: 0, connected: false };

  constructor(readonly target: MqttTarget, private readonly opts: MqttSinkOptions = {}) {
    const available = `${target.topic}/available`;
    this.client = mqtt.connect(target.url, {
      reconnectPeriod: opts.reconnectMs ?? 1000,
      connectTimeout: 5000,
      clean: true,
      queueQoSZero: false,
      clientId: `reef-camera-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      will: { topic: available, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client.on('connect', () => {
      this.stats.connected = true;
      if (this.everConnected && this.lost) this.stats.reconnects++;
      if (this.lost) opts.onStatus?.('connected', target.url);
      this.everConnected = true;
      this.lost = false;
      this.client.publish(available, 'online', { qos: 1, retain: true });
      this.flush();
    });
    const onLost = (why: string) => {
      this.stats.connected = false;
      if (!this.lost) {
        this.lost = true;
        opts.onStatus?.('lost', why);
      }
    };
    this.client.on('offline', () => onLost(`broker ${target.url} unreachable`));
    this.client.on('close', () => onLost(`connection to ${target.url} closed`));
    // Errors (refused connections, resets) are reconnected by the client; they are only reported.
    this.client.on('error', (e) => onLost(e.message));
  }

  /** Queues one event; sent at once when connected. */
  publish(e: CameraEvent): void {
    if (this.queue.length >= (this.opts.maxQueue ?? 1000)) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(JSON.stringify(e));
    this.flush();
  }

  private flush(): void {
    while (this.client.connected && this.queue.length > 0) {
      const payload = this.queue.shift() as string;
      this.inflight++;
      this.client.publish(`${this.target.topic}/events`, payload, { qos: 1 }, (err) => {
        this.inflight--;
        if (err) {
          // Not acknowledged (connection lost): back to the front of the queue, in order.
          this.queue.unshift(payload);
        } else {
          this.stats.published++;
        }
      });
    }
  }

  /**
   * Waits (at most `timeoutMs`) for queued events to be acknowledged, says `offline`, and closes the
   * connection. Never rejects.
   */
  async close(timeoutMs = 3000): Promise<MqttStats> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.inflight > 0) && Date.now() < deadline) {
      this.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.client.connected) {
      await new Promise<void>((r) => this.client.publish(`${this.target.topic}/available`, 'offline', { qos: 1, retain: true }, () => r()));
    }
    this.stats.pending = this.queue.length + this.inflight;
    await new Promise<void>((r) => this.client.end(true, {}, () => r()));
    this.stats.connected = false;
    return { ...this.stats };
  }
}
