// Container health probe for the tracker's images (the slim Node image has no curl or wget).
//   node healthcheck.mjs <default port> [path]     e.g. node healthcheck.mjs 3001 /readyz
// Asks the service in this container for `path` (default /readyz: the service and the
// dependencies it needs answer) and exits 0 on a 2xx answer, 1 on anything else or after 4 s.
// PORT and HOST are read like the service reads them, so overriding PORT keeps the probe right.
const [defaultPort = '3000', path = '/readyz'] = process.argv.slice(2);
const { PORT, HOST: host } = process.env;
const port = PORT || defaultPort;
// A wildcard listen address is reachable on loopback; a specific one only on itself.
const target = !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
const url = `http://${target.includes(':') ? `[${target}]` : target}:${port}${path}`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) console.error(`${url} answered ${res.status}`);
  process.exitCode = res.ok ? 0 : 1;
} catch (error) {
  console.error(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
