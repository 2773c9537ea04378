import { test, expect } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import { ChatPage, unique } from './chat-page';
import { OwnServer } from './own-server';

// Drives the admin commands of the real binary against a server whose database this test knows.
const server = new OwnServer(Number(process.env.E2E_BOTS_PORT ?? 3920));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

function natter(...args: string[]): string {
  return execFileSync('../target/release/natter', [...args, '--db', server.db, '--addr', `127.0.0.1:${server.port}`], {
    encoding: 'utf8',
  });
}

test('the example bot answers in the browser, and announcements stand out', async ({ browser }) => {
  const person = await ChatPage.open(browser, unique('person'), { baseURL: server.url });

  const token = natter('bot', 'create', 'pingbot').match(/^[0-9a-f]{64}$/m)![0];
  const bot = spawn('node', ['../examples/ping-bot.mjs'], {
    env: { ...process.env, NATTER_URL: server.url, NATTER_TOKEN: token },
    stdio: 'ignore',
  });
  try {
    await expect(person.online.getByText('pingbot', { exact: true })).toBeVisible();
    await person.say('!ping');
    await expect(person.log.getByRole('listitem').filter({ hasText: 'pingbot' }).filter({ hasText: 'pong' })).toHaveCount(1);
  } finally {
    bot.kill();
  }

  const text = unique('Maintenance tonight');
  expect(natter('announce', text)).toContain('Announced');
  const announcement = person.line(text);
  await expect(announcement).toHaveClass(/announcement/);
  await expect(announcement).toContainText('Natter');
  await expect(announcement).toContainText('Announcement');
  await person.close();
});
