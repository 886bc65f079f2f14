// A failure the CLI reports as exactly one line on stderr ("holdfast: ...") and a non-zero exit.
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** Several problems (one per line, e.g. in an apply file), already written to stderr by the verb:
 * main() only sets the exit status. */
export class ProblemsReported extends CliError {
  constructor(readonly lines: number) {
    super(`${lines} problem(s) reported`);
    this.name = 'ProblemsReported';
  }
}
