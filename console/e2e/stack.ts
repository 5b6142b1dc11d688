// Drives the local runner the way tools do: its local-only routes and the
// admin API as the bootstrap admin. Each test file makes its own queue,
// channel and agents, so files do not see each other's customers.
import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const BOOTSTRAP_ADMIN = process.env.WADESK_BOOTSTRAP_ADMIN ?? 'admin';

export function uniq(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

export function phone(): string {
  return `346${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}

export async function tokenFor(request: APIRequestContext, sub: string): Promise<string> {
  const r = await request.post('/_local/token', { data: { sub } });
  expect(r.ok(), await r.text()).toBeTruthy();
  return (await r.json()).token as string;
}

export async function api(
  request: APIRequestContext,
  token: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  data?: unknown,
) {
  const r = await request.fetch(path, {
    method,
    data,
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(r.ok(), `${method} ${path}: ${r.status()} ${await r.text()}`).toBeTruthy();
  return r.json();
}

export interface Team {
  queue: string;
  queueName: string;
  channel: string;
  display: string;
  agent: string;
  supervisor: string;
  adminToken: string;
}

/** A queue, a channel routing to it, an agent of the queue and a supervisor. */
export async function makeTeam(request: APIRequestContext, maxConcurrent = 2): Promise<Team> {
  const adminToken = await tokenFor(request, BOOTSTRAP_ADMIN);
  const queue = uniq('q');
  const queueName = `Sales ${queue}`;
  const channel = String(100000 + Math.floor(Math.random() * 899999));
  const display = `+34 900 ${channel}`;
  const agent = uniq('ana');
  const supervisor = uniq('sue');
  await api(request, adminToken, 'PUT', `/admin/queues/${queue}`, { name: queueName });
  await api(request, adminToken, 'PUT', `/admin/channels/${channel}`, {
    display_phone_number: display,
    chat_enabled: true,
    default_queue: queue,
    bot: false,
    mask_sensitive_data: true,
    reopen_message: 'Hello again from the contact center',
    push_template: { name: 'follow_up', language: 'en' },
  });
  await api(request, adminToken, 'PUT', `/admin/agents/${agent}`, {
    name: 'Ana Agent',
    role: 'agent',
    queues: [queue],
    max_concurrent: maxConcurrent,
  });
  await api(request, adminToken, 'PUT', `/admin/agents/${supervisor}`, {
    name: 'Sue Supervisor',
    role: 'supervisor',
    queues: [queue],
    max_concurrent: 1,
  });
  return { queue, queueName, channel, display, agent, supervisor, adminToken };
}

export async function customerWrites(
  request: APIRequestContext,
  team: Team,
  from: string,
  name: string,
  text: string,
) {
  const r = await request.post('/_local/inbound', {
    data: { from, name, text, phone_number_id: team.channel },
  });
  expect(r.ok(), await r.text()).toBeTruthy();
  return r.json();
}

export interface SentMessage {
  to: string;
  type: string;
  text?: string;
  template?: { name: string };
}

export async function sentMessages(request: APIRequestContext): Promise<SentMessage[]> {
  const r = await request.get('/_local/sent');
  return (await r.json()).items as SentMessage[];
}

export async function advanceClock(request: APIRequestContext, seconds: number) {
  const r = await request.post('/_local/clock/advance', { data: { seconds } });
  expect(r.ok(), await r.text()).toBeTruthy();
}

export async function signIn(page: Page, agentId: string) {
  await page.goto('/console/');
  await page.getByLabel('Agent id').fill(agentId);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByLabel('Status')).toBeVisible();
}

export const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;

/** axe-core finds no serious or critical violation on the page as it is now. */
export async function expectNoSeriousAxeViolations(page: Page) {
  const result = await new AxeBuilder({ page }).analyze();
  const serious = result.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  expect(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`),
  ).toEqual([]);
}
