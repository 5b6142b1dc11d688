import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { ApiError, makeClient, ok, type Agent } from '../api/client';
import { loadConfig, type ConsoleConfig } from '../config';
import { localSignIn, type Session } from '../auth/session';
import { Ctx, type ConsoleContext } from './context';
import { Shell } from './Shell';
import { ErrorAlert } from './ErrorAlert';

function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'not_in_directory')
      return 'This id is not in the directory. Ask an admin to add you.';
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

export function App() {
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [me, setMe] = useState<Agent | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    loadConfig()
      .then(async (c) => {
        setConfig(c);
        if (c.auth.mode === 'oidc') {
          const { oidcResume } = await import('../auth/oidc');
          const s = await oidcResume(c.auth);
          if (s) setSession(s);
        }
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, []);

  const signOut = useCallback(async () => {
    const s = session;
    setSession(null);
    setMe(null);
    await s?.signOut();
  }, [session]);

  const client = useMemo(
    () =>
      config && session
        ? makeClient(config.api_base_url, {
            token: session.token,
            clock: config.auth.mode === 'local' ? 'local-runner' : 'date-header',
            onUnauthenticated: () => {
              setError('Your session has ended. Sign in again.');
              setSession(null);
              setMe(null);
            },
          })
        : null,
    [config, session],
  );

  const refreshMe = useCallback(async () => {
    if (!client) return;
    setMe(await ok(client.GET('/me')));
  }, [client]);

  useEffect(() => {
    if (!client || me) return;
    refreshMe().catch((e: unknown) => {
      setError(errorText(e));
      setSession(null);
    });
  }, [client, me, refreshMe]);

  if (!config) {
    return <main className="center">{error ? <p role="alert">{error}</p> : <p>Loading…</p>}</main>;
  }
  if (!session || !client || !me) {
    return (
      <SignIn
        config={config}
        busy={!!session && !me}
        error={error}
        onSession={(s) => {
          setError(null);
          setSession(s);
        }}
        onError={setError}
      />
    );
  }
  const ctx: ConsoleContext = {
    config,
    session,
    client,
    me,
    refreshMe,
  };
  return (
    <Ctx.Provider value={ctx}>
      <Shell onSignOut={signOut} />
    </Ctx.Provider>
  );
}

function SignIn(props: {
  config: ConsoleConfig;
  busy: boolean;
  error: string | null;
  onSession: (s: Session) => void;
  onError: (e: string) => void;
}) {
  const [agentId, setAgentId] = useState('');
  const [working, setWorking] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setWorking(true);
    try {
      if (props.config.auth.mode === 'oidc') {
        const { oidcSignIn } = await import('../auth/oidc');
        await oidcSignIn(props.config.auth);
      } else {
        props.onSession(await localSignIn(props.config, agentId.trim()));
      }
    } catch (err) {
      props.onError(errorText(err));
    } finally {
      setWorking(false);
    }
  };
  return (
    <main className="center">
      <form className="card signin" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">wadesk</h1>
        {props.config.auth.mode === 'local' ? (
          <label>
            Agent id
            <input
              value={agentId}
              onChange={(e) => setAgentId(e.target.value)}
              autoComplete="username"
              required
              maxLength={128}
              autoFocus
            />
          </label>
        ) : (
          <p>Sign in with your organisation&apos;s account.</p>
        )}
        <button type="submit" disabled={working || props.busy}>
          Sign in
        </button>
        <ErrorAlert error={props.error} />
      </form>
    </main>
  );
}
