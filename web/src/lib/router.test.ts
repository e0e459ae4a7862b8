import { describe, expect, it } from 'vitest';

import { parseHash, paths } from './router';

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
