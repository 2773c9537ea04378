import { test, expect, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { ownRoom } from './server-functions';

const desk = { viewport: { width: 1280, height: 800 } };
const phone = { viewport: { width: 375, height: 812 }, hasTouch: true, isMobile: true };

/** The share of the window's height the message list takes. */
async function listShare(chat: ChatPage): Promise<number> {
  const box = await chat.log.boundingBox();
  const height = chat.page.viewportSize()!.height;
  return box!.height / height;
}

/** Whether an element lies wholly inside the window, with no scrolling. */
async function fullyInView(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).evaluate((element) => {
    const box = element.getBoundingClientRect();
    return box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight && box.right <= window.innerWidth;
  });
}

async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

test('on a desk the conversation fills the window and the composer is at hand', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('desk'), desk);
  await chat.page.goto(await ownRoom(chat.page, unique('desk-room')));
  await chat.connected();
  for (let n = 0; n < 30; n++) await chat.say(unique(`filler ${n}`));
  expect(await listShare(chat)).toBeGreaterThanOrEqual(0.7);
  expect(await fullyInView(chat.page, '.composer-box')).toBe(true);
  // Only the list scrolls: the page itself does not.
  expect(await chat.page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight)).toBeLessThanOrEqual(0);
  // The members panel opens and closes.
  const members = chat.page.getByRole('complementary', { name: 'Members' });
  await expect(members).toBeVisible();
  const button = chat.page.getByRole('button', { name: /^Members,/ });
  await button.click();
  await expect(members).toBeHidden();
  await expect(button).toHaveAttribute('aria-expanded', 'false');
  await button.click();
  await expect(members).toBeVisible();
  await chat.close();
});

test('on a tablet the conversation keeps the width: the members show only when asked for', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('tablet'), { viewport: { width: 768, height: 1024 } });
  const members = chat.page.getByRole('complementary', { name: 'Members' });
  const button = chat.page.getByRole('button', { name: /^Members,/ });
  await expect(members).toBeHidden();
  await expect(button).toHaveAttribute('aria-expanded', 'false');
  await button.click();
  await expect(members).toBeVisible();
  // A column beside the conversation, not over it.
  const list = (await chat.log.boundingBox())!;
  expect(list.x + list.width).toBeLessThanOrEqual((await members.boundingBox())!.x + 1);
  await button.click();
  await expect(members).toBeHidden();
  await chat.close();
});

test('on a phone the conversation fills the screen, the composer shows, and nothing is wider than 320 px', async ({
  browser,
}) => {
  const chat = await ChatPage.open(browser, unique('phone'), phone);
  await chat.say(unique('from the phone'));
  expect(await listShare(chat)).toBeGreaterThanOrEqual(0.6);
  expect(await fullyInView(chat.page, '.composer-box')).toBe(true);
  await expect(chat.page.getByRole('navigation', { name: 'Rooms and conversations' })).toBeHidden();
  await chat.close();

  for (const who of ['visitor', 'member']) {
    const narrow = await ChatPage.open(browser, who === 'member' ? unique('narrow') : undefined, {
      viewport: { width: 320, height: 640 },
    });
    expect(await horizontalOverflow(narrow.page), who).toBeLessThanOrEqual(0);
    expect(await fullyInView(narrow.page, '.composer-box'), who).toBe(true);
    await narrow.close();
  }
});

test('on a phone the composer stays above the on-screen keyboard', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('keyboard'), phone);
  await chat.message.focus();
  // An on-screen keyboard leaves the lower part of the screen to itself: the visual viewport shrinks
  // to what is left, and the page follows it.
  await chat.page.setViewportSize({ width: 375, height: 480 });
  await expect
    .poll(() => chat.page.evaluate(() => document.documentElement.style.getPropertyValue('--viewport-height')))
    .toBe('480px');
  expect(await fullyInView(chat.page, '.composer-box')).toBe(true);
  await expect(chat.message).toBeFocused();
  expect(await listShare(chat)).toBeGreaterThan(0.3);
  await chat.close();
});

