import { createServer, type Server } from 'node:http';
import { closeServer, listen } from './environment.js';

/**
 * The floor for POST /v1/verify: a bare node:http endpoint that reads the request body to its end
 * and answers fixed JSON bytes of Keymint's size, with nothing else (no parsing, no authentication, no logging). It
 * runs in the benchmark's own process, on the same event loop as Keymint and the load
 * generator, so both endpoints share one thread with the client in the same way; a second
 * process would get the other core to itself and make the floor look faster than anything in
 * this process could be.
 */
export interface BareServer {
  port: number;
  close: () => Promise<void>;
}

/** `answers` maps a path to the exact body to send for it (a copy of Keymint's answer for that case). */
export async function startBareServer(answers: Record<string, string>): Promise<BareServer> {
  const bodies = new Map(Object.entries(answers).map(([path, body]) => [path, Buffer.from(body)]));
  const server: Server = createServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // Read in full, as any endpoint that looks at its body must; what it says does not matter here.
      Buffer.concat(chunks);
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    });
  });
  const port = await listen(server);
  return { port, close: () => closeServer(server) };
}
