import { test, expect } from '@playwright/test';
import { ChatPage } from './chat-page';
import { OwnServer } from './own-server';

// The README's screenshots come from a server of their own, so no other test's messages appear in them.
const server = new OwnServer(Number(process.env.E2E_SCREENSHOT_PORT ?? 3918));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

test('screenshots for the README: a desk in the light theme, a phone in the dark one', async ({ browser }) => {
  const alice = await ChatPage.open(browser, 'alice', {
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    baseURL: server.url,
  });
  const bob = await ChatPage.open(browser, 'bob', {
    viewport: { width: 375, height: 812 },
    colorScheme: 'dark',
    hasTouch: true,
    isMobile: true,
    baseURL: server.url,
  });
  const carol = await ChatPage.open(browser, 'carol', { baseURL: server.url });
  await alice.say('Morning all! The new release is on the staging box.');
  await alice.say('Release notes are in #general, as usual.');
  await bob.say('Nice. Every message is on disk before it is acknowledged, right?');
  await carol.say('Right, and a reconnecting browser gets exactly what it missed.');
  const last = 'And <b>HTML</b> stays plain text.';
  await alice.say(last);
  await expect(alice.line(last)).not.toHaveClass(/pending/);
  await expect(bob.log.getByText('Right, and a reconnecting browser gets exactly what it missed.')).toBeVisible();
  await alice.page.mouse.move(0, 0);
  await alice.page.screenshot({ path: '../docs/screenshot.png' });
  await bob.page.screenshot({ path: '../docs/screenshot-phone.png' });
  for (const chat of [carol, bob, alice]) await chat.close();
});
