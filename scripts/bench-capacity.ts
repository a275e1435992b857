/** `npm run bench:capacity`: the entry point; what it measures and the code are in bench/capacity/main.ts. */
import '../bench/capacity/main.js';
