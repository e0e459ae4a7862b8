import { useEffect, useRef, useState, type FormEvent } from 'react';

export interface TokenPromptProps {
  /** Why the token is asked for (e.g. the server refused the stored one). */
  reason: string | null;
  onSubmit: (token: string) => void;
}

/** The small form asking for the API token when the server answers 401. */
export function TokenPrompt({ reason, onSubmit }: TokenPromptProps) {
  const [token, setToken] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => inputRef.current?.focus(), []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim()) onSubmit(token.trim());
  };

  return (
    <div className="orbit-overlay" role="presentation">
      <form
        className="orbit-card orbit-token"
        role="dialog"
        aria-modal="true"
        aria-labelledby="token-title"
        onSubmit={submit}
        data-testid="token-prompt"
      >
        <h2 id="token-title">API token</h2>
        <p className="orbit-muted">
          This Orbit server requires a token. It is kept in this browser only (local storage and a
          cookie for <code>/api</code>).
        </p>
        {reason ? (
          <p className="orbit-error" role="alert" data-testid="token-reason">
            {reason}
          </p>
        ) : null}
        <label>
          Token
          <input
            ref={inputRef}
            type="password"
            autoComplete="current-password"
            value={token}
            onChange={(event) => setToken(event.target.value)}
            data-testid="token-input"
          />
        </label>
        <div className="orbit-form__actions">
          <button type="submit" className="orbit-button--primary" disabled={!token.trim()} data-testid="token-submit">
            Save token
          </button>
        </div>
      </form>
    </div>
  );
}
