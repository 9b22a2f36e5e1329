// One line width for Rust and TypeScript (100): the same files are read side by side, and a
// reviewer should not have to switch between two wrapping habits.
export default {
  printWidth: 100,
  singleQuote: true,
  plugins: ['prettier-plugin-svelte'],
  overrides: [{ files: '*.svelte', options: { parser: 'svelte' } }],
};
