/** Where a command writes and which environment it reads: the process's, or a test's. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}
