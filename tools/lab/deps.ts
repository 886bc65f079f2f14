// The lab's system dependencies: which programs it needs and the Debian packages that hold them.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runOk } from './proc.js';

const NEEDED: ReadonlyArray<readonly [program: string, pkg: string]> = [
  ['ovsdb-server', 'openvswitch-switch'],
  ['ovs-vswitchd', 'openvswitch-switch'],
  ['ovsdb-tool', 'openvswitch-common'],
  ['ovs-vsctl', 'openvswitch-common'],
  ['ovs-ofctl', 'openvswitch-common'],
  ['ovs-appctl', 'openvswitch-common'],
  ['ethtool', 'ethtool'],
  ['ip', 'iproute2'],
  ['socat', 'socat'],
  ['ping', 'iputils-ping'],
];
export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

function onPath(program: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs.some((d) => {
    try {
      accessSync(join(d, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Debian packages holding the lab programs that are missing here. */
export function missingLabPackages(): string[] {
  const pkgs = NEEDED.filter(([prog]) => !onPath(prog)).map(([, pkg]) => pkg);
  if (!onPath('ovsdb-tool') || !canRead(OVS_SCHEMA)) pkgs.push('openvswitch-common');
  return [...new Set(pkgs)];
}

function canRead(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

let checked = false;
/**
 * Makes sure the lab can run: root, and the programs it needs (installed with apt-get when
 * missing and running as root on a system with apt-get). Throws a clear message otherwise.
 */
export async function ensureLabDependencies(): Promise<void> {
  if (checked) return;
  const missing = missingLabPackages();
  if (missing.length > 0) {
    if (!isRoot() || !onPath('apt-get')) {
      throw new Error(`the Open vSwitch lab needs these packages: ${missing.join(' ')} (install them as root: apt-get install -y ${missing.join(' ')})`);
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await runOk('apt-get', ['update'], { env, timeoutMs: 300_000 });
    await runOk('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 });
    const still = missingLabPackages();
    if (still.length > 0) throw new Error(`apt-get install did not provide: ${still.join(' ')}`);
  }
  if (!isRoot()) throw new Error('the Open vSwitch lab needs root (network namespaces, veths): run as root');
  checked = true;
}
