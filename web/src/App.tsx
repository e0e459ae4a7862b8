import { JobsDashboard } from './components/JobsDashboard';

/** Placeholder shell: the Orbit pages (interviews, backlog, tasks, commits) come later. */
export function App() {
  return (
    <div className="orbit-app">
      <header className="orbit-app__header">
        <h1>Orbit</h1>
        <span className="orbit-jobs__notice">Background jobs with live progress</span>
      </header>
      <main className="orbit-app__main">
        <JobsDashboard />
      </main>
    </div>
  );
}
