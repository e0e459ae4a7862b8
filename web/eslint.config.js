// ESLint (flat config): TypeScript's recommended rules, the rules of hooks and accessibility.
import js from '@eslint/js';
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'src/lib/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  jsxA11y.flatConfigs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // A leading underscore marks a value left out on purpose (`const { a: _a, ...rest }`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // A closure may read a variable (e.g. a watcher to stop) that is assigned after it.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // The older hooks reset their state when the id they follow changes; the pages that
      // read through TanStack Query do not, and the remaining ones move there one by one.
      'react-hooks/set-state-in-effect': 'off',
    },
  },
  {
    files: ['vite.config.ts', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);
