/**
 * Piscina worker of `sabmalloc stress`: each export is one task kind the coordinator
 * (bench/stress/run.ts, misuse.ts) runs by name. The tasks themselves live with the tool,
 * in bench/stress/: tasks.ts (the op loop and the drainer) and race.ts (the racing-misuse
 * mode and its watchdog). Started by URL (dist/workers/stress.js), never imported by bench/.
 */
export { drain, stress } from '../bench/stress/tasks.js';
export { race } from '../bench/stress/race.js';
export { watchdog } from '../bench/stress/watchdog.js';
