/**
 * A small hash router: `#/` (projects), `#/projects/:id` (a project's workspace) and
 * `#/jobs` (the jobs dashboard). Hash routes need no server support beyond serving
 * `index.html`.
 */
import { useEffect, useState } from 'react';

export type Route =
  | { name: 'projects' }
  | { name: 'project'; projectId: string }
  | { name: 'jobs' }
  | { name: 'not-found'; path: string };

export const paths = {
  projects: () => '#/',
  project: (projectId: string) => `#/projects/${encodeURIComponent(projectId)}`,
  jobs: () => '#/jobs',
};

/** The route of a location hash such as `#/projects/42`. */
export function parseHash(hash: string): Route {
  const path = (hash.replace(/^#/, '').split('?')[0] ?? '').replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/projects') return { name: 'projects' };
  if (path === '/jobs') return { name: 'jobs' };
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
