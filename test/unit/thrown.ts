// What a unit test expects `fn` to throw, typed: the tests then assert on its fields (code, message).

/** The error of class `type` that `fn` throws; fails the test when it throws nothing or something else. */
export function thrownBy<E extends Error>(fn: () => unknown, type: new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`);
}
