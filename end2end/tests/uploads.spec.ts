import { test, expect, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { ownRoom } from './server-functions';

/** A valid 3×2 PNG. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000003000000020802000000' +
    '1216f14d0000000f4944415478 9c63f8cfc00045601800004fe206fa5e6c8e350000000049454e44ae426082'.replace(/ /g, ''),
  'hex',
);

/** Puts a file in a DataTransfer inside the page, as a drop or a paste carries it. */
async function dropOrPaste(page: Page, how: 'drop' | 'paste', name: string, text: string) {
  await page.evaluate(
    ({ how, name, text }) => {
      const data = new DataTransfer();
      data.items.add(new File([text], name, { type: 'text/plain' }));
      if (how === 'drop') {
        const target = document.querySelector('main.conversation')!;
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      } else {
        const box = document.querySelector('textarea#message')!;
        box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      }
    },
    { how, name, text },
  );
}

test('files go by button, drag-and-drop and paste; images show inline with a viewer; refusals explain', async ({
  browser,
}) => {
  const alice = await ChatPage.open(browser, unique('alice'));
  const bob = await ChatPage.open(browser, unique('bob'));
  const picture = `${unique('dot')}.png`;

  // By button: an image, seen inline by both.
  await alice.page.getByText('Attach file').locator('input[type=file]').setInputFiles({
    name: picture,
    mimeType: 'image/png',
    buffer: PNG,
  });
  for (const reader of [alice, bob]) {
    const image = reader.log.getByRole('img', { name: picture });
    await expect(image).toBeVisible();
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(3);
  }
  // The viewer opens on click and closes with Escape.
  await bob.log.getByRole('button', { name: `View ${picture}` }).click();
  const viewer = bob.page.getByRole('dialog', { name: picture });
  await expect(viewer).toBeVisible();
  await viewer.press('Escape');
  await expect(viewer).toHaveCount(0);

  // Dropped and pasted files arrive as download links.
  const dropped = `${unique('notes')}.txt`;
  await dropOrPaste(alice.page, 'drop', dropped, 'dropped text');
  await expect(bob.log.getByRole('link', { name: new RegExp(dropped) })).toBeVisible();
  const pasted = `${unique('clip')}.txt`;
  await dropOrPaste(alice.page, 'paste', pasted, 'pasted text');
  const link = bob.log.getByRole('link', { name: new RegExp(pasted) });
  await expect(link).toBeVisible();
  const download = await bob.page.request.get((await link.getAttribute('href'))!);
  expect(await download.text()).toBe('pasted text');
  expect(download.headers()['content-disposition']).toContain('attachment');

  // An HTML page named like a picture is refused, with the reason, and nothing is sent.
  const fake = `${unique('fake')}.png`;
  await alice.page.getByText('Attach file').locator('input[type=file]').setInputFiles({
    name: fake,
    mimeType: 'image/png',
    buffer: Buffer.from('<!DOCTYPE html><script>alert(1)</script>'),
  });
  await expect(alice.page.getByRole('alert').filter({ hasText: `${fake} was not sent` })).toContainText(
    'HTML and XML files are not accepted',
  );
  await expect(bob.log.getByText(fake)).toHaveCount(0);
  await alice.page.getByRole('button', { name: 'Dismiss' }).click();
  await expect(alice.page.getByRole('alert').filter({ hasText: fake })).toHaveCount(0);
  await alice.close();
  await bob.close();
});

test('a large upload shows its progress while it goes', async ({ browser }) => {
  const alice = await ChatPage.open(browser, unique('alice'));
  // Slow the upload down (Chromium's network emulation) so the bar can be seen moving.
  const cdp = await alice.page.context().newCDPSession(alice.page);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 256 * 1024,
  });
  const name = `${unique('big')}.bin`;
  await alice.page.getByText('Attach file').locator('input[type=file]').setInputFiles({
    name,
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(1024 * 1024, 7),
  });
  const bar = alice.page.getByRole('progressbar', { name: `Sending ${name}` });
  await expect(bar).toBeVisible();
  await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 10_000 }).toBeGreaterThan(0);
  await expect(alice.log.getByRole('link', { name: new RegExp(name) })).toBeVisible({ timeout: 20_000 });
  await expect(bar).toHaveCount(0);
  await alice.close();
});

test('on a phone, a room whose newest messages are images opens at the newest message', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('photos'), { viewport: { width: 375, height: 740 } });
  await chat.page.goto(await ownRoom(chat.page, unique('photo-room')));
  await chat.connected();
  for (let n = 0; n < 15; n++) await chat.say(`before the photos ${n}`);
  // Two tall photos (300×400), pasted as a phone's share sheet would hand them over.
  for (const name of ['first.png', 'second.png']) {
    await chat.page.evaluate(async (name) => {
      const canvas = document.createElement('canvas');
      canvas.width = 300;
      canvas.height = 400;
      const context = canvas.getContext('2d')!;
      context.fillStyle = '#3a7';
      context.fillRect(0, 0, 300, 400);
      const blob: Blob = await new Promise((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
      const data = new DataTransfer();
      data.items.add(new File([blob], name, { type: 'image/png' }));
      const box = document.querySelector('textarea#message')!;
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, name);
    await expect(chat.log.getByRole('img', { name })).toBeVisible();
  }
  const newest = unique('the newest line');
  await chat.say(newest);

  // Reopen the room on a slow link for images: their boxes are there before they are.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await chat.page.route(/\/files\//, async (route) => {
    await held;
    await route.continue();
  });
  await chat.page.reload();
  await chat.hydrated();
  await expect(chat.line(newest)).toBeInViewport();
  release();
  await expect
    .poll(() => chat.log.getByRole('img', { name: 'second.png' }).evaluate((img: HTMLImageElement) => img.naturalWidth))
    .toBe(300);
  await expect(chat.line(newest)).toBeInViewport();
  await chat.close();
});
