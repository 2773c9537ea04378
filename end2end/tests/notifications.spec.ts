import { test, expect, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';

/** Replaces the browser's Notification API and page visibility with recorders: the test's only stubs,
 * at the browser API boundary. */
const STUBS = () => {
  const shown: { title: string; body: string; tag: string }[] = [];
  const w = window as unknown as Record<string, unknown>;
  w.__shown = shown;
  w.__asked = 0;
  w.__hidden = false;
  // The answer outlives a reload, as the browser's would.
  class FakeNotification {
    static permission = sessionStorage.getItem('granted') ? 'granted' : 'default';
    static requestPermission() {
      w.__asked = (w.__asked as number) + 1;
      FakeNotification.permission = 'granted';
      sessionStorage.setItem('granted', 'yes');
      return Promise.resolve('granted');
    }
    onclick: unknown = null;
    constructor(title: string, options: { body?: string; tag?: string } = {}) {
      shown.push({ title, body: options.body ?? '', tag: options.tag ?? '' });
    }
  }
  w.Notification = FakeNotification;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => w.__hidden });
  Object.defineProperty(document, 'visibilityState', {
    configurable: true,
    get: () => (w.__hidden ? 'hidden' : 'visible'),
  });
};

async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    (window as unknown as Record<string, unknown>).__hidden = hidden;
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

const shown = (page: Page) =>
  page.evaluate(() => (window as unknown as { __shown: { title: string; body: string }[] }).__shown.slice());

test('notifications: asked for from a click, shown for mentions while the tab is hidden, per-room setting', async ({
  browser,
}) => {
  const bobName = unique('bob');
  const context = await browser.newContext();
  await context.addInitScript(STUBS);
  const bob = new ChatPage(await context.newPage());
  await bob.page.goto('/');
  await bob.joinAs(bobName);
  const alice = await ChatPage.open(browser, unique('alice'));

  // Nothing is asked until bob chooses to.
  expect(await bob.page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0);
  await bob.page.getByRole('button', { name: 'Enable desktop notifications' }).click();
  await expect(bob.page.getByRole('button', { name: 'Enable desktop notifications' })).toHaveCount(0);
  expect(await bob.page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(1);

  // Visible tab: no notification, even for a mention.
  const seen = unique('seen');
  await alice.say(`@${bobName} ${seen}`);
  await expect(bob.line(`@${bobName} ${seen}`)).toHaveCount(1);
  await setHidden(bob.page, true);
  // Hidden: general notifies mentions only (its default); the title counts what is unread.
  const plain = unique('plain');
  await alice.say(plain);
  const mention = unique('for bob');
  await alice.say(`@${bobName} ${mention}`);
  await expect.poll(async () => (await shown(bob.page)).map((n) => n.body)).toEqual([`@${bobName} ${mention}`]);
  expect((await shown(bob.page))[0].title).toMatch(/ in #general$/);
  await expect(bob.page).toHaveTitle(/^\(2\) #general · Natter$/);

  // bob asks for everything from general: a plain message notifies too.
  await setHidden(bob.page, false);
  await bob.page.getByLabel('Notifications from this room').selectOption('all');
  await bob.page.reload();
  await bob.connected();
  await expect(bob.page.getByLabel('Notifications from this room')).toHaveValue('all');
  await setHidden(bob.page, true);
  const everything = unique('everything');
  await alice.say(everything);
  await expect.poll(async () => (await shown(bob.page)).map((n) => n.body)).toContain(everything);

  // Nothing: not even a mention.
  await setHidden(bob.page, false);
  await bob.page.getByLabel('Notifications from this room').selectOption('nothing');
  await expect(bob.page.getByLabel('Notifications from this room')).toHaveValue('nothing');
  await bob.page.waitForTimeout(300);
  await setHidden(bob.page, true);
  const before = (await shown(bob.page)).length;
  const quiet = unique('quiet');
  await alice.say(`@${bobName} ${quiet}`);
  await expect(bob.line(`@${bobName} ${quiet}`)).toHaveCount(1);
  await bob.page.waitForTimeout(500);
  expect((await shown(bob.page)).length).toBe(before);
  await alice.close();
  await context.close();
});
