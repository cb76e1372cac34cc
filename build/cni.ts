// `npm run build:cni`: the CNI plugin as one executable, dist/bin/spiderpool.
import { buildScript, pluginEntry, pluginExecutable } from './executables.js';

buildScript(pluginEntry, pluginExecutable);
