/**
 * The app's REST reads through TanStack Query: projects, a project's backlog and commits,
 * an interview, the stacks. One cache for every page (`App`), so a project read on `#/`
 * is shown at once on its page and by the dashboard's project filter.
 */
import { queryOptions } from '@tanstack/react-query';

import { commitsApi, interviewsApi, projectsApi, stacksApi } from './api';

export const projectKeys = {
  all: ['projects'] as const,
  list: ['projects', 'list'] as const,
  detail: (projectId: string) => ['projects', 'detail', projectId] as const,
  backlog: (projectId: string) => ['projects', 'backlog', projectId] as const,
  commits: (projectId: string) => ['projects', 'commits', projectId] as const,
  interview: (interviewId: string) => ['interviews', interviewId] as const,
  stacks: ['stacks'] as const,
};

export function projectsQuery() {
  return queryOptions({
    queryKey: projectKeys.list,
    queryFn: ({ signal }) => projectsApi.list({ signal }),
  });
}

export function projectQuery(projectId: string) {
  return queryOptions({
    queryKey: projectKeys.detail(projectId),
    queryFn: ({ signal }) => projectsApi.get(projectId, { signal }),
  });
}

export function backlogQuery(projectId: string) {
  return queryOptions({
    queryKey: projectKeys.backlog(projectId),
    queryFn: ({ signal }) => projectsApi.backlog(projectId, { signal }),
  });
}

export function commitsQuery(projectId: string) {
  return queryOptions({
    queryKey: projectKeys.commits(projectId),
    queryFn: ({ signal }) => commitsApi.list(projectId, { signal }),
  });
}

export function interviewQuery(interviewId: string) {
  return queryOptions({
    queryKey: projectKeys.interview(interviewId),
    queryFn: ({ signal }) => interviewsApi.get(interviewId, { signal }),
  });
}

export function stacksQuery() {
  return queryOptions({
    queryKey: projectKeys.stacks,
    queryFn: () => stacksApi.list(),
    staleTime: Infinity, // the server's stacks do not change while it runs
  });
}
