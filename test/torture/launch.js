/* global __dirname, process */
// Entry of `npm run torture`: runs main.ts the way the strictness test runs its children, through
// CHILD_BOOTSTRAP (TypeScript compiled on load, no build). Plain JavaScript because nothing can
// load a .ts file before that hook is in place: this file compiles the module that holds it.
const { fork } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');

const register = join(__dirname, '..', 'support', 'strictness-register.ts');
const compiled = ts.transpileModule(readFileSync(register, 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
}).outputText;
const exported = {};
new Function('exports', compiled)(exported);

const child = fork(join(__dirname, 'main.ts'), process.argv.slice(2), {
  execArgv: ['--eval', exported.CHILD_BOOTSTRAP],
  stdio: 'inherit',
});
// The run cleans up on SIGINT/SIGTERM itself; pass them on and wait for it.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
