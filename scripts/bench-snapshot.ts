/** `npm run bench:snapshot`: the entry point; what it measures, its flags and the code are in bench/snapshot/main.ts. */
import '../bench/snapshot/main.js';
