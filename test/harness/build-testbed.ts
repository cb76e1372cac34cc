// `npm run testbed:build [module...]`: builds the test bed's Go binaries once (cached outside the
// repository). Without arguments it builds every module but the benchmark peers (whereabouts,
// spiderpool), which `npm run bench` builds when it first needs them.
import { ensureBinaries, type ToolModuleName, testBedModules, toolModules } from './binaries.js';

const names = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : testBedModules) as ToolModuleName[];
for (const name of names) {
  if (!(name in toolModules)) {
    console.error(`unknown tools module ${name}; known: ${Object.keys(toolModules).join(', ')}`);
    process.exit(2);
  }
  console.log(`${name}: ${ensureBinaries(name, (line) => console.log(line))}`);
}
