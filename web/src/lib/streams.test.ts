import { describe, expect, it } from 'vitest';

import { createFakeEventSource } from '../test/fakes';
import type { EventSourceConstructor } from './events';
import { StreamLimitError, limitedEventSource } from './streams';

describe('limitedEventSource', () => {
  it('refuses streams over the cap until one is closed', () => {
    const FakeES = createFakeEventSource();
    const Limited = limitedEventSource(2, () => FakeES as unknown as EventSourceConstructor);
    expect(Limited).not.toBeNull();
    const a = new Limited!('/a');
    new Limited!('/b');
    expect(Limited!.openCount).toBe(2);
    expect(() => new Limited!('/c')).toThrow(StreamLimitError);
    a.close();
    a.close(); // closing twice frees one slot only
    expect(Limited!.openCount).toBe(1);
    new Limited!('/c');
    expect(FakeES.instances.map((es) => es.url)).toEqual(['/a', '/b', '/c']);
  });

  it('is null where there is no EventSource', () => {
    expect(limitedEventSource(2, () => null)).toBeNull();
  });
});
