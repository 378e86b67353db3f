/**
 * Preload for a service run by a test (`node --import <this file> dist/server.js`): every TCP
 * connection the process opens with net.connect/createConnection to a "host:port" named in
 * TRACKER_TEST_NET_REDIRECT (JSON `{"127.0.0.1:9092": "127.0.0.1:40123"}`) goes to the other address.
 *
 * NOTE: this is kafkajs' socketFactory seam for a child process. A TCP proxy named in KAFKA_BROKERS
 * alone cannot cut a Kafka client off: the broker's metadata advertises its real address, so after
 * bootstrapping the client would connect there directly. Rerouting every connection to the broker's
 * address through a proxy the test can cut is what a broker outage looks like to the service, without
 * touching the broker other people share. Test-only: nothing in the services reads this variable.
 */
import net from 'node:net';

const routes = new Map<string, { host: string; port: number }>(
  Object.entries(JSON.parse(process.env['TRACKER_TEST_NET_REDIRECT'] ?? '{}') as Record<string, string>).map(
    ([from, to]) => {
      const i = to.lastIndexOf(':');
      return [from, { host: to.slice(0, i), port: Number(to.slice(i + 1)) }];
    },
  ),
);

if (routes.size > 0) {
  const original = net.connect;
  const redirected = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    if (first !== null && typeof first === 'object' && 'port' in first) {
      const options = first as { host?: string; port: number | string };
      const to = routes.get(`${options.host ?? 'localhost'}:${options.port}`);
      if (to) args[0] = { ...options, ...to };
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.connect;
  net.connect = redirected;
  net.createConnection = redirected;
}
