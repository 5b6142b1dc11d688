import { lazy, Suspense, useEffect, useState } from 'react';
import { ok, syncLocalClock } from '../api/client';
import { useConsole } from './context';
import { useLive } from './useLive';
import { useDesk } from './useDesk';
import { DeskPage } from './DeskPage';
import { OfferDialog } from './OfferDialog';
import { StatusControl } from './StatusControl';
import { SupervisePage } from './SupervisePage';
import { AdminPage } from './AdminPage';
import { askForNotifications, canAskForNotifications } from './notify';

const DashboardPage = lazy(() => import('./DashboardPage'));

type Page = 'desk' | 'supervise' | 'dashboard' | 'admin';

function pageFromHash(): Page {
  const h = window.location.hash.replace(/^#\/?/, '');
  return h === 'supervise' || h === 'dashboard' || h === 'admin' ? h : 'desk';
}

export function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { config, session, client, me, refreshMe } = useConsole();
  const live = useLive(config, session);
  const desk = useDesk(client, live, me.id, () => void refreshMe().catch(() => undefined));
  const [page, setPage] = useState<Page>(pageFromHash);
  const [askNotify, setAskNotify] = useState(canAskForNotifications);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  // While polling, the agent's own state (RONA) is polled too; locally the
  // runner's movable clock is read with every resync (it can jump a day).
  const localClock = config.auth.mode === 'local';
  useEffect(() => {
    const sync = () => (localClock ? syncLocalClock(client).catch(() => undefined) : undefined);
    void sync();
    const t = setInterval(sync, 5_000);
    const off = live.subscribe((hint) => {
      if (hint === null) void refreshMe().catch(() => undefined);
      void sync();
    });
    return () => {
      clearInterval(t);
      off();
    };
  }, [live, refreshMe, client, localClock]);

  const canSupervise = me.role === 'supervisor' || me.role === 'admin';
  const pages: [Page, string][] = [
    ['desk', 'Desk'],
    ...(canSupervise ? ([['supervise', 'Supervise']] as [Page, string][]) : []),
    ['dashboard', 'Dashboard'],
    ...(me.role === 'admin' ? ([['admin', 'Admin']] as [Page, string][]) : []),
  ];

  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">wadesk</span>
        <nav aria-label="Pages">
          {pages.map(([p, label]) => (
            <a key={p} href={`#/${p}`} aria-current={page === p ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span className="spacer" />
        <StatusControl
          state={me.state}
          onChange={async (state) => {
            await ok(client.PUT('/me/state', { body: { state } }));
            await refreshMe();
          }}
        />
        {askNotify && (
          <button
            type="button"
            onClick={() => void askForNotifications().finally(() => setAskNotify(false))}
          >
            Notify me
          </button>
        )}
        <span className={`live live-${live.mode}`} title="Live updates">
          {live.mode === 'live' ? 'Live' : live.mode === 'polling' ? 'Polling' : 'Connecting'}
        </span>
        <span className="who" title={`Signed in as ${me.id}`}>
          {me.name} <small>{me.role}</small>
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main className="page">
        {page === 'desk' && <DeskPage desk={desk} />}
        {page === 'supervise' && canSupervise && <SupervisePage live={live} />}
        {page === 'dashboard' && (
          <Suspense fallback={<p>Loading the dashboard…</p>}>
            <DashboardPage />
          </Suspense>
        )}
        {page === 'admin' && me.role === 'admin' && <AdminPage />}
      </main>
      <OfferDialog
        desk={desk}
        offerTimeoutSeconds={config.offer_timeout_seconds}
        onAccepted={(id) => {
          window.location.hash = '#/desk';
          desk.open(id);
        }}
      />
    </div>
  );
}
