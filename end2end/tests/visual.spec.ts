import { test, expect, type Browser, type BrowserContextOptions, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { ChatPage } from './chat-page';
import { OwnServer } from './own-server';

// Visual snapshots hold the page's look: a server of their own with the same conversation every run,
// so the pictures change only when the page does. Times and day labels are masked (they follow the
// clock), everything else must match the committed baselines in visual.spec.ts-snapshots/.
const server = new OwnServer(Number(process.env.E2E_VISUAL_PORT ?? 3926));

/** Alice stays connected throughout, so every picture shows the same one member online. */
let alice: ChatPage;
let aliceSession: BrowserContextOptions['storageState'];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  await server.start();
  alice = await ChatPage.open(browser, 'alice', { baseURL: server.url });
  const bob = await ChatPage.open(browser, 'bob', { baseURL: server.url });
  await alice.say('Morning! The release notes for 0.9 are up.');
  await alice.say('Search, uploads and the new layout are all in.');
  await bob.say('Great. I will read the release notes after lunch.');
  await bob.say('Does the **phone** layout keep the composer above the keyboard?');
  const last = 'It does: the message box stays at hand on every screen.';
  await alice.say(last);
  await expect(alice.line(last)).not.toHaveClass(/pending/);
  await bob.close();
  await expect(alice.online.getByRole('listitem')).toHaveCount(1);
  // Alice has read it all once her page reports so (reports are spaced a few seconds apart): until
  // then her pages would show a "New messages" divider above bob's lines.
  const probe = await alice.page.context().newPage();
  await expect
    .poll(
      async () => {
        await probe.goto('/');
        return probe.getByRole('separator', { name: 'New messages' }).count();
      },
      { timeout: 15_000 },
    )
    .toBe(0);
  await probe.close();
  aliceSession = await alice.page.context().storageState();
});

test.afterAll(async () => {
  await alice?.close();
  await server.stop();
});

const widths = [
  { width: 1280, height: 800 },
  { width: 768, height: 1024 },
  { width: 375, height: 812 },
];
const themes = ['light', 'dark'] as const;

/** A page in its own browser, signed in as alice or a visitor, hydrated and settled. */
async function open(browser: Browser, path: string, signedIn: boolean, options: BrowserContextOptions): Promise<Page> {
  const context = await browser.newContext({
    ...options,
    baseURL: server.url,
    storageState: signedIn ? aliceSession : undefined,
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.goto(path);
  await expect(page.locator('.app[data-hydrated]')).toHaveCount(1);
  return page;
}

/** Matches the baseline and passes axe-core: each state the snapshots hold is accessible too. */
async function holds(page: Page, name: string) {
  await page.mouse.move(0, 0);
  await expect(page).toHaveScreenshot(name, {
    mask: [page.locator('time'), page.locator('.day-divider')],
    maxDiffPixelRatio: 0.002,
  });
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`)).toEqual(
    [],
  );
}

for (const viewport of widths) {
  for (const colorScheme of themes) {
    const options = { viewport, colorScheme };
    const size = `${viewport.width}-${colorScheme}`;

    test(`the chat page, signed in, ${viewport.width} px, ${colorScheme}`, async ({ browser }) => {
      const page = await open(browser, '/', true, options);
      await expect(page.getByRole('status').first()).toHaveText('Connected');
      await expect(page.getByRole('log', { name: 'Messages' }).locator('li[data-id]')).toHaveCount(5);
      await holds(page, `chat-${size}.png`);
      await page.context().close();
    });

    test(`a visitor's view, ${viewport.width} px, ${colorScheme}`, async ({ browser }) => {
      const page = await open(browser, '/', false, options);
      await expect(page.getByLabel('Nickname')).toBeVisible();
      await holds(page, `visitor-${size}.png`);
      await page.context().close();
    });

    test(`search results, ${viewport.width} px, ${colorScheme}`, async ({ browser }) => {
      const page = await open(browser, '/search?q=release', true, options);
      await expect(page.getByRole('list', { name: 'Search results' }).getByRole('listitem')).toHaveCount(2);
      await holds(page, `search-${size}.png`);
      await page.context().close();
    });

    test(`the create-room dialog, ${viewport.width} px, ${colorScheme}`, async ({ browser }) => {
      const page = await open(browser, '/', true, options);
      await expect(page.getByRole('status').first()).toHaveText('Connected');
      // On a phone the + sits in the rooms drawer.
      if (viewport.width <= 640) await page.getByRole('button', { name: 'Rooms', exact: true }).click();
      await page.getByRole('button', { name: 'Create a room' }).click();
      await expect(page.getByRole('dialog', { name: 'Create a room' })).toBeVisible();
      await holds(page, `dialog-${size}.png`);
      await page.context().close();
    });
  }
}
