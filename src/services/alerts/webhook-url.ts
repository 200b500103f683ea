/**
 * Webhook URL checks (SSRF guard). A webhook makes the gateway send requests wherever an admin
 * points it, from inside the network, so unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set:
 *  - a URL whose host is an internal address literal (loopback, RFC 1918, link-local — which includes
 *    cloud metadata at 169.254.169.254 —, CGNAT, unique-local IPv6, …) or `localhost` is refused
 *    when saved, and
 *  - when delivering, every address a host name resolves to is checked in the connection's own DNS
 *    lookup, so a name that resolves (or is re-pointed, DNS rebinding) to an internal address is
 *    refused at connect time, not only when it was saved.
 * Redirects are never followed (a 3xx is a failed attempt), so a public URL cannot bounce a delivery
 * inward. Only http and https are accepted, without user:password in the URL.
 */
import dns from 'node:dns';
import net from 'node:net';
import { ValidationError } from '../../lib/errors.js';

const blocked = new net.BlockList();
for (const [a, p] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) blocked.addSubnet(a, p, 'ipv4');
for (const [a, p] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) blocked.addSubnet(a, p, 'ipv6');

/** Whether an IP address literal is loopback, private, link-local or otherwise not public. */
export function isInternalAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return false;
}

/** Validates a webhook URL as saved; throws the 400 ValidationError naming the `url` field. */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): string {
  const fail = (message: string) => new ValidationError(`url: ${message}`, { errors: [{ field: 'url', message }] });
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw fail('不是有效的 URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw fail('只支持 http 和 https');
  if (u.username || u.password) throw fail('URL 中不能包含用户名或密码');
  if (!allowPrivate) {
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost' || host.endsWith('.localhost') || isInternalAddress(host)) {
      throw fail('不允许指向内网、回环或链路本地地址 (WEBHOOK_ALLOW_PRIVATE_ADDRESSES=false)');
    }
  }
  return u.toString();
}

/** The error an attempt fails with when its target is internal. */
export class InternalAddressError extends Error {}

/**
 * A dns.lookup for http.request that refuses internal addresses (unless allowed). IP literals never
 * reach a lookup, so the sender checks those itself with isInternalAddress().
 */
export function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      if (!allowPrivate) {
        const bad = list.find((a) => isInternalAddress(a.address));
        if (bad) return callback(new InternalAddressError(`${hostname} resolves to an internal address (${bad.address})`), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}
