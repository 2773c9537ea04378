import { test, expect } from '@playwright/test';
import { ChatPage, unique } from './chat-page';

test('bold, italic, code, fenced blocks, links and mentions render as elements, live and after a reload', async ({
  browser,
}) => {
  const aliceName = unique('alice');
  const bobName = unique('bob');
  const alice = await ChatPage.open(browser, aliceName);
  const bob = await ChatPage.open(browser, bobName);
  const tag = unique('fmt');
  const blockTag = unique('block');
  const body = `${tag} **loud** _soft_ \`a_b\` see https://example.com/x?y=1. not javascript:alert(1) hi @${bobName}`;
  await alice.say(body);
  await alice.message.fill(`${blockTag}\n\`\`\`rust\nfn main() { **no** }\n\`\`\``);
  await alice.send.click();

  for (const reader of [bob, alice]) {
    for (const fresh of [false, true]) {
      if (fresh) {
        await reader.page.reload();
        await reader.connected();
      }
      const line = reader.log.getByRole('listitem').filter({ hasText: tag });
      await expect(line.locator('strong')).toHaveText('loud');
      await expect(line.locator('em')).toHaveText('soft');
      await expect(line.locator('code')).toHaveText('a_b');
      const link = line.getByRole('link', { name: 'https://example.com/x?y=1' });
      await expect(link).toHaveAttribute('href', 'https://example.com/x?y=1');
      await expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow');
      // Only http(s) becomes a link; the trailing full stop stays text.
      await expect(line.locator('.body').getByRole('link')).toHaveCount(1);
      await expect(line.locator('.body')).toContainText('y=1. not javascript:alert(1) hi');
      const mention = line.locator('.mention');
      await expect(mention).toHaveText(`@${bobName}`);
      // The person mentioned sees it stand out; everyone else sees an ordinary mention.
      await expect(mention).toHaveClass(reader === bob ? /\bme\b/ : /^mention$/);

      const block = reader.log.getByRole('listitem').filter({ hasText: blockTag }).locator('pre code');
      await expect(block).toHaveText('fn main() { **no** }');
    }
  }
  await alice.close();
  await bob.close();
});
