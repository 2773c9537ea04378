import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { OwnServer } from './own-server';

// This test stops and restarts the server, so it has one of its own.
const server = new OwnServer(Number(process.env.E2E_RECONNECT_PORT ?? 3919));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

test('after a server restart the page reconnects, catches up, and sends what was written offline once', async ({
  browser,
}) => {
  const reader = await ChatPage.open(browser, unique('reader'), { baseURL: server.url });
  // A second tab of the same person, closed while offline with a message still unsent.
  const otherTab = new ChatPage(await reader.page.context().newPage());
  await otherTab.goto();
  const before = unique('before the restart');
  await reader.say(before);
  await expect(reader.line(before)).not.toHaveClass(/pending/);

  await server.stop();
  await expect(reader.status).toContainText(/retrying in \d+ s|Reconnecting|Connecting/);
  // The countdown ticks for the eye only: the live region says one sentence that does not change
  // each second, so a screen reader is not interrupted every second.
  await expect(reader.status.locator('[aria-hidden="true"]', { hasText: /retrying in \d+ s/ })).toHaveCount(1);
  await expect(reader.status.getByText('Disconnected — retrying soon')).toBeAttached();
  // Written while offline: shown as pending and kept in the browser until the server is back.
  const offline = unique('written offline');
  await reader.say(offline);
  await expect(reader.line(offline)).toHaveClass(/pending/);
  const fromClosedTab = unique('from a tab closed offline');
  await otherTab.say(fromClosedTab);
  await expect(otherTab.line(fromClosedTab)).toHaveClass(/pending/);
  await otherTab.page.close();
  await server.start();

  // Someone else speaks before the reader is back: the reader must still get it, once.
  const writer = await ChatPage.open(browser, unique('writer'), { baseURL: server.url });
  const missed = unique('said while the reader was away');
  await writer.say(missed);

  await reader.connected();
  await expect(reader.line(missed)).toHaveCount(1);
  await expect(reader.line(before)).toHaveCount(1);
  // Both offline messages arrive, each once, everywhere, and nothing is pending any more.
  for (const text of [offline, fromClosedTab]) {
    await expect(writer.line(text)).toHaveCount(1);
    await expect(reader.line(text)).toHaveCount(1);
    await expect(reader.line(text)).not.toHaveClass(/pending/);
  }
  // A reload shows them stored, once, and nothing waits in the outbox.
  await reader.page.reload();
  await reader.connected();
  for (const text of [offline, fromClosedTab]) {
    await expect(reader.line(text)).toHaveCount(1);
    await expect(reader.line(text)).not.toHaveClass(/pending/);
  }
  const stored = await (await fetch(`${server.url}/api/history?limit=200`)).json();
  for (const text of [offline, fromClosedTab]) {
    expect(stored.filter((message: { body: string }) => message.body === text)).toHaveLength(1);
  }
  const after = unique('after reconnecting');
  await reader.say(after);
  await expect(writer.line(after)).toHaveCount(1);
  await reader.close();
  await writer.close();
});
