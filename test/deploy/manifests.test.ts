/**
 * deploy/*.yaml: every document parses, is a kind we know, and validates against the Kubernetes
 * OpenAPI schemas (kubernetes-models: types, required fields, formats such as quantities). Then
 * what the schemas cannot say: the pieces fit together (claims, selectors, the Secret, the
 * image's user) and the resources fit a real run.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PersistentVolumeClaim, type IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { CronJob, type ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job, type IJob } from 'kubernetes-models/batch/v1/Job';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { ROOT } from '../helpers/run.js';

const DEPLOY = join(ROOT, 'deploy');

type Manifest =
  | { kind: 'PersistentVolumeClaim'; file: string; object: IPersistentVolumeClaim }
  | { kind: 'Deployment'; file: string; object: IDeployment }
  | { kind: 'CronJob'; file: string; object: ICronJob }
  | { kind: 'Job'; file: string; object: IJob }
  | { kind: 'Service'; file: string; object: IService };

/** Validates one parsed document against the schema of its apiVersion and kind (throws). */
function validate(file: string, doc: unknown): Manifest {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${file}: not a Kubernetes object`);
  const { apiVersion, kind } = doc as { apiVersion?: unknown; kind?: unknown };
  const key = `${String(apiVersion)} ${String(kind)}`;
  switch (key) {
    case 'v1 PersistentVolumeClaim': {
      const object = doc as IPersistentVolumeClaim;
      new PersistentVolumeClaim(object).validate();
      return { kind: 'PersistentVolumeClaim', file, object };
    }
    case 'apps/v1 Deployment': {
      const object = doc as IDeployment;
      new Deployment(object).validate();
      return { kind: 'Deployment', file, object };
    }
    case 'batch/v1 CronJob': {
      const object = doc as ICronJob;
      new CronJob(object).validate();
      return { kind: 'CronJob', file, object };
    }
    case 'v1 Service': {
      const object = doc as IService;
      new Service(object).validate();
      return { kind: 'Service', file, object };
    }
    case 'batch/v1 Job': {
      const object = doc as IJob;
      new Job(object).validate();
      return { kind: 'Job', file, object };
    }
    default:
      throw new Error(`${file}: unexpected ${key}`);
  }
}

function load(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: empty`);
  return docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return validate(file, doc.toJS());
  });
}

const files = readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
const manifests: Manifest[] = files.flatMap(load);
interface ByKind {
  PersistentVolumeClaim: IPersistentVolumeClaim;
  Deployment: IDeployment;
  CronJob: ICronJob;
  Job: IJob;
  Service: IService;
}
function one<K extends keyof ByKind>(kind: K, file: string): ByKind[K] {
  const found = manifests.find((m) => m.kind === kind && m.file === file);
  if (!found) throw new Error(`no ${kind} in ${file}`);
  return found.object as ByKind[K];
}

/** A Kubernetes quantity in bytes or cores. */
function quantity(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  if (typeof value === 'number') return value;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value);
  if (!m) return NaN;
  const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(m[1]) * (m[2] === undefined ? 1 : factor[m[2]] ?? NaN);
}

/** The pod spec of any workload, with where it came from. */
function podSpecs(): Array<{ where: string; spec: IPodSpec }> {
  const out: Array<{ where: string; spec: IPodSpec }> = [];
  for (const m of manifests) {
    const spec =
      m.kind === 'Deployment'
        ? m.object.spec?.template.spec
        : m.kind === 'Job'
          ? m.object.spec?.template.spec
          : m.kind === 'CronJob'
            ? m.object.spec?.jobTemplate.spec?.template.spec
            : undefined;
    if (m.kind !== 'PersistentVolumeClaim' && m.kind !== 'Service') {
      if (!spec) throw new Error(`${m.file}: no pod spec`);
      out.push({ where: `${m.file} (${m.kind})`, spec });
    }
  }
  return out;
}

const container = (spec: IPodSpec): IContainer => {
  const c = spec.containers[0];
  if (!c) throw new Error('no container');
  return c;
};
const claimOf = (spec: IPodSpec, mountPath: string) => {
  const mount = container(spec).volumeMounts?.find((v) => v.mountPath === mountPath);
  return spec.volumes?.find((v) => v.name === mount?.name)?.persistentVolumeClaim?.claimName;
};

