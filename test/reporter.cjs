// Mocha's spec reporter plus one closing line "N passed, N failed[, N skipped]" that CI reads.
// A run whose process does not exit by itself soon after its last test has left something running (a
// server, a timer, a socket): it is then named and the run fails, instead of hanging CI.
const Mocha = require('mocha');

const EXIT_GRACE_MS = 60_000;

class Reporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const s = runner.stats;
      process.stdout.write(`\n${s.passes} passed, ${s.failures} failed${s.pending ? `, ${s.pending} skipped` : ''}\n`);
      setTimeout(() => {
        process.stdout.write(
          `\nthe test process did not exit ${EXIT_GRACE_MS / 1000} s after its last test: still running: ${JSON.stringify(process.getActiveResourcesInfo())}\n`,
        );
        const code = s.failures > 0 ? 1 : 3;
        // (mocha sets the exit code to its failure count on exit; this listener runs after its own.)
        process.on('exit', () => (process.exitCode = code));
        process.exit(code);
      }, EXIT_GRACE_MS).unref();
    });
  }
}

module.exports = Reporter;
