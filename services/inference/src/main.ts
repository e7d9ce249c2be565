/**
 * Inference service. For now it runs one scoring pass configured entirely by
 * DFP_* environment variables (DFP_SOURCE, DFP_INPUT_FILE, DFP_TRACKING_URI,
 * DFP_OUTPUT…), exactly like `dfp --train_users none`.
 */
import { main } from '@dfp/core/dist/cli/main';

main([process.argv[0], 'dfp-inference', '--train_users', 'none', ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
);