t.test('every manifest parses and validates against the Kubernetes schemas', async (t) => {
  t.same(files.sort(), ['cronjob.yaml', 'deployment.yaml', 'job.yaml', 'pvc-shared.yaml', 'pvc.yaml']);
  t.same(manifests.map((m) => `${m.file}: ${m.kind}`).sort(), [
    'cronjob.yaml: CronJob',
    'deployment.yaml: Deployment',
    'deployment.yaml: Service',
    'job.yaml: Job',
    'pvc-shared.yaml: PersistentVolumeClaim',
    'pvc.yaml: PersistentVolumeClaim',
  ]);
});

t.test('the validation is real: broken manifests are refused', async (t) => {
  const deployment = one('Deployment', 'deployment.yaml');
  const broken = structuredClone(deployment);
  const c = broken.spec?.template.spec?.containers[0];
  if (!c?.resources?.limits) throw new Error('no limits');
  c.resources.limits.memory = '4 gigabytes';
  t.throws(() => validate('broken', broken), /quantity/, 'a malformed quantity');
  const noName = structuredClone(deployment);
  delete (noName.spec?.template.spec?.containers[0] as Partial<IContainer> | undefined)?.name;
  t.throws(() => validate('broken', noName), /name/, 'a container without a name');
  t.throws(() => validate('broken', { apiVersion: 'apps/v1', kind: 'Deploymnet' }), /unexpected/, 'an unknown kind');
});

t.test('the resident Deployment: jgo serve on 8080 with its probes, the Service, the cache', async (t) => {
  const d = one('Deployment', 'deployment.yaml');
  const spec = d.spec?.template.spec;
  if (!spec) throw new Error('no pod spec');
  t.equal(d.metadata?.name, 'jgo', 'kubectl exec deploy/jgo');
  t.equal(d.spec?.replicas, 1);
  t.equal(d.spec?.strategy?.type, 'Recreate', 'a ReadWriteOnce volume cannot be held by two pods in a rollout');
  const c = container(spec);
  t.same(c.args, ['serve', '--host', '0.0.0.0', '--port', '8080']);
  t.same(c.ports, [{ name: 'http', containerPort: 8080 }]);
  t.same([c.livenessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.port], ['/healthz', 'http'], 'liveness: /healthz');
  t.same([c.readinessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.port], ['/readyz', 'http'], 'readiness: /readyz');
  t.ok((spec.terminationGracePeriodSeconds ?? 30) > 25, "the pod's grace outlasts JGO_SERVE_GRACE_S's default (25 s)");
  const service = one('Service', 'deployment.yaml');
  t.equal(service.metadata?.name, 'jgo', 'http://jgo:8080/v1');
  t.same(service.spec?.ports, [{ name: 'http', port: 8080, targetPort: 'http' }]);
  for (const [label, value] of Object.entries(service.spec?.selector ?? {})) t.equal(d.spec?.template.metadata?.labels?.[label], value, `the Service selects the pod (${label})`);
  t.equal(container(spec).command, undefined, "the image's entrypoint runs first");
  for (const [label, value] of Object.entries(d.spec?.selector.matchLabels ?? {})) {
    t.equal(d.spec?.template.metadata?.labels?.[label], value, `the selector matches the pods (${label})`);
  }
  t.equal(claimOf(spec, '/jgo-cache'), one('PersistentVolumeClaim', 'pvc.yaml').metadata?.name);
  t.same(one('PersistentVolumeClaim', 'pvc.yaml').spec?.accessModes, ['ReadWriteOnce']);
});

