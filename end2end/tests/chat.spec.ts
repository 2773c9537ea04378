import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';
import { ownRoom } from './server-functions';

test('two people chat both ways, each message shown once with its author and time', async ({ browser }) => {
  const aliceName = unique('alice');
  const bobName = unique('bob');
  const alice = await ChatPage.open(browser, aliceName);
  const bob = await ChatPage.open(browser, bobName);

  const hello = unique('hello from alice');
  await alice.say(hello);
  await expect(alice.line(hello)).toHaveCount(1);
  await expect(alice.line(hello)).not.toHaveClass(/pending/);
  await expect(bob.line(hello)).toHaveCount(1);
  await expect(bob.line(hello)).toContainText(aliceName);
  await expect(bob.line(hello).locator('time')).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  const reply = unique('hi alice');
  await bob.say(reply);
  await expect(alice.line(reply)).toContainText(bobName);
  await expect(bob.line(reply)).toHaveCount(1);
  await alice.close();
  await bob.close();
});

test('the welcome from Natter is shown to the new client only', async ({ browser }) => {
  const first = await ChatPage.open(browser, unique('first'));
  const welcomes = first.log.getByRole('listitem').filter({ hasText: 'Welcome to Natter' });
  await expect(welcomes).toHaveCount(1);
  await expect(welcomes.first()).toContainText('Natter');
  const second = await ChatPage.open(browser, unique('second'));
  await expect(second.log.getByRole('listitem').filter({ hasText: 'Welcome to Natter' })).toHaveCount(1);
  await expect(welcomes).toHaveCount(1);
  await first.close();
  await second.close();
});

test('a reload keeps the history in order and remembers the nickname', async ({ browser }) => {
  const name = unique('carol');
  const chat = await ChatPage.open(browser, name);
  const first = unique('first');
  const second = unique('second');
  await chat.say(first);
  await chat.say(second);
  await expect(chat.line(second)).not.toHaveClass(/pending/);

  await chat.page.reload();
  await chat.connected();
  // The session cookie remembers who this is: no need to join again.
  await expect(chat.nickname).toHaveValue(name);
  await expect(chat.join).toHaveCount(0);
  const texts = await chat.log.getByRole('listitem').locator('.body').allTextContents();
  expect(texts.indexOf(first)).toBeGreaterThanOrEqual(0);
  expect(texts.indexOf(second)).toBe(texts.indexOf(first) + 1);
  await chat.close();
});

test('HTML in messages and nicknames is shown as text and never runs', async ({ browser }) => {
  const payloads = ['<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '<b>bold?</b></textarea>'];
  const sender = await ChatPage.open(browser, `<i>${unique('x')}</i>`);
  const reader = await ChatPage.open(browser, unique('reader'));
  let dialogs = 0;
  for (const chat of [sender, reader]) {
    chat.page.on('dialog', async (dialog) => {
      dialogs += 1;
      await dialog.dismiss();
    });
  }
  for (const payload of payloads) {
    await sender.say(payload);
  }
  for (const chat of [sender, reader]) {
    for (const payload of payloads) {
      await expect(chat.line(payload)).toHaveCount(1);
    }
    await expect(chat.log.locator('img, script, b, i')).toHaveCount(0);
  }
  // Server-rendered too: a fresh load shows the same literal text.
  await reader.page.reload();
  await reader.connected();
  await expect(reader.line(payloads[0])).toHaveCount(1);
  await expect(reader.log.locator('img, script, b, i')).toHaveCount(0);
  expect(dialogs).toBe(0);
  await sender.close();
  await reader.close();
});

test('Enter sends, Shift+Enter makes a new line, and empty messages cannot be sent', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('dave'));
  await expect(chat.send).toBeDisabled();
  await chat.message.fill('   ');
  await expect(chat.send).toBeDisabled();
  const before = await chat.log.getByRole('listitem').count();
  await chat.message.press('Enter');
  // Enter neither sent the blank text nor added a line to it.
  await expect(chat.message).toHaveValue('   ');
  await expect(chat.log.getByRole('listitem')).toHaveCount(before);

  const firstLine = unique('line one');
  await chat.message.fill(firstLine);
  await chat.message.press('Shift+Enter');
  await chat.message.pressSequentially('line two');
  await expect(chat.message).toHaveValue(`${firstLine}\nline two`);
  await chat.message.press('Enter');
  await expect(chat.message).toHaveValue('');
  const line = chat.log.getByRole('listitem').filter({ hasText: firstLine });
  await expect(line.locator('.body')).toHaveText(`${firstLine}\nline two`);
  await chat.close();
});

