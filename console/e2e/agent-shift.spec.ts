// One customer's chat through the console, step by step: each test names the
// rule it checks and builds on the one before (a failure skips the rest).
import { expect, test, type Page } from '@playwright/test';
import {
  advanceClock,
  api,
  customerWrites,
  expectNoSeriousAxeViolations,
  makeTeam,
  sentMessages,
  phone,
  SCREENSHOTS,
  signIn,
  tokenFor,
  type Team,
} from './stack';

test.describe.configure({ mode: 'serial' });

let page: Page;
let team: Team;
const customer = { from: phone(), name: 'Lucía Pérez' };

test.beforeAll(async ({ browser, request }) => {
  team = await makeTeam(request);
  // AxeBuilder wants a page of a context made with newContext().
  page = await (await browser.newContext()).newPage();
});

test.afterAll(async () => {
  await page.context().close();
});

test('an agent signs in with their agent id', async () => {
  await page.goto('/console/');
  await expect(page.getByLabel('Agent id')).toBeVisible();
  await expectNoSeriousAxeViolations(page);
  await signIn(page, team.agent);
  await expect(page.getByText('Ana Agent')).toBeVisible();
  await expect(page.getByLabel('Status')).toHaveValue('not_ready');
});

test('the agent goes Available with the Status control', async () => {
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
});

test('a customer message pops up as an Incoming chat offer within 2 s', async ({ request }) => {
  const landed = await customerWrites(
    request,
    team,
    customer.from,
    customer.name,
    'Hola, my order is late',
  );
  const offer = page.getByRole('dialog', { name: 'Incoming chat' });
  await expect(offer).toBeVisible({ timeout: 2_000 });
  await expect(offer).toContainText(customer.name);
  await expect(offer).toContainText(`+${customer.from}`);
  // The source number as the API states it (locally: what the simulated webhook says).
  const token = await tokenFor(request, team.agent);
  const c = await api(request, token, 'GET', `/conversations/${landed.conversation_id}`);
  await expect(offer).toContainText(c.channel.display_phone_number);
  await expect(offer).toContainText(team.queueName);
  await expect(offer.getByText(/^\d+:\d\d$/)).toBeVisible();
  await page.screenshot({ path: `${SCREENSHOTS}offer.png` });
});

test('accepting the offer opens the conversation with its transcript', async () => {
  await page
    .getByRole('dialog', { name: 'Incoming chat' })
    .getByRole('button', { name: 'Accept' })
    .click();
  await expect(page.getByRole('dialog', { name: 'Incoming chat' })).toBeHidden();
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText(
    'Hola, my order is late',
  );
  await expect(page.getByRole('tab', { name: 'Active' })).toHaveAttribute('aria-selected', 'true');
});

