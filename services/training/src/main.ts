/**
 * Training service. For now it runs one training pass configured entirely by
 * DFP_* environment variables (DFP_SOURCE, DFP_INPUT_FILE, DFP_TRACKING_URI…),
 * exactly like `dfp --train_users all`; HTTP, schedules and streaming come later.
 */
import { main } from '@dfp/core/dist/cli/main';

const mode = process.env.DFP_TRAIN_USERS ?? 'all';
if (mode === 'none') {
  process.stderr.write(
    'training service: DFP_TRAIN_USERS=none means inference; use the inference service\n',
  );
  process.exit(2);
}
main([process.argv[0], 'dfp-training', '--train_users', mode, ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
);
