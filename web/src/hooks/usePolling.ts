import { useCallback, useEffect, useLayoutEffect, useRef } from 'react';

/**
 * Run `task` now and then `intervalMs` after each run ends (runs never overlap), while
 * `enabled`. A change of `deps` aborts the running task (its signal) and starts over.
 * `refresh()` runs the task again as soon as the current run (if any) ends.
 */
export function usePolling(
  task: (signal: AbortSignal) => Promise<void>,
  intervalMs: number,
  deps: readonly unknown[],
  enabled = true,
): { refresh: () => void } {
  const taskRef = useRef(task);
  useLayoutEffect(() => {
    taskRef.current = task; // the latest task, updated after render
  });
  const kickRef = useRef<() => void>(() => {});

  useEffect(() => {
    if (!enabled) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;

    const run = async () => {
      timer = undefined;
      if (controller.signal.aborted) return;
      running = true;
      try {
        await taskRef.current(controller.signal);
      } catch {
        // the task reports its own errors; polling goes on
      } finally {
        running = false;
      }
      if (controller.signal.aborted) return;
      if (again) {
        again = false;
        void run();
        return;
      }
      timer = setTimeout(() => void run(), Math.max(0, intervalMs));
    };

    kickRef.current = () => {
      if (controller.signal.aborted) return;
      if (running) {
        again = true;
        return;
      }
      if (timer !== undefined) clearTimeout(timer);
      void run();
    };
    void run();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      kickRef.current = () => {};
    };
    // `deps` is the caller's dependency list, as for useEffect itself.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, intervalMs, ...deps]);

  const refresh = useCallback(() => kickRef.current(), []);
  return { refresh };
}
