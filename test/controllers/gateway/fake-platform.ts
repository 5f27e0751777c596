// A loopback server speaking the reply side of the chat platforms' documented APIs:
// Slack response_url (POST JSON → 200 "ok") and chat.postMessage (bot token
// `xoxb-fake-bot`), Discord follow-up webhooks and channel messages
// (POST /webhooks/{app}/{token}, /channels/{id}/messages → 200 message), Telegram Bot API
// sendMessage (POST /bot{token}/sendMessage → {"ok":true,"result":…}) and a generic callback.
// It records every request and can fail the next N requests to exercise retries.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: Record<string, unknown>;
  /** The status we answered. */
  status: number;
}

export interface FakePlatform {
  url: string;
  requests: Recorded[];
  /** The next `n` requests are answered with `status` (default 500). */
  failNext(n: number, status?: number): void;
  waitFor(pred: (r: Recorded) => boolean, timeoutMs?: number): Promise<Recorded>;
  close(): Promise<void>;
}

export async function startFakePlatform(): Promise<FakePlatform> {
  const requests: Recorded[] = [];
  let failing = 0;
  let failStatus = 500;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = {};
      }
      const path = req.url ?? '/';
      let status = 200;
      let answer: unknown = 'ok';
      if (failing > 0) {
        failing--;
        status = failStatus;
        answer = { ok: false, error_code: status, description: 'injected failure' };
      } else if (/\/bot[^/]+\/sendMessage$/.test(path)) {
        answer = { ok: true, result: { message_id: requests.length + 1, chat: { id: body.chat_id }, text: body.text } };
      } else if (/\/webhooks\/\d+\/[^/]+$/.test(path) || /\/channels\/\d+\/messages$/.test(path)) {
        answer = { id: String(requests.length + 1), content: body.content };
      } else if (path.endsWith('/chat.postMessage')) {
        // Slack's Web API: 200 either way, {"ok": false} when it refuses.
        answer =
          req.headers.authorization === 'Bearer xoxb-fake-bot'
            ? { ok: true, channel: body.channel, ts: `1700000000.${String(requests.length).padStart(6, '0')}` }
            : { ok: false, error: 'invalid_auth' };
      }
      requests.push({ method: req.method ?? '', path, headers: req.headers, raw, body, status });
      const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
      res.writeHead(status, { 'content-type': typeof answer === 'string' ? 'text/plain' : 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    failNext(n, status = 500) {
      failing = n;
      failStatus = status;
    },
    async waitFor(pred, timeoutMs = 15_000) {
      const start = Date.now();
      for (;;) {
        const hit = requests.find((r) => r.status === 200 && pred(r));
        if (hit) return hit;
        if (Date.now() - start > timeoutMs)
          throw new Error(
            `no matching request within ${timeoutMs} ms; ` +
              `saw ${JSON.stringify(requests.map((r) => [r.path, r.raw.slice(0, 200)]))}`,
          );
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
