import { test, expect, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { callServer, postMessages } from './server-functions';

/** Creates a public room and posts `count` numbered messages in it as the page's user. */
async function roomWithHistory(page: Page, name: string, tag: string, count: number): Promise<void> {
  const room = (await callServer(page, 'create_room', { name })) as { id: number };
  await postMessages(page, room.id, Array.from({ length: count }, (_, n) => `${tag} ${n}`));
}

test('scrolling up loads older messages in place; a permalink opens its message in context', async ({ browser }) => {
  test.setTimeout(60_000);
  const alice = await ChatPage.open(browser, unique('alice'));
  const room = unique('scroll').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 30);
  const tag = unique('line');
  await roomWithHistory(alice.page, room, tag, 75);
  await alice.page.goto(`/r/${room}`);
  await alice.connected();
  const line = (n: number) => alice.log.getByText(`${tag} ${n}`, { exact: true });
  await expect(line(74)).toBeInViewport();
  await expect(line(24)).toHaveCount(0);
  await expect(alice.page.getByRole('button', { name: /Jump to latest/ })).toHaveCount(0);

  // Scrolling to the top loads the older page above without moving what the reader looks at: the
  // line that was at the top stays in sight, and the older ones wait above it.
  await alice.log.evaluate((log) => (log.scrollTop = 0));
  await expect(line(0)).toHaveCount(1);
  await expect(line(25)).toBeInViewport();
  await expect(line(0)).not.toBeInViewport();
  await expect(alice.log.getByRole('listitem').filter({ hasText: tag })).toHaveCount(75);
  await expect(alice.page.getByRole('button', { name: 'Load older messages' })).toHaveCount(0);

  // Scrolled up: "Jump to latest" brings the newest message back.
  const jump = alice.page.getByRole('button', { name: /Jump to latest/ });
  await expect(jump).toBeVisible();
  await jump.click();
  await expect(line(74)).toBeInViewport();
  await expect(jump).toHaveCount(0);

  // The time of a message is its permalink: the room opens at it, highlighted, with context.
  await line(5).scrollIntoViewIfNeeded();
  const permalink = alice.line(`${tag} 5`).getByRole('link', { name: /\d:\d\d/ });
  const href = await permalink.getAttribute('href');
  expect(href).toMatch(new RegExp(`^/r/${room}/m/\\d+$`));
  await permalink.click();
  await expect(alice.page).toHaveURL(new RegExp(`${href}$`));
  await alice.connected();
  const focused = alice.log.locator('li.focus');
  await expect(focused).toContainText(`${tag} 5`);
  await expect(focused).toBeInViewport();
  await expect(line(74)).toHaveCount(0);
  await expect(jump).toBeVisible();
  // Scrolling down from there reaches the present.
  for (let i = 0; i < 5 && (await line(74).count()) === 0; i++) {
    await alice.log.evaluate((log) => (log.scrollTop = log.scrollHeight));
    await alice.page.waitForTimeout(300);
  }
  await expect(line(74)).toHaveCount(1);
  await alice.log.evaluate((log) => (log.scrollTop = log.scrollHeight));
  await expect(jump).toHaveCount(0);
  // A new message now arrives live at the bottom.
  await alice.say(`${tag} live`);
  await expect(alice.log.getByText(`${tag} live`, { exact: true })).toBeInViewport();
  await alice.close();
});
