// Synthesizes the project from .projenrc.json.
//
// projen's own JSON runner (`run-projenrc-json`) can only pass constructor options, and this project
// needs a few things constructor options cannot express: its npm commands (`cluster`, `synth`,
// `operator`, ...), a replaced `test` task and `"type": "module"` in package.json. So the JSON file
// keeps everything in one place: projen options as usual, plus two extension keys this runner
// applies after constructing the project:
//   "x-tasks":         { name: { description, exec, receiveArgs?, env? } }  (replaces a task of that name)
//   "x-packageFields": { field: value }                                     (written into package.json)
// `npx projen` runs this file (it is the project's default task).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const projen = require('projen');

const root = join(__dirname, '..');
const {
  type,
  'x-tasks': tasks = {},
  'x-packageFields': packageFields = {},
  ...options
} = JSON.parse(readFileSync(join(root, '.projenrc.json'), 'utf8'));
if (type !== 'projen.typescript.TypeScriptProject') {
  throw new Error(`.projenrc.json: type must be projen.typescript.TypeScriptProject, got ${type}`);
}

const project = new projen.typescript.TypeScriptProject({
  ...options,
  outdir: root,
  projenrcJson: false,
  projenrcJs: false,
  projenrcTs: false,
});

// Registered so generated files name .projenrc.json as their source; its default task (projen's
// builtin JSON runner) is then replaced by this file.
new projen.ProjenrcJson(project);
project.defaultTask.reset('node projenrc/synth.cjs');
project.defaultTask.description = 'Synthesize project files from .projenrc.json';

for (const [name, spec] of Object.entries(tasks)) {
  const { exec, description, receiveArgs = false, env } = spec;
  if (typeof exec !== 'string' || exec.length === 0) {
    throw new Error(`.projenrc.json: x-tasks.${name}.exec must be a non-empty string`);
  }
  // projen locks some built-in tasks (build); replacing one means removing it first.
  if (project.tasks.tryFind(name)?._locked) project.tasks.removeTask(name);
  const task = project.tasks.tryFind(name) ?? project.addTask(name);
  task.reset(exec, { receiveArgs });
  if (description) task.description = description;
  for (const [key, value] of Object.entries(env ?? {})) task.env(key, value);
}

// Components (jest, ts-jest) add their own dependencies without a version after the options were
// read; adding the pinned ones again makes the versions in .projenrc.json win.
project.addDeps(...(options.deps ?? []));
project.addDevDeps(...(options.devDeps ?? []));
// A package that is a runtime dependency is not also listed as a build dependency (projen adds
// `constructs` as one for itself).
for (const dep of project.deps.all) {
  if (dep.type === projen.DependencyType.RUNTIME)
    project.deps.removeDependency(dep.name, projen.DependencyType.BUILD);
}

for (const [field, value] of Object.entries(packageFields)) {
  project.package.addField(field, value);
}

project.synth();