test('the composer counts down near the limit and refuses an over-long message', async ({ browser }) => {
  const chat = await ChatPage.open(browser, unique('erin'));
  await chat.message.fill('x'.repeat(3_990));
  await expect(chat.page.getByText('10 characters left')).toBeVisible();
  await chat.message.fill('x'.repeat(4_001));
  await expect(chat.page.getByText('1 characters too many')).toBeVisible();
  await expect(chat.send).toBeDisabled();
  // The counter is not part of the alert (a screen reader would read it at every keystroke), but
  // it describes the box, so it is heard on focus.
  await expect(chat.page.locator('#composer-status')).not.toContainText('characters');
  await expect(chat.message).toHaveAttribute('aria-describedby', /composer-counter/);
  // Blank lines and spaces around a message are not kept, so they do not count against it.
  await chat.message.fill('x'.repeat(4_000) + '\n\n  \n');
  await expect(chat.page.getByText('0 characters left')).toBeVisible();
  await expect(chat.send).toBeEnabled();
  await chat.close();
});

test('a visitor must pick a valid, free nickname before chatting', async ({ browser }) => {
  const taken = unique('taken');
  const owner = await ChatPage.open(browser, taken);
  const chat = await ChatPage.open(browser);
  await expect(chat.status).toHaveText('Not joined yet');

  await chat.nickname.fill('ev\u200be');
  await chat.join.click();
  await expect(chat.page.getByRole('alert').filter({ hasText: 'invisible characters' })).toBeVisible();
  await chat.nickname.fill('');
  await chat.join.click();
  await expect(chat.page.getByRole('alert').filter({ hasText: 'Choose a nickname first.' })).toBeVisible();
  // A lookalike of a taken nickname (upper case here) is refused by the server.
  await chat.nickname.fill(taken.toUpperCase());
  await chat.join.click();
  await expect(chat.page.getByRole('alert').filter({ hasText: 'is taken' })).toBeVisible();
  await expect(chat.status).toHaveText('Not joined yet');
  // So is the server's own name, in any look-alike spelling (a Cyrillic а here).
  await chat.nickname.fill('N\u0430tter');
  await chat.join.click();
  await expect(chat.page.getByRole('alert').filter({ hasText: "server's own name" })).toBeVisible();

  await chat.joinAs(unique('free'));
  await owner.close();
  await chat.close();
});

test("the seed's gesture: a nickname and a message, then Enter, joins and sends in one step", async ({ browser }) => {
  const watcher = await ChatPage.open(browser, unique('watcher'));
  const chat = await ChatPage.open(browser);
  // No nickname yet: Send is there to press, and says what to do.
  const first = unique('hello from a visitor');
  await chat.message.fill(first);
  await chat.send.click();
  await expect(chat.page.getByRole('alert').filter({ hasText: 'Type a nickname' })).toBeVisible();
  await expect(chat.nickname).toBeFocused();
  await expect(chat.message).toHaveValue(first);
  // Nickname typed, Enter in the message box: joined, and the message goes.
  const nickname = unique('seed');
  await chat.nickname.fill(nickname);
  await chat.message.press('Enter');
  await expect(chat.message).toHaveValue('');
  await chat.connected();
  await expect(watcher.line(first)).toBeVisible();
  await expect(watcher.line(first).getByText(nickname, { exact: true })).toBeVisible();
  // And with the Send button, the same.
  const visitor = await ChatPage.open(browser);
  const second = unique('sent with the button');
  await visitor.nickname.fill(unique('button'));
  await visitor.message.fill(second);
  await visitor.send.click();
  await expect(watcher.line(second)).toBeVisible();
  for (const page of [watcher, chat, visitor]) await page.close();
});

