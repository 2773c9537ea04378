import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { OwnServer } from './own-server';

// Its own server: on the shared one, other tests typing at the same time change the label
// ("x and y are typing…").
const server = new OwnServer(Number(process.env.E2E_TYPING_PORT ?? 3922));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

test('typing shows for others, never for the typist, and clears when the message arrives', async ({ browser }) => {
  const typistName = unique('typist');
  const typist = await ChatPage.open(browser, typistName, { baseURL: server.url });
  const reader = await ChatPage.open(browser, unique('watcher'), { baseURL: server.url });
  const indicator = reader.page.getByText(`${typistName} is typing…`);
  const text = unique('hello there');
  await typist.message.pressSequentially(text.slice(0, 8));
  await expect(indicator).toBeVisible();
  await expect(typist.page.getByText('is typing…')).toHaveCount(0);
  await typist.message.pressSequentially(text.slice(8));
  await typist.message.press('Enter');
  await expect(reader.line(text)).toBeVisible();
  await expect(indicator).toHaveCount(0);
  // Without a message, the indicator goes away a few seconds after typing stops.
  await typist.message.pressSequentially('never sent');
  await expect(indicator).toBeVisible();
  await expect(indicator).toHaveCount(0, { timeout: 8_000 });
  await typist.close();
  await reader.close();
});
