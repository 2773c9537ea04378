// A complete Natter bot in plain JavaScript: answers "!ping" with "pong" and "!time" with the time.
//
//   natter bot create pingbot           # prints the bot's token
//   cd end2end && npm ci                # for the `ws` package (any websocket client works)
//   NATTER_URL=http://127.0.0.1:8080 NATTER_TOKEN=<token> node ../examples/ping-bot.mjs
//
// It speaks the protocol in docs/protocol.md: hello with the last id seen, acks, and reconnects that
// resume where they left off.
import { createRequire } from 'node:module';

// Use the `ws` package installed where you run the bot from (end2end/ has it), wherever this file is.
const WebSocket = createRequire(`${process.cwd()}/`)('ws');

const base = process.env.NATTER_URL ?? 'http://127.0.0.1:8080';
const token = process.env.NATTER_TOKEN;
if (!token) {
  console.error('set NATTER_TOKEN to the token `natter bot create` printed');
  process.exit(2);
}

let lastSeen = null; // newest message id seen: asking for `since` it after a reconnect loses nothing
let me = null;
let counter = 0;

function connect() {
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
  socket.on('open', () => socket.send(JSON.stringify(lastSeen === null ? { type: 'hello' } : { type: 'hello', since: lastSeen })));
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    switch (frame.type) {
      case 'welcome':
        me = frame.you;
        console.log(`connected as ${me.nickname}`);
        break;
      case 'history':
        for (const message of frame.messages) lastSeen = message.id;
        break;
      case 'message': {
        const message = frame.message;
        lastSeen = message.id;
        if (message.author_id === me?.id) break; // our own replies come back too
        const reply = answer(message.body.trim());
        if (reply) {
          // A unique client_msg_id per reply: resending it after a drop can never post it twice.
          socket.send(
            JSON.stringify({
              type: 'send',
              room_id: message.room_id, // answer in the room (or direct conversation) it was asked in
              client_msg_id: `reply-${message.id}-${counter++}`,
              body: reply,
            }),
          );
        }
        break;
      }
      case 'error':
        console.error(`refused: ${frame.code}: ${frame.message}`);
        break;
    }
  });
  socket.on('close', (code) => {
    console.log(`disconnected (${code}); reconnecting in 2 s`);
    setTimeout(connect, 2000);
  });
  socket.on('error', () => {}); // 'close' follows and reconnects
}

function answer(text) {
  if (text === '!ping') return 'pong';
  if (text === '!time') return `It is ${new Date().toISOString()}`;
  return null;
}

connect();
