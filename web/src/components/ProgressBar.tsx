import { useId, useState } from 'react';

export interface ProgressBarProps {
  /** 0..100, or null while unknown (indeterminate). */
  percent: number | null;
  message: string | null;
  /**
   * The bar never moves backwards for the same job: it shows the highest percent seen.
   * A new `resetKey` (or `jobId`) starts over.
   */
  resetKey?: string | number | null;
  /** Same as `resetKey`; handy when following a job. */
  jobId?: string | null;
  /** Accessible name. Default "Progress". */
  label?: string;
  className?: string;
}

function normalise(percent: number | null | undefined): number | null {
  if (typeof percent !== 'number' || !Number.isFinite(percent)) return null;
  return Math.min(100, Math.max(0, percent));
}

/**
 * A job progress bar. Determinate while `percent` is a number (never going backwards for the
 * same `resetKey`/`jobId`), indeterminate (animated stripe, `aria-busy`, no `aria-valuenow`)
 * while it is null. `message` is shown below the bar.
 */
export function ProgressBar({
  percent,
  message,
  resetKey,
  jobId,
  label = 'Progress',
  className,
}: ProgressBarProps) {
  const key = resetKey ?? jobId ?? null;
  const value = normalise(percent);
  const [seen, setSeen] = useState<{ key: typeof key; max: number | null }>({ key, max: value });

  // Derive the highest percent seen for this key during render (React's pattern for
  // adjusting state to props); a new key starts from the current value.
  let max = seen.max;
  if (seen.key !== key) {
    max = value;
    setSeen({ key, max });
  } else if (value !== null && (max === null || value > max)) {
    max = value;
    setSeen({ key, max });
  }

  const messageId = useId();
  const indeterminate = value === null;
  const shown = indeterminate ? null : Math.max(value, max ?? value);
  const rounded = shown === null ? null : Math.round(shown);
  const classes = ['orbit-progress', indeterminate ? 'orbit-progress--indeterminate' : null, className]
    .filter(Boolean)
    .join(' ');

  return (
    <div className={classes} data-state={indeterminate ? 'indeterminate' : rounded === 100 ? 'complete' : 'determinate'}>
      <div
        className="orbit-progress__track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={rounded ?? undefined}
        aria-valuetext={rounded === null ? message ?? 'In progress' : `${rounded}%`}
        aria-busy={indeterminate ? true : undefined}
        aria-describedby={message ? messageId : undefined}
      >
        <div
          className="orbit-progress__fill"
          style={indeterminate ? undefined : { width: `${shown}%` }}
        />
      </div>
      {message || rounded !== null ? (
        <div className="orbit-progress__caption">
          {message ? (
            <p className="orbit-progress__message" id={messageId}>
              {message}
            </p>
          ) : null}
          {rounded !== null ? (
            <span className="orbit-progress__value" aria-hidden="true">
              {rounded}%
            </span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

export default ProgressBar;
