/**
 * The inference service: an HTTP API (see GET /openapi.json) and, when Kafka topics
 * or watched inputs are configured, their continuous processing. Configured by
 * DFP_* variables (the `dfp` options, plus DFP_PORT, DFP_HOST, DFP_API_TOKEN,
 * DFP_BODY_LIMIT_BYTES).
 */
import { runService } from '@dfp/core/dist/service/run';

// Exit once stopped: nothing left over (a client's timer, a worker) may keep the process up.
void runService('inference').then((code) => process.exit(code));
