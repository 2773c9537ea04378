import { test, expect, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { ownRoom } from './server-functions';

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
  // A public room of the test's own: what other tests post meanwhile (in general) counts nowhere here.
  const roomName = unique('notify');
  const room = await ownRoom(bob.page, roomName, 'public');
  await bob.page.goto(room);
  await bob.connected();
  const alice = await ChatPage.open(browser, unique('alice'));
  await alice.page.goto(room);
  await alice.page.getByRole('button', { name: `Join #${roomName}` }).click();
  await expect(alice.page.getByRole('button', { name: `Join #${roomName}` })).toHaveCount(0);

  // Nothing is asked until bob chooses to.
  expect(await bob.page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0);
  await bob.userMenu();
  await bob.page.getByRole('button', { name: 'Enable desktop notifications' }).click();
  await expect(bob.page.getByRole('button', { name: 'Enable desktop notifications' })).toHaveCount(0);
  expect(await bob.page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(1);

  // Visible tab: no notification, even for a mention.
  const seen = unique('seen');
  await alice.say(`@${bobName} ${seen}`);
  await expect(bob.line(`@${bobName} ${seen}`)).toHaveCount(1);
  await setHidden(bob.page, true);
  // Hidden: a public room notifies mentions only (its default); the title counts what is unread.
  const plain = unique('plain');
  await alice.say(plain);
  const mention = unique('for bob');
  await alice.say(`@${bobName} ${mention}`);
  await expect.poll(async () => (await shown(bob.page)).map((n) => n.body)).toEqual([`@${bobName} ${mention}`]);
  expect((await shown(bob.page))[0].title).toMatch(new RegExp(` in #${roomName}$`));
  // The title counts this room's two and whatever other tests posted in general meanwhile (shown
  // in the sidebar), read together in one go.
  await expect
    .poll(() =>
      bob.page.evaluate((roomName) => {
        const title = new RegExp(`^\\((\\d+)\\) #${roomName} · Natter$`).exec(document.title);
        const elsewhere = [...document.querySelectorAll('.room-link .unread')]
          .map((badge) => Number.parseInt(badge.textContent ?? '0', 10))
          .reduce((sum, n) => sum + n, 0);
        return title ? Number(title[1]) - elsewhere : null;
      }, roomName),
    )
    .toBe(2);

  // bob asks for everything from the room: a plain message notifies too.
  await setHidden(bob.page, false);
  await bob.roomMenu();
  // The choice is saved by a server function; a reload before its answer would cancel it.
  const saved = bob.page.waitForResponse((response) => response.url().includes('/api/set_notify') && response.ok());
  await bob.page.getByLabel('Notifications from this room').selectOption('all');
  await saved;
  await bob.page.reload();
  await bob.connected();
  await expect(bob.page.getByLabel('Notifications from this room')).toHaveValue('all');
  await setHidden(bob.page, true);
  const everything = unique('everything');
  await alice.say(everything);
  await expect.poll(async () => (await shown(bob.page)).map((n) => n.body)).toContain(everything);

  // Nothing: not even a mention.
  await setHidden(bob.page, false);
  await bob.roomMenu();
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
