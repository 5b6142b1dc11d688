// Smaller behaviours, one test each, each on its own team.
import { expect, test } from '@playwright/test';
import {
  advanceClock,
  customerWrites,
  expectNoSeriousAxeViolations,
  makeTeam,
  phone,
  signIn,
} from './stack';

test('an offer left to time out puts the agent in RONA, and the agent clears it', async ({
  page,
  request,
}) => {
  const team = await makeTeam(request);
  await signIn(page, team.agent);
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
  await customerWrites(request, team, phone(), 'Rita', 'Anyone there?');
  await expect(page.getByRole('dialog', { name: 'Incoming chat' })).toBeVisible({ timeout: 2_000 });
  await advanceClock(request, 31);
  await expect(page.getByRole('dialog', { name: 'Incoming chat' })).toBeHidden({ timeout: 3_000 });
  await expect(page.getByLabel('Status')).toHaveValue('rona', { timeout: 3_000 });
  await expect(page.getByRole('status').filter({ hasText: 'RONA' })).toBeVisible();
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
});

test('the keyboard alone signs in, goes Available and accepts an offer', async ({
  page,
  request,
}) => {
  const team = await makeTeam(request);
  await page.goto('/console/');
  await expect(page.getByLabel('Agent id')).toBeFocused();
  await page.keyboard.type(team.agent);
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Status')).toBeVisible();
  await page.getByLabel('Status').focus();
  await page.keyboard.press('ArrowUp'); // Not ready → Available
  await expect(page.getByLabel('Status')).toHaveValue('available');
  await customerWrites(request, team, phone(), 'Kiko', 'Hi');
  const accept = page.getByRole('dialog', { name: 'Incoming chat' }).getByRole('button', {
    name: 'Accept',
  });
  await expect(accept).toBeFocused({ timeout: 2_000 });
  await page.keyboard.press('Enter');
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText('Hi');
  // Tabs move with the arrow keys.
  await page.getByRole('tab', { name: 'Active' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'Archive' })).toBeFocused();
  await expect(page.getByRole('tab', { name: 'Archive' })).toHaveAttribute('aria-selected', 'true');
});

test('admin pages show the API validation error at the field', async ({ page, request }) => {
  await makeTeam(request);
  await signIn(page, process.env.WADESK_BOOTSTRAP_ADMIN ?? 'admin');
  await page.getByRole('link', { name: 'Admin' }).click();
  const form = page.getByRole('form', { name: 'Agent' });
  await form.getByLabel('Agent id (sign-in subject)').fill('newbie');
  await form.getByLabel('Name').fill('New Bie');
  await form.getByLabel('Queues (comma-separated ids)').fill('no-such-queue');
  await form.getByRole('button', { name: 'Save agent' }).click();
  const queues = form.getByLabel('Queues (comma-separated ids)');
  await expect(queues).toHaveAttribute('aria-invalid', 'true');
  await expect(queues).toHaveAccessibleDescription(/no-such-queue/);
  await queues.fill('default');
  await form.getByLabel('Max concurrent chats').fill('1000');
  await form.getByRole('button', { name: 'Save agent' }).click();
  await expect(form.getByLabel('Max concurrent chats')).toHaveAccessibleDescription(
    /max_concurrent/,
  );
  await form.getByLabel('Max concurrent chats').fill('2');
  await form.getByRole('button', { name: 'Save agent' }).click();
  await expect(form.getByRole('status')).toHaveText('Agent newbie saved.');
  await expectNoSeriousAxeViolations(page);
});

test('the transcript shows card numbers as the API masks them', async ({ page, request }) => {
  const team = await makeTeam(request); // its channel masks sensitive data
  await signIn(page, team.agent);
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
  await customerWrites(request, team, phone(), 'Marta', 'My card is 4111 1111 1111 1111');
  await page
    .getByRole('dialog', { name: 'Incoming chat' })
    .getByRole('button', { name: 'Accept' })
    .click();
  const transcript = page.getByRole('log', { name: 'Transcript' });
  await expect(transcript).toContainText('My card is');
  await expect(transcript).not.toContainText('4111 1111 1111 1111');
});

test('an agent not ready takes a waiting chat from the Unanswered tab', async ({
  page,
  request,
}) => {
  const team = await makeTeam(request);
  await signIn(page, team.agent);
  await customerWrites(request, team, phone(), 'Nora', 'Is anyone there?');
  await page.getByRole('tab', { name: 'Unanswered' }).click();
  await page.getByRole('button', { name: 'Take Nora' }).click();
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText('Is anyone there?');
  await page.getByRole('tab', { name: 'Active' }).click();
  await expect(page.getByRole('button', { name: 'Nora' })).toBeVisible();
});

