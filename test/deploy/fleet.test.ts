/**
 * Fleets: Ansible YAML inventories, `reef deploy BUNDLE --inventory` against three real sshd
 * instances (one whose host key does not match known_hosts), and `reef deploy --k8s` manifests
 * parsed back and checked field by field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { deploy } from '../../src/deploy/deploy.js';
import { expandHostPattern, limitHosts, parseInventory } from '../../src/deploy/inventory.js';
import { k8sManifests } from '../../src/deploy/k8s.js';
import { isReefError } from '../../src/errors.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';
import { sha } from './helpers.js';
import { startSshd, type Sshd } from './sshd.js';

const OLD = sharedPath('models/tflite/hello_world_float.tflite');
const NEW = sharedPath('models/tflite/resnet8_cifar10_int8.tflite');

describe('Ansible YAML inventory', () => {
  const text = `
all:
  vars:
    ansible_user: pi
    reef_dir: /opt/reef
  hosts:
    gateway:
      ansible_host: 10.0.0.1
  children:
    cameras:
      vars:
        ansible_port: 2222
      hosts:
        cam[01:03]:
      children:
        doorcams:
          vars:
            reef_dir: /srv/door
          hosts:
            cam02:
              ansible_user: door
    coral:
      hosts:
        tpu1: { ansible_host: "fd00::5", ansible_port: 22, ansible_ssh_private_key_file: /keys/tpu }
`;
  it('groups, children, ranges and variable precedence (host > child group > parent group > all)', () => {
    const hosts = parseInventory(text);
    const by = Object.fromEntries(hosts.map((h) => [h.name, h]));
    expect(hosts.map((h) => h.name).sort()).toEqual(['cam01', 'cam02', 'cam03', 'gateway', 'tpu1']);
    expect(by.gateway.target).toEqual({ kind: 'ssh', user: 'pi', host: '10.0.0.1', port: 22, dir: '/opt/reef', text: 'ssh://pi@10.0.0.1/opt/reef' });
    expect(by.cam01.target).toEqual({ kind: 'ssh', user: 'pi', host: 'cam01', port: 2222, dir: '/opt/reef', text: 'ssh://pi@cam01:2222/opt/reef' });
    expect(by.cam02.target).toEqual({ kind: 'ssh', user: 'door', host: 'cam02', port: 2222, dir: '/srv/door', text: 'ssh://door@cam02:2222/srv/door' });
    expect(by.cam02.groups.sort()).toEqual(['cameras', 'doorcams']);
    expect(by.tpu1.target.text).toBe('ssh://pi@[fd00::5]/opt/reef');
    expect(by.tpu1.identity).toBe('/keys/tpu');
    expect(limitHosts(hosts, 'doorcams,gateway').map((h) => h.name).sort()).toEqual(['cam02', 'gateway']);
  });

  it('top-level groups without all:, and a host with no variables', () => {
    const hosts = parseInventory('pis:\n  hosts:\n    pi1:\n');
    expect(hosts).toHaveLength(1);
    expect(hosts[0].target).toEqual({ kind: 'ssh', user: userInfo().username, host: 'pi1', port: 22, dir: 'reef', text: `ssh://${userInfo().username}@pi1/~/reef` });
    expect(expandHostPattern('n[a:c]-[8:10]')).toEqual(['na-8', 'na-9', 'na-10', 'nb-8', 'nb-9', 'nb-10', 'nc-8', 'nc-9', 'nc-10']);
  });

  it('EXPECTED FAILURE - bad inventories give REEF_DEPLOY_INVENTORY_INVALID naming the entry', () => {
    const code = (t: string): string => {
      try {
        parseInventory(t, 'hosts.yml');
      } catch (e) {
        if (isReefError(e)) return `${e.code}: ${e.message}`;
      }
      return 'no error';
    };
    expect(code('all:\n  hosts: [pi1, pi2]\n')).toBe('REEF_DEPLOY_INVENTORY_INVALID: hosts.yml: group all: hosts must be a mapping of host names (pi1: {ansible_host: ...})');
    expect(code('all:\n  hosts:\n    pi1: {ansible_port: ssh}\n')).toBe('REEF_DEPLOY_INVENTORY_INVALID: hosts.yml: host pi1: ansible_port must be a port number, not "ssh"');
    expect(code('all:\n  children: {}\n')).toBe('REEF_DEPLOY_INVENTORY_INVALID: hosts.yml: names no hosts');
    expect(code('all:\n  host:\n    pi1:\n')).toBe('REEF_DEPLOY_INVENTORY_INVALID: hosts.yml: group all has "host"; a group holds hosts, vars and children');
    expect(code('all: [\n')).toMatch(/^REEF_DEPLOY_INVENTORY_INVALID: hosts.yml: not YAML \(/);
  });
});

describe('reef deploy --inventory (three real sshd, one broken)', () => {
  const boards: Sshd[] = [];
  let work: string;
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) boards.push(await startSshd());
    work = mkdtempSync(join(tmpdir(), 'reef-fleet-'));
  });
  afterAll(async () => {
    for (const b of boards) await b.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys in parallel, lists the failed board with its reason, and leaves that board\'s release in place', async () => {
    const [a, b, c] = boards;
    const knownHosts = join(work, 'known_hosts');
    writeFileSync(knownHosts, '');
    for (const x of boards) appendFileSync(knownHosts, readFileSync(x.knownHosts));
    const dirs = boards.map((_, i) => join(work, `board${i}`));
    // c had a release before; then its host key "changes" (known_hosts holds another key).
    const before = await deploy(OLD, c.url(dirs[2]), { identity: [c.userKey], knownHosts, agent: '' });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'other')]);
    writeFileSync(knownHosts, readFileSync(knownHosts, 'utf8').replace(c.hostPub.split(' ')[1], readFileSync(join(work, 'other.pub'), 'utf8').split(' ')[1]));
    const inv = join(work, 'hosts.yml');
    writeFileSync(inv, [
      'all:',
      '  vars:',
      `    ansible_user: ${a.user}`,
      '    ansible_host: 127.0.0.1',
      '  children:',
      '    pis:',
      '      hosts:',
      ...boards.map((x, i) => `        pi${i + 1}: { ansible_port: ${x.port}, ansible_ssh_private_key_file: ${x.userKey}, reef_dir: ${dirs[i]} }`),
      '',
    ].join('\n'));
    const r = await cli('deploy', NEW, '--inventory', inv, '--parallel', '2', '--known-hosts', knownHosts, '--json');
    expect(r.code).toBe(1);
    const [summary, error] = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(summary.ok).toBe(2);
    expect(summary.failed).toBe(1);
    expect(summary.hosts.map((h: { host: string; ok: boolean }) => [h.host, h.ok])).toEqual([['pi1', true], ['pi2', true], ['pi3', false]]);
    expect(summary.hosts[0].sha256).toBe(sha(NEW));
    expect(summary.hosts[2].error.code).toBe('REEF_DEPLOY_HOST_KEY_CHANGED');
    expect(error.error.code).toBe('REEF_DEPLOY_FLEET_FAILED');
    expect(error.error.message).toBe('1 of 3 board(s) failed: pi3 (REEF_DEPLOY_HOST_KEY_CHANGED); the other 2 run resnet8_cifar10_int8.tflite');
    for (const i of [0, 1]) expect(sha(join(dirs[i], 'current', 'resnet8_cifar10_int8.tflite'))).toBe(sha(NEW));
    expect(readlinkSync(join(dirs[2], 'current'))).toBe(`releases/${before.release.id}`);
    expect(sha(join(dirs[2], 'current', 'hello_world_float.tflite'))).toBe(sha(OLD));
    // The table names each board and the failure's reason.
    const t = await cli('deploy', NEW, '--inventory', inv, '--limit', 'pi3', '--known-hosts', knownHosts);
    expect(t.code).toBe(1);
    expect(t.out.split('\n')[0]).toBe('host  result  time    detail');
    expect(t.out.split('\n')[1]).toMatch(/^pi3   FAILED +\d+\.\d s {2}REEF_DEPLOY_HOST_KEY_CHANGED: WARNING: the host key of \[127\.0\.0\.1\]:\d+ has CHANGED/);
    expect(t.err).toContain('reef: REEF_DEPLOY_FLEET_FAILED: 1 of 1 board(s) failed: pi3 (REEF_DEPLOY_HOST_KEY_CHANGED)');
  });
});

describe('reef deploy --k8s', () => {
  it('writes a DaemonSet and a KServe ServingRuntime that parse back with the exact fields', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-k8s-'));
    try {
      const r = await cli('deploy', NEW, '--k8s', dir, '--image', 'registry.local/reef:0.1.0', '--namespace', 'edge', '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).files).toEqual([join(dir, 'reef-daemonset.yaml'), join(dir, 'reef-servingruntime.yaml')]);
      const ds = parse(readFileSync(join(dir, 'reef-daemonset.yaml'), 'utf8'));
      expect(ds.apiVersion).toBe('apps/v1');
      expect(ds.kind).toBe('DaemonSet');
      expect(ds.metadata).toEqual({ name: 'reef-serve', namespace: 'edge', labels: { 'app.kubernetes.io/name': 'reef', 'app.kubernetes.io/component': 'serve' } });
      expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
      const pod = ds.spec.template.spec;
      expect(pod.nodeSelector).toEqual({ 'reef.dev/edgetpu': 'true' });
      expect(pod.containers).toHaveLength(1);
      const c = pod.containers[0];
      expect(c.image).toBe('registry.local/reef:0.1.0');
      expect(c.args).toEqual(['serve', '/models/current/resnet8_cifar10_int8.tflite', '--host', '0.0.0.0', '--port', '8080']);
      expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      expect(c.livenessProbe).toEqual({ httpGet: { path: '/v2/health/live', port: 'http' }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
      expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '256Mi' } });
      expect(c.volumeMounts).toEqual([{ name: 'models', mountPath: '/models', readOnly: true }, { name: 'usb', mountPath: '/dev/bus/usb' }]);
      expect(pod.volumes).toEqual([{ name: 'models', hostPath: { path: '/var/lib/reef', type: 'Directory' } }, { name: 'usb', hostPath: { path: '/dev/bus/usb', type: 'Directory' } }]);

      const sr = parse(readFileSync(join(dir, 'reef-servingruntime.yaml'), 'utf8'));
      expect(sr.apiVersion).toBe('serving.kserve.io/v1alpha1');
      expect(sr.kind).toBe('ServingRuntime');
      expect(sr.metadata.name).toBe('reef');
      expect(sr.spec.protocolVersions).toEqual(['v2']);
      expect(sr.spec.supportedModelFormats).toEqual([{ name: 'tflite', version: '2', autoSelect: true }, { name: 'reef', version: '1', autoSelect: true }]);
      expect(sr.spec.containers[0].name).toBe('kserve-container');
      expect(sr.spec.containers[0].args).toEqual(['serve', '--model_base_path=/mnt/models', '--model_name={{.Name}}', '--host=0.0.0.0', '--port=8080']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the probes name routes reef serve answers, and bad options are coded errors', async () => {
    const m = k8sManifests({ bundleFile: 'x.reef', nodeLabel: 'coral=usb', port: 9000 });
    const pod = (m.daemonSet as { spec: { template: { spec: { nodeSelector: object; containers: Array<{ ports: Array<{ containerPort: number }> }> } } } }).spec.template.spec;
    expect(pod.nodeSelector).toEqual({ coral: 'usb' });
    expect(pod.containers[0].ports[0].containerPort).toBe(9000);
    const src = readFileSync(join(process.cwd(), 'src/serve/kserve.ts'), 'utf8');
    expect(src).toContain("app.get('/v2/health/live'");
    expect(src).toContain("app.get('/v2/health/ready'");
    const bad = await cli('deploy', NEW, '--k8s', tmpdir(), '--node-label', 'coral', '--json');
    expect(JSON.parse(bad.out).error.message).toBe('Expected KEY=VALUE for --node-label but received "coral"');
  });
});
