import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { OwnServer } from './own-server';

// Its own server, so the admin is known: the first person to join.
const server = new OwnServer(Number(process.env.E2E_MODERATION_PORT ?? 3921));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

test('an admin deletes a message and bans its author; everyone sees it happen', async ({ browser }) => {
  const admin = await ChatPage.open(browser, unique('admin'), { baseURL: server.url });
  const troll = unique('troll');
  const member = await ChatPage.open(browser, troll, { baseURL: server.url });
  const bystander = await ChatPage.open(browser, unique('bystander'), { baseURL: server.url });

  // Members can delete only their own messages: no controls on someone else's.
  const spam = unique('buy cheap stuff');
  await member.say(spam);
  await expect(bystander.line(spam)).toBeVisible();
  await expect(bystander.line(spam).getByRole('button', { name: 'Delete' })).toHaveCount(0);
  await expect(member.line(spam).getByRole('button', { name: 'Delete' })).toHaveCount(1);

  await admin.line(spam).getByRole('button', { name: 'Delete' }).click();
  for (const chat of [admin, member, bystander]) {
    await expect(chat.line(spam)).toHaveCount(0);
  }
  await expect(bystander.log.getByText('Message deleted')).toHaveCount(1);

  const again = unique('more spam');
  await member.say(again);
  await admin.line(again).getByRole('button', { name: `Ban ${troll}` }).click();
  await admin.page.getByRole('button', { name: 'Yes, ban' }).click();
  // The banned person is told, not silently turned back into a visitor.
  await expect(member.page.getByRole('alert').filter({ hasText: 'An admin has banned you' })).toBeVisible();
  await expect(member.status).toHaveText('Banned');
  await expect(member.join).toHaveCount(0);
  await expect(member.online.getByText(troll, { exact: true })).toHaveCount(0);
  await expect(bystander.online.getByText(troll, { exact: true })).toHaveCount(0);
  // The troll cannot come back under the same name.
  await member.page.goto('/');
  await member.hydrated();
  await member.nickname.fill(troll);
  await member.join.click();
  await expect(member.page.getByRole('alert').filter({ hasText: 'is taken' })).toBeVisible();
  for (const chat of [admin, member, bystander]) await chat.close();
});
