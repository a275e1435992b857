/** `npm run bench:operator`: the entry point; what it measures, its flags and the code are in bench/operator/main.ts. */
import '../bench/operator/main.js';
