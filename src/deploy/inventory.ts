/**
 * Ansible's YAML inventory (https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html):
 * groups with `hosts`, `vars` and `children`, under `all:` or at the top level; host variables
 * ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file, and reef_dir for the deploy
 * folder. A host's own variables win over its groups', a child group's over its parent's. Host
 * ranges such as pi[01:12] are expanded.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parse } from 'yaml';
import { ReefError } from '../errors.js';
import { DEFAULT_DIR, type SshTarget } from './target.js';

export interface InventoryHost {
  name: string;
  groups: string[];
  vars: Record<string, unknown>;
  target: SshTarget;
  /** ansible_ssh_private_key_file, when set. */
  identity?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(path: string, what: string): ReefError {
  return new ReefError('REEF_DEPLOY_INVENTORY_INVALID', `${path}: ${what}`);
}

/** pi[01:03] -> pi01, pi02, pi03; [a:c] letters too. */
export function expandHostPattern(name: string): string[] {
  const m = /^(.*?)\[([0-9a-z]+):([0-9a-z]+)(?::(\d+))?\](.*)$/.exec(name);
  if (!m) return [name];
  const [, pre, from, to, stepText, post] = m;
  const step = stepText ? Number(stepText) : 1;
  const out: string[] = [];
  if (/^\d+$/.test(from) && /^\d+$/.test(to)) {
    const width = from.length;
    for (let i = Number(from); i <= Number(to); i += step) out.push(...expandHostPattern(`${pre}${String(i).padStart(width, '0')}${post}`));
  } else {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c += step) out.push(...expandHostPattern(`${pre}${String.fromCharCode(c)}${post}`));
  }
  return out;
}

/** Parses inventory YAML text into hosts with their merged variables and SSH targets. */
export function parseInventory(text: string, path = 'inventory'): InventoryHost[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw bad(path, `not YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isObj(doc)) throw bad(path, 'expected a mapping of groups (all: {hosts: ..., children: ...})');
  const root: Obj = isObj(doc.all) ? doc.all : { children: doc };
  const hosts = new Map<string, { groups: string[]; layers: Array<{ depth: number; vars: Obj }> }>();
  const walk = (name: string, group: Obj, depth: number, seen: string[]): void => {
    if (seen.includes(name)) throw bad(path, `group ${name} is its own child (${[...seen, name].join(' -> ')})`);
    for (const k of Object.keys(group)) if (!['hosts', 'vars', 'children'].includes(k)) throw bad(path, `group ${name} has "${k}"; a group holds hosts, vars and children`);
    const gv = group.vars ?? {};
    if (!isObj(gv)) throw bad(path, `group ${name}: vars must be a mapping`);
    const gh = group.hosts ?? {};
    if (!isObj(gh)) throw bad(path, `group ${name}: hosts must be a mapping of host names (pi1: {ansible_host: ...})`);
    const groupVars = (): Array<{ depth: number; vars: Obj }> => [{ depth, vars: gv }];
    for (const [hname, hvars] of Object.entries(gh)) {
      if (hvars !== null && !isObj(hvars)) throw bad(path, `host ${hname} in ${name}: its variables must be a mapping`);
      for (const h of expandHostPattern(hname)) {
        const e = hosts.get(h) ?? { groups: [], layers: [] };
        if (!e.groups.includes(name)) e.groups.push(name);
        e.layers.push(...groupVars(), { depth: 1000, vars: (hvars ?? {}) as Obj });
        hosts.set(h, e);
      }
    }
    const gc = group.children ?? {};
    if (!isObj(gc)) throw bad(path, `group ${name}: children must be a mapping of groups`);
    for (const [cname, child] of Object.entries(gc)) {
      if (child !== null && !isObj(child)) throw bad(path, `group ${cname}: expected a mapping (hosts, vars, children)`);
      walk(cname, (child ?? {}) as Obj, depth + 1, [...seen, name]);
      // Parent vars reach the child's hosts, below the child's own.
      for (const e of hosts.values()) if (e.groups.includes(cname) && !e.groups.includes(name)) { e.groups.push(name); e.layers.push({ depth, vars: gv }); }
    }
  };
  walk('all', root, 0, []);
  if (hosts.size === 0) throw bad(path, 'names no hosts');
  const me = userInfo().username;
  return [...hosts.entries()].map(([name, e]) => {
    const vars: Obj = {};
    for (const l of [...e.layers].sort((a, b) => a.depth - b.depth)) Object.assign(vars, l.vars);
    const host = String(vars.ansible_host ?? name);
    const port = vars.ansible_port === undefined ? 22 : Number(vars.ansible_port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(path, `host ${name}: ansible_port must be a port number, not ${JSON.stringify(vars.ansible_port)}`);
    const user = String(vars.ansible_user ?? me);
    const dir = String(vars.reef_dir ?? DEFAULT_DIR);
    const identity = vars.ansible_ssh_private_key_file === undefined ? undefined : String(vars.ansible_ssh_private_key_file);
    const text = `ssh://${user}@${host.includes(':') ? `[${host}]` : host}${port === 22 ? '' : `:${port}`}${dir.startsWith('/') ? dir : `/~/${dir}`}`;
    return { name, groups: e.groups.filter((g) => g !== 'all'), vars, identity, target: { kind: 'ssh' as const, user, host, port, dir, text } };
  });
}

export async function readInventory(path: string): Promise<InventoryHost[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ReefError('REEF_DEPLOY_INVENTORY_INVALID', `cannot read the inventory ${path}`);
  }
  return parseInventory(text, path);
}

/** --limit: host or group names, comma-separated. */
export function limitHosts(hosts: InventoryHost[], limit: string | undefined): InventoryHost[] {
  if (limit === undefined) return hosts;
  const names = limit.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = hosts.filter((h) => names.includes(h.name) || h.groups.some((g) => names.includes(g)));
  if (picked.length === 0) throw new ReefError('REEF_DEPLOY_INVENTORY_INVALID', `--limit ${limit} matches no host or group of the inventory (hosts: ${hosts.map((h) => h.name).join(', ')})`);
  return picked;
}
