import { Agent, request, type OutgoingHttpHeaders } from 'node:http';

/**
 * The benchmark's HTTP client: one keep-alive agent, and requests prepared once (body and
 * headers serialised up front) so that the load generator, which runs in the server's own
 * process, spends as little CPU per request as it can.
 */

export interface HttpCall {
  /** Names the call in error messages. */
  label: string;
  port: number;
  path: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
  /**
   * Whether an answer counts as a success. Under load, a failure is counted and left out of the
   * latencies: a benchmark that measured fast error answers would flatter the server.
   */
  accepts: (status: number, body: string) => boolean;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** A POST of a JSON body, with the bearer credential when there is one. */
export function jsonCall(options: {
  label: string;
  port: number;
  path: string;
  payload: unknown;
  bearer?: string;
  accepts: HttpCall['accepts'];
}): HttpCall {
  const body = Buffer.from(JSON.stringify(options.payload));
  return {
    label: options.label,
    port: options.port,
    path: options.path,
    headers: {
      'content-type': 'application/json',
      'content-length': body.length,
      ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
    },
    body,
    accepts: options.accepts,
  };
}

/**
 * POST /graphql. GraphQL reports most failures with status 200, so an answer with an `errors`
 * entry is a failure too.
 */
export function graphqlCall(port: number, query: string, bearer: string, variables?: Record<string, unknown>): HttpCall {
  return jsonCall({
    label: query,
    port,
    path: '/graphql',
    payload: variables ? { query, variables } : { query },
    bearer,
    accepts: (status, body) => status === 200 && !body.includes('"errors"'),
  });
}

export class HttpClient {
  private readonly agent: Agent;

  /** `maxSockets` per server: the concurrency the load keeps in flight. */
  constructor(maxSockets: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** One request; the status and raw body, as the server sent them. */
  send(call: HttpCall): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        { agent: this.agent, host: '127.0.0.1', port: call.port, method: 'POST', path: call.path, headers: call.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(call.body);
    });
  }

  /**
   * Closes the kept-alive connections. After a long pause without requests (seeding, which on
   * PGlite also blocks the event loop) the server may be closing them just as a request reuses
   * one, which fails with ECONNRESET; the next request opens a fresh connection instead.
   */
  dropIdleConnections(): void {
    this.agent.destroy();
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Sends one request and stops the run unless it is accepted: a benchmark of errors is worthless. */
export async function expectAccepted(client: HttpClient, call: HttpCall): Promise<HttpAnswer> {
  const answer = await client.send(call);
  if (!call.accepts(answer.status, answer.body)) {
    throw new Error(`request refused (${answer.status}): ${answer.body.slice(0, 500)}\nrequest: ${call.label}`);
  }
  return answer;
}

/** A GraphQL request that must succeed; its `data`. */
export async function expectData(client: HttpClient, call: HttpCall): Promise<any> {
  return JSON.parse((await expectAccepted(client, call)).body).data;
}
