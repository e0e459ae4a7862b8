import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';

import { projectsApi } from '../lib/api';
import { describeError, formatTime } from '../lib/format';
import { projectKeys, projectsQuery } from '../lib/projectQueries';
import { navigate, paths } from '../lib/router';

/** `#/`: the projects (read through the query cache, again every 10 s), and a form to start a new one. */
export function ProjectsPage() {
  const read = useQuery({ ...projectsQuery(), refetchInterval: 10_000 });
  const projects = read.data ?? null;
  const error = read.error && !read.data ? describeError(read.error, 'Could not load the projects') : null;

  return (
    <div className="orbit-page orbit-page--projects">
      <NewProjectForm />
      <section className="orbit-card" aria-labelledby="projects-title">
        <h2 id="projects-title">Projects</h2>
        {error ? (
          <p className="orbit-error" role="alert" data-testid="projects-error">
            {error}
          </p>
        ) : null}
        {projects === null && !error ? <p className="orbit-muted">Loading…</p> : null}
        {projects && projects.length === 0 ? (
          <p className="orbit-muted" data-testid="projects-empty">
            No projects yet: create one to start its interview.
          </p>
        ) : null}
        <ul className="orbit-list" data-testid="projects-list">
          {projects?.map((project) => (
            <li key={project.id} className="orbit-list__item" data-testid="project-entry" data-project-id={project.id}>
              <a href={paths.project(project.id)} data-testid="project-link">
                {project.name}
              </a>
              {project.description ? <span className="orbit-muted"> — {project.description}</span> : null}
              <span className="orbit-list__meta">{formatTime(project.created_at)}</span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function NewProjectForm() {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      const project = await projectsApi.create({
        name: name.trim(),
        description: description.trim() || null,
      });
      client.setQueryData(projectKeys.detail(project.id), project);
      void client.invalidateQueries({ queryKey: projectKeys.list });
      navigate(paths.project(project.id));
    } catch (err) {
      setError(describeError(err, 'Could not create the project'));
      setBusy(false);
    }
  };

  return (
    <section className="orbit-card" aria-labelledby="new-project-title">
      <h2 id="new-project-title">New project</h2>
      <form className="orbit-form" onSubmit={(event) => void submit(event)} data-testid="new-project-form">
        <label>
          Name
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            maxLength={200}
            required
            data-testid="new-project-name"
          />
        </label>
        <label>
          Description
          <textarea
            value={description}
            onChange={(event) => setDescription(event.target.value)}
            rows={2}
            placeholder="What should it do, in a sentence or two?"
            data-testid="new-project-description"
          />
        </label>
        <div className="orbit-form__actions">
          <button type="submit" className="orbit-button--primary" disabled={busy || !name.trim()} data-testid="new-project-submit">
            {busy ? 'Creating…' : 'Create project'}
          </button>
        </div>
        {error ? (
          <p className="orbit-error" role="alert" data-testid="new-project-error">
            {error}
          </p>
        ) : null}
      </form>
    </section>
  );
}
