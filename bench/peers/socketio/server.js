// The server most teams would pick instead of Natter: a Node.js Socket.IO v4 chat in the shape of
// Socket.IO's official chat example (every "chat message" is emitted to everyone, and the sender's
// callback acknowledges it), without storage. `natter load --protocol socketio` drives it.
//
//   npm ci --prefix bench/peers/socketio && node bench/peers/socketio/server.js 127.0.0.1:8202
const { createServer } = require('node:http');
const { Server } = require('socket.io');

const [host, port] = (process.argv[2] || '127.0.0.1:8202').split(':');
const server = createServer();
const io = new Server(server, { transports: ['websocket'] });

io.on('connection', (socket) => {
  socket.on('chat message', (msg, callback) => {
    io.emit('chat message', msg);
    if (typeof callback === 'function') callback();
  });
});

server.listen(Number(port), host, () => {
  console.error(`socket.io peer listening on http://${host}:${port}/`);
});