test('a rename is announced and relabels earlier messages everywhere', async ({ browser }) => {
  const before = unique('dave');
  const after = unique('david');
  const dave = await ChatPage.open(browser, before);
  const reader = await ChatPage.open(browser, unique('reader'));
  const text = unique('said before the rename');
  await dave.say(text);
  await expect(reader.line(text)).toContainText(before);
  await dave.rename(after);
  await expect(reader.log.getByText(`${before} is now known as ${after}.`)).toBeVisible();
  await expect(reader.line(text)).toContainText(after);
  await expect(reader.online.getByText(after, { exact: true })).toBeVisible();
  await expect(reader.online.getByText(before, { exact: true })).toHaveCount(0);
  await reader.page.reload();
  await expect(reader.line(text)).toContainText(after);
  await dave.close();
  await reader.close();
});

test('signing out ends the session: the page becomes a visitor again and others see the leave', async ({ browser }) => {
  const name = unique('leaver');
  const leaver = await ChatPage.open(browser, name);
  const watcher = await ChatPage.open(browser, unique('watcher'));
  await expect(watcher.online.getByText(name, { exact: true })).toBeVisible();
  await leaver.userMenu();
  await leaver.page.getByRole('button', { name: 'Sign out' }).click();
  await expect(leaver.join).toBeVisible();
  await expect(leaver.status).toHaveText('Not joined yet');
  await expect(watcher.online.getByText(name, { exact: true })).toHaveCount(0);
  await leaver.page.reload();
  await expect(leaver.join).toBeVisible();
  await leaver.close();
  await watcher.close();
});

test('the online list shows people joining and leaving', async ({ browser }) => {
  const watcherName = unique('watcher');
  const visitorName = unique('visitor');
  const watcher = await ChatPage.open(browser, watcherName);
  const visitor = await ChatPage.open(browser, visitorName);
  await expect(watcher.online.getByText(visitorName, { exact: true })).toBeVisible();
  await visitor.close();
  await expect(watcher.online.getByText(visitorName, { exact: true })).toHaveCount(0);
  await expect(watcher.online.getByText(watcherName, { exact: true })).toBeVisible();
  await watcher.close();
});

test('the page works at 375 px wide', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const chat = new ChatPage(await context.newPage());
  await chat.page.goto('/');
  await chat.joinAs(unique('phone'));
  const text = unique('from a phone');
  await chat.say(text);
  await expect(chat.line(text)).toBeVisible();
  for (const control of [chat.message, chat.send, chat.page.getByRole('button', { name: 'Rooms', exact: true })]) {
    const box = await control.boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(375);
  }
  const scrollWidth = await chat.page.evaluate(() => document.documentElement.scrollWidth);
  expect(scrollWidth).toBeLessThanOrEqual(375);
  await context.close();
});

test('a sent message is marked pending until the server confirms it', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Stand between page and server and hold back confirmations until told to let them through.
  let holding = true;
  const held: (string | Buffer)[] = [];
  let deliver: (frame: string | Buffer) => void = () => {};
  await page.routeWebSocket(/\/ws$/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((frame) => server.send(frame));
    deliver = (frame) => socket.send(frame);
    server.onMessage((frame) => {
      const type = JSON.parse(frame.toString()).type;
      if (holding && (type === 'ack' || type === 'message')) held.push(frame);
      else socket.send(frame);
    });
  });
  const chat = new ChatPage(page);
  await page.goto('/');
  await chat.joinAs(unique('patient'));
  const text = unique('waiting for the server');
  await chat.say(text);
  await expect(chat.line(text)).toHaveClass(/pending/);
  await expect(chat.line(text)).toContainText('Sending…');
  holding = false;
  held.splice(0).forEach(deliver);
  await expect(chat.line(text)).not.toHaveClass(/pending/);
  await expect(chat.line(text)).not.toContainText('Sending…');
  await expect(chat.line(text)).toHaveCount(1);
  await context.close();
});

