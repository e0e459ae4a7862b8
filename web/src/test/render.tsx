/** Rendering a page or panel inside a fresh TanStack Query cache, as `App` provides it. */
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';

import { createQueryClient } from '../lib/queries';

export function renderWithClient(ui: ReactElement, client: QueryClient = createQueryClient()) {
  return { client, ...render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>) };
}
