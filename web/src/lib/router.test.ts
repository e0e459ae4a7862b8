import { describe, expect, it } from 'vitest';

import { hashQuery, parseHash, paths } from './router';

describe('parseHash', () => {
  it('maps the hash routes', () => {
    expect(parseHash('')).toEqual({ name: 'projects' });
    expect(parseHash('#/')).toEqual({ name: 'projects' });
    expect(parseHash('#/jobs')).toEqual({ name: 'jobs' });
    expect(parseHash('#/jobs/')).toEqual({ name: 'jobs' });
    expect(parseHash(paths.project('a b'))).toEqual({ name: 'project', projectId: 'a b' });
    expect(parseHash('#/nowhere')).toEqual({ name: 'not-found', path: '/nowhere' });
  });
});

describe('job routes and filters in the address', () => {
  it('maps a job page and keeps the dashboard query out of the route', () => {
    expect(parseHash(paths.job('j/1'))).toEqual({ name: 'job', jobId: 'j/1' });
    expect(parseHash('#/jobs?status=failed')).toEqual({ name: 'jobs' });
  });

  it('writes only the filters that are set and reads them back', () => {
    const hash = paths.jobs({ status: 'failed', type: '', project: 'p 1' });
    expect(hash).toBe('#/jobs?status=failed&project=p+1');
    const query = hashQuery(hash);
    expect(query.get('status')).toBe('failed');
    expect(query.get('project')).toBe('p 1');
    expect(query.get('type')).toBeNull();
    expect(paths.jobs()).toBe('#/jobs');
  });
});
