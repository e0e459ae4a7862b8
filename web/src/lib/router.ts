/**
 * A small hash router: `#/` (projects), `#/projects/:id` (a project's workspace),
 * `#/jobs` (the jobs dashboard; its filters in the query, `#/jobs?status=failed`) and
 * `#/jobs/:id` (one job). Hash routes need no server support beyond serving `index.html`.
 */
import { useEffect, useState } from 'react';

export type Route =
  | { name: 'projects' }
  | { name: 'project'; projectId: string }
  | { name: 'jobs' }
  | { name: 'job'; jobId: string }
  | { name: 'not-found'; path: string };

export const paths = {
  projects: () => '#/',
  project: (projectId: string) => `#/projects/${encodeURIComponent(projectId)}`,
  jobs: (filters: Record<string, string> = {}) => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value)).toString();
    return query ? `#/jobs?${query}` : '#/jobs';
  },
  job: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}`,
};

/** The query part of a location hash (`#/jobs?status=failed` → status=failed). */
export function hashQuery(hash: string = window.location.hash): URLSearchParams {
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

/** Put `hash` in the address bar without a new history entry or a route change. */
export function replaceHash(hash: string): void {
  window.history.replaceState(window.history.state, '', hash);
}

/** The route of a location hash such as `#/projects/42`. */
export function parseHash(hash: string): Route {
  const path = (hash.replace(/^#/, '').split('?')[0] ?? '').replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/projects') return { name: 'projects' };
  if (path === '/jobs') return { name: 'jobs' };
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job?.[1]) return { name: 'job', jobId: decodeURIComponent(job[1]) };
  const project = /^\/projects\/([^/]+)$/.exec(path);
  if (project?.[1]) return { name: 'project', projectId: decodeURIComponent(project[1]) };
  return { name: 'not-found', path };
}

export function navigate(hash: string): void {
  window.location.hash = hash.replace(/^#/, '');
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', update);
    update();
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
