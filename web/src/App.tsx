import { QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

import { JobsDashboard } from './components/JobsDashboard';
import { TokenPrompt } from './components/TokenPrompt';
import { onUnauthorized, readStoredToken } from './lib/api';
import { setAuthToken, syncTokenCookie } from './lib/auth';
import { describeError } from './lib/format';
import { createQueryClient } from './lib/queries';
import { paths, useRoute, type Route } from './lib/router';
import { JobPage } from './pages/JobPage';
import { ProjectPage } from './pages/ProjectPage';
import { ProjectsPage } from './pages/ProjectsPage';

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case 'projects':
      return <ProjectsPage />;
    case 'project':
      return <ProjectPage key={route.projectId} projectId={route.projectId} />;
    case 'jobs':
      return <JobsDashboard />;
    case 'job':
      return <JobPage key={route.jobId} jobId={route.jobId} />;
    case 'not-found':
      return (
        <section className="orbit-card" data-testid="not-found">
          <h2>Not found</h2>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href={paths.projects()}>Back to the projects</a>.
          </p>
        </section>
      );
  }
}

interface AuthState {
  needed: boolean;
  reason: string | null;
}

/**
 * The Orbit web app: projects (`#/`), a project's workspace (`#/projects/:id`) and the jobs
 * dashboard (`#/jobs`) with a page per job (`#/jobs/:id`). A 401 from any request asks for the API token once; saving it
 * reloads the current page's data.
 */
export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<AuthState>({ needed: false, reason: null });
  const [epoch, setEpoch] = useState(0);
  // One cache for the whole app (reads shared across routes), made once per App.
  const [queryClient] = useState(createQueryClient);

  useEffect(() => {
    syncTokenCookie();
    return onUnauthorized((error) => {
      setAuth((current) =>
        current.needed
          ? current
          : {
              needed: true,
              reason: readStoredToken() ? `The saved token was refused (${describeError(error)}).` : null,
            },
      );
    });
  }, []);

  const saveToken = (token: string) => {
    setAuthToken(token);
    setAuth({ needed: false, reason: null });
    setEpoch((n) => n + 1);
  };

  return (
    <QueryClientProvider client={queryClient}>
      <div className="orbit-app">
        <header className="orbit-app__header">
          <h1>
            <a href={paths.projects()}>Orbit</a>
          </h1>
          <nav className="orbit-nav" aria-label="Main">
            <a href={paths.projects()} aria-current={route.name === 'projects' || route.name === 'project' ? 'page' : undefined} data-testid="nav-projects">
              Projects
            </a>
            <a href={paths.jobs()} aria-current={route.name === 'jobs' || route.name === 'job' ? 'page' : undefined} data-testid="nav-jobs">
              Jobs
            </a>
          </nav>
        </header>
        <main className="orbit-app__main" key={epoch}>
          <Page route={route} />
        </main>
        {auth.needed ? <TokenPrompt reason={auth.reason} onSubmit={saveToken} /> : null}
      </div>
    </QueryClientProvider>
  );
}
