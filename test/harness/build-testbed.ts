// `npm run testbed:build`: builds the test bed's Go binaries once (cached outside the repository).
import { ensureBinaries, type ToolModuleName, toolModules } from './binaries.js';

const names = (
  process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(toolModules)
) as ToolModuleName[];
for (const name of names) {
  if (!(name in toolModules)) {
    console.error(`unknown tools module ${name}; known: ${Object.keys(toolModules).join(', ')}`);
    process.exit(2);
  }
  console.log(`${name}: ${ensureBinaries(name, (line) => console.log(line))}`);
}
