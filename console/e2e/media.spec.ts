// Files both ways: an agent attaches a file from their computer (upload,
// form post, send), and a customer's photo shows in the transcript.
import { expect, test, type Page } from '@playwright/test';
import {
  advanceClock,
  customerWrites,
  expectNoSeriousAxeViolations,
  makeTeam,
  phone,
  SCREENSHOTS,
  signIn,
  type Team,
} from './stack';

test.describe.configure({ mode: 'serial' });

let page: Page;
let team: Team;
const customer = { from: phone(), name: 'Marta Gil' };

/** A small PDF: its first bytes are what the API's content check looks for. */
const PDF = Buffer.from(
  '%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n',
);
/** A 48×48 checkered PNG. */
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAIAAADYYG7QAAAAVElEQVR42u3WsQ0AIAgEQDZxP+d0CTdwA1sXwNJYcAklCVc9H3uOdFZv6bzeDyAgoHKgX4dv+0BAQPVAkhoICEgf8jqAgPQhSQ0EBKQPeR1AQKVBB858F48N08ZQAAAAAElFTkSuQmCC';

interface SentMedia {
  to: string;
  type: string;
  text?: string;
  media?: { filename: string; mime_type: string; size_bytes: number };
}

test.beforeAll(async ({ browser, request }) => {
  team = await makeTeam(request);
  page = await (await browser.newContext()).newPage();
  await signIn(page, team.agent);
  await page.getByLabel('Status').selectOption({ label: 'Available' });
  await expect(page.getByLabel('Status')).toHaveValue('available');
  await customerWrites(
    request,
    team,
    customer.from,
    customer.name,
    'Hola, ¿me mandan el contrato?',
  );
  await page
    .getByRole('dialog', { name: 'Incoming chat' })
    .getByRole('button', { name: 'Accept' })
    .click();
  await expect(page.getByRole('log', { name: 'Transcript' })).toContainText(
    'me mandan el contrato',
  );
});

test.afterAll(async () => {
  await page.context().close();
});

test('a file the console refuses before upload is said plainly', async () => {
  await page.getByLabel('Attach file').setInputFiles({
    name: 'tool.exe',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('MZ'),
  });
  await expect(page.getByRole('alert')).toContainText('.exe cannot be sent');
});

test('an agent attaches a small PDF with a caption and sees it sent', async ({ request }) => {
  // A few seconds pass between turns, as they do (WhatsApp's timestamps are whole seconds).
  await advanceClock(request, 2);
  await page.getByRole('textbox', { name: 'Message' }).fill('Su contrato');
  await page.getByLabel('Attach file').setInputFiles({
    name: 'contrato.pdf',
    mimeType: 'application/pdf',
    buffer: PDF,
  });
  const transcript = page.getByRole('log', { name: 'Transcript' });
  await expect(transcript.getByRole('link', { name: 'contrato.pdf' })).toBeVisible();
  await expect(transcript).toContainText('Su contrato');
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('');
  await expect
    .poll(async () => {
      const items = (await (await request.get('/_local/sent')).json()).items as SentMedia[];
      return items.find((m) => m.to === customer.from && m.type === 'document');
    })
    .toMatchObject({
      text: 'Su contrato',
      media: { filename: 'contrato.pdf', mime_type: 'application/pdf', size_bytes: PDF.length },
    });
});

test("a customer's photo shows in the transcript as a preview", async ({ request }) => {
  await advanceClock(request, 2);
  const r = await request.post('/_local/inbound', {
    data: {
      from: customer.from,
      name: customer.name,
      text: 'Así llegó la caja',
      phone_number_id: team.channel,
      image: { mime_type: 'image/png', base64: PNG_BASE64 },
    },
  });
  expect(r.ok(), await r.text()).toBeTruthy();
  const transcript = page.getByRole('log', { name: 'Transcript' });
  const preview = transcript.getByRole('img', { name: 'Image' });
  await expect(preview).toBeVisible({ timeout: 3_000 });
  await expect(transcript).toContainText('Así llegó la caja');
  // Loaded from the media route, not a broken image.
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(48);
  await expect(transcript.locator('.msg-text, .msg-attachment a')).toHaveText([
    'Hola, ¿me mandan el contrato?',
    'contrato.pdf',
    'Su contrato',
    'Así llegó la caja',
  ]);
  await expectNoSeriousAxeViolations(page);
  await transcript.evaluate((log) => log.scrollTo(0, log.scrollHeight));
  await page.screenshot({ path: `${SCREENSHOTS}media.png` });
});