test('without a live socket the console polls, and an offer still shows within 2 s', async ({
  page,
  request,
}) => {
  await page.route('**/console/config.json', (route) =>
    route.fulfill({
      json: { api_base_url: '', live_url: '/no-live-here', auth: { mode: 'local' } },
    }),
  );
  const team = await makeTeam(request);
  await signIn(page, team.agent);
  await expect(page.getByText('Polling')).toBeVisible({ timeout: 3_000 });
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
  await customerWrites(request, team, phone(), 'Olga', 'Hello?');
  await expect(page.getByRole('dialog', { name: 'Incoming chat' })).toContainText('Olga', {
    timeout: 2_000,
  });
});

test('a dropped live socket resynchronises over HTTP and reconnects', async ({ page, request }) => {
  const sockets: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket(/\/live\?token=/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  const team = await makeTeam(request);
  await signIn(page, team.agent);
  await expect(page.getByText('Live', { exact: true })).toBeVisible({ timeout: 3_000 });
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
  await sockets.at(-1)!.close();
  await expect(page.getByText('Polling')).toBeVisible();
  // While it is down, what happens still shows (HTTP resync and polling).
  await customerWrites(request, team, phone(), 'Pau', 'Hola');
  await expect(page.getByRole('dialog', { name: 'Incoming chat' })).toContainText('Pau', {
    timeout: 2_000,
  });
  // And the console reconnects by itself.
  await expect(page.getByText('Live', { exact: true })).toBeVisible({ timeout: 5_000 });
  expect(sockets.length).toBeGreaterThan(1);
});

test('Mark done clears a finished chat from the archive', async ({ page, request }) => {
  const team = await makeTeam(request);
  await signIn(page, team.agent);
  await customerWrites(request, team, phone(), 'Quim', 'Thanks, solved');
  await page.getByRole('tab', { name: 'Unanswered' }).click();
  await page.getByRole('button', { name: 'Take Quim' }).click();
  await page.getByRole('button', { name: 'End', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Wrap up' });
  const radio = dialog.getByRole('radio', { name: 'Resolved' });
  const reasonBox = dialog.getByRole('textbox', { name: 'Reason' });
  // The reasons load after the dialog opens: wait for the one or the other.
  await expect(radio.or(reasonBox)).toBeVisible();
  if (await radio.count()) await radio.check();
  else await reasonBox.fill('Resolved');
  await dialog.getByRole('button', { name: 'Wrap up' }).click();
  await page.getByRole('tab', { name: 'Archive' }).click();
  const row = page.getByRole('listitem', { name: 'Archived chat with Quim' });
  await row.getByRole('button', { name: 'Mark done' }).click();
  await expect(row).toBeHidden();
});

test('an offer arriving while the agent types does not take the focus', async ({
  page,
  request,
}) => {
  const team = await makeTeam(request, 2);
  await signIn(page, team.agent);
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
  await customerWrites(request, team, phone(), 'Rosa', 'First');
  const offer = page.getByRole('dialog', { name: 'Incoming chat' });
  await offer.getByRole('button', { name: 'Accept' }).click();
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.click();
  await page.keyboard.type('Hello Ro');
  await customerWrites(request, team, phone(), 'Sara', 'Second');
  await expect(offer).toContainText('Sara', { timeout: 2_000 });
  await page.keyboard.type('sa');
  await expect(box).toBeFocused();
  await expect(box).toHaveValue('Hello Rosa');
  // Alt+A accepts it without leaving the keyboard.
  await page.keyboard.press('Alt+A');
  await expect(offer).toBeHidden();
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText('Second');
  // Each chat keeps its own draft.
  await expect(box).toHaveValue('');
  await page.getByRole('button', { name: 'Rosa' }).click();
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('Hello Rosa');
});

test('after the 24-hour window a reply says plainly that a template is required', async ({
  page,
  request,
}) => {
  const team = await makeTeam(request);
  await signIn(page, team.agent);
  await customerWrites(request, team, phone(), 'Teo', 'Are you there?');
  await page.getByRole('tab', { name: 'Unanswered' }).click();
  await page.getByRole('button', { name: 'Take Teo' }).click();
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText('Are you there?');
  await advanceClock(request, 24 * 3600 + 60);
  await page.getByRole('textbox', { name: 'Message' }).fill('Sorry for the wait');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Template required' })).toBeVisible();
});
