/** `npm run bench:tool`: the entry point; what it measures, its flags and the code are in bench/tool/main.ts. */
import '../bench/tool/main.js';
