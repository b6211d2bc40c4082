/** Raised when a part cannot start; `variable` names the setting to look at. */
export class StartupError extends Error {
  readonly variable: string | undefined;
  constructor(message: string, variable?: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StartupError';
    this.variable = variable;
  }
}
