/**
 * Kubernetes manifests for a fleet managed by k3s/Kubernetes: a DaemonSet running `reef serve` on
 * every node labelled as having an Edge TPU, and a KServe ServingRuntime that offers reef for the
 * v2 (Open Inference) protocol. Written as YAML files; `kubectl apply -f DIR` applies them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ReefError } from '../errors.js';
import { reefVersion } from '../paths.js';

export interface K8sOptions {
  /** Container image with reef installed (default reef:VERSION; docs/deploy.md has a Dockerfile). */
  image?: string;
  namespace?: string;
  /** Node label that marks an Edge TPU node, KEY=VALUE (default reef.dev/edgetpu=true). */
  nodeLabel?: string;
  port?: number;
  /** Folder on each node that holds the deployed releases (reef deploy ... ssh://node/var/lib/reef). */
  hostDir?: string;
  /** The bundle's file name under hostDir/current. */
  bundleFile: string;
  cpu?: string;
  memory?: string;
}

export interface K8sManifests {
  daemonSet: Record<string, unknown>;
  servingRuntime: Record<string, unknown>;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function k8sManifests(o: K8sOptions): K8sManifests {
  const namespace = o.namespace ?? 'default';
  if (!NAME_RE.test(namespace)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a Kubernetes namespace name (lower case, digits, -) for --namespace but received "${namespace}"`);
  const [labelKey, labelValue, ...more] = (o.nodeLabel ?? 'reef.dev/edgetpu=true').split('=');
  if (!labelKey || labelValue === undefined || more.length) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected KEY=VALUE for --node-label but received "${o.nodeLabel}"`);
  const port = o.port ?? 8080;
  const image = o.image ?? `reef:${reefVersion()}`;
  const hostDir = o.hostDir ?? '/var/lib/reef';
  const labels = { 'app.kubernetes.io/name': 'reef', 'app.kubernetes.io/component': 'serve' };
  const resources = { requests: { cpu: o.cpu ?? '500m', memory: o.memory ?? '256Mi' }, limits: { memory: o.memory ?? '256Mi' } };
  const probe = (path: string, initialDelaySeconds: number): Record<string, unknown> => ({
    httpGet: { path, port: 'http' }, initialDelaySeconds, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3,
  });
  const daemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'reef-serve', namespace, labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [labelKey]: labelValue },
          containers: [{
            name: 'reef',
            image,
            args: ['serve', `/models/current/${o.bundleFile}`, '--host', '0.0.0.0', '--port', String(port)],
            ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
            livenessProbe: probe('/v2/health/live', 5),
            readinessProbe: probe('/v2/health/ready', 5),
            resources,
            // The Coral USB Accelerator re-enumerates under another USB id once its firmware is
            // loaded, so a fixed device allow-list misses it: the USB bus is mounted, privileged.
            securityContext: { privileged: true },
            volumeMounts: [
              { name: 'models', mountPath: '/models', readOnly: true },
              { name: 'usb', mountPath: '/dev/bus/usb' },
            ],
          }],
          volumes: [
            { name: 'models', hostPath: { path: hostDir, type: 'Directory' } },
            { name: 'usb', hostPath: { path: '/dev/bus/usb', type: 'Directory' } },
          ],
        },
      },
    },
  };
  const servingRuntime = {
    apiVersion: 'serving.kserve.io/v1alpha1',
    kind: 'ServingRuntime',
    metadata: { name: 'reef', namespace, annotations: { 'prometheus.kserve.io/port': String(port), 'prometheus.kserve.io/path': '/metrics' } },
    spec: {
      supportedModelFormats: [
        { name: 'tflite', version: '2', autoSelect: true },
        { name: 'reef', version: '1', autoSelect: true },
      ],
      protocolVersions: ['v2'],
      multiModel: false,
      nodeSelector: { [labelKey]: labelValue },
      containers: [{
        name: 'kserve-container',
        image,
        // KServe's storage initializer puts the model at /mnt/models (a folder of numeric versions).
        args: ['serve', '--model_base_path=/mnt/models', '--model_name={{.Name}}', '--host=0.0.0.0', `--port=${port}`],
        ports: [{ containerPort: port, protocol: 'TCP' }],
        resources,
        securityContext: { privileged: true },
        volumeMounts: [{ name: 'usb', mountPath: '/dev/bus/usb' }],
      }],
      volumes: [{ name: 'usb', hostPath: { path: '/dev/bus/usb', type: 'Directory' } }],
    },
  };
  return { daemonSet, servingRuntime };
}

/** Writes reef-daemonset.yaml and reef-servingruntime.yaml into `dir`; returns their paths. */
export async function writeK8sManifests(dir: string, o: K8sOptions): Promise<string[]> {
  const m = k8sManifests(o);
  await mkdir(dir, { recursive: true });
  const files: Array<[string, unknown]> = [['reef-daemonset.yaml', m.daemonSet], ['reef-servingruntime.yaml', m.servingRuntime]];
  const out: string[] = [];
  for (const [name, doc] of files) {
    const path = join(dir, name);
    await writeFile(path, `# Written by reef deploy --k8s ${reefVersion()}; apply with: kubectl apply -f ${dir}\n${stringify(doc)}`);
    out.push(path);
  }
  return out;
}
