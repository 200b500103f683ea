/** Soft deletion of named inventory rows (instances, credentials). */

/** Width of the `name` columns of instances and credentials (schema.prisma: VarChar(255), in characters). */
const NAME_CHARS = 255;

/**
 * The name a soft-deleted row takes so that its name is free again: `<name>~deleted~<id>`, the name
 * cut (by code points, as PostgreSQL counts characters) so that the whole still fits the column.
 */
export function deletedName(name: string, id: number): string {
  const suffix = `~deleted~${id}`;
  return Array.from(name).slice(0, NAME_CHARS - suffix.length).join('') + suffix;
}