test('the list follows new messages only while the reader is at the bottom', async ({ browser }) => {
  const reader = await ChatPage.open(browser, unique('scroller'));
  const writer = await ChatPage.open(browser, unique('chatty'));
  for (let i = 0; i < 25; i++) {
    await writer.say(unique(`filler ${i}`));
  }
  const atBottom = () =>
    reader.log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight <= 48);
  const last = unique('last filler');
  await writer.say(last);
  await expect(reader.line(last)).toBeVisible();
  expect(await atBottom()).toBe(true);

  // Scrolled up to read: a new message must not pull the reader away. (Reaching the top loads older
  // messages above, keeping the reader's place; wait for that to settle first.)
  await reader.log.evaluate((el) => el.scrollTo({ top: 0 }));
  await reader.log.dispatchEvent('scroll');
  await expect(reader.page.getByRole('button', { name: 'Loading older messages…' })).toHaveCount(0);
  await reader.page.waitForTimeout(300);
  const readingAt = await reader.log.evaluate((el) => el.scrollTop);
  const unseen = unique('arrives while reading');
  await writer.say(unseen);
  await expect(reader.line(unseen)).toHaveCount(1);
  expect(await reader.log.evaluate((el) => el.scrollTop)).toBe(readingAt);
  expect(await atBottom()).toBe(false);

  // Back at the bottom: following resumes.
  await reader.log.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
  await reader.log.dispatchEvent('scroll');
  const next = unique('followed again');
  await writer.say(next);
  await expect(reader.line(next)).toBeVisible();
  await expect.poll(atBottom).toBe(true);
  await reader.close();
  await writer.close();
});

test('a password keeps the nickname: sign out here, sign in on another device', async ({ browser }) => {
  const name = unique('traveller');
  const laptop = await ChatPage.open(browser, name);
  await laptop.userMenu();
  await laptop.page.getByText('Use this nickname on other devices').click();
  await laptop.page.getByLabel('New password').fill('correct horse battery');
  await laptop.page.getByRole('button', { name: 'Set password' }).click();
  await expect(laptop.page.getByText('Password saved.')).toBeVisible();
  const before = unique('from the laptop');
  await laptop.say(before);
  await laptop.userMenu();
  await laptop.page.getByRole('button', { name: 'Sign out' }).click();
  await expect(laptop.join).toBeVisible();

  const phone = await ChatPage.open(browser);
  await phone.nickname.fill(name);
  await phone.page.getByText('Already have a password? Sign in').click();
  await phone.page.getByLabel('Password', { exact: true }).fill('wrong password');
  await phone.page.getByRole('button', { name: 'Sign in' }).click();
  await expect(phone.page.getByRole('alert').filter({ hasText: 'Wrong nickname or password.' })).toBeVisible();
  await phone.page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await phone.page.getByRole('button', { name: 'Sign in' }).click();
  await phone.connected();
  await expect(phone.nickname).toHaveValue(name);
  await expect(phone.line(before)).toContainText(name);
  const after = unique('from the phone');
  await phone.say(after);
  await expect(phone.line(after)).not.toHaveClass(/pending/);
  await laptop.close();
  await phone.close();
});

test('after joining, the newest line (the welcome) is fully in view, not cut off', async ({ browser }) => {
  const poster = await ChatPage.open(browser, unique('poster'));
  const room = await ownRoom(poster.page, unique('busy'), 'public');
  await poster.page.goto(room);
  await poster.connected();
  for (let n = 0; n < 25; n++) await poster.say(`busy line ${n}`);
  const visitor = await ChatPage.open(browser);
  await visitor.page.goto(room);
  await visitor.hydrated();
  await visitor.joinAs(unique('newcomer'));
  const welcome = visitor.log.getByRole('listitem').filter({ hasText: 'Welcome to Natter' });
  await expect(welcome).toBeVisible();
  await expect
    .poll(() =>
      visitor.page.evaluate(() => {
        const list = document.querySelector('.messages')!.getBoundingClientRect();
        const last = [...document.querySelectorAll('.messages li')].pop()!.getBoundingClientRect();
        return Math.round(last.bottom - list.bottom);
      }),
    )
    .toBeLessThanOrEqual(1);
  await poster.close();
  await visitor.close();
});
