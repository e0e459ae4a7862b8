import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { ProgressBar } from './ProgressBar';
import { ProgressBar as UiProgressBar } from './ui/ProgressBar';

const bar = () => screen.getByRole('progressbar');

describe('ProgressBar', () => {
  it('shows the percent with aria-valuenow/min/max and the message below', () => {
    render(<ProgressBar percent={42.4} message="Generating stories" />);
    expect(bar().getAttribute('aria-valuenow')).toBe('42');
    expect(bar().getAttribute('aria-valuemin')).toBe('0');
    expect(bar().getAttribute('aria-valuemax')).toBe('100');
    expect(bar().hasAttribute('aria-busy')).toBe(false);
    expect(screen.getByText('Generating stories')).toBeTruthy();
    expect(bar().getAttribute('aria-describedby')).toBe(screen.getByText('Generating stories').id);
    expect((bar().firstElementChild as HTMLElement).style.width).toBe('42.4%');
  });

  it('never moves backwards for the same job', () => {
    const { rerender } = render(<ProgressBar jobId="a" percent={50} message={null} />);
    rerender(<ProgressBar jobId="a" percent={30} message="retrying" />);
    expect(bar().getAttribute('aria-valuenow')).toBe('50');
    expect((bar().firstElementChild as HTMLElement).style.width).toBe('50%');
    rerender(<ProgressBar jobId="a" percent={49} message={null} />);
    expect(bar().getAttribute('aria-valuenow')).toBe('50');
    rerender(<ProgressBar jobId="a" percent={70} message={null} />);
    expect(bar().getAttribute('aria-valuenow')).toBe('70');
  });

  it('starts over when the job (or resetKey) changes', () => {
    const { rerender } = render(<ProgressBar resetKey="a" percent={80} message={null} />);
    rerender(<ProgressBar resetKey="b" percent={10} message={null} />);
    expect(bar().getAttribute('aria-valuenow')).toBe('10');
    rerender(<ProgressBar resetKey="b" percent={5} message={null} />);
    expect(bar().getAttribute('aria-valuenow')).toBe('10');
  });

  it('is indeterminate while percent is null', () => {
    const { container, rerender } = render(<ProgressBar percent={null} message="Queued" />);
    expect(bar().hasAttribute('aria-valuenow')).toBe(false);
    expect(bar().getAttribute('aria-busy')).toBe('true');
    expect(container.querySelector('.orbit-progress--indeterminate')).not.toBeNull();
    expect(screen.getByText('Queued')).toBeTruthy();

    rerender(<ProgressBar percent={20} message="Running" />);
    expect(bar().getAttribute('aria-valuenow')).toBe('20');
    expect(bar().hasAttribute('aria-busy')).toBe(false);
    expect(container.querySelector('.orbit-progress--indeterminate')).toBeNull();
  });

  it('clamps out-of-range values and is exported from the ui path too', () => {
    render(<UiProgressBar percent={140} message={null} />);
    expect(bar().getAttribute('aria-valuenow')).toBe('100');
    expect(bar().closest('.orbit-progress')?.getAttribute('data-state')).toBe('complete');
  });
});
