/**
 * The operator documentation agrees with the configuration the gateway really reads: every
 * environment variable of src/config has a row in the README's configuration table and a line in
 * .env.example (and nothing else is documented there), the defaults the README states are the real
 * defaults, and .env.example loads as-is with exactly the default configuration.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const envExample = readFileSync(path.join(ROOT, '.env.example'), 'utf8');

/** The variables loadConfig reads: recorded from an environment that answers every lookup with "unset". */
function variablesReadByConfig(): string[] {
  const read = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get(_target, key) {
      // zod also probes the object itself (e.g. `then`); variables are the upper-case names.
      if (typeof key === 'string' && /^[A-Z][A-Z0-9_]*$/.test(key)) read.add(key);
      return undefined;
    },
  });
  loadConfig(env);
  return [...read].sort();
}

/** Rows of the tables in the README's "## Configuration" section: variable name → default cell. */
function readmeTable(): Map<string, string> {
  const start = readme.indexOf('\n## Configuration\n');
  expect(start, 'README has a "## Configuration" section').toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|/.exec(line);
    if (m) {
      expect(rows.has(m[1]!), `${m[1]} appears twice in the table`).toBe(false);
      rows.set(m[1]!, m[2]!.trim());
    }
  }
  return rows;
}

/** .env.example: every variable set (`KEY=value`) or shown commented out (`# KEY=`). */
function envExampleLines(): { set: Map<string, string>; commented: Set<string> } {
  const set = new Map<string, string>();
  const commented = new Set<string>();
  for (const line of envExample.split('\n')) {
    const active = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (active) set.set(active[1]!, active[2]!);
    const off = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (off) commented.add(off[1]!);
  }
  return { set, commented };
}

describe('operator documentation of the configuration', () => {
  const variables = variablesReadByConfig();

  it('finds the variables src/config reads', () => {
    // A sanity floor, so a broken discovery cannot make the other checks pass vacuously.
    expect(variables).toEqual(expect.arrayContaining(['DATABASE_URL', 'JWT_SECRET', 'CREDENTIAL_ENCRYPTION_KEY', 'REDIS_URL', 'MONGODB_URL']));
    expect(variables.length).toBeGreaterThan(30);
  });

  it('has one README table row for every variable, and no row for anything else', () => {
    expect([...readmeTable().keys()].sort()).toEqual(variables);
  });

  it('states in the README the defaults the code applies', () => {
    const defaults = loadConfig({});
    let checked = 0;
    for (const [name, cell] of readmeTable()) {
      // A default written as one literal (`5001`) is checked; prose ("unset: …") is not.
      const literal = /^`([^`]*)`$/.exec(cell);
      if (!literal) continue;
      expect(loadConfig({ [name]: literal[1] }), `README default of ${name}`).toEqual(defaults);
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('lists every variable in .env.example, and only those', () => {
    const { set, commented } = envExampleLines();
    expect([...new Set([...set.keys(), ...commented])].sort()).toEqual(variables);
  });

  it('loads .env.example as-is, giving the defaults apart from the example addresses', () => {
    const { set } = envExampleLines();
    expect(() => loadConfig(Object.fromEntries(set))).not.toThrow();
    const { DATABASE_URL, REDIS_URL, ...rest } = Object.fromEntries(set);
    expect(DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    expect(REDIS_URL).toMatch(/^rediss?:\/\//);
    expect(loadConfig(rest)).toEqual(loadConfig({}));
  });
});
