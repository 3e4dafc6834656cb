/**
 * JavaScript that each child process of the strictness test runs with `node --eval`, the child's
 * entry file as its first argument: it makes `require` compile TypeScript files with the
 * `typescript` package (the project's compiler settings that matter for src/), then loads the
 * entry. The children thus run src/ as it is, without a build. Kept as text because Node
 * cannot load a TypeScript file before a hook like this one is in place.
 */
export const CHILD_BOOTSTRAP = `
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');

const entry = process.argv[1];
const load = createRequire(entry);
const ts = load('typescript');
const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
};

require.extensions['.ts'] = (module, filename) => {
  const source = readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};

load(entry);
`;
