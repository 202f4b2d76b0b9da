/**
 * Defect: a client that closes the connection in the middle of its request body is logged at warn
 * level as a server fault: {"level":40,"code":"ECONNRESET","status":500,"msg":"internal error: aborted"}.
 * Nothing failed on the server, no 500 was sent to anyone; but every aborted upload (a flaky
 * network, a client timeout, a hostile client doing it in a loop) writes a warn line that claims
 * an internal error, which is what operators alert on.
 *
 * Correct behaviour: issue 10, "Observability": "One structured log line per request at debug
 * level (pino), errors at warn"; src/serve/server.ts's own rule: "Refusals under load are answers,
 * not faults: debug; anything else 5xx is a fault: warn" -- a client abort is neither a server error
 * nor a 500; it belongs at debug (at most info), not as "internal error".
 * Root cause: src/serve/server.ts setErrorHandler(): the body stream's 'aborted' error
 * (code ECONNRESET, from readBody's stream.on('error')) is not a ReefError and has no statusCode, so
 * httpStatus() maps it to 500 and the handler logs it with req.log.warn as "internal error: ...".
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, logCollector, start } from '../serve/helpers.js';
import { sharedPath } from '../shared.js';

describe('client aborts mid-body', () => {
  let server: ReefServer;
  const log = logCollector();
  beforeAll(async () => {
    server = await start({ model: sharedPath(MODELS.hello), interpreters: 1, logStream: log.stream, logLevel: 'info' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('logs no warn-level "internal error" for it', async () => {
    const port = Number(new URL(server.url).port);
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => {
          s.write('POST /v1/models/hello_world_float:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"instances"', () => {
            setTimeout(() => { s.destroy(); resolve(); }, 100);
          });
        });
        s.on('error', reject);
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    const warns = log.lines.filter((l) => (l.level as number) >= 40);
    expect(warns).toEqual([]);
  });
});
