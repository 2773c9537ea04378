import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { OwnServer } from './own-server';

// Its own server, with people going idle after one second instead of five minutes.
const server = new OwnServer(Number(process.env.E2E_IDLE_PORT ?? 3923), undefined, '[limits]\nidle_after_secs = 1\n');
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

test('someone without activity is shown idle, and active again once they write', async ({ browser }) => {
  const dozerName = unique('dozer');
  const dozer = await ChatPage.open(browser, dozerName, { baseURL: server.url });
  const watcher = await ChatPage.open(browser, unique('watcher'), { baseURL: server.url });
  const entry = watcher.online.getByRole('listitem').filter({ hasText: dozerName });
  await expect(entry).toContainText('(idle)');
  await dozer.say(unique('back again'));
  await expect(entry).not.toContainText('(idle)');
  await dozer.close();
  await watcher.close();
});
