import { test, expect, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { ownRoom } from './server-functions';

/** The page policy with a nonce, and that nonce on the page's scripts: what lets the page hydrate. */
async function expectPagePolicy(page: Page, policy: string | undefined) {
  expect(policy, 'the page policy').toMatch(/script-src 'self' 'nonce-[0-9a-f]{32}'/);
  const nonce = /'nonce-([0-9a-f]+)'/.exec(policy ?? '')?.[1];
  // The browser hides nonce attributes from the DOM's getAttribute; the property keeps them.
  const scriptNonces = await page.evaluate(() => [...document.scripts].map((script) => script.nonce));
  expect(scriptNonces.length).toBeGreaterThan(0);
  for (const scriptNonce of scriptNonces) expect(scriptNonce).toBe(nonce);
}

test('every signed-in page load hydrates with its page policy, 200 times, while someone posts', async ({ browser }) => {
  // About a second per load and hydration, two hundred times, beside the other worker: a budget with
  // room for a slower machine (it took 3.8 to 4 minutes here), not a speed target.
  test.setTimeout(480_000);
  const talker = await ChatPage.open(browser, unique('talker'));
  // The talking happens in a room of the test's own, so other tests' rooms stay quiet.
  const room = await ownRoom(talker.page, unique('talkative'), 'public');
  await talker.page.goto(room);
  await talker.connected();
  const reader = await ChatPage.open(browser, unique('reader'));
  const errors: string[] = [];
  reader.page.on('pageerror', (error) => errors.push(error.message));
  let talking = true;
  const chatter = (async () => {
    for (let n = 0; talking; n++) {
      await talker.say(unique(`line ${n}`));
      // Within the per-user message rate (10 a second).
      await talker.page.waitForTimeout(150);
    }
  })();
  const paths = [room, '/'];
  for (let load = 0; load < 200; load++) {
    const response = await reader.page.goto(paths[load % paths.length]);
    expect(response?.status()).toBe(200);
    await expectPagePolicy(reader.page, response?.headers()['content-security-policy']);
    await reader.hydrated();
    await reader.connected();
  }
  talking = false;
  await chatter;
  expect(errors).toEqual([]);
  await talker.close();
  await reader.close();
});

test('what is typed before the page hydrates is kept, and sent', async ({ browser }) => {
  const watcher = await ChatPage.open(browser, unique('watcher'));
  const writer = await ChatPage.open(browser, unique('early-writer'));
  // A slow link: the WASM arrives well after the page can be typed into.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await writer.page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await writer.page.goto('/');
  const early = unique('typed before the page was live');
  await writer.message.pressSequentially(early);
  release();
  await writer.hydrated();
  await expect(writer.message).toHaveValue(early);
  await writer.connected();
  await writer.message.press('Enter');
  await expect(watcher.line(early)).toBeVisible();

  // A visitor's nickname and message typed early: one Enter once live joins and sends.
  const visitor = await ChatPage.open(browser);
  let releaseVisitor: () => void = () => {};
  const heldVisitor = new Promise<void>((resolve) => (releaseVisitor = resolve));
  await visitor.page.route(/\.wasm$/, async (route) => {
    await heldVisitor;
    await route.continue();
  });
  await visitor.page.goto('/');
  const nickname = unique('early-bird');
  const greeting = unique('hi before hydration');
  await visitor.nickname.pressSequentially(nickname);
  await visitor.message.pressSequentially(greeting);
  releaseVisitor();
  await visitor.hydrated();
  await expect(visitor.nickname).toHaveValue(nickname);
  await expect(visitor.message).toHaveValue(greeting);
  await visitor.message.press('Enter');
  await expect(watcher.line(greeting)).toBeVisible();
  for (const page of [watcher, writer, visitor]) await page.close();
});

test('the first paint is what the live page shows: times, settings and the nickname do not change', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('steady'), { timezoneId: 'America/New_York', locale: 'en-US' });
  await chat.say(unique('a line with a time'));
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await chat.page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await chat.page.goto('/');
  const time = chat.log.locator('time').last();
  const before = {
    time: await time.textContent(),
    nickname: await chat.nickname.inputValue(),
    notify: await chat.page.getByLabel('Notifications from this room').inputValue(),
    // Day separators fall where the reader's days begin (New York's, told by the first page's cookie).
    days: await chat.log.locator('.day-divider').allTextContents(),
  };
  expect(before.time).not.toContain('UTC');
  expect(before.nickname).not.toBe('');
  release();
  await chat.hydrated();
  await chat.connected();
  expect(await time.textContent()).toBe(before.time);
  expect(await chat.nickname.inputValue()).toBe(before.nickname);
  expect(await chat.page.getByLabel('Notifications from this room').inputValue()).toBe(before.notify);
  expect(before.days).toContain('Today');
  expect(await chat.log.locator('.day-divider').allTextContents()).toEqual(before.days);
  await chat.close();
});
