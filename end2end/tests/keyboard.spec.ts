import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { callServer, ownRoom, postMessages } from './server-functions';

/** A valid 3×2 PNG. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000030000000208020000001216f14d0000000f4944415478' +
    '9c63f8cfc00045601800004fe206fa5e6c8e350000000049454e44ae426082',
  'hex',
);

test('from the top of the page one Tab and Enter reach the message box; c, / and ? work from anywhere', async ({
  browser,
}) => {
  const chat = await ChatPage.open(browser, unique('keys'));
  await chat.page.goto(await ownRoom(chat.page, unique('keys-room')));
  await chat.connected();
  for (let n = 0; n < 20; n++) await chat.say(unique(`line ${n}`));
  await chat.page.reload();
  await chat.connected();

  // The skip link is the page's first stop.
  await chat.page.keyboard.press('Tab');
  const skip = chat.page.getByRole('link', { name: 'Skip to message box' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await chat.page.keyboard.press('Enter');
  await expect(chat.message).toBeFocused();
  await chat.page.keyboard.type('typed after skipping');
  await chat.page.keyboard.press('Enter');
  await expect(chat.line('typed after skipping')).toBeVisible();

  // Single keys act only when not typing: in the message box, "c" is just a letter.
  await chat.message.press('c');
  await expect(chat.message).toHaveValue('c');
  await chat.message.fill('');
  await chat.log.focus();
  await chat.page.keyboard.press('c');
  await expect(chat.message).toBeFocused();
  await chat.log.focus();
  await chat.page.keyboard.press('/');
  await expect(chat.page.getByRole('searchbox', { name: 'Search messages' })).toBeFocused();

  // "?" opens the shortcuts: focus goes in, stays in on Tab, Escape closes and gives it back.
  const opener = chat.page.getByRole('button', { name: 'Shortcuts' });
  await opener.focus();
  await chat.page.keyboard.press('?');
  const help = chat.page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toBeVisible();
  await expect(help.getByText('Write a message (focus the message box)')).toBeVisible();
  const close = help.getByRole('button', { name: 'Close' });
  await expect(close).toBeFocused();
  await chat.page.keyboard.press('Tab');
  await expect(close).toBeFocused();
  await chat.page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);
  await expect(opener).toBeFocused();
  await chat.close();
});

test('the image viewer takes focus, keeps it, and closes on Escape back to its thumbnail', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('viewer'));
  await chat.page.goto(await ownRoom(chat.page, unique('viewer-room')));
  await chat.connected();
  const picture = `${unique('pic')}.png`;
  await chat.page.getByText('Attach file').locator('input[type=file]').setInputFiles({
    name: picture,
    mimeType: 'image/png',
    buffer: PNG,
  });
  const thumb = chat.log.getByRole('button', { name: `View ${picture}` });
  await thumb.click();
  const viewer = chat.page.getByRole('dialog', { name: picture });
  await expect(viewer).toBeVisible();
  await expect(viewer.getByRole('button', { name: 'Close' })).toBeFocused();
  await chat.page.keyboard.press('Tab');
  await expect(viewer.getByRole('button', { name: 'Close' })).toBeFocused();
  await chat.page.keyboard.press('Escape');
  await expect(viewer).toHaveCount(0);
  await expect(thumb).toBeFocused();
  await chat.close();
});

test('loading older history while tabbing keeps focus in the conversation', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('older'));
  const name = unique('older-room');
  const room = (await callServer(chat.page, 'create_room', { name, private: 'true' })) as { id: number };
  await postMessages(chat.page, room.id, Array.from({ length: 60 }, (_, n) => `older ${n}`));
  await chat.page.goto(`/r/${name}`);
  await chat.connected();
  const button = chat.log.getByRole('button', { name: 'Load older messages' });
  await button.focus();
  await chat.page.keyboard.press('Enter');
  await expect(chat.line('older 0')).toHaveCount(1);
  await expect(button).toHaveCount(0);
  const focused = await chat.page.evaluate(() => document.activeElement?.closest('[role=log]') !== null);
  expect(focused, 'focus stays in the message log, not on the page body').toBe(true);
  await chat.close();
});
