import { test, expect, type Page } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { OwnServer } from './own-server';

// Its own server: the first person to join (alice) is the admin, and room names start fresh.
const server = new OwnServer(Number(process.env.E2E_ROOMS_PORT ?? 3924));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

const open = (browser: Parameters<typeof ChatPage.open>[0], nickname: string) =>
  ChatPage.open(browser, nickname, { baseURL: server.url });

function roomLink(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Rooms and conversations' }).getByRole('link', { name });
}

async function createRoom(chat: ChatPage, name: string, options: { private: boolean }) {
  await chat.newRoomDialog();
  await chat.page.getByLabel('New room').fill(name);
  if (options.private) await chat.page.getByLabel('Private (members invite others)').check();
  await chat.page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(chat.page).toHaveURL(new RegExp(`/r/${name}$`));
  await expect(chat.page.getByRole('heading', { name: `#${name}` })).toBeVisible();
  await chat.connected();
}

test('a private room: invite, chat with unread counts and marker, and a third user sees none of it', async ({
  browser,
}) => {
  const [aliceName, bobName, carolName] = [unique('alice'), unique('bob'), unique('carol')];
  const alice = await open(browser, aliceName);
  const bob = await open(browser, bobName);
  const carol = await open(browser, carolName);
  const room = unique('secret');

  await createRoom(alice, room, { private: true });
  await alice.roomMenu();
  await alice.page.getByPlaceholder('nickname').fill(bobName);
  await alice.page.getByRole('button', { name: 'Add to room' }).click();
  await expect(alice.page.getByText(`${bobName} was added to the room.`)).toBeVisible();

  // bob's sidebar learns about the room live, and counts what he has not read.
  await expect(roomLink(bob.page, `#${room}`)).toBeVisible();
  const secret = unique('psst');
  await alice.say(secret);
  await alice.say(unique('second'));
  await expect(roomLink(bob.page, `#${room}`).locator('.unread')).toHaveText('2');
  // The bare number is for the eye; the link's name says what it counts.
  await expect(roomLink(bob.page, `#${room}`)).toHaveAccessibleName(new RegExp(`#${room}.*, 2 unread`));
  await expect(bob.page).toHaveTitle(/^\(2\) /);

  await roomLink(bob.page, `#${room}`).click();
  await expect(bob.page).toHaveURL(new RegExp(`/r/${room}$`));
  await bob.connected();
  await expect(bob.line(secret)).toBeVisible();
  // The marker sits right above the first unread message, and the room now counts as read.
  const marker = bob.log.getByRole('separator', { name: 'New messages' });
  await expect(marker).toBeVisible();
  await expect(bob.log.locator('li.unread-marker + li')).toContainText(secret);
  await expect(roomLink(bob.page, `#${room}`).locator('.unread')).toHaveCount(0);
  await expect(bob.page).not.toHaveTitle(/^\(/);
  const reply = unique('reply');
  await bob.say(reply);
  await expect(alice.line(reply)).toBeVisible();
  // Presence is per room: carol is online, but not here.
  await expect(alice.online.getByText(bobName, { exact: true })).toBeVisible();
  await expect(alice.online.getByText(carolName, { exact: true })).toHaveCount(0);

  // carol is not a member: no link, no messages, and the room's page refuses her.
  await expect(roomLink(carol.page, `#${room}`)).toHaveCount(0);
  await expect(carol.page.getByText(secret)).toHaveCount(0);
  await carol.page.goto(`/r/${room}`);
  await expect(carol.page.getByRole('alert').filter({ hasText: 'This room is private' })).toBeVisible();
  await expect(carol.page.getByText(secret)).toHaveCount(0);
  for (const chat of [alice, bob, carol]) await chat.close();
});

test('direct messages: start one from the online list, listed apart, answered live', async ({ browser }) => {
  const [aliceName, bobName] = [unique('dana'), unique('eve')];
  const alice = await open(browser, aliceName);
  const bob = await open(browser, bobName);
  await alice.online.getByRole('button', { name: `Message ${bobName}` }).click();
  await expect(alice.page).toHaveURL(/\/dm\/\d+$/);
  await expect(alice.page.getByRole('heading', { name: bobName })).toBeVisible();
  await alice.connected();
  const hello = unique('just for you');
  await alice.say(hello);

  const directList = bob.page.getByRole('list', { name: 'Direct messages' });
  await expect(directList.getByRole('link', { name: aliceName })).toBeVisible();
  await expect(directList.getByRole('link', { name: aliceName }).locator('.unread')).toHaveText('1');
  await expect(bob.page.getByText(hello)).toHaveCount(0);
  await directList.getByRole('link', { name: aliceName }).click();
  await bob.connected();
  await expect(bob.line(hello)).toBeVisible();
  const answer = unique('got it');
  await bob.say(answer);
  await expect(alice.line(answer)).toBeVisible();
  for (const chat of [alice, bob]) await chat.close();
});

test('a public room: browse, join, post, leave; an admin archives it', async ({ browser }) => {
  const adminName = unique('admin');
  const admin = await open(browser, adminName);
  server.makeAdmin(adminName);
  const visitor = await open(browser, unique('frank'));
  const room = unique('random');
  await createRoom(admin, room, { private: false });

  // The directory is read when a page loads.
  await visitor.page.reload();
  await visitor.page.getByRole('button', { name: 'Browse rooms' }).click();
  await visitor.page.getByRole('list', { name: 'Public rooms' }).getByRole('link', { name: `#${room}` }).click();
  await visitor.connected();
  // A reader who is not in the room has a join bar where the composer would be.
  await expect(visitor.send).toHaveCount(0);
  await visitor.page.getByRole('button', { name: `Join #${room}` }).click();
  await expect(roomLink(visitor.page, `#${room}`)).toBeVisible();
  const hello = unique('hello room');
  await visitor.say(hello);
  await expect(admin.line(hello)).toBeVisible();

  await visitor.roomMenu();
  await visitor.page.getByRole('button', { name: 'Leave room' }).click();
  await expect(visitor.page).toHaveURL(/\/$/);
  await expect(roomLink(visitor.page, `#${room}`)).toHaveCount(0);

  await admin.roomMenu();
  await admin.page.getByRole('button', { name: 'Archive room' }).click();
  await admin.page.getByRole('button', { name: 'Yes, archive' }).click();
  await expect(admin.page.getByText('This room is archived')).toBeVisible();
  await expect(admin.send).toBeDisabled();
  await expect(admin.line(hello)).toBeVisible();
  for (const chat of [admin, visitor]) await chat.close();
});
