// OpenID Connect mode (AWS): the issuer is faked with Playwright routes, since
// none can be reached from here. Checks the authorization-code + PKCE redirect
// and the code exchange; the tokens stay in memory.
import { expect, test } from '@playwright/test';

const ISSUER = 'https://idp.example.test';

test('OIDC mode signs in with authorization code and PKCE', async ({ page }) => {
  await page.route('**/console/config.json', (route) =>
    route.fulfill({
      json: {
        api_base_url: '',
        live_url: null,
        auth: { mode: 'oidc', authority: ISSUER, client_id: 'console', scope: 'openid' },
      },
    }),
  );
  await page.route(`${ISSUER}/.well-known/openid-configuration`, (route) =>
    route.fulfill({
      json: {
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/authorize`,
        token_endpoint: `${ISSUER}/token`,
        end_session_endpoint: `${ISSUER}/logout`,
        jwks_uri: `${ISSUER}/jwks`,
      },
      headers: { 'access-control-allow-origin': '*' },
    }),
  );
  let authorize: URL | null = null;
  await page.route(`${ISSUER}/authorize**`, (route) => {
    authorize = new URL(route.request().url());
    const back = new URL(authorize.searchParams.get('redirect_uri')!);
    back.searchParams.set('code', 'the-code');
    back.searchParams.set('state', authorize.searchParams.get('state')!);
    return route.fulfill({ status: 302, headers: { location: back.toString() } });
  });
  let exchange: URLSearchParams | null = null;
  await page.route(`${ISSUER}/token`, (route) => {
    exchange = new URLSearchParams(route.request().postData() ?? '');
    // An unsigned id token is enough for the client (it does not verify signatures).
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const idToken = `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, aud: 'console', sub: 'auth0|abc123', iat: now, exp: now + 3600 })}.`;
    return route.fulfill({
      json: { access_token: 'access', id_token: idToken, token_type: 'Bearer', expires_in: 3600 },
      headers: { 'access-control-allow-origin': '*' },
    });
  });
  await page.route('**/me', (route) =>
    route.fulfill({
      json: {
        id: 'auth0|abc123',
        name: 'Olga',
        role: 'agent',
        state: 'not_ready',
        queues: [],
        max_concurrent: 1,
        active: 0,
      },
    }),
  );
  await page.route('**/conversations?**', (route) => route.fulfill({ json: { items: [] } }));

  await page.goto('/console/');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByLabel('Status')).toBeVisible();
  await expect(page.getByText('Olga')).toBeVisible();
  expect(authorize!.searchParams.get('response_type')).toBe('code');
  expect(authorize!.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize!.searchParams.get('code_challenge')).toBeTruthy();
  expect(exchange!.get('grant_type')).toBe('authorization_code');
  expect(exchange!.get('code')).toBe('the-code');
  expect(exchange!.get('code_verifier')).toBeTruthy();
  // Tokens in memory only.
  const stored = await page.evaluate(
    () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  );
  expect(stored).not.toContain('access');
});