test('the Message box counts n / 4096 and refuses longer text', async () => {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('x'.repeat(4097));
  await expect(page.getByText('4097 / 4096')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeDisabled();
  await box.fill('Hello Lucía');
  await expect(page.getByText('11 / 4096')).toBeVisible();
});

test('a reply is sent to WhatsApp', async ({ request }) => {
  // A few seconds pass between turns, as they do (WhatsApp's timestamps are whole seconds).
  await advanceClock(request, 2);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText('Hello Lucía');
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('');
  await expect
    .poll(async () =>
      (await sentMessages(request)).some((m) => m.to === customer.from && m.text === 'Hello Lucía'),
    )
    .toBe(true);
});

test("the customer's next message appears live", async ({ request }) => {
  await advanceClock(request, 2);
  await customerWrites(request, team, customer.from, customer.name, 'Thanks! Order 4417');
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText('Thanks! Order 4417', {
    timeout: 2_000,
  });
  await expect(page.getByRole('log', { name: 'Transcript' }).locator('.msg-text')).toHaveText([
    'Hola, my order is late',
    'Hello Lucía',
    'Thanks! Order 4417',
  ]);
  await expectNoSeriousAxeViolations(page);
  await page.screenshot({ path: `${SCREENSHOTS}conversation.png` });
});

test('End asks for a wrap-up reason, and Wrap up finishes the chat', async () => {
  await page.getByRole('button', { name: 'End', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Wrap up' });
  await expect(dialog).toBeVisible();
  const radio = dialog.getByRole('radio', { name: 'Resolved' });
  const reasonBox = dialog.getByRole('textbox', { name: 'Reason' });
  // The reasons load after the dialog opens: wait for the one or the other.
  await expect(radio.or(reasonBox)).toBeVisible();
  if (await radio.count()) await radio.check();
  else await reasonBox.fill('Resolved');
  await dialog.getByRole('button', { name: 'Wrap up' }).click();
  await expect(dialog).toBeHidden();
});

function archiveRow() {
  return page.getByRole('listitem', { name: `Archived chat with ${customer.name}` });
}

test('the archive shows the time left in the window, with Reopen enabled', async () => {
  await page.getByRole('tab', { name: 'Archive' }).click();
  const row = archiveRow();
  await expect(row).toBeVisible();
  await expect(row.getByTestId('window-left')).toHaveText(/^23 h 5\d min left in window$/);
  await expect(row.getByRole('button', { name: 'Reopen' })).toBeEnabled();
  await expect(row.getByRole('button', { name: 'Send template' })).toBeDisabled();
  await expectNoSeriousAxeViolations(page);
  await page.screenshot({ path: `${SCREENSHOTS}archive.png` });
});

test('after 24 h Reopen is disabled and Send template enabled', async ({ request }) => {
  await advanceClock(request, 24 * 3600 + 60);
  const row = archiveRow();
  await expect(row.getByRole('button', { name: 'Reopen' })).toBeDisabled({ timeout: 3_000 });
  await expect(row.getByRole('button', { name: 'Send template' })).toBeEnabled();
  await expect(row.getByTestId('window-left')).toHaveText('Window closed');
});

test('Send template pushes the utility template and reopens the chat', async ({ request }) => {
  await archiveRow().getByRole('button', { name: 'Send template' }).click();
  await expect
    .poll(async () =>
      (await sentMessages(request)).some(
        (m) => m.to === customer.from && m.template?.name === 'follow_up',
      ),
    )
    .toBe(true);
  await page.getByRole('tab', { name: 'Active' }).click();
  await expect(page.getByRole('button', { name: customer.name })).toBeVisible();
});

test('a supervisor sees the reopened chat and adds a note that never reaches WhatsApp', async ({
  browser,
  request,
}) => {
  const sup = await (await browser.newContext()).newPage();
  await signIn(sup, team.supervisor);
  await sup.getByRole('link', { name: 'Supervise' }).click();
  await sup.getByLabel('Filter by status').selectOption('reopened');
  await sup.getByLabel('Filter by agent').fill(team.agent);
  await sup.getByRole('button', { name: customer.name }).click();
  await expect(sup.getByRole('log', { name: 'Transcript' })).toContainText('Hello Lucía');
  // Letters only: a long number could be masked as a card or a phone number.
  const note = `Tip: offer a discount, ref ${Math.random()
    .toString(36)
    .replace(/[^a-z]/g, '')
    .slice(0, 8)}`;
  await sup.getByLabel('Internal note').fill(note);
  await sup.getByRole('button', { name: 'Add note' }).click();
  await expect(sup.getByRole('log', { name: 'Transcript' })).toContainText(note);
  await expectNoSeriousAxeViolations(sup);
  // The agent sees it live in the conversation; the customer never does.
  await page.getByRole('button', { name: customer.name }).click();
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText(note, {
    timeout: 3_000,
  });
  expect((await sentMessages(request)).some((m) => (m.text ?? '').includes(note))).toBe(false);
  await sup.context().close();
});

test('the dashboard shows the finished chat, in days of the viewer’s time zone', async ({
  browser,
}) => {
  const sup = await (await browser.newContext({ timezoneId: 'Europe/Madrid' })).newPage();
  await signIn(sup, team.supervisor);
  const asked = sup.waitForRequest((r) => r.url().includes('/analytics/dashboard?'));
  await sup.getByRole('link', { name: 'Dashboard' }).click();
  expect(new URL((await asked).url()).searchParams.get('tz')).toBe('Europe/Madrid');
  await expect(sup.getByText('Days are days in Europe/Madrid.')).toBeVisible();
  await sup.getByLabel('Agent', { exact: true }).fill(team.agent);
  await sup.getByText('Figures as a table').click();
  const finished = sup.locator('table tbody tr td:nth-child(2)');
  await expect
    .poll(async () => (await finished.allTextContents()).reduce((n, t) => n + (Number(t) || 0), 0))
    .toBe(1);
  await expect(sup.locator('.chart canvas').first()).toBeVisible();
  await expectNoSeriousAxeViolations(sup);
  await sup.getByText('Figures as a table').click();
  await sup.evaluate(() => window.scrollTo(0, 0));
  await sup.screenshot({ path: `${SCREENSHOTS}dashboard.png`, fullPage: false });
  await sup.context().close();
});
