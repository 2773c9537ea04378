import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { ChatPage, unique } from './chat-page';

test('a member downloads the room as a self-contained HTML file and as JSON', async ({ browser }) => {
  const alice = await ChatPage.open(browser, unique('alice'));
  const text = unique('worth keeping');
  await alice.say(`${text} <script>alert(1)</script> **bold**`);
  await alice.roomMenu();
  const exports = alice.page.getByRole('group', { name: 'Export this room' });

  const [html] = await Promise.all([alice.page.waitForEvent('download'), exports.getByRole('link', { name: 'HTML' }).click()]);
  expect(html.suggestedFilename()).toMatch(/^natter-general-\d{4}-\d{2}-\d{2}\.html$/);
  const page = readFileSync((await html.path())!, 'utf8');
  expect(page).toContain(text);
  expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(page).not.toContain('<script');
  expect(page).toContain('<strong>bold</strong>');

  // The file opens on its own, offline: no requests, and the message reads as in the chat.
  const viewer = await browser.newContext({ offline: true, javaScriptEnabled: false });
  const opened = await viewer.newPage();
  await opened.setContent(page);
  await expect(opened.getByText(text, { exact: false })).toBeVisible();
  await expect(opened.locator('strong', { hasText: 'bold' })).toBeVisible();
  await viewer.close();

  const [json] = await Promise.all([alice.page.waitForEvent('download'), exports.getByRole('link', { name: 'JSON' }).click()]);
  const data = JSON.parse(readFileSync((await json.path())!, 'utf8'));
  expect(data.room.name).toBe('general');
  expect(data.messages.some((message: { body: string }) => message.body.startsWith(text))).toBe(true);
  await alice.close();
});
