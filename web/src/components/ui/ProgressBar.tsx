export { ProgressBar, default } from '../ProgressBar';
export type { ProgressBarProps } from '../ProgressBar';
