/**
 * The `EventSource` constructor of the page's project stream (see `lib/projectStream.ts`),
 * provided by the project page so that every `useTrackedJob` below it shares one
 * connection. Outside a project page it is null and jobs use their own capped streams.
 */
import { createContext, useContext } from 'react';

import type { EventSourceConstructor } from '../lib/events';

export const ProjectStreamContext = createContext<EventSourceConstructor | null>(null);

export function useProjectStream(): EventSourceConstructor | null {
  return useContext(ProjectStreamContext);
}
