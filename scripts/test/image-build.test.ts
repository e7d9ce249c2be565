/**
 * No Docker engine here, so the image's `build` stage is replayed outside Docker: its
 * ARG, ENV, WORKDIR, COPY and RUN lines run in a temporary folder, in order, as written
 * in docker/Dockerfile (a global `npm install -g pnpm` is served by the repository's own
 * pinned pnpm instead). The result must hold no dev dependencies, and its command line
 * and inference service must run from it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

function stage(dockerfile: string, name: string): string[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (/^FROM /.test(line)) inside = new RegExp(` AS ${name}$`).test(line.trim());
    else if (inside && line.trim() && !line.trim().startsWith('#')) out.push(line.trim());
  }
  return out;
}

describe('docker image build stage, replayed', () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill('SIGKILL'));

  it('installs, compiles and keeps only production dependencies; the result runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dfp-image-'));
    const shim = join(dir, '.bin');
    mkdirSync(shim);
    // The shim runs the pinned pnpm with the original PATH, so that pnpm.sh finds no shim.
    writeFileSync(
      join(shim, 'pnpm'),
      `#!/bin/sh\nPATH='${process.env.PATH}' exec bash "${ROOT}/scripts/pnpm.sh" "$@"\n`,
      { mode: 0o755 },
    );
    const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
    const vars: Record<string, string> = {};
    for (const m of dockerfile.matchAll(/^ARG (\w+)=(\S+)/gm)) vars[m[1]] = m[2];
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${shim}:${process.env.PATH}` };
    const expand = (s: string) =>
      s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a, b) => vars[a ?? b] ?? '');
    let workdir = dir;
    const steps = stage(dockerfile, 'build');
    expect(steps.some((s) => s.startsWith('RUN ') && s.includes('--prod'))).toBe(true);
    for (const step of steps) {
      const [instruction, ...rest] = step.split(/\s+/);
      const args = rest.join(' ');
      if (instruction === 'WORKDIR') {
        workdir = join(dir, args);
        mkdirSync(workdir, { recursive: true });
      } else if (instruction === 'ENV') {
        for (const m of args.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = expand(m[2]);
      } else if (instruction === 'ARG') {
        const [k, v] = args.split('=');
        if (v !== undefined) vars[k] = v;
      } else if (instruction === 'COPY') {
        const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
        const dest = join(workdir, parts.pop() as string);
        for (const src of parts) {
          const target = dest.endsWith('/') || parts.length > 1 ? join(dest, basename(src)) : dest;
          mkdirSync(resolve(target, '..'), { recursive: true });
          cpSync(join(ROOT, src), target, {
            recursive: true,
            filter: (p) => !/node_modules|[/\\]dist([/\\]|$)|tsbuildinfo/.test(p),
          });
        }
      } else if (instruction === 'RUN') {
        if (/npm install -g "?pnpm@/.test(args)) continue; // the shim serves pnpm
        execFileSync('bash', ['-c', expand(args)], { cwd: workdir, env, stdio: 'pipe' });
      } else {
        throw new Error(`the replay does not know ${instruction}`);
      }
    }

    const app = join(dir, 'app');
    expect(existsSync(join(app, 'node_modules/jest'))).toBe(false);
    expect(existsSync(join(app, 'packages/core/node_modules/fastify'))).toBe(true);
    const help = execFileSync(process.execPath, ['packages/core/dist/cli/main.js', '--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(help).toMatch(/--train_users/);

    child = spawn(process.execPath, ['services/inference/dist/main.js'], {
      cwd: app,
      env: { ...process.env, DFP_HOST: '127.0.0.1', DFP_PORT: '0', DFP_CACHE_DIR: join(dir, 'c') },
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => child?.on('exit', (c) => done(c)));
    const deadline = Date.now() + 60_000;
    let address: string | undefined;
    while (!address && Date.now() < deadline) {
      address = /"address":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(address).toBeDefined();
    expect((await fetch(`${address}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 600_000);
});
