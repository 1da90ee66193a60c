// The Yjs peer's server, started by the benchmark as a child process. It is what
// @y/websocket-server's own src/server.js does (an HTTP server whose upgrades become Yjs
// connections through the package's setupWSConnection), with two differences: it uses the
// WebSocketServer export of ws 8 (the entry point of 0.1.5 expects ws 6's default export and
// fails on ws 8, the version our server runs on), and it listens on a free port that it
// reports over IPC. Documents live in memory only: this server has no persistence configured.
import { createServer } from 'node:http';
import { setupWSConnection } from '@y/websocket-server/utils';
import { WebSocketServer } from 'ws';

const sockets = new WebSocketServer({ noServer: true });
sockets.on('connection', setupWSConnection);

const server = createServer((_request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/plain' });
  response.end('okay');
});
server.on('upgrade', (request, socket, head) => {
  sockets.handleUpgrade(request, socket, head, (connection) => {
    sockets.emit('connection', connection, request);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'listening', port: typeof address === 'object' ? address?.port : 0 });
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
