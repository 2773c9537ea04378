import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';

test('searching finds a message with the match highlighted, and a result opens it in context', async ({ browser }) => {
  const alice = await ChatPage.open(browser, unique('alice'));
  const word = unique('needle').replace(/[^a-z0-9]/gi, '');
  await alice.say(`the ${word} is in the haystack`);
  await alice.say(`${word} again, said later`);
  await alice.say(`unrelated chatter ${unique('noise')}`);

  const box = alice.page.getByRole('searchbox', { name: 'Search messages' });
  await box.fill(`"${word} is"`);
  await box.press('Enter');
  await expect(alice.page).toHaveURL(/\/search\?q=/);
  const results = alice.page.getByRole('list', { name: 'Search results' });
  await expect(results.getByRole('listitem')).toHaveCount(1);
  // A phrase is highlighted as one.
  await expect(results.locator('mark').first()).toHaveText(`${word} is`);
  await expect(alice.page.getByRole('status')).toHaveText('1 message');

  // Words without quotes find both, newest first.
  await alice.page.getByRole('searchbox', { name: 'Search messages' }).fill(`${word} in:general`);
  await alice.page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  await expect(results.getByRole('listitem')).toHaveCount(2);
  await expect(results.getByRole('listitem').first()).toContainText('again, said later');

  // A result opens the room at that message, highlighted.
  await results.getByRole('listitem').last().getByRole('link').click();
  await expect(alice.page).toHaveURL(/\/r\/general\/m\/\d+$/);
  await alice.connected();
  await expect(alice.log.locator('li.focus')).toContainText(`the ${word} is in the haystack`);
  await expect(alice.log.locator('li.focus')).toBeInViewport();

  // A mistake in the search gets a clear message.
  await alice.page.getByRole('searchbox', { name: 'Search messages' }).fill(`"${word}`);
  await alice.page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  await expect(alice.page.getByRole('alert')).toContainText('A quote is not closed');
  await alice.close();
});
