/** `npm run bench:cost`: the entry point; what it measures, its flags and the code are in bench/cost/main.ts. */
import '../bench/cost/main.js';
