/**
 * The systemd unit that keeps `reef serve` or `reef camera` running a deployed bundle on a board:
 * started at boot, restarted on failure.
 */
import { ReefError } from '../errors.js';

export type ServiceKind = 'serve' | 'camera';

export interface ServiceSpec {
  kind: ServiceKind;
  /** Extra arguments for reef serve / reef camera (e.g. --port 8080). */
  args: string[];
  /** Unit name without .service (default reef-KIND). */
  unit?: string;
  /** Folder for the unit file on the board (default /etc/systemd/system). */
  unitDir?: string;
}

export const DEFAULT_UNIT_DIR = '/etc/systemd/system';

export function unitName(spec: ServiceSpec): string {
  const name = spec.unit ?? `reef-${spec.kind}`;
  if (!/^[A-Za-z0-9:_.@-]+$/.test(name)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a systemd unit name (letters, digits, :_.@-) for --unit but received "${name}"`);
  return name;
}

/** systemd quoting for one ExecStart word. */
function unitWord(w: string): string {
  if (/^[A-Za-z0-9_./:=,@+-]+$/.test(w)) return w;
  return `"${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$').replace(/%/g, '%%')}"`;
}

/**
 * The unit file text. `reef` is the absolute path of reef on the board, `bundle` the absolute path
 * of the deployed file, `user` the account it runs as.
 */
export function unitText(spec: ServiceSpec, o: { reef: string; bundle: string; dir: string; user: string }): string {
  const exec = [o.reef, spec.kind, o.bundle, ...spec.args].map(unitWord).join(' ');
  return [
    '# Written by reef deploy; rewritten on every deploy with --service.',
    '[Unit]',
    `Description=reef ${spec.kind} ${o.bundle}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${o.user}`,
    `WorkingDirectory=${unitWord(o.dir)}`,
    `ExecStart=${exec}`,
    'Restart=on-failure',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
