// Lint rules that catch real defects: floating promises, explicit any, focused/skipped tests.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', 'bench/results/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only', message: 'focused test' },
        { object: 'it', property: 'skip', message: 'skipped test' },
        { object: 'describe', property: 'only', message: 'focused test' },
        { object: 'describe', property: 'skip', message: 'skipped test' },
        { object: 'test', property: 'only', message: 'focused test' },
        { object: 'test', property: 'skip', message: 'skipped test' },
      ],
    },
  },
);
