/** A Redis URL without its credentials (`redis://***@host:port`), for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