test('the rooms drawer and the members sheet hold focus while open and give it back on Escape', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('drawer'), phone);
  const open = chat.page.getByRole('button', { name: 'Rooms', exact: true });
  await open.click();
  const drawer = chat.page.getByRole('navigation', { name: 'Rooms and conversations' });
  await expect(drawer).toBeVisible();
  await expect(open).toHaveAttribute('aria-expanded', 'true');
  await expect(chat.page.getByRole('button', { name: 'Close rooms' })).toBeFocused();
  // Tab and Shift+Tab stay inside.
  for (let n = 0; n < 12; n++) {
    await chat.page.keyboard.press(n % 3 === 2 ? 'Shift+Tab' : 'Tab');
    expect(await drawer.evaluate((element) => element.contains(document.activeElement))).toBe(true);
  }
  await chat.page.keyboard.press('Escape');
  await expect(drawer).toBeHidden();
  await expect(open).toBeFocused();

  const members = chat.page.getByRole('button', { name: /^Members,/ });
  await members.click();
  const sheet = chat.page.getByRole('complementary', { name: 'Members' });
  await expect(sheet).toBeVisible();
  await expect(sheet.getByText(await chat.nickname.inputValue(), { exact: true })).toBeVisible();
  await chat.page.keyboard.press('Escape');
  await expect(sheet).toBeHidden();
  await expect(members).toBeFocused();
  await chat.close();
});

test('a dialog takes focus, keeps it, closes on Escape and gives it back', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('dialogs'), desk);
  const plus = chat.page.getByRole('button', { name: 'Create a room' });
  await plus.click();
  const dialog = chat.page.getByRole('dialog', { name: 'Create a room' });
  await expect(dialog).toBeVisible();
  await expect(chat.page.getByLabel('New room')).toBeFocused();
  for (let n = 0; n < 8; n++) {
    await chat.page.keyboard.press('Tab');
    expect(await dialog.evaluate((element) => element.contains(document.activeElement))).toBe(true);
  }
  await chat.page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(plus).toBeFocused();

  // Browse rooms: a click beside the dialog closes it too.
  await chat.page.getByRole('button', { name: 'Browse rooms' }).click();
  const browse = chat.page.getByRole('dialog', { name: 'Browse rooms' });
  await expect(browse).toBeVisible();
  await chat.page.mouse.click(5, 5);
  await expect(browse).toBeHidden();
  await chat.close();
});

test('messages read as a conversation: runs by one author, a day separator, a toolbar on hover', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('runs'), desk);
  await chat.page.goto(await ownRoom(chat.page, unique('runs-room')));
  await chat.connected();
  const [first, second] = [unique('first'), unique('second')];
  await chat.say(first);
  await chat.say(second);
  await expect(chat.line(second)).not.toHaveClass(/pending/);
  await expect(chat.line(first)).not.toHaveClass(/continued/);
  await expect(chat.line(second)).toHaveClass(/continued/);
  // The author's name is still read out on the continued line, and shown once.
  await expect(chat.line(second)).toContainText(await chat.nickname.inputValue());
  await expect(chat.log.getByRole('separator', { name: 'Today' })).toBeVisible();
  const actions = chat.line(second).getByRole('group', { name: 'Message actions' });
  await chat.line(second).hover();
  await expect(actions.getByRole('button', { name: 'Edit' })).toBeVisible();
  await expect(actions.getByRole('button', { name: 'Copy link' })).toBeVisible();
  await chat.close();
});

test('the theme follows the system until one is chosen, and the choice stays', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('themes'), { ...desk, colorScheme: 'light' });
  const background = () => chat.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  await chat.userMenu();
  await chat.page.getByLabel('Theme').selectOption('dark');
  await expect(chat.page.locator('html')).toHaveAttribute('data-theme', 'dark');
  const dark = await background();
  expect(dark).not.toBe(light);
  await chat.page.reload();
  await chat.hydrated();
  expect(await background()).toBe(dark);
  await expect(chat.page.getByLabel('Theme')).toHaveValue('dark');
  await chat.close();
});

test('a dialog or drawer opened by its address before the page came alive still closes', async ({ browser }) => {
  // A link to `#new-room-dialog` (or a reload while it was open) shows the dialog by the
  // stylesheet's `:target` before hydration; once live, Close must close it all the same.
  const chat = await ChatPage.open(browser, unique('fragment'), desk);
  // Loaded with the fragment (a reload, not a jump within the page that is already live).
  const load = async (fragment: string) => {
    await chat.page.goto(`/#${fragment}`);
    await chat.page.reload();
    await chat.connected();
  };
  await load('new-room-dialog');
  const dialog = chat.page.getByRole('dialog', { name: 'Create a room' });
  await expect(dialog).toBeVisible();
  await chat.page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  expect(new URL(chat.page.url()).hash).toBe('');
  await load('new-room-dialog');
  await dialog.getByRole('link', { name: 'Close' }).click();
  await expect(dialog).toBeHidden();

  await chat.page.setViewportSize(phone.viewport);
  await load('sidebar');
  const drawer = chat.page.getByRole('navigation', { name: 'Rooms and conversations' });
  await expect(drawer).toBeVisible();
  await chat.page.getByRole('button', { name: 'Close rooms' }).click();
  await expect(drawer).toBeHidden();
  await chat.close();
});
