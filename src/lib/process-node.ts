import os from 'node:os';
import { randomBytes } from 'node:crypto';

/**
 * How a worker (scheduler, sync queue, webhook sender) names itself in the rows it takes:
 * host:pid:tag. The random tag tells apart several gateways in one process (tests) and a restarted
 * process that got the same pid.
 */
export function processNode(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
