import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';

test('an author edits and deletes a message and reactions toggle; a second person sees each change live', async ({
  browser,
}) => {
  const bobName = unique('bob');
  const alice = await ChatPage.open(browser, unique('alice'));
  const bob = await ChatPage.open(browser, bobName);
  const tag = unique('lunch');
  const original = `${tag} at noon?`;
  const edited = `${tag} at **one**?`;
  await alice.say(original);
  await expect(bob.line(original)).toHaveCount(1);
  // Only the author (or an admin) is offered Edit; bob joined after alice, so he is no admin.
  await expect(bob.line(original).getByRole('button', { name: 'Edit' })).toHaveCount(0);

  await alice.line(original).getByRole('button', { name: 'Edit' }).click();
  const editor = alice.page.getByLabel('Edit message');
  await expect(editor).toHaveValue(original);
  await editor.fill(edited);
  await editor.press('Enter');
  for (const reader of [alice, bob]) {
    const line = reader.log.getByRole('listitem').filter({ hasText: tag });
    await expect(line.locator('.body')).toHaveText(`${tag} at one?`);
    await expect(line.locator('strong')).toHaveText('one');
    await expect(line.getByText('(edited)')).toBeVisible();
  }
  // Escape abandons an edit and keeps the text.
  const aliceLine = alice.log.getByRole('listitem').filter({ hasText: tag });
  await aliceLine.getByRole('button', { name: 'Edit' }).click();
  await editor.fill('never saved');
  await editor.press('Escape');
  await expect(aliceLine.locator('.body')).toHaveText(`${tag} at one?`);

  // bob reacts from the quick set; alice sees who, joins in; bob takes his back.
  const bobLine = bob.log.getByRole('listitem').filter({ hasText: tag });
  await bobLine.getByRole('button', { name: 'React', exact: true }).click();
  await bobLine.getByRole('button', { name: 'React with 👍' }).click();
  const thumbsForAlice = aliceLine.locator('button.reaction', { hasText: '👍' });
  await expect(thumbsForAlice).toHaveAttribute('title', `${bobName} reacted with 👍`);
  await expect(thumbsForAlice.locator('.count')).toHaveText('1');
  await expect(thumbsForAlice).toHaveAttribute('aria-pressed', 'false');
  await thumbsForAlice.click();
  const thumbsForBob = bobLine.locator('button.reaction', { hasText: '👍' });
  await expect(thumbsForBob.locator('.count')).toHaveText('2');
  await expect(thumbsForBob).toHaveAttribute('aria-pressed', 'true');
  await thumbsForBob.click();
  await expect(thumbsForAlice.locator('.count')).toHaveText('1');
  await expect(thumbsForAlice).toHaveAttribute('aria-pressed', 'true');

  // Any emoji may be typed; something that is not one emoji is refused with a clear message.
  await aliceLine.getByRole('button', { name: 'React', exact: true }).click();
  await aliceLine.getByLabel('Any emoji').fill('🦀');
  await aliceLine.getByRole('button', { name: 'Add' }).click();
  await expect(bobLine.locator('button.reaction', { hasText: '🦀' }).locator('.count')).toHaveText('1');
  await aliceLine.getByRole('button', { name: 'React', exact: true }).click();
  await aliceLine.getByLabel('Any emoji').fill('nope');
  await aliceLine.getByRole('button', { name: 'Add' }).click();
  await expect(alice.page.getByRole('alert').filter({ hasText: 'A reaction is one emoji.' })).toBeVisible();

  // A reload shows the same state from the server.
  await bob.page.reload();
  await bob.connected();
  await expect(bobLine.locator('button.reaction')).toHaveCount(2);
  await expect(bobLine.getByText('(edited)')).toBeVisible();

  // Deleting leaves a placeholder on both screens, without text or reactions.
  await aliceLine.getByRole('button', { name: 'Delete' }).click();
  for (const reader of [alice, bob]) {
    await expect(reader.log.getByRole('listitem').filter({ hasText: tag })).toHaveCount(0);
  }
  await expect(bob.log.getByText('Message deleted')).not.toHaveCount(0);
  await alice.close();
  await bob.close();
});

test('an edit in progress survives a reaction to its message, and Escape and Cancel give focus back to Edit', async ({
  browser,
}) => {
  const alice = await ChatPage.open(browser, unique('alice'));
  const bob = await ChatPage.open(browser, unique('bob'));
  const tag = unique('draft');
  await alice.say(`${tag} first version`);
  await expect(bob.line(`${tag} first version`)).toHaveCount(1);
  // By id: while the editor is open the line does not show its text.
  const id = await alice.line(`${tag} first version`).getAttribute('data-id');
  const aliceLine = alice.log.locator(`li[data-id="${id}"]`);
  const bobLine = bob.log.locator(`li[data-id="${id}"]`);
  const edit = aliceLine.getByRole('button', { name: 'Edit' });
  const editor = alice.page.getByLabel('Edit message');

  await edit.click();
  await editor.fill(`${tag} half-written`);
  // bob's reaction gives the message a new revision, which draws alice's line afresh.
  await bobLine.getByRole('button', { name: 'React', exact: true }).click();
  await bobLine.getByRole('button', { name: 'React with 🎉' }).click();
  await expect(aliceLine.locator('button.reaction', { hasText: '🎉' })).toHaveCount(1);
  await expect(editor).toHaveValue(`${tag} half-written`);
  await expect(editor).toBeFocused();
  await alice.page.keyboard.type(' and more');
  await expect(editor).toHaveValue(`${tag} half-written and more`);

  await editor.press('Escape');
  await expect(aliceLine.locator('.body')).toHaveText(`${tag} first version`);
  await expect(edit).toBeFocused();

  await edit.click();
  await editor.fill(`${tag} second version`);
  await alice.page.getByRole('button', { name: 'Cancel' }).click();
  await expect(edit).toBeFocused();

  await edit.click();
  await editor.fill(`${tag} second version`);
  await editor.press('Enter');
  await expect(aliceLine.locator('.body')).toHaveText(`${tag} second version`);
  await alice.close();
  await bob.close();
});
