// Handing a chat over: transfer to another agent, and a conference guest who
// joins and leaves. Two agents of one queue, each in their own browser context.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { api, customerWrites, makeTeam, phone, signIn, type Team } from './stack';

async function agentPage(browser: Browser, id: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, id);
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
  return page;
}

async function secondAgent(request: Parameters<typeof makeTeam>[0], team: Team): Promise<string> {
  const id = `${team.agent}-b`;
  await api(request, team.adminToken, 'PUT', `/admin/agents/${id}`, {
    name: 'Bruno Agent',
    role: 'agent',
    queues: [team.queue],
    max_concurrent: 2,
  });
  return id;
}

async function acceptOffer(page: Page, customer: string) {
  const offer = page.getByRole('dialog', { name: 'Incoming chat' });
  await expect(offer).toContainText(customer, { timeout: 3_000 });
  await offer.getByRole('button', { name: 'Accept' }).click();
  await expect(offer).toBeHidden();
}

async function wrapUp(page: Page) {
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
}

test('a transfer to another agent offers them the chat, and the sender wraps up', async ({
  browser,
  request,
}) => {
  const team = await makeTeam(request, 1);
  const ana = await agentPage(browser, team.agent);
  await customerWrites(request, team, phone(), 'Tomás', 'I need billing');
  await acceptOffer(ana, 'Tomás');
  const bruno = await agentPage(browser, await secondAgent(request, team));
  await ana.getByRole('button', { name: 'Transfer', exact: true }).click();
  const form = ana.getByRole('form', { name: 'Transfer to' });
  await form.getByLabel('Agent id').fill(`${team.agent}-b`);
  await form.getByRole('button', { name: 'Transfer chat' }).click();
  await wrapUp(ana);
  await acceptOffer(bruno, 'Tomás');
  await expect(bruno.getByRole('log', { name: 'Transcript' })).toContainText('I need billing');
  await ana.context().close();
  await bruno.context().close();
});

test('a conference guest joins, leaves and wraps up; the owner keeps the chat', async ({
  browser,
  request,
}) => {
  const team = await makeTeam(request, 2);
  const ana = await agentPage(browser, team.agent);
  await customerWrites(request, team, phone(), 'Carmen', 'Two questions');
  await acceptOffer(ana, 'Carmen');
  const guest = await secondAgent(request, team);
  const bruno = await agentPage(browser, guest);
  await ana.getByRole('button', { name: 'Invite to conference' }).click();
  const form = ana.getByRole('form', { name: 'Invite an agent' });
  await form.getByLabel('Agent id').fill(guest);
  await form.getByRole('button', { name: 'Send invitation' }).click();
  await acceptOffer(bruno, 'Carmen');
  await expect(bruno.getByRole('log', { name: 'Transcript' })).toContainText('Two questions');
  await bruno.getByRole('button', { name: 'Exit conference' }).click();
  await wrapUp(bruno);
  await ana.getByRole('button', { name: 'Carmen' }).click();
  await expect(ana.getByRole('button', { name: 'End', exact: true })).toBeVisible();
  await ana.context().close();
  await bruno.context().close();
});

test('history search finds an earlier chat with the customer', async ({ browser, request }) => {
  const team = await makeTeam(request, 2);
  const ana = await agentPage(browser, team.agent);
  const from = phone();
  await customerWrites(request, team, from, 'Hugo', 'Parcel 7781 is missing');
  await acceptOffer(ana, 'Hugo');
  await ana.getByRole('button', { name: 'End', exact: true }).click();
  await wrapUp(ana);
  await customerWrites(request, team, from, 'Hugo', 'Me again');
  await acceptOffer(ana, 'Hugo');
  await expect(ana.getByRole('log', { name: 'Transcript' })).toContainText('Me again');
  await ana.getByRole('searchbox', { name: 'Search history' }).fill('7781');
  await ana.getByRole('button', { name: 'Search', exact: true }).click();
  const results = ana.getByRole('region', { name: 'Customer history' }).getByRole('listitem');
  await expect(results).toHaveCount(1);
  await expect(results).toContainText('Resolved');
  await results.getByRole('button').click();
  await expect(results.getByRole('list')).toContainText('Parcel 7781 is missing');
  await ana.context().close();
});
