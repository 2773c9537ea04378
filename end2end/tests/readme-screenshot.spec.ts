import { test, expect } from '@playwright/test';
import { ChatPage } from './chat-page';
import { OwnServer } from './own-server';

// docs/screenshot.png comes from a server of its own, so no other test's messages appear in it.
const server = new OwnServer(Number(process.env.E2E_SCREENSHOT_PORT ?? 3918));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

test('screenshot for the README', async ({ browser }) => {
  const alice = await ChatPage.open(browser, 'alice', { viewport: { width: 1100, height: 620 }, baseURL: server.url });
  const bob = await ChatPage.open(browser, 'bob', { baseURL: server.url });
  await alice.say('Hi Bob! Natter is up and running.');
  await bob.say('Hi Alice. Every message is on disk before it is acknowledged.');
  await alice.say('And <b>HTML</b> stays plain text.');
  await expect(alice.line('And <b>HTML</b> stays plain text.')).not.toHaveClass(/pending/);
  await expect(alice.line('Hi Alice. Every message is on disk before it is acknowledged.')).toBeVisible();
  await alice.page.screenshot({ path: '../docs/screenshot.png' });
  await bob.close();
  await alice.close();
});
