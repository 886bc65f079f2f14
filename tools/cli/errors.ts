// A failure the CLI reports as exactly one line on stderr ("holdfast: ...") and a non-zero exit.
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}
