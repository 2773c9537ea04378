import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';

test('typing @ offers members to mention, and the mentioned person sees a mention count on the room', async ({
  browser,
}) => {
  const bobName = unique('bob');
  const bob = await ChatPage.open(browser, bobName);
  // bob looks at another room, so general's counts show in his sidebar.
  const elsewhere = unique('quiet').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 30);
  await bob.page.evaluate(async (name) => {
    await fetch('/api/create_room', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `name=${name}`,
    });
  }, elsewhere);
  await bob.page.goto(`/r/${elsewhere}`);
  await bob.connected();

  // alice joins after bob, so general's member list (loaded with her page) includes him.
  const alice = await ChatPage.open(browser, unique('alice'));
  await alice.message.fill(`lunch? @${bobName.slice(0, 8)}`);
  await alice.message.press('End');
  await alice.message.pressSequentially(bobName.slice(8, 10));
  const suggestions = alice.page.getByRole('listbox', { name: 'Mention someone' });
  await expect(suggestions.getByRole('option', { name: `@${bobName}` })).toBeVisible();
  await alice.message.press('Tab');
  await expect(alice.message).toHaveValue(`lunch? @${bobName} `);
  await expect(suggestions).toHaveCount(0);
  await alice.message.pressSequentially('at noon');
  await alice.send.click();
  await expect(alice.message).toHaveValue('');
  await expect(alice.line(`lunch? @${bobName} at noon`).locator('.mention')).toHaveText(`@${bobName}`);

  // Escape closes the suggestions and leaves the text alone.
  await alice.message.pressSequentially(`@${bobName.slice(0, 6)}`);
  await expect(suggestions).toBeVisible();
  await alice.message.press('Escape');
  await expect(suggestions).toHaveCount(0);
  await expect(alice.message).toHaveValue(`@${bobName.slice(0, 6)}`);

  const general = bob.page.getByRole('link', { name: /#general/ });
  // The badge shows "@1"; the link's name says what it counts.
  await expect(general.locator('.mentions')).toHaveText('@1');
  await expect(general).toHaveAccessibleName(/, 1 mention\b/);
  // Reading the room clears it.
  await general.click();
  await bob.connected();
  await expect(bob.page.getByRole('link', { name: /#general/ }).locator('.mentions')).toHaveCount(0);
  await alice.close();
  await bob.close();
});
