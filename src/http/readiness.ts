import type { Plugin } from 'graphql-yoga';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { RedisConnections } from '../cluster/redis.js';

/** A probe slower than this counts as "not ready": the load balancer must not wait on it. */
const READY_TIMEOUT_MS = 2_000;

/** Whether the database answers `select 1` within the timeout. Never throws. */
export function databaseProbe(orm: MikroORM, timeoutMs = READY_TIMEOUT_MS): () => Promise<boolean> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const probe = orm.em
      .getConnection()
      .execute('select 1')
      .then(() => true)
      .catch(() => false);
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * GET /readyz: 200 while the database answers, 503 when it does not. A shared Redis outage must
 * not pull every instance out of the load balancer: it reports "degraded", still 200.
 */
export function readinessPlugin(isReady: () => Promise<boolean>, redis: RedisConnections | null): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== '/readyz' || request.method !== 'GET') return;
      const ready = await isReady();
      const redisState = redis ? (redis.isUp() ? 'up' : 'unreachable') : 'not configured';
      const degraded = redis !== null && !redis.isUp();
      endResponse(
        fetchAPI.Response.json(
          { status: ready ? (degraded ? 'degraded' : 'ok') : 'unavailable', database: ready ? 'up' : 'unreachable', redis: redisState, degraded },
          { status: ready ? 200 : 503 },
        ),
      );
    },
  };
}
