import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ok, serverClock, type DayFigures, type Figures } from '../api/client';
import { COUNTS, dayColumns, formatSeconds, viewerZone, zonedDate } from '../logic/figures';
import { useConsole } from './context';
import { ErrorAlert } from './ErrorAlert';

const PALETTE = ['#1f6feb', '#2da44e', '#bf8700', '#cf222e', '#8250df', '#57606a', '#e16f24'];

export default function DashboardPage() {
  const { client, me } = useConsole();
  const supervisor = me.role !== 'agent';
  const [tz] = useState(viewerZone);
  const [from, setFrom] = useState(() => zonedDate(serverClock.now(), tz, -6));
  const [to, setTo] = useState(() => zonedDate(serverClock.now(), tz));
  const [agent, setAgent] = useState('');
  const [queue, setQueue] = useState('');
  const [days, setDays] = useState<DayFigures[] | null>(null);
  const [stats, setStats] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    const load = async () => {
      const filter: { agent?: string; queue?: string } = {};
      if (agent.trim()) filter.agent = agent.trim();
      if (queue.trim()) filter.queue = queue.trim();
      try {
        const [d, s] = await Promise.all([
          ok(
            client.GET('/analytics/dashboard', { params: { query: { from, to, tz, ...filter } } }),
          ),
          ok(client.GET('/analytics/chat-statistics', { params: { query: { tz, ...filter } } })),
        ]);
        if (stop) return;
        setDays(d.days);
        setStats(s);
        setError(null);
      } catch (e) {
        if (!stop) setError(e instanceof Error ? e.message : String(e));
      }
    };
    void load();
    const t = setInterval(load, 10_000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [client, from, to, agent, queue, tz]);

  return (
    <div className="dashboard">
      <h1>Dashboard</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          From
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        {supervisor && (
          <>
            <label>
              Agent
              <input value={agent} onChange={(e) => setAgent(e.target.value)} placeholder="all" />
            </label>
            <label>
              Queue
              <input value={queue} onChange={(e) => setQueue(e.target.value)} placeholder="all" />
            </label>
          </>
        )}
      </form>
      <p className="muted">Days are days in {tz}.</p>
      <ErrorAlert error={error} />
      {stats && (
        <section aria-labelledby="stats-title">
          <h2 id="stats-title">Last 24 hours</h2>
          <ul className="cards" aria-label="Chat statistics">
            <Card label="Active now" value={String(stats.active)} />
            <Card label="Answered" value={String(stats.answered)} />
            {COUNTS.map(([k, label]) => (
              <Card key={k} label={label} value={String(stats[k])} />
            ))}
            <Card label="Average response" value={formatSeconds(stats.avg_response_seconds)} />
            <Card label="Average handling" value={formatSeconds(stats.avg_handling_seconds)} />
          </ul>
        </section>
      )}
      {days && (
        <section aria-labelledby="days-title">
          <h2 id="days-title">Day by day</h2>
          <Chart
            title="Conversations per day"
            days={days}
            tz={tz}
            keys={COUNTS.slice(0, 4).map(([k]) => k)}
            labels={COUNTS.slice(0, 4).map(([, l]) => l)}
          />
          <Chart
            title="Average times per day (seconds)"
            days={days}
            tz={tz}
            keys={['avg_response_seconds', 'avg_handling_seconds']}
            labels={['Average response', 'Average handling']}
          />
          <details>
            <summary>Figures as a table</summary>
            <table className="grid">
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  {COUNTS.map(([k, l]) => (
                    <th key={k} scope="col">
                      {l}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {days.map((d) => (
                  <tr key={d.date}>
                    <th scope="row">{d.date}</th>
                    {COUNTS.map(([k]) => (
                      <td key={k}>{d[k] ?? '—'}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </section>
      )}
    </div>
  );
}

function Card({ label, value }: { label: string; value: string }) {
  return (
    <li className="figure" aria-label={`${label}: ${value}`}>
      <span className="figure-value">{value}</span>
      <span className="figure-label">{label}</span>
    </li>
  );
}

function Chart(props: {
  title: string;
  tz: string;
  days: DayFigures[];
  keys: (keyof DayFigures)[];
  labels: string[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const { days, keys, labels, title, tz } = props;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(320, Math.min(900, el.clientWidth || 640));
    const bars = uPlot.paths.bars?.({ size: [0.7, 60] });
    const day = 86_400;
    const plot = new uPlot(
      {
        width,
        height: 200,
        scales: { x: { time: true } },
        axes: [
          {
            space: 40,
            incrs: [day],
            values: (_u, ticks) =>
              ticks.map((t) =>
                new Date(t * 1000).toLocaleDateString(undefined, {
                  month: 'short',
                  day: 'numeric',
                  timeZone: tz,
                }),
              ),
          },
          { size: 50 },
        ],
        series: [
          { value: (_u, v) => (v == null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)) },
          ...labels.map((label, i) => ({
            label,
            stroke: PALETTE[i % PALETTE.length],
            fill: keys.length <= 2 ? `${PALETTE[i % PALETTE.length]}55` : undefined,
            width: 2,
            paths: keys.length <= 2 ? bars : undefined,
            points: { show: true },
          })),
        ],
      },
      dayColumns(days, keys) as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
  }, [days, keys, labels, tz]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        role="img"
        aria-label={`${title}: chart of ${labels.join(', ')} per day; the table below has the figures`}
      />
    </figure>
  );
}
