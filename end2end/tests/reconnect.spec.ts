import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { OwnServer } from './own-server';

// This test stops and restarts the server, so it has one of its own.
const server = new OwnServer(Number(process.env.E2E_RECONNECT_PORT ?? 3919));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

test('after a server restart the page reconnects by itself and catches up with what it missed', async ({ browser }) => {
  const reader = await ChatPage.open(browser, unique('reader'), { baseURL: server.url });
  const before = unique('before the restart');
  await reader.say(before);
  await expect(reader.line(before)).not.toHaveClass(/pending/);

  await server.stop();
  await expect(reader.status).toContainText(/retrying in \d+ s|Reconnecting|Connecting/);
  // Nothing can be sent while disconnected; the typed text waits in the box.
  const typed = unique('typed while offline');
  await reader.message.fill(typed);
  await expect(reader.send).toBeDisabled();
  await server.start();

  // Someone else speaks before the reader is back: the reader must still get it, once.
  const writer = await ChatPage.open(browser, unique('writer'), { baseURL: server.url });
  const missed = unique('said while the reader was away');
  await writer.say(missed);

  await reader.connected();
  await expect(reader.send).toBeEnabled();
  await expect(reader.message).toHaveValue(typed);
  await expect(reader.line(missed)).toHaveCount(1);
  await expect(reader.line(before)).toHaveCount(1);
  const after = unique('after reconnecting');
  await reader.say(after);
  await expect(writer.line(after)).toHaveCount(1);
  await reader.close();
  await writer.close();
});
