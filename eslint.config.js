// ESLint flat config (`npm run lint`, run in CI): ESLint's and typescript-eslint's recommended rules, minus the
// few whose findings here are deliberate (listed below with the reason).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Node's globals for the plain-JS files (TypeScript checks names in .ts files itself).
const NODE_GLOBALS = {
  process: "readonly",
  console: "readonly",
  Buffer: "readonly",
  URL: "readonly",
  require: "readonly",
  module: "writable",
  __dirname: "readonly",
};

export default tseslint.config(
  { ignores: ["node_modules/", "native/build/", "web/", "coverage/", "dist/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names are the house's way of saying "deliberately unused" (omitting a key from a rest object).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
      // The sanitizers (titles, labels, uploaded names, complexity tokens) match control characters on purpose.
      "no-control-regex": "off",
      // TypeScript's definite-assignment analysis already guards these; the rule flags defensive initialisers.
      "no-useless-assignment": "off",
    },
  },
  {
    files: ["**/*.ts"],
    // typescript-eslint's advice: the compiler resolves names better than no-undef (types, globals, lib).
    rules: { "no-undef": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    languageOptions: { globals: NODE_GLOBALS },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Integration tests read HTTP JSON loosely; src/ stays free of `any`.
    files: ["test/**/*.ts", "**/*.test.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
