/** The message of a thrown value, for a log line or an error's text: thrown values need not be Errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
