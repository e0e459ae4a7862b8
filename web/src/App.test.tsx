import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { App } from './App';
import { TOKEN_STORAGE_KEY, configureApi } from './lib/api';
import { createFakeFetch, jsonResponse, problemResponse } from './test/fakes';

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

function serverWithToken(token: string) {
  const fake = createFakeFetch((call) => {
    if (call.headers.authorization !== `Bearer ${token}`) {
      return problemResponse(401, 'Authentication required', 'A bearer token is required.');
    }
    return jsonResponse([{ id: 'p1', name: 'Recipes', description: 'Meal plans', created_at: '2026-01-01T00:00:00Z' }]);
  });
  configureApi({ fetch: fake.fetch });
  return fake;
}

describe('App token prompt', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    window.location.hash = '#/';
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks once for the token on a 401, stores it, sets the cookie and retries with it', async () => {
    const cookies: string[] = [];
    vi.spyOn(document, 'cookie', 'set').mockImplementation((value: string) => {
      cookies.push(value);
    });
    const fake = serverWithToken('s3cret');
    render(<App />);
    await flush();

    expect(screen.getAllByTestId('token-prompt')).toHaveLength(1);
    await flush(10_000); // more 401s (the page keeps polling) do not stack prompts
    expect(screen.getAllByTestId('token-prompt')).toHaveLength(1);
    expect(screen.queryByTestId('token-reason')).toBeNull();

    fireEvent.change(screen.getByTestId('token-input'), { target: { value: ' s3cret ' } });
    fireEvent.click(screen.getByTestId('token-submit'));
    await flush();

    expect(localStorage.getItem(TOKEN_STORAGE_KEY)).toBe('s3cret');
    expect(cookies.at(-1)).toBe('orbit_token=s3cret; path=/api; SameSite=Strict');
    expect(screen.queryByTestId('token-prompt')).toBeNull();
    expect(screen.getByTestId('project-link').textContent).toBe('Recipes');
    expect(fake.calls.at(-1)?.headers.authorization).toBe('Bearer s3cret');
  });

  it('says so when the stored token is refused', async () => {
    vi.spyOn(document, 'cookie', 'set').mockImplementation(() => {});
    localStorage.setItem(TOKEN_STORAGE_KEY, 'old');
    serverWithToken('new');
    render(<App />);
    await flush();
    expect(screen.getByTestId('token-reason').textContent).toContain('The saved token was refused');
    fireEvent.change(screen.getByTestId('token-input'), { target: { value: 'new' } });
    fireEvent.click(screen.getByTestId('token-submit'));
    await flush();
    expect(screen.getByTestId('project-link').textContent).toBe('Recipes');
  });

  it('routes between the pages by hash', async () => {
    const fake = createFakeFetch((call) => {
      const path = new URL(call.url, 'http://x').pathname;
      if (path === '/api/v1/jobs') return jsonResponse({ items: [], next_cursor: null });
      if (path === '/api/v1/jobs/stats') return jsonResponse({ counts: {}, total: 0 });
      return jsonResponse([]);
    });
    configureApi({ fetch: fake.fetch });
    render(<App />);
    await flush();
    expect(screen.getByTestId('projects-empty')).toBeTruthy();
    await act(async () => {
      window.location.hash = '#/jobs';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    await flush();
    expect(screen.getByTestId('jobs-dashboard')).toBeTruthy();
    expect(screen.getByTestId('jobs-empty')).toBeTruthy();
    expect(screen.getByTestId('nav-jobs').getAttribute('aria-current')).toBe('page');
  });
});
