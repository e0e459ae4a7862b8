/** Rendering a page or panel inside a fresh TanStack Query cache, as `App` provides it. */
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';

import { createQueryClient } from '../lib/queries';

export function renderWithClient(ui: ReactElement, client: QueryClient = createQueryClient()) {
  const wrap = (element: ReactElement) => <QueryClientProvider client={client}>{element}</QueryClientProvider>;
  const view = render(wrap(ui));
  return { ...view, client, rerender: (next: ReactElement) => view.rerender(wrap(next)) };
}
