import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

import { resetApiConfig } from '../lib/api';
import { resetSharedEventSource } from '../lib/streams';

afterEach(() => {
  cleanup();
  resetApiConfig();
  resetSharedEventSource();
  localStorage.clear();
  window.location.hash = '';
});
