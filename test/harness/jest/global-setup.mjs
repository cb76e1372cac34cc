// Jest loads global setup/teardown modules with Node's own loader, which cannot resolve the
// TypeScript sources' `.js` import specifiers; tsx loads the TypeScript module instead.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { default: run } = await tsImport('./setup.ts', import.meta.url);
  await run();
}
