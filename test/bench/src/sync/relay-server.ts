/**
 * The baseline: a raw WebSocket relay with no storage, no parsing and no protocol. Every frame
 * a connection sends goes to every other open connection, as it came. Started by the benchmark
 * as a child process; reports its port over IPC.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    for (const other of server.clients) {
      if (other !== socket && other.readyState === WebSocket.OPEN)
        other.send(data, { binary: isBinary });
    }
  });
});
server.on('listening', () => {
  process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
