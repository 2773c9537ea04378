import { test, expect, type Page } from '@playwright/test';
import { ChatPage } from './chat-page';
import { OwnServer } from './own-server';

// Its own server, so the corpus is the whole history and nothing else runs beside it.
const server = new OwnServer(Number(process.env.E2E_XSS_PORT ?? 3925));
test.beforeAll(() => server.start());
test.afterAll(() => server.stop());

/** Each must appear as literal text, never become markup or run. */
const payloads = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<svg onload=alert(1)>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<a href="javascript:alert(1)">click</a>',
  'javascript:alert(1)',
  '</textarea><script>alert(1)</script>',
  '</script><script>alert(1)</script>',
  '"><script>alert(1)</script>',
  "'><img src=x onerror=alert(1)>",
  '<body onload=alert(1)>',
  '<input autofocus onfocus=alert(1)>',
  '<details open ontoggle=alert(1)>',
  '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
  '<object data="javascript:alert(1)">',
  '<embed src="javascript:alert(1)">',
  '<style>*{display:none}</style>',
  '<link rel=stylesheet href=//evil.example/x.css>',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<base href="//evil.example/">',
  '<form action="javascript:alert(1)"><button>go</button></form>',
  '{{constructor.constructor("alert(1)")()}}',
  '${alert(1)}',
  '<!--<script>alert(1)</script>-->',
  '<![CDATA[<script>alert(1)</script>]]>',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
  '\u202Egnp.exe',
  '<scr<script>ipt>alert(1)</script>',
  '<svg><script>alert(1)</script></svg>',
  '<video><source onerror=alert(1)></video>',
  '<marquee onstart=alert(1)>',
  'data:text/html,<script>alert(1)</script>',
  '<x onclick=alert(1)>click me</x>',
  '<ｓｃｒｉｐｔ>alert(1)</ｓｃｒｉｐｔ>',
];
const nicknames = ['<img src=y onerror=alert(2)>', '"><svg onload=alert(3)>', '</script><b>x'];
const roomNames = ['<script>alert(1)</script>', '"><img src=x>', 'javascript:alert(1)'];

/** Collects any dialog or Content-Security-Policy complaint in `page` into `problems`. */
function watch(page: Page, problems: string[]) {
  page.on('dialog', async (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      problems.push(`csp: ${message.text()}`);
    }
  });
}

const injected = 'script, img, svg, iframe, object, embed, style, link, meta, base, form, input, details, math, video, marquee, x, body';

async function expectInert(chat: ChatPage) {
  for (const payload of payloads) {
    await expect(chat.line(payload)).toHaveCount(1);
  }
  for (const nickname of nicknames) {
    await expect(chat.log.getByText(nickname, { exact: true }).first()).toBeVisible();
  }
  await expect(chat.log.locator(injected)).toHaveCount(0);
  await expect(chat.page).toHaveTitle(/Natter/);
}

test('hostile text in messages, nicknames and room names stays text, before and after hydration', async ({
  browser,
}) => {
  // Many browsers, every payload twice (before and after hydration), and a dialog per room name.
  test.setTimeout(60_000);
  const writers: ChatPage[] = [];
  const problems: string[] = [];
  for (const nickname of nicknames) {
    const writer = await ChatPage.open(browser, nickname, { baseURL: server.url });
    watch(writer.page, problems);
    writers.push(writer);
  }
  for (const [index, payload] of payloads.entries()) {
    await writers[index % writers.length].say(payload);
  }

  // Room names are refused, and the refusal shows the name as text.
  const author = writers[0];
  for (const name of roomNames) {
    await author.newRoomDialog();
    await author.page.getByLabel('New room').fill(name);
    await author.page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(author.page.getByRole('alert').filter({ hasText: 'Room names' })).toBeVisible();
  }
  const { status, body } = await fetch(`${server.url}/api/rooms`).then(async (r) => ({ status: r.status, body: await r.text() }));
  expect(status).toBe(200);
  expect(JSON.parse(body)).toEqual([{ id: 1, name: 'general', members: nicknames.length }]);

  // A reader with the hydrated page, and one with only the server-rendered HTML.
  const reader = await ChatPage.open(browser, 'reader', { baseURL: server.url });
  watch(reader.page, problems);
  await reader.page.reload();
  await reader.connected();
  await expectInert(reader);

  const plain = await browser.newContext({ baseURL: server.url, javaScriptEnabled: false });
  const plainPage = await plain.newPage();
  await plainPage.goto('/');
  await expectInert(new ChatPage(plainPage));

  expect(problems).toEqual([]);
  for (const writer of writers) await writer.close();
  await reader.close();
  await plain.close();
});
