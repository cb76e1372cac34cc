// @dot-i/k8s-operator is CommonJS with `exports.default = Operator`. Imported from ESM, Node (and
// jest, tsx) hand over `module.exports` as the default, while bundlers that honour `__esModule`
// hand over `exports.default`; this resolves the abstract base class either way.
import dotI from '@dot-i/k8s-operator';

type OperatorClass = typeof dotI.default;

export const DotIOperator: OperatorClass =
  (dotI as unknown as { default?: OperatorClass }).default ?? (dotI as unknown as OperatorClass);
