// Data protection on the admin page: a channel's retention, erasing a
// customer after a confirmation, and the audit trail that records it.
import { expect, test } from '@playwright/test';
import {
  BOOTSTRAP_ADMIN,
  customerWrites,
  expectNoSeriousAxeViolations,
  makeTeam,
  phone,
  signIn,
} from './stack';

test('an admin sets a retention, erases a customer after confirming, and sees it audited', async ({
  page,
  request,
}) => {
  const team = await makeTeam(request);
  const customer = phone();
  await customerWrites(request, team, customer, 'Olga', 'Please forget me');
  await signIn(page, BOOTSTRAP_ADMIN);
  await page.getByRole('link', { name: 'Admin' }).click();

  // The retention is checked by the API and its error shown at the field.
  const channel = page.getByRole('form', { name: 'Channel' });
  await channel.getByLabel('Phone number id').fill(team.channel);
  await channel.getByLabel('Display phone number').fill(team.display);
  await channel.getByLabel('Default queue').fill(team.queue);
  await channel.getByLabel('Reopen message').fill('Hello again!');
  const retention = channel.getByLabel('Keep finished chats (days)');
  await retention.fill('0');
  await channel.getByRole('button', { name: 'Save channel' }).click();
  await expect(retention).toHaveAttribute('aria-invalid', 'true');
  await expect(retention).toHaveAccessibleDescription(/retention_days/);
  await retention.fill('90');
  await channel.getByRole('button', { name: 'Save channel' }).click();
  await expect(channel.getByRole('status')).toHaveText(`Channel ${team.channel} saved.`);

  // Erase: nothing happens before the confirmation; Cancel keeps everything.
  const erase = page.getByRole('form', { name: 'Erase customer' });
  await erase.getByLabel("Customer's channel (phone number id)").fill(team.channel);
  await erase.getByLabel("Customer's WhatsApp id").fill(customer);
  await erase.getByRole('button', { name: 'Erase customer' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Erase this customer?' });
  await expect(confirm).toContainText(customer);
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await expectNoSeriousAxeViolations(page);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toBeHidden();
  await erase.getByRole('button', { name: 'Erase customer' }).click();
  await confirm.getByRole('button', { name: 'Erase' }).click();
  await expect(erase.getByRole('status')).toHaveText(/^Customer erased: 1 conversations/);

  // The audit trail, filtered to that customer, shows the erasure.
  const audit = page.getByRole('form', { name: 'Audit filters' });
  await audit.getByLabel("Customer's WhatsApp id").fill(customer);
  await audit.getByRole('button', { name: 'Show' }).click();
  const records = page.getByRole('table', { name: 'Audit records' });
  await expect(records).toContainText('customer erasure');
  await expect(records).toContainText(BOOTSTRAP_ADMIN);
});
