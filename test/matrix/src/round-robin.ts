import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP load balancer as plain as they come: each new connection goes to the next backend in
 * turn, with no health checks and no stickiness. A connection to a backend that is down is
 * closed at once, as such a balancer's would be; the client has to try again.
 */
export class RoundRobinBalancer {
  private server: Server | undefined;
  private next = 0;
  private readonly sockets = new Set<Socket>();
  /** Which backend each connection went to, in order (its port), for a failure's report. */
  readonly routed: number[] = [];
  port = 0;

  constructor(private readonly backends: () => readonly number[]) {}

  async start(): Promise<void> {
    const server = createServer((incoming) => this.route(incoming));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  private route(incoming: Socket): void {
    const ports = this.backends();
    const port = ports[this.next++ % ports.length]!;
    this.routed.push(port);
    const outgoing = createConnection({ host: '127.0.0.1', port });
    for (const socket of [incoming, outgoing]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    incoming.pipe(outgoing);
    outgoing.pipe(incoming);
    incoming.on('close', () => outgoing.destroy());
    outgoing.on('close', () => incoming.destroy());
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
