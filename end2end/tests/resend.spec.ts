import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';

test('a message whose ack is lost five times is resent each time, stored once and shown once everywhere', async ({
  browser,
}) => {
  const text = unique('resent until confirmed');
  const context = await browser.newContext();
  const page = await context.newPage();
  // Between page and server: until five acks for our message were seen, every copy of the message
  // is hidden from the page and the connection is cut as soon as its ack arrives, as if the network
  // failed at the worst moment. The page can only learn it was stored by sending it again.
  const acks: { id: number; sent_at: number }[] = [];
  let sentId = '';
  const ours = (message: { body?: string } | undefined) => message?.body === text;
  await page.routeWebSocket(/\/ws$/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((frame) => {
      const parsed = JSON.parse(frame.toString());
      if (parsed.type === 'send' && parsed.body === text) sentId = parsed.client_msg_id;
      server.send(frame);
    });
    server.onMessage((frame) => {
      const parsed = JSON.parse(frame.toString());
      const hiding = acks.length < 5;
      if (parsed.type === 'ack' && parsed.client_msg_id === sentId) {
        acks.push({ id: parsed.id, sent_at: parsed.sent_at });
        if (hiding) {
          socket.close();
          server.close();
          return;
        }
      }
      if (hiding && parsed.type === 'message' && ours(parsed.message)) return;
      if (hiding && parsed.type === 'history') {
        parsed.messages = parsed.messages.filter((message: { body?: string }) => !ours(message));
        socket.send(JSON.stringify(parsed));
        return;
      }
      socket.send(frame);
    });
  });
  const sender = new ChatPage(page);
  await page.goto('/');
  await sender.joinAs(unique('unlucky'));
  const reader = await ChatPage.open(browser, unique('reader'));

  await sender.say(text);
  await expect(sender.line(text)).not.toHaveClass(/pending/, { timeout: 20_000 });
  expect(acks.length).toBe(6);
  expect(new Set(acks.map((ack) => `${ack.id}/${ack.sent_at}`)).size).toBe(1);
  await expect(sender.line(text)).toHaveCount(1);
  await expect(reader.line(text)).toHaveCount(1);
  const stored = await (await page.request.get('/api/history?limit=200')).json();
  expect(stored.filter((message: { body: string }) => message.body === text)).toHaveLength(1);
  await reader.close();
  await context.close();
});
