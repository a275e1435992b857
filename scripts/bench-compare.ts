/** `npm run bench:compare`: the entry point; what it measures, its flags and the code are in bench/compare/main.ts. */
import '../bench/compare/main.js';
