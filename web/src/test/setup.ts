import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

import { resetApiConfig } from '../lib/api';

afterEach(() => {
  cleanup();
  resetApiConfig();
  localStorage.clear();
});
