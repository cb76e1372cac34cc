// conf.yml text -> the checked document (apart from conf-yml.ts so that what only needs the schema
// or the defaults, such as the plugin on every call, does not load a YAML parser).
import { parse } from 'yaml';
import { type ConfYml, checkConfYml } from './conf-yml.js';

/** Parses and checks conf.yml text; an empty file is no settings. `source` names the file in errors. */
export function readConfYml(text: string, source: string): ConfYml {
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  return checkConfYml(doc, source);
}
