/**
 * A user's search text matched literally by LIKE/ILIKE. Prisma's `contains` does not escape LIKE's
 * wildcards, so "%" would match everything and "_" any character; backslash is PostgreSQL's default
 * LIKE escape.
 */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
