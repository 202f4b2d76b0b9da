/**
 * Defect: every request whose client disconnects before the answer is written stays "in progress"
 * forever in /status.json (`requests.inProgress`, what the status page shows). Observed on a live
 * server: 10 clients that sent a full predict and closed the socket -> inProgress went from 1 to 11
 * and stayed there with every queue empty (a client that aborted mid-body leaked the first one).
 *
 * Correct behaviour: issue 10, "Observability": the status page shows live request state; a request
 * that is over (answered, failed, or abandoned by its client) is no longer in progress. Node's
 * http.ServerResponse emits 'close' (not 'finish') when the connection ends before the response is
 * written (Node docs, http: "Event: 'close' -- Indicates that the response is completed, or its
 * underlying connection was terminated prematurely").
 * Root cause: src/serve/server.ts: counts.inProgress++ in onRequest, counts.inProgress-- only in the
 * onResponse hook, which fastify (lib/reply.js onResFinished) runs on the response's 'finish' or
 * 'error' only -- never for a response whose connection closed first. (The pooled body buffer is not
 * given back on that path either.)
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, http, start, until } from '../serve/helpers.js';
import { sharedPath } from '../shared.js';

describe('client disconnects before the answer', () => {
  let server: ReefServer;
  beforeAll(async () => {
    server = await start({ model: sharedPath(MODELS.resnet), interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('leaves no request "in progress" once the work is over', async () => {
    const port = Number(new URL(server.url).port);
    const body = JSON.stringify({ instances: Array.from({ length: 4 }, () => Array.from({ length: 32 }, () => Array.from({ length: 32 }, () => [0.1, 0.2, 0.3]))) });
    const N = 5;
    await Promise.all(Array.from({ length: N }, () => new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(`POST /v1/models/resnet8_cifar10_float:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => {
          setTimeout(() => { s.destroy(); resolve(); }, 5);
        });
      });
      s.on('error', reject);
    })));
    type Status = { requests: { received: number; inProgress: number }; models: Array<{ versions: Array<{ queued: number; inFlight: number }> }> };
    await until('the server to receive all requests and run their work', async () => {
      const s = (await http(`${server.url}/status.json`)).json as Status;
      return s.requests.received >= N && s.models[0].versions[0].queued === 0 && s.models[0].versions[0].inFlight === 0;
    }, 20000);
    await new Promise((r) => setTimeout(r, 500));
    const s = (await http(`${server.url}/status.json`)).json as Status;
    expect(s.requests).toEqual({ received: N, inProgress: 0 });
  });
});
