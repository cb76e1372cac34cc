// `npm run build:cni`: the CNI plugin as one executable, dist/bin/spiderpool.
import { buildScript, pluginEntry, pluginExecutable } from './executables.js';
import { schemaChecksFile, writeSchemaChecks } from './schema-checks.js';

if (writeSchemaChecks()) console.log(`wrote ${schemaChecksFile}`);
buildScript(pluginEntry, pluginExecutable);
