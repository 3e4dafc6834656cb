import { InvalidArgumentError } from './invalid-argument.error';

/**
 * Thrown when a limit is not an integer ≥ 0 or `null`. `source` says where the limit came from
 * (the call, the `limits` option, `defaultLimit`), so a bad database row can be found.
 */
export class InvalidLimitError extends InvalidArgumentError {
  constructor(
    value: unknown,
    /**
     * Where the limit came from: `the limit argument`, `the limits option` or `the defaultLimit
     * option`.
     */
    readonly source: string,
    /** The model whose limit it is, when known. */
    readonly model?: string,
  ) {
    super(
      model === undefined
        ? `limit (from ${source})`
        : `limit for model "${model}" (from ${source})`,
      value,
      'a limit must be an integer >= 0, or null; 0 and null mean unlimited',
    );
  }
}
