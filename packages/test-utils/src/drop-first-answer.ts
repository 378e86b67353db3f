import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of an HTTP server that, while armed, lets the next request through and
 * destroys the client's connection as soon as the server's answer arrives, without passing it on:
 * the client sees its connection reset after the server did the work, and retries. Used to check
 * that an SDK's resend is stored once (startTcpProxy in tcp-proxy.ts cuts connections instead, by
 * the test's clock; this one cuts exactly one answer).
 */
export class DropFirstAnswer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #armed = false;
  /** Answers cut off since the last arm(). */
  dropped = 0;
  /** The request line and headers of every POST seen (lower-cased), to check what the SDKs send. */
  requests: string[] = [];
  /** The port the proxy listens on (127.0.0.1), once started. */
  port = 0;

  /** `target`: the port of the server on 127.0.0.1. */
  constructor(target: number) {
    this.#server = createServer((client) => {
      const upstream = connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.once('close', () => this.#sockets.delete(s));
      }
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.on('data', (chunk: Buffer) => {
        const head = chunk.toString('latin1');
        if (/^POST /.test(head))
          this.requests.push(head.slice(0, Math.max(0, head.indexOf('\r\n\r\n'))).toLowerCase());
      });
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (this.#armed) {
          this.#armed = false;
          this.dropped += 1;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
    });
  }

  /** Cuts off the next answer; `dropped` and `requests` start again from nothing. */
  arm(): void {
    this.#armed = true;
    this.dropped = 0;
    this.requests = [];
  }

  /** http://127.0.0.1:<port> */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
