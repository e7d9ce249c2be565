/**
 * The four notebooks run headless (nbconvert, tslab TypeScript kernel, installed by
 * scripts/tools.sh) against the local store on small generated data: no cell fails,
 * and each notebook shows its chart. Needs `pnpm build` first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

interface Output {
  output_type: string;
  text?: string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

describe('notebooks', () => {
  it(
    'run headless, training then inference, each showing its chart',
    () => {
      const bin = execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'jupyter'], {
        encoding: 'utf8',
        timeout: 10 * 60 * 1000,
      }).trim();
      const dir = mkdtempSync(join(tmpdir(), 'dfp-notebooks-'));
      const order = [
        'dfp_duo_training',
        'dfp_duo_inference',
        'dfp_azure_training',
        'dfp_azure_inference',
      ];
      execFileSync(
        join(bin, 'jupyter'),
        [
          'nbconvert',
          '--to',
          'notebook',
          '--execute',
          '--ExecutePreprocessor.timeout=900',
          '--output-dir',
          join(dir, 'executed'),
          ...order.map((n) => `${n}.ipynb`),
        ],
        {
          cwd: join(ROOT, 'notebooks'),
          env: {
            ...process.env,
            PATH: `${bin}:${process.env.PATH}`,
            DFP_NOTEBOOK_DIR: dir,
            DFP_NOTEBOOK_USERS: '5',
            DFP_NOTEBOOK_EPOCHS: '2',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 20 * 60 * 1000,
        },
      );
      for (const name of order) {
        const nb = JSON.parse(readFileSync(join(dir, 'executed', `${name}.ipynb`), 'utf8')) as {
          cells: { outputs?: Output[] }[];
        };
        const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
        expect(outputs.filter((o) => o.output_type === 'error')).toEqual([]);
        const html = outputs.flatMap((o) => [o.data?.['text/html'] ?? []].flat()).join('');
        expect(html).toMatch(/<svg[\s\S]*<\/svg>/);
        const text = outputs.flatMap((o) => o.text ?? []).join('');
        if (name.endsWith('training')) expect(text).toMatch(/2 epochs, final training loss \d/);
        else expect(text).toMatch(/[1-9]\d* rows scored, 0 dead-lettered/);
      }
    },
    30 * 60 * 1000,
  );
});
