/**
 * Prometheus metrics (prom-client, one registry per server): requests by model, version, protocol
 * and status; latency of the whole request, the queue wait and the invoke; in flight and queued;
 * model load time; which variant and delegate serve each model; device temperature where the board
 * exposes it; classifier prediction statistics (class counts, confidence) per model version.
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Repository } from './repository.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/** The Linux thermal zone boards expose (Raspberry Pi: the SoC; Coral Dev Board: the CPU). */
export const THERMAL_ZONE = '/sys/class/thermal/thermal_zone0/temp';

function temperature(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim()) / 1000;
  } catch {
    return null;
  }
}

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'version' | 'protocol' | 'status'>;
  readonly requestSeconds: Histogram<'model' | 'protocol'>;
  readonly queueSeconds: Histogram<'model' | 'version'>;
  readonly invokeSeconds: Histogram<'model' | 'version'>;
  readonly loadSeconds: Gauge<'model' | 'version'>;
  readonly loadFailures: Counter<'model' | 'version'>;
  readonly predictions: Counter<'model' | 'version' | 'class'>;
  readonly confidence: Histogram<'model' | 'version'>;
  readonly expired: Counter<'model' | 'version'>;

  constructor(repo: Repository, thermalZone: string = THERMAL_ZONE) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'reef_serve_process_' });
    this.requests = new Counter({
      name: 'reef_serve_requests_total', help: 'Requests answered, by model, version, protocol (v1, v2) and HTTP status',
      labelNames: ['model', 'version', 'protocol', 'status'], registers,
    });
    this.requestSeconds = new Histogram({
      name: 'reef_serve_request_seconds', help: 'Whole request time, from the first byte read to the answer written',
      labelNames: ['model', 'protocol'], buckets: LATENCY_BUCKETS, registers,
    });
    this.queueSeconds = new Histogram({
      name: 'reef_serve_queue_wait_seconds', help: 'Time a run waited in the queue for an interpreter',
      labelNames: ['model', 'version'], buckets: LATENCY_BUCKETS, registers,
    });
    this.invokeSeconds = new Histogram({
      name: 'reef_serve_invoke_seconds', help: 'TfLiteInterpreterInvoke time of one run, measured in the addon',
      labelNames: ['model', 'version'], buckets: LATENCY_BUCKETS, registers,
    });
    this.loadSeconds = new Gauge({
      name: 'reef_serve_model_load_seconds', help: 'Time to load and warm up a model version',
      labelNames: ['model', 'version'], registers,
    });
    this.loadFailures = new Counter({
      name: 'reef_serve_model_load_failures_total', help: 'Model versions that failed to load',
      labelNames: ['model', 'version'], registers,
    });
    this.expired = new Counter({
      name: 'reef_serve_deadline_expired_total', help: 'Runs dropped unrun because their deadline passed in the queue',
      labelNames: ['model', 'version'], registers,
    });
    this.predictions = new Counter({
      name: 'reef_serve_predictions_total', help: 'Top-1 class of each classification answered, per model version',
      labelNames: ['model', 'version', 'class'], registers,
    });
    this.confidence = new Histogram({
      name: 'reef_serve_prediction_confidence', help: 'Top-1 score of each classification answered, per model version',
      labelNames: ['model', 'version'], buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], registers,
    });
    new Gauge({
      name: 'reef_serve_in_flight', help: 'Runs handed to interpreters and not finished, per model version',
      labelNames: ['model', 'version'], registers,
      collect() {
        this.reset();
        for (const m of repo.served()) this.set({ model: m.name, version: String(m.version) }, m.scheduler.inFlight);
      },
    });
    new Gauge({
      name: 'reef_serve_queued', help: 'Runs waiting for an interpreter, per model version',
      labelNames: ['model', 'version'], registers,
      collect() {
        this.reset();
        for (const m of repo.served()) this.set({ model: m.name, version: String(m.version) }, m.scheduler.queued);
      },
    });
    new Gauge({
      name: 'reef_serve_model_info', help: 'Served model versions (value 1) with the variant and delegate that run them',
      labelNames: ['model', 'version', 'variant', 'delegate', 'interpreters'], registers,
      collect() {
        this.reset();
        for (const m of repo.served()) {
          this.set({
            model: m.name, version: String(m.version), variant: m.session.variant?.variant ?? 'tflite',
            delegate: m.session.delegate.name, interpreters: String(m.session.poolSize),
          }, 1);
        }
      },
    });
    new Gauge({
      name: 'reef_serve_device_temperature_celsius', help: 'Device temperature from the thermal zone file (label zone), absent where the board does not expose one',
      labelNames: ['zone'], registers,
      collect() {
        this.reset();
        const t = temperature(thermalZone);
        if (t !== null && Number.isFinite(t)) this.set({ zone: thermalZone }, t);
      },
    });
  }
}
