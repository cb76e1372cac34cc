// Shell-style wildcards in pool lists, with Go's filepath.Match semantics (what Spiderpool uses):
// `*` any run of characters, `?` one character, `[...]` a class with ranges and `^` negation,
// `\` escaping the next character. Pool names contain no `/`, so separators do not matter.
import { IpamError } from '../errors.js';

const special = /[*?[\\]/;

export function hasWildcard(name: string): boolean {
  return special.test(name);
}

const escapeRe = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** Compiles a pattern; a malformed one (an unclosed class, a trailing `\`) is an error naming `field`. */
export function compileWildcard(pattern: string, field?: string): RegExp {
  const bad = (why: string) =>
    new IpamError('InvalidInput', `bad pattern ${JSON.stringify(pattern)}: ${why}`, {
      field,
      value: pattern,
    });
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\') {
      const next = pattern[++i];
      if (next === undefined) throw bad('it ends with \\');
      re += escapeRe(next);
    } else if (c === '[') {
      let j = i + 1;
      // One class member: a plain or escaped character; an unescaped - or ] is malformed, as in Go.
      const member = (): string => {
        let ch = pattern[j];
        if (ch === undefined) throw bad('a [ is not closed');
        if (ch === '-' || ch === ']') throw bad(`${ch} must be escaped inside [...]`);
        if (ch === '\\') {
          j++;
          ch = pattern[j];
          if (ch === undefined) throw bad('it ends with \\');
        }
        j++;
        return ch;
      };
      let cls = '';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      let members = 0;
      while (!(pattern[j] === ']' && members > 0)) {
        const lo = member();
        if (pattern[j] === '-') {
          j++;
          const hi = member();
          if (hi < lo) throw bad(`the range ${lo}-${hi} is reversed`);
          cls += `${escapeRe(lo)}-${escapeRe(hi)}`;
        } else cls += escapeRe(lo);
        members++;
      }
      re += `[${cls}]`;
      i = j;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

/**
 * Expands a list of pool names and patterns against the pool names of one family, keeping the
 * order the user gave: a plain name stays where it is; a pattern becomes the matching names in
 * name order; a name already listed is not listed again. A plain name written twice is an error,
 * as in Spiderpool; a pattern that matches nothing adds nothing.
 */
export function expandPoolList(
  entries: readonly string[],
  familyPools: readonly string[],
  field: string,
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const literal = new Set<string>();
  const sortedPools = [...familyPools].sort();
  entries.forEach((entry, i) => {
    const at = `${field}[${i}]`;
    if (typeof entry !== 'string' || entry === '') {
      throw new IpamError('InvalidInput', 'a pool name must not be empty', { field: at, value: entry });
    }
    if (!hasWildcard(entry)) {
      if (literal.has(entry)) {
        throw new IpamError('InvalidInput', `pool ${JSON.stringify(entry)} is listed twice`, {
          field: at,
          value: entry,
        });
      }
      literal.add(entry);
      if (!seen.has(entry)) out.push(entry);
      seen.add(entry);
      return;
    }
    const re = compileWildcard(entry, at);
    for (const name of sortedPools) {
      if (re.test(name) && !seen.has(name)) {
        seen.add(name);
        out.push(name);
      }
    }
  });
  return out;
}
