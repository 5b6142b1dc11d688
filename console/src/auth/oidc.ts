// OpenID Connect sign-in (authorization code + PKCE) for AWS deployments.
// Tokens live in memory only; the PKCE state survives the redirect in
// sessionStorage. Loaded on demand, so local mode does not ship it.
import { InMemoryWebStorage, UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import type { Session } from './session';

export interface OidcSettings {
  authority: string;
  client_id: string;
  scope?: string;
}

function manager(settings: OidcSettings): UserManager {
  const redirect = `${window.location.origin}${import.meta.env.BASE_URL}`;
  return new UserManager({
    authority: settings.authority,
    client_id: settings.client_id,
    scope: settings.scope ?? 'openid',
    redirect_uri: redirect,
    post_logout_redirect_uri: redirect,
    response_type: 'code',
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true,
  });
}

function sessionOf(um: UserManager, user: User): Session {
  let current: User | null = user;
  um.events.addUserLoaded((u) => {
    current = u;
  });
  um.events.addUserUnloaded(() => {
    current = null;
  });
  return {
    subject: user.profile.sub,
    token: async () => {
      if (current && current.expired) {
        current = await um.signinSilent().catch(() => null);
      }
      return current?.access_token ?? null;
    },
    signOut: async () => {
      current = null;
      await um.signoutRedirect().catch(() => um.removeUser());
    },
  };
}

/**
 * Completes a sign-in when the page is the redirect back from the issuer;
 * otherwise returns null (the caller then offers a "Sign in" button).
 */
export async function oidcResume(settings: OidcSettings): Promise<Session | null> {
  const um = manager(settings);
  const params = new URLSearchParams(window.location.search);
  if (params.has('code') && params.has('state')) {
    const user = await um.signinRedirectCallback();
    window.history.replaceState(null, '', import.meta.env.BASE_URL);
    return sessionOf(um, user);
  }
  return null;
}

export async function oidcSignIn(settings: OidcSettings): Promise<void> {
  await manager(settings).signinRedirect();
}