t.test('the CronJob: one request on a schedule, next to the resident pod', async (t) => {
  const cron = one('CronJob', 'cronjob.yaml');
  const fields = cron.spec?.schedule.split(/\s+/) ?? [];
  t.equal(fields.length, 5, 'a five-field schedule');
  for (const field of fields) t.match(field, /^(\*|[0-9]+(-[0-9]+)?)(\/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(\/[0-9]+)?)*$/);
  t.equal(cron.spec?.concurrencyPolicy, 'Forbid');
  const job = cron.spec?.jobTemplate.spec;
  t.equal(job?.backoffLimit, 0, 'a failed run is not retried');
  const spec = job?.template.spec;
  if (!spec) throw new Error('no pod spec');
  t.equal(spec.restartPolicy, 'Never');
  t.equal(container(spec).args?.[0], 'run');
  t.equal(container(spec).args?.length, 2, 'one request, one argument');
  t.equal(claimOf(spec, '/jgo-cache'), 'jgo-cache');
  const term = spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0];
  const resident = one('Deployment', 'deployment.yaml').spec?.template.metadata?.labels;
  t.same(term?.labelSelector?.matchLabels, resident, "scheduled where the resident pod holds the ReadWriteOnce cache");
  t.equal(term?.topologyKey, 'kubernetes.io/hostname');
});

t.test('the Job template: one request per Job, on the ReadWriteMany cache', async (t) => {
  const job = one('Job', 'job.yaml');
  t.equal(job.metadata?.generateName, 'jgo-run-', 'kubectl create makes a new name each time');
  t.equal(job.metadata?.name, undefined);
  t.equal(job.spec?.backoffLimit, 0);
  t.ok((job.spec?.ttlSecondsAfterFinished ?? 0) > 0, 'finished Jobs are cleaned up');
  const spec = job.spec?.template.spec;
  if (!spec) throw new Error('no pod spec');
  t.same(container(spec).args, ['run', '$(JGO_REQUEST)']);
  t.ok(container(spec).env?.some((e) => e.name === 'JGO_REQUEST' && typeof e.value === 'string'), 'JGO_REQUEST is defined');
  const shared = one('PersistentVolumeClaim', 'pvc-shared.yaml');
  t.equal(claimOf(spec, '/jgo-cache'), shared.metadata?.name);
  t.same(shared.spec?.accessModes, ['ReadWriteMany']);
});

t.test('every pod: the image, its user, the settings Secret, and resources that fit a run', async (t) => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const uid = Number(/^USER\s+(\d+)/m.exec(dockerfile)?.[1]);
  t.ok(uid > 0, 'the Dockerfile runs as a numeric non-root user');
  for (const { where, spec } of podSpecs()) {
    const c = container(spec);
    t.equal(spec.containers.length, 1, `${where}: one container`);
    t.match(c.image, /^ghcr\.io\/jungju\/jgo:/, `${where}: the image`);
    t.same(c.envFrom, [{ secretRef: { name: 'jgo-env' } }], `${where}: settings from the jgo-env Secret`);
    t.equal(spec.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
    t.equal(spec.securityContext?.runAsUser, uid, `${where}: the image's user`);
    t.equal(spec.securityContext?.fsGroup, uid, `${where}: the volume writable for it`);
    t.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
    t.same(c.securityContext?.capabilities?.drop, ['ALL'], `${where}: no capabilities`);
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    // A large mirror's first clone (native git, 100-300 MiB) or codex (200-500 MiB), beside
    // jgo's two node processes (about 100 MiB each): a request of at least 1 GiB.
    t.ok(quantity(requests.memory) >= 2 ** 30, `${where}: requests at least 1Gi (${String(requests.memory)})`);
    t.ok(quantity(limits.memory) >= 2 * quantity(requests.memory), `${where}: the limit leaves room for the agent's builds (${String(limits.memory)})`);
    t.ok(quantity(requests.cpu) >= 0.25, `${where}: requests CPU (${String(requests.cpu)})`);
    t.ok(quantity(limits.cpu) >= quantity(requests.cpu), `${where}: CPU limit >= request`);
    t.equal(claimOf(spec, '/jgo-cache') === undefined, false, `${where}: the cache is mounted at /jgo-cache`);
  }
});

t.test('deploy/README.md covers every manifest and the resident command', async (t) => {
  const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
  for (const file of files) t.match(readme, `\`${file}\``, file);
  t.match(readme, 'kubectl exec -it deploy/jgo -- jgo run "owner/repo');
  t.match(readme, 'kubectl create secret generic jgo-env --from-env-file=.env');
  t.match(readme, /1Gi[\s\S]*4Gi/, 'states the resources');
});
