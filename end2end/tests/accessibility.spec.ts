import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { ChatPage, unique } from './chat-page';
import { callServer, ownRoom } from './server-functions';

/** A valid 3×2 PNG. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000030000000208020000001216f14d0000000f4944415478' +
    '9c63f8cfc00045601800004fe206fa5e6c8e350000000049454e44ae426082',
  'hex',
);

async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`);
}

/** The id of the stored message showing `text`. */
async function idOf(chat: ChatPage, text: string): Promise<string> {
  const line = chat.line(text);
  await expect(line).toHaveAttribute('data-id', /\d+/);
  return (await line.getAttribute('data-id'))!;
}

const states = [
  { name: 'light theme', options: { colorScheme: 'light' as const } },
  { name: 'dark theme', options: { colorScheme: 'dark' as const } },
  { name: '768 px wide', options: { viewport: { width: 768, height: 1024 } } },
  { name: '375 px wide', options: { viewport: { width: 375, height: 740 } } },
  { name: '375 px wide, dark', options: { viewport: { width: 375, height: 740 }, colorScheme: 'dark' as const } },
];

for (const { name, options } of states) {
  test(`no accessibility violations, ${name}: a visitor, and a room with reactions, an upload, an edit and a deletion`, async ({
    browser,
  }) => {
    // Seven to nine full axe-core runs (each injects axe into a fresh page and walks the whole
    // DOM, about 3 s here) besides the chatting: the default 30 s fits only on a quiet machine.
    test.slow();
    const visitor = await ChatPage.open(browser, undefined, options);
    expect(await violations(visitor.page)).toEqual([]);
    await visitor.close();

    const chat = await ChatPage.open(browser, unique('axe'), options);
    // A room of its own: nothing another test posts meanwhile can change what is checked.
    await chat.page.goto(await ownRoom(chat.page, unique('axe-room')));
    await chat.connected();
    const reacted = unique('reacted to');
    const edited = unique('edited soon');
    const deleted = unique('deleted soon');
    for (const text of [reacted, edited, deleted]) await chat.say(text);
    await callServer(chat.page, 'react', { id: await idOf(chat, reacted), emoji: '🎉' });
    await callServer(chat.page, 'edit_message', { id: await idOf(chat, edited), body: `${edited} (now edited)` });
    await callServer(chat.page, 'delete_message', { id: await idOf(chat, deleted) });
    const picture = `${unique('picture')}.png`;
    await chat.page.getByText('Attach file').locator('input[type=file]').setInputFiles({
      name: picture,
      mimeType: 'image/png',
      buffer: PNG,
    });
    await expect(chat.log.getByRole('img', { name: picture })).toBeVisible();
    await expect(chat.line(reacted).getByRole('button', { name: /🎉 1/ })).toBeVisible();
    await expect(chat.log.getByText('(edited)')).toBeVisible();
    await expect(chat.log.getByText('Message deleted')).toBeVisible();
    expect(await violations(chat.page)).toEqual([]);

    // Open dialogs pass too: the image viewer and the shortcuts.
    await chat.log.getByRole('button', { name: `View ${picture}` }).click();
    await expect(chat.page.getByRole('dialog', { name: picture })).toBeVisible();
    expect(await violations(chat.page)).toEqual([]);
    await chat.page.keyboard.press('Escape');
    await chat.log.focus();
    await chat.page.keyboard.press('?');
    await expect(chat.page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
    expect(await violations(chat.page)).toEqual([]);
    await chat.page.keyboard.press('Escape');

    // The menus, the create-room dialog, and on a phone the drawer and the members sheet.
    const phone = (options.viewport?.width ?? 1280) <= 640;
    if (phone) {
      await chat.page.getByRole('button', { name: 'Rooms', exact: true }).click();
      await expect(chat.page.getByRole('navigation', { name: 'Rooms and conversations' })).toBeVisible();
      expect(await violations(chat.page)).toEqual([]);
    }
    await chat.userMenu();
    expect(await violations(chat.page)).toEqual([]);
    await chat.page.keyboard.press('Escape');
    await chat.newRoomDialog();
    expect(await violations(chat.page)).toEqual([]);
    await chat.page.keyboard.press('Escape');
    if (phone) {
      await chat.page.keyboard.press('Escape');
      await chat.page.getByRole('button', { name: /^Members,/ }).click();
      await expect(chat.page.getByRole('complementary', { name: 'Members' })).toBeVisible();
      expect(await violations(chat.page)).toEqual([]);
      await chat.page.keyboard.press('Escape');
    }
    await chat.roomMenu();
    expect(await violations(chat.page)).toEqual([]);
    await chat.close();
  });
}
