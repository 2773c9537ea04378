import { expect, type Browser, type BrowserContextOptions, type Locator, type Page } from '@playwright/test';

/** The chat page as a person sees it: found by role and label, never by markup position. */
export class ChatPage {
  readonly nickname: Locator;
  readonly join: Locator;
  readonly message: Locator;
  readonly send: Locator;
  readonly log: Locator;
  readonly status: Locator;
  readonly online: Locator;

  constructor(readonly page: Page) {
    // Uncaught errors in the page (a failed hydration, say) go to the test log.
    page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
    this.nickname = page.getByLabel('Nickname');
    this.join = page.getByRole('button', { name: 'Join' });
    this.message = page.getByLabel('Message', { exact: true });
    this.send = page.getByRole('button', { name: 'Send' });
    this.log = page.getByRole('log', { name: 'Messages' });
    this.status = page.getByRole('status');
    // On a phone the members sheet is closed unless opened: the list is there, not shown.
    this.online = page.getByRole('list', { name: 'Online users', includeHidden: true });
  }

  /** A new browser (its own cookies): a visitor until it joins as `nickname`. */
  static async open(browser: Browser, nickname?: string, options?: BrowserContextOptions): Promise<ChatPage> {
    const context = await browser.newContext(options);
    const chat = new ChatPage(await context.newPage());
    await chat.page.goto('/');
    if (options?.javaScriptEnabled !== false) {
      await chat.hydrated();
    }
    if (nickname) {
      await chat.joinAs(nickname);
    }
    return chat;
  }

  async goto() {
    await this.page.goto('/');
    await this.connected();
  }

  /** Waits until the page is live: text typed before that would not reach the components. */
  async hydrated() {
    await expect(this.page.locator('.app[data-hydrated]')).toHaveCount(1);
  }

  /** Joins as a visitor: picks the nickname and waits until connected and listed online. */
  async joinAs(nickname: string) {
    await this.hydrated();
    await this.nickname.fill(nickname);
    await this.join.click();
    await this.connected();
    await expect(this.online.getByText(nickname, { exact: true })).toHaveCount(1);
  }

  /** Opens the signed-in user's menu (nickname, password, notifications, theme, sign out). */
  async userMenu(): Promise<Locator> {
    return openMenu(this.page, 'details.user-menu');
  }

  /** Opens the room's menu (leave, notifications, export, invite, archive). */
  async roomMenu(): Promise<Locator> {
    return openMenu(this.page, 'details.room-menu');
  }

  /** Opens the "Create a room" dialog from the sidebar's +. */
  async newRoomDialog(): Promise<Locator> {
    const dialog = this.page.getByRole('dialog', { name: 'Create a room' });
    // A refused name leaves the dialog open, with the reason, for another try.
    if (await dialog.isVisible()) return dialog;
    await this.page.getByRole('button', { name: 'Create a room' }).click();
    await expect(dialog).toBeVisible();
    return dialog;
  }

  async connected() {
    await expect(this.status).toHaveText('Connected');
  }

  /** Renames a signed-in user. */
  async rename(nickname: string) {
    await this.userMenu();
    await this.nickname.fill(nickname);
    await this.nickname.press('Enter');
    await expect(this.online.getByText(nickname, { exact: true })).toBeVisible();
  }

  async say(text: string) {
    await this.message.fill(text);
    await this.send.click();
    await expect(this.message).toHaveValue('');
  }

  /** A message line by its exact text. */
  line(text: string): Locator {
    return this.log.getByRole('listitem').filter({ has: this.page.getByText(text, { exact: true }) });
  }

  async close() {
    await this.page.context().close();
  }
}

/** Unique per test run, so tests sharing one server never see each other's messages as their own. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Opens a drop-down menu (a `<details>`) unless it is open already, and returns it. */
export async function openMenu(page: Page, selector: string): Promise<Locator> {
  const menu = page.locator(selector);
  if ((await menu.getAttribute('open')) === null) {
    await menu.locator(':scope > summary').click();
  }
  await expect(menu).toHaveAttribute('open', '');
  return menu;
}
