import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';

import { ProjectStreamContext } from '../hooks/projectStreamContext';

import { jobsApi } from '../lib/api';
import { describeError } from '../lib/format';
import {
  activeProjectJobs,
  rememberInterview,
  rememberedInterview,
  type ProjectJobs,
} from '../lib/projectJobs';
import { backlogQuery, commitsQuery, projectKeys, projectQuery } from '../lib/projectQueries';
import { projectEventSource } from '../lib/projectStream';
import { jobListQuery } from '../lib/queries';
import { paths } from '../lib/router';
import { sharedEventSource } from '../lib/streams';
import { BacklogPanel } from './project/BacklogPanel';
import { CommitsPanel } from './project/CommitsPanel';
import { InterviewPanel } from './project/InterviewPanel';
import { ProvisionPanel } from './project/ProvisionPanel';

export interface ProjectPageProps {
  projectId: string;
}

/**
 * `#/projects/:id`: the interview, the backlog (generation, activation, execution), the
 * commits and the workspace of one project. Each panel follows its own jobs, so a long
 * operation in one never blocks the others; jobs still running when the page is loaded
 * (e.g. after a reload) are picked up where they are. Every panel's jobs arrive over the
 * project's one event stream (`ProjectStreamContext`).
 */
export function ProjectPage({ projectId }: ProjectPageProps) {
  // The page is keyed by project id (App), so one stream constructor per page is enough.
  const [stream] = useState(() =>
    projectEventSource(projectId, {
      getJob: (jobId) => jobsApi.get(jobId),
      fallback: sharedEventSource(),
    }),
  );
  const client = useQueryClient();
  const projectRead = useQuery(projectQuery(projectId));
  const backlogRead = useQuery(backlogQuery(projectId));
  const commitsRead = useQuery(commitsQuery(projectId));
  const project = projectRead.data ?? null;
  const projectError = projectRead.error ? describeError(projectRead.error, 'Could not load the project') : null;
  const backlog = backlogRead.data ?? null;
  const backlogError = backlogRead.error ? describeError(backlogRead.error, 'Could not load the backlog') : null;
  const commits = commitsRead.data ?? null;
  const commitsError = commitsRead.error ? describeError(commitsRead.error, 'Could not load the commits') : null;
  const [interviewId, setInterviewId] = useState<string | null>(() => rememberedInterview(projectId));
  const [resume, setResume] = useState<ProjectJobs | null>(null);

  useEffect(() => {
    let cancelled = false;
    // A fresh read (never the cache's): which of the project's jobs are running now.
    client
      .fetchQuery({ ...jobListQuery({ project_id: projectId, limit: 100 }), staleTime: 0 })
      .then((page) => {
        if (cancelled) return;
        const known = rememberedInterview(projectId);
        const found = activeProjectJobs(page.items, known);
        if (!known && found.interviewId) {
          rememberInterview(projectId, found.interviewId);
          setInterviewId(found.interviewId);
        }
        setResume(found);
      })
      .catch(() => {
        // Nothing to resume is the safe reading; every panel still works.
        if (!cancelled) setResume(activeProjectJobs([], null));
      });
    return () => {
      cancelled = true;
    };
  }, [client, projectId]);

  const onBacklogChanged = useCallback(
    () => void client.invalidateQueries({ queryKey: projectKeys.backlog(projectId) }),
    [client, projectId],
  );
  const onCommitted = useCallback(
    () => void client.invalidateQueries({ queryKey: projectKeys.commits(projectId) }),
    [client, projectId],
  );

  return (
    <ProjectStreamContext.Provider value={stream}>
      <div className="orbit-page orbit-page--project" data-testid="project-page" data-project-id={projectId}>
        <div className="orbit-page__title">
          <a href={paths.projects()} className="orbit-muted">
            ← Projects
          </a>
          <h2 data-testid="project-name">{project?.name ?? (projectError ? 'Project' : 'Loading…')}</h2>
          {project?.description ? <p className="orbit-muted">{project.description}</p> : null}
          {projectError ? (
            <p className="orbit-error" role="alert" data-testid="project-error">
              {projectError}
            </p>
          ) : null}
        </div>
        <div className="orbit-columns">
          <div className="orbit-columns__main">
            <BacklogPanel
              projectId={projectId}
              interviewId={interviewId}
              backlog={backlog}
              backlogError={backlogError}
              onBacklogChanged={onBacklogChanged}
              onCommitted={onCommitted}
              resume={resume}
            />
            <CommitsPanel
              projectId={projectId}
              commits={commits}
              error={commitsError}
              onCommitted={onCommitted}
              resumeJob={resume?.manualCommit ?? null}
            />
          </div>
          <div className="orbit-columns__side">
            <InterviewPanel
              projectId={projectId}
              interviewId={interviewId}
              onInterviewId={setInterviewId}
              resumeJob={resume?.interview ?? null}
            />
            <ProvisionPanel projectId={projectId} resumeJob={resume?.provisioning ?? null} />
          </div>
        </div>
      </div>
    </ProjectStreamContext.Provider>
  );
}
