/**
 * A job's events in order: progress, status and its tokens (a run of consecutive token
 * events is one entry, its text joined, so an LLM reply reads as text).
 */
import type { JobEvent } from '../../lib/types';

export interface TimelineEntry {
  key: string;
  type: JobEvent['type'];
  id: number | null;
  text: string;
}

function describe(event: JobEvent): string {
  switch (event.type) {
    case 'progress':
      return `${event.data.percent ?? '?'}% ${event.data.message ?? ''}`.trim();
    case 'status':
      return event.data.error ? `${event.data.status}: ${event.data.error}` : event.data.status;
    case 'token':
      return event.data.text;
    case 'snapshot':
      return event.data.status;
    case 'end':
      return event.data?.status ?? 'end';
  }
}

/** The entries shown: every event but `end`, consecutive tokens merged. */
export function timelineEntries(events: readonly JobEvent[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const event of events) {
    if (event.type === 'end') continue;
    const last = entries[entries.length - 1];
    if (event.type === 'token' && last?.type === 'token') {
      last.text += event.data.text;
      last.id = event.id ?? last.id;
      continue;
    }
    entries.push({ key: `${event.type}-${event.id ?? entries.length}`, type: event.type, id: event.id, text: describe(event) });
  }
  return entries;
}

export function JobTimeline({ events }: { events: readonly JobEvent[] }) {
  const entries = timelineEntries(events);
  return (
    <section className="orbit-card" aria-labelledby="job-timeline-title">
      <h3 id="job-timeline-title">Timeline</h3>
      {entries.length === 0 ? <p className="orbit-muted">No events yet.</p> : null}
      <ol className="orbit-timeline" data-testid="job-timeline">
        {entries.map((entry) => (
          <li key={entry.key} data-testid="timeline-event" data-type={entry.type}>
            <span className="orbit-timeline__type">{entry.type}</span> <span className="orbit-timeline__text">{entry.text}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
